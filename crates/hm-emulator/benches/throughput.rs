//! Requests per second the emulator sustains for authenticated vehicle-data requests.
//!
//! A real HTTP client (reqwest, keep-alive) drives the emulator over loopback from the same process,
//! so client and server share the machine's cores: the figure is a lower bound for the server alone.
//! Bounded: at most `HM_BENCH_REQUESTS` requests (default 20,000) or `HM_BENCH_SECONDS` (default 20 s).
//!
//! Run: `cargo bench -p hm-emulator --bench throughput`
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hm_emulator::{
    DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_VIN_APPROVED, Emulator, EmulatorConfig,
};
use serde_json::{Value, json};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn run(concurrency: u64, total: u64, limit: Duration) -> (u64, Duration, Vec<Duration>) {
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
    assert_eq!(
        http.get(&url)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    let issued = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (http, url, token, issued) = (http.clone(), url.clone(), token.clone(), issued.clone());
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
    let limit = Duration::from_secs(env_or("HM_BENCH_SECONDS", 20));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    for concurrency in [1, 8, 32] {
        let (done, elapsed, latencies) = runtime.block_on(run(concurrency, total, limit));
        let pct =
            |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
        println!(
            "vehicle-data GET, {concurrency:>2} concurrent: {done} requests in {:.2} s = {:.0} req/s (p50 {:?}, p99 {:?})",
            elapsed.as_secs_f64(),
            done as f64 / elapsed.as_secs_f64(),
            pct(0.5),
            pct(0.99),
        );
    }
}
