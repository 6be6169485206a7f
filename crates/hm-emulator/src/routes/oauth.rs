//! `POST /v1/access_tokens` (client secret and JWT assertion flows) and `DELETE /v1/access_tokens`.
//!
//! Both take their parameters as a JSON object or as a form (RFC 6749 §4.4), and both refuse
//! what a production OAuth server refuses: other encodings, repeated or unknown parameters,
//! parameters in the query string, credentials in the `Authorization` header, and more than one
//! way of authenticating the client in one request.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::Arc;

use axum::Json;
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::uri::Authority;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use hm_api::oauth::types::{
    AccessTokenResponse, AccessTokensRequest,
    AccessTokensRequestClientAssertionType as AssertionType,
    AccessTokensRequestGrantType as GrantType, AccessTokensRevoke,
};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::errors::{self, Api};
use super::extract::{ContentType, content_type, read_body};
use crate::assertion;
use crate::state::AppState;
use crate::state::clock::later;
use crate::state::tokens::{NotYours, Token};

/// Parameters of a client-credentials token request.
const TOKEN_PARAMS: [&str; 5] = [
    "grant_type",
    "client_id",
    "client_secret",
    "client_assertion_type",
    "client_assertion",
];
/// Parameters of a revocation request.
const REVOKE_PARAMS: [&str; 4] = ["token", "client_id", "client_secret", "token_type_hint"];

fn bad_request(description: impl Into<String>) -> Response {
    errors::oauth(StatusCode::BAD_REQUEST, "invalid_request", description)
}

fn invalid_client(description: impl Into<String>) -> Response {
    errors::oauth(StatusCode::BAD_REQUEST, "invalid_client", description)
}

/// The request's parameters: names unique, values strings.
pub struct Params(BTreeMap<String, String>);

impl FromRequest<Arc<AppState>> for Params {
    type Rejection = Response;

    async fn from_request(request: Request, state: &Arc<AppState>) -> Result<Self, Response> {
        let (parts, body) = request.into_parts();
        if parts.uri.query().is_some() {
            return Err(bad_request(
                "this endpoint takes no query string; send every parameter in the request body",
            ));
        }
        if parts.headers.contains_key(header::AUTHORIZATION) {
            return Err(bad_request(
                "ambiguous credentials: the Authorization header is not accepted here; \
                 send client_id with client_secret or client_assertion in the body",
            ));
        }
        let kind = content_type(&parts.headers).map_err(|why| {
            bad_request(format!(
                "{why}; send the body as application/json or application/x-www-form-urlencoded"
            ))
        })?;
        let limits = &state.config.limits;
        let bytes = read_body(&parts.headers, body, limits)
            .await
            .map_err(|e| e.response(Api::OAuth, limits))?;
        match kind {
            ContentType::Json => json_params(&bytes),
            ContentType::Form => {
                crate::form::parse(&bytes).map(|pairs| pairs.into_iter().collect())
            }
        }
        .map(Params)
        .map_err(bad_request)
    }
}

fn json_params(bytes: &[u8]) -> Result<BTreeMap<String, String>, String> {
    let value = crate::strict_json::parse(bytes)
        .map_err(|e| format!("the request body must be a JSON object: {e}"))?;
    let Value::Object(map) = value else {
        return Err("the request body must be a JSON object of string parameters".into());
    };
    map.into_iter()
        .map(|(name, value)| match value {
            Value::String(text) => Ok((name, text)),
            _ => Err(format!("{name} must be a string")),
        })
        .collect()
}

impl Params {
    fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// The parameters as the spec's request type (after [`Params::check`]).
    fn decode<T: DeserializeOwned>(&self) -> Result<T, String> {
        let object = self
            .0
            .iter()
            .map(|(name, value)| (name.clone(), Value::String(value.clone())))
            .collect();
        serde_json::from_value(Value::Object(object)).map_err(|e| e.to_string())
    }

