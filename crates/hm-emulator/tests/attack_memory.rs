//! Attack finding against hm-emulator (issue 12, bounded memory), in its own test binary because
//! it measures the resident memory of the whole process.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use hm_emulator::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Emulator, EmulatorConfig};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Resident memory of this process (the emulator runs in it), in MiB.
fn resident_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap();
    kib / 1024
}

/// Every clearance the default limits allow, each with the most and longest tags they allow
/// (4-byte characters; the limit counts characters), sent in bodies under `max_body_bytes`.
async fn fill_to_the_default_limits(http: &reqwest::Client, base: &str, token: &str) {
    let limits = hm_emulator::Limits::default();
    let long = "\u{1D11E}".repeat(limits.max_tag_length as usize - 2);
    let tags: serde_json::Map<String, Value> = (0..limits.max_tags_per_vehicle)
        .map(|t| {
            (
                format!("{t:02x}{long}"),
                Value::String(format!("{t:02x}{long}")),
            )
        })
        .collect();
    let total = limits.max_clearances_per_application;
    let per_request = 120;
    let mut sent = 0;
    while sent < total {
        let vehicles: Vec<Value> = (sent..total.min(sent + per_request))
            .map(|i| json!({"vin": format!("ATK{i:014}"), "brand": "bmw", "tags": tags}))
            .collect();
        sent += vehicles.len() as u64;
        let reply = http
            .post(format!("{base}/v1/fleets/vehicles"))
            .bearer_auth(token)
            .json(&json!({ "vehicles": vehicles }))
            .send()
            .await
            .unwrap();
        assert!(
            reply.status().is_success(),
            "{}",
            reply.text().await.unwrap()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "attack finding: each unread GET /v1/fleets/vehicles pins the whole list (84 MB) in memory; N clients pin N times that"]
async fn attack_unread_clearance_lists_do_not_grow_memory_without_bound() {
    let emulator = Emulator::start(EmulatorConfig::demo()).await.unwrap();
    let base = emulator.base_url().to_string();
    let addr = base.trim_start_matches("http://").to_string();
    let http = reqwest::Client::new();
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
    fill_to_the_default_limits(&http, &base, &token).await;

    // One list read to the end, so that the allocator is warm and the size is known.
    let list = http
        .get(format!("{base}/v1/fleets/vehicles"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let before = resident_mib();

    // Clients that ask for the list and then read only the status line.
    let clients = 8;
    let mut streams = Vec::new();
    for _ in 0..clients {
        let mut stream = TcpStream::connect(&addr).await.unwrap();
        let ask = format!(
            "GET /v1/fleets/vehicles HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\r\n"
        );
        stream.write_all(ask.as_bytes()).await.unwrap();
        let mut first = [0u8; 12];
        stream.read_exact(&mut first).await.unwrap();
        assert_eq!(&first, b"HTTP/1.1 200");
        streams.push(stream);
    }
    let after = resident_mib();
    assert!(
        after.saturating_sub(before) < 128,
        "{clients} clients that do not read their {} MB clearance list grew the server from {before} MiB to {after} MiB",
        list.len() / 1_000_000
    );
}
