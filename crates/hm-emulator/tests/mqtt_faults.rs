//! Fault injection in the embedded MQTT broker, seen through hm-stream's consumer: with messages
//! published twice, connections cut again and again and the broker restarted, every message the
//! emulator published is handled exactly once by the application and nothing is lost; persistent
//! sessions and their queued messages survive a broker restart.
//!
//! The emulator's clock is frozen: publishing happens only when a test advances it, and the tests
//! wait for the emulator's stats and the consumer's counters, never for time.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::Checked;
use hm_emulator::{
    DEMO_CLIENT_ID, DEMO_VIN_APPROVED, EmulatorConfig, MqttEndpoint, MqttFault, MqttStats,
};
use hm_stream::{CaRoots, ClientIdentity, Consumer, DataEnvironment, Delivery, StatsSnapshot};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Generous bound on any one wait; a healthy run needs a fraction of a second.
const PATIENCE: Duration = Duration::from_secs(60);

/// The emulator with the approved demo vehicle, publishing one message per virtual second, and
/// the rounds due before any consumer listens already published.
async fn emulator_publishing() -> Checked {
    let mut config = common::frozen_demo();
    config.mqtt.enabled = true;
    config.mqtt.publish_interval_secs = 1;
    let api = Checked::start(config).await;
    let token = api.demo_token().await;
    api.request_clearance(&token, &[(DEMO_VIN_APPROVED, "sandbox")])
        .await;
    // The clearance is decided after 3 s: from then on every round has a message.
    api.advance(4);
    let mqtt = api.emulator.mqtt().unwrap();
    mqtt.settled().await;
    assert!(mqtt.stats().published >= 1);
    api
}

/// A running consumer of the demo application's data with a persistent session under `client_id`;
/// it records the `message_id` of every message its handler gets.
struct Running {
    stats: hm_stream::Stats,
    handled: Arc<Mutex<Vec<String>>>,
    /// What the consumer could not decode, and why.
    bad: Arc<Mutex<Vec<String>>>,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), hm_stream::Error>>,
}

fn consume(mqtt: &MqttEndpoint, client_id: &str) -> Running {
    let tls = mqtt.tls();
    let config = hm_stream::StreamConfig::new(
        hm_emulator::mqtt::application_id(DEMO_CLIENT_ID),
        ClientIdentity::from_pem_files(tls.client_cert(), tls.client_key()).unwrap(),
    )
    .environment(DataEnvironment::Live)
    .broker_url(mqtt.url())
    .ca_roots(CaRoots::from_pem_file(tls.ca_cert()).unwrap())
    .client_id(client_id)
    // Reconnect at once after each cut; the test is about losing nothing, not about backoff.
    .reconnect_backoff(Duration::from_millis(5), Duration::from_millis(50));
    let bad = Arc::new(Mutex::new(Vec::new()));
    let report = bad.clone();
    let consumer =
        Consumer::new(config)
            .unwrap()
            .dead_letter(move |message: hm_stream::BadMessage| {
                let start = &message.payload[..message.payload.len().min(8)];
                report
                    .lock()
                    .unwrap()
                    .push(format!("{message:?}, starting {start:?}"));
                async { Ok::<_, std::io::Error>(()) }
            });
    let stats = consumer.stats();
    let handled = Arc::new(Mutex::new(Vec::new()));
    let record = handled.clone();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(consumer.run_until(
        move |delivery: Delivery<serde_json::Value>| {
            record.lock().unwrap().push(delivery.message_id.clone());
            async { Ok::<_, std::io::Error>(()) }
        },
        async {
            stopped.await.ok();
        },
    ));
    Running {
        stats,
        handled,
        bad,
        stop,
        task,
    }
}

impl Running {
    fn snapshot(&self) -> StatsSnapshot {
        self.stats.snapshot()
    }

    fn handled_ids(&self) -> Vec<String> {
        self.handled.lock().unwrap().clone()
    }

