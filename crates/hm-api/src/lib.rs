#![doc = include_str!("../README.md")]

mod body_limit;
#[cfg(feature = "fleet-clearance")]
mod clearance_filter;
mod context;
mod error;
#[rustfmt::skip]
mod generated;
mod high_mobility;
mod wire;

/// The authentication crate, re-exported so that a service needs only `hm-api` as a dependency.
pub use hm_auth as auth;

#[cfg(feature = "fleet-clearance")]
pub use clearance_filter::{ClearanceFilter, DateOperator};
pub use context::{CallExt, ClientContext, DEFAULT_MAX_RESPONSE_BYTES};
pub use error::{ApiError, Error};
#[allow(unused_imports)] // nothing to re-export when every API feature is off
pub use generated::*;
pub use high_mobility::HighMobility;
pub use progenitor_client::ResponseValue;
