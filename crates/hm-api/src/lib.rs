#![doc = include_str!("../README.md")]

#[cfg(feature = "fleet-clearance")]
mod clearance_filter;
mod context;
mod high_mobility;

#[cfg(feature = "fleet-clearance")]
pub use clearance_filter::{ClearanceFilter, DateOperator};
pub use context::ClientContext;
pub use high_mobility::HighMobility;
pub use progenitor_client::{Error, ResponseValue};

/// OAuth2 API: access tokens (`POST/DELETE /v1/access_tokens`) and `GET /v1/vehicleinfo`.
///
/// Most users never call it directly: `hm-auth` obtains and caches tokens.
#[cfg(feature = "oauth")]
#[rustfmt::skip]
#[path = "generated/oauth.rs"]
#[allow(missing_docs, clippy::all, clippy::unwrap_used)]
pub mod oauth;

/// Eligibility API: can a vehicle (VIN + brand) be connected, and how does it deliver data.
#[cfg(feature = "eligibility")]
#[rustfmt::skip]
#[path = "generated/eligibility.rs"]
#[allow(missing_docs, clippy::all, clippy::unwrap_used)]
pub mod eligibility;

/// Fleet Clearance API: request, list, inspect and remove data-access clearances for VINs.
#[cfg(feature = "fleet-clearance")]
#[rustfmt::skip]
#[path = "generated/fleet_clearance.rs"]
#[allow(missing_docs, clippy::all, clippy::unwrap_used)]
pub mod fleet_clearance;

/// Vehicle Data API (Auto API 13): the latest data of a cleared vehicle, by capability.
#[cfg(feature = "vehicle-data")]
#[rustfmt::skip]
#[path = "generated/vehicle_data.rs"]
#[allow(missing_docs, clippy::all, clippy::unwrap_used)]
pub mod vehicle_data;

/// Vehicle Static Data API (production only): equipment, identification and valuation of a VIN.
#[cfg(feature = "vehicle-static-data")]
#[rustfmt::skip]
#[path = "generated/vehicle_static_data.rs"]
#[allow(missing_docs, clippy::all, clippy::unwrap_used)]
pub mod vehicle_static_data;
