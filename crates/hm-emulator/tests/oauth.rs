//! The token endpoint: both flows, each way an assertion can be wrong, revocation, expiry, and
//! how the other APIs refuse bad tokens.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;

use common::*;
use hm_emulator::{
    ApplicationConfig, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_KEY_ID, DEMO_PRIVATE_KEY_PEM,
    DEMO_VIN_APPROVED, EmulatorConfig,
};
use reqwest::Method;
use serde_json::{Value, json};

const OTHER_PRIVATE_KEY: &str = include_str!("../testdata/other-private.pem");
const OTHER_PUBLIC_KEY: &str = include_str!("../testdata/other-public.pem");

fn assert_oauth_error(reply: &Reply, error: &str, description_part: &str) {
    assert_eq!(reply.status, 400, "{:?}", reply.body);
    assert_eq!(reply.body["error"], error, "{:?}", reply.body);
    let description = reply.body["error_description"].as_str().unwrap();
    assert!(
        description.contains(description_part),
        "{description:?} lacks {description_part:?}"
    );
}

async fn eligibility(api: &Checked, token: Option<&str>) -> Reply {
    let body = json!({"vin": DEMO_VIN_APPROVED, "brand": "sandbox"});
    api.call(
        ELIGIBILITY,
        "/v1/eligibility",
        Method::POST,
        "/v1/eligibility",
        token,
        Some(&body),
    )
    .await
}

#[tokio::test]
async fn client_secret_flow_issues_a_working_bearer_token() {
    let api = Checked::start(frozen_demo()).await;
    let reply = api
        .token_request(&json!({
            "grant_type": "client_credentials",
            "client_id": DEMO_CLIENT_ID,
            "client_secret": DEMO_CLIENT_SECRET,
        }))
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["token_type"], "bearer");
    assert_eq!(reply.body["expires_in"], 300);
    let scope = reply.body["scope"].as_str().unwrap();
    for s in [
        "fleet:clearance",
        "vehicle:eligibility-check",
        "vehicle:data",
    ] {
        assert!(scope.split(' ').any(|x| x == s), "{scope} lacks {s}");
    }
    let token = reply.body["access_token"].as_str().unwrap();
    assert_eq!(eligibility(&api, Some(token)).await.status, 200);
}

#[tokio::test]
async fn assertion_flow_issues_a_working_bearer_token() {
    let api = Checked::start(frozen_demo()).await;
    let assertion = sign(
        &assertion_claims(DEMO_KEY_ID, &api.emulator.audience()),
        DEMO_PRIVATE_KEY_PEM,
    );
    let reply = api
        .token_request(&assertion_request(DEMO_CLIENT_ID, &assertion))
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let token = reply.body["access_token"].as_str().unwrap();
    assert_eq!(eligibility(&api, Some(token)).await.status, 200);
}

/// Sends an assertion-flow token request with `Host: host` (the URL still points at 127.0.0.1).
async fn token_via_host(api: &Checked, host: &str, aud: &str) -> Reply {
    let assertion = sign(&assertion_claims(DEMO_KEY_ID, aud), DEMO_PRIVATE_KEY_PEM);
    let response = api
        .http
        .post(api.url("/v1/access_tokens"))
        .header("host", host)
        .json(&assertion_request(DEMO_CLIENT_ID, &assertion))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body: Value = response.json().await.unwrap();
    spec::assert_matches(OAUTH, "/v1/access_tokens", "POST", status, &body);
    Reply {
        status,
        headers,
        body,
    }
}

#[tokio::test]
async fn the_audience_is_the_url_the_client_used_without_alias() {
    let api = Checked::start(frozen_demo()).await;
    let port = api
        .emulator
        .base_url()
        .rsplit(':')
        .next()
        .unwrap()
        .to_string();
    let by_ip = format!("127.0.0.1:{port}");
    let by_name = format!("localhost:{port}");
    // Each spelling is checked against the URL the client used...
    for host in [&by_ip, &by_name] {
        let reply = token_via_host(&api, host, &format!("http://{host}/v1")).await;
        assert_eq!(reply.status, 200, "{host}: {:?}", reply.body);
    }
    // ...and the other spelling is not an alias.
    let alias = token_via_host(&api, &by_ip, &format!("http://{by_name}/v1")).await;
    assert_oauth_error(&alias, "invalid_client", "aud");
    let alias = token_via_host(&api, &by_name, &format!("http://{by_ip}/v1")).await;
    assert_oauth_error(&alias, "invalid_client", "aud");
    // A Host that does not name this emulator cannot serve as the audience.
    for host in ["evil.example", "127.0.0.1:1", "localhost"] {
        let reply = token_via_host(&api, host, &format!("http://{host}/v1")).await;
        assert_oauth_error(&reply, "invalid_client", "does not name this emulator");
    }
}

