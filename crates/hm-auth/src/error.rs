//! The crate's single error type, and the classification callers act on.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Everything that can go wrong while loading credentials, obtaining a token or authorising a request.
///
/// `Display` says what failed and then what to do ([`hint`](Error::hint)); [`kind`](Error::kind)
/// classifies the failure for programs (exit codes, metrics, retry decisions). No variant ever
/// carries a client secret, a private key, an assertion or an access token: text that comes from
/// the token endpoint is cleaned of them before it is kept. The type is `Clone` (sources sit behind
/// `Arc`) so that one failed token request can be reported to every caller that was waiting for it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Error {
    /// A key file could not be read.
    ReadFile {
        /// What the file was meant to hold, e.g. "key file".
        what: &'static str,
        /// The path that was tried.
        path: PathBuf,
        /// The underlying I/O error.
        source: Arc<std::io::Error>,
    },

    /// A key file is far larger than any key file (e.g. `/dev/zero` or a log file given by mistake).
    FileTooLarge {
        /// What the file was meant to hold.
        what: &'static str,
        /// The path that was tried.
        path: PathBuf,
        /// The most that is read, in bytes.
        limit: usize,
    },

    /// The console key file is not the JSON document the console hands out.
    KeyFileNotJson {
        /// The key file.
        path: PathBuf,
        /// What the JSON parser reported (position and kind, never the content).
        detail: String,
    },

    /// The console key file lacks a field.
    KeyFileMissingField {
        /// The key file.
        path: PathBuf,
        /// The missing field, `id` or `private_key`.
        field: &'static str,
    },

    /// A field of the console key file is not a JSON string (e.g. a numeric `id`).
    KeyFileFieldNotString {
        /// The key file.
        path: PathBuf,
        /// The field, `id` or `private_key`.
        field: &'static str,
        /// The JSON type found instead, e.g. "a number".
        found: &'static str,
    },

    /// The private key text is not a PEM private key that can be decoded.
    MalformedKey {
        /// Where the key came from, e.g. "private key in /x/y.json".
        origin: String,
        /// What is wrong with it.
        detail: String,
    },

    /// The private key is valid but of a kind that cannot sign ES256 assertions.
    UnsupportedKey {
        /// Where the key came from.
        origin: String,
        /// What kind of key was found, e.g. "an RSA key".
        found: String,
    },

    /// A key id, client id or client secret is empty.
    EmptyField {
        /// Which value is empty.
        what: &'static str,
        /// Where to find the right value.
        remedy: &'static str,
    },

    /// A client id, key id or client secret starts or ends with whitespace, which the server would
    /// not ignore.
    SurroundingWhitespace {
        /// Which value, e.g. "the client secret".
        what: &'static str,
    },

    /// Environment variables do not describe one complete set of credentials.
    Environment {
        /// What is missing or contradictory.
        problem: String,
    },

    /// The API base URL cannot be used.
    InvalidBaseUrl {
        /// The URL as given, with any user info replaced by `***`.
        url: String,
        /// Why it was refused and what is expected.
        reason: String,
    },

    /// The HTTP client for token requests could not be built.
    HttpClient {
        /// The reqwest error.
        source: Arc<reqwest::Error>,
    },

    /// Signing the JWT client assertion failed.
    Signing {
        /// What the signer reported.
        detail: String,
    },

    /// The token endpoint could not be reached, or stopped answering, after any retries.
    TokenTransport {
        /// The token endpoint URL.
        url: String,
        /// How many requests were made.
        attempts: u32,
        /// Which failure it was: [`ErrorKind::Dns`], [`ErrorKind::ConnectionRefused`],
        /// [`ErrorKind::ConnectTimeout`], [`ErrorKind::ReadTimeout`] or [`ErrorKind::Network`].
        kind: ErrorKind,
        /// The last transport error.
        source: Arc<reqwest::Error>,
    },

    /// No token could be obtained within the overall deadline (all attempts and waits included).
    TokenDeadline {
        /// The deadline that passed.
        deadline: Duration,
        /// How many requests were started.
        attempts: u32,
        /// The failure of the previous attempt, if one had failed before time ran out.
        last: Option<Box<Error>>,
    },

    /// The token endpoint answered with a redirect, which is never followed: following it would
    /// send the client secret or assertion to wherever the `Location` points.
    TokenRedirect {
        /// The 3xx status.
        status: u16,
        /// The origin the `Location` header names (scheme, host, port; never path or query).
        location: String,
    },

    /// The token endpoint refused the credentials with an OAuth error (`{error, error_description}`).
    ///
    /// This is permanent: retrying with the same credentials will not help.
    TokenRejected {
        /// HTTP status of the reply (usually 400; 200 when a server puts an `error` in a success).
        status: u16,
        /// The OAuth `error` code, e.g. `invalid_request`.
        error: String,
        /// The server's `error_description`, e.g. "client_secret is invalid" (cleaned and shortened).
        description: String,
        /// How far the server's clock (its `Date` header) is ahead of this machine's, in seconds
        /// (negative: behind); JWT flow only, when the server sent a `Date`. The assertion's `iat`
        /// must be within about 30 s of the server's time.
        clock_skew_secs: Option<i64>,
    },

    /// The token endpoint answered with a status that is not a success, after any retries.
    TokenEndpointStatus {
        /// The last HTTP status.
        status: u16,
        /// How many requests were made.
        attempts: u32,
        /// A short description of the reply body, cleaned of secrets.
        body: String,
        /// The wait the server asked for with `Retry-After`, if any.
        retry_after: Option<Duration>,
    },

    /// No token request was sent: the token endpoint answered an earlier one with 429 or 5xx and a
    /// `Retry-After` that has not passed yet (honoured for at most 10 minutes).
    TokenRequestDeferred {
        /// The status that came with the `Retry-After`.
        status: u16,
        /// How long until a token request may be sent again.
        retry_after: Duration,
    },

    /// The token endpoint's reply is not a usable token response (not JSON, too large, no token,
    /// a `token_type` other than `bearer`, ...).
    InvalidTokenResponse {
        /// HTTP status of the reply.
        status: u16,
        /// What is wrong with it.
        reason: String,
    },

    /// The background task that fetched the token ended without an answer (e.g. the runtime is shutting down).
    RefreshTaskFailed {
        /// What the runtime reported.
        detail: String,
    },

    /// A token request had to be started outside a tokio runtime (e.g. the call was polled by
    /// another executor); token requests run as tokio tasks.
    NoTokioRuntime,
}

