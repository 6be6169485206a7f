//! Second round of attacks on the emulator's MQTT TLS front door (broker.rs, access.rs, pki.rs),
//! through the public interface: the emulator on loopback, raw TCP, rumqttc over mutual TLS, and
//! the `tls_dir` on disk.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use hm_emulator::{Emulator, EmulatorConfig, MqttEndpoint};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, TlsConfiguration, Transport};

/// Generous bound for things that take milliseconds when they work: only a hang exceeds it.
const HANG: Duration = Duration::from_secs(30);

/// The broker's connection cap (`mqtt::broker::MAX_CONNECTIONS`, not exported).
const MAX_CONNECTIONS: usize = 1_000;

fn config() -> EmulatorConfig {
    let mut config = EmulatorConfig {
        follow_real_time: false,
        ..EmulatorConfig::demo()
    };
    config.mqtt.enabled = true;
    config
}

fn broker_addr(mqtt: &MqttEndpoint) -> SocketAddr {
    mqtt.url().trim_start_matches("mqtts://").parse().unwrap()
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

/// Connects with the demo certificate; `Ok` once the CONNACK says success.
async fn demo_connack(mqtt: &MqttEndpoint, id: &str) -> Result<(), String> {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let addr = broker_addr(mqtt);
    let mut options = MqttOptions::new(id, addr.ip().to_string(), addr.port());
    options.set_transport(Transport::tls_with_config(TlsConfiguration::Simple {
        ca: read(&mqtt.tls().ca_cert()),
        alpn: None,
        client_auth: Some((
            read(&mqtt.tls().client_cert()),
            read(&mqtt.tls().client_key()),
        )),
    }));
    let (_client, mut eventloop) = AsyncClient::new(options, 10);
    let mut network = eventloop.network_options();
    network.set_connection_timeout(HANG.as_secs() * 2);
    eventloop.set_network_options(network);
    loop {
        match eventloop.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                return match ack.code {
                    rumqttc::ConnectReturnCode::Success => Ok(()),
                    code => Err(format!("refused: {code:?}")),
                };
            }
            Ok(_) => {}
            Err(e) => return Err(e.to_string()),
        }
    }
}

/// Runs `Emulator::start(config)` (and shuts it down) on its own thread with its own runtime, so
/// that a start blocked in a system call cannot block the test; `None` if it did not finish in
/// `HANG`.
fn start_off_thread(config: EmulatorConfig) -> Option<Result<(), String>> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let result = runtime.block_on(async {
            match Emulator::start(config).await {
                Ok(emulator) => {
                    let _ = emulator.shutdown().await;
                    Ok(())
                }
                Err(e) => Err(e.to_string()),
            }
        });
        let _ = tx.send(result);
    });
    rx.recv_timeout(HANG).ok()
}

/// A `tls_dir` whose `.lock` is a FIFO (planted by another local user in a shared `/tmp` path, or
/// left by a careless script): `pki::lock` opens it write-only with a blocking `open(2)`, which
/// waits for a reader that never comes. `Emulator::start` hangs for good - inside an async fn, so
/// it also blocks a runtime worker thread. It should open with `O_NONBLOCK`/`O_NOFOLLOW` and refuse
/// anything that is not a regular file, naming the path.
#[test]
#[cfg(unix)]
fn a_fifo_lock_file_does_not_hang_start() {
    let scratch = tempfile::tempdir().unwrap();
    let tls_dir = scratch.path().join("tls");
    std::fs::create_dir(&tls_dir).unwrap();
    let fifo = tls_dir.join(".lock");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    let mut config = config();
    config.mqtt.tls_dir = Some(tls_dir);
    let outcome = start_off_thread(config);
    if outcome.is_none() {
        // Release the blocked thread before failing, so the process can exit.
        let _ = std::fs::File::open(&fifo);
    }
    let outcome = outcome.expect("Emulator::start hung opening a FIFO named .lock in tls_dir");
    if let Err(error) = outcome {
        assert!(
            error.contains(".lock"),
            "error does not name the lock file: {error}"
        );
    }
}

