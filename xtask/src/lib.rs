//! Project automation for the High Mobility workspace: `cargo xtask fetch` and `cargo xtask codegen`.
//!
//! Data flows one way: pinned published spec -> our overlay -> normalisation -> progenitor -> committed
//! generated code. The xtask depends on no workspace crate, so regenerating never needs the client to
//! compile first.

pub mod codegen;
pub mod definitions;
pub mod emulator_shape;
pub mod error;
pub mod fetch;
pub mod generate;
pub mod json_schema;
pub mod manifest;
pub mod normalise;
pub mod open_enums;
pub mod overlay;
pub mod postprocess;
pub mod timestamps;
pub mod unbuffered;
pub mod validate;
pub mod wiring;
pub mod yaml;

use std::path::{Path, PathBuf};

/// Where fetched spec files land, relative to the workspace root (git-ignored).
pub const FETCHED_DIR: &str = "openapi/fetched";

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_owned)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The manifest of pinned specs.
pub fn manifest(root: &Path) -> error::Result<manifest::Manifest> {
    manifest::Manifest::load(&root.join("openapi/specs.toml"))
}
