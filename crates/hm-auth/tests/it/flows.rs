//! Both token flows end to end through real HTTP, and the JWT assertion checked independently.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hm_auth::Credentials;
use httpmock::Method::{GET, POST};
use httpmock::MockServer;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use p256::ecdsa::signature::Verifier;
use p256::pkcs8::DecodePublicKey;
use serde_json::{Value, json};

use crate::support::*;

/// The example assertion of the published spec (`hm-oauth-rest-v1.yml`).
const SPEC_EXAMPLE_ASSERTION: &str = "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.eyJhdWQiOiJodHRwOi8vbG9jYWxob3N0OjQwMDAvdjEiLCJpc3MiOiI1ZTNjYzM0OS0xYzZmLTQ5NzUtYWVhYS05ZDMxOTA4NjE5MGIiLCJ2ZXIiOjIsImlhdCI6MTY5ODIzMjUwNywianRpIjoic2VqTG8xMnRENzNZSFE9PSJ9.HTZp4E5CJvGgk-XnWrKizQ6itqHmARXuE4iBYYztJ-6EGNTMAzkdSUMZB7aWSjfcXQyS9-08xp3yBrmf-9QWAA";

fn decode_part(part: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

fn keys(value: &Value) -> BTreeSet<String> {
    value.as_object().unwrap().keys().cloned().collect()
}

/// The JSON type of each claim, e.g. `ver` -> "number".
fn shape(value: &Value) -> Vec<(String, &'static str)> {
    value
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            let kind = match v {
                Value::Number(n) if n.is_u64() => "integer",
                Value::String(_) => "string",
                _ => "other",
            };
            (k.clone(), kind)
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

async fn get_through(auth: &hm_auth::Authenticator, server: &MockServer) -> reqwest::Response {
    let client = reqwest::Client::new();
    let mut request = client
        .get(server.url("/v1/fleets/vehicles"))
        .build()
        .unwrap();
    auth.authorize(&mut request).await.unwrap();
    let header = &request.headers()["authorization"];
    assert!(
        header.is_sensitive(),
        "the Authorization header must be marked sensitive"
    );
    auth.send_authorized(&client, request).await.unwrap()
}

#[tokio::test]
async fn client_secret_flow_end_to_end() {
    let server = MockServer::start_async().await;
    let token = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/v1/access_tokens")
                .header("content-type", "application/json")
                .json_body(json!({
                    "client_id": CLIENT_ID,
                    "client_secret": CLIENT_SECRET,
                    "grant_type": "client_credentials",
                }));
            then.status(200).json_body(token_reply(TOKEN, 300));
        })
        .await;
    let api = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/v1/fleets/vehicles")
                .header("authorization", format!("Bearer {TOKEN}"));
            then.status(200).json_body(json!([]));
        })
        .await;

    let auth = authenticator(&server, secret_credentials());
    let response = get_through(&auth, &server).await;
    assert_eq!(response.status(), 200);
    token.assert_calls_async(1).await;
    api.assert_calls_async(1).await;

    let access = auth.access_token().await.unwrap();
    assert_eq!(access.expose_secret(), TOKEN);
    assert_eq!(
        access.scopes(),
        [
            "fleet:clearance",
            "vehicle:eligibility-check",
            "vehicle:data"
        ]
    );
    assert_eq!(access.lifetime(), Duration::from_secs(300));
    assert!(access.expires_in() <= Duration::from_secs(300));
    assert!(access.expires_in() > Duration::from_secs(290));
    token.assert_calls_async(1).await;
}