/// What kind of failure an [`Error`] is, for programs that act on it (exit codes, retries, metrics).
///
/// New kinds may be added; match with a wildcard arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Bad local input: credentials, key file or key text, base URL, environment variables, HTTP
    /// client settings, a system clock that cannot date an assertion, a call outside a tokio
    /// runtime. Fix the configuration; retrying will not help.
    InvalidInput,
    /// The token endpoint's host name could not be resolved.
    Dns,
    /// The token endpoint's host refused the connection (nothing listens on that port).
    ConnectionRefused,
    /// No connection could be established within the connect timeout.
    ConnectTimeout,
    /// Connected, but the reply did not arrive within the per-attempt timeout.
    ReadTimeout,
    /// Another network failure (TLS handshake, connection reset, proxy).
    Network,
    /// The overall deadline for obtaining a token passed.
    Deadline,
    /// The token endpoint answered with a redirect, which is refused.
    RedirectRefused,
    /// The token endpoint refused the credentials (4xx with an OAuth error).
    CredentialsRejected,
    /// The token endpoint is unavailable or overloaded (5xx, 429).
    Unavailable,
    /// The token endpoint answered, but not with a token response or an OAuth error: invalid or
    /// oversized JSON, a missing token, a `token_type` other than `bearer`, an unexpected status
    /// (often a base URL that is not the API's).
    MalformedReply,
    /// A failure inside this process (the token request task ended early, e.g. at shutdown).
    Internal,
}

