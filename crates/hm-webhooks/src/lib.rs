#![doc = include_str!("../README.md")]

#[cfg(feature = "axum")]
pub mod axum;
mod delivery;
mod error;
pub mod header;
mod secret;
mod seen;
mod signature;
mod verifier;

pub use delivery::{Delivery, Event, FLEET_CLEARANCE_CHANGED, PING, SignedDelivery};
pub use error::{Error, SignatureProblem};
/// The clearance status a [`Event::FleetClearanceChanged`] carries: the type generated from
/// High Mobility's Fleet Clearance spec, re-exported so that receivers need not depend on `hm-api`.
pub use hm_api::fleet_clearance::types::ClearanceStatus;
pub use secret::WebhookSecret;
pub use seen::{Claim, InMemorySeenStore, SeenStore};
pub use signature::{Signatures, sign};
pub use verifier::Verifier;