    /// Refuses names outside `allowed`, then blank values and missing `required` ones; `Err` is
    /// the description of an `invalid_request`.
    fn check(&self, allowed: &[&str], required: &[&str], what: &str) -> Result<(), String> {
        if let Some(unknown) = self.0.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(format!(
                "unknown parameter {}; {what} takes only {}",
                shown_name(unknown),
                allowed.join(", ")
            ));
        }
        let mut blank: Vec<&str> = required
            .iter()
            .copied()
            .filter(|name| !self.0.contains_key(*name))
            .collect();
        blank.extend(
            self.0
                .iter()
                .filter(|(_, value)| value.trim().is_empty())
                .map(|(name, _)| name.as_str()),
        );
        blank.sort_unstable();
        if blank.is_empty() {
            return Ok(());
        }
        let list: Vec<String> = blank
            .iter()
            .map(|name| format!("{name} can't be blank"))
            .collect();
        Err(list.join(", "))
    }
}

/// A parameter name fit to quote in an error: one that looks like a name. Anything else may be a
/// mangled `name:value` pair or a pasted credential, and error bodies never echo those.
fn shown_name(name: &str) -> String {
    let looks_like_a_name = (1..=40).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphabetic() || b == b'_' || b == b'-');
    if looks_like_a_name {
        format!("{name:?}")
    } else {
        "(name not shown: it is not a plain parameter name and may hold a credential)".into()
    }
}

/// The `aud` an assertion sent in this request must carry: `http://{authority}/v1`, where the
/// authority is the one the client used to reach the emulator (`Host`, or an absolute-form URI's),
/// provided it names this emulator. No alias is accepted.
pub struct Audience(Result<String, String>);

impl FromRequestParts<Arc<AppState>> for Audience {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        Ok(Audience(audience(parts, state.local_addr.get().copied())))
    }
}

fn audience(parts: &Parts, local: Option<SocketAddr>) -> Result<String, String> {
    let authority = match parts.uri.authority() {
        Some(authority) => authority.clone(),
        None => {
            let mut hosts = parts.headers.get_all(header::HOST).iter();
            let (Some(host), None) = (hosts.next(), hosts.next()) else {
                return Err("the request needs exactly one Host header".into());
            };
            host.to_str()
                .ok()
                .and_then(|h| Authority::from_str(h).ok())
                .ok_or("the Host header is not a host[:port]")?
        }
    };
    if authority.as_str().contains('@') {
        return Err("the Host header must not carry user information".into());
    }
    let host = authority.host().to_ascii_lowercase();
    let port = authority.port_u16().unwrap_or(80);
    // `127.0.0.1:04000` or `127.0.0.1:` reach the same socket but would make another audience
    // text: only the canonical port spelling (or none) is accepted, so there is one audience.
    let port_text = &authority.as_str()[authority.host().len()..];
    if !(port_text.is_empty()
        || authority
            .port_u16()
            .is_some_and(|p| port_text == format!(":{p}")))
    {
        return Err(format!(
            "the Host {authority} spells its port unusually; write it without leading zeros"
        ));
    }
    // Bound to one address, the Host must name it (or `localhost` for loopback) and its port.
    // Bound to all interfaces (a container, say), names and ports may be mapped: any Host goes.
    if let Some(local) = local.filter(|l| !l.ip().is_unspecified()) {
        let ip = match local.ip() {
            std::net::IpAddr::V4(ip) => ip.to_string(),
            std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        };
        let names_us = host == ip || (host == "localhost" && local.ip().is_loopback());
        if port != local.port() || !names_us {
            return Err(format!(
                "the Host {authority} does not name this emulator ({local})"
            ));
        }
    }
    Ok(format!(
        "http://{}/v1",
        authority.as_str().to_ascii_lowercase()
    ))
}

/// Which way the client authenticates, with exactly one credential.
enum Credential<'a> {
    Secret(&'a str),
    Assertion(&'a str),
}

/// The one assertion type the token endpoint accepts.
const JWT_BEARER: AssertionType = AssertionType::UrnIetfParamsOauthClientAssertionTypeJwtBearer;

/// The one credential of the request; `Err` is the description of an `invalid_request`.
fn credential(request: &AccessTokensRequest) -> Result<Credential<'_>, String> {
    match (
        request.client_secret.as_deref(),
        request.client_assertion_type.as_ref(),
        request.client_assertion.as_deref(),
    ) {
        (Some(secret), None, None) => Ok(Credential::Secret(secret)),
        (None, Some(kind), Some(assertion)) if *kind == JWT_BEARER => {
            Ok(Credential::Assertion(assertion))
        }
        (None, Some(other), Some(_)) => Err(format!(
            "client_assertion_type {:?} is not supported; use {JWT_BEARER}",
            other.as_str()
        )),
        (None, None, None) => Err(
            "client_secret can't be blank (or send client_assertion_type and client_assertion)"
                .into(),
        ),
        (None, None, Some(_)) => Err(format!(
            "client_assertion_type can't be blank; it must be {JWT_BEARER}"
        )),
        _ => Err(
            "ambiguous credentials: send either client_secret, or client_assertion_type \
                  together with client_assertion, not parts of both"
                .into(),
        ),
    }
}

