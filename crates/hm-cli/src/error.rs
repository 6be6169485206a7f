//! The crate's one error type: what failed, what to do about it, and the exit code.
//!
//! Transport failures of API requests are classified here (DNS, refused, connect or read timeout,
//! deadline, redirect); token failures take hm-auth's classification, mapped here too.

use std::fmt;
use std::time::Duration;

use serde_json::json;

/// Exit code of a successful run.
pub const EXIT_OK: u8 = 0;
/// Exit code of an unexpected failure (I/O, the embedded emulator could not start, ...).
pub const EXIT_FAILURE: u8 = 1;
/// Exit code of a usage error: a bad flag, a missing setting, a malformed VIN or brand (clap's own code).
pub const EXIT_USAGE: u8 = 2;
/// Exit code of an authentication failure: unreadable or malformed key, credentials refused.
pub const EXIT_AUTH: u8 = 3;
/// Exit code of an error answered by the API (unknown VIN, no consent, rate limit, ...).
pub const EXIT_API: u8 = 4;
/// Exit code when the API cannot be reached or does not answer in time.
pub const EXIT_UNREACHABLE: u8 = 5;
/// Exit code when `--wait` reached `--timeout` before every clearance was decided.
pub const EXIT_WAIT_TIMEOUT: u8 = 6;
/// Exit code when a clearance waited for ended rejected.
pub const EXIT_REJECTED: u8 = 7;
/// Exit code after stdout was closed by the reader (128 + SIGPIPE, as a shell reports it).
pub const EXIT_BROKEN_PIPE: u8 = 141;

/// The operations `hm` performs, for messages and for hints that fit the command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `POST /v1/eligibility`.
    Eligibility,
    /// `POST /v1/fleets/vehicles`.
    ClearanceRequest,
    /// `GET /v1/fleets/vehicles`.
    ClearanceList,
    /// `GET /v1/fleets/vehicles/{vin}`.
    ClearanceGet,
    /// `DELETE /v1/fleets/vehicles/{vin}`.
    ClearanceRevoke,
    /// `GET /v1/vehicle-data/autoapi-13/{vin}`.
    VehicleData,
    /// `GET /v1/vehicle-static-data/{vin}`.
    StaticData,
}

/// One error reported by the API: its title and, if given, the detail.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ApiProblem {
    /// High Mobility's error title.
    pub title: String,
    /// High Mobility's error detail.
    pub detail: Option<String>,
}

impl fmt::Display for ApiProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.detail {
            Some(detail) if !detail.is_empty() => write!(f, "{}: {}", self.title, detail),
            _ => f.write_str(&self.title),
        }
    }
}

/// Why the network let a request down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetFailure {
    /// The host name did not resolve.
    Dns,
    /// Nothing listens at the address.
    Refused,
    /// No connection within the connect timeout.
    ConnectTimeout,
    /// Another failure while connecting (TLS, unreachable network, ...).
    Connect,
    /// Connected, but the reply did not come in time.
    ReadTimeout,
    /// `--timeout` ran out.
    Deadline,
    /// The server answered with a redirect, which is not followed.
    Redirect,
    /// The server answered 5xx or 429 until the retries ran out.
    Outage,
    /// Anything else on the way (connection reset, body cut short, ...).
    Transport,
}

