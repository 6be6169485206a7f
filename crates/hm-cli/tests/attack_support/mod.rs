//! Hostile loopback servers and an `hm` command wired to them, for the attack reproducers.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::routing::post;

/// A server running on its own thread until the test process ends.
pub struct Hostile {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The bodies of the token requests it received.
    pub token_requests: Arc<Mutex<Vec<String>>>,
}

/// Serves `routes` plus a token endpoint that hands out a token to anyone.
pub fn serve(routes: Router) -> Hostile {
    let token_requests = Arc::new(Mutex::new(Vec::new()));
    let seen = token_requests.clone();
    let app = routes.route(
        "/v1/access_tokens",
        post(move |body: String| {
            let seen = seen.clone();
            async move {
                seen.lock().expect("lock").push(body);
                axum::Json(serde_json::json!({
                    "access_token": "attack-access-token-0123456789",
                    "token_type": "bearer",
                    "expires_in": 3600,
                    "scope": "vehicle:data fleet:clearance"
                }))
            }
        }),
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            axum::serve(listener, app).await.expect("serve");
        });
    });
    Hostile {
        url,
        token_requests,
    }
}

/// `hm` with a clean environment, pointed at `url` with a client secret.
pub fn hm(url: &str) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::new(env!("CARGO_BIN_EXE_hm"));
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("HM_") || key == "RUST_LOG" {
            cmd.env_remove(key);
        }
    }
    cmd.env("HM_CONFIG", "/nonexistent/hm-attack/config.toml")
        .env("HM_ENVIRONMENT", url)
        .env("HM_CLIENT_ID", "attack-client")
        .env("HM_CLIENT_SECRET", "attack-client-secret")
        .env("NO_COLOR", "1")
        // A reproducer must end even when the weakness makes `hm` hang.
        .timeout(std::time::Duration::from_secs(120));
    cmd
}

/// Whether `bytes` hold a C0/C1 control character other than newline and tab (ESC, BEL, CSI, ...).
pub fn has_control(bytes: &[u8]) -> bool {
    String::from_utf8_lossy(bytes)
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
}
