//! Interoperability with a broker nobody here wrote: Eclipse Mosquitto with mutual TLS, started and
//! stopped by each test. Run with `HM_TEST_MOSQUITTO=1` (`.ci/run` sets it); without it these tests
//! print one line saying they were not run.
#![allow(clippy::unwrap_used)]

#[path = "../common/mod.rs"]
mod common;
mod support;

mod interop;
mod zero_loss;