impl NetFailure {
    fn kind(self) -> &'static str {
        match self {
            NetFailure::Dns => "dns",
            NetFailure::Refused => "connection_refused",
            NetFailure::ConnectTimeout => "connect_timeout",
            NetFailure::Connect => "connect",
            NetFailure::ReadTimeout => "read_timeout",
            NetFailure::Deadline => "deadline",
            NetFailure::Redirect => "redirect_refused",
            NetFailure::Outage => "endpoint_outage",
            NetFailure::Transport => "network",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            NetFailure::Dns => "the host name does not resolve (DNS)",
            NetFailure::Refused => "connection refused: nothing listens there",
            NetFailure::ConnectTimeout => "no connection within the connect timeout",
            NetFailure::Connect => "cannot connect",
            NetFailure::ReadTimeout => "connected, but no reply in time (read timeout)",
            NetFailure::Deadline => "no answer before --timeout ran out (deadline)",
            NetFailure::Redirect => "the server answered with a redirect, which hm does not follow",
            NetFailure::Outage => "the service is unavailable",
            NetFailure::Transport => "the connection failed",
        }
    }

    fn hint(self) -> &'static str {
        match self {
            NetFailure::Dns => "check the host in --env (or the profile) and the network's DNS",
            NetFailure::Refused => {
                "check --env: is the address right, is the emulator (`hm emulator serve`) running?"
            }
            NetFailure::ConnectTimeout | NetFailure::Connect => {
                "check the network, any proxy or firewall, and --env"
            }
            NetFailure::ReadTimeout | NetFailure::Deadline => {
                "the API is slow or hung: try again later, or give a longer --timeout (e.g. --timeout 2m)"
            }
            NetFailure::Redirect => {
                "check --env: it must be the API origin itself (tokens are never sent to another origin)"
            }
            NetFailure::Outage => "the service is unavailable or overloaded: try again later",
            NetFailure::Transport => "check the network and try again",
        }
    }
}

/// Everything `hm` can fail with. Messages say what failed; hints say what to do; none carries a secret.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The command line, the environment or the profile does not describe a usable configuration.
    #[error("{0}")]
    Usage(String),

    /// Credentials could not be loaded or were refused by the token endpoint.
    #[error("authentication failed: {message}")]
    Auth {
        /// Machine-readable kind, e.g. `credentials_refused`.
        kind: &'static str,
        /// hm-auth's message (names the cause and the remedy).
        message: String,
    },

    /// The API answered with an error status.
    #[error("{what}: the API answered HTTP {status}: {problems}", problems = join(.problems))]
    Api {
        /// The operation, for the hint.
        op: Op,
        /// What was attempted, e.g. "clearance of 1HM...".
        what: String,
        /// The HTTP status.
        status: u16,
        /// The errors in the reply body.
        problems: Vec<ApiProblem>,
        /// The request id the API gave, if any.
        request_id: Option<String>,
        /// The `Retry-After` of a 429 or 503, if any.
        retry_after: Option<Duration>,
    },

    /// A clearance request was accepted by the API but some VINs were refused in its reply.
    #[error("{what}: {problems}", problems = join(.problems))]
    Refused {
        /// What was refused, e.g. "clearance request refused for 1 of 2 VINs".
        what: String,
        /// One problem per refused VIN.
        problems: Vec<ApiProblem>,
    },

    /// The API could not be reached, or did not answer in time.
    #[error("{target}: {} ({detail})", .failure.describe())]
    Network {
        /// The class of failure.
        failure: NetFailure,
        /// The request, e.g. "POST https://.../v1/access_tokens".
        target: String,
        /// The underlying error, without secrets.
        detail: String,
    },

    /// The API answered with success but the reply is not what the spec describes.
    #[error("{what}: the reply could not be decoded ({detail})")]
    MalformedReply {
        /// What was attempted.
        what: String,
        /// The decoder's message.
        detail: String,
        /// The request id, if any.
        request_id: Option<String>,
    },

    /// The server sent a reply larger than any the API sends: refused, not buffered.
    #[error("{target}: the reply is larger than {} MiB, which hm refuses to read", .limit >> 20)]
    TooLarge {
        /// The request, e.g. "GET https://.../v1/vehicle-data/...".
        target: String,
        /// The limit in bytes.
        limit: usize,
    },

    /// `--wait` reached `--timeout`.
    #[error(
        "gave up waiting after {}: {} clearance(s) still pending ({}){}",
        crate::output::duration_text(*.after), .pending.len(), .pending.join(", "),
        .last_failure.as_deref().map(|f| format!("; the last poll failed: {f}")).unwrap_or_default()
    )]
    WaitTimeout {
        /// How long was waited.
        after: Duration,
        /// The VINs still undecided.
        pending: Vec<String>,
        /// Why the last poll failed, if it did (the API was down or unreachable at the end).
        last_failure: Option<String>,
    },

    /// Clearances waited for ended rejected.
    #[error("{} clearance(s) ended rejected: {}", .vins.len(), .vins.join(", "))]
    Rejected {
        /// The rejected VINs.
        vins: Vec<String>,
    },

    /// Some items of a bulk run failed; the others succeeded.
    #[error(
        "{}",
        if .failed >= .total {
            format!("all {total} vehicle(s) failed")
        } else {
            format!("{failed} of {total} vehicle(s) failed; the others succeeded")
        }
    )]
    Partial {
        /// How many failed.
        failed: usize,
        /// How many were attempted.
        total: usize,
        /// The exit code of the first failure.
        code: u8,
    },

    /// `hm stream` could not start or had to stop: the MQTT broker, its certificates or its
    /// configuration (hm-stream's message names the failure).
    #[error("{message}")]
    Stream {
        /// Machine-readable kind, e.g. `connection_refused`, `bad_local_input`.
        kind: &'static str,
        /// The exit code, after the CLI's table.
        code: u8,
        /// What failed.
        message: String,
        /// What to do about it, when the message does not say it already.
        hint: Option<String>,
    },

    /// The reader of stdout went away (`| head`): nothing more to say.
    #[error("stdout was closed")]
    BrokenPipe,

    /// Anything else (I/O, the embedded emulator).
    #[error("{0}")]
    Other(String),
}

