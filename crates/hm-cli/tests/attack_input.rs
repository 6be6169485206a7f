//! Attack: a careless user's input: stdin named twice, a fleet list that contradicts itself.

mod attack_support;

use std::sync::{Arc, Mutex};

use attack_support::{hm, serve};
use axum::Router;
use axum::routing::post;

#[test]
fn a_secret_piped_to_stdin_is_never_echoed_as_a_bad_vin() {
    let server = serve(Router::new());
    let out = hm(&server.url)
        .env_remove("HM_CLIENT_SECRET")
        .args([
            "eligibility",
            "--from",
            "-",
            "--client-secret-file",
            "-",
            "--json",
        ])
        .write_stdin("piped-client-secret-value\n")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("piped-client-secret-value"),
        "the client secret was printed: {stderr}"
    );
}

#[test]
fn a_vin_listed_with_two_brands_is_refused_before_sending() {
    let bodies = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = bodies.clone();
    let server = serve(Router::new().route(
        "/v1/fleets/vehicles",
        post(move |body: String| {
            let seen = seen.clone();
            async move {
                seen.lock().expect("lock").push(body);
                axum::Json(serde_json::json!({"vehicles": [
                    {"vin": "1HMATTACK00000001", "brand": "bmw", "status": "pending"}
                ]}))
            }
        }),
    ));
    let dir = tempfile::tempdir().expect("dir");
    let list = dir.path().join("fleet.csv");
    std::fs::write(
        &list,
        "vin,brand\n1HMATTACK00000001,bmw\n1hmattack00000001,mercedes-benz\n",
    )
    .expect("list");
    let out = hm(&server.url)
        .args(["clearance", "request", "--from"])
        .arg(&list)
        .output()
        .expect("runs");
    let sent = bodies.lock().expect("lock").clone();
    assert!(
        out.status.code() == Some(2) && sent.is_empty(),
        "README: 'a list is read and checked completely before anything is sent'; a VIN with two \
         brands was sent as {sent:?}: {out:?}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("line 2") && stderr.contains("line 3") && stderr.contains("two brands"),
        "{stderr}"
    );
}
