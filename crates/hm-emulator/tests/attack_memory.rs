//! Attack finding against hm-emulator (issue 12, bounded memory): a client that asks for the
//! clearance list and does not read it must not pin the whole list in the server.
//!
//! The list is produced chunk by chunk as the client reads (the bound on a chunk is asserted in
//! the unit test `routes::clearance::tests::the_list_is_made_in_bounded_chunks_as_it_is_read`);
//! here, through the public interface, the answer is streamed (chunked, no Content-Length, so not
//! built whole before the first byte), unread answers do not stop the server, and a reader still
//! gets the complete list. No resident-memory reading, no timing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use hm_emulator::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Emulator, EmulatorConfig};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// `count` clearances, each with the most and longest tags the default limits allow
/// (4-byte characters; the limit counts characters), sent in bodies under `max_body_bytes`.
async fn fill(http: &reqwest::Client, base: &str, token: &str, count: u64) {
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
    let per_request = 120;
    let mut sent = 0;
    while sent < count {
        let vehicles: Vec<Value> = (sent..count.min(sent + per_request))
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

/// Reads until the end of the response head.
async fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = stream.read(&mut byte).await.unwrap();
        assert_eq!(n, 1, "connection closed inside the head: {head:?}");
        head.push(byte[0]);
    }
    String::from_utf8(head).unwrap().to_ascii_lowercase()
}

#[tokio::test]
async fn attack_unread_clearance_lists_are_streamed_not_pinned() {
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
    let count = 480; // about 4 MB of list: many chunks
    fill(&http, &base, &token, count).await;

    // Clients that ask for the list and then read only the response head.
    let mut unread = Vec::new();
    for _ in 0..8 {
        let mut stream = TcpStream::connect(&addr).await.unwrap();
        let ask = format!(
            "GET /v1/fleets/vehicles HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\r\n"
        );
        stream.write_all(ask.as_bytes()).await.unwrap();
        let head = read_head(&mut stream).await;
        assert!(head.starts_with("http/1.1 200"), "{head}");
        assert!(
            head.contains("\r\ntransfer-encoding: chunked\r\n")
                && !head.contains("\r\ncontent-length:"),
            "the list was built whole before it was sent: {head}"
        );
        unread.push(stream);
    }

    // The server still answers, and a client that reads gets the whole list.
    let list: Vec<Value> = http
        .get(format!("{base}/v1/fleets/vehicles"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list.len() as u64, count);
    assert_eq!(list[0]["vin"], "ATK00000000000000");
    assert_eq!(
        list[count as usize - 1]["tags"].as_object().unwrap().len(),
        16
    );
    drop(unread);
}
