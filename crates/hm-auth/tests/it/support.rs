//! Shared helpers: test keys, token endpoints, loopback servers, a mock token provider, and a
//! tracing capture.

use std::collections::VecDeque;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hm_auth::{AccessToken, Authenticator, Credentials, Environment, Error, RetryPolicy};
use httpmock::{HttpMockRequest, Method::POST, Mock, MockServer};
use p256::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use serde_json::json;
use tokio::time::Instant;

pub const CLIENT_ID: &str = "40568550-5ace-4d72-b45b-f46679b620aa";
pub const CLIENT_SECRET: &str = "rzeVs5nnx5OCMQejjfQTjLE8Jb2ReFSU-test-secret";
pub const KEY_ID: &str = "5e3cc349-1c6f-4975-aeaa-9d319086190b";
pub const TOKEN: &str = "eyJ0ZXN0IjoidG9rZW4ifQ.the-access-token.signature";

/// A fresh P-256 key in every form the tests need.
pub struct TestKey {
    pub pkcs8_pem: String,
    pub sec1_pem: String,
    pub public_pem: String,
}

pub fn test_key() -> TestKey {
    let secret =
        <p256::SecretKey as p256::elliptic_curve::Generate>::generate_from_rng(&mut rand::rng());
    TestKey {
        pkcs8_pem: secret.to_pkcs8_pem(LineEnding::LF).unwrap().to_string(),
        sec1_pem: secret.to_sec1_pem(LineEnding::LF).unwrap().to_string(),
        public_pem: secret
            .public_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap(),
    }
}

/// A random string of `len` letters and digits, for secrets and tokens that no other test uses.
pub fn random_text(len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    (0..len)
        .map(|_| ALPHABET[rand::random_range(0..ALPHABET.len())] as char)
        .collect()
}

pub fn secret_credentials() -> Credentials {
    Credentials::client_secret(CLIENT_ID, CLIENT_SECRET).unwrap()
}

pub fn base(server: &MockServer) -> Environment {
    Environment::custom(&server.base_url()).unwrap()
}

/// No pool idle timer: with paused tokio time, a pending timer is fast-forwarded whenever the
/// test waits for real network I/O.
pub fn paused_time_client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_idle_timeout(None)
        .build()
        .unwrap()
}

/// Retries without waits (backoff would be real sleeps outside paused time), and no timeouts
/// (see [`paused_time_client`]), for an authenticator at `base`.
pub fn quick_builder(
    credentials: Credentials,
    base: impl Into<Environment>,
) -> hm_auth::AuthenticatorBuilder {
    Authenticator::builder(credentials, base)
        .token_client_builder(reqwest::Client::builder().pool_idle_timeout(None))
        .token_connect_timeout(None)
        .token_attempt_timeout(None)
        .token_deadline(None)
        .token_retry_policy(RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::ZERO,
            max_delay: Duration::ZERO,
            retry_non_idempotent: true,
        })
        .retry_policy(RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::ZERO,
            // `Retry-After` is honoured up to this (only tests with paused time ask for it).
            max_delay: Duration::from_secs(10),
            retry_non_idempotent: false,
        })
}

/// An authenticator for `server` with immediate retries and no timeouts.
pub fn authenticator(server: &MockServer, credentials: Credentials) -> Authenticator {
    quick_builder(credentials, base(server)).build().unwrap()
}

pub fn token_reply(token: &str, expires_in: i64) -> serde_json::Value {
    json!({
        "access_token": token,
        "expires_in": expires_in,
        "scope": "fleet:clearance vehicle:eligibility-check vehicle:data",
        "token_type": "bearer",
    })
}

/// A token endpoint answering every request with `token`.
pub async fn token_endpoint<'a>(server: &'a MockServer, token: &str) -> Mock<'a> {
    let reply = token_reply(token, 300);
    server
        .mock_async(|when, then| {
            when.method(POST).path("/v1/access_tokens");
            then.status(200).json_body(reply);
        })
        .await
}

/// A token endpoint that also records each request body.
pub async fn recording_token_endpoint<'a>(
    server: &'a MockServer,
    token: &str,
) -> (Mock<'a>, Arc<Mutex<Vec<serde_json::Value>>>) {
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&bodies);
    let reply = token_reply(token, 300);
    let mock = server
        .mock_async(move |when, then| {
            when.method(POST)
                .path("/v1/access_tokens")
                .is_true(move |req: &HttpMockRequest| {
                    if let Ok(body) = serde_json::from_slice(req.body_ref()) {
                        seen.lock().unwrap().push(body);
                    }
                    true
                });
            then.status(200).json_body(reply);
        })
        .await;
    (mock, bodies)
}

