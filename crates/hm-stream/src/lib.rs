#![doc = include_str!("../README.md")]

mod backoff;
mod bad;
mod config;
mod connection;
mod consumer;
mod dedup;
mod error;
mod message;
mod stats;
mod tls;
mod topic;

pub use bad::{BadMessage, Problem};
pub use config::{
    DEFAULT_BROKER_URL, ENV_APPLICATION_ID, ENV_ENVIRONMENT, ENV_MQTT_CA_FILE, ENV_MQTT_CA_PEM,
    ENV_MQTT_CERT_FILE, ENV_MQTT_CERT_PEM, ENV_MQTT_CLIENT_ID, ENV_MQTT_ENVIRONMENT,
    ENV_MQTT_KEY_FILE, ENV_MQTT_KEY_PEM, ENV_MQTT_LEAVE_SHARE_GROUPS, ENV_MQTT_SHARE_GROUP,
    ENV_MQTT_URL, StreamConfig,
};
pub use consumer::Consumer;
pub use error::{BoxError, Error};
pub use message::{Capability, Delivery, Failure, Message, Property, VehicleData};
pub use stats::{Stats, StatsSnapshot};
pub use tls::{CaRoots, ClientIdentity};
pub use topic::{DataEnvironment, shared_subscription, topic};
