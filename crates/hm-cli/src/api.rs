//! The HTTP calls `hm` makes, each bounded by `--timeout`, logged at `-v`, and answered with the
//! API's document as received (so `--json` can print it unchanged).
//!
//! Requests go through hm-auth's middlewares (retries, then token and 401 renewal). Bodies are built from,
//! and replies decoded into, the types hm-api generates from the spec; only the paths are written
//! here, because the generated client decodes every reply and cannot hand back the raw document.

use std::time::Duration;

use hm_api::ClearanceFilter;
use hm_api::fleet_clearance::types::{Brand, FleetVehicle, FleetVehicleRequest};
use hm_auth::{AccessToken, Authenticator, Credentials, Environment, RetryPolicy};
use reqwest::Method;
use reqwest::header::{ACCEPT, CONTENT_TYPE, RETRY_AFTER};
use reqwest_middleware::ClientWithMiddleware;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::time::Instant;

use crate::error::{ApiProblem, CliError, NetFailure, Op, network, problems_from_body};
use crate::scrub::Secrets;

/// Upper bound of the connect phase, so that an unreachable host is named as such well before a
/// long `--timeout` runs out.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// hm-auth's default bound of obtaining one token, all attempts included.
const TOKEN_DEADLINE: Duration = Duration::from_secs(30);

/// The largest reply accepted: a vehicle data document is tens of KiB; a hostile or broken server
/// must not be able to fill memory.
pub const MAX_REPLY: usize = 8 << 20;
/// The largest clearance list accepted (a fleet of 100 000 vehicles lists in about 40 MiB).
pub const MAX_LIST_REPLY: usize = 128 << 20;

/// The API's reply: status, request id and the body exactly as received.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The HTTP status.
    pub status: u16,
    /// The request id from a `request-id`-style header or the body's `request_id`.
    pub request_id: Option<String>,
    /// `Retry-After` in seconds, if sent.
    pub retry_after: Option<Duration>,
    /// The body as received.
    pub body: bytes::Bytes,
    /// The session's secrets, redacted from error text quoting the body.
    pub secrets: Secrets,
}

impl Reply {
    /// Decodes the body into a generated type (for the human view; `--json` prints `body`).
    pub fn decode<T: DeserializeOwned>(&self, what: &str) -> Result<T, CliError> {
        serde_json::from_slice(&self.body).map_err(|e| CliError::MalformedReply {
            what: what.to_owned(),
            detail: self.secrets.scrub(&e.to_string()),
            request_id: self.request_id.as_deref().map(|id| self.secrets.scrub(id)),
        })
    }

    /// The body as a JSON value (every field kept, for composite `--json` documents).
    pub fn json(&self, what: &str) -> Result<serde_json::Value, CliError> {
        self.decode(what)
    }

    fn error(self, op: Op, what: &str) -> CliError {
        CliError::Api {
            op,
            what: what.to_owned(),
            status: self.status,
            problems: problems_from_body(&self.body)
                .into_iter()
                .map(|p| ApiProblem {
                    title: self.secrets.scrub(&p.title),
                    detail: p.detail.map(|d| self.secrets.scrub(&d)),
                })
                .collect(),
            request_id: self.request_id.map(|id| self.secrets.scrub(&id)),
            retry_after: self.retry_after,
        }
    }
}

/// An authenticated connection to one environment, with the command's deadline.
pub struct Session {
    /// The token source.
    pub auth: Authenticator,
    http: ClientWithMiddleware,
    base: String,
    /// `--timeout`: the bound of the command's network work (of each request's in bulk runs).
    pub limit: Duration,
    /// When the command's network work must be done; `None` bounds each request by `limit` instead.
    deadline: Option<Instant>,
    /// Tokens and the client secret, redacted from every error quoting a reply.
    pub secrets: Secrets,
}