/// A port on loopback that nobody listens on.
pub fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

// ---------------------------------------------------------------------------------------------
// Tracing capture

/// A `tracing` writer that keeps everything written, to check that no secret is logged.
#[derive(Clone, Default)]
pub struct Captured(pub Arc<Mutex<Vec<u8>>>);

impl Captured {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Captures everything logged in this test binary at TRACE level (span fields included): hm-auth,
/// reqwest, hyper, h2, everything but the mock servers' own logs (httpmock logs the requests it
/// receives, secrets included, as a server may).
///
/// A global subscriber rather than a thread-local one: with tests running in parallel, tracing
/// caches per-callsite interest across threads, so a thread-local subscriber can miss events.
/// Every test's output lands here, which makes the "no secret" checks stricter, not weaker.
/// Records of the `log` crate (reqwest's connection logging) are captured too.
pub fn capture_tracing() -> Captured {
    use tracing_subscriber::util::SubscriberInitExt;
    static CAPTURED: std::sync::OnceLock<Captured> = std::sync::OnceLock::new();
    CAPTURED
        .get_or_init(|| {
            let captured = Captured::default();
            tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new("trace,httpmock=off"))
                .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
                .with_writer(captured.clone())
                .with_ansi(false)
                .finish()
                .init();
            captured
        })
        .clone()
}

// ---------------------------------------------------------------------------------------------
// A loopback server for what httpmock cannot express

/// One reply of a [`TestServer`].
#[derive(Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
    pub shape: Shape,
}

/// How a [`Reply`] is delivered.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Status, headers and body.
    Normal,
    /// Status and headers, then the body repeated forever.
    Endless,
    /// Nothing at all, ever: the request hangs.
    Hang,
}

impl Reply {
    pub fn status(status: u16) -> Self {
        Reply {
            status,
            headers: Vec::new(),
            body: String::new(),
            shape: Shape::Normal,
        }
    }
    pub fn json(status: u16, body: serde_json::Value) -> Self {
        Reply::status(status)
            .header("content-type", "application/json")
            .body(body.to_string())
    }
    pub fn hang() -> Self {
        Reply {
            shape: Shape::Hang,
            ..Reply::status(200)
        }
    }
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
    pub fn body(mut self, body: impl Into<String>) -> Self {
        self.body = body.into();
        self
    }
    pub fn endless(mut self) -> Self {
        self.shape = Shape::Endless;
        self
    }
}

/// A request a [`TestServer`] received.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub authorization: Option<String>,
    pub body: Vec<u8>,
}

