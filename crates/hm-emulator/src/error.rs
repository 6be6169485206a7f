//! The crate's one error type.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Everything that can go wrong while configuring or starting the emulator.
///
/// Each message names what failed and what to do about it. Bad *requests* never
/// surface here: they become HTTP error responses in the emulated API's own shape.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration file could not be read.
    #[error(
        "cannot read emulator config {path}: {source}; check that the file exists and is readable"
    )]
    ConfigRead {
        /// The file that was asked for.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The configuration is not valid TOML or does not match the expected format.
    #[error(
        "invalid emulator config {origin} at line {line}, column {column}: {message}; \
         compare with crates/hm-emulator/emulator.example.toml"
    )]
    ConfigParse {
        /// The file name, or `<string>` when parsed from memory.
        origin: String,
        /// 1-based line of the error (0 when the parser gave no position).
        line: usize,
        /// 1-based column of the error (0 when the parser gave no position).
        column: usize,
        /// The parser's explanation.
        message: String,
    },
    /// A number in the configuration is outside the range the emulator can honour.
    #[error(
        "invalid emulator config: {key} = {value} is out of range; set it between {min} and {max}"
    )]
    ConfigOutOfRange {
        /// The setting, e.g. `token_lifetime_secs` or `vehicles[2].clearance_delay_secs`.
        key: String,
        /// The value given.
        value: u64,
        /// The smallest value allowed.
        min: u64,
        /// The largest value allowed.
        max: u64,
    },
    /// The configuration parsed but its content is inconsistent.
    #[error("invalid emulator config: {0}")]
    InvalidConfig(String),
    /// A public key given at run time or in the configuration is not a P-256 public key in PEM form.
    #[error(
        "public key {key_id:?} of application {client_id:?} is not a P-256 public key in PEM form \
         (expected -----BEGIN PUBLIC KEY-----): {reason}"
    )]
    InvalidPublicKey {
        /// The application the key was meant for.
        client_id: String,
        /// The key id (the `iss` of the client's assertions).
        key_id: String,
        /// Why the key was refused.
        reason: String,
    },
    /// A key was registered for an application the emulator does not know.
    #[error("unknown application {0:?}; add it to the emulator config's [[applications]] first")]
    UnknownApplication(String),
    /// A key id given at run time already belongs to another application.
    #[error(
        "key id {key_id:?} belongs to application {owner:?} and cannot be registered for {client_id:?}; \
         key ids are unique across applications, so choose another key id"
    )]
    KeyIdTaken {
        /// The key id (the `iss` of the client's assertions).
        key_id: String,
        /// The application the key id belongs to.
        owner: String,
        /// The application it was offered for.
        client_id: String,
    },
    /// A webhook in the configuration or given at run time cannot be used.
    #[error("invalid webhook {which}: {reason}")]
    InvalidWebhook {
        /// Which webhook, e.g. `webhooks[0]` or its URL.
        which: String,
        /// What is wrong and what to do.
        reason: String,
    },
    /// The listening socket could not be opened.
    #[error("cannot listen on {addr}: {source}; choose another port or stop the process using it")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The MQTT broker's certificates could not be created.
    #[error("cannot create the MQTT broker's certificates: {0}")]
    Pki(String),
    /// A certificate or key file of the MQTT broker could not be written.
    #[error(
        "cannot write the MQTT broker's TLS file {path}: {source}; choose a writable `tls_dir` \
         in the [mqtt] table"
    )]
    TlsFiles {
        /// The file or directory.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Another running emulator writes its certificates into the same `tls_dir`.
    #[error(
        "the MQTT TLS directory {path} is in use by another running emulator; give each emulator \
         its own `tls_dir` (or none: a fresh temporary directory)"
    )]
    TlsDirInUse {
        /// The directory.
        path: PathBuf,
    },
    /// The embedded MQTT broker could not start or failed.
    #[error("{0}")]
    Broker(String),
    /// The vehicle data shape compiled into the emulator is broken (a bug of hm-emulator).
    #[error("{0}")]
    BuiltInShape(String),
    /// The server stopped with an I/O error.
    #[error("emulator server failed: {0}")]
    Serve(#[source] std::io::Error),
}
