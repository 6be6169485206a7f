//! The token endpoint as a [`TokenProvider`]: one `POST {base}/v1/access_tokens` per token, in
//! three steps: [`send`](TokenEndpoint::send) (bounded in time and size, never following a
//! redirect), then [`reply::interpret`] (classify the status, parse the body).

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime};

use reqwest::header::{ACCEPT, CONTENT_TYPE, DATE, HeaderMap, LOCATION};
use secrecy::zeroize::Zeroizing;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use tokio::time::Instant;
use tracing::{Instrument, field};
use url::Url;

use crate::credentials::{Credentials, Kind};
use crate::error::CLOCK_SKEW_THRESHOLD;
use crate::reply::{self, RawReply};
use crate::scrub::Scrubber;
use crate::{AccessToken, Error, Flow, TokenProvider};

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// The largest token reply that is read. A real one is well under 2 KiB.
pub(crate) const MAX_REPLY: usize = 64 * 1024;
/// How many issued tokens are remembered so that server text quoting them can be cleaned.
const REMEMBERED_TOKENS: usize = 2;
/// The longest `Retry-After` honoured: a rate limit's window is seconds or minutes, and a bogus
/// "come back in a year" must not stop a long-running service from ever getting a token.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(600);

/// Sends token requests for one set of credentials.
pub(crate) struct TokenEndpoint {
    /// Built by hm-auth with redirects disabled; see `AuthenticatorBuilder::build`.
    http: reqwest::Client,
    url: Url,
    /// `{base}/v1`, the assertion's `aud`.
    audience: String,
    credentials: Credentials,
    attempt_timeout: Option<Duration>,
    /// Seconds to add to this machine's clock for `iat`, learnt from a rejection's `Date` header.
    clock_offset: AtomicI64,
    issued: Mutex<VecDeque<AccessToken>>,
    /// Until when the endpoint asked not to be asked again, and the status that said so.
    not_before: Mutex<Option<(Instant, u16)>>,
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

impl TokenProvider for TokenEndpoint {
    async fn fetch_token(&self) -> Result<AccessToken, Error> {
        let span = tracing::info_span!(
            "hm_auth.token_request",
            flow = self.credentials.flow().as_str(),
            status = field::Empty,
            latency_ms = field::Empty,
            lifetime_s = field::Empty,
        );
        self.fetch_correcting_clock().instrument(span).await
    }
}

impl TokenEndpoint {
    pub(crate) fn new(
        http: reqwest::Client,
        url: Url,
        audience: String,
        credentials: Credentials,
        attempt_timeout: Option<Duration>,
    ) -> Self {
        TokenEndpoint {
            http,
            url,
            audience,
            credentials,
            attempt_timeout,
            clock_offset: AtomicI64::new(0),
            issued: Mutex::new(VecDeque::new()),
            not_before: Mutex::new(None),
        }
    }

    pub(crate) fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// One token request; if the server refuses the assertion and its clock is far from ours,
    /// one more with `iat` on the server's clock (as the AWS SDKs do), which later requests keep.
    async fn fetch_correcting_clock(&self) -> Result<AccessToken, Error> {
        let offset = self.clock_offset.load(Ordering::Relaxed);
        match self.request(offset).await {
            Err(Error::TokenRejected {
                clock_skew_secs: Some(skew),
                ..
            }) if self.credentials.flow() == Flow::JwtAssertion
                && (skew - offset).abs() >= CLOCK_SKEW_THRESHOLD =>
            {
                tracing::warn!(
                    clock_skew_s = skew,
                    "the token endpoint refused the assertion and its clock differs from this \
                     machine's by {skew} s; retrying once with `iat` taken from its `Date` header"
                );
                let token = self.request(skew).await?;
                self.clock_offset.store(skew, Ordering::Relaxed);
                tracing::warn!(
                    clock_skew_s = skew,
                    "the assertion with the corrected `iat` was accepted; later assertions are \
                     corrected too. Set this machine's clock right"
                );
                Ok(token)
            }
            other => other,
        }
    }

    async fn request(&self, clock_offset: i64) -> Result<AccessToken, Error> {
        self.check_not_deferred()?;
        let assertion = match self.credentials.kind() {
            Kind::Key(signer) => Some(signer.sign_with_clock_offset(&self.audience, clock_offset)?),
            Kind::Secret(_) => None,
        };
        let body = self.body(assertion.as_ref())?;
        let raw = self.send(body).await?;
        if let Some(wait) = raw.retry_after
            && crate::retry::is_transient_status(raw.status)
        {
            self.defer(raw.status.as_u16(), wait);
        }
        let token = {
            let issued = self.issued.lock().unwrap_or_else(|e| e.into_inner());
            let scrubber = Scrubber::new(
                self.credential_secret()
                    .into_iter()
                    .chain(assertion.as_ref().map(|a| a.expose_secret()))
                    .chain(issued.iter().map(AccessToken::expose_secret)),
            );
            reply::interpret(raw, &scrubber)?
        };
        tracing::Span::current().record("lifetime_s", token.lifetime().as_secs());
        let mut issued = self.issued.lock().unwrap_or_else(|e| e.into_inner());
        if issued.len() == REMEMBERED_TOKENS {
            issued.pop_front();
        }
        issued.push_back(token.clone());
        Ok(token)
    }