/// Whether a final HTTP status (after retries) means the service is down or overloaded.
fn is_outage(status: u16) -> bool {
    status == 429 || (500..=599).contains(&status)
}

fn join(problems: &[ApiProblem]) -> String {
    if problems.is_empty() {
        return "no error details in the reply".to_owned();
    }
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl CliError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => EXIT_USAGE,
            CliError::Auth { .. } => EXIT_AUTH,
            CliError::Api { status: 401, .. } => EXIT_AUTH,
            // The API's retries are spent: it is down or overloaded, as an unreachable token
            // endpoint is; a script should try again later, not treat the request as refused.
            CliError::Api { status, .. } if is_outage(*status) => EXIT_UNREACHABLE,
            CliError::Api { .. }
            | CliError::Refused { .. }
            | CliError::MalformedReply { .. }
            | CliError::TooLarge { .. } => EXIT_API,
            CliError::Network { .. } => EXIT_UNREACHABLE,
            CliError::WaitTimeout { .. } => EXIT_WAIT_TIMEOUT,
            CliError::Rejected { .. } => EXIT_REJECTED,
            CliError::Partial { code, .. } | CliError::Stream { code, .. } => *code,
            CliError::BrokenPipe => EXIT_BROKEN_PIPE,
            CliError::Other(_) => EXIT_FAILURE,
        }
    }

    /// A short machine-readable name of the failure.
    pub fn kind(&self) -> &'static str {
        match self {
            CliError::Usage(_) => "usage",
            CliError::Auth { kind, .. } => kind,
            CliError::Api { status, .. } if is_outage(*status) => NetFailure::Outage.kind(),
            CliError::Api { .. } => "api",
            CliError::Refused { .. } => "refused",
            CliError::Network { failure, .. } => failure.kind(),
            CliError::MalformedReply { .. } => "malformed_reply",
            CliError::TooLarge { .. } => "reply_too_large",
            CliError::WaitTimeout { .. } => "wait_timeout",
            CliError::Rejected { .. } => "rejected",
            CliError::Partial { .. } => "partial_failure",
            CliError::Stream { kind, .. } => kind,
            CliError::BrokenPipe => "broken_pipe",
            CliError::Other(_) => "internal",
        }
    }

    /// What to do about it, if there is something to say beyond the message.
    pub fn hint(&self) -> Option<String> {
        match self {
            CliError::Api {
                op,
                status,
                problems,
                retry_after,
                ..
            } => api_hint(*op, *status, problems, *retry_after),
            CliError::Refused { .. } => Some(
                "check each VIN and its brand (`hm eligibility VIN --brand BRAND`), then request again"
                    .into(),
            ),
            CliError::Network { failure, .. } => Some(failure.hint().into()),
            CliError::MalformedReply { .. } | CliError::TooLarge { .. } => {
                Some("check that --env points at the High Mobility API".into())
            }
            CliError::WaitTimeout { .. } => Some(
                "activation can take days in production: resume with `hm clearance wait VIN...` \
                 or check with `hm clearance list`"
                    .into(),
            ),
            CliError::Rejected { .. } => Some(
                "`hm clearance get VIN` shows the reason; check eligibility with `hm eligibility`"
                    .into(),
            ),
            CliError::Partial { .. } => Some("the failures are listed above".into()),
            CliError::Stream { hint, .. } => hint.clone(),
            _ => None,
        }
    }

    /// The HTTP status the API answered with, if this is an API error.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            CliError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The API's request id, if it gave one.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            CliError::Api { request_id, .. } | CliError::MalformedReply { request_id, .. } => {
                request_id.as_deref()
            }
            _ => None,
        }
    }

    /// The error as one JSON object: `{"error": {kind, message, hint, http_status, request_id}}`.
    pub fn to_json(&self) -> serde_json::Value {
        json!({ "error": {
            "kind": self.kind(),
            "message": self.to_string(),
            "hint": self.hint(),
            "http_status": self.http_status(),
            "request_id": self.request_id(),
            "exit_code": self.exit_code(),
        }})
    }

    /// The error for people: one message, then what to do.
    pub fn to_text(&self) -> String {
        let mut text = format!("error: {self}");
        if let Some(hint) = self.hint() {
            text.push_str(&format!("\n  what to do: {hint}"));
        }
        if let Some(id) = self.request_id() {
            text.push_str(&format!("\n  request id: {id}"));
        }
        text
    }
}

