//! Decoding one message: the typed shape ([`VehicleData`]) against untyped `serde_json::Value`,
//! in the same run, and the payload digest the consumer computes for deduplication. Measured in
//! CPU time of the decoding thread (Linux), which a loaded, shared machine disturbs far less than
//! wall-clock time; each variant runs three times, the best counts.
//!
//! Run: `cargo bench -p hm-stream --bench decode` (`HM_BENCH_ITERATIONS`, default 100,000).
#![allow(clippy::unwrap_used, missing_docs)]

#[path = "common/payload.rs"]
mod payload;

use std::hint::black_box;
use std::time::{Duration, Instant};

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
    let typed = rows[2].1.0.as_secs_f64();
    println!(
        "typed / serde_json::Value CPU time: {:.2}",
        typed / baseline.0.as_secs_f64()
    );
}