// Equal-time comparison so response timing does not reveal how much of a secret matched.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Issues an access token.
pub async fn create(
    State(state): State<Arc<AppState>>,
    Audience(audience): Audience,
    params: Params,
) -> Response {
    if let Some(grant_type) = params.get("grant_type")
        && !grant_type.trim().is_empty()
        && grant_type != GrantType::ClientCredentials.as_str()
    {
        return errors::oauth(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            format!(
                "grant_type {grant_type:?} is not supported by the emulator; use client_credentials"
            ),
        );
    }
    let request: AccessTokensRequest = match params
        .check(
            &TOKEN_PARAMS,
            &["client_id", "grant_type"],
            "a client_credentials token request",
        )
        .and_then(|()| params.decode())
    {
        Ok(request) => request,
        Err(description) => return bad_request(description),
    };
    let credential = match credential(&request) {
        Ok(c) => c,
        Err(description) => return bad_request(description),
    };
    let client_id = request.client_id.as_str();
    let (client_secret, scopes) = {
        let registry = state.registry();
        let Some(app) = registry.apps.get(client_id) else {
            return invalid_client("client_id is invalid");
        };
        (app.client_secret.clone(), app.scopes.clone())
    };
    match credential {
        Credential::Secret(given) => match &client_secret {
            Some(expected) if same_secret(expected, given) => {}
            Some(_) => return bad_request("client_secret is invalid"),
            None => return invalid_client("this application only accepts client_assertion"),
        },
        Credential::Assertion(jwt) => {
            if let Err(description) = assertion::verify(&state, client_id, jwt, audience) {
                return invalid_client(description);
            }
        }
    }

    let now = state.clock.now();
    let lifetime = state.config.token_lifetime_secs;
    let scope = scopes.join(" ");
    let access_token = state.tokens.issue(Token {
        client_id: client_id.into(),
        scopes,
        expires_at: later(now, lifetime),
    });
    Json(AccessTokenResponse {
        access_token,
        // At most a year (checked when the configuration is loaded).
        expires_in: i64::try_from(lifetime).unwrap_or(i64::MAX),
        scope: Some(scope),
        token_type: "bearer".into(),
        authorization_id: None,
        refresh_token: None,
        status: None,
        validity_end_date: None,
        validity_start_date: None,
    })
    .into_response()
}

/// Revokes an access token (RFC 7009: unknown tokens are not an error, another application's are).
pub async fn revoke(State(state): State<Arc<AppState>>, params: Params) -> Response {
    let request: AccessTokensRevoke = match params
        .check(
            &REVOKE_PARAMS,
            &["client_id", "client_secret", "token"],
            "a revocation request",
        )
        .and_then(|()| params.decode())
    {
        Ok(request) => request,
        Err(description) => return bad_request(description),
    };
    if let Some(hint) = request.token_type_hint.as_ref().filter(|h| !h.is_known()) {
        return bad_request(format!(
            "token_type_hint {:?} is not supported; use access_token or refresh_token",
            hint.as_str()
        ));
    }
    let authenticated = state
        .registry()
        .apps
        .get(&request.client_id)
        .and_then(|app| app.client_secret.as_deref())
        .is_some_and(|expected| same_secret(expected, &request.client_secret));
    if !authenticated {
        return invalid_client("client_id or client_secret is invalid");
    }
    // RFC 7009 §2.1: the server verifies that the token was issued to the client asking, and
    // refuses the request otherwise (the token stays valid).
    match state.tokens.revoke(&request.token, &request.client_id) {
        Ok(()) => StatusCode::OK.into_response(),
        Err(NotYours) => errors::oauth(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            "the token was issued to another application; an application can only revoke its own tokens",
        ),
    }
}
