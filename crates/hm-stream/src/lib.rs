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

/// Message types generated from High Mobility's published JSON Schemas (`cargo xtask codegen`; never
/// edited by hand).
///
/// [`auto_api::Capabilities`] is the typed `data` of a message: use it as the `D` of [`Message`] and
/// [`Delivery`]. Every capability and property the schema lists is a field; each property is an array of
/// values with their timestamp, failure or availability. A capability or property the schema does not
/// list yet is kept in `extra`, an enum value it does not list in `UnknownValue`.
///
/// ```
/// use hm_stream::{Message, auto_api::Capabilities};
///
/// let message: Message<Capabilities> = serde_json::from_str(
///     r#"{"version": 2, "message_id": "M-1", "application_id": "48aa1779-91c2-468e-97e9-ab112efd53b9",
///         "vin": "EXVETESTVIN000001", "data": {"diagnostics": {"odometer": [{"data":
///         {"value": 2050, "unit": "kilometers"}, "timestamp": "2021-10-06T13:59:25.648943Z"}]}}}"#,
/// )?;
/// let diagnostics = message.data.diagnostics.as_ref().expect("diagnostics");
/// let odometer = diagnostics.odometer[0].data.as_ref().expect("a value");
/// assert_eq!((odometer.value, odometer.unit.as_str()), (2050.0, "kilometers"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[rustfmt::skip]
pub mod generated;

pub use bad::{BadMessage, Problem};
pub use config::{
    DEFAULT_BROKER_URL, ENV_APPLICATION_ID, ENV_ENVIRONMENT, ENV_MQTT_CA_FILE, ENV_MQTT_CA_PEM,
    ENV_MQTT_CERT_FILE, ENV_MQTT_CERT_PEM, ENV_MQTT_CLIENT_ID, ENV_MQTT_ENVIRONMENT,
    ENV_MQTT_KEY_FILE, ENV_MQTT_KEY_PEM, ENV_MQTT_LEAVE_SHARE_GROUPS, ENV_MQTT_SHARE_GROUP,
    ENV_MQTT_URL, StreamConfig,
};
pub use consumer::Consumer;
pub use error::{BoxError, Error};
pub use generated::auto_api;
pub use message::{Capability, Delivery, Failure, Message, Property, VehicleData};
pub use stats::{Stats, StatsSnapshot};
pub use tls::{CaRoots, ClientIdentity, MAX_PEM_FILE_BYTES};
pub use topic::{DataEnvironment, shared_subscription, topic};
