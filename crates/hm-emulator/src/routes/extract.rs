//! Axum extractors shared by the handlers: the bearer-token check, the path VIN and the JSON body.
//! Each refuses with a response in the API's own error shape, never axum's plain-text rejection.

use std::marker::PhantomData;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use futures::StreamExt;
use serde_json::Value;

use super::errors::{self, Api};
use crate::config::Limits;
use crate::state::AppState;
use crate::state::tokens::TokenProblem;

/// An API protected by a scope of the access token.
pub trait Protected: Send + Sync + 'static {
    /// The scope a token needs.
    const SCOPE: &'static str;
    /// The error shape of the API.
    const API: Api;
}

/// `POST /v1/eligibility`.
pub struct Eligibility;
/// The fleet clearance endpoints.
pub struct FleetClearance;
/// `GET /v1/vehicle-data/autoapi-13/{vin}`.
pub struct VehicleData;
/// The vehicle static data endpoints.
pub struct StaticData;

impl Protected for Eligibility {
    const SCOPE: &'static str = "vehicle:eligibility-check";
    const API: Api = Api::Fleet;
}
impl Protected for FleetClearance {
    const SCOPE: &'static str = "fleet:clearance";
    const API: Api = Api::Fleet;
}
impl Protected for VehicleData {
    const SCOPE: &'static str = "vehicle:data";
    const API: Api = Api::Data;
}
impl Protected for StaticData {
    const SCOPE: &'static str = "vehicle:static-data";
    const API: Api = Api::Data;
}

/// Why a bearer token was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthFailure {
    /// 401: no, malformed, unknown, expired or revoked token.
    Unauthorized(&'static str),
    /// 403: the token lacks the scope.
    Forbidden(String),
}

/// A request with a live access token that carries the scope of `S`; holds the token's client id.
pub struct Authorized<S> {
    /// The application the token was issued to.
    pub client_id: Arc<str>,
    scope: PhantomData<S>,
}

impl<S: Protected> FromRequestParts<Arc<AppState>> for Authorized<S> {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Response> {
        authorize(state, &parts.headers, S::SCOPE)
            .map(|client_id| Authorized {
                client_id,
                scope: PhantomData,
            })
            .map_err(|failure| errors::auth(S::API, failure))
    }
}

/// Checks `Authorization: Bearer <token>` (RFC 6750: one header, `b64token` syntax) and the scope.
fn authorize(state: &AppState, headers: &HeaderMap, scope: &str) -> Result<Arc<str>, AuthFailure> {
    let malformed = AuthFailure::Unauthorized("Missing or invalid authorization header");
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return Err(malformed);
    };
    let value = value.to_str().map_err(|_| malformed.clone())?;
    let (scheme, token) = value.split_once(' ').ok_or(malformed.clone())?;
    let token = token.trim_start_matches(' ');
    if !scheme.eq_ignore_ascii_case("bearer") || !is_b64token(token) {
        return Err(malformed);
    }
    let token = state
        .tokens
        .check(token, state.clock.now())
        .map_err(|problem| match problem {
            TokenProblem::Unknown => AuthFailure::Unauthorized("Invalid token"),
            TokenProblem::Expired => AuthFailure::Unauthorized("Token has expired"),
        })?;
    if !token.scopes.iter().any(|s| s == scope) {
        return Err(AuthFailure::Forbidden(format!(
            "The access token does not have the scope {scope}"
        )));
    }
    Ok(token.client_id)
}

/// RFC 6750 `b64token`: `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
}

/// The `{vin}` path parameter, checked to be 17 characters of `A-Z` and `0-9`.
pub struct PathVin<S>(pub String, pub(crate) PhantomData<S>);

impl<S: Protected> FromRequestParts<Arc<AppState>> for PathVin<S> {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Response> {
        // Percent-decoding happens here; a segment that is not UTF-8 afterwards is refused too.
        let vin = Path::<String>::from_request_parts(parts, state)
            .await
            .ok()
            .map(|Path(vin)| vin)
            .filter(|vin| crate::vin::is_valid(vin));
        match vin {
            Some(vin) => Ok(PathVin(vin, PhantomData)),
            None => Err(errors::with_source(
                S::API,
                StatusCode::BAD_REQUEST,
                "Invalid VIN",
                format!("the VIN in the path must be {}", crate::vin::RULE),
                Some("vin"),
            )),
        }
    }
}

/// A request body that is one JSON document (duplicate keys and `null` refused), sent as
/// `application/json` and no larger than `limits.max_body_bytes`.
pub struct JsonBody<S>(pub Value, pub(crate) PhantomData<S>);

impl<S: Protected> FromRequest<Arc<AppState>> for JsonBody<S> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &Arc<AppState>) -> Result<Self, Response> {
        let refuse = |status: StatusCode, title: &str, detail: String| {
            errors::with_source(S::API, status, title, detail, Some("body"))
        };
        match content_type(request.headers()) {
            Ok(ContentType::Json) => {}
            Ok(ContentType::Form) | Err(_) => {
                return Err(refuse(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "Unsupported media type",
                    "send the body as Content-Type: application/json".into(),
                ));
            }
        }
        let limits = &state.config.limits;
        let (parts, body) = request.into_parts();
        let bytes = read_body(&parts.headers, body, limits)
            .await
            .map_err(|e| e.response(S::API, limits))?;
        let value = crate::strict_json::parse(&bytes).map_err(|e| {
            refuse(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Invalid input",
                format!("the request body is not valid JSON: {e}"),
            )
        })?;
        if let Some(path) = crate::strict_json::first_null(&value) {
            let at = if path.is_empty() { "the body" } else { &path };
            return Err(refuse(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Invalid input",
                format!(
                    "{at} is null; the API's request schema allows no null: leave the field out"
                ),
            ));
        }
        Ok(JsonBody(value, PhantomData))
    }
}

