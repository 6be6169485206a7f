//! Shared test helpers: a spec-checking HTTP client and assertion signing.
#![allow(dead_code, clippy::unwrap_used)]

pub mod jwt;
pub mod spec;

use std::time::Duration;

use hm_emulator::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Emulator, EmulatorConfig, EmulatorHandle};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Method;
use serde_json::{Value, json};

/// Spec file names.
pub const OAUTH: &str = "hm-oauth-rest-v1.yml";
pub const ELIGIBILITY: &str = "hm-eligibility-v1.yml";
pub const CLEARANCE: &str = "hm-fleet-clearance-v1.yml";
pub const VEHICLE_DATA: &str = "hm-vehicle-data-api-v1.yml";
pub const STATIC_DATA: &str = "hm-vehicle-static-data-api-v1.yml";

/// The demo config with a frozen virtual clock, so only `advance` moves time.
pub fn frozen_demo() -> EmulatorConfig {
    EmulatorConfig {
        follow_real_time: false,
        ..EmulatorConfig::demo()
    }
}

/// A response, decoded as JSON (`Null` when the body is empty).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

/// Talks to an emulator and checks every answer against the spec of the operation called.
pub struct Checked {
    pub emulator: EmulatorHandle,
    pub http: reqwest::Client,
}

impl Checked {
    pub async fn start(config: EmulatorConfig) -> Self {
        Self {
            emulator: Emulator::start(config).await.unwrap(),
            http: reqwest::Client::new(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.emulator.base_url(), path)
    }

    /// Sends `method path` (with optional bearer token and JSON body); `template` names the spec
    /// operation whose response schema the answer must match.
    pub async fn call(
        &self,
        spec_file: &str,
        template: &str,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Reply {
        let mut request = self.http.request(method.clone(), self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|e| panic!("{method} {path}: body is not JSON ({e})"))
        };
        spec::assert_matches(spec_file, template, method.as_str(), status, &body);
        Reply {
            status,
            headers,
            body,
        }
    }

    /// `POST /v1/access_tokens` with a JSON body.
    pub async fn token_request(&self, body: &Value) -> Reply {
        self.call(
            OAUTH,
            "/v1/access_tokens",
            Method::POST,
            "/v1/access_tokens",
            None,
            Some(body),
        )
        .await
    }

    /// A token of the demo application by the client-secret flow.
    pub async fn demo_token(&self) -> String {
        let reply = self
            .token_request(&json!({
                "grant_type": "client_credentials",
                "client_id": DEMO_CLIENT_ID,
                "client_secret": DEMO_CLIENT_SECRET,
            }))
            .await;
        assert_eq!(reply.status, 200, "{:?}", reply.body);
        reply.body["access_token"].as_str().unwrap().to_string()
    }

    pub async fn clearance(
        &self,
        method: Method,
        path: &str,
        template: &str,
        token: &str,
        body: Option<&Value>,
    ) -> Reply {
        self.call(CLEARANCE, template, method, path, Some(token), body)
            .await
    }

    /// Requests clearance for `vins` (with their brand) and asserts each is pending.
    pub async fn request_clearance(&self, token: &str, vehicles: &[(&str, &str)]) {
        let vehicles: Vec<Value> = vehicles
            .iter()
            .map(|(vin, brand)| json!({"vin": vin, "brand": brand}))
            .collect();
        let reply = self
            .clearance(
                Method::POST,
                "/v1/fleets/vehicles",
                "/v1/fleets/vehicles",
                token,
                Some(&json!({"vehicles": vehicles})),
            )
            .await;
        assert_eq!(reply.status, 200);
        for v in reply.body["vehicles"].as_array().unwrap() {
            assert_eq!(v["status"], "pending", "{v}");
        }
    }

    pub fn advance(&self, secs: u64) {
        self.emulator.advance(Duration::from_secs(secs));
    }
}

/// The spec file of the API a path belongs to, by its error family.
pub fn family_spec(path: &str) -> &'static str {
    let under = |prefix: &str| {
        path.strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/') || rest.starts_with('?'))
    };
    if under("/v1/access_tokens") {
        OAUTH
    } else if under("/v1/vehicle-data") || under("/v1/vehicle-static-data") {
        VEHICLE_DATA
    } else {
        CLEARANCE
    }
}

/// Asserts that an error answer to `path` is JSON in the shape of the path's API: OAuth
/// `{error, error_description}`, fleet `{errors: [{title, ...}]}`, data `{errors, request_id}`.
pub fn assert_api_error(path: &str, status: u16, content_type: Option<&str>, body: &Value) {
    assert!((400..600).contains(&status), "{path}: {status} is no error");
    assert_eq!(
        content_type,
        Some("application/json"),
        "{path}: {status} {body}"
    );
    let file = family_spec(path);
    spec::assert_error_family(file, body);
    let text = |v: &Value| v.as_str().is_some_and(|s| !s.is_empty());
    let shaped = match file {
        OAUTH => text(&body["error"]) && text(&body["error_description"]),
        VEHICLE_DATA => text(&body["errors"][0]["title"]) && text(&body["request_id"]),
        _ => text(&body["errors"][0]["title"]),
    };
    assert!(
        shaped,
        "{path}: {status} is not in its API's error shape: {body}"
    );
}

/// Sends a raw request and returns status, Content-Type and the body as JSON (`Null` if empty);
/// panics if a non-empty body is not JSON.
pub async fn raw(request: reqwest::RequestBuilder) -> (u16, Option<String>, Value) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let bytes = response.bytes().await.unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {}",
                String::from_utf8_lossy(&bytes)
            )
        })
    };
    (status, content_type, body)
}

/// Claims of a client assertion, as High Mobility expects them unless a test breaks one on purpose.
pub fn assertion_claims(key_id: &str, aud: &str) -> Value {
    json!({
        "ver": 2,
        "iss": key_id,
        "aud": aud,
        "iat": chrono::Utc::now().timestamp(),
        "jti": uuid::Uuid::new_v4().to_string(),
    })
}

/// Signs `claims` with ES256 and the PKCS#8 PEM `private_key`.
pub fn sign(claims: &Value, private_key: &str) -> String {
    let key = EncodingKey::from_ec_pem(private_key.as_bytes()).unwrap();
    jsonwebtoken::encode(&Header::new(Algorithm::ES256), claims, &key).unwrap()
}

/// The body of an assertion-flow token request.
pub fn assertion_request(client_id: &str, assertion: &str) -> Value {
    json!({
        "grant_type": "client_credentials",
        "client_id": client_id,
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion,
    })
}
