//! Attack: fleet-sized runs against a server that rate-limits forever or fails part-way.

mod attack_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use attack_support::{hm, serve};
use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;

fn vins(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("1HMATTACK{i:08}")).collect()
}

#[test]
fn all_approved_with_a_429_storm_ends_near_the_timeout() {
    let server = serve(
        Router::new()
            .route(
                "/v1/fleets/vehicles",
                get(|| async {
                    axum::Json(serde_json::json!([
                        {"vin": "1HMATTACK00000001", "brand": "bmw", "status": "approved"}
                    ]))
                }),
            )
            .route(
                "/v1/vehicle-data/autoapi-13/{vin}",
                get(|| async {
                    let mut headers = HeaderMap::new();
                    headers.insert("retry-after", "999999".parse().expect("header"));
                    (
                        StatusCode::TOO_MANY_REQUESTS,
                        headers,
                        axum::Json(serde_json::json!({"errors": [{"title": "Too many requests"}]})),
                    )
                }),
            ),
    );
    // `--timeout 2s` bounds each vehicle (README, "Time limits"); 60 s is far beyond that, and far
    // below the 7 minutes the 8 attempts currently take.
    let out = hm(&server.url)
        .args([
            "vehicle-data",
            "--all-approved",
            "--ndjson",
            "--timeout",
            "2s",
        ])
        .timeout(Duration::from_secs(60))
        .output()
        .expect("runs");
    assert!(
        out.status.code().is_some(),
        "hm was still retrying a vehicle after 60 s despite --timeout 2s: {out:?}"
    );
    // A rate limit that outlasts the vehicle's --timeout is an outage (brief of issue 13, finding
    // 15): exit 5 and `endpoint_outage`, as for the token endpoint.
    assert_eq!(out.status.code(), Some(5), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("\"kind\":\"endpoint_outage\""),
        "{out:?}"
    );
}

/// The clearance endpoint: the first batch is accepted, the second refused with a 422.
fn accepts_one_batch_then_fails() -> Router {
    let calls = Arc::new(AtomicUsize::new(0));
    Router::new().route(
        "/v1/fleets/vehicles",
        axum::routing::post(move |body: axum::Json<serde_json::Value>| {
            let calls = calls.clone();
            async move {
                if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                    let vehicles: Vec<serde_json::Value> = body.0["vehicles"]
                        .as_array()
                        .expect("vehicles")
                        .iter()
                        .map(|v| serde_json::json!({"vin": v["vin"], "brand": "bmw", "status": "pending"}))
                        .collect();
                    (StatusCode::OK, axum::Json(serde_json::json!({"vehicles": vehicles})))
                } else {
                    (
                        StatusCode::UNPROCESSABLE_ENTITY,
                        axum::Json(serde_json::json!({"errors": [{"title": "Unprocessable", "detail": "try later"}]})),
                    )
                }
            }
        }),
    )
}

#[test]
fn a_failed_batch_does_not_hide_the_batches_already_requested() {
    let server = serve(accepts_one_batch_then_fails());
    let dir = tempfile::tempdir().expect("dir");
    let list = dir.path().join("fleet.csv");
    std::fs::write(&list, vins(150).join("\n")).expect("list");
    let out = hm(&server.url)
        .args(["clearance", "request", "--brand", "bmw", "--json", "--from"])
        .arg(&list)
        .output()
        .expect("runs");
    assert!(!out.status.success(), "{out:?}");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // 100 clearances were requested at the API: a script must learn which, or it cannot resume.
    assert!(
        said.contains("1HMATTACK00000000") && said.contains("1HMATTACK00000099"),
        "the accepted first batch is not reported: {said}"
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    assert_eq!(doc["vehicles"].as_array().map(Vec::len), Some(100), "{doc}");
    let not_requested = doc["not_requested"].as_array().expect("not_requested");
    assert_eq!(not_requested.len(), 50);
    assert_eq!(not_requested[0], "1HMATTACK00000100");
    assert_eq!(
        out.status.code(),
        Some(4),
        "the failed batch's error decides: {said}"
    );
}

#[test]
fn from_list_timeout_bounds_each_batch_not_the_whole_run() {
    let server = serve(Router::new().route(
        "/v1/fleets/vehicles",
        axum::routing::post(|body: axum::Json<serde_json::Value>| async move {
            // Each batch takes a while, but well under --timeout.
            tokio::time::sleep(Duration::from_millis(800)).await;
            let vehicles: Vec<serde_json::Value> = body.0["vehicles"]
                .as_array()
                .expect("vehicles")
                .iter()
                .map(|v| serde_json::json!({"vin": v["vin"], "brand": "bmw", "status": "pending"}))
                .collect();
            axum::Json(serde_json::json!({"vehicles": vehicles}))
        }),
    ));
    let dir = tempfile::tempdir().expect("dir");
    let list = dir.path().join("fleet.csv");
    std::fs::write(&list, vins(500).join("\n")).expect("list");
    let out = hm(&server.url)
        .args([
            "clearance",
            "request",
            "--brand",
            "bmw",
            "--json",
            "--timeout",
            "2s",
            "--from",
        ])
        .arg(&list)
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "README: with --from lists, --timeout bounds each vehicle; 5 batches of 0.8 s failed \
         under --timeout 2s: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
