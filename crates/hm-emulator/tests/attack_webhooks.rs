//! Attack reproducers for the emulator's webhook deliveries (issue 10, part 2).
//! Each test passes once its weakness is fixed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use hm_emulator::webhooks::WebhookConfig;
use hm_emulator::{Emulator, EmulatorConfig};
use serde_json::{Value, json};

/// What the receiver saw: (delivery id, body), in arrival order.
type Seen = Arc<Mutex<Vec<(String, Value)>>>;

/// A receiver that answers 500 to the first `approved` delivery (to every one with `always`) and
/// 200 to everything else.
async fn flaky_receiver(seen: Seen, always: bool) -> String {
    let refused_once = Arc::new(Mutex::new(false));
    let app = axum::Router::new().fallback(post(move |headers: HeaderMap, body: Bytes| {
        let seen = seen.clone();
        let refused_once = refused_once.clone();
        async move {
            let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let id = headers
                .get("x-hm-delivery")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            if body["event"]["action"] == "approved" {
                let mut refused = refused_once.lock().unwrap();
                if always || !*refused {
                    *refused = true;
                    return StatusCode::INTERNAL_SERVER_ERROR;
                }
            }
            seen.lock().unwrap().push((id, body));
            StatusCode::OK
        }
    }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/")
}

/// A status change retried after a failure arrives after the later changes of the same
/// clearance, and the body carries nothing (no timestamp, no sequence) that lets the receiver
/// tell it is stale: an application that keeps the last status it was told ends with
/// `approved` for a clearance that is `revoked`.
#[tokio::test]
async fn a_retried_stale_status_does_not_overwrite_a_newer_one() {
    let (actions, truth) = approve_then_revoke(false, 10).await;
    assert!(actions.contains(&"approved".to_owned()), "{actions:?}");
    assert_eq!(actions.last().unwrap(), &truth, "arrival order {actions:?}");
}

/// The changes held back behind one that is abandoned (after `max_attempts`) go out.
#[tokio::test]
async fn changes_held_behind_an_abandoned_delivery_are_sent() {
    let (actions, truth) = approve_then_revoke(true, 2).await;
    assert_eq!(actions, ["revoking", "revoked"], "approved never accepted");
    assert_eq!(truth, "revoked");
}

/// Approves the demo VIN (its `approved` refused once, or always with `always`), revokes it,
/// delivers everything; returns the actions the receiver accepted, in order, and the status.
async fn approve_then_revoke(always: bool, max_attempts: u32) -> (Vec<String>, String) {
    let seen: Seen = Arc::default();
    let url = flaky_receiver(seen.clone(), always).await;
    let mut config = EmulatorConfig::demo();
    config.follow_real_time = false;
    config.webhook_delivery.max_attempts = max_attempts;
    let mut webhook = WebhookConfig::new(url, "attack-secret-123");
    webhook.events = Some(vec!["fleet_clearance_changed".into()]);
    config.webhooks.push(webhook);
    let emulator = Emulator::start(config).await.unwrap();
    let base = emulator.base_url().to_owned();
    let http = reqwest::Client::new();
    let token: Value = http
        .post(format!("{base}/v1/access_tokens"))
        .json(&json!({
            "grant_type": "client_credentials",
            "client_id": hm_emulator::config::DEMO_CLIENT_ID,
            "client_secret": hm_emulator::config::DEMO_CLIENT_SECRET,
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let bearer = format!("Bearer {}", token["access_token"].as_str().unwrap());
    let vin = hm_emulator::config::DEMO_VIN_APPROVED;
    let created = http
        .post(format!("{base}/v1/fleets/vehicles"))
        .header("authorization", &bearer)
        .json(&json!({ "vehicles": [{ "vin": vin, "brand": "sandbox" }] }))
        .send()
        .await
        .unwrap();
    assert!(created.status().is_success(), "{:?}", created.text().await);

    // Approved after 2 s: its first delivery is refused, retried 10 s later.
    emulator.advance(Duration::from_secs(3));
    emulator.webhooks().settled().await;
    // The application revokes the clearance straight away.
    let deleted = http
        .delete(format!("{base}/v1/fleets/vehicles/{vin}"))
        .header("authorization", &bearer)
        .send()
        .await
        .unwrap();
    assert!(deleted.status().is_success(), "{:?}", deleted.text().await);
    // revoking -> revoked, then the retry of `approved`, all delivered.
    for _ in 0..20 {
        emulator.advance(Duration::from_secs(5));
        emulator.webhooks().settled().await;
    }
    let truth: Value = http
        .get(format!("{base}/v1/fleets/vehicles/{vin}"))
        .header("authorization", &bearer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let seen = seen.lock().unwrap().clone();
    let actions = seen
        .iter()
        // The ping has no action.
        .filter_map(|(_, b)| b["event"]["action"].as_str().map(str::to_owned))
        .collect();
    (actions, truth["status"].as_str().unwrap().to_owned())
}
