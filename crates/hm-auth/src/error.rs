//! The crate's single error type.

use std::path::PathBuf;
use std::sync::Arc;

/// Everything that can go wrong while loading credentials, obtaining a token or authorising a request.
///
/// Each message names what failed and what to do about it. No variant ever carries a client secret,
/// a private key, an assertion or an access token. The type is `Clone` (sources sit behind `Arc`) so
/// that one failed token request can be reported to every caller that was waiting for it.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A key file could not be read.
    #[error("cannot read {what} {}: {source}; check the path and the file's permissions", .path.display())]
    ReadFile {
        /// What the file was meant to hold, e.g. "key file".
        what: &'static str,
        /// The path that was tried.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: Arc<std::io::Error>,
    },

    /// The console key file is not the JSON document the console hands out.
    #[error(
        "key file {} is not valid JSON ({detail}): expected the JSON key file downloaded from the \
         High Mobility console, with the fields `id` and `private_key`", .path.display()
    )]
    KeyFileNotJson {
        /// The key file.
        path: PathBuf,
        /// What the JSON parser reported (position and kind, never the content).
        detail: String,
    },

    /// The console key file lacks a field.
    #[error(
        "key file {} has no `{field}` field: expected the JSON key file from the High Mobility \
         console (fields `id` and `private_key`); download the key again from the console", .path.display()
    )]
    KeyFileMissingField {
        /// The key file.
        path: PathBuf,
        /// The missing field, `id` or `private_key`.
        field: &'static str,
    },

    /// The private key text is not a PEM private key that can be decoded.
    #[error(
        "{origin} is not a usable PEM private key ({detail}): expected a P-256 EC private key in \
         PEM form, `-----BEGIN PRIVATE KEY-----` (PKCS#8) or `-----BEGIN EC PRIVATE KEY-----` (SEC1)"
    )]
    MalformedKey {
        /// Where the key came from, e.g. "private key in /x/y.json".
        origin: String,
        /// What is wrong with it.
        detail: String,
    },

    /// The private key is valid but of a kind that cannot sign ES256 assertions.
    #[error(
        "{origin} holds {found}, but High Mobility's JWT assertions are signed with ES256, which \
         needs a P-256 (prime256v1/secp256r1) EC private key: create a P-256 key in the High \
         Mobility console"
    )]
    UnsupportedKey {
        /// Where the key came from.
        origin: String,
        /// What kind of key was found, e.g. "an RSA key".
        found: String,
    },

    /// A key id or client id is empty.
    #[error("{what} is empty: {remedy}")]
    EmptyField {
        /// Which value is empty.
        what: &'static str,
        /// Where to find the right value.
        remedy: &'static str,
    },

    /// Environment variables do not describe one complete set of credentials.
    #[error("credentials from the environment: {problem}; {usage}", usage = ENV_USAGE)]
    Environment {
        /// What is missing or contradictory.
        problem: String,
    },

    /// The API base URL cannot be used.
    #[error("API base URL `{url}` cannot be used: {reason}")]
    InvalidBaseUrl {
        /// The URL as given.
        url: String,
        /// Why it was refused and what is expected.
        reason: String,
    },

    /// The HTTP client for token requests could not be built.
    #[error("cannot build the HTTP client for token requests: {source}")]
    HttpClient {
        /// The reqwest error.
        #[source]
        source: Arc<reqwest::Error>,
    },

    /// Signing the JWT client assertion failed.
    #[error("cannot sign the JWT client assertion: {detail}")]
    Signing {
        /// What the signer reported.
        detail: String,
    },

    /// The token endpoint rejected the request with an OAuth error (`{error, error_description}`).
    ///
    /// This is permanent: retrying with the same credentials will not help.
    #[error(
        "the token endpoint refused the credentials (HTTP {status}, `{error}`: {description}): check \
         the client id and the client secret or private key, and that the key has not expired or been \
         revoked in the High Mobility console"
    )]
    TokenRejected {
        /// HTTP status of the reply (usually 400).
        status: u16,
        /// The OAuth `error` code, e.g. `invalid_request`.
        error: String,
        /// The server's `error_description`, e.g. "client_secret is invalid".
        description: String,
    },

    /// The token endpoint answered with a status that is not a success, after any retries.
    #[error(
        "the token endpoint answered HTTP {status} after {attempts} attempt(s) ({body}); {remedy}",
        remedy = status_remedy(.status)
    )]
    TokenEndpointStatus {
        /// The last HTTP status.
        status: u16,
        /// How many requests were made.
        attempts: u32,
        /// A short, redacted description of the reply body.
        body: String,
    },

    /// The token endpoint replied with success but the reply is not a usable token response.
    #[error(
        "the token endpoint's reply (HTTP {status}) is not a token response: {reason}; expected JSON \
         with `access_token` and `expires_in`; check that the base URL points at the High Mobility API"
    )]
    InvalidTokenResponse {
        /// HTTP status of the reply.
        status: u16,
        /// What is wrong with it.
        reason: String,
    },

    /// The token endpoint could not be reached, after any retries.
    #[error(
        "cannot reach the token endpoint {url} after {attempts} attempt(s): {source}; check the network \
         and the base URL"
    )]
    TokenTransport {
        /// The token endpoint URL.
        url: String,
        /// How many requests were made.
        attempts: u32,
        /// The last transport error.
        #[source]
        source: Arc<reqwest::Error>,
    },

    /// The background task that fetched the token ended without an answer (e.g. the runtime is shutting down).
    #[error("the token refresh task ended without a result ({detail}); retry the call")]
    RefreshTaskFailed {
        /// What the runtime reported.
        detail: String,
    },
}

fn status_remedy(status: &u16) -> &'static str {
    let status = *status;
    if status >= 500 || status == 429 {
        "the service is unavailable or overloaded: try again later"
    } else {
        "check the base URL (it must be the API origin, e.g. https://sandbox.api.high-mobility.com)"
    }
}

/// How to configure credentials through the environment, quoted in [`Error::Environment`].
const ENV_USAGE: &str = "set HM_CLIENT_ID and exactly one of: HM_CLIENT_SECRET; HM_PRIVATE_KEY_FILE \
     (console JSON key file); HM_PRIVATE_KEY_PEM_FILE or HM_PRIVATE_KEY_PEM together with HM_KEY_ID";

impl Error {
    /// Whether a later attempt with the same credentials may succeed (the service was unavailable,
    /// overloaded or unreachable), as opposed to a configuration or credential problem.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::TokenEndpointStatus { status, .. } => *status >= 500 || *status == 429,
            Error::TokenTransport { .. } | Error::RefreshTaskFailed { .. } => true,
            _ => false,
        }
    }
}
