//! Integration tests of hm-webhooks through its public interface.

// Helpers outside `#[test]` functions are test code too.
#![allow(clippy::unwrap_used)]

mod deliveries;
mod known_answers;
#[cfg(feature = "axum")]
mod receiver;
mod secrets;
mod seen;
mod support;
mod verify;