/// The two body encodings a token request may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentType {
    /// `application/json`.
    Json,
    /// `application/x-www-form-urlencoded`.
    Form,
}

/// The request's media type if it is JSON or a form; `Err` says what is wrong with it.
///
/// Parameters are allowed (each at most once), but a `charset` other than UTF-8 is not: both
/// encodings are defined on UTF-8 here, and guessing another would read a different request
/// than the client sent.
pub fn content_type(headers: &HeaderMap) -> Result<ContentType, String> {
    let mut values = headers.get_all(header::CONTENT_TYPE).iter();
    let value = match (values.next(), values.next()) {
        (None, _) => return Err("the request has no Content-Type".into()),
        (Some(_), Some(_)) => return Err("the request has more than one Content-Type".into()),
        (Some(value), None) => value,
    };
    let text = value
        .to_str()
        .map_err(|_| "the Content-Type is not ASCII".to_string())?;
    let mime: mime::Mime = text
        .parse()
        .map_err(|_| format!("the Content-Type {text:?} is not a media type"))?;
    let kind = match mime.essence_str() {
        "application/json" => ContentType::Json,
        "application/x-www-form-urlencoded" => ContentType::Form,
        other => {
            return Err(format!(
                "Content-Type {other} is not accepted; use application/json or application/x-www-form-urlencoded"
            ));
        }
    };
    // RFC 6838 §4.3: a parameter is given at most once; with two charsets, which one would count?
    let names: Vec<String> = mime
        .params()
        .map(|(name, _)| name.as_str().to_ascii_lowercase())
        .collect();
    if let Some(twice) = names
        .iter()
        .enumerate()
        .find_map(|(i, name)| names[..i].contains(name).then_some(name))
    {
        return Err(format!(
            "the Content-Type gives the parameter {twice} more than once; give it once"
        ));
    }
    if let Some(charset) = mime.get_param(mime::CHARSET)
        && !charset.as_str().eq_ignore_ascii_case("utf-8")
    {
        return Err(format!("charset {charset} is not accepted; use utf-8"));
    }
    Ok(kind)
}

/// Why a body could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyError {
    /// Larger than the limit.
    TooLarge,
    /// The client stopped sending mid-body.
    Broken,
    /// No body byte arrived for `limits.request_body_timeout_secs`.
    Stalled,
}

impl BodyError {
    /// The answer in `api`'s shape.
    pub fn response(self, api: Api, limits: &Limits) -> Response {
        match self {
            BodyError::TooLarge => errors::too_large(api, limits.max_body_bytes),
            BodyError::Stalled => errors::for_api(
                api,
                StatusCode::REQUEST_TIMEOUT,
                "Request timeout",
                format!(
                    "no byte of the request body arrived for {} s (limits.request_body_timeout_secs); \
                     send the whole body without pausing",
                    limits.request_body_timeout_secs
                ),
            ),
            BodyError::Broken => errors::for_api(
                api,
                StatusCode::BAD_REQUEST,
                "Bad request",
                "the request body could not be read to its end",
            ),
        }
    }
}

/// How much of an oversize body is read and thrown away so that the client, still sending,
/// receives the 413 instead of a reset connection. Beyond this the connection is simply closed.
const DRAIN_LIMIT: u64 = 64 * 1024 * 1024;

/// Reads at most `limits.max_body_bytes` of `body`; memory use is bounded by that whatever is
/// sent, and a body that stops arriving for `limits.request_body_timeout_secs` is given up.
///
/// A body whose declared `Content-Length` is over the limit is refused before the first byte is
/// read when the client waits for `Expect: 100-continue` (hyper sends the `100 Continue` only once
/// the body is read, so the client never uploads), or when it is beyond what is worth draining.
pub async fn read_body(
    headers: &HeaderMap,
    body: Body,
    limits: &Limits,
) -> Result<Bytes, BodyError> {
    let limit = limits.max_body_bytes;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let waits_for_continue = headers
        .get(header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    if declared.is_some_and(|n| n > limit && (waits_for_continue || n > DRAIN_LIMIT)) {
        return Err(BodyError::TooLarge);
    }
    let mut stream = body.into_data_stream();
    let mut kept = Vec::new();
    let mut seen: u64 = 0;
    loop {
        let next = tokio::time::timeout(limits.request_body_timeout(), stream.next());
        let Some(chunk) = next.await.map_err(|_| BodyError::Stalled)? else {
            break;
        };
        let chunk = chunk.map_err(|_| BodyError::Broken)?;
        seen = seen.saturating_add(chunk.len() as u64);
        if seen <= limit {
            kept.extend_from_slice(&chunk);
        } else if seen > DRAIN_LIMIT {
            return Err(BodyError::TooLarge);
        } else {
            kept = Vec::new(); // drain the rest without keeping it
        }
    }
    if seen > limit {
        return Err(BodyError::TooLarge);
    }
    Ok(Bytes::from(kept))
}
