//! Attack: scripts branch on exit codes and `kind`. An outage of the API must read like the
//! outage of the token endpoint (`endpoint_outage`, exit 5: "could not be reached"), so that a
//! script retries it later instead of treating it as a refusal of the request (exit 4).

mod attack_support;

use attack_support::{hm, serve};
use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;

#[test]
fn an_api_outage_is_reported_as_an_outage() {
    let server = serve(Router::new().route(
        "/v1/vehicle-data/autoapi-13/{vin}",
        get(|| async {
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(serde_json::json!({"errors": [{"title": "Service unavailable"}]})),
            )
        }),
    ));
    let out = hm(&server.url)
        .args([
            "vehicle-data",
            "1HMATTACK00000001",
            "--json",
            "--timeout",
            "20s",
        ])
        .output()
        .expect("runs");
    let error: serde_json::Value = serde_json::from_slice(&out.stderr).expect("one JSON error");
    assert_eq!(
        (out.status.code(), error["error"]["kind"].as_str()),
        (Some(5), Some("endpoint_outage")),
        "{error}"
    );
}

#[test]
fn ndjson_lines_are_objects() {
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
                get(|| async { axum::Json(serde_json::json!(["not", "a", "document"])) }),
            ),
    );
    let out = hm(&server.url)
        .args(["vehicle-data", "--all-approved", "--ndjson"])
        .output()
        .expect("runs");
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let value: serde_json::Value = serde_json::from_str(line).expect("JSON line");
        assert!(
            value.is_object(),
            "--ndjson line is not a vehicle document: {line}"
        );
    }
    assert!(
        !out.status.success(),
        "a malformed vehicle document counted as success: {out:?}"
    );
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("\"kind\":\"malformed_reply\""),
        "{out:?}"
    );
}

#[test]
fn a_refused_connection_is_named_as_such_under_a_short_timeout() {
    // Nothing listens on a port that was just freed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let out = hm(&format!("http://127.0.0.1:{port}"))
        .args(["token", "--json", "--timeout", "2s"])
        .output()
        .expect("runs");
    let error: serde_json::Value = serde_json::from_slice(&out.stderr).expect("one JSON error");
    assert_eq!(
        (out.status.code(), error["error"]["kind"].as_str()),
        (Some(5), Some("connection_refused")),
        "{error}"
    );
}
