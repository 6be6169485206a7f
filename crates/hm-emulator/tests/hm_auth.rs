//! The project's own authenticator (hm-auth) against the emulator: both credential flows, renewal
//! after expiry, and riding out injected 503s and a token endpoint outage with its retry policy.
//!
//! Tests with retries run on paused tokio time: hm-auth's back-off sleeps are virtual, and an
//! emulator that follows time follows that paused clock, so outages end without real waiting.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;
use hm_auth::{Authenticator, Credentials, Environment, RetryPolicy};
use hm_emulator::{
    DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_KEY_ID, DEMO_PRIVATE_KEY_PEM, DEMO_VIN_APPROVED,
    Fault, Route,
};

fn authenticator(api: &Checked, credentials: Credentials, retry: RetryPolicy) -> Authenticator {
    Authenticator::builder(
        credentials,
        Environment::custom(api.emulator.base_url()).unwrap(),
    )
    .retry_policy(retry)
    .build()
    .unwrap()
}

fn secret() -> Credentials {
    Credentials::client_secret(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET).unwrap()
}

fn key() -> Credentials {
    Credentials::private_key_pem(DEMO_CLIENT_ID, DEMO_KEY_ID, DEMO_PRIVATE_KEY_PEM).unwrap()
}

/// `GET vehicle data` as the generated client sends it: hm-auth's `authorize`, then `send_authorized`
/// (retries, one renewal after 401). Checks the answer against the spec too.
async fn get_data(api: &Checked, auth: &Authenticator) -> Reply {
    let url = api.url(&format!("/v1/vehicle-data/autoapi-13/{DEMO_VIN_APPROVED}"));
    let mut request = api.http.get(url).build().unwrap();
    auth.authorize(&mut request).await.unwrap();
    let response = auth.send_authorized(&api.http, request).await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body: serde_json::Value = response.json().await.unwrap();
    spec::assert_matches(
        VEHICLE_DATA,
        "/v1/vehicle-data/autoapi-13/{vin}",
        "GET",
        status,
        &body,
    );
    Reply {
        status,
        headers,
        body,
    }
}

async fn approve(api: &Checked) {
    let token = api.demo_token().await;
    api.request_clearance(&token, &[(DEMO_VIN_APPROVED, "sandbox")])
        .await;
    api.advance(2);
}

#[tokio::test]
async fn both_credential_flows_get_tokens_with_the_application_scopes() {
    let api = Checked::start(frozen_demo()).await;
    approve(&api).await;
    for credentials in [secret(), key()] {
        let auth = authenticator(&api, credentials, RetryPolicy::default());
        let token = auth.access_token().await.unwrap();
        assert!(token.scopes().iter().any(|s| s == "vehicle:data"));
        assert_eq!(token.lifetime(), Duration::from_secs(300));
        assert_eq!(get_data(&api, &auth).await.status, 200);
    }
}

#[tokio::test]
async fn a_token_expired_on_the_server_is_renewed_after_401() {
    let api = Checked::start(frozen_demo()).await;
    approve(&api).await;
    let auth = authenticator(&api, key(), RetryPolicy::default());
    let first = auth
        .access_token()
        .await
        .unwrap()
        .expose_secret()
        .to_string();
    assert_eq!(get_data(&api, &auth).await.status, 200);
    // The emulator's clock jumps past the token's lifetime; hm-auth's clock does not know.
    api.advance(301);
    assert_eq!(get_data(&api, &auth).await.status, 200);
    assert_ne!(auth.access_token().await.unwrap().expose_secret(), first);
}

#[tokio::test(start_paused = true)]
async fn twenty_percent_503s_and_a_token_outage_lose_none_of_1000_calls() {
    let api = Checked::start(hm_emulator::EmulatorConfig::demo()).await;
    approve(&api).await;
    let retry = RetryPolicy {
        max_attempts: 8,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(20),
        retry_non_idempotent: false,
    };
    let auth = authenticator(&api, key(), retry);
    // The token endpoint is down when the client starts: hm-auth's token retries wait it out.
    api.emulator.faults().set(
        Route::AccessTokens,
        Fault::outage(Duration::from_millis(600)),
    );
    api.emulator
        .faults()
        .set_api(Fault::errors(0.2, 503).with_seed(2024));
    assert_eq!(get_data(&api, &auth).await.status, 200);
    assert!(api.emulator.faults().injected(Route::AccessTokens) >= 1);

    // A second outage, shorter than the token's lifetime: the cached token rides it out.
    api.emulator
        .faults()
        .set(Route::AccessTokens, Fault::outage(Duration::from_secs(300)));
    let mut lost = 0;
    for _ in 0..1000 {
        if get_data(&api, &auth).await.status != 200 {
            lost += 1;
        }
    }
    assert_eq!(lost, 0);
    let injected = api.emulator.faults().injected(Route::VehicleData);
    assert!(injected >= 150, "the run really met failures: {injected}");
}

#[tokio::test(start_paused = true)]
async fn without_retries_every_injected_failure_reaches_the_caller() {
    let api = Checked::start(frozen_demo()).await;
    approve(&api).await;
    let auth = authenticator(&api, secret(), RetryPolicy::disabled());
    auth.access_token().await.unwrap();
    api.emulator
        .faults()
        .set(Route::VehicleData, Fault::errors(0.2, 503).with_seed(5));
    let mut failures = 0;
    for _ in 0..1000 {
        let reply = get_data(&api, &auth).await;
        if reply.status != 200 {
            assert_eq!(reply.status, 503);
            failures += 1;
        }
    }
    assert_eq!(failures, api.emulator.faults().injected(Route::VehicleData));
}
