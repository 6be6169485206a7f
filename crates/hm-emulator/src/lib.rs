//! A local emulator of High Mobility's fleet APIs, for demos and tests (as stripe-mock is for Stripe).
//!
//! It speaks the wire format of High Mobility's published OpenAPI specs: the token endpoint (client
//! secret and JWT assertion flows), eligibility, fleet clearance with its lifecycle, vehicle data and
//! static data. Time is virtual, so tests can fast-forward clearances and token expiry, and faults
//! (latency, 5xx, 429, outages) can be injected per route.
//!
//! ```no_run
//! # async fn example() -> Result<(), hm_emulator::Error> {
//! use hm_emulator::{Emulator, EmulatorConfig};
//!
//! let emulator = Emulator::start(EmulatorConfig::demo()).await?;
//! println!("token endpoint: {}/v1/access_tokens", emulator.base_url());
//! emulator.advance(std::time::Duration::from_secs(5)); // demo clearances are approved after 2 s
//! # Ok(())
//! # }
//! ```

mod assertion;
mod brands;
pub mod config;
mod documents;
mod error;
pub mod faults;
mod filter;
mod routes;
mod server;
mod state;
mod vin;

pub use config::{
    ALL_SCOPES, ApplicationConfig, ClearanceOutcome, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET,
    DEMO_KEY_ID, DEMO_PRIVATE_KEY_PEM, DEMO_PUBLIC_KEY_PEM, DEMO_VIN_APPROVED, DEMO_VIN_MERCEDES,
    DEMO_VIN_NOT_ELIGIBLE, DEMO_VIN_REJECTED, DEMO_VIN_SLOW, EmulatorConfig, VehicleConfig,
};
pub use error::Error;
pub use faults::{Fault, Faults, Route};
pub use server::{Emulator, EmulatorHandle, serve};
