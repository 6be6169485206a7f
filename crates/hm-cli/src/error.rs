//! The crate's one error type and the exit code of each kind of failure.

use std::fmt;

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
/// Exit code when the API cannot be reached (network, DNS, TLS, timeout).
pub const EXIT_UNREACHABLE: u8 = 5;
/// Exit code when `--wait` gave up before every clearance was decided.
pub const EXIT_WAIT_TIMEOUT: u8 = 6;

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

/// Everything `hm` can fail with. Messages say what failed and what to do; none carries a secret.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The command line or the environment does not describe a usable configuration.
    #[error("{0}")]
    Usage(String),

    /// Credentials could not be loaded or were refused by the token endpoint.
    #[error("authentication failed: {0}")]
    Auth(String),

    /// The API answered with an error.
    #[error("{operation} failed (HTTP {status}): {problems}{hint}",
        problems = join(.problems),
        hint = .hint.as_deref().map(|h| format!("\n  what to do: {h}")).unwrap_or_default())]
    Api {
        /// What was attempted, e.g. "GET clearance of 1HM...".
        operation: String,
        /// The HTTP status.
        status: u16,
        /// The errors in the reply body.
        problems: Vec<ApiProblem>,
        /// What to do about it.
        hint: Option<String>,
    },

    /// The API could not be reached.
    #[error("cannot reach the API for {operation}: {detail}; check the network and --env")]
    Unreachable {
        /// What was attempted.
        operation: String,
        /// The transport error.
        detail: String,
    },

    /// `--wait` gave up.
    #[error(
        "gave up waiting after {secs} s: {pending} clearance(s) still pending; activation can take days \
         in production, so check again later with `hm clearance list`"
    )]
    WaitTimeout {
        /// How long was waited.
        secs: u64,
        /// How many VINs were undecided.
        pending: usize,
    },

    /// Anything else (I/O, the embedded emulator).
    #[error("{0}")]
    Other(String),
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
            CliError::Auth(_) => EXIT_AUTH,
            CliError::Api { status: 401, .. } => EXIT_AUTH,
            CliError::Api { .. } => EXIT_API,
            CliError::Unreachable { .. } => EXIT_UNREACHABLE,
            CliError::WaitTimeout { .. } => EXIT_WAIT_TIMEOUT,
            CliError::Other(_) => EXIT_FAILURE,
        }
    }
}

impl From<hm_auth::Error> for CliError {
    fn from(error: hm_auth::Error) -> Self {
        use hm_auth::Error as E;
        match &error {
            E::Environment { .. } | E::EmptyField { .. } | E::InvalidBaseUrl { .. } => {
                CliError::Usage(error.to_string())
            }
            E::TokenTransport { url, .. } => CliError::Unreachable {
                operation: format!("the token endpoint {url}"),
                detail: error.to_string(),
            },
            _ => CliError::Auth(error.to_string()),
        }
    }
}

/// What to do after an HTTP status, in the user's words.
pub fn hint_for_status(status: u16) -> Option<&'static str> {
    Some(match status {
        400 => "check the VIN, brand and other arguments",
        401 => {
            "the token was refused: check the credentials and --env, or that consent was not removed"
        }
        403 => {
            "no active clearance for this VIN (request one with `hm clearance request`), or the application lacks the scope"
        }
        404 => {
            "the VIN has no clearance: request one with `hm clearance request VIN --brand BRAND`"
        }
        408 => "the vehicle is asleep: try again later",
        409 => {
            "the clearance is already removed or in transition: check it with `hm clearance get VIN`"
        }
        422 => {
            "the request cannot be processed now (e.g. the clearance is still pending): try again later"
        }
        429 => "rate limited: wait a minute and try again",
        500..=599 => "the service is unavailable: try again later",
        _ => return None,
    })
}

/// An API's typed error body, reduced to titles and details.
pub trait ProblemBody {
    /// The errors the body lists.
    fn problems(self) -> Vec<ApiProblem>;
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

impl ProblemBody for hm_api::fleet_clearance::types::FleetErrors {
    fn problems(self) -> Vec<ApiProblem> {
        self.errors
            .into_iter()
            .map(|e| problem(Some(e.title), e.detail, e.source))
            .collect()
    }
}

impl ProblemBody for hm_api::eligibility::types::EligibilityErrors {
    fn problems(self) -> Vec<ApiProblem> {
        self.errors
            .into_iter()
            .map(|e| problem(Some(e.title), e.detail, e.source))
            .collect()
    }
}

impl ProblemBody for hm_api::vehicle_data::types::VehicleDataErrors {
    fn problems(self) -> Vec<ApiProblem> {
        self.errors
            .into_iter()
            .map(|e| problem(e.title, e.detail, None))
            .collect()
    }
}

impl ProblemBody for hm_api::vehicle_static_data::types::VehicleStaticDataResponseError {
    fn problems(self) -> Vec<ApiProblem> {
        self.errors
            .into_iter()
            .map(|e| problem(e.title, e.detail.or(e.description), e.source))
            .collect()
    }
}

/// Problems from a body that is not the documented error type: `{errors: [{title, detail}]}`,
/// `{error, error_description}` or plain text.
fn problems_from_text(text: &str) -> Vec<ApiProblem> {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(text) else {
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
            .map(|e| problem(field(e, "title"), field(e, "detail"), field(e, "source")))
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

/// Turns a failed API call into a [`CliError`], reading the error body for title and detail.
pub async fn api_error<E: ProblemBody>(operation: String, error: hm_api::ApiError<E>) -> CliError {
    use hm_api::ApiError as E;
    match error {
        E::ErrorResponse(rv) => {
            let status = rv.status().as_u16();
            CliError::Api {
                operation,
                status,
                problems: rv.into_inner().problems(),
                hint: hint_for_status(status).map(str::to_owned),
            }
        }
        E::UnexpectedResponse(response) => {
            let status = response.status().as_u16();
            let text = response.text().await.unwrap_or_default();
            CliError::Api {
                operation,
                status,
                problems: problems_from_text(&text),
                hint: hint_for_status(status).map(str::to_owned),
            }
        }
        E::CommunicationError(e) | E::ResponseBodyError(e) | E::InvalidUpgrade(e) => {
            CliError::Unreachable {
                operation,
                detail: without_url_query(&e),
            }
        }
        E::InvalidResponsePayload(_, e) => CliError::Other(format!(
            "{operation}: the reply could not be decoded ({e}); check that --env points at the High Mobility API"
        )),
        // The auth hook reports token failures as text; hm-auth's message names the cause and remedy.
        E::Custom(message) => CliError::Auth(message),
        E::InvalidRequest(message) => CliError::Usage(format!("{operation}: {message}")),
    }
}

fn without_url_query(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    if let Some(url) = error.url() {
        let mut clean = url.clone();
        clean.set_query(None);
        text = text.replace(url.as_str(), clean.as_str());
    }
    let mut source = std::error::Error::source(error);
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}