impl Session {
    /// A session whose network work must end within `limit` from now. `api_retry` is how hm-auth
    /// retries API requests (bulk runs retry themselves, with one pause shared by all workers).
    pub fn new(
        credentials: Credentials,
        environment: Environment,
        limit: Duration,
        api_retry: RetryPolicy,
    ) -> Result<Self, CliError> {
        let client = reqwest::Client::builder()
            .user_agent(concat!("hm/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(CONNECT_TIMEOUT.min(limit))
            // A redirect could carry the request, and its token, to another origin.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| CliError::Other(format!("cannot build the HTTP client: {e}")))?;
        // Token requests keep hm-auth's own limits (connect 5 s, attempt 10 s, all attempts 30 s),
        // the last one no longer than --timeout: hm-auth then gives up before the command's
        // deadline (see `authenticate`) and names the cause (e.g. connection refused) instead of
        // a bare deadline.
        let auth = Authenticator::builder(credentials, environment)
            .token_client_builder(
                reqwest::Client::builder().user_agent(concat!("hm/", env!("CARGO_PKG_VERSION"))),
            )
            .token_deadline(limit.min(TOKEN_DEADLINE))
            .retry_policy(api_retry)
            .build()?;
        let http = reqwest_middleware::ClientBuilder::new(client)
            .with(auth.retry_middleware())
            .with(auth.middleware())
            .build();
        let base = auth
            .environment()
            .base_url()
            .as_str()
            .trim_end_matches('/')
            .to_owned();
        Ok(Session {
            auth,
            http,
            base,
            limit,
            deadline: Some(Instant::now() + limit),
            secrets: Secrets::default(),
        })
    }

    /// Bounds each request by the limit instead of the whole command (bulk runs over a fleet).
    pub fn per_request(mut self) -> Self {
        self.deadline = None;
        self
    }

    /// When the network work started now must be done.
    pub fn until(&self) -> Instant {
        self.deadline.unwrap_or_else(|| Instant::now() + self.limit)
    }

    /// Obtains a token first, so that a credential problem is reported as one (exit code 3)
    /// rather than as the failure of the API call that needed it.
    pub async fn authenticate(&self) -> Result<AccessToken, CliError> {
        let target = format!("POST {}/v1/access_tokens", self.base);
        let started = Instant::now();
        let token = match tokio::time::timeout_at(self.until(), self.auth.access_token()).await {
            // hm-auth's own deadline may pass first (it is no longer than --timeout): name the
            // token endpoint in either case.
            Ok(result) => result.map_err(|error| match CliError::from(error) {
                CliError::Network {
                    failure, detail, ..
                } => CliError::Network {
                    failure,
                    target: target.clone(),
                    detail,
                },
                other => other,
            })?,
            Err(_) => return Err(self.deadline_error(target)),
        };
        self.secrets.add(token.expose_secret());
        tracing::info!(
            target: "hm::http",
            "{target} -> token valid {} s ({} ms)",
            token.expires_in().as_secs(),
            started.elapsed().as_millis()
        );
        Ok(token)
    }

    fn deadline_error(&self, target: String) -> CliError {
        CliError::Network {
            failure: NetFailure::Deadline,
            target,
            detail: format!(
                "--timeout {} reached",
                crate::output::duration_text(self.limit)
            ),
        }
    }

    /// Sends one request and returns the reply whatever its status; fails only when no reply
    /// came (transport failure, deadline `until`) or the reply is a redirect.
    pub async fn exchange(
        &self,
        method: Method,
        path: &str,
        query: Option<(&str, &str)>,
        body: Option<serde_json::Value>,
        until: Instant,
        max_body: usize,
    ) -> Result<Reply, CliError> {
        let mut url = reqwest::Url::parse(&format!("{}{path}", self.base))
            .map_err(|e| CliError::Usage(format!("cannot form a URL for {path}: {e}")))?;
        if let Some((key, value)) = query {
            url.query_pairs_mut().append_pair(key, value);
        }
        let mut request = self
            .http
            .request(method.clone(), url.clone())
            .header(ACCEPT, "application/json");
        if let Some(body) = body {
            request = request
                .header(CONTENT_TYPE, "application/json")
                .body(body.to_string());
        }
        let target = format!("{method} {url}");
        let started = Instant::now();
        let sent = async {
            let response = request.send().await.map_err(|e| match e {
                reqwest_middleware::Error::Reqwest(e) => network(target.clone(), e),
                reqwest_middleware::Error::Middleware(e) => match e.downcast::<hm_auth::Error>() {
                    Ok(auth) => CliError::from(auth),
                    Err(other) => CliError::Other(format!("{target}: {other}")),
                },
            })?;
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let body = read_capped(response, max_body, &target).await?;
            Ok::<_, CliError>((status, headers, body))
        };
        let (status, headers, body) = match tokio::time::timeout_at(until, sent).await {
            Ok(result) => result?,
            Err(_) => return Err(self.deadline_error(target)),
        };
        let request_id = ["request-id", "x-request-id", "x-amzn-requestid"]
            .iter()
            .find_map(|name| headers.get(*name)?.to_str().ok().map(str::to_owned))
            .or_else(|| body_request_id(&body));
        tracing::info!(
            target: "hm::http",
            "{target} -> {status} ({} ms){}",
            started.elapsed().as_millis(),
            request_id
                .as_deref()
                .map(|id| format!(" request_id={id}"))
                .unwrap_or_default()
        );
        if (300..400).contains(&status) {
            let location = headers
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("no Location header");
            return Err(CliError::Network {
                failure: NetFailure::Redirect,
                target,
                detail: format!("HTTP {status} to {location}"),
            });
        }
        let retry_after = headers
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        Ok(Reply {
            status,
            request_id,
            retry_after,
            body,
            secrets: self.secrets.clone(),
        })
    }

    /// [`exchange`](Self::exchange) within the command's deadline; an error status becomes [`CliError::Api`].
    async fn call(
        &self,
        op: Op,
        what: &str,
        method: Method,
        path: &str,
        query: Option<(&str, &str)>,
        body: Option<serde_json::Value>,
    ) -> Result<Reply, CliError> {
        let max_body = if op == Op::ClearanceList {
            MAX_LIST_REPLY
        } else {
            MAX_REPLY
        };
        let reply = self
            .exchange(method, path, query, body, self.until(), max_body)
            .await?;
        if (200..300).contains(&reply.status) {
            Ok(reply)
        } else {
            Err(reply.error(op, what))
        }
    }

    /// `POST /v1/eligibility`.
    pub async fn eligibility(&self, vin: &str, brand: &str) -> Result<Reply, CliError> {
        let body = hm_api::eligibility::types::EligibilityRequest {
            vin: vin.to_owned(),
            brand: brand
                .parse()
                .map_err(|e| CliError::Usage(format!("brand `{brand}`: {e}")))?,
        };
        self.call(
            Op::Eligibility,
            &format!("eligibility check of {vin}"),
            Method::POST,
            "/v1/eligibility",
            None,
            Some(to_body(&body)?),
        )
        .await
    }

    /// `POST /v1/fleets/vehicles` for `(vin, brand)` pairs, all with `tags`.
    pub async fn clearance_request(
        &self,
        vehicles: &[(String, String)],
        tags: &std::collections::BTreeMap<String, String>,
    ) -> Result<Reply, CliError> {
        let mut list = Vec::with_capacity(vehicles.len());
        for (vin, brand) in vehicles {
            list.push(FleetVehicle {
                brand: brand
                    .parse::<Brand>()
                    .map_err(|e| CliError::Usage(format!("brand `{brand}`: {e}")))?,
                control_measures: None,
                tags: tags.clone(),
                vin: vin.clone(),
            });
        }
        let what = match vehicles {
            [(vin, _)] => format!("clearance request for {vin}"),
            _ => format!("clearance request for {} VINs", vehicles.len()),
        };
        self.call(
            Op::ClearanceRequest,
            &what,
            Method::POST,
            "/v1/fleets/vehicles",
            None,
            Some(to_body(&FleetVehicleRequest { vehicles: list })?),
        )
        .await
    }

    /// `GET /v1/fleets/vehicles?filter=...`.
    pub async fn clearance_list(&self, filter: &ClearanceFilter) -> Result<Reply, CliError> {
        let json = filter.to_json();
        let query = (!filter.is_empty()).then_some(("filter", json.as_str()));
        self.call(
            Op::ClearanceList,
            "listing clearances",
            Method::GET,
            "/v1/fleets/vehicles",
            query,
            None,
        )
        .await
    }

    /// `GET /v1/fleets/vehicles/{vin}`.
    pub async fn clearance_get(&self, vin: &str) -> Result<Reply, CliError> {
        self.call(
            Op::ClearanceGet,
            &format!("clearance of {vin}"),
            Method::GET,
            &format!("/v1/fleets/vehicles/{vin}"),
            None,
            None,
        )
        .await
    }

    /// `DELETE /v1/fleets/vehicles/{vin}`.
    pub async fn clearance_revoke(&self, vin: &str) -> Result<Reply, CliError> {
        self.call(
            Op::ClearanceRevoke,
            &format!("revoking the clearance of {vin}"),
            Method::DELETE,
            &format!("/v1/fleets/vehicles/{vin}"),
            None,
            None,
        )
        .await
    }

    /// `GET /v1/vehicle-data/autoapi-13/{vin}` within the command's deadline.
    pub async fn vehicle_data(&self, vin: &str) -> Result<Reply, CliError> {
        let reply = self.vehicle_data_until(vin, self.until()).await?;
        if (200..300).contains(&reply.status) {
            Ok(reply)
        } else {
            Err(reply.error(Op::VehicleData, &format!("vehicle data of {vin}")))
        }
    }

    /// `GET /v1/vehicle-data/autoapi-13/{vin}` within `until`, whatever the status (bulk runs).
    pub async fn vehicle_data_until(&self, vin: &str, until: Instant) -> Result<Reply, CliError> {
        self.exchange(
            Method::GET,
            &format!("/v1/vehicle-data/autoapi-13/{vin}"),
            None,
            None,
            until,
            MAX_REPLY,
        )
        .await
    }

    /// `GET /v1/vehicle-static-data/{vin}`.
    pub async fn static_data(&self, vin: &str) -> Result<Reply, CliError> {
        self.call(
            Op::StaticData,
            &format!("static data of {vin}"),
            Method::GET,
            &format!("/v1/vehicle-static-data/{vin}"),
            None,
            None,
        )
        .await
    }
}

/// Turns a failed bulk reply into the error the single-vehicle command would give.
pub fn vehicle_data_error(vin: &str, reply: Reply) -> CliError {
    reply.error(Op::VehicleData, &format!("vehicle data of {vin}"))
}

/// Reads a reply body as it streams in, refusing it once it passes `max` bytes (announced or not).
async fn read_capped(
    mut response: reqwest::Response,
    max: usize,
    target: &str,
) -> Result<bytes::Bytes, CliError> {
    let too_large = || CliError::TooLarge {
        target: target.to_owned(),
        limit: max,
    };
    if response
        .content_length()
        .is_some_and(|len| len > max as u64)
    {
        return Err(too_large());
    }
    let mut body = bytes::BytesMut::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| network(target.to_owned(), e))?
    {
        if body.len() + chunk.len() > max {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

fn body_request_id(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct WithId {
        request_id: Option<String>,
    }
    serde_json::from_slice::<WithId>(body).ok()?.request_id
}

fn to_body<T: Serialize>(body: &T) -> Result<serde_json::Value, CliError> {
    serde_json::to_value(body)
        .map_err(|e| CliError::Other(format!("cannot encode the request body: {e}")))
}
