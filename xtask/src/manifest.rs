//! `openapi/specs.toml`: which published specs and schemas we generate from, pinned by URL and sha256.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// The parsed manifest.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Base URL of the upstream repository at the pinned commit.
    pub upstream: String,
    /// The OpenAPI specs (REST client), in generation order.
    #[serde(rename = "spec")]
    pub specs: Vec<SpecEntry>,
    /// The JSON Schemas (MQTT stream message types), in generation order.
    #[serde(rename = "schema", default)]
    pub schemas: Vec<SchemaEntry>,
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

/// One pinned JSON Schema: a module of message types in hm-stream.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemaEntry {
    /// Rust module the schema becomes.
    pub module: String,
    /// One line on what the schema describes; documents its module.
    pub summary: String,
    /// Path of the schema upstream and in the fetched folder.
    pub file: String,
    /// Pinned sha256 of the published file, lower-case hex.
    pub sha256: String,
    /// Name of the Rust type of the whole document (JSON Schema has no name for it).
    pub root: String,
    /// Published example documents, pinned too: the tests decode them into the generated types.
    #[serde(default)]
    pub fixtures: Vec<PinnedFile>,
}

/// A published file pinned by its digest: a spec, a schema or a fixture.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PinnedFile {
    /// Path upstream and in the fetched folder.
    pub file: String,
    /// Pinned sha256 of the published file, lower-case hex.
    pub sha256: String,
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

    /// Module names become Rust identifiers, file names and cargo features; files land under the fetched
    /// folder: refuse what cannot.
    fn check(&self) -> std::result::Result<(), String> {
        let mut seen = std::collections::BTreeSet::new();
        for spec in &self.specs {
            check_module(&spec.module, &spec.summary, &mut seen)?;
            if RESERVED_MODULES.contains(&spec.module.as_str()) {
                return Err(format!(
                    "module `{}` is reserved: it would clash with an item of hm-api (a module, a \
                     `HighMobility` method or a dependency) or of the generated code; choose another name",
                    spec.module
                ));
            }
            spec.check()?;
        }
        let mut seen = std::collections::BTreeSet::new();
        for schema in &self.schemas {
            check_module(&schema.module, &schema.summary, &mut seen)?;
            let upper_camel = schema.root.starts_with(|c: char| c.is_ascii_uppercase())
                && schema.root.chars().all(|c| c.is_ascii_alphanumeric());
            if !upper_camel || syn::parse_str::<syn::Ident>(&schema.root).is_err() {
                return Err(format!(
                    "schema `{}`: root `{}` is not an UpperCamelCase Rust type name",
                    schema.module, schema.root
                ));
            }
        }
        for pinned in self.pinned_files() {
            let relative = Path::new(&pinned.file)
                .components()
                .all(|c| matches!(c, Component::Normal(_)));
            if !relative {
                return Err(format!(
                    "file `{}` must be a relative path inside the upstream repository (no `..`, no leading `/`)",
                    pinned.file
                ));
            }
        }
        Ok(())
    }

    /// The canonical download URL of a pinned file.
    pub fn url(&self, file: &str) -> String {
        format!("{}/{}", self.upstream.trim_end_matches('/'), file)
    }

    /// Every file `cargo xtask fetch` puts into the fetched folder: specs, schemas and their fixtures.
    pub fn pinned_files(&self) -> Vec<PinnedFile> {
        let specs = self.specs.iter().map(SpecEntry::pinned);
        let schemas = self
            .schemas
            .iter()
            .flat_map(|s| std::iter::once(s.pinned()).chain(s.fixtures.iter().cloned()));
        specs.chain(schemas).collect()
    }
}

/// A module name becomes a Rust identifier and a file name (and, for specs, a cargo feature).
fn check_module(
    module: &str,
    summary: &str,
    seen: &mut std::collections::BTreeSet<String>,
) -> std::result::Result<(), String> {
    let valid = module.starts_with(|c: char| c.is_ascii_lowercase())
        && module
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid || syn::parse_str::<syn::Ident>(module).is_err() {
        return Err(format!(
            "module `{module}` is not a snake_case Rust identifier (lower-case letters, digits, `_`, \
             starting with a letter, not a keyword)"
        ));
    }
    if ["default", "types", "generated"].contains(&module) {
        return Err(format!(
            "module `{module}` is reserved; choose another name"
        ));
    }
    if !seen.insert(module.to_owned()) {
        return Err(format!("module `{module}` is listed twice"));
    }
    if summary.trim().is_empty() || summary.contains('\n') {
        return Err(format!(
            "module `{module}` needs a one-line `summary` (it documents the module and its accessor)"
        ));
    }
    Ok(())
}