/// The first round stopped the PKI writer from writing through symlinks in `tls_dir`, but the lock
/// file is opened with `OpenOptions::create(true)`, which follows a symlink: a `.lock` pointing
/// outside `tls_dir` makes the emulator create (and lock) a file wherever the link points, with the
/// user's rights. It should refuse a `.lock` that is a symlink (`O_NOFOLLOW`), naming it.
#[test]
#[cfg(unix)]
fn a_symlinked_lock_file_is_not_followed() {
    let scratch = tempfile::tempdir().unwrap();
    let tls_dir = scratch.path().join("tls");
    std::fs::create_dir(&tls_dir).unwrap();
    let planted = scratch
        .path()
        .join("elsewhere")
        .join("created-by-the-emulator");
    std::fs::create_dir(planted.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(&planted, tls_dir.join(".lock")).unwrap();
    let mut config = config();
    config.mqtt.tls_dir = Some(tls_dir);
    let outcome = start_off_thread(config).expect("start hung");
    assert!(
        !planted.exists(),
        "starting the emulator created {} through the .lock symlink (start: {outcome:?})",
        planted.display()
    );
}

/// Slowloris: one local process opens `MAX_CONNECTIONS` TCP connections and never says a word.
/// Each holds a connection permit for the whole `HANDSHAKE_TIMEOUT` (10 s), so a legitimate client
/// with a valid certificate waits in the kernel's backlog until they time out - and an attacker
/// that reconnects as fast as it is dropped keeps the door shut for good (1,000 sockets every
/// 10 s is no effort). The cap on connections should not also be the cap on handshakes in flight:
/// e.g. a separate, small budget of pending handshakes with a short timeout, or evicting the
/// oldest pending handshake when a new connection arrives at the cap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "attack finding: MAX_CONNECTIONS idle TCP sockets lock every legitimate client out for HANDSHAKE_TIMEOUT, indefinitely if repeated"]
async fn idle_sockets_at_the_cap_do_not_lock_out_a_legitimate_client() {
    let emulator = Emulator::start(config()).await.unwrap();
    let mqtt = emulator.mqtt().unwrap();
    let addr = broker_addr(mqtt);
    let mut idle = Vec::with_capacity(MAX_CONNECTIONS);
    for _ in 0..MAX_CONNECTIONS {
        idle.push(tokio::net::TcpStream::connect(addr).await.unwrap());
    }
    // Give the front door a moment to accept them all (they are then waiting for a ClientHello).
    tokio::time::sleep(Duration::from_millis(500)).await;
    let within = Duration::from_secs(3);
    let result = tokio::time::timeout(within, demo_connack(mqtt, "legit")).await;
    drop(idle);
    assert!(
        matches!(result, Ok(Ok(()))),
        "a client with a valid certificate was not served within {within:?} while \
         {MAX_CONNECTIONS} idle sockets were open: {result:?}"
    );
    emulator.shutdown().await.unwrap();
}

/// Two applications connecting at the same moment with the same client id: `ApplicationAccess`
/// checks the stored session's owner in `authenticate`, before mqtt5 takes the session lock in
/// `handle_session`, so both can pass the check while neither session is stored yet; the second
/// claim then takes the first over (the other application's client is disconnected). The owner
/// check should happen under mqtt5's session lock (or the front door should serialise CONNECTs per
/// client id), so that exactly one application wins.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "attack finding: racing CONNECTs with one client id from two applications both succeed (cross-application takeover)"]
async fn racing_connects_of_two_applications_never_both_succeed() {
    let mut config = config();
    let mut other = config.applications[0].clone();
    other.client_id = "another-application".into();
    other.public_keys.clear();
    config.applications.push(other);
    let emulator = Emulator::start(config).await.unwrap();
    let mqtt = emulator.mqtt().unwrap();
    let demo = (
        read(&mqtt.tls().client_cert()),
        read(&mqtt.tls().client_key()),
    );
    let another = (
        read(&mqtt.tls().application_cert("another-application").unwrap()),
        read(&mqtt.tls().application_key("another-application").unwrap()),
    );
    const ROUNDS: usize = 120;
    let mut both = Vec::new();
    for round in 0..ROUNDS {
        let id = format!("race-{round}");
        let a = connack_with(mqtt, &id, demo.clone());
        let b = connack_with(mqtt, &id, another.clone());
        let (a, b) = tokio::join!(a, b);
        if a.is_ok() && b.is_ok() {
            both.push(id);
        }
    }
    assert!(
        both.is_empty(),
        "both applications got a successful CONNACK for the same client id in {} of {ROUNDS} rounds: {both:?}",
        both.len()
    );
}

/// CONNACK with the given certificate and key (PEM), keeping the connection open 300 ms after it.
async fn connack_with(
    mqtt: &MqttEndpoint,
    id: &str,
    auth: (Vec<u8>, Vec<u8>),
) -> Result<(), String> {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let addr = broker_addr(mqtt);
    let mut options = MqttOptions::new(id, addr.ip().to_string(), addr.port());
    options.set_clean_session(true);
    options.set_transport(Transport::tls_with_config(TlsConfiguration::Simple {
        ca: read(&mqtt.tls().ca_cert()),
        alpn: None,
        client_auth: Some(auth),
    }));
    let (_client, mut eventloop) = AsyncClient::new(options, 10);
    let result = tokio::time::timeout(HANG, async {
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                    return match ack.code {
                        rumqttc::ConnectReturnCode::Success => Ok(()),
                        code => Err(format!("refused: {code:?}")),
                    };
                }
                Ok(_) => {}
                Err(e) => return Err(e.to_string()),
            }
        }
    })
    .await
    .expect("connect hung");
    let _ = tokio::time::timeout(Duration::from_millis(300), eventloop.poll()).await;
    result
}

