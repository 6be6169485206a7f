//! `POST /v1/access_tokens` (client secret and JWT assertion flows) and `DELETE /v1/access_tokens`.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::errors;
use crate::assertion::{self, JWT_BEARER};
use crate::state::AppState;
use crate::state::tokens::Token;

#[derive(Deserialize, Default)]
struct TokenRequest {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    client_assertion: Option<String>,
    client_assertion_type: Option<String>,
}

#[derive(Deserialize, Default)]
struct RevokeRequest {
    token: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

fn bad_request(description: impl Into<String>) -> Response {
    errors::oauth(StatusCode::BAD_REQUEST, "invalid_request", description)
}

fn invalid_client(description: impl Into<String>) -> Response {
    errors::oauth(StatusCode::BAD_REQUEST, "invalid_client", description)
}

fn parse<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, String> {
    serde_json::from_slice(body).map_err(|e| format!("the request body must be a JSON object: {e}"))
}

fn blank(fields: &[(&str, bool)]) -> Option<Response> {
    let missing: Vec<String> = fields
        .iter()
        .filter(|(_, present)| !present)
        .map(|(name, _)| format!("{name} can't be blank"))
        .collect();
    (!missing.is_empty()).then(|| bad_request(missing.join(", ")))
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
pub async fn create(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    let request: TokenRequest = match parse(&body) {
        Ok(r) => r,
        Err(description) => return bad_request(description),
    };
    let (Some(grant_type), Some(client_id)) = (&request.grant_type, &request.client_id) else {
        return blank(&[
            ("client_id", request.client_id.is_some()),
            ("grant_type", request.grant_type.is_some()),
        ])
        .unwrap_or_else(|| bad_request("invalid request"));
    };
    if grant_type != "client_credentials" {
        return errors::oauth(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            format!(
                "grant_type {grant_type:?} is not supported by the emulator; use client_credentials"
            ),
        );
    }
    let (client_secret, scopes) = {
        let registry = state.registry();
        let Some(app) = registry.apps.get(client_id.as_str()) else {
            return invalid_client("client_id is invalid");
        };
        (app.client_secret.clone(), app.scopes.clone())
    };

    if let Some(assertion) = &request.client_assertion {
        if request.client_assertion_type.as_deref() != Some(JWT_BEARER) {
            return bad_request(format!("client_assertion_type must be {JWT_BEARER}"));
        }
        if let Err(description) = assertion::verify(&state, client_id, assertion) {
            return invalid_client(description);
        }
    } else {
        let Some(given) = &request.client_secret else {
            return blank(&[("client_secret", false)])
                .unwrap_or_else(|| bad_request("invalid request"));
        };
        match &client_secret {
            Some(expected) if same_secret(expected, given) => {}
            Some(_) => return bad_request("client_secret is invalid"),
            None => return invalid_client("this application only accepts client_assertion"),
        }
    }

    let now = state.clock.now();
    let lifetime = state.config.token_lifetime_secs;
    let scope = scopes.join(" ");
    let access_token = state.tokens.issue(
        Token {
            client_id: client_id.as_str().into(),
            scopes,
            expires_at: now + chrono::Duration::seconds(lifetime as i64),
        },
        now,
    );
    Json(json!({
        "access_token": access_token,
        "expires_in": lifetime,
        "scope": scope,
        "token_type": "bearer",
    }))
    .into_response()
}

/// Revokes an access token (RFC 7009: unknown tokens are not an error).
pub async fn revoke(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    let request: RevokeRequest = match parse(&body) {
        Ok(r) => r,
        Err(description) => return bad_request(description),
    };
    let (Some(token), Some(client_id), Some(secret)) =
        (&request.token, &request.client_id, &request.client_secret)
    else {
        return blank(&[
            ("client_id", request.client_id.is_some()),
            ("client_secret", request.client_secret.is_some()),
            ("token", request.token.is_some()),
        ])
        .unwrap_or_else(|| bad_request("invalid request"));
    };
    let authenticated = state
        .registry()
        .apps
        .get(client_id.as_str())
        .and_then(|app| app.client_secret.as_deref())
        .is_some_and(|expected| same_secret(expected, secret));
    if !authenticated {
        return invalid_client("client_id or client_secret is invalid");
    }
    state.tokens.revoke(token, client_id);
    StatusCode::OK.into_response()
}