/// What to do after an HTTP error status, fitted to the command and to the API's own detail.
fn api_hint(
    op: Op,
    status: u16,
    problems: &[ApiProblem],
    retry_after: Option<Duration>,
) -> Option<String> {
    let has_detail = problems
        .iter()
        .any(|p| p.detail.as_deref().is_some_and(|d| !d.is_empty()));
    let hint = match (status, op) {
        (400, _) => "check the VIN, the brand and the other arguments",
        (401, _) => {
            "the access token was refused: check the credentials and --env, or whether the \
             vehicle owner removed consent"
        }
        (403, Op::VehicleData | Op::StaticData) => {
            "no active clearance for this VIN, or the application lacks the scope: check with \
             `hm clearance get VIN`, request one with `hm clearance request VIN --brand BRAND`"
        }
        (403, _) => "the application lacks the scope for this API: check it in the console",
        (404, Op::ClearanceGet | Op::ClearanceRevoke) => {
            "the VIN has no clearance: request one with `hm clearance request VIN --brand BRAND`"
        }
        (404, Op::StaticData) => {
            "no static data for this VIN: High Mobility serves static data in production only \
             (--env production), for VINs of supported brands"
        }
        (404, Op::VehicleData) => "no data for this VIN: check it with `hm clearance get VIN`",
        (404, _) => "check --env: it must point at the High Mobility API",
        (408, _) => "the vehicle is asleep or offline: ask again when it is back online",
        (409, _) => {
            "the clearance is already removed or in transition: check it with `hm clearance get VIN`"
        }
        (422, Op::VehicleData) => {
            "the clearance is not active yet: `hm clearance wait VIN` waits for the decision"
        }
        // The API's detail says what is wrong and when it may work (e.g. "after 1 day"): no
        // generic advice that could contradict it.
        (422, Op::ClearanceRevoke) if has_detail => {
            "see the API's detail; `hm clearance get VIN` shows the clearance's state"
        }
        (422, Op::ClearanceRevoke) => {
            "this brand does not allow removing the clearance in its current state"
        }
        (422, _) if has_detail => return None,
        (422, _) => "the API cannot process the request in the vehicle's current state",
        (429, Op::ClearanceGet) => {
            "GET one clearance is limited to 60 calls a minute; `hm clearance list --vin VIN` \
             has no such limit"
        }
        (429, _) => {
            return Some(match retry_after {
                Some(after) if !after.is_zero() => format!(
                    "rate limited: wait {} and try again",
                    crate::output::duration_text(after)
                ),
                Some(_) => "rate limited: try again in a moment".into(),
                None => "rate limited: wait a minute and try again".into(),
            });
        }
        (500..=599, _) => "the service is unavailable: try again later",
        _ => return None,
    };
    Some(hint.to_owned())
}

