//! `openapi/specs.toml`: which published specs we generate from, pinned by URL and sha256.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// The parsed manifest.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Base URL of the upstream repository at the pinned commit.
    pub upstream: String,
    /// The specs, in generation order.
    #[serde(rename = "spec")]
    pub specs: Vec<SpecEntry>,
}

/// One pinned spec.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpecEntry {
    /// Rust module (and, with `-` for `_`, cargo feature) the spec becomes.
    pub module: String,
    /// File name upstream and in the fetched folder.
    pub file: String,
    /// Pinned sha256 of the published file, lower-case hex.
    pub sha256: String,
    /// Generated type names that replace unclear schema names (schema name -> Rust type name).
    #[serde(default)]
    pub rename: BTreeMap<String, String>,
}

impl Manifest {
    /// Reads and parses the manifest.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io("read", path, e))?;
        toml::from_str(&text).map_err(|e| Error::Manifest {
            path: path.to_owned(),
            message: e.to_string(),
        })
    }

    /// The canonical download URL of a spec.
    pub fn url(&self, spec: &SpecEntry) -> String {
        format!("{}/{}", self.upstream.trim_end_matches('/'), spec.file)
    }
}

impl SpecEntry {
    /// Checks `bytes` against the pinned digest; `origin` names where they came from.
    pub fn verify(&self, bytes: &[u8], origin: &str) -> Result<()> {
        let actual = sha256_hex(bytes);
        if actual == self.sha256 {
            Ok(())
        } else {
            Err(Error::DigestMismatch {
                file: self.file.clone(),
                expected: self.sha256.clone(),
                actual,
                origin: origin.to_owned(),
            })
        }
    }

    /// The overlay file that corrects this spec.
    pub fn overlay_path(&self, root: &Path) -> PathBuf {
        root.join("openapi/overlays")
            .join(format!("{}.overlay.yaml", self.module))
    }

    /// Where `cargo xtask fetch` puts this spec.
    pub fn fetched_path(&self, root: &Path) -> PathBuf {
        root.join(crate::FETCHED_DIR).join(&self.file)
    }
}

/// Lower-case hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}
