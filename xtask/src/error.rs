//! The one error type of the xtask: every variant says what failed and what to do about it.

use std::path::PathBuf;

/// Everything that can go wrong while fetching specs or generating code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What we tried to do ("read", "write", "create directory").
        action: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },

    /// `openapi/specs.toml` is malformed.
    #[error("{path} is not a valid spec manifest: {message}")]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// What the TOML parser said.
        message: String,
    },

    /// A pinned file has not been fetched yet.
    #[error("{path} is missing: run `cargo xtask fetch` (or `cargo xtask fetch --from DIR`) first")]
    NotFetched {
        /// Where the fetched file should be.
        path: PathBuf,
    },

    /// A spec file's digest differs from the pinned one.
    #[error(
        "{file}: sha256 mismatch (expected {expected}, got {actual}) in {origin}; the file is not the pinned \
         upstream version: fetch it again with `cargo xtask fetch`, or, if upstream was deliberately updated, \
         review the change and update the digest in openapi/specs.toml"
    )]
    DigestMismatch {
        /// The spec file name.
        file: String,
        /// The digest pinned in the manifest.
        expected: String,
        /// The digest of the bytes we got.
        actual: String,
        /// Where the bytes came from (a path or a URL).
        origin: String,
    },

    /// A spec could not be downloaded.
    #[error(
        "cannot download {url}: {message}; without network, use `cargo xtask fetch --from DIR` (or set HM_OPENAPI_DIR)"
    )]
    Download {
        /// The URL we tried.
        url: String,
        /// What went wrong.
        message: String,
    },

    /// A YAML document (spec or overlay) does not parse.
    #[error("{path}: malformed YAML{location}: {message}")]
    Yaml {
        /// The file.
        path: PathBuf,
        /// " at line L column C", when known.
        location: String,
        /// What the parser said.
        message: String,
    },

    /// An overlay file is invalid or does not fit its spec.
    #[error("{overlay}: {message}")]
    Overlay {
        /// The overlay file.
        overlay: PathBuf,
        /// What is wrong and how to fix it.
        message: String,
    },

    /// The spec file is not an OpenAPI 3.0 document (checked before anything else reads it).
    #[error("{file} {problem}")]
    UnsupportedDocument {
        /// The spec file name.
        file: String,
        /// What the document is, what the pipeline accepts and what to do.
        problem: String,
    },

    /// The corrected spec is not an OpenAPI 3.0 document progenitor can read.
    #[error("{file} (after overlay and normalisation): {message}")]
    Spec {
        /// The spec file name.
        file: String,
        /// What is wrong and how to fix it.
        message: String,
    },

    /// A JSON Schema cannot be turned into message types.
    #[error("{file}: {message}")]
    Schema {
        /// The schema file.
        file: String,
        /// What is wrong and how to fix it.
        message: String,
    },

    /// progenitor rejected or panicked on the spec.
    #[error("{file}: code generation failed{operation}: {message}")]
    Generate {
        /// The spec file name.
        file: String,
        /// " in operation X", when it could be narrowed down.
        operation: String,
        /// What went wrong and the remedy.
        message: String,
    },

    /// A folder sits in a folder that codegen owns (`crates/*/src/generated/`).
    #[error(
        "unexpected folder {path}: `cargo xtask codegen` owns the generated folders and writes only files \
         there; move or delete the folder, then run it again"
    )]
    UnexpectedFolder {
        /// The folder.
        path: PathBuf,
    },

    /// `codegen --check` found generated files that differ from what the specs produce.
    #[error("{count} generated file(s) are stale: run `cargo xtask codegen` and commit the result")]
    Stale {
        /// How many files differ.
        count: usize,
    },
}

impl Error {
    /// Shorthand for an I/O error on a path.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

/// Result alias of the xtask.
pub type Result<T, E = Error> = std::result::Result<T, E>;