/// Module names a spec cannot take: each module becomes `hm_api::<module>` (glob re-exported next to
/// hm-api's own items), a `HighMobility::<module>()` accessor and a module of `generated/mod.rs`.
const RESERVED_MODULES: &[&str] = &[
    // generated/mod.rs and the generated modules
    "default",
    "types",
    "generated",
    "builder",
    // hm-api's modules and re-exports
    "auth",
    "error",
    "context",
    "high_mobility",
    "clearance_filter",
    "body_limit",
    "wire",
    // `HighMobility`'s own methods
    "new",
    "base_url",
    "unauthenticated",
    "with_http_client",
    "with_max_response_bytes",
    "build",
    "clone",
    // crates the generated code names
    "reqwest",
    "progenitor_client",
    "hm_auth",
    "hm_api",
    "serde",
    "serde_json",
    "chrono",
    "http",
    "std",
    "core",
    "alloc",
];

impl SpecEntry {
    /// Checks what `load` cannot: a plain file name, the digest's form, the rename targets.
    pub fn check(&self) -> std::result::Result<(), String> {
        let plain = !self.file.is_empty()
            && !self.file.starts_with('.')
            && !self.file.contains(['/', '\\', ':'])
            && Path::new(&self.file).file_name() == Some(std::ffi::OsStr::new(&self.file));
        if !plain {
            return Err(format!(
                "module `{}`: file `{}` is not a plain file name; `file` names the published file \
                 relative to `upstream` and in openapi/fetched/ (e.g. `hm-fleet-clearance-v1.yml`): \
                 no folder, `..` or absolute path",
                self.module, self.file
            ));
        }
        let hex = self.sha256.len() == 64
            && self
                .sha256
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c));
        if !hex {
            return Err(format!(
                "module `{}`: sha256 `{}` is not 64 lower-case hex digits; paste the digest as \
                 `sha256sum` prints it",
                self.module, self.sha256
            ));
        }
        self.check_renames()
    }

    /// Every `rename` target must be a type name: UpperCamelCase, not a keyword.
    pub fn check_renames(&self) -> std::result::Result<(), String> {
        for (schema, name) in &self.rename {
            let upper_camel = name.starts_with(|c: char| c.is_ascii_uppercase())
                && name.chars().all(|c| c.is_ascii_alphanumeric());
            if !upper_camel || syn::parse_str::<syn::Ident>(name).is_err() {
                return Err(format!(
                    "module `{}`: rename of `{schema}` to `{name}` in openapi/specs.toml: the new name \
                     must be an UpperCamelCase Rust type name (letters and digits, starting with an \
                     upper-case letter, not a keyword)",
                    self.module
                ));
            }
        }
        Ok(())
    }

    /// The cargo feature that compiles this API in: the module name with `-` for `_`.
    pub fn feature(&self) -> String {
        self.module.replace('_', "-")
    }

    /// Checks `bytes` against the pinned digest; `origin` names where they came from.
    pub fn verify(&self, bytes: &[u8], origin: &str) -> Result<()> {
        verify(&self.file, &self.sha256, bytes, origin)
    }

    /// The spec as a pinned file.
    pub fn pinned(&self) -> PinnedFile {
        PinnedFile {
            file: self.file.clone(),
            sha256: self.sha256.clone(),
        }
    }

    /// The overlay file that corrects this spec.
    pub fn overlay_path(&self, root: &Path) -> PathBuf {
        root.join("openapi/overlays")
            .join(format!("{}.overlay.yaml", self.module))
    }

    /// Where `cargo xtask fetch` puts this spec.
    pub fn fetched_path(&self, root: &Path) -> PathBuf {
        fetched_path(root, &self.file)
    }
}

impl SchemaEntry {
    /// The schema as a pinned file.
    pub fn pinned(&self) -> PinnedFile {
        PinnedFile {
            file: self.file.clone(),
            sha256: self.sha256.clone(),
        }
    }
}

impl PinnedFile {
    /// Checks `bytes` against the pinned digest; `origin` names where they came from.
    pub fn verify(&self, bytes: &[u8], origin: &str) -> Result<()> {
        verify(&self.file, &self.sha256, bytes, origin)
    }

    /// Where `cargo xtask fetch` puts this file.
    pub fn fetched_path(&self, root: &Path) -> PathBuf {
        fetched_path(root, &self.file)
    }

    /// Reads the fetched file and checks its digest; a missing file names `cargo xtask fetch`.
    pub fn read_fetched(&self, root: &Path) -> Result<Vec<u8>> {
        let path = self.fetched_path(root);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NotFetched { path });
            }
            Err(e) => return Err(Error::io("read", &path, e)),
        };
        self.verify(&bytes, &path.display().to_string())?;
        Ok(bytes)
    }
}

fn verify(file: &str, expected: &str, bytes: &[u8], origin: &str) -> Result<()> {
    let actual = sha256_hex(bytes);
    if actual == expected {
        Ok(())
    } else {
        Err(Error::DigestMismatch {
            file: file.to_owned(),
            expected: expected.to_owned(),
            actual,
            origin: origin.to_owned(),
        })
    }
}

fn fetched_path(root: &Path, file: &str) -> PathBuf {
    root.join(crate::FETCHED_DIR).join(file)
}

/// Lower-case hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}
