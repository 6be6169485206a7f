//! Decoding one message: the typed shape ([`VehicleData`]) and the types generated from the
//! Streaming Schema V2 ([`Capabilities`]) against untyped `serde_json::Value`, in the same run, and
//! the payload digest the consumer computes for deduplication; then the schema's published fixture.
//! Measured in CPU time of the decoding thread (Linux), which a loaded, shared machine disturbs far
//! less than wall-clock time; each variant runs three times, the best counts.
//!
//! Run: `cargo xtask fetch` (for the fixture), then `cargo bench -p hm-stream --bench decode`
//! (`HM_BENCH_ITERATIONS`, default 100,000).
#![allow(clippy::unwrap_used, missing_docs)]

#[path = "common/payload.rs"]
mod payload;

use std::hint::black_box;
use std::time::{Duration, Instant};

use hm_stream::auto_api::Capabilities;
use hm_stream::{Message, VehicleData};
use serde::de::{DeserializeOwned, IgnoredAny};
use sha2::{Digest, Sha256};

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

/// Best of three: (CPU, wall) per decode.
fn measure<T: DeserializeOwned>(bytes: &[u8], iterations: u32) -> (Duration, Duration) {
    best_of_three(iterations, || {
        black_box(serde_json::from_slice::<T>(black_box(bytes)).unwrap());
    })
}

/// Best of three runs of `iterations` calls: (CPU, wall) per call.
fn best_of_three(iterations: u32, call: impl Fn()) -> (Duration, Duration) {
    (0..3)
        .map(|_| {
            let (cpu, wall) = (thread_cpu(), Instant::now());
            for _ in 0..iterations {
                call();
            }
            (
                (thread_cpu() - cpu) / iterations,
                wall.elapsed() / iterations,
            )
        })
        .min()
        .unwrap()
}

fn main() {
    let iterations: u32 = std::env::var("HM_BENCH_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let json = payload::message(
        "48aa1779-91c2-468e-97e9-ab112efd53b9",
        "4F02FFB01650060FA8888E5C3ED46FF2A0E4A49EACF1A92E264CD0C137971B28",
        7,
    );
    let bytes = json.as_bytes();
    println!(
        "one message of {} bytes, {iterations} decodes per run",
        bytes.len()
    );
    println!(
        "{:<36} {:>12} {:>12} {:>9}",
        "decoded as", "CPU µs", "wall µs", "MB/s"
    );
    let baseline = measure::<serde_json::Value>(bytes, iterations);
    let rows = [
        ("serde_json::Value (baseline)", baseline),
        (
            "Message<serde_json::Value>",
            measure::<Message<serde_json::Value>>(bytes, iterations),
        ),
        (
            "Message<VehicleData> (typed)",
            measure::<Message<VehicleData>>(bytes, iterations),
        ),
        (
            "Message<Capabilities> (generated)",
            measure::<Message<Capabilities>>(bytes, iterations),
        ),
        (
            "Message<IgnoredAny> (envelope)",
            measure::<Message<IgnoredAny>>(bytes, iterations),
        ),
        (
            "SHA-256 of the payload (dedup key)",
            best_of_three(iterations, || {
                black_box(Sha256::digest(black_box(bytes)));
            }),
        ),
    ];
    for (name, (cpu, wall)) in rows {
        let mb_per_s = bytes.len() as f64 / cpu.as_secs_f64().max(1e-12) / 1e6;
        println!(
            "{name:<36} {:>12.2} {:>12.2} {mb_per_s:>9.0}",
            cpu.as_secs_f64() * 1e6,
            wall.as_secs_f64() * 1e6
        );
    }
    for (row, name) in [(2, "typed"), (3, "generated")] {
        println!(
            "{name} / serde_json::Value CPU time: {:.2}",
            rows[row].1.0.as_secs_f64() / baseline.0.as_secs_f64()
        );
    }

    // The published fixture of the Streaming Schema V2, where `cargo xtask fetch` puts it.
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../openapi/fetched/json-schema/auto-api/0002/fixtures/example.json"
    );
    let fixture = std::fs::read(path)
        .unwrap_or_else(|e| panic!("{path}: {e}: run `cargo xtask fetch` first"));
    let value = measure::<serde_json::Value>(&fixture, iterations);
    let generated = measure::<Capabilities>(&fixture, iterations);
    println!(
        "published fixture ({} bytes): serde_json::Value {:.2} µs, Capabilities {:.2} µs CPU; \
         generated / serde_json::Value: {:.2}",
        fixture.len(),
        value.0.as_secs_f64() * 1e6,
        generated.0.as_secs_f64() * 1e6,
        generated.0.as_secs_f64() / value.0.as_secs_f64()
    );
}
