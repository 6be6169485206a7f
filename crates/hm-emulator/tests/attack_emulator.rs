//! Attack findings against hm-emulator (issue 12): each test states what the emulator should do
//! and fails today; it is ignored so the branch stays green, and passes once the weakness is fixed.
//!
//! Everything goes through the public interface: raw HTTP on loopback (so that headers, Host and
//! framing are exactly what a hostile or careless client sends), the TOML loader and the handle.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hm_emulator::{
    ALL_SCOPES, ApplicationConfig, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_KEY_ID,
    DEMO_PRIVATE_KEY_PEM, DEMO_VIN_APPROVED, Emulator, EmulatorConfig, EmulatorHandle,
};
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::DecodePrivateKey;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Longer than any timeout a fixed emulator would use; with paused time it costs nothing.
const PATIENCE: Duration = Duration::from_secs(3600);

// ---------------------------------------------------------------------------------------------
// Helpers

/// `host:port` of a running emulator.
fn authority(emulator: &EmulatorHandle) -> String {
    emulator
        .base_url()
        .trim_start_matches("http://")
        .to_string()
}

/// A complete HTTP/1.1 request with `Connection: close`.
fn request(method: &str, path: &str, host: &str, headers: &[(&str, &str)], body: &str) -> Vec<u8> {
    let mut text = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    text.into_bytes()
}

/// A response as read off the wire.
struct Reply {
    status: u16,
    head: String,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

/// Sends `bytes` and reads the reply until the server closes the connection.
async fn send(addr: &str, bytes: &[u8]) -> Reply {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out).await;
    let text = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Reply {
        status,
        head: head.to_string(),
        body: body.to_string(),
    }
}

async fn post_json(addr: &str, path: &str, token: Option<&str>, body: &Value) -> Reply {
    let bearer = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(b) = &bearer {
        headers.push(("Authorization", b.as_str()));
    }
    send(
        addr,
        &request("POST", path, addr, &headers, &body.to_string()),
    )
    .await
}

async fn token(addr: &str, client_id: &str, secret: &str) -> String {
    let body = json!({"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret});
    let reply = post_json(addr, "/v1/access_tokens", None, &body).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()["access_token"].as_str().unwrap().to_string()
}

/// An ES256 assertion over exactly these header and claims texts, signed with the demo key.
fn sign(header: &str, claims: &str) -> String {
    let key = SigningKey::from_pkcs8_pem(DEMO_PRIVATE_KEY_PEM).unwrap();
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let signature: Signature = key.sign(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
}

fn assertion_for(aud: &str) -> String {
    let claims = json!({
        "ver": 2, "iss": DEMO_KEY_ID, "aud": aud,
        "iat": chrono::Utc::now().timestamp(), "jti": uuid::Uuid::new_v4().to_string(),
    });
    sign(r#"{"alg":"ES256","typ":"JWT"}"#, &claims.to_string())
}

fn demo_with_second_app() -> EmulatorConfig {
    let mut config = EmulatorConfig::demo();
    config.applications.push(ApplicationConfig {
        client_id: "second-app".into(),
        client_secret: Some("second-app-secret".into()),
        public_keys: Default::default(),
        scopes: ALL_SCOPES.iter().map(|s| s.to_string()).collect(),
    });
    config
}

/// A published spec as YAML, read where `cargo xtask fetch` puts it.
fn spec(file: &str) -> serde_json::Value {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "..",
        "..",
        "openapi",
        "fetched",
        file,
    ]
    .iter()
    .collect();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {} ({e}); run `cargo xtask fetch` first",
            path.display()
        )
    });
    xtask::yaml::parse(&text, &path).unwrap()
}