    /// Fails, without a request, while an earlier reply's `Retry-After` has not passed.
    fn check_not_deferred(&self) -> Result<(), Error> {
        let not_before = *self.not_before.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        match not_before {
            Some((until, status)) if now < until => Err(Error::TokenRequestDeferred {
                status,
                retry_after: until - now,
            }),
            _ => Ok(()),
        }
    }

    /// Remembers that the endpoint asked, with `status`, to wait `wait` before the next request.
    fn defer(&self, status: u16, wait: Duration) {
        let wait = wait.min(MAX_RETRY_AFTER);
        tracing::warn!(
            status,
            retry_after_s = wait.as_secs(),
            "the token endpoint asked to wait; no token request is sent before then"
        );
        *self.not_before.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((Instant::now() + wait, status));
    }

    fn credential_secret(&self) -> Option<&str> {
        match self.credentials.kind() {
            Kind::Secret(secret) => Some(secret.expose_secret()),
            Kind::Key(_) => None,
        }
    }

    fn body(&self, assertion: Option<&SecretString>) -> Result<Vec<u8>, Error> {
        let body = Body {
            client_id: self.credentials.client_id(),
            grant_type: "client_credentials",
            client_secret: self.credential_secret(),
            client_assertion_type: assertion.map(|_| ASSERTION_TYPE),
            client_assertion: assertion.map(ExposeSecret::expose_secret),
        };
        serde_json::to_vec(&body).map_err(|e| Error::Signing {
            detail: format!("cannot encode the token request: {e}"),
        })
    }

    /// Sends the request and reads at most [`MAX_REPLY`] bytes of the reply. Redirects are
    /// returned as they are (the client follows none).
    async fn send(&self, body: Vec<u8>) -> Result<RawReply, Error> {
        let span = tracing::Span::current();
        let mut request = self
            .http
            .post(self.url.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json")
            .body(body);
        if let Some(timeout) = self.attempt_timeout {
            request = request.timeout(timeout);
        }
        let sent_at = Instant::now();
        let result = request.send().await;
        span.record("latency_ms", sent_at.elapsed().as_millis() as u64);
        let transport = |e| Error::transport(self.url.as_str(), e);
        let mut response = result.map_err(transport)?;
        let status = response.status();
        span.record("status", status.as_u16());
        let headers = response.headers().clone();
        let clock_skew_secs = match self.credentials.flow() {
            Flow::JwtAssertion => clock_skew(&headers),
            Flow::ClientSecret => None,
        };

        let too_large = || Error::InvalidTokenResponse {
            status: status.as_u16(),
            reason: format!(
                "the reply is larger than {} KiB, far more than a token response",
                MAX_REPLY / 1024
            ),
        };
        if response
            .content_length()
            .is_some_and(|len| len > MAX_REPLY as u64)
        {
            return Err(too_large());
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            if bytes.len() + chunk.len() > MAX_REPLY {
                return Err(too_large());
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(RawReply {
            status,
            content_type: header_text(&headers, CONTENT_TYPE)
                .unwrap_or("no content type")
                .to_owned(),
            location: location_origin(&self.url, &headers),
            retry_after: crate::retry::retry_after(&headers),
            clock_skew_secs,
            sent_at,
            bytes: Zeroizing::new(bytes),
        })
    }
}

fn header_text(headers: &HeaderMap, name: reqwest::header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The origin a redirect points to (relative `Location`s resolved against the endpoint).
fn location_origin(endpoint: &Url, headers: &HeaderMap) -> String {
    match header_text(headers, LOCATION).map(|l| endpoint.join(l)) {
        Some(Ok(url)) => url.origin().ascii_serialization(),
        Some(Err(_)) => "an unreadable `Location`".to_owned(),
        None => "nowhere (no `Location` header)".to_owned(),
    }
}

/// How far the server's `Date` is ahead of this machine's clock, in whole seconds.
fn clock_skew(headers: &HeaderMap) -> Option<i64> {
    let server = httpdate::parse_http_date(header_text(headers, DATE)?).ok()?;
    let now = SystemTime::now();
    let skew = match server.duration_since(now) {
        Ok(ahead) => ahead.as_secs_f64(),
        Err(behind) => -behind.duration().as_secs_f64(),
    };
    Some(skew.round() as i64)
}
