#![doc = include_str!("../README.md")]

#[rustfmt::skip]
mod generated;

#[allow(unused_imports)] // nothing to re-export when every API feature is off
pub use generated::*;