impl ErrorKind {
    /// A short stable name, e.g. `connect_timeout`, for logs and machine-readable output.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::Dns => "dns",
            ErrorKind::ConnectionRefused => "connection_refused",
            ErrorKind::ConnectTimeout => "connect_timeout",
            ErrorKind::ReadTimeout => "read_timeout",
            ErrorKind::Network => "network",
            ErrorKind::Deadline => "deadline",
            ErrorKind::RedirectRefused => "redirect_refused",
            ErrorKind::CredentialsRejected => "credentials_rejected",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::MalformedReply => "malformed_reply",
            ErrorKind::Internal => "internal",
        }
    }

    /// Whether a later attempt with the same configuration may succeed.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            ErrorKind::Dns
                | ErrorKind::ConnectionRefused
                | ErrorKind::ConnectTimeout
                | ErrorKind::ReadTimeout
                | ErrorKind::Network
                | ErrorKind::Deadline
                | ErrorKind::Unavailable
                | ErrorKind::Internal
        )
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A clock difference (seconds) from which a rejected assertion is retried with `iat` corrected,
/// and the hint blames the clock. `Date` has a resolution of one second; the server tolerates about 30 s.
pub(crate) const CLOCK_SKEW_THRESHOLD: i64 = 10;

/// How to configure credentials through the environment, quoted in [`Error::Environment`].
const ENV_USAGE: &str = "set HM_CLIENT_ID and exactly one of: HM_CLIENT_SECRET; HM_PRIVATE_KEY_FILE \
     (console JSON key file); HM_PRIVATE_KEY_PEM_FILE or HM_PRIVATE_KEY_PEM together with HM_KEY_ID";

