//! Helpers shared by the test binaries (and the throughput benchmark); each uses part of them.
#![allow(dead_code)]

pub mod pki;
