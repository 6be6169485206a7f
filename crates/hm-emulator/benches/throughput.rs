//! Requests per second the emulator sustains for authenticated vehicle-data requests, against a
//! baseline measured in the same run: a bare axum server on loopback that answers the same path
//! with the same bytes, pre-serialised, without any check. The ratio is the emulator's cost
//! (bearer check, clearance lookup, document build) over plain HTTP on this machine.
//!
//! A real HTTP client (reqwest, keep-alive) drives each server over loopback from the same process,
//! so client and server share the machine's cores: the figures are lower bounds for the server alone.
//! Bounded: at most `HM_BENCH_REQUESTS` requests (default 20,000) or `HM_BENCH_SECONDS` (default 10 s)
//! per server and concurrency.
//!
//! Run: `cargo bench -p hm-emulator --bench throughput` (release profile).
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::header;
use axum::routing::get;
use hm_emulator::{
    DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_VIN_APPROVED, Emulator, EmulatorConfig, EmulatorHandle,
};
use serde_json::{Value, json};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The emulator with an approved clearance, the data URL and a token.
async fn emulator() -> (EmulatorHandle, String, String) {
    let emulator = Emulator::start(EmulatorConfig::demo()).await.unwrap();
    let http = reqwest::Client::new();
    let base = emulator.base_url().to_string();
    let token: Value = http
        .post(format!("{base}/v1/access_tokens"))
        .json(&json!({"grant_type": "client_credentials", "client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["access_token"].as_str().unwrap().to_string();
    http.post(format!("{base}/v1/fleets/vehicles"))
        .bearer_auth(&token)
        .json(&json!({"vehicles": [{"vin": DEMO_VIN_APPROVED, "brand": "sandbox"}]}))
        .send()
        .await
        .unwrap();
    emulator.advance(Duration::from_secs(3));
    let url = format!("{base}/v1/vehicle-data/autoapi-13/{DEMO_VIN_APPROVED}");
    (emulator, url, token)
}

/// A bare axum server answering `path` with `body`; returns its URL.
async fn baseline(path: String, body: axum::body::Bytes) -> String {
    let app = Router::new().route(
        &path,
        get(move || {
            let body = body.clone();
            async move { ([(header::CONTENT_TYPE, "application/json")], body) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}{path}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// Sends up to `total` GETs of `url` (bearer `token`) from `concurrency` workers.
async fn drive(
    url: &str,
    token: &str,
    concurrency: u64,
    total: u64,
    limit: Duration,
) -> (u64, Duration, Vec<Duration>) {
    let http = reqwest::Client::new();
    let issued = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (http, url, token, issued) = (
            http.clone(),
            url.to_string(),
            token.to_string(),
            issued.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while issued.fetch_add(1, Ordering::Relaxed) < total && started.elapsed() < limit {
                let sent = Instant::now();
                let response = http.get(&url).bearer_auth(&token).send().await.unwrap();
                assert_eq!(response.status(), 200);
                response.bytes().await.unwrap();
                latencies.push(sent.elapsed());
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for w in workers {
        latencies.extend(w.await.unwrap());
    }
    let elapsed = started.elapsed();
    latencies.sort();
    (latencies.len() as u64, elapsed, latencies)
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not: then only smoke-test briefly.
    let benching = std::env::args().any(|a| a == "--bench");
    let total = if benching {
        env_or("HM_BENCH_REQUESTS", 20_000)
    } else {
        200
    };
    let limit = Duration::from_secs(env_or("HM_BENCH_SECONDS", 10));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (_emulator, url, token) = emulator().await;
        let document = reqwest::Client::new()
            .get(&url)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let path = url::Url::parse(&url).unwrap().path().to_string();
        let baseline_url = baseline(path, document.clone()).await;
        println!(
            "document: {} bytes; profile: {}",
            document.len(),
            if cfg!(debug_assertions) { "debug" } else { "release" }
        );
        for concurrency in [1, 8, 32] {
            let mut rates = Vec::new();
            for (name, target) in [("baseline", &baseline_url), ("emulator", &url)] {
                let (done, elapsed, latencies) =
                    drive(target, &token, concurrency, total, limit).await;
                let pct = |p: f64| {
                    latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)]
                };
                let rate = done as f64 / elapsed.as_secs_f64();
                println!(
                    "{name:>8}, {concurrency:>2} concurrent: {done} requests in {:.2} s = {rate:.0} req/s (p50 {:?}, p99 {:?})",
                    elapsed.as_secs_f64(),
                    pct(0.5),
                    pct(0.99),
                );
                rates.push(rate);
            }
            println!(
                "    ratio emulator / baseline at {concurrency:>2} concurrent: {:.2}",
                rates[1] / rates[0]
            );
        }
    });
}