/// Classifies a reqwest error: DNS, refused, connect or read timeout, redirect, other.
pub fn classify(error: &reqwest::Error) -> NetFailure {
    if error.is_redirect() {
        return NetFailure::Redirect;
    }
    if error.is_timeout() {
        return if error.is_connect() {
            NetFailure::ConnectTimeout
        } else {
            NetFailure::ReadTimeout
        };
    }
    if error.is_dns() {
        return NetFailure::Dns;
    }
    if error.is_connect() {
        let mut source = std::error::Error::source(error);
        while let Some(s) = source {
            if let Some(io) = s.downcast_ref::<std::io::Error>() {
                match io.kind() {
                    std::io::ErrorKind::ConnectionRefused => return NetFailure::Refused,
                    std::io::ErrorKind::TimedOut => return NetFailure::ConnectTimeout,
                    _ => {}
                }
            }
            source = s.source();
        }
        return NetFailure::Connect;
    }
    NetFailure::Transport
}

/// The error and its causes as one line, without the URL (the caller names the request).
pub fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![error.to_string()];
    let mut source = error.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

/// A transport failure of `target` as a [`CliError`].
pub fn network(target: String, error: reqwest::Error) -> CliError {
    let failure = classify(&error);
    CliError::Network {
        failure,
        target,
        detail: chain(&error.without_url()),
    }
}

impl From<hm_auth::Error> for CliError {
    /// hm-auth's own classification ([`hm_auth::Error::kind`]) decides the exit code; its message
    /// already names the failure and the remedy.
    fn from(error: hm_auth::Error) -> Self {
        use hm_auth::{Error as E, ErrorKind as K};
        let network = |failure| CliError::Network {
            failure,
            target: match &error {
                E::TokenTransport { url, .. } => format!("POST {url}"),
                _ => "the token endpoint".to_owned(),
            },
            detail: error.to_string(),
        };
        let auth = |kind| CliError::Auth {
            kind,
            message: error.to_string(),
        };
        match error.kind() {
            K::InvalidInput => match &error {
                E::Environment { .. }
                | E::EmptyField { .. }
                | E::SurroundingWhitespace { .. }
                | E::InvalidBaseUrl { .. } => CliError::Usage(error.to_string()),
                _ => auth("bad_local_input"),
            },
            K::Dns => network(NetFailure::Dns),
            K::ConnectionRefused => network(NetFailure::Refused),
            K::ConnectTimeout => network(NetFailure::ConnectTimeout),
            K::ReadTimeout => network(NetFailure::ReadTimeout),
            K::Deadline => network(NetFailure::Deadline),
            K::RedirectRefused => network(NetFailure::Redirect),
            K::Unavailable => network(NetFailure::Outage),
            K::Network => network(NetFailure::Transport),
            K::CredentialsRejected => auth("credentials_refused"),
            K::MalformedReply => auth("malformed_reply"),
            _ => auth("auth"),
        }
    }
}

/// Problems from an error body: `{errors: [{title, detail, source}]}`, `{error, error_description}`
/// or plain text.
pub fn problems_from_body(body: &[u8]) -> Vec<ApiProblem> {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        let text = String::from_utf8_lossy(body);
        let text = text.trim();
        return if text.is_empty() {
            Vec::new()
        } else {
            vec![ApiProblem {
                title: text.chars().take(300).collect(),
                detail: None,
            }]
        };
    };
    let field =
        |v: &serde_json::Value, k: &str| v.get(k).and_then(|s| s.as_str()).map(str::to_owned);
    if let Some(errors) = value.get("errors").and_then(|e| e.as_array()) {
        return errors
            .iter()
            .map(|e| {
                problem(
                    field(e, "title"),
                    field(e, "detail").or_else(|| field(e, "description")),
                    field(e, "source"),
                )
            })
            .collect();
    }
    if let Some(error) = field(&value, "error") {
        return vec![problem(
            Some(error),
            field(&value, "error_description"),
            None,
        )];
    }
    Vec::new()
}