#[tokio::test]
async fn wrong_secret_and_unknown_client_are_refused() {
    let api = Checked::start(frozen_demo()).await;
    let wrong = api
        .token_request(&json!({"grant_type": "client_credentials", "client_id": DEMO_CLIENT_ID, "client_secret": "nope"}))
        .await;
    assert_oauth_error(&wrong, "invalid_request", "client_secret is invalid");
    let unknown = api
        .token_request(&json!({"grant_type": "client_credentials", "client_id": "who", "client_secret": "nope"}))
        .await;
    assert_oauth_error(&unknown, "invalid_client", "client_id");
}

#[tokio::test]
async fn assertion_signed_with_the_wrong_key_is_refused() {
    let api = Checked::start(frozen_demo()).await;
    let assertion = sign(
        &assertion_claims(DEMO_KEY_ID, &api.emulator.audience()),
        OTHER_PRIVATE_KEY,
    );
    let reply = api
        .token_request(&assertion_request(DEMO_CLIENT_ID, &assertion))
        .await;
    assert_oauth_error(&reply, "invalid_client", "signature is invalid");
}

#[tokio::test]
async fn assertion_naming_an_unknown_key_is_refused() {
    let api = Checked::start(frozen_demo()).await;
    let assertion = sign(
        &assertion_claims("no-such-key", &api.emulator.audience()),
        DEMO_PRIVATE_KEY_PEM,
    );
    let reply = api
        .token_request(&assertion_request(DEMO_CLIENT_ID, &assertion))
        .await;
    assert_oauth_error(&reply, "invalid_client", "unknown key");
}

#[tokio::test]
async fn assertion_with_stale_or_future_iat_is_refused() {
    let api = Checked::start(frozen_demo()).await;
    for shift in [-120, 120] {
        let mut claims = assertion_claims(DEMO_KEY_ID, &api.emulator.audience());
        claims["iat"] = json!(chrono::Utc::now().timestamp() + shift);
        let reply = api
            .token_request(&assertion_request(
                DEMO_CLIENT_ID,
                &sign(&claims, DEMO_PRIVATE_KEY_PEM),
            ))
            .await;
        assert_oauth_error(&reply, "invalid_client", "iat");
    }
    // Inside the 30 s window is fine.
    let mut claims = assertion_claims(DEMO_KEY_ID, &api.emulator.audience());
    claims["iat"] = json!(chrono::Utc::now().timestamp() - 20);
    let reply = api
        .token_request(&assertion_request(
            DEMO_CLIENT_ID,
            &sign(&claims, DEMO_PRIVATE_KEY_PEM),
        ))
        .await;
    assert_eq!(reply.status, 200);
}

#[tokio::test]
async fn replayed_jti_is_refused() {
    let api = Checked::start(frozen_demo()).await;
    let assertion = sign(
        &assertion_claims(DEMO_KEY_ID, &api.emulator.audience()),
        DEMO_PRIVATE_KEY_PEM,
    );
    let first = api
        .token_request(&assertion_request(DEMO_CLIENT_ID, &assertion))
        .await;
    assert_eq!(first.status, 200);
    let replay = api
        .token_request(&assertion_request(DEMO_CLIENT_ID, &assertion))
        .await;
    assert_oauth_error(&replay, "invalid_client", "jti has already been used");
}

