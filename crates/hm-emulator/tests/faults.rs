//! Fault injection: latency, 5xx shares, 429 with Retry-After, token endpoint outages, and a
//! 1,000-call run that loses nothing when the client retries.
//!
//! No test waits in real time: tokio's clock is paused (client back-off and injected latency are
//! virtual), and outage windows end when the emulator's virtual clock is advanced.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use tokio::time::Instant;

use common::*;
use hm_emulator::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_VIN_APPROVED, Fault, Route};
use reqwest::Method;
use serde_json::json;

const DATA: &str = "/v1/vehicle-data/autoapi-13/{vin}";

async fn approved(api: &Checked) -> String {
    let token = api.demo_token().await;
    api.request_clearance(&token, &[(DEMO_VIN_APPROVED, "sandbox")])
        .await;
    api.advance(2);
    token
}

async fn data(api: &Checked, token: &str) -> Reply {
    api.call(
        VEHICLE_DATA,
        DATA,
        Method::GET,
        &format!("/v1/vehicle-data/autoapi-13/{DEMO_VIN_APPROVED}"),
        Some(token),
        None,
    )
    .await
}

/// A client that retries 5xx and 429 answers a few times, honouring Retry-After.
async fn data_with_retries(api: &Checked, token: &str) -> (Reply, u32) {
    let mut retries = 0;
    loop {
        let reply = data(api, token).await;
        let retryable = matches!(reply.status, 429 | 500 | 502 | 503 | 504);
        if !retryable || retries == 8 {
            return (reply, retries);
        }
        retries += 1;
        let wait = reply
            .headers
            .get("retry-after")
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
            .map(Duration::from_secs)
            .unwrap_or(Duration::from_millis(2));
        tokio::time::sleep(wait).await;
    }
}

#[tokio::test(start_paused = true)]
async fn twenty_percent_503s_and_a_token_outage_lose_no_calls() {
    let api = Checked::start(frozen_demo()).await;
    let token = approved(&api).await;
    api.emulator
        .faults()
        .set_api(Fault::errors(0.2, 503).with_seed(42));
    api.emulator
        .faults()
        .set(Route::AccessTokens, Fault::outage(Duration::from_secs(2)));

    // The outage is real: a new token cannot be had right now...
    let refused = api
        .token_request(&json!({"grant_type": "client_credentials", "client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET}))
        .await;
    assert_eq!(refused.status, 503);
    assert_eq!(refused.body["error"], "temporarily_unavailable");

    // ...but the cached token outlives it, and retries absorb the 503s.
    let mut handles = Vec::new();
    let api = std::sync::Arc::new(api);
    for worker in 0..8 {
        let api = api.clone();
        let token = token.clone();
        handles.push(tokio::spawn(async move {
            let mut retries = 0;
            for _ in 0..125 {
                let (reply, r) = data_with_retries(&api, &token).await;
                assert_eq!(reply.status, 200, "worker {worker}: {:?}", reply.body);
                retries += r;
            }
            retries
        }));
    }
    let mut retries = 0;
    for h in handles {
        retries += h.await.unwrap();
    }
    let injected = api.emulator.faults().injected(Route::VehicleData);
    assert_eq!(
        u64::from(retries),
        injected,
        "every injected failure was seen and retried"
    );
    assert!(
        (150..=350).contains(&injected),
        "about 20 % of ~1250 attempts: {injected}"
    );

    // The window is on the emulator's clock: still closed at 1.999 s, open at 2 s.
    api.emulator.advance(Duration::from_millis(1999));
    let still = api
        .token_request(&json!({"grant_type": "client_credentials", "client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET}))
        .await;
    assert_eq!(still.status, 503);
    api.emulator.advance(Duration::from_millis(1));
    assert!(!api.demo_token().await.is_empty());
}

#[tokio::test(start_paused = true)]
async fn without_retries_every_failure_is_reported() {
    let api = Checked::start(frozen_demo()).await;
    let token = approved(&api).await;
    api.emulator
        .faults()
        .set(Route::VehicleData, Fault::errors(0.2, 500).with_seed(7));
    let mut failures = 0;
    for _ in 0..1000 {
        let reply = data(&api, &token).await; // also checks the 500 body against the spec
        match reply.status {
            200 => {}
            500 => {
                failures += 1;
                assert!(reply.body["request_id"].is_string());
            }
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!(failures, api.emulator.faults().injected(Route::VehicleData));
    assert!((150..=250).contains(&failures), "{failures}");
}

#[tokio::test]
async fn seeded_faults_repeat_exactly() {
    let mut runs = Vec::new();
    for _ in 0..2 {
        let api = Checked::start(frozen_demo()).await;
        let token = approved(&api).await;
        api.emulator
            .faults()
            .set(Route::VehicleData, Fault::errors(0.3, 503).with_seed(99));
        let mut pattern = Vec::new();
        for _ in 0..50 {
            pattern.push(data(&api, &token).await.status);
        }
        runs.push(pattern);
    }
    assert_eq!(runs[0], runs[1]);
    assert!(runs[0].contains(&503) && runs[0].contains(&200));
}

#[tokio::test]
async fn injected_429_carries_retry_after_in_each_api_shape() {
    let api = Checked::start(frozen_demo()).await;
    let token = approved(&api).await;
    api.emulator
        .faults()
        .set_api(Fault::too_many_requests(1.0, Duration::from_secs(7)));
    let limited = data(&api, &token).await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.headers["retry-after"], "7");
    let fleet = api
        .clearance(
            Method::GET,
            "/v1/fleets/vehicles",
            "/v1/fleets/vehicles",
            &token,
            None,
        )
        .await;
    assert_eq!(fleet.status, 429);
    assert_eq!(fleet.body["errors"][0]["detail"], "retry after 7s");

    api.emulator.faults().clear_all();
    assert_eq!(data(&api, &token).await.status, 200);
}

// Paused tokio time: the elapsed times below are virtual, so exact and independent of load.
#[tokio::test(start_paused = true)]
async fn latency_is_added_before_answering() {
    let api = Checked::start(frozen_demo()).await;
    let token = approved(&api).await;
    api.emulator.faults().set(
        Route::VehicleData,
        Fault::latency(Duration::from_millis(150)),
    );
    let started = Instant::now();
    assert_eq!(data(&api, &token).await.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(150));
    api.emulator.faults().clear(Route::VehicleData);
    let started = Instant::now();
    data(&api, &token).await;
    assert!(started.elapsed() < Duration::from_millis(150));
}

#[tokio::test(start_paused = true)]
async fn an_outage_on_a_demo_clock_ends_with_tokio_time() {
    // A clock that follows time follows tokio's: with paused time, the client's own sleep moves
    // the emulator past the outage, as real time would in a demo.
    let api = Checked::start(hm_emulator::EmulatorConfig::demo()).await;
    api.emulator
        .faults()
        .set(Route::AccessTokens, Fault::outage(Duration::from_secs(5)));
    let body = json!({"grant_type": "client_credentials", "client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET});
    assert_eq!(api.token_request(&body).await.status, 503);
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(api.token_request(&body).await.status, 200);
}
