//! Integration tests of hm-auth through its public interface: against loopback servers (httpmock,
//! axum), and for cache and retry behaviour against a mock token provider under paused time.
//! One test binary (modules below) keeps link time down.

// Helpers outside `#[test]` functions are test code too.
#![allow(clippy::unwrap_used)]

mod cache;
mod clock;
mod fixtures;
mod flows;
mod keys;
mod origin;
mod pacing;
mod retrying;
mod secrets;
mod sending;
mod support;
mod timeouts;
mod token_errors;
