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
    /// One line on what the API does; documents its module, cargo feature and accessor.
    pub summary: String,
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
        let manifest: Manifest = toml::from_str(&text).map_err(|e| Error::Manifest {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        manifest.check().map_err(|message| Error::Manifest {
            path: path.to_owned(),
            message,
        })?;
        Ok(manifest)
    }

    /// Module names become Rust identifiers, file names and cargo features: refuse what cannot.
    fn check(&self) -> std::result::Result<(), String> {
        let mut seen = std::collections::BTreeSet::new();
        for spec in &self.specs {
            let valid = spec.module.starts_with(|c: char| c.is_ascii_lowercase())
                && spec
                    .module
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !valid || syn::parse_str::<syn::Ident>(&spec.module).is_err() {
                return Err(format!(
                    "module `{}` is not a snake_case Rust identifier (lower-case letters, digits, `_`, \
                     starting with a letter, not a keyword)",
                    spec.module
                ));
            }
            if ["default", "types", "generated"].contains(&spec.module.as_str()) {
                return Err(format!(
                    "module `{}` is reserved; choose another name",
                    spec.module
                ));
            }
            if !seen.insert(&spec.module) {
                return Err(format!("module `{}` is listed twice", spec.module));
            }
            if spec.summary.trim().is_empty() || spec.summary.contains('\n') {
                return Err(format!(
                    "module `{}` needs a one-line `summary` (it documents the module and its accessor)",
                    spec.module
                ));
            }
        }
        Ok(())
    }

    /// The canonical download URL of a spec.
    pub fn url(&self, spec: &SpecEntry) -> String {
        format!("{}/{}", self.upstream.trim_end_matches('/'), spec.file)
    }
}

impl SpecEntry {
    /// The cargo feature that compiles this API in: the module name with `-` for `_`.
    pub fn feature(&self) -> String {
        self.module.replace('_', "-")
    }

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
