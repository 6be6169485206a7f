//! The token endpoint: both flows give working tokens, the audience follows the Host, keys can be
//! registered at run time, revocation and expiry, and how the other APIs refuse bad tokens. Each
//! way a token request can be wrong is in `token_endpoint.rs`.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use hm_emulator::{
    DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_KEY_ID, DEMO_PRIVATE_KEY_PEM, DEMO_VIN_APPROVED,
    EmulatorConfig,
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
async fn bound_to_all_interfaces_any_host_is_its_own_audience() {
    // In a container the port and name a client uses may be mapped; the aud is still exactly
    // the URL it used.
    let emulator = hm_emulator::Emulator::start_on(frozen_demo(), "0.0.0.0:0".parse().unwrap())
        .await
        .unwrap();
    let port = emulator.base_url().rsplit(':').next().unwrap().to_string();
    let api = Checked {
        emulator,
        http: reqwest::Client::new(),
    };
    let url = format!("http://127.0.0.1:{port}/v1/access_tokens");
    for (host, aud, status) in [
        (
            "emulator.internal:8080",
            "http://emulator.internal:8080/v1",
            200,
        ),
        ("emulator.internal:8080", "http://emulator.internal/v1", 400),
    ] {
        let assertion = sign(&assertion_claims(DEMO_KEY_ID, aud), DEMO_PRIVATE_KEY_PEM);
        let response = api
            .http
            .post(&url)
            .header("host", host)
            .json(&assertion_request(DEMO_CLIENT_ID, &assertion))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), status, "{host} {aud}");
    }
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