fn enum_of(spec: &serde_json::Value, schema: &str, property: &str) -> Vec<String> {
    spec["components"]["schemas"][schema]["properties"][property]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

fn is_oauth_error(reply: &Reply) -> bool {
    let body = reply.json();
    (400..500).contains(&reply.status)
        && body["error"].is_string()
        && body["error_description"].is_string()
}

fn is_fleet_error(reply: &Reply) -> bool {
    (400..500).contains(&reply.status)
        && reply.json()["errors"][0]["title"].is_string()
        && reply
            .header("content-type")
            .is_some_and(|ct| ct.starts_with("application/json"))
}

// ---------------------------------------------------------------------------------------------
// Hangs: a client that stops sending holds its connection, and the server, forever

#[tokio::test(start_paused = true)]
async fn attack_stalled_request_body_is_timed_out() {
    let emulator = Emulator::start(EmulatorConfig::demo()).await.unwrap();
    let addr = authority(&emulator);
    let mut stream = TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /v1/access_tokens HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: 100\r\n\r\n{{\"grant_type\""
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    // Virtual time: the paused clock jumps to the server's timeout (if it has one) at no cost.
    let mut buf = [0u8; 1024];
    let answered = tokio::time::timeout(PATIENCE, stream.read(&mut buf)).await;
    assert!(
        answered.is_ok(),
        "after an hour without body bytes the server still neither answered (408) nor closed the connection"
    );
}

#[tokio::test(start_paused = true)]
async fn attack_stalled_request_head_is_timed_out() {
    let emulator = Emulator::start(EmulatorConfig::demo()).await.unwrap();
    let addr = authority(&emulator);
    let mut stream = TcpStream::connect(&addr).await.unwrap();
    let head = format!("GET /v1/fleets/vehicles HTTP/1.1\r\nHost: {addr}\r\nX-Slow: a");
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut buf = [0u8; 1024];
    let answered = tokio::time::timeout(PATIENCE, stream.read(&mut buf)).await;
    assert!(
        answered.is_ok(),
        "after an hour of an unfinished request head the server still holds the connection open"
    );
}

#[tokio::test(start_paused = true)]
async fn attack_shutdown_completes_despite_a_stalled_client() {
    let emulator = Emulator::start(EmulatorConfig::demo()).await.unwrap();
    let addr = authority(&emulator);
    let mut stream = TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /v1/access_tokens HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: 100\r\n\r\n{{"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    tokio::task::yield_now().await;
    let stopped = tokio::time::timeout(PATIENCE, emulator.shutdown()).await;
    assert!(
        stopped.is_ok(),
        "shutdown() did not return within an hour while one client held a half-sent request"
    );
    drop(stream);
}

/// The demo with the given timeouts (seconds): head, body, shutdown grace.
fn demo_with_timeouts(head: u64, body: u64, grace: u64) -> EmulatorConfig {
    let mut config = EmulatorConfig::demo();
    config.limits.request_head_timeout_secs = head;
    config.limits.request_body_timeout_secs = body;
    config.limits.shutdown_grace_secs = grace;
    config
}

#[tokio::test(start_paused = true)]
async fn a_stalled_body_gets_408_in_the_api_shape_after_the_configured_timeout() {
    let emulator = Emulator::start(demo_with_timeouts(3600, 2, 5))
        .await
        .unwrap();
    let addr = authority(&emulator);
    let mut stream = TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /v1/access_tokens HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: 100\r\n\r\n{{\"grant_type\""
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let started = tokio::time::Instant::now();
    let mut out = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut out))
        .await
        .expect("no answer within an hour")
        .unwrap();
    let waited = started.elapsed();
    let text = String::from_utf8_lossy(&out);
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let reply = Reply {
        status: head.split_whitespace().nth(1).unwrap().parse().unwrap(),
        head: head.to_string(),
        body: body.to_string(),
    };
    assert_eq!(reply.status, 408, "{text}");
    assert!(is_oauth_error(&reply), "{text}");
    assert!(reply.body.contains("request_body_timeout_secs"), "{text}");
    // Virtual time: the answer came when the configured timeout ran out, not before.
    assert!(
        waited >= Duration::from_secs(2) && waited < Duration::from_secs(60),
        "{waited:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_stalled_head_is_closed_after_the_configured_timeout() {
    let emulator = Emulator::start(demo_with_timeouts(3, 3600, 5))
        .await
        .unwrap();
    let addr = authority(&emulator);
    let mut stream = TcpStream::connect(&addr).await.unwrap();
    stream
        .write_all(b"GET /v1/fleets/vehicles HTTP/1.1\r\nX-Slow: a")
        .await
        .unwrap();
    let started = tokio::time::Instant::now();
    let mut out = Vec::new();
    let read = tokio::time::timeout(PATIENCE, stream.read_to_end(&mut out)).await;
    let waited = started.elapsed();
    assert!(read.is_ok(), "the connection is still open after an hour");
    assert!(
        waited >= Duration::from_secs(3) && waited < Duration::from_secs(60),
        "{waited:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn shutdown_closes_a_stalled_connection_after_the_grace_period() {
    // The body timeout is longer than the test's patience: only the shutdown deadline can end it.
    let emulator = Emulator::start(demo_with_timeouts(3600, 3600, 2))
        .await
        .unwrap();
    let addr = authority(&emulator);
    let mut stream = TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /v1/access_tokens HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: 100\r\n\r\n{{"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    // Let the server take the request in before it is told to stop.
    let mut probe = [0u8; 1];
    let _ = tokio::time::timeout(Duration::from_secs(1), stream.read(&mut probe)).await;
    let started = tokio::time::Instant::now();
    tokio::time::timeout(Duration::from_secs(600), emulator.shutdown())
        .await
        .expect("shutdown did not finish within 10 minutes")
        .unwrap();
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(2) && waited < Duration::from_secs(60),
        "{waited:?}"
    );
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(PATIENCE, stream.read_to_end(&mut rest)).await;
    assert!(
        closed.is_ok(),
        "the stalled connection is still open after shutdown"
    );
}

// ---------------------------------------------------------------------------------------------
// Leniency: requests the real API (or the published spec) refuses

#[tokio::test]
async fn attack_content_type_with_a_repeated_charset_is_refused() {
    let emulator = Emulator::start(EmulatorConfig::demo()).await.unwrap();
    let addr = authority(&emulator);
    // RFC 6838 §4.3: a parameter must not be given twice. Today the verdict depends on the order:
    // "charset=iso-8859-1; charset=utf-8" is refused, the same two the other way round get a token.
    let odd = "application/json; charset=utf-8; charset=iso-8859-1";
    let body = json!({"grant_type": "client_credentials", "client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET});
    let reply = send(
        &addr,
        &request(
            "POST",
            "/v1/access_tokens",
            &addr,
            &[("Content-Type", odd)],
            &body.to_string(),
        ),
    )
    .await;
    assert!(
        is_oauth_error(&reply),
        "token endpoint answered {} {}",
        reply.status,
        reply.body
    );

    let bearer = format!(
        "Bearer {}",
        token(&addr, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET).await
    );
    let body = json!({"vin": DEMO_VIN_APPROVED, "brand": "sandbox"});
    let reply = send(
        &addr,
        &request(
            "POST",
            "/v1/eligibility",
            &addr,
            &[("Content-Type", odd), ("Authorization", &bearer)],
            &body.to_string(),
        ),
    )
    .await;
    assert!(
        is_fleet_error(&reply),
        "eligibility answered {} {}",
        reply.status,
        reply.body
    );
}

#[tokio::test]
async fn attack_host_port_with_leading_zeros_is_no_audience_alias() {
    let emulator = Emulator::start(EmulatorConfig::demo()).await.unwrap();
    let addr = authority(&emulator);
    let (ip, port) = addr.rsplit_once(':').unwrap();
    for alias in [format!("{ip}:0{port}"), format!("{ip}:000{port}")] {
        let body = json!({
            "grant_type": "client_credentials", "client_id": DEMO_CLIENT_ID,
            "client_assertion_type": JWT_BEARER,
            "client_assertion": assertion_for(&format!("http://{alias}/v1")),
        });
        let reply = send(
            &addr,
            &request(
                "POST",
                "/v1/access_tokens",
                &alias,
                &[("Content-Type", "application/json")],
                &body.to_string(),
            ),
        )
        .await;
        assert!(
            is_oauth_error(&reply),
            "Host {alias} with aud http://{alias}/v1 got {} {}",
            reply.status,
            reply.body
        );
    }
}

#[tokio::test]
async fn attack_eligibility_refuses_brands_outside_its_published_enum() {
    let eligibility = enum_of(&spec("hm-eligibility-v1.yml"), "Request", "brand");
    let clearance = enum_of(&spec("hm-fleet-clearance-v1.yml"), "FleetVehicle", "brand");
    let outside: Vec<&String> = clearance
        .iter()
        .filter(|b| !eligibility.contains(b))
        .collect();
    assert!(
        !outside.is_empty(),
        "the specs no longer differ; nothing to check"
    );

    let emulator = Emulator::start(EmulatorConfig::demo()).await.unwrap();
    let addr = authority(&emulator);
    let token = token(&addr, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET).await;
    let mut accepted = Vec::new();
    for brand in outside {
        let body = json!({"vin": DEMO_VIN_APPROVED, "brand": brand});
        let reply = post_json(&addr, "/v1/eligibility", Some(&token), &body).await;
        if reply.status == 200 {
            accepted.push(brand.as_str());
        }
    }
    assert!(
        accepted.is_empty(),
        "brands outside the eligibility spec's enum got 200: {accepted:?}"
    );
}

#[tokio::test]
async fn attack_clearance_filter_with_duplicate_keys_is_refused() {
    let emulator = Emulator::start(EmulatorConfig::demo()).await.unwrap();
    let addr = authority(&emulator);
    let bearer = format!(
        "Bearer {}",
        token(&addr, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET).await
    );
    for filter in [
        r#"{"vin":{"operator":"eq","value":"EXVETESTVIN000001"},"vin":{"operator":"eq","value":"EXVETESTVIN000002"}}"#,
        r#"{"status":{"operator":"eq","operator":"in","value":["approved"]}}"#,
    ] {
        let query: String = url::form_urlencoded::byte_serialize(filter.as_bytes()).collect();
        let reply = send(
            &addr,
            &request(
                "GET",
                &format!("/v1/fleets/vehicles?filter={query}"),
                &addr,
                &[("Authorization", &bearer)],
                "",
            ),
        )
        .await;
        assert!(
            reply.status == 400 && is_fleet_error(&reply),
            "filter {filter} got {} {}",
            reply.status,
            reply.body
        );
    }
}

#[tokio::test]
async fn attack_revoking_another_applications_token_is_refused() {
    let emulator = Emulator::start(demo_with_second_app()).await.unwrap();
    let addr = authority(&emulator);
    let victim = token(&addr, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET).await;
    let body =
        json!({"token": victim, "client_id": "second-app", "client_secret": "second-app-secret"});
    let reply = send(
        &addr,
        &request(
            "DELETE",
            "/v1/access_tokens",
            &addr,
            &[("Content-Type", "application/json")],
            &body.to_string(),
        ),
    )
    .await;
    // The token stays valid (correct), but the caller is told it was revoked.
    assert!(
        is_oauth_error(&reply),
        "revoking a token issued to another client answered {} {:?}",
        reply.status,
        reply.body
    );
}

// ---------------------------------------------------------------------------------------------
// Secrets echoed back

#[tokio::test]
async fn attack_token_error_does_not_echo_the_client_secret() {
    let emulator = Emulator::start(EmulatorConfig::demo()).await.unwrap();
    let addr = authority(&emulator);
    // A careless client: JSON body, form Content-Type (or a form with ':' for '=').
    let json_body = json!({"grant_type": "client_credentials", "client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET}).to_string();
    let form_typo = format!(
        "grant_type=client_credentials&client_id={DEMO_CLIENT_ID}&client_secret:{DEMO_CLIENT_SECRET}"
    );
    for body in [json_body, form_typo] {
        let reply = send(
            &addr,
            &request(
                "POST",
                "/v1/access_tokens",
                &addr,
                &[("Content-Type", "application/x-www-form-urlencoded")],
                &body,
            ),
        )
        .await;
        assert!(is_oauth_error(&reply), "{}", reply.body);
        assert!(
            !reply.body.contains(DEMO_CLIENT_SECRET),
            "the error echoes the client secret: {}",
            reply.body
        );
    }
}

#[test]
fn attack_config_error_does_not_echo_the_client_secret() {
    let secret = "s3cr3t-0f-the-fleet-operator";
    for toml_text in [
        format!("[[applications]]\nclient_id = \"svc\"\nclient_secret = {secret}\n"),
        format!("[[applications]]\nclient_id = \"svc\"\nclient_secret = [\"{secret}\"]\n"),
        format!(
            "[[applications]]\nclient_id = \"svc\"\nclient_secret = \"{secret}\" # rotated\nclient_secret = \"x\"\n"
        ),
        format!("[[applications]]\nclient_id = \"svc\"\nclient_secret = \"{secret}\nscopes = []\n"),
    ] {
        let error = EmulatorConfig::from_toml_str(&toml_text)
            .unwrap_err()
            .to_string();
        assert!(
            !error.contains(secret),
            "the config error prints the secret: {error}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Responses outside the published schema, and what the issue asked for

#[test]
fn attack_config_refuses_eligibility_values_outside_the_spec_enums() {
    let vehicle = |extra: &str| {
        format!(
            "[[applications]]\nclient_id = \"svc\"\nclient_secret = \"s\"\n\n\
             [[vehicles]]\nvin = \"WBA12345678901234\"\nbrand = \"bmw\"\n{extra}\n"
        )
    };
    // Typos that the emulator would serve verbatim in a 200 from POST /v1/eligibility.
    for extra in [
        "connectivity_status = \"activ\"",
        "connectivity_status = \"Activated\"",
        "data_delivery = [\"pul\"]",
        "data_delivery = [\"pull\", \"stream\"]",
    ] {
        assert!(
            EmulatorConfig::from_toml_str(&vehicle(extra)).is_err(),
            "config accepted `{extra}`, which the eligibility SuccessResponse schema forbids"
        );
    }
}

#[tokio::test]
async fn attack_vehicle_data_serves_every_capability_of_the_spec() {
    let vehicle_data = spec("hm-vehicle-data-api-v1.yml");
    let capabilities: Vec<String> = vehicle_data["components"]["schemas"]["response"]["properties"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, schema)| schema.get("$ref").is_some())
        .map(|(name, _)| name.clone())
        .collect();
    assert!(capabilities.len() > 20, "{capabilities:?}");

    let emulator = Emulator::start(EmulatorConfig::demo()).await.unwrap();
    let addr = authority(&emulator);
    let token = token(&addr, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET).await;
    let request_body = json!({"vehicles": [{"vin": DEMO_VIN_APPROVED, "brand": "sandbox"}]});
    let reply = post_json(&addr, "/v1/fleets/vehicles", Some(&token), &request_body).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    emulator.advance(Duration::from_secs(3));
    let bearer = format!("Bearer {token}");
    let reply = send(
        &addr,
        &request(
            "GET",
            &format!("/v1/vehicle-data/autoapi-13/{DEMO_VIN_APPROVED}"),
            &addr,
            &[("Authorization", &bearer)],
            "",
        ),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let document = reply.json();
    let missing: Vec<&String> = capabilities
        .iter()
        .filter(|c| document.get(c.as_str()).is_none())
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} capabilities missing ({} bytes served): {missing:?}",
        missing.len(),
        capabilities.len(),
        reply.body.len()
    );
}

#[tokio::test]
async fn attack_register_key_refuses_a_key_id_of_another_application() {
    let emulator = Emulator::start(demo_with_second_app()).await.unwrap();
    let other_public = include_str!("../testdata/other-public.pem");
    // The config loader refuses a key id used by two applications; the run-time API should too.
    let moved = emulator.register_key("second-app", DEMO_KEY_ID, other_public);
    let addr = authority(&emulator);
    let body = json!({
        "grant_type": "client_credentials", "client_id": DEMO_CLIENT_ID,
        "client_assertion_type": JWT_BEARER,
        "client_assertion": assertion_for(&format!("http://{addr}/v1")),
    });
    let reply = post_json(&addr, "/v1/access_tokens", None, &body).await;
    assert!(
        moved.is_err() && reply.status == 200,
        "register_key returned {moved:?}; the demo application's own assertion then got {} {}",
        reply.status,
        reply.body
    );
}

// ---------------------------------------------------------------------------------------------
// Error shape of what hyper refuses before the router runs

#[tokio::test]
async fn attack_oversized_request_head_gets_an_api_shaped_error() {
    let emulator = Emulator::start(EmulatorConfig::demo()).await.unwrap();
    let addr = authority(&emulator);
    let many_headers: Vec<(String, String)> = (0..150)
        .map(|i| (format!("X-Extra-{i}"), "v".to_string()))
        .collect();
    let headers: Vec<(&str, &str)> = many_headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let cases = [
        (
            "150 headers",
            request("POST", "/v1/access_tokens", &addr, &headers, ""),
        ),
        (
            "a 100 kB query",
            request(
                "POST",
                &format!("/v1/access_tokens?{}", "a".repeat(100_000)),
                &addr,
                &[],
                "",
            ),
        ),
    ];
    for (what, bytes) in cases {
        let reply = send(&addr, &bytes).await;
        assert!(
            is_oauth_error(&reply),
            "{what}: {} with head {:?} and body {:?}",
            reply.status,
            reply.head,
            reply.body
        );
    }
}

#[tokio::test]
async fn a_malformed_request_head_gets_an_api_shaped_400() {
    let emulator = Emulator::start(EmulatorConfig::demo()).await.unwrap();
    let addr = authority(&emulator);
    let bytes =
        format!("GET /v1/fleets/vehicles HTTP/1.1\r\nHost: {addr}\r\nno colon here\r\n\r\n");
    let reply = send(&addr, bytes.as_bytes()).await;
    assert_eq!(reply.status, 400, "{:?}", reply.head);
    assert!(is_fleet_error(&reply), "{:?} {:?}", reply.head, reply.body);
}

#[tokio::test]
async fn attack_declared_oversize_body_is_refused_before_upload() {
    let emulator = Emulator::start(EmulatorConfig::demo()).await.unwrap();
    let addr = authority(&emulator);
    let limit = emulator.config().limits.max_body_bytes;
    let head = format!(
        "POST /v1/access_tokens HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nExpect: 100-continue\r\n\r\n",
        limit * 20
    );
    let mut stream = TcpStream::connect(&addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut first = Vec::new();
    let mut buf = [0u8; 1024];
    while !first.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await.unwrap();
        if n == 0 {
            break;
        }
        first.extend_from_slice(&buf[..n]);
    }
    let first = String::from_utf8_lossy(&first);
    assert!(
        first.starts_with("HTTP/1.1 413"),
        "a declared {} byte body was answered with {:?}",
        limit * 20,
        first.lines().next()
    );
}