    /// Stops the consumer gracefully; returns the `message_id`s its handler got. Every message
    /// decoded: a broker that re-encodes what it queued must not change a byte.
    async fn stop(self) -> (Vec<String>, StatsSnapshot) {
        self.stop.send(()).unwrap();
        self.task.await.unwrap().unwrap();
        let bad = self.bad.lock().unwrap();
        assert!(bad.is_empty(), "{bad:#?}");
        (self.handled.lock().unwrap().clone(), self.stats.snapshot())
    }
}

/// Waits for a condition on `consumer`, which has no notifier of its own.
async fn wait_until(what: &str, consumer: &Running, mut condition: impl FnMut(&Running) -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !condition(consumer) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}: {:?}, {} handled, bad: {:?}",
            consumer.snapshot(),
            consumer.handled_ids().len(),
            consumer.bad.lock().unwrap()
        );

        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// One publishing round: advance the virtual clock a second and wait until its message is out.
async fn publish_round(api: &Checked, mqtt: &MqttEndpoint) -> MqttStats {
    api.advance(1);
    mqtt.settled().await;
    mqtt.stats()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zero_loss_with_duplicates_cut_connections_and_a_broker_restart() {
    const ROUNDS: u64 = 240;
    const EXPLICIT_CUTS: u64 = 8;
    let api = emulator_publishing().await;
    let mqtt = api.emulator.mqtt().unwrap();
    let before = mqtt.stats().published;
    mqtt.set_fault(
        MqttFault::duplicates(0.1)
            .with_disconnects_every(Duration::from_secs(25))
            .with_seed(11),
    );
    let consumer = consume(mqtt, "zero-loss");
    wait_until("the subscription", &consumer, |c| {
        c.snapshot().subscriptions == 1
    })
    .await;

    let mut cuts = 0;
    for round in 1..=ROUNDS {
        if round % (ROUNDS / EXPLICIT_CUTS) == ROUNDS / EXPLICIT_CUTS / 2 {
            // Cut while the consumer is connected, so every explicit cut ends a connection.
            let stats = mqtt.wait_for_stats(|s| s.connected == 1).await;
            assert_eq!(mqtt.cut_connections(), 1);
            mqtt.wait_for_stats(|s| s.connections_dropped > stats.connections_dropped)
                .await;
            cuts += 1;
        }
        if round == ROUNDS / 2 {
            // A round falls due while the broker restarts: it is published once the broker is back.
            let (restarted, _) = tokio::join!(mqtt.restart_broker(), publish_round(&api, mqtt));
            restarted.unwrap();
        } else {
            publish_round(&api, mqtt).await;
        }
    }
    let stats = mqtt.stats();
    let published = stats.published - before;
    assert_eq!(published, ROUNDS, "one message per round: {stats:?}");
    assert_eq!(stats.restarts, 1);
    assert_eq!(cuts, EXPLICIT_CUTS);
    assert!(
        stats.connections_dropped > EXPLICIT_CUTS,
        "the explicit cuts and periodic ones ended connections: {stats:?}"
    );
    assert!(stats.duplicated >= ROUNDS / 20, "{stats:?}");

    // Everything published reaches the handler, each message once.
    wait_until("every message handled", &consumer, |c| {
        c.handled_ids().len() as u64 >= published
    })
    .await;
    let (handled, snapshot) = consumer.stop().await;
    let distinct: HashSet<&String> = handled.iter().collect();
    assert_eq!(
        distinct.len(),
        handled.len(),
        "a duplicate reached the handler"
    );
    assert_eq!(
        handled.len() as u64,
        published,
        "handled every published message, 0 lost: {snapshot:?} {stats:?}"
    );
    // Every copy the emulator published twice arrived and was dropped (redeliveries after the
    // cuts add to them).
    assert!(
        snapshot.duplicates >= stats.duplicated,
        "{snapshot:?} {stats:?}"
    );
    eprintln!("emulator: {stats:?}\nconsumer: {snapshot:?}");
    assert!(
        snapshot.connection_losses > EXPLICIT_CUTS,
        "the cuts and the restart reached the consumer: {snapshot:?}"
    );
    api.emulator.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_persistent_session_gets_what_was_queued_before_and_after_a_broker_restart() {
    let api = emulator_publishing().await;
    let mqtt = api.emulator.mqtt().unwrap();
    let url = mqtt.url().to_string();
    let first = consume(mqtt, "persistent");
    wait_until("the subscription", &first, |c| {
        c.snapshot().subscriptions == 1
    })
    .await;
    publish_round(&api, mqtt).await;
    wait_until("the first message", &first, |c| c.handled_ids().len() == 1).await;
    let (seen, _) = first.stop().await;

    // Nobody listens: the broker queues for the session, restarts, and queues more.
    for _ in 0..5 {
        publish_round(&api, mqtt).await;
    }
    mqtt.restart_broker().await.unwrap();
    assert_eq!(mqtt.url(), url, "the broker is back behind the same URL");
    for _ in 0..5 {
        publish_round(&api, mqtt).await;
    }
    assert_eq!(mqtt.stats().restarts, 1);

    let second = consume(mqtt, "persistent");
    wait_until("the ten queued messages", &second, |c| {
        c.handled_ids().len() >= 10
    })
    .await;
    let (queued, snapshot) = second.stop().await;
    assert_eq!(queued.len(), 10, "{queued:?} {snapshot:?}");
    let distinct: HashSet<&String> = queued.iter().chain(&seen).collect();
    assert_eq!(distinct.len(), 11, "each message once, none seen before");
    api.emulator.shutdown().await.unwrap();
}

#[tokio::test]
async fn configured_duplicates_apply_from_the_start_and_cuts_count_only_live_connections() {
    let mut config = common::frozen_demo();
    config.mqtt.enabled = true;
    config.mqtt.publish_interval_secs = 1;
    config.mqtt.duplicate_share = 1.0;
    let api = Checked::start(config).await;
    let token = api.demo_token().await;
    api.request_clearance(&token, &[(DEMO_VIN_APPROVED, "sandbox")])
        .await;
    api.advance(4);
    let mqtt = api.emulator.mqtt().unwrap();
    mqtt.settled().await;
    let stats = mqtt.stats();
    assert!(stats.published >= 1, "{stats:?}");
    assert_eq!(stats.duplicated, stats.published, "{stats:?}");
    // Nobody is connected: nothing to cut.
    assert_eq!(stats.connected, 0);
    assert_eq!(mqtt.cut_connections(), 0);
    mqtt.clear_fault();
    let stats = publish_round(&api, mqtt).await;
    assert_eq!(stats.duplicated, stats.published - 1, "{stats:?}");
    assert_eq!(stats.connections_dropped, 0);
    api.emulator.shutdown().await.unwrap();
}

#[test]
fn fault_settings_are_checked() {
    for (toml, key) in [
        ("duplicate_share = 1.5", "mqtt.duplicate_share"),
        ("duplicate_share = -0.1", "mqtt.duplicate_share"),
        ("duplicate_share = nan", "mqtt.duplicate_share"),
        (
            "disconnect_every_secs = 86401",
            "mqtt.disconnect_every_secs",
        ),
    ] {
        let error = EmulatorConfig::from_toml_str(&format!("[mqtt]\n{toml}\n")).unwrap_err();
        let message = error.to_string();
        assert!(message.contains(key), "{toml}: {message}");
        assert!(message.contains("set it between"), "{toml}: {message}");
    }
    let config = EmulatorConfig::from_toml_str(
        "[mqtt]\nduplicate_share = 0.05\ndisconnect_every_secs = 60\nfault_seed = 7\n",
    )
    .unwrap();
    assert_eq!(
        config.mqtt.fault(),
        Some(
            MqttFault::duplicates(0.05)
                .with_disconnects_every(Duration::from_secs(60))
                .with_seed(7)
        )
    );
    assert_eq!(EmulatorConfig::default().mqtt.fault(), None);
}
