//! Attack: a server (a debugging proxy, a misconfigured gateway) reflects the request's
//! `Authorization` header in its error body. hm-auth scrubs its secrets from the token endpoint's
//! replies, but `hm` quotes API error bodies unscrubbed, so the access token lands in stderr, in
//! CI logs and in `--json` error objects collected by scripts.

mod attack_support;

use attack_support::{hm, serve};
use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;

const TOKEN: &str = "attack-access-token-0123456789";

#[test]
fn a_reflected_access_token_is_not_printed() {
    let server = serve(Router::new().route(
        "/v1/fleets/vehicles/{vin}",
        get(|headers: HeaderMap| async move {
            let auth = headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            (
                StatusCode::BAD_REQUEST,
                axum::Json(serde_json::json!({"errors": [{
                    "title": "Bad request",
                    "detail": format!("rejected request with header Authorization: {auth}")
                }]})),
            )
        }),
    ));
    for json in [false, true] {
        let mut cmd = hm(&server.url);
        cmd.args(["clearance", "get", "1HMATTACK00000001"]);
        if json {
            cmd.arg("--json");
        }
        let out = cmd.output().expect("runs");
        assert_eq!(out.status.code(), Some(4), "{out:?}");
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !said.contains(TOKEN),
            "the access token was printed (json={json}): {said}"
        );
    }
}