fn problem(title: Option<String>, detail: Option<String>, source: Option<String>) -> ApiProblem {
    let detail = match (detail, source) {
        (Some(d), Some(s)) => Some(format!("{d} (field `{s}`)")),
        (Some(d), None) => Some(d),
        (None, Some(s)) => Some(format!("field `{s}`")),
        (None, None) => None,
    };
    ApiProblem {
        title: title.unwrap_or_else(|| "error".to_owned()),
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(op: Op, status: u16, detail: Option<&str>) -> CliError {
        CliError::Api {
            op,
            what: "x".into(),
            status,
            problems: vec![ApiProblem {
                title: "t".into(),
                detail: detail.map(str::to_owned),
            }],
            request_id: None,
            retry_after: None,
        }
    }

    #[test]
    fn hints_fit_the_command_and_the_apis_detail() {
        let static_404 = api(Op::StaticData, 404, None).hint().expect("hint");
        assert!(!static_404.contains("clearance request"), "{static_404}");
        assert!(static_404.contains("production"));
        let revoke_422 = api(Op::ClearanceRevoke, 422, Some("possible after 1 day"))
            .hint()
            .expect("hint");
        assert!(!revoke_422.contains("try again later"), "{revoke_422}");
        assert_eq!(api(Op::Eligibility, 422, Some("after 1 day")).hint(), None);
        let text = api(Op::ClearanceGet, 404, None).to_text();
        assert!(!text.contains("HTTP 200"));
        assert!(text.contains("HTTP 404"));
    }

    #[test]
    fn json_errors_have_the_documented_fields() {
        let doc = api(Op::VehicleData, 403, Some("no consent")).to_json();
        let error = &doc["error"];
        assert_eq!(error["kind"], "api");
        assert_eq!(error["http_status"], 403);
        assert!(
            error["message"]
                .as_str()
                .is_some_and(|m| m.contains("no consent"))
        );
        assert!(error["hint"].is_string());
        assert!(error.get("request_id").is_some());
    }

    /// A resolver that knows no host, so that the DNS path is taken without asking any server.
    struct NoHosts;

    impl reqwest::dns::Resolve for NoHosts {
        fn resolve(&self, _: reqwest::dns::Name) -> reqwest::dns::Resolving {
            Box::pin(async {
                Err(Box::new(std::io::Error::other(
                    "failed to lookup address information: Name or service not known",
                ))
                    as Box<dyn std::error::Error + Send + Sync>)
            })
        }
    }

    #[tokio::test]
    async fn transport_failures_are_classified() {
        let client = reqwest::Client::builder()
            .dns_resolver(std::sync::Arc::new(NoHosts))
            .build()
            .expect("client");
        let error = client
            .get("http://fleet.example.invalid/")
            .send()
            .await
            .expect_err("no such host");
        assert_eq!(classify(&error), NetFailure::Dns);
        let error = network("GET x".into(), error);
        assert_eq!(error.kind(), "dns");
        assert_eq!(error.exit_code(), EXIT_UNREACHABLE);

        // Nothing listens on a port that was just freed.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("port")
            .port();
        let error = reqwest::get(format!("http://127.0.0.1:{port}/"))
            .await
            .expect_err("refused");
        assert_eq!(classify(&error), NetFailure::Refused);
    }

    #[test]
    fn error_bodies_of_every_api_shape_are_read() {
        let fleet = br#"{"errors":[{"title":"Not found","detail":"No clearance","source":"vin"}]}"#;
        assert_eq!(
            problems_from_body(fleet)[0].to_string(),
            "Not found: No clearance (field `vin`)"
        );
        let oauth = br#"{"error":"invalid_request","error_description":"bad"}"#;
        assert_eq!(
            problems_from_body(oauth)[0].to_string(),
            "invalid_request: bad"
        );
        assert_eq!(problems_from_body(b"Bad Gateway")[0].title, "Bad Gateway");
        assert!(problems_from_body(b"").is_empty());
    }
}
