//! Attack: a hostile (or compromised, or man-in-the-middled) server puts terminal escape sequences
//! in the text `hm` prints for people. ESC ] 0 retitles the window, ESC [ 2 J clears the screen,
//! OSC 8 plants a link, and some terminals answer queries by typing into the shell.

mod attack_support;

use attack_support::{has_control, hm, serve};
use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post};

const VIN: &str = "1HMDEM0CAR0000001";

#[test]
fn vehicle_data_for_people_carries_no_escape_sequences_from_the_server() {
    let server = serve(Router::new().route(
        "/v1/vehicle-data/autoapi-13/{vin}",
        get(|| async {
            axum::Json(serde_json::json!({
                "vin": VIN,
                "brand": "bmw\u{1b}]0;pwned\u{7}",
                "diagnostics": {
                    "odometer": {
                        "data": {"value": 12480, "unit": "kilometers\u{1b}[2J\u{1b}[1;1H"},
                        "timestamp": "2024-05-01T12:00:00Z"
                    }
                },
                "x_unknown\u{1b}[31m": {"p\u{9b}31m": {"data": "\u{1b}]8;;https://evil.example/\u{7}click\u{1b}]8;;\u{7}"}}
            }))
        }),
    ));
    let out = hm(&server.url)
        .args(["vehicle-data", VIN])
        .output()
        .expect("runs");
    assert!(out.status.success(), "{out:?}");
    assert!(
        !has_control(&out.stdout),
        "escape sequences from the server reached the terminal: {:?}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn api_errors_for_people_carry_no_escape_sequences_from_the_server() {
    let server = serve(Router::new().route(
        "/v1/eligibility",
        post(|| async {
            (
                StatusCode::BAD_REQUEST,
                axum::Json(serde_json::json!({"errors": [{
                    "title": "Bad request\u{1b}]0;owned\u{7}",
                    "detail": "see \u{1b}[2J\u{1b}[1;1Hnothing here",
                    "source": "vin\u{1b}[8m"
                }]})),
            )
        }),
    ));
    let out = hm(&server.url)
        .args(["eligibility", VIN, "--brand", "bmw"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    assert!(
        !has_control(&out.stderr),
        "escape sequences from the server reached the terminal: {:?}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn plain_text_error_bodies_carry_no_escape_sequences() {
    let server = serve(Router::new().route(
        "/v1/fleets/vehicles/{vin}",
        get(|| async {
            (
                StatusCode::BAD_GATEWAY,
                "upstream \u{1b}]0;owned\u{7}\u{1b}[2J down",
            )
        }),
    ));
    let out = hm(&server.url)
        .args(["clearance", "get", VIN, "--timeout", "20s"])
        .output()
        .expect("runs");
    assert!(!out.status.success(), "{out:?}");
    assert!(
        !has_control(&out.stderr),
        "escape sequences from the server reached the terminal: {:?}",
        String::from_utf8_lossy(&out.stderr)
    );
}
