//! Memory stays bounded under oversize and worst-case input: the `hm-emulator` binary runs as its
//! own process (demo configuration, default limits), so its resident set is measured alone.
//!
//! Before the limits, six 2 MB clearance requests took the server from 33 MB to 350 MB and
//! listing them peaked at 878 MB. Here the same six requests are refused with 413, the
//! application is filled to `limits.max_clearances_per_application` with the largest tags the
//! limits allow, everything is listed, and then the whole attack is repeated: the peak must stay
//! within a fixed budget and the second round must not grow memory further.
//!
//! Linux only (reads `/proc/<pid>/status`); elsewhere the test says so and passes.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use common::*;
use hm_emulator::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Limits};
use serde_json::{Value, json};

/// Kills the server when the test ends, however it ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `VmRSS` and `VmHWM` (peak) of `pid` in MiB.
fn memory(pid: u32) -> Option<(f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map(|kb| kb / 1024.0)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// A clearance request of `count` VINs from `first`, each with the most and longest tags allowed.
fn worst_case_request(first: u32, count: u32, limits: &Limits) -> String {
    let tags: serde_json::Map<String, Value> = (0..limits.max_tags_per_vehicle)
        .map(|i| {
            let name = format!("{i:0width$}", width = limits.max_tag_length as usize);
            (name, json!("v".repeat(limits.max_tag_length as usize)))
        })
        .collect();
    let vehicles: Vec<Value> = (first..first + count)
        .map(|i| json!({"vin": format!("WVWZZZ1JZX{i:07}"), "brand": "volkswagen", "tags": tags}))
        .collect();
    json!({ "vehicles": vehicles }).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_stays_bounded_under_oversize_and_worst_case_input() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hm-emulator"))
        .args(["--port", "0"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let server = Server(child);
    let pid = server.0.id();
    let mut base = String::new();
    BufReader::new(stdout).read_line(&mut base).unwrap();
    let base = base.trim().to_string();
    let Some(_) = memory(pid) else {
        eprintln!("no /proc/{pid}/status: memory is not measured on this platform");
        return;
    };
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
    let (idle, _) = memory(pid).unwrap();

    let limits = Limits::default();
    let per_request = 400; // as many worst-case vehicles as fit in limits.max_body_bytes
    assert!(
        worst_case_request(0, per_request, &limits).len() as u64 <= limits.max_body_bytes,
        "the worst-case request must be one the emulator accepts"
    );
    let capacity = limits.max_clearances_per_application as u32;
    let mut rounds = Vec::new();
    for round in 0..2 {
        // The input of the issue: six 2 MB clearance requests at once.
        let oversize = format!(
            r#"{{"vehicles": [{}]}}"#,
            vec![
                r#"{"vin": "WVWZZZ1JZXW000001", "brand": "volkswagen", "tags": {"k": "v"}}"#;
                30_000
            ]
            .join(",")
        );
        assert!(oversize.len() > 2_000_000);
        let sends = (0..6).map(|_| {
            http.post(format!("{base}/v1/fleets/vehicles"))
                .bearer_auth(&token)
                .header("content-type", "application/json")
                .body(oversize.clone())
                .send()
        });
        for response in futures::future::join_all(sends).await {
            let response = response.unwrap();
            let status = response.status().as_u16();
            let content_type = response.headers()["content-type"]
                .to_str()
                .unwrap()
                .to_string();
            let body: Value = response.json().await.unwrap();
            assert_eq!(status, 413);
            assert_api_error("/v1/fleets/vehicles", status, Some(&content_type), &body);
        }
        let (after_oversize, _) = memory(pid).unwrap();

        // Fill the application to its cap with the largest tags allowed (the second round asks
        // for the same VINs again, then one more, which must be refused).
        for first in (0..capacity).step_by(per_request as usize) {
            let count = per_request.min(capacity - first);
            let response = http
                .post(format!("{base}/v1/fleets/vehicles"))
                .bearer_auth(&token)
                .header("content-type", "application/json")
                .body(worst_case_request(first, count, &limits))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200, "round {round}, from VIN {first}");
        }
        let over = http
            .post(format!("{base}/v1/fleets/vehicles"))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(worst_case_request(capacity, 1, &limits))
            .send()
            .await
            .unwrap();
        assert_eq!(over.status(), 422);

        // List everything, twice at once.
        let lists = (0..2).map(|_| {
            http.get(format!("{base}/v1/fleets/vehicles"))
                .bearer_auth(&token)
                .send()
        });
        for response in futures::future::join_all(lists).await {
            let items: Vec<Value> = response.unwrap().json().await.unwrap();
            assert_eq!(items.len(), capacity as usize);
        }
        let (after_round, peak) = memory(pid).unwrap();
        eprintln!(
            "round {round}: idle {idle:.0} MiB, after six 2 MB requests {after_oversize:.0} MiB, \
             after filling and listing {after_round:.0} MiB, peak {peak:.0} MiB"
        );
        rounds.push((after_round, peak));
    }
    let (first_round, _) = rounds[0];
    let (second_round, peak) = rounds[1];
    // 10,000 clearances with 16 tags of 64-character names and values hold about 40 MiB; a list
    // of them is about 25 MB of JSON. 200 MiB over idle leaves room for the allocator, and is a
    // quarter of what listing 12 MB of clearances took before the limits.
    assert!(
        peak - idle < 200.0,
        "peak {peak:.0} MiB is more than 200 MiB over idle {idle:.0} MiB"
    );
    assert!(
        second_round - first_round < 32.0,
        "a second identical attack grew memory from {first_round:.0} to {second_round:.0} MiB"
    );
}
