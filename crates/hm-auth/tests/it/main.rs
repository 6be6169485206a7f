//! Integration tests of hm-auth against a loopback httpmock server.
//! One test binary (modules below) keeps link time down.

// Helpers outside `#[test]` functions are test code too.
#![allow(clippy::unwrap_used)]

mod cache;
mod execute;
mod fixtures;
mod flows;
mod keys;
mod secrets;
mod support;
mod token_errors;