impl Error {
    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::ReadFile { .. }
            | Error::FileTooLarge { .. }
            | Error::KeyFileNotJson { .. }
            | Error::KeyFileMissingField { .. }
            | Error::KeyFileFieldNotString { .. }
            | Error::MalformedKey { .. }
            | Error::UnsupportedKey { .. }
            | Error::EmptyField { .. }
            | Error::SurroundingWhitespace { .. }
            | Error::Environment { .. }
            | Error::InvalidBaseUrl { .. }
            | Error::HttpClient { .. }
            | Error::Signing { .. }
            | Error::NoTokioRuntime => ErrorKind::InvalidInput,
            Error::TokenTransport { kind, .. } => *kind,
            Error::TokenDeadline { .. } => ErrorKind::Deadline,
            Error::TokenRedirect { .. } => ErrorKind::RedirectRefused,
            Error::TokenRejected { .. } => ErrorKind::CredentialsRejected,
            Error::TokenEndpointStatus { status, .. } => match *status {
                429 | 500..=599 => ErrorKind::Unavailable,
                401 | 403 => ErrorKind::CredentialsRejected,
                _ => ErrorKind::MalformedReply,
            },
            Error::TokenRequestDeferred { .. } => ErrorKind::Unavailable,
            Error::InvalidTokenResponse { .. } => ErrorKind::MalformedReply,
            Error::RefreshTaskFailed { .. } => ErrorKind::Internal,
        }
    }

    /// Whether a later attempt with the same configuration may succeed (the service was
    /// unavailable, overloaded, slow or unreachable), as opposed to a configuration or credential
    /// problem. Same as `self.kind().is_retryable()`.
    pub fn is_retryable(&self) -> bool {
        self.kind().is_retryable()
    }

    /// Former name of [`is_retryable`](Error::is_retryable).
    #[deprecated(since = "0.1.0", note = "renamed to `is_retryable`")]
    pub fn is_transient(&self) -> bool {
        self.is_retryable()
    }

    /// What a person should do about it, e.g. "check the path and the file's permissions".
    /// `Display` ends with this text.
    pub fn hint(&self) -> String {
        match self {
            Error::ReadFile { .. } => "check the path and the file's permissions".to_owned(),
            Error::FileTooLarge { .. } => {
                "give the path of the key file itself (a key file is a few hundred bytes)"
                    .to_owned()
            }
            Error::KeyFileNotJson { .. } => "expected the JSON key file downloaded from the High \
                 Mobility console, with the fields `id` and `private_key`"
                .to_owned(),
            Error::KeyFileMissingField { .. } | Error::KeyFileFieldNotString { .. } => {
                "expected the JSON key file from the High Mobility console (fields `id` and \
                 `private_key`, both strings); download the key again from the console"
                    .to_owned()
            }
            Error::MalformedKey { .. } => "expected a P-256 EC private key in PEM form, \
                 `-----BEGIN PRIVATE KEY-----` (PKCS#8) or `-----BEGIN EC PRIVATE KEY-----` (SEC1)"
                .to_owned(),
            Error::UnsupportedKey { .. } => {
                "create a P-256 key in the High Mobility console".to_owned()
            }
            Error::EmptyField { remedy, .. } => (*remedy).to_owned(),
            Error::SurroundingWhitespace { .. } => {
                "copy the value again without surrounding spaces or line breaks (a trailing line \
                 break often comes from `echo` or from a file's last line)"
                    .to_owned()
            }
            Error::Environment { .. } => ENV_USAGE.to_owned(),
            Error::InvalidBaseUrl { .. } => "use `sandbox`, `production` or the API's https base \
                 URL, e.g. https://sandbox.api.high-mobility.com"
                .to_owned(),
            Error::HttpClient { .. } => {
                "check the settings given to `token_client_builder` (proxy, TLS roots)".to_owned()
            }
            Error::Signing { .. } => "check the private key and the system clock".to_owned(),
            Error::TokenTransport { kind, .. } => match kind {
                ErrorKind::Dns => "check the host name of the base URL and this machine's DNS \
                     settings"
                    .to_owned(),
                ErrorKind::ConnectionRefused => "nothing listens at that address: check the base \
                     URL's host and port (is the emulator running?)"
                    .to_owned(),
                ErrorKind::ConnectTimeout => "check the network, firewall or proxy between this \
                     machine and the API, or allow a longer connect timeout"
                    .to_owned(),
                ErrorKind::ReadTimeout => {
                    "the token endpoint is slow or hung: try again later, or \
                     allow a longer per-attempt timeout"
                        .to_owned()
                }
                _ => "check the network, proxy and TLS settings".to_owned(),
            },
            Error::TokenDeadline { .. } => "the token endpoint is slow or unreachable: try again \
                 later, or allow a longer token deadline"
                .to_owned(),
            Error::TokenRedirect { .. } => "set the base URL to the API's own origin (e.g. \
                 https://sandbox.api.high-mobility.com), not an address that redirects"
                .to_owned(),
            Error::TokenRejected {
                error,
                description,
                clock_skew_secs,
                ..
            } => {
                let mut hint =
                    "check the client id and the client secret or private key, and that \
                     the key has not expired or been revoked in the High Mobility console"
                        .to_owned();
                if let Some(skew) = clock_skew_secs.filter(|s| s.abs() >= CLOCK_SKEW_THRESHOLD) {
                    let direction = if skew > 0 { "ahead of" } else { "behind" };
                    hint.push_str(&format!(
                        "; the server's clock is {} s {direction} this machine's: set the system \
                         clock right (the assertion's `iat` must be within about 30 s of the \
                         server's time)",
                        skew.unsigned_abs()
                    ));
                } else if mentions_time(error) || mentions_time(description) {
                    hint.push_str(
                        "; check the system clock (the assertion's `iat` must be within about 30 s \
                         of the server's time)",
                    );
                }
                hint
            }
            Error::TokenEndpointStatus { status, .. } => match status {
                429 | 500..=599 => {
                    "the service is unavailable or overloaded: try again later".to_owned()
                }
                401 | 403 => "the token endpoint refused the request without an OAuth error: \
                     check the client id and the client secret or private key, and the base URL"
                    .to_owned(),
                _ => "check the base URL (it must be the API origin, e.g. \
                     https://sandbox.api.high-mobility.com)"
                    .to_owned(),
            },
            Error::TokenRequestDeferred { .. } => {
                "the token endpoint is overloaded or rate-limits this client: try again later"
                    .to_owned()
            }
            Error::InvalidTokenResponse { .. } => "expected JSON with `access_token`, \
                 `token_type: bearer` and `expires_in`; check that the base URL points at the High \
                 Mobility API"
                .to_owned(),
            Error::RefreshTaskFailed { .. } => "retry the call".to_owned(),
            Error::NoTokioRuntime => "call it within a tokio runtime: from `#[tokio::main]` or \
                 `Runtime::block_on`, or on a thread that entered one with `Handle::enter`"
                .to_owned(),
        }
    }

    /// What failed, without the hint.
    fn problem(&self) -> String {
        match self {
            Error::ReadFile { what, path, source } => {
                format!("cannot read {what} {}: {source}", path.display())
            }
            Error::FileTooLarge { what, path, limit } => format!(
                "{what} {} is larger than {} KiB, far more than a key file holds",
                path.display(),
                limit / 1024
            ),
            Error::KeyFileNotJson { path, detail } => {
                format!("key file {} is not valid JSON ({detail})", path.display())
            }
            Error::KeyFileMissingField { path, field } => {
                format!("key file {} has no `{field}` field", path.display())
            }
            Error::KeyFileFieldNotString { path, field, found } => format!(
                "key file {}: `{field}` must be a string, but it is {found}",
                path.display()
            ),
            Error::MalformedKey { origin, detail } => {
                format!("{origin} is not a usable PEM private key ({detail})")
            }
            Error::UnsupportedKey { origin, found } => format!(
                "{origin} holds {found}, but High Mobility's JWT assertions are signed with ES256, \
                 which needs a P-256 (prime256v1/secp256r1) EC private key"
            ),
            Error::EmptyField { what, .. } => format!("{what} is empty"),
            Error::SurroundingWhitespace { what } => {
                format!("{what} has leading or trailing whitespace")
            }
            Error::Environment { problem } => {
                format!("credentials from the environment: {problem}")
            }
            Error::InvalidBaseUrl { url, reason } => {
                format!("API base URL `{url}` cannot be used: {reason}")
            }
            Error::HttpClient { source } => {
                format!("cannot build the HTTP client for token requests: {source}")
            }
            Error::Signing { detail } => format!("cannot sign the JWT client assertion: {detail}"),
            Error::TokenTransport {
                url,
                attempts,
                kind,
                source,
            } => {
                let what = match kind {
                    ErrorKind::Dns => "its host name could not be resolved (DNS)",
                    ErrorKind::ConnectionRefused => "the connection was refused",
                    ErrorKind::ConnectTimeout => "no connection within the connect timeout",
                    ErrorKind::ReadTimeout => "no reply within the per-attempt timeout",
                    _ => "the connection failed",
                };
                format!(
                    "cannot reach the token endpoint {url} after {attempts} attempt(s): {what} \
                     ({})",
                    error_chain(source.as_ref())
                )
            }
            Error::TokenDeadline {
                deadline,
                attempts,
                last,
            } => {
                let mut text = format!(
                    "no token within the {} deadline ({attempts} attempt(s) started",
                    seconds(*deadline)
                );
                if let Some(last) = last {
                    text.push_str(&format!("; last failure: {}", last.problem()));
                }
                text.push(')');
                text
            }
            Error::TokenRedirect { status, location } => format!(
                "the token endpoint answered HTTP {status} redirecting to {location}; token \
                 requests never follow redirects, which would send the credentials elsewhere"
            ),
            Error::TokenRejected {
                status,
                error,
                description,
                ..
            } => format!(
                "the token endpoint refused the credentials (HTTP {status}, `{error}`: {description})"
            ),
            Error::TokenEndpointStatus {
                status,
                attempts,
                body,
                ..
            } => format!(
                "the token endpoint answered HTTP {status} after {attempts} attempt(s) ({body})"
            ),
            Error::TokenRequestDeferred {
                status,
                retry_after,
            } => format!(
                "no token request was sent: the token endpoint answered HTTP {status} with \
                 `Retry-After`, and asked not to be asked again for another {}",
                seconds(*retry_after)
            ),
            Error::InvalidTokenResponse { status, reason } => format!(
                "the token endpoint's reply (HTTP {status}) is not a token response: {reason}"
            ),
            Error::RefreshTaskFailed { detail } => {
                format!("the token request task ended without a result ({detail})")
            }
            Error::NoTokioRuntime => "a token request must be started, but the call runs \
                 outside a tokio runtime, which token requests need"
                .to_owned(),
        }
    }

    /// The server's `Retry-After` (what is left of it), for the retry decorator.
    pub(crate) fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::TokenEndpointStatus { retry_after, .. } => *retry_after,
            Error::TokenRequestDeferred { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }

    /// Records how many attempts the failure took, where the error says so.
    pub(crate) fn with_attempts(mut self, count: u32) -> Self {
        match &mut self {
            Error::TokenTransport { attempts, .. }
            | Error::TokenEndpointStatus { attempts, .. } => {
                *attempts = count;
            }
            _ => {}
        }
        self
    }

    /// A transport failure of one token request, classified.
    pub(crate) fn transport(url: &str, source: reqwest::Error) -> Self {
        Error::TokenTransport {
            url: url.to_owned(),
            attempts: 1,
            kind: transport_kind(&source),
            source: Arc::new(source.without_url()),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}; {}", self.problem(), self.hint())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::ReadFile { source, .. } => Some(source.as_ref()),
            Error::HttpClient { source } | Error::TokenTransport { source, .. } => {
                Some(source.as_ref())
            }
            Error::TokenDeadline {
                last: Some(last), ..
            } => Some(last.as_ref()),
            _ => None,
        }
    }
}

