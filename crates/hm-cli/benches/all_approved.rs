//! `hm vehicle-data --all-approved --ndjson` over 1,000 approved vehicles of an in-process emulator,
//! next to a plain sequential loop of the same requests (`--concurrency 1`) and to a shell-style
//! loop of one `hm vehicle-data VIN --json` process per vehicle, all in the same run.
//!
//! Run: `cargo bench -p hm-cli --bench all_approved` (about a minute). Peak RSS of each `hm`
//! process is measured with GNU time (`/usr/bin/time -f %M`); without it, RSS is reported as n/a.
//! `HM_BENCH_VEHICLES` and `HM_BENCH_LATENCY_MS` change the fleet size and the emulator's added
//! latency per vehicle-data request.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use hm_emulator::{
    DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Emulator, EmulatorConfig, Fault, Route, VehicleConfig,
};

const HM: &str = env!("CARGO_BIN_EXE_hm");

struct Run {
    vehicles: usize,
    elapsed: Duration,
    peak_rss_kib: Option<u64>,
}

impl Run {
    fn per_second(&self) -> f64 {
        self.vehicles as f64 / self.elapsed.as_secs_f64()
    }
}

/// Runs `hm` with `args` under GNU time; returns its stdout line count, wall time and peak RSS.
fn hm(base: &str, args: &[&str], dir: &Path) -> (usize, Duration, Option<u64>) {
    let rss_file = dir.join("rss");
    let time = Path::new("/usr/bin/time");
    let mut cmd = if time.exists() {
        let mut c = Command::new(time);
        c.arg("-f").arg("%M").arg("-o").arg(&rss_file).arg(HM);
        c
    } else {
        Command::new(HM)
    };
    cmd.args(args)
        .env("HM_CONFIG", dir.join("no-config.toml"))
        .env("HM_ENVIRONMENT", base)
        .env("HM_CLIENT_ID", DEMO_CLIENT_ID)
        .env("HM_CLIENT_SECRET", DEMO_CLIENT_SECRET)
        .env_remove("RUST_LOG");
    let started = Instant::now();
    let out = cmd.output().expect("hm runs");
    let elapsed = started.elapsed();
    assert!(
        out.status.success(),
        "hm {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rss = std::fs::read_to_string(&rss_file)
        .ok()
        .and_then(|t| t.trim().lines().last()?.trim().parse().ok());
    let lines = String::from_utf8_lossy(&out.stdout).lines().count();
    (lines, elapsed, rss)
}

fn all_approved(base: &str, concurrency: usize, expected: usize, dir: &Path) -> Run {
    let concurrency = concurrency.to_string();
    let (lines, elapsed, peak_rss_kib) = hm(
        base,
        &[
            "vehicle-data",
            "--all-approved",
            "--ndjson",
            "--concurrency",
            &concurrency,
        ],
        dir,
    );
    assert_eq!(lines, expected, "one line per approved vehicle");
    Run {
        vehicles: lines,
        elapsed,
        peak_rss_kib,
    }
}

fn process_per_vehicle(base: &str, vins: &[String], dir: &Path) -> Run {
    let started = Instant::now();
    let mut peak = None;
    for vin in vins {
        let (_, _, rss) = hm(base, &["vehicle-data", vin, "--json"], dir);
        peak = peak.max(rss);
    }
    Run {
        vehicles: vins.len(),
        elapsed: started.elapsed(),
        peak_rss_kib: peak,
    }
}

fn rss(run: &Run) -> String {
    run.peak_rss_kib
        .map(|k| format!("{:.1} MiB", k as f64 / 1024.0))
        .unwrap_or_else(|| "n/a".into())
}

fn main() {
    let count: usize = std::env::var("HM_BENCH_VEHICLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let latency_ms: u64 = std::env::var("HM_BENCH_LATENCY_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let vins: Vec<String> = (0..count).map(|i| format!("1HMBENCH{i:09}")).collect();
    let mut config = EmulatorConfig::demo();
    config.vehicles = vins
        .iter()
        .map(|vin| {
            let mut v = VehicleConfig::new(vin.clone(), "sandbox");
            v.clearance_delay_secs = 1;
            v
        })
        .collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let emulator = runtime
        .block_on(Emulator::start(config))
        .expect("emulator starts");
    let base = emulator.base_url().to_owned();
    let dir = tempfile::tempdir().expect("tempdir");

    // Clearance for the whole fleet through the CLI's own bulk input, then past the decision.
    let list = dir.path().join("fleet.csv");
    std::fs::write(&list, vins.join("\n")).expect("write list");
    let list_arg = list.to_string_lossy().into_owned();
    let started = Instant::now();
    hm(
        &base,
        &[
            "clearance",
            "request",
            "--from",
            &list_arg,
            "--brand",
            "sandbox",
        ],
        dir.path(),
    );
    let requested = started.elapsed();
    emulator.advance(Duration::from_secs(5));
    if latency_ms > 0 {
        emulator.faults().set(
            Route::VehicleData,
            Fault::latency(Duration::from_millis(latency_ms)),
        );
    }

    let sample = count.min(100);
    let concurrent = all_approved(&base, 8, count, dir.path());
    let sequential = all_approved(&base, 1, count, dir.path());
    let processes = process_per_vehicle(&base, &vins[..sample], dir.path());

    println!(
        "hm vehicle-data --all-approved over {count} approved vehicles; emulator latency {latency_ms} ms per request"
    );
    println!("clearance request --from (CSV, {count} VINs in batches of 100): {requested:.2?}");
    println!("| run | vehicles | time | vehicles/s | peak RSS of hm |");
    println!("|---|---:|---:|---:|---:|");
    for (name, run) in [
        ("`--all-approved --ndjson` (concurrency 8)", &concurrent),
        (
            "`--all-approved --ndjson --concurrency 1` (sequential loop)",
            &sequential,
        ),
        (
            "one `hm vehicle-data VIN --json` process per vehicle",
            &processes,
        ),
    ] {
        println!(
            "| {name} | {} | {:.2?} | {:.0} | {} |",
            run.vehicles,
            run.elapsed,
            run.per_second(),
            rss(run)
        );
    }
    println!(
        "ratio concurrent / sequential loop: {:.1}x; concurrent / process per vehicle: {:.1}x",
        concurrent.per_second() / sequential.per_second(),
        concurrent.per_second() / processes.per_second()
    );
    drop(emulator);
}