impl Seen {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// A loopback HTTP server answering with a function of the request. It runs on its own thread
/// and runtime, so tests with paused tokio time do not stall it.
pub struct TestServer {
    pub url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl TestServer {
    pub fn start(answer: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Self {
        use axum::http::{HeaderName, HeaderValue, StatusCode};
        use axum::response::IntoResponse;

        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let answer = Arc::new(answer);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let record = Arc::clone(&seen);
        let handler = move |request: axum::extract::Request| {
            let record = Arc::clone(&record);
            let answer = Arc::clone(&answer);
            async move {
                let (parts, body) = request.into_parts();
                let body = axum::body::to_bytes(body, 1 << 20)
                    .await
                    .unwrap_or_default();
                let request = Seen {
                    method: parts.method.to_string(),
                    path: parts.uri.path().to_owned(),
                    authorization: parts
                        .headers
                        .get("authorization")
                        .map(|v| v.to_str().unwrap().to_owned()),
                    body: body.to_vec(),
                };
                let reply = answer(&request);
                record.lock().unwrap().push(request);
                let status = StatusCode::from_u16(reply.status).unwrap();
                let mut response = match reply.shape {
                    Shape::Hang => std::future::pending().await,
                    Shape::Normal => (status, reply.body).into_response(),
                    Shape::Endless => {
                        let chunk = axum::body::Bytes::from(reply.body);
                        let stream = futures::stream::repeat_with(move || {
                            Ok::<_, std::io::Error>(chunk.clone())
                        });
                        (status, axum::body::Body::from_stream(stream)).into_response()
                    }
                };
                for (name, value) in reply.headers {
                    response.headers_mut().insert(
                        HeaderName::from_static(name),
                        HeaderValue::from_str(&value).unwrap(),
                    );
                }
                response
            }
        };
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let app = axum::Router::new().fallback(handler);
                axum::serve(listener, app).await.unwrap();
            });
        });
        TestServer { url, seen }
    }

    /// Answers with `replies` in order, then the last one forever.
    pub fn scripted(replies: Vec<Reply>) -> Self {
        let script = Mutex::new(VecDeque::from(replies));
        TestServer::start(move |_| {
            let mut script = script.lock().unwrap();
            if script.len() > 1 {
                script.pop_front().unwrap()
            } else {
                script[0].clone()
            }
        })
    }

    pub fn environment(&self) -> Environment {
        Environment::custom(&self.url).unwrap()
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

// ---------------------------------------------------------------------------------------------
// A mock token provider, for cache and retry behaviour under paused time (no sockets)

/// What [`MockProvider`] answers.
#[derive(Clone)]
pub enum Outcome {
    /// A new token `token-N` (N counts calls from 1).
    Token,
    Fail(Error),
    /// Never answers.
    Hang,
}

/// A token provider that takes `latency` of tokio time per call and answers as told.
#[derive(Clone)]
pub struct MockProvider {
    state: Arc<Mutex<MockState>>,
}

struct MockState {
    calls: Vec<Instant>,
    latency: Duration,
    lifetime: Duration,
    outcome: Outcome,
}

impl MockProvider {
    pub fn new(latency: Duration, lifetime: Duration) -> Self {
        MockProvider {
            state: Arc::new(Mutex::new(MockState {
                calls: Vec::new(),
                latency,
                lifetime,
                outcome: Outcome::Token,
            })),
        }
    }
    pub fn answer(&self, outcome: Outcome) {
        self.state.lock().unwrap().outcome = outcome;
    }
    pub fn calls(&self) -> usize {
        self.state.lock().unwrap().calls.len()
    }
    pub fn call_times(&self) -> Vec<Instant> {
        self.state.lock().unwrap().calls.clone()
    }
}

impl hm_auth::TokenProvider for MockProvider {
    async fn fetch_token(&self) -> Result<AccessToken, Error> {
        let (n, latency, lifetime, outcome) = {
            let mut state = self.state.lock().unwrap();
            state.calls.push(Instant::now());
            (
                state.calls.len(),
                state.latency,
                state.lifetime,
                state.outcome.clone(),
            )
        };
        let sent = Instant::now();
        tokio::time::sleep(latency).await;
        match outcome {
            Outcome::Token => Ok(AccessToken::new(
                format!("token-{n}"),
                sent,
                lifetime,
                vec!["vehicle:data".to_owned()],
            )),
            Outcome::Fail(error) => Err(error),
            Outcome::Hang => std::future::pending().await,
        }
    }
}

/// A failure worth retrying: the endpoint answered 503.
pub fn unavailable() -> Error {
    Error::TokenEndpointStatus {
        status: 503,
        attempts: 1,
        body: "text/plain, 11 bytes: maintenance".to_owned(),
        retry_after: None,
    }
}

/// A permanent failure: the credentials were refused.
pub fn rejected() -> Error {
    Error::TokenRejected {
        status: 400,
        error: "invalid_client".to_owned(),
        description: "client_secret is invalid".to_owned(),
        clock_skew_secs: None,
    }
}

/// Every `len`-character piece of `secret` (ASCII), to check that no fragment of it leaked.
pub fn windows(secret: &str, len: usize) -> Vec<&str> {
    (0..=secret.len().saturating_sub(len))
        .map(|at| &secret[at..at + len.min(secret.len())])
        .collect()
}

/// Fails if any 8-character piece of `secret` appears in `text`.
pub fn assert_no_fragment(text: &str, secret: &str, what: &str) {
    for window in windows(secret, 8) {
        assert!(
            !text.contains(window),
            "{what} fragment `{window}` leaked in:\n{text}"
        );
    }
}

/// The error of the first token request of the authenticator `builder` makes.
pub async fn token_error(builder: hm_auth::AuthenticatorBuilder) -> Error {
    builder.build().unwrap().access_token().await.unwrap_err()
}