/// Which transport failure a reqwest error is.
fn transport_kind(error: &reqwest::Error) -> ErrorKind {
    if error.is_dns() {
        ErrorKind::Dns
    } else if error.is_connect() {
        if error.is_timeout() {
            ErrorKind::ConnectTimeout
        } else if has_io_kind(error, std::io::ErrorKind::ConnectionRefused) {
            ErrorKind::ConnectionRefused
        } else {
            ErrorKind::Network
        }
    } else if error.is_timeout() {
        ErrorKind::ReadTimeout
    } else {
        ErrorKind::Network
    }
}

fn has_io_kind(error: &(dyn std::error::Error + 'static), kind: std::io::ErrorKind) -> bool {
    let mut next = Some(error);
    while let Some(error) = next {
        if error
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == kind)
        {
            return true;
        }
        next = error.source();
    }
    false
}

/// "error sending request: client error (Connect): tcp connect error: Connection refused": the
/// whole chain, since reqwest's own message names only the outermost step.
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut next = error.source();
    while let Some(error) = next {
        let part = error.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        next = error.source();
    }
    text
}

/// Whether an OAuth error text blames time (`iat`, clock, "issued at", "in the future").
fn mentions_time(text: &str) -> bool {
    let text = text.to_ascii_lowercase();
    ["iat", "clock", "issued at", "future", "skew"]
        .iter()
        .any(|word| {
            text.match_indices(word).any(|(at, _)| {
                // Whole words only: "iat" must not match "appropriate".
                let before = text[..at].chars().next_back();
                let after = text[at + word.len()..].chars().next();
                !before.is_some_and(char::is_alphanumeric)
                    && !after.is_some_and(char::is_alphanumeric)
            })
        })
}

fn seconds(duration: Duration) -> String {
    let secs = duration.as_secs_f64();
    if secs.fract() == 0.0 {
        format!("{secs:.0} s")
    } else {
        format!("{secs:.1} s")
    }
}
