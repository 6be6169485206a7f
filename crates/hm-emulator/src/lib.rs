#![doc = include_str!("../README.md")]

mod assertion;
mod brands;
pub mod config;
mod documents;
mod error;
pub mod faults;
mod filter;
mod form;
mod hyper_errors;
pub mod mqtt;
mod routes;
mod server;
mod state;
mod strict_json;
mod vin;
pub mod webhooks;

pub use config::{
    ALL_SCOPES, ApplicationConfig, ClearanceOutcome, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET,
    DEMO_KEY_ID, DEMO_PRIVATE_KEY_PEM, DEMO_PUBLIC_KEY_PEM, DEMO_VIN_APPROVED, DEMO_VIN_MERCEDES,
    DEMO_VIN_NOT_ELIGIBLE, DEMO_VIN_REJECTED, DEMO_VIN_SLOW, EmulatorConfig, Limits, VehicleConfig,
    VehicleDataConfig,
};
pub use error::Error;
pub use faults::{Fault, Faults, Route};
pub use mqtt::{MqttConfig, MqttEndpoint, MqttEnvironment, MqttFault, MqttStats, TlsFiles};
pub use server::{Emulator, EmulatorHandle, serve};
