//! Attack: a long `clearance wait` meets a flaky network. One failed poll ends the whole wait
//! (possibly after hours) and drops what was already learned.

mod attack_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use attack_support::{hm, serve};
use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;

#[test]
fn a_failed_poll_does_not_end_the_wait_nor_lose_what_is_known() {
    // A load balancer hiccup for the rest of the wait.
    let server = serve(one_answer_then(
        StatusCode::SERVICE_UNAVAILABLE,
        "Service unavailable",
    ));
    let out = hm(&server.url)
        .args([
            "clearance",
            "wait",
            "1HMATTACK00000001",
            "1HMATTACK00000002",
            "--json",
            "--interval",
            "200ms",
            "--timeout",
            "4s",
        ])
        .output()
        .expect("runs");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        out.status.code(),
        Some(6),
        "README: reaching --timeout prints what is known and exits 6; got: {said}"
    );
    assert!(
        said.contains("approved") && said.contains("1HMATTACK00000002"),
        "the approval already seen and the pending VIN must be reported: {said}"
    );
}

#[test]
fn a_lasting_failure_ends_the_wait_with_what_is_known() {
    // The application lost its scope: polling again cannot help.
    let server = serve(one_answer_then(StatusCode::FORBIDDEN, "Forbidden"));
    let out = hm(&server.url)
        .args([
            "clearance",
            "wait",
            "1HMATTACK00000001",
            "1HMATTACK00000002",
            "--json",
            "--interval",
            "10ms",
        ])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("what is known");
    assert_eq!(doc["clearances"][0]["status"], "approved", "{doc}");
    assert_eq!(doc["pending"], serde_json::json!(["1HMATTACK00000002"]));
}

/// The clearance list: one approved and one pending VIN, then `status` with `title` on every poll.
fn one_answer_then(status: StatusCode, title: &'static str) -> Router {
    let calls = Arc::new(AtomicUsize::new(0));
    Router::new().route(
        "/v1/fleets/vehicles",
        get(move || {
            let calls = calls.clone();
            async move {
                if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                    (
                        StatusCode::OK,
                        axum::Json(serde_json::json!([
                            {"vin": "1HMATTACK00000001", "brand": "bmw", "status": "approved"},
                            {"vin": "1HMATTACK00000002", "brand": "bmw", "status": "pending"}
                        ])),
                    )
                } else {
                    (
                        status,
                        axum::Json(serde_json::json!({"errors": [{"title": title}]})),
                    )
                }
            }
        }),
    )
}