/// Control for the slowloris finding: a few idle sockets below the cap do not stop a client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_sockets_below_the_cap_do_not_stop_a_client() {
    let emulator = Emulator::start(config()).await.unwrap();
    let mqtt = emulator.mqtt().unwrap();
    let addr = broker_addr(mqtt);
    let mut idle = Vec::new();
    for _ in 0..50 {
        idle.push(tokio::net::TcpStream::connect(addr).await.unwrap());
    }
    let result = tokio::time::timeout(Duration::from_secs(3), demo_connack(mqtt, "legit")).await;
    assert!(matches!(result, Ok(Ok(()))), "{result:?}");
    drop(idle);
    emulator.shutdown().await.unwrap();
}

/// `restart_broker` closes the port and binds it again: any local process (or an outgoing
/// connection given that ephemeral port) that takes the port in the gap makes the restart fail,
/// and the failure is permanent: the old broker is gone from its slot, so every later
/// `restart_broker` says "the MQTT broker was stopped; it cannot restart" and the stream stays
/// down for the rest of the run, although the port is free again. A failed restart should leave
/// the endpoint restartable (keep the address, retry the bind), or keep the listening socket
/// across the restart.
#[ignore = "racy reproducer: it must win a bind race during the restart (fixed: a failed restart leaves the broker Down and the next one retries); run it with --ignored"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_restart_can_be_retried() {
    let emulator = Emulator::start(config()).await.unwrap();
    let mqtt = emulator.mqtt().unwrap();
    let addr = broker_addr(mqtt);
    let squat = tokio::task::spawn_blocking(move || {
        let deadline = std::time::Instant::now() + HANG;
        loop {
            if let Ok(listener) = std::net::TcpListener::bind(addr) {
                return Some(listener);
            }
            if std::time::Instant::now() > deadline {
                return None;
            }
            std::thread::yield_now();
        }
    });
    let first = mqtt.restart_broker().await;
    let squatter = squat.await.unwrap();
    assert!(
        squatter.is_some(),
        "could not take the port during the restart"
    );
    assert!(
        first.is_err(),
        "the restart bound a port another socket holds"
    );
    drop(squatter);
    let second = mqtt.restart_broker().await;
    assert!(
        second.is_ok(),
        "after a failed restart the broker cannot be restarted although its port is free: {second:?}"
    );
    tokio::time::timeout(HANG, demo_connack(mqtt, "after"))
        .await
        .unwrap()
        .unwrap();
}