#[tokio::test]
async fn wrong_audience_is_refused() {
    let api = Checked::start(frozen_demo()).await;
    for aud in [
        "https://sandbox.api.high-mobility.com/v1".to_string(),
        api.emulator.base_url().to_string(), // without /v1
    ] {
        let assertion = sign(&assertion_claims(DEMO_KEY_ID, &aud), DEMO_PRIVATE_KEY_PEM);
        let reply = api
            .token_request(&assertion_request(DEMO_CLIENT_ID, &assertion))
            .await;
        assert_oauth_error(&reply, "invalid_client", "aud");
    }
}

#[tokio::test]
async fn wrong_version_and_missing_claims_are_refused() {
    let api = Checked::start(frozen_demo()).await;
    let aud = api.emulator.audience();
    let mut v1 = assertion_claims(DEMO_KEY_ID, &aud);
    v1["ver"] = json!(1);
    let mut no_jti = assertion_claims(DEMO_KEY_ID, &aud);
    no_jti.as_object_mut().unwrap().remove("jti");
    for (claims, part) in [(v1, "ver"), (no_jti, "jti")] {
        let reply = api
            .token_request(&assertion_request(
                DEMO_CLIENT_ID,
                &sign(&claims, DEMO_PRIVATE_KEY_PEM),
            ))
            .await;
        assert_oauth_error(&reply, "invalid_client", part);
    }
    let garbage = api
        .token_request(&assertion_request(DEMO_CLIENT_ID, "not.a.jwt"))
        .await;
    assert_oauth_error(&garbage, "invalid_client", "JWT");
}

#[tokio::test]
async fn key_of_another_application_is_refused() {
    let mut config = frozen_demo();
    config.applications.push(ApplicationConfig {
        client_id: "second-app".into(),
        client_secret: None,
        public_keys: BTreeMap::from([("second-key".to_string(), OTHER_PUBLIC_KEY.to_string())]),
        scopes: vec!["vehicle:data".into()],
    });
    let api = Checked::start(config).await;
    let assertion = sign(
        &assertion_claims("second-key", &api.emulator.audience()),
        OTHER_PRIVATE_KEY,
    );
    let reply = api
        .token_request(&assertion_request(DEMO_CLIENT_ID, &assertion))
        .await;
    assert_oauth_error(&reply, "invalid_client", "does not belong");
    // The secret flow is closed for an application without a secret.
    let reply = api
        .token_request(&json!({"grant_type": "client_credentials", "client_id": "second-app", "client_secret": "x"}))
        .await;
    assert_oauth_error(&reply, "invalid_client", "client_assertion");
}

