//! Shared helpers: test keys, a token endpoint, authenticators wired to httpmock.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hm_auth::{Authenticator, Credentials, Environment, RetryPolicy};
use httpmock::{HttpMockRequest, Method::POST, Mock, MockServer};
use p256::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use serde_json::json;

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

pub fn secret_credentials() -> Credentials {
    Credentials::client_secret(CLIENT_ID, CLIENT_SECRET).unwrap()
}

pub fn base(server: &MockServer) -> Environment {
    Environment::custom(&server.base_url()).unwrap()
}

/// No pool idle timer and no token timeout: with paused tokio time, any pending timer would be
/// fast-forwarded while the test waits for real network I/O.
pub fn paused_time_client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_idle_timeout(None)
        .build()
        .unwrap()
}

/// An authenticator for `server` with quick retries.
pub fn authenticator(server: &MockServer, credentials: Credentials) -> Authenticator {
    Authenticator::builder(credentials, base(server))
        .http_client(paused_time_client())
        .token_request_timeout(None)
        .token_retry_policy(RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
            retry_non_idempotent: true,
        })
        .retry_policy(RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_secs(10),
            retry_non_idempotent: false,
        })
        .build()
        .unwrap()
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

/// Captures everything logged by this test binary at TRACE level (span fields included).
///
/// A global subscriber rather than a thread-local one: with tests running in parallel, tracing
/// caches per-callsite interest across threads, so a thread-local subscriber can miss events.
/// Every test's output lands here, which makes the "no secret" checks stricter, not weaker.
/// Only hm-auth's own output (and this binary's) is kept: httpmock logs the requests it receives,
/// secrets included, as a mock server may.
pub fn capture_tracing() -> Captured {
    static CAPTURED: std::sync::OnceLock<Captured> = std::sync::OnceLock::new();
    CAPTURED
        .get_or_init(|| {
            let captured = Captured::default();
            let subscriber = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new("hm_auth=trace,it=trace"))
                .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
                .with_writer(captured.clone())
                .with_ansi(false)
                .finish();
            tracing::subscriber::set_global_default(subscriber).unwrap();
            captured
        })
        .clone()
}

/// One scripted reply of [`ScriptedServer`].
#[derive(Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

impl Reply {
    pub fn status(status: u16) -> Self {
        Reply {
            status,
            headers: Vec::new(),
            body: String::new(),
        }
    }
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

/// What a [`ScriptedServer`] received.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub authorization: Option<String>,
}

/// A loopback server that answers requests with scripted replies in order (then the last one
/// forever), for sequences httpmock cannot express. It runs on its own thread and runtime, so
/// tests with paused tokio time do not stall it.
pub struct ScriptedServer {
    pub url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl ScriptedServer {
    pub fn start(replies: Vec<Reply>) -> Self {
        use axum::http::{HeaderName, HeaderValue, StatusCode};
        use axum::response::IntoResponse;

        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let script = Arc::new(Mutex::new(std::collections::VecDeque::from(replies)));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let record = Arc::clone(&seen);
        let handler = move |request: axum::extract::Request| {
            let record = Arc::clone(&record);
            let script = Arc::clone(&script);
            async move {
                record.lock().unwrap().push(Seen {
                    method: request.method().to_string(),
                    authorization: request
                        .headers()
                        .get("authorization")
                        .map(|v| v.to_str().unwrap().to_owned()),
                });
                let reply = {
                    let mut script = script.lock().unwrap();
                    if script.len() > 1 {
                        script.pop_front().unwrap()
                    } else {
                        script[0].clone()
                    }
                };
                let mut response =
                    (StatusCode::from_u16(reply.status).unwrap(), reply.body).into_response();
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
        ScriptedServer { url, seen }
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}
