//! One token request to `POST {base}/v1/access_tokens`, retried while the failure is transient.

use std::time::{Duration, SystemTime};

use reqwest::header::CONTENT_TYPE;
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use tracing::{Instrument, field};

use crate::credentials::{Credentials, Kind};
use crate::retry::{self, RetryPolicy};
use crate::{AccessToken, Error};

/// Assumed when the reply has no usable `expires_in`: the lifetime High Mobility documents.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(300);
/// Lower bound, so that a reply of `0` or `-5` does not make every call fetch a token.
const MIN_LIFETIME: Duration = Duration::from_secs(30);
/// Upper bound, so that a reply of "ten years" cannot pin a revoked token in memory.
const MAX_LIFETIME: Duration = Duration::from_secs(3600);
/// How much of a reply body an error may quote.
const BODY_EXCERPT: usize = 120;

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A token and when its request was sent, the moment its lifetime is measured from.
pub(crate) struct Fetched {
    pub(crate) token: AccessToken,
    pub(crate) sent_at: Instant,
}

pub(crate) struct TokenClient {
    pub(crate) http: reqwest::Client,
    pub(crate) endpoint: String,
    pub(crate) audience: String,
    pub(crate) credentials: Credentials,
    pub(crate) retry: RetryPolicy,
    pub(crate) timeout: Option<Duration>,
}

/// The token request body, in either flow.
#[derive(Serialize)]
struct Body<'a> {
    client_id: &'a str,
    grant_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_assertion_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_assertion: Option<&'a str>,
}

#[derive(Deserialize)]
struct Reply {
    access_token: Option<SecretString>,
    expires_in: Option<serde_json::Value>,
    scope: Option<String>,
}

#[derive(Deserialize)]
struct OAuthError {
    error: String,
    #[serde(default)]
    error_description: String,
}

/// A failed attempt: whether another may succeed, and the server's `Retry-After` when it sent one.
struct Failure {
    error: Error,
    transient: bool,
    retry_after: Option<Duration>,
}

