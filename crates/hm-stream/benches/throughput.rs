//! Messages per second received from Mosquitto (mutual TLS, QoS 1, persistent session):
//! decoded, handled and acknowledged through the [`Consumer`] against plain rumqttc receiving the
//! same payloads from the same broker in the same run (auto-acknowledged, not decoded). The
//! consumer runs twice: decoding `data` into [`VehicleData`] (typed), and decoding only the
//! envelope (`data` skipped), which shows what the pipeline itself costs.
//!
//! Each round publishes `HM_BENCH_MESSAGES` messages (default 10,000) into both sessions while their
//! clients are away, then drains one session at a time, so the broker is the same and the receiver
//! alone is measured. `HM_BENCH_ROUNDS` rounds (default 6) alternate which side goes first; the
//! median ratio is the result. Besides messages per second, the process's CPU time per message is
//! shown (Linux): on a shared, loaded machine it varies less than wall-clock rates.
//!
//! Run: `cargo bench -p hm-stream --bench throughput` (needs `apt-get install mosquitto`).
#![allow(clippy::unwrap_used, missing_docs)]

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "common/payload.rs"]
mod payload;
#[allow(dead_code, unused_imports)]
#[path = "../tests/mosquitto/support/mod.rs"]
mod support;

use std::convert::Infallible;
use std::hint::black_box;
use std::time::{Duration, Instant};

use hm_stream::{Consumer, Delivery, VehicleData};
use rumqttc::{
    AsyncClient, Event, EventLoop, Incoming, MqttOptions, Outgoing, QoS, TlsConfiguration,
    Transport,
};
use serde::de::{DeserializeOwned, IgnoredAny};

use common::pki::TestPki;
use support::broker::Mosquitto;
use support::publisher::{Publisher, rustls_config};
use support::{APP_ID, config, stop_signal, topic, wait_for};

const RAW_ID: &str = "bench-raw-rumqttc";
const TYPED_ID: &str = "bench-hm-stream-typed";
const ENVELOPE_ID: &str = "bench-hm-stream-envelope";

fn raw_client(port: u16, pki: &TestPki) -> (AsyncClient, EventLoop) {
    let mut options = MqttOptions::new(RAW_ID, "127.0.0.1", port);
    options
        .set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(
            rustls_config(pki),
        )))
        .set_clean_session(false)
        .set_keep_alive(Duration::from_secs(30))
        .set_max_packet_size(1024 * 1024, 64 * 1024);
    AsyncClient::new(options, 64)
}

/// Creates the raw client's session (with its subscription) and leaves.
async fn prepare_raw(port: u16, pki: &TestPki) {
    let (client, mut eventloop) = raw_client(port, pki);
    client.subscribe(topic(), QoS::AtLeastOnce).await.unwrap();
    loop {
        match eventloop.poll().await.unwrap() {
            Event::Incoming(Incoming::SubAck(_)) => client.disconnect().await.unwrap(),
            Event::Outgoing(Outgoing::Disconnect) => return,
            _ => {}
        }
    }
}

/// Time for plain rumqttc to receive `n` queued messages.
async fn drain_raw(port: u16, pki: &TestPki, n: u64) -> Duration {
    let started = Instant::now();
    let (client, mut eventloop) = raw_client(port, pki);
    let mut received = 0;
    while received < n {
        if let Event::Incoming(Incoming::Publish(publish)) = eventloop.poll().await.unwrap() {
            black_box(&publish.payload);
            received += 1;
        }
    }
    let elapsed = started.elapsed();
    client.disconnect().await.unwrap();
    while !matches!(
        eventloop.poll().await,
        Ok(Event::Outgoing(Outgoing::Disconnect)) | Err(_)
    ) {}
    elapsed
}

/// Creates a consumer's session (with its subscription) and stops it.
async fn prepare_ours(url: &str, pki: &TestPki, client_id: &str) {
    let consumer = Consumer::new(config(url, pki, client_id)).unwrap();
    let stats = consumer.stats();
    let (stop, signal) = stop_signal();
    let run =
        tokio::spawn(consumer.run_until(|_: Delivery| async { Ok::<_, Infallible>(()) }, signal));
    let subscribed = wait_for(Duration::from_secs(60), || {
        stats.snapshot().subscriptions > 0
    });
    assert!(subscribed.await);
    stop.send(()).unwrap();
    run.await.unwrap().unwrap();
}

/// Time for the consumer to decode (`data` as `D`), handle and acknowledge `n` queued messages.
async fn drain_ours<D: DeserializeOwned + Send + 'static>(
    url: &str,
    pki: &TestPki,
    client_id: &str,
    n: u64,
) -> Duration {
    let started = Instant::now();
    let consumer = Consumer::new(config(url, pki, client_id)).unwrap();
    let stats = consumer.stats();
    let (stop, signal) = stop_signal();
    let run = tokio::spawn(consumer.run_until(
        |delivery: Delivery<D>| async move {
            black_box(&delivery.data);
            Ok::<_, Infallible>(())
        },
        signal,
    ));
    assert!(wait_for(Duration::from_secs(600), || stats.snapshot().acked >= n).await);
    let elapsed = started.elapsed();
    stop.send(()).unwrap();
    run.await.unwrap().unwrap();
    elapsed
}

/// CPU time (user + system) a process has used so far, from /proc/PID/stat (this process: `self`).
fn cpu_time(pid: &str) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which is in parentheses): utime and stime are the 12th and 13th.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let ticks: Vec<u64> = after
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|t| t.parse().ok())
        .collect();
    // Linux reports these in clock ticks of 1/100 s.
    Duration::from_millis(ticks.iter().sum::<u64>() * 10)
}

