#![doc = include_str!("../README.md")]

/// Mocks of the OAuth2 API.
#[cfg(feature = "oauth")]
#[rustfmt::skip]
#[path = "generated/oauth.rs"]
#[allow(missing_docs, clippy::all, clippy::unwrap_used)]
pub mod oauth;

/// Mocks of the Eligibility API.
#[cfg(feature = "eligibility")]
#[rustfmt::skip]
#[path = "generated/eligibility.rs"]
#[allow(missing_docs, clippy::all, clippy::unwrap_used)]
pub mod eligibility;

/// Mocks of the Fleet Clearance API.
#[cfg(feature = "fleet-clearance")]
#[rustfmt::skip]
#[path = "generated/fleet_clearance.rs"]
#[allow(missing_docs, clippy::all, clippy::unwrap_used)]
pub mod fleet_clearance;

/// Mocks of the Vehicle Data API.
#[cfg(feature = "vehicle-data")]
#[rustfmt::skip]
#[path = "generated/vehicle_data.rs"]
#[allow(missing_docs, clippy::all, clippy::unwrap_used)]
pub mod vehicle_data;

/// Mocks of the Vehicle Static Data API.
#[cfg(feature = "vehicle-static-data")]
#[rustfmt::skip]
#[path = "generated/vehicle_static_data.rs"]
#[allow(missing_docs, clippy::all, clippy::unwrap_used)]
pub mod vehicle_static_data;