#[tokio::test]
async fn jwt_assertion_flow_end_to_end_with_independently_verified_assertion() {
    let server = MockServer::start_async().await;
    let (token, bodies) = recording_token_endpoint(&server, TOKEN).await;
    let api = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/v1/fleets/vehicles")
                .header("authorization", format!("Bearer {TOKEN}"));
            then.status(200).json_body(json!([]));
        })
        .await;

    let key = test_key();
    let credentials = Credentials::private_key_pem(CLIENT_ID, KEY_ID, &key.pkcs8_pem).unwrap();
    let auth = authenticator(&server, credentials.clone());
    assert_eq!(get_through(&auth, &server).await.status(), 200);
    token.assert_calls_async(1).await;
    api.assert_calls_async(1).await;

    let body = bodies.lock().unwrap()[0].clone();
    assert_eq!(
        keys(&body),
        [
            "client_assertion",
            "client_assertion_type",
            "client_id",
            "grant_type"
        ]
        .map(String::from)
        .into()
    );
    assert_eq!(body["client_id"], CLIENT_ID);
    assert_eq!(body["grant_type"], "client_credentials");
    assert_eq!(
        body["client_assertion_type"],
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    );
    let assertion = body["client_assertion"].as_str().unwrap();
    let audience = format!("{}/v1", server.base_url());

    // 1. Independent check of the signature with p256 alone: raw r||s over `header.claims`.
    let parts: Vec<&str> = assertion.split('.').collect();
    assert_eq!(parts.len(), 3);
    let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    assert_eq!(signature.len(), 64, "JOSE form (r||s), not DER");
    let verifying = p256::ecdsa::VerifyingKey::from_public_key_pem(&key.public_pem).unwrap();
    let signature = p256::ecdsa::Signature::from_slice(&signature).unwrap();
    verifying
        .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature)
        .expect("signature verifies with the public key");

    // 2. The same through jsonwebtoken's verifier, with audience and issuer checks.
    let mut validation = Validation::new(Algorithm::ES256);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.set_audience(&[&audience]);
    validation.set_issuer(&[KEY_ID]);
    let decoding = DecodingKey::from_ec_pem(key.public_pem.as_bytes()).unwrap();
    jsonwebtoken::decode::<Value>(assertion, &decoding, &validation).unwrap();

    // 3. Header and claims, exactly.
    let header = decode_part(parts[0]);
    assert_eq!(header, json!({"alg": "ES256", "typ": "JWT"}));
    let claims = decode_part(parts[1]);
    assert_eq!(
        keys(&claims),
        ["aud", "iat", "iss", "jti", "ver"].map(String::from).into()
    );
    assert_eq!(claims["ver"], json!(2));
    assert_eq!(
        claims["iss"], KEY_ID,
        "iss is the key id, not the client id"
    );
    assert_eq!(claims["aud"], audience);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let iat = claims["iat"].as_u64().expect("iat is an integer");
    assert!(iat.abs_diff(now) <= 5, "iat {iat} vs now {now}");
    let jti = uuid::Uuid::parse_str(claims["jti"].as_str().unwrap()).unwrap();
    assert_eq!(jti.get_version_num(), 4);

    // 4. Same structure as the published example.
    let example: Vec<&str> = SPEC_EXAMPLE_ASSERTION.split('.').collect();
    assert_eq!(decode_part(example[0]), header);
    let example_claims = decode_part(example[1]);
    assert_eq!(keys(&example_claims), keys(&claims));
    let mut example_shape = shape(&example_claims);
    let mut our_shape = shape(&claims);
    example_shape.sort();
    our_shape.sort();
    assert_eq!(our_shape, example_shape);

    // 5. Every token request carries a new assertion.
    let second = authenticator(&server, credentials);
    second.access_token().await.unwrap();
    let bodies = bodies.lock().unwrap();
    assert_eq!(bodies.len(), 2);
    let second_claims = decode_part(
        bodies[1]["client_assertion"]
            .as_str()
            .unwrap()
            .split('.')
            .nth(1)
            .unwrap(),
    );
    assert_ne!(second_claims["jti"], claims["jti"]);
}

#[tokio::test]
async fn console_key_file_flow_end_to_end() {
    let server = MockServer::start_async().await;
    let (token, bodies) = recording_token_endpoint(&server, TOKEN).await;
    let key = test_key();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("key.json");
    std::fs::write(
        &path,
        json!({"id": KEY_ID, "private_key": key.sec1_pem}).to_string(),
    )
    .unwrap();
    let auth = authenticator(
        &server,
        Credentials::private_key_file(CLIENT_ID, &path).unwrap(),
    );
    assert_eq!(auth.access_token().await.unwrap().expose_secret(), TOKEN);
    token.assert_calls_async(1).await;
    let assertion = bodies.lock().unwrap()[0]["client_assertion"]
        .as_str()
        .unwrap()
        .to_owned();
    let claims = decode_part(assertion.split('.').nth(1).unwrap());
    assert_eq!(claims["iss"], KEY_ID);
}