struct Measured {
    wall: Duration,
    /// CPU time of this process (the receiver; nothing else runs meanwhile).
    cpu: Duration,
    /// CPU time of the broker meanwhile.
    broker: Duration,
}

async fn measure<F: std::future::Future<Output = Duration>>(broker: &str, drain: F) -> Measured {
    let (cpu, broker_cpu) = (cpu_time("self"), cpu_time(broker));
    let wall = drain.await;
    Measured {
        wall,
        cpu: cpu_time("self").saturating_sub(cpu),
        broker: cpu_time(broker).saturating_sub(broker_cpu),
    }
}

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The receivers compared.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Receiver {
    Raw,
    Typed,
    Envelope,
}

impl Receiver {
    const ALL: [Receiver; 3] = [Receiver::Raw, Receiver::Typed, Receiver::Envelope];

    fn name(self) -> &'static str {
        match self {
            Receiver::Raw => "raw",
            Receiver::Typed => "typed",
            Receiver::Envelope => "envelope",
        }
    }

    /// `HM_BENCH_RECEIVERS` (e.g. `typed`, to profile one of them), or all.
    fn chosen() -> Vec<Receiver> {
        let Ok(names) = std::env::var("HM_BENCH_RECEIVERS") else {
            return Receiver::ALL.to_vec();
        };
        let chosen: Vec<_> = Receiver::ALL
            .into_iter()
            .filter(|r| names.split(',').any(|name| name.trim() == r.name()))
            .collect();
        assert!(
            !chosen.is_empty(),
            "HM_BENCH_RECEIVERS: expected a comma-separated list of raw, typed, envelope"
        );
        chosen
    }
}

fn main() {
    let Some(binary) = support::gate::binary() else {
        println!(
            "hm-stream throughput benchmark not run: it needs Mosquitto (apt-get install mosquitto)"
        );
        return;
    };
    let (n, rounds) = (env("HM_BENCH_MESSAGES", 10_000), env("HM_BENCH_ROUNDS", 6));
    let receivers = Receiver::chosen();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let dir = tempfile::tempdir().unwrap();
        let pki = TestPki::new();
        let broker = Mosquitto::start(&binary, &pki, dir.path()).await;
        let broker_pid = broker.pid().unwrap().to_string();
        let url = broker.url();
        let mut publisher = Publisher::connect(broker.port(), &pki, "bench-publisher").await;
        for receiver in &receivers {
            match receiver {
                Receiver::Raw => prepare_raw(broker.port(), &pki).await,
                Receiver::Typed => prepare_ours(&url, &pki, TYPED_ID).await,
                Receiver::Envelope => prepare_ours(&url, &pki, ENVELOPE_ID).await,
            }
        }

        let app = APP_ID.to_string();
        let sample = payload::message(&app, "x", 0);
        println!(
            "{n} messages of {} bytes per receiver and round; CPU µs per message of the receiver \
             and of the broker; ratio of msg/s to raw",
            sample.len()
        );
        print!("{:>5}", "");
        for receiver in &receivers {
            print!(" | {:>9} {:>7} {:>7} {:>6}", receiver.name(), "", "", "");
        }
        println!();
        print!("{:>5}", "round");
        for _ in &receivers {
            print!(
                " | {:>9} {:>7} {:>7} {:>6}",
                "msg/s", "CPU", "broker", "ratio"
            );
        }
        println!();
        let mut ratios = vec![Vec::new(); receivers.len()];
        for round in 0..rounds {
            for i in 0..n {
                let id = format!("r{round}-{i:08}");
                publisher
                    .publish(&topic(), payload::message(&app, &id, (i % 500) as usize))
                    .await;
            }
            publisher.flush().await;
            // Rotate the order so that drift in the machine's load favours no side.
            let mut measured = Vec::new();
            for turn in 0..receivers.len() {
                let index = (turn + round as usize) % receivers.len();
                let m = match receivers[index] {
                    Receiver::Raw => measure(&broker_pid, drain_raw(broker.port(), &pki, n)).await,
                    Receiver::Typed => {
                        let drain = drain_ours::<VehicleData>(&url, &pki, TYPED_ID, n);
                        measure(&broker_pid, drain).await
                    }
                    Receiver::Envelope => {
                        let drain = drain_ours::<IgnoredAny>(&url, &pki, ENVELOPE_ID, n);
                        measure(&broker_pid, drain).await
                    }
                };
                measured.push((index, m));
            }
            measured.sort_by_key(|(index, _)| *index);
            let rate = |m: &Measured| n as f64 / m.wall.as_secs_f64();
            let per_message = |cpu: Duration| cpu.as_secs_f64() * 1e6 / n as f64;
            let raw = receivers
                .iter()
                .position(|r| *r == Receiver::Raw)
                .map(|i| rate(&measured[i].1));
            print!("{round:>5}");
            for (index, m) in &measured {
                let ratio = raw.map(|raw| rate(m) / raw);
                ratios[*index].extend(ratio);
                print!(
                    " | {:>9.0} {:>7.1} {:>7.1} {:>6}",
                    rate(m),
                    per_message(m.cpu),
                    per_message(m.broker),
                    ratio.map_or("-".to_owned(), |r| format!("{r:.2}"))
                );
            }
            println!();
        }
        for (receiver, ratios) in receivers.iter().zip(&mut ratios) {
            if *receiver == Receiver::Raw || ratios.is_empty() {
                continue;
            }
            ratios.sort_by(f64::total_cmp);
            println!(
                "{}: median ratio to raw rumqttc {:.2} (range {:.2}-{:.2})",
                receiver.name(),
                ratios[ratios.len() / 2],
                ratios[0],
                ratios[ratios.len() - 1]
            );
        }
    });
}