/// Held: `connected` returns to 0 after churn of clients connecting while connections are cut and
/// the broker restarts, and half-open sockets (TCP only, or handshakes cut in flight) are never
/// counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connected_does_not_drift_under_churn_cuts_and_restarts() {
    let emulator = Emulator::start(config()).await.unwrap();
    let mqtt = emulator.mqtt().unwrap();
    let addr = broker_addr(mqtt);
    let auth = (
        read(&mqtt.tls().client_cert()),
        read(&mqtt.tls().client_key()),
    );
    let mut idle = Vec::new();
    let mut peak = 0;
    for round in 0..6 {
        for _ in 0..5 {
            idle.push(tokio::net::TcpStream::connect(addr).await.unwrap());
        }
        let clients: Vec<_> = (0..8)
            .map(|i| {
                let id = format!("churn-{round}-{i}");
                let auth = auth.clone();
                async move { connack_with(mqtt, &id, auth).await }
            })
            .collect();
        let connects = futures::future::join_all(clients);
        let chaos = async {
            tokio::time::sleep(Duration::from_millis(50 * (round as u64 % 4))).await;
            peak = peak.max(mqtt.cut_connections());
            if round % 3 == 2 {
                mqtt.restart_broker().await.unwrap();
            }
        };
        let _ = tokio::join!(connects, chaos);
    }
    drop(idle);
    let stats = tokio::time::timeout(HANG, mqtt.wait_for_stats(|s| s.connected == 0)).await;
    assert!(stats.is_ok(), "connected stays at {:?}", mqtt.stats());
    assert!(peak > 0, "no connection was ever live when cut");
}

/// Held: odd spellings of the application's own topic or of another's are refused: upper-case
/// `$SHARE`, a trailing slash, a doubled slash, nested share prefixes, another application's topic
/// in a share group.
#[tokio::test]
async fn odd_spellings_of_topics_are_refused() {
    let emulator = Emulator::start(config()).await.unwrap();
    let mqtt = emulator.mqtt().unwrap();
    let own = mqtt.topic(hm_emulator::DEMO_CLIENT_ID);
    let other = mqtt.topic("another-application");
    for filter in [
        format!("$SHARE/g/{own}"),
        format!("{own}/"),
        own.replacen('/', "//", 1),
        format!("$share/g/$share/h/{own}"),
        format!("$share/g/{other}"),
        own.to_uppercase(),
    ] {
        assert!(!is_granted(mqtt, &filter).await, "{filter} was granted");
    }
}

/// `$share//<own topic>` (a share group with an empty name) is granted: `may_subscribe` strips the
/// prefix and compares the rest, and mqtt5 does not check the share name. MQTT 5 (4.8.2) requires
/// a ShareName of at least one character; a real broker refuses it, so a consumer that works
/// against the emulator fails against High Mobility. Refuse an empty (or `+`/`#`-bearing) share
/// name in `may_subscribe`.
#[tokio::test]
async fn a_share_group_without_a_name_is_refused() {
    let emulator = Emulator::start(config()).await.unwrap();
    let mqtt = emulator.mqtt().unwrap();
    let own = mqtt.topic(hm_emulator::DEMO_CLIENT_ID);
    {
        let filter = format!("$share//{own}");
        assert!(!is_granted(mqtt, &filter).await, "{filter} was granted");
    }
}

/// Whether the broker grants `filter` to a client with the demo application's certificate.
async fn is_granted(mqtt: &hm_emulator::mqtt::MqttEndpoint, filter: &str) -> bool {
    use rumqttc::{QoS, SubscribeReasonCode};
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let addr = broker_addr(mqtt);
    let mut options = MqttOptions::new("odd", addr.ip().to_string(), addr.port());
    options.set_transport(Transport::tls_with_config(TlsConfiguration::Simple {
        ca: read(&mqtt.tls().ca_cert()),
        alpn: None,
        client_auth: Some((
            read(&mqtt.tls().client_cert()),
            read(&mqtt.tls().client_key()),
        )),
    }));
    let (client, mut eventloop) = AsyncClient::new(options, 10);
    client.subscribe(filter, QoS::AtLeastOnce).await.unwrap();
    tokio::time::timeout(HANG, async {
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::SubAck(ack))) => {
                    return ack
                        .return_codes
                        .iter()
                        .all(|c| matches!(c, SubscribeReasonCode::Success(_)));
                }
                Ok(_) => {}
                Err(_) => return false,
            }
        }
    })
    .await
    .unwrap()
}