#[tokio::test]
async fn malformed_requests_get_invalid_request() {
    let api = Checked::start(frozen_demo()).await;
    let blank = api.token_request(&json!({})).await;
    assert_oauth_error(
        &blank,
        "invalid_request",
        "client_id can't be blank, grant_type can't be blank",
    );
    let no_secret = api
        .token_request(&json!({"grant_type": "client_credentials", "client_id": DEMO_CLIENT_ID}))
        .await;
    assert_oauth_error(
        &no_secret,
        "invalid_request",
        "client_secret can't be blank",
    );
    let wrong_type = api
        .token_request(&json!({"grant_type": 7, "client_id": DEMO_CLIENT_ID}))
        .await;
    assert_oauth_error(
        &wrong_type,
        "invalid_request",
        "grant_type must be a string",
    );
    let grant = api
        .token_request(&json!({"grant_type": "refresh_token", "client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET}))
        .await;
    assert_oauth_error(&grant, "unsupported_grant_type", "client_credentials");
    let mut bad_type = assertion_request(DEMO_CLIENT_ID, "x.y.z");
    bad_type["client_assertion_type"] = json!("urn:other");
    assert_oauth_error(
        &api.token_request(&bad_type).await,
        "invalid_request",
        "client_assertion_type",
    );

    // Not JSON at all.
    let response = api
        .http
        .post(api.url("/v1/access_tokens"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    spec::assert_matches(OAUTH, "/v1/access_tokens", "POST", 400, &body);
    assert_eq!(body["error"], "invalid_request");
}

#[tokio::test]
async fn key_registered_at_run_time_works() {
    let api = Checked::start(frozen_demo()).await;
    api.emulator
        .register_key(DEMO_CLIENT_ID, "runtime-key", OTHER_PUBLIC_KEY)
        .unwrap();
    let assertion = sign(
        &assertion_claims("runtime-key", &api.emulator.audience()),
        OTHER_PRIVATE_KEY,
    );
    assert_eq!(
        api.token_request(&assertion_request(DEMO_CLIENT_ID, &assertion))
            .await
            .status,
        200
    );
    assert!(
        api.emulator
            .register_key("nobody", "k", OTHER_PUBLIC_KEY)
            .is_err()
    );
    assert!(
        api.emulator
            .register_key(DEMO_CLIENT_ID, "k", "garbage")
            .is_err()
    );
}

#[tokio::test]
async fn revoked_expired_unknown_and_missing_tokens_get_401() {
    let api = Checked::start(frozen_demo()).await;
    let token = api.demo_token().await;
    assert_eq!(eligibility(&api, None).await.status, 401);
    assert_eq!(eligibility(&api, Some("made-up")).await.status, 401);

    // Revocation needs the client's credentials.
    let revoke = |secret: &str| json!({"token": token, "client_id": DEMO_CLIENT_ID, "client_secret": secret, "token_type_hint": "access_token"});
    let refused = api
        .call(
            OAUTH,
            "/v1/access_tokens",
            Method::DELETE,
            "/v1/access_tokens",
            None,
            Some(&revoke("wrong")),
        )
        .await;
    assert_eq!(refused.status, 400);
    assert_eq!(eligibility(&api, Some(&token)).await.status, 200);
    let revoked = api
        .call(
            OAUTH,
            "/v1/access_tokens",
            Method::DELETE,
            "/v1/access_tokens",
            None,
            Some(&revoke(DEMO_CLIENT_SECRET)),
        )
        .await;
    assert_eq!(revoked.status, 200);
    let after = eligibility(&api, Some(&token)).await;
    assert_eq!(after.status, 401);
    assert_eq!(after.body["errors"][0]["title"], "Not authorized");

    let token = api.demo_token().await;
    api.advance(299);
    assert_eq!(eligibility(&api, Some(&token)).await.status, 200);
    api.advance(2);
    let expired = eligibility(&api, Some(&token)).await;
    assert_eq!(expired.status, 401);
    assert!(
        expired.body["errors"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("expired")
    );

    // Vehicle data has its own error shape, with a request_id.
    let data = api
        .call(
            VEHICLE_DATA,
            "/v1/vehicle-data/autoapi-13/{vin}",
            Method::GET,
            &format!("/v1/vehicle-data/autoapi-13/{DEMO_VIN_APPROVED}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(data.status, 401);
    assert!(data.body["request_id"].is_string());
}

#[tokio::test]
async fn token_lifetime_follows_the_config() {
    let config = EmulatorConfig {
        token_lifetime_secs: 60,
        ..frozen_demo()
    };
    let api = Checked::start(config).await;
    let reply = api
        .token_request(&json!({"grant_type": "client_credentials", "client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET}))
        .await;
    assert_eq!(reply.body["expires_in"], 60);
}

#[tokio::test]
async fn missing_scope_gets_403_in_each_api_shape() {
    let mut config = frozen_demo();
    config.applications[0].scopes = vec!["vehicle:eligibility-check".into()];
    let api = Checked::start(config).await;
    let token = api.demo_token().await;
    let fleet = api
        .clearance(
            Method::GET,
            "/v1/fleets/vehicles",
            "/v1/fleets/vehicles",
            &token,
            None,
        )
        .await;
    assert_eq!(fleet.status, 403);
    assert_eq!(fleet.body["errors"][0]["title"], "Forbidden");
    let data = api
        .call(
            VEHICLE_DATA,
            "/v1/vehicle-data/autoapi-13/{vin}",
            Method::GET,
            &format!("/v1/vehicle-data/autoapi-13/{DEMO_VIN_APPROVED}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(data.status, 403);
    assert!(data.body["request_id"].is_string());
    let stat = api
        .call(
            STATIC_DATA,
            "/v1/vehicle-static-data/{vin}",
            Method::GET,
            &format!("/v1/vehicle-static-data/{DEMO_VIN_APPROVED}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(stat.status, 403);
}