impl TokenClient {
    /// Requests a token, retrying transient failures as `self.retry` allows.
    pub(crate) async fn fetch(&self) -> Result<Fetched, Error> {
        let mut attempt = 1;
        loop {
            match self.attempt(attempt).await {
                Ok(fetched) => return Ok(fetched),
                Err(failure) if failure.transient && self.retry.allows(&Method::POST, attempt) => {
                    let delay = self.retry.delay(attempt, failure.retry_after);
                    tracing::warn!(attempt, delay_ms = delay.as_millis() as u64, error = %failure.error, "token request failed; retrying");
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                Err(failure) => return Err(failure.error),
            }
        }
    }

    async fn attempt(&self, attempt: u32) -> Result<Fetched, Failure> {
        let span = tracing::info_span!(
            "hm_auth.token_request",
            flow = self.credentials.flow().as_str(),
            attempt,
            status = field::Empty,
            latency_ms = field::Empty,
            lifetime_s = field::Empty,
        );
        self.attempt_inner(attempt).instrument(span).await
    }

    async fn attempt_inner(&self, attempt: u32) -> Result<Fetched, Failure> {
        let fail = |error| Failure {
            error,
            transient: false,
            retry_after: None,
        };
        let assertion = match self.credentials.kind() {
            Kind::Key(signer) => Some(signer.sign(&self.audience).map_err(fail)?),
            Kind::Secret(_) => None,
        };
        let body = match self.credentials.kind() {
            Kind::Secret(secret) => Body {
                client_id: self.credentials.client_id(),
                grant_type: "client_credentials",
                client_secret: Some(secret.expose_secret()),
                client_assertion_type: None,
                client_assertion: None,
            },
            Kind::Key(_) => Body {
                client_id: self.credentials.client_id(),
                grant_type: "client_credentials",
                client_secret: None,
                client_assertion_type: Some(ASSERTION_TYPE),
                client_assertion: assertion.as_ref().map(|a| a.expose_secret()),
            },
        };

        let mut request = self.http.post(&self.endpoint).json(&body);
        if let Some(timeout) = self.timeout {
            request = request.timeout(timeout);
        }
        let sent_at = Instant::now();
        let sent_at_wall = SystemTime::now();
        let span = tracing::Span::current();
        let result = request.send().await;
        span.record("latency_ms", sent_at.elapsed().as_millis() as u64);

        // Token requests are safe to repeat, so any transport failure other than a malformed
        // request (a bad URL) is worth another attempt.
        let response = result.map_err(|source| Failure {
            transient: !source.is_builder(),
            retry_after: None,
            error: Error::TokenTransport {
                url: self.endpoint.clone(),
                attempts: attempt,
                source: std::sync::Arc::new(source.without_url()),
            },
        })?;

        let status = response.status();
        span.record("status", status.as_u16());
        let retry_after = retry::retry_after(response.headers());
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("no content type")
            .to_owned();
        let bytes = response.bytes().await.map_err(|source| Failure {
            transient: true,
            retry_after: None,
            error: Error::TokenTransport {
                url: self.endpoint.clone(),
                attempts: attempt,
                source: std::sync::Arc::new(source.without_url()),
            },
        })?;
        let redact = |text: String| self.redact(text, assertion.as_ref());

        if !status.is_success() {
            if let Ok(oauth) = serde_json::from_slice::<OAuthError>(&bytes)
                && (status.is_client_error() && status != StatusCode::TOO_MANY_REQUESTS)
            {
                return Err(fail(Error::TokenRejected {
                    status: status.as_u16(),
                    error: redact(oauth.error),
                    description: redact(oauth.error_description),
                }));
            }
            return Err(Failure {
                transient: status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS,
                error: Error::TokenEndpointStatus {
                    status: status.as_u16(),
                    attempts: attempt,
                    body: redact(describe_body(&content_type, &bytes)),
                },
                retry_after,
            });
        }

        let reply: Reply = serde_json::from_slice(&bytes).map_err(|e| {
            let reason = if e.is_data() {
                format!("unexpected JSON ({e})")
            } else {
                format!(
                    "the body is not JSON: {}",
                    describe_body(&content_type, &bytes)
                )
            };
            fail(Error::InvalidTokenResponse {
                status: status.as_u16(),
                reason: redact(reason),
            })
        })?;
        let secret = reply
            .access_token
            .filter(|t| !t.expose_secret().trim().is_empty())
            .ok_or_else(|| {
                fail(Error::InvalidTokenResponse {
                    status: status.as_u16(),
                    reason: "the reply has no `access_token`".to_owned(),
                })
            })?;
        // Checked here so that a token that cannot be sent fails the token request, not every call.
        if !secret.expose_secret().bytes().all(|b| b.is_ascii_graphic()) {
            return Err(fail(Error::InvalidTokenResponse {
                status: status.as_u16(),
                reason:
                    "the `access_token` contains characters that cannot be sent in an HTTP header"
                        .to_owned(),
            }));
        }
        let lifetime = clamp_lifetime(reply.expires_in.as_ref());
        span.record("lifetime_s", lifetime.as_secs());
        let scopes = reply
            .scope
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        Ok(Fetched {
            token: AccessToken::new(secret, sent_at, sent_at_wall, lifetime, scopes),
            sent_at,
        })
    }

    /// Removes our own secrets from text that came from the server, in case a proxy or a
    /// misbehaving endpoint echoes the request.
    fn redact(&self, mut text: String, assertion: Option<&SecretString>) -> String {
        let mut secrets: Vec<&str> = Vec::new();
        if let Kind::Secret(secret) = self.credentials.kind() {
            secrets.push(secret.expose_secret());
        }
        if let Some(assertion) = assertion {
            secrets.push(assertion.expose_secret());
        }
        for secret in secrets.into_iter().filter(|s| !s.is_empty()) {
            if text.contains(secret) {
                text = text.replace(secret, "[REDACTED]");
            }
        }
        text
    }
}

/// "text/html, 512 bytes: <html><head><title>502 Bad Gateway..."
fn describe_body(content_type: &str, bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return format!("{content_type}, empty body");
    }
    let text = String::from_utf8_lossy(bytes);
    let excerpt: String = text
        .chars()
        .take(BODY_EXCERPT)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let ellipsis = if text.chars().count() > BODY_EXCERPT {
        "..."
    } else {
        ""
    };
    format!(
        "{content_type}, {} bytes: {}{ellipsis}",
        bytes.len(),
        excerpt.trim()
    )
}

/// `expires_in` within [MIN_LIFETIME, MAX_LIFETIME]; DEFAULT_LIFETIME when absent or not a number.
fn clamp_lifetime(expires_in: Option<&serde_json::Value>) -> Duration {
    let seconds = match expires_in {
        Some(serde_json::Value::Number(n)) => n.as_f64(),
        Some(serde_json::Value::String(s)) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    match seconds {
        Some(s) if s.is_finite() => {
            let clamped = s.clamp(MIN_LIFETIME.as_secs_f64(), MAX_LIFETIME.as_secs_f64());
            Duration::from_secs_f64(clamped)
        }
        _ => DEFAULT_LIFETIME,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lifetimes_are_clamped() {
        assert_eq!(clamp_lifetime(Some(&json!(300))), Duration::from_secs(300));
        assert_eq!(clamp_lifetime(None), DEFAULT_LIFETIME);
        assert_eq!(clamp_lifetime(Some(&json!(0))), MIN_LIFETIME);
        assert_eq!(clamp_lifetime(Some(&json!(-20))), MIN_LIFETIME);
        assert_eq!(clamp_lifetime(Some(&json!(315_360_000))), MAX_LIFETIME);
        assert_eq!(
            clamp_lifetime(Some(&json!("300"))),
            Duration::from_secs(300)
        );
        assert_eq!(clamp_lifetime(Some(&json!("soon"))), DEFAULT_LIFETIME);
    }
}
