//! Decoding vehicle data into the types generated from the Streaming Schema V2
//! ([`hm_stream::auto_api::Capabilities`]) against untyped `serde_json::Value`, in the same run, for
//! the published fixture and for a realistic 2 KB message. CPU time of the decoding thread (Linux);
//! each variant runs three times, the best counts.
//!
//! Run: `cargo xtask fetch`, then `cargo bench -p hm-stream --bench generated`
//! (`HM_BENCH_ITERATIONS`, default 100,000).
#![allow(clippy::unwrap_used, missing_docs)]

#[path = "common/payload.rs"]
mod payload;

use std::hint::black_box;
use std::time::Duration;

use hm_stream::Message;
use hm_stream::auto_api::Capabilities;
use serde::de::DeserializeOwned;

/// CPU time of the calling thread, from /proc/thread-self/stat (clock ticks of 1/100 s).
fn thread_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let ticks: u64 = after
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|t| t.parse::<u64>().ok())
        .sum();
    Duration::from_millis(ticks * 10)
}

/// Best of three: CPU time per decode.
fn measure<T: DeserializeOwned>(bytes: &[u8], iterations: u32) -> Duration {
    (0..3)
        .map(|_| {
            let cpu = thread_cpu();
            for _ in 0..iterations {
                black_box(serde_json::from_slice::<T>(black_box(bytes)).unwrap());
            }
            (thread_cpu() - cpu) / iterations
        })
        .min()
        .unwrap()
}

fn row(name: &str, bytes: &[u8], cpu: Duration, baseline: Duration) {
    println!(
        "{name:<40} {:>9.2} {:>9.0} {:>7.2}",
        cpu.as_secs_f64() * 1e6,
        bytes.len() as f64 / cpu.as_secs_f64().max(1e-12) / 1e6,
        cpu.as_secs_f64() / baseline.as_secs_f64().max(1e-12)
    );
}

fn main() {
    let iterations: u32 = std::env::var("HM_BENCH_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../openapi/fetched/json-schema/auto-api/0002/fixtures/example.json"
    );
    let fixture = std::fs::read(path)
        .unwrap_or_else(|e| panic!("{path}: {e}: run `cargo xtask fetch` first"));
    let message = payload::message(
        "48aa1779-91c2-468e-97e9-ab112efd53b9",
        "4F02FFB01650060FA8888E5C3ED46FF2A0E4A49EACF1A92E264CD0C137971B28",
        7,
    );
    let message = message.as_bytes();
    println!("{iterations} decodes per run; ratio = CPU time / the serde_json::Value row above it");
    println!(
        "{:<40} {:>9} {:>9} {:>7}",
        "decoded as", "CPU µs", "MB/s", "ratio"
    );

    let baseline = measure::<serde_json::Value>(&fixture, iterations);
    row(
        &format!("fixture ({} B): serde_json::Value", fixture.len()),
        &fixture,
        baseline,
        baseline,
    );
    let typed = measure::<Capabilities>(&fixture, iterations);
    row("fixture: Capabilities", &fixture, typed, baseline);

    let baseline = measure::<Message<serde_json::Value>>(message, iterations);
    row(
        &format!("message ({} B): Message<Value>", message.len()),
        message,
        baseline,
        baseline,
    );
    let typed = measure::<Message<Capabilities>>(message, iterations);
    row("message: Message<Capabilities>", message, typed, baseline);
}
