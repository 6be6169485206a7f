//! The consumer's promises, one by one, against Mosquitto with mutual TLS.

use std::convert::Infallible;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hm_stream::{BadMessage, CaRoots, Consumer, Delivery, Error, Problem, StreamConfig};
use tokio::sync::mpsc;
use tracing::instrument::WithSubscriber;

use crate::common::pki::TestPki;
use crate::require_mosquitto;
use crate::support::broker::Mosquitto;
use crate::support::proxy::ChaosProxy;
use crate::support::publisher::Publisher;
use crate::support::*;

const TIMEOUT: Duration = Duration::from_secs(60);

// Fields drop in order: the broker stops before its directory goes.
struct Setup {
    publisher: Publisher,
    broker: Mosquitto,
    pki: TestPki,
    _dir: tempfile::TempDir,
}

async fn setup(binary: &std::path::Path) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let pki = TestPki::new();
    let broker = Mosquitto::start(binary, &pki, dir.path()).await;
    let publisher = Publisher::connect(broker.port(), &pki, "test-publisher").await;
    Setup {
        _dir: dir,
        pki,
        broker,
        publisher,
    }
}

async fn recv<T>(rx: &mut mpsc::UnboundedReceiver<T>) -> T {
    tokio::time::timeout(TIMEOUT, rx.recv())
        .await
        .expect("timed out waiting for a delivery")
        .expect("channel closed")
}

/// Log lines written by the consumer, captured per future.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    fn subscriber(&self) -> impl tracing::Subscriber + Send + Sync + 'static {
        tracing_subscriber::fmt()
            .with_writer(self.clone())
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .finish()
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Logs {
    type Writer = Logs;

    fn make_writer(&'a self) -> Logs {
        self.clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_and_raw_deliveries_and_upstream_duplicates() {
    let binary = require_mosquitto!();
    let mut s = setup(&binary).await;

    let (typed_tx, mut typed) = mpsc::unbounded_channel();
    let consumer = Consumer::new(config(&s.broker.url(), &s.pki, "typed")).unwrap();
    let typed_stats = consumer.stats();
    let typed_run = tokio::spawn(consumer.run(move |delivery: Delivery| {
        let tx = typed_tx.clone();
        async move {
            tx.send(delivery).unwrap();
            Ok::<_, Infallible>(())
        }
    }));
    let (raw_tx, mut raw) = mpsc::unbounded_channel();
    let consumer = Consumer::new(config(&s.broker.url(), &s.pki, "raw")).unwrap();
    let raw_stats = consumer.stats();
    let raw_run = tokio::spawn(consumer.run(move |delivery: Delivery<serde_json::Value>| {
        let tx = raw_tx.clone();
        async move {
            tx.send(delivery).unwrap();
            Ok::<_, Infallible>(())
        }
    }));
    wait_stats(&typed_stats, "the subscription", |s| s.subscriptions == 1).await;
    wait_stats(&raw_stats, "the subscription", |s| s.subscriptions == 1).await;

    let payload = message("first", 7);
    s.publisher.publish(&topic(), payload.clone()).await;
    let delivery = recv(&mut typed).await;
    assert_eq!(delivery.message_id, "first");
    assert_eq!(delivery.vin, "EXVETESTVIN000007");
    assert_eq!(delivery.application_id, APP_ID);
    assert_eq!(delivery.topic, topic());
    assert_eq!(
        delivery.payload,
        payload.as_bytes(),
        "the raw payload is kept"
    );
    assert!(!delivery.redelivered);
    let odometer = &delivery.data.property("diagnostics", "odometer")[0];
    let value: serde_json::Value = odometer.data_as().unwrap().unwrap();
    assert_eq!(value["value"], 7);
    assert!(odometer.timestamp.is_some());
    let delivery = recv(&mut raw).await;
    assert_eq!(
        delivery.data["diagnostics"]["odometer"][0]["data"]["unit"],
        "kilometers"
    );

    // High Mobility delivers at least once: the same message_id may be published again.
    for _ in 0..3 {
        s.publisher.publish(&topic(), message("again", 8)).await;
    }
    s.publisher.publish(&topic(), message("after", 8)).await;
    assert_eq!(recv(&mut typed).await.message_id, "again");
    assert_eq!(recv(&mut typed).await.message_id, "after");
    wait_stats(&typed_stats, "all acknowledged", |s| s.acked == 5).await;
    let stats = typed_stats.snapshot();
    assert_eq!(
        (stats.received, stats.handled, stats.duplicates),
        (5, 3, 2),
        "{stats:?}"
    );
    typed_run.abort();
    raw_run.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_or_panicking_handler_stops_the_consumer_and_its_message_comes_back() {
    let binary = require_mosquitto!();
    let mut s = setup(&binary).await;
    let url = s.broker.url();

    // 1. The handler fails on "poison": run() reports it; "fine" (handled) is acknowledged.
    let consumer = Consumer::new(config(&url, &s.pki, "worker")).unwrap();
    let stats = consumer.stats();
    let run = tokio::spawn(consumer.run(|delivery: Delivery| async move {
        match delivery.message_id.as_str() {
            "poison" => Err("the database is down"),
            _ => Ok(()),
        }
    }));
    wait_stats(&stats, "the subscription", |s| s.subscriptions == 1).await;
    s.publisher.publish(&topic(), message("fine", 1)).await;
    wait_stats(&stats, "the first message", |s| s.acked == 1).await;
    s.publisher.publish(&topic(), message("poison", 2)).await;
    let error = tokio::time::timeout(TIMEOUT, run)
        .await
        .unwrap()
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(&error, Error::Handler { message_id, .. } if message_id == "poison"),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("the database is down"),
        "{error}"
    );
    assert!(error.to_string().contains("delivers it again"), "{error}");

    // 2. The same client id again: "poison" comes back (not acknowledged), "fine" does not. This
    //    time the handler panics on it: reported, never unwound into the consumer.
    let consumer = Consumer::new(config(&url, &s.pki, "worker")).unwrap();
    let seen = Handled::default();
    let record = seen.clone();
    let run = tokio::spawn(consumer.run(move |delivery: Delivery| {
        record.record(&delivery.message_id);
        async move {
            assert_ne!(delivery.message_id, "poison", "the handler panics");
            Ok::<_, Infallible>(())
        }
    }));
    let error = tokio::time::timeout(TIMEOUT, run)
        .await
        .unwrap()
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(&error, Error::HandlerPanicked { message_id, detail } if message_id == "poison" && detail.contains("the handler panics")),
        "{error:?}"
    );
    assert_eq!(
        seen.count("fine"),
        0,
        "a handled message was delivered again"
    );

    // 3. A working handler finally gets it, and then new messages.
    let consumer = Consumer::new(config(&url, &s.pki, "worker")).unwrap();
    let handled = Handled::default();
    let record = handled.clone();
    let run = tokio::spawn(consumer.run(move |delivery: Delivery| {
        record.record(&delivery.message_id);
        async { Ok::<_, Infallible>(()) }
    }));
    s.publisher.publish(&topic(), message("marker", 3)).await;
    assert!(wait_for(TIMEOUT, || handled.count("marker") == 1).await);
    assert_eq!(handled.count("poison"), 1);
    assert_eq!(handled.count("fine"), 0);
    run.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_messages_are_reported_with_their_id_and_acknowledged() {
    let binary = require_mosquitto!();
    let mut s = setup(&binary).await;
    let url = s.broker.url();

    let logs = Logs::default();
    let consumer = Consumer::new(config(&url, &s.pki, "strict")).unwrap();
    let stats = consumer.stats();
    let handled = Handled::default();
    let record = handled.clone();
    let (stop, signal) = stop_signal();
    let run = tokio::spawn(
        consumer
            .run_until(
                move |delivery: Delivery| {
                    record.record(&delivery.message_id);
                    async { Ok::<_, Infallible>(()) }
                },
                signal,
            )
            .with_subscriber(logs.subscriber()),
    );
    wait_stats(&stats, "the subscription", |s| s.subscriptions == 1).await;
    let wrong_shape = message("no-vin", 1).replace(r#""vin":"EXVETESTVIN000001","#, "");
    for bad in [
        b"{\"message_id\": \"cut-off\", \"vin\": ".to_vec(),
        vec![0xff, 0xfe, 0x00],
        wrong_shape.into_bytes(),
    ] {
        s.publisher.publish(&topic(), bad).await;
    }
    s.publisher.publish(&topic(), message("good", 1)).await;
    assert!(
        wait_for(TIMEOUT, || handled.count("good") == 1).await,
        "stalled after bad messages"
    );
    wait_stats(&stats, "everything acknowledged", |s| {
        s.bad == 3 && s.acked == 4
    })
    .await;
    let text = logs.text();
    for expected in ["message_id=no-vin", "missing field `vin`", "not JSON"] {
        assert!(
            text.contains(expected),
            "`{expected}` not reported in:\n{text}"
        );
    }
    stop.send(()).unwrap();
    run.await.unwrap().unwrap();

    // Acknowledged means gone: the same session receives only what is new.
    let consumer = Consumer::new(config(&url, &s.pki, "strict")).unwrap();
    let stats = consumer.stats();
    let handled = Handled::default();
    let record = handled.clone();
    let run = tokio::spawn(consumer.run(move |delivery: Delivery| {
        record.record(&delivery.message_id);
        async { Ok::<_, Infallible>(()) }
    }));
    s.publisher.publish(&topic(), message("marker", 2)).await;
    assert!(wait_for(TIMEOUT, || handled.count("marker") == 1).await);
    assert_eq!(stats.snapshot().bad, 0, "bad messages were delivered again");
    run.abort();
}

/// A message over `max_message_bytes` is refused from its header, unread, so it cannot be
/// acknowledged: the consumer stops and says so, and the message waits at the broker until a
/// consumer with a higher limit takes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_over_the_limit_stops_the_consumer_and_waits_at_the_broker() {
    let binary = require_mosquitto!();
    let mut s = setup(&binary).await;
    let url = s.broker.url();
    let limited = Consumer::new(config(&url, &s.pki, "limited").max_message_bytes(4000)).unwrap();
    let stats = limited.stats();
    let run = tokio::spawn(limited.run(|_: Delivery| async { Ok::<_, Infallible>(()) }));
    wait_stats(&stats, "the subscription", |s| s.subscriptions == 1).await;
    let too_big = message("too-big", 1).replace(
        r#""data":{"#,
        &format!(r#""padding":"{}","data":{{"#, "x".repeat(10_000)),
    );
    s.publisher.publish(&topic(), too_big.clone()).await;
    let error = tokio::time::timeout(TIMEOUT, run)
        .await
        .expect("the consumer stops")
        .unwrap()
        .unwrap_err();
    let expected = 2 + topic().len() + 2 + too_big.len();
    assert!(
        matches!(error, Error::MessageTooLarge { bytes, limit: 4000 } if bytes == expected),
        "{error:?}"
    );
    assert!(error.to_string().contains("max_message_bytes"), "{error}");

    let roomy = Consumer::new(config(&url, &s.pki, "limited")).unwrap();
    let handled = Handled::default();
    let record = handled.clone();
    let run = tokio::spawn(roomy.run(move |delivery: Delivery| {
        record.record(&delivery.message_id);
        async { Ok::<_, Infallible>(()) }
    }));
    assert!(wait_for(TIMEOUT, || handled.count("too-big") == 1).await);
    run.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_messages_go_to_the_dead_letter_handler_and_are_acknowledged_only_when_it_succeeds() {
    let binary = require_mosquitto!();
    let mut s = setup(&binary).await;
    let url = s.broker.url();

    let (tx, mut dead) = mpsc::unbounded_channel::<BadMessage>();
    let consumer = Consumer::new(config(&url, &s.pki, "dlq"))
        .unwrap()
        .dead_letter(move |bad| {
            let tx = tx.clone();
            async move {
                tx.send(bad).unwrap();
                Ok::<_, Infallible>(())
            }
        });
    let stats = consumer.stats();
    let (stop, signal) = stop_signal();
    let run =
        tokio::spawn(consumer.run_until(|_: Delivery| async { Ok::<_, Infallible>(()) }, signal));
    wait_stats(&stats, "the subscription", |s| s.subscriptions == 1).await;
    let wrong_type = message("x-1", 1).replace(r#""version":2"#, r#""version":"two""#);
    s.publisher.publish(&topic(), "plain text").await;
    s.publisher.publish(&topic(), wrong_type.clone()).await;
    s.publisher.publish(&topic(), message("ok", 1)).await;

    let first = recv(&mut dead).await;
    assert_eq!(first.message_id, None);
    assert_eq!(first.payload, "plain text".as_bytes());
    assert!(
        matches!(first.problem, Problem::NotJson { .. }),
        "{first:?}"
    );
    let second = recv(&mut dead).await;
    assert_eq!(second.message_id.as_deref(), Some("x-1"));
    assert_eq!(second.payload, wrong_type.as_bytes());
    assert!(
        matches!(second.problem, Problem::SchemaMismatch { .. }),
        "{second:?}"
    );
    wait_stats(&stats, "all acknowledged", |s| {
        s.handled == 1 && s.acked == 3
    })
    .await;
    stop.send(()).unwrap();
    run.await.unwrap().unwrap();

    // A dead-letter store that fails: the consumer stops and the message stays with the broker.
    let consumer = Consumer::new(config(&url, &s.pki, "dlq"))
        .unwrap()
        .dead_letter(|_| async { Err("the dead-letter store is full") });
    let run = tokio::spawn(consumer.run(|_: Delivery| async { Ok::<_, Infallible>(()) }));
    s.publisher.publish(&topic(), "[1, 2").await;
    let error = tokio::time::timeout(TIMEOUT, run)
        .await
        .unwrap()
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::DeadLetter {
                message_id: None,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("store is full"), "{error}");

    let consumer = Consumer::new(config(&url, &s.pki, "dlq")).unwrap();
    let stats = consumer.stats();
    let run = tokio::spawn(consumer.run(|_: Delivery| async { Ok::<_, Infallible>(()) }));
    wait_stats(&stats, "the redelivered bad message", |s| {
        s.bad == 1 && s.acked == 1
    })
    .await;
    run.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_acknowledges_what_was_handled_and_nothing_else() {
    let binary = require_mosquitto!();
    let mut s = setup(&binary).await;
    let url = s.broker.url();
    const TOTAL: usize = 50;

    let gate = Gate::open();
    gate.set(false);
    let started = Arc::new(AtomicU64::new(0));
    let first = Handled::default();
    let consumer = Consumer::new(
        config(&url, &s.pki, "graceful")
            .max_in_flight(8)
            .concurrency(2),
    )
    .unwrap();
    let stats = consumer.stats();
    let (stop, signal) = stop_signal();
    let (gate2, started2, record) = (gate.clone(), started.clone(), first.clone());
    let run = tokio::spawn(consumer.run_until(
        move |delivery: Delivery| {
            let (gate, started, record) = (gate2.clone(), started2.clone(), record.clone());
            async move {
                started.fetch_add(1, Ordering::SeqCst);
                gate.pass().await;
                record.record(&delivery.message_id);
                Ok::<_, Infallible>(())
            }
        },
        signal,
    ));
    wait_stats(&stats, "the subscription", |s| s.subscriptions == 1).await;
    for i in 0..TOTAL {
        s.publisher
            .publish(&topic(), message(&format!("g-{i}"), i))
            .await;
    }
    // One or two handlers running (blocked), the rest of the window received and queued.
    wait_stats(&stats, "a full window", |s| s.in_flight == 8).await;
    assert!(wait_for(TIMEOUT, || started.load(Ordering::SeqCst) >= 1).await);
    stop.send(()).unwrap();
    gate.set(true);
    tokio::time::timeout(TIMEOUT, run)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let handled_first = first.snapshot();
    assert!(
        (1..=8).contains(&handled_first.len()),
        "the running handlers finish and nothing new is taken: {handled_first:?}"
    );

    let second = Handled::default();
    let record = second.clone();
    let consumer = Consumer::new(config(&url, &s.pki, "graceful")).unwrap();
    let run = tokio::spawn(consumer.run(move |delivery: Delivery| {
        record.record(&delivery.message_id);
        async { Ok::<_, Infallible>(()) }
    }));
    assert!(
        wait_for(TIMEOUT, || handled_first.len() + second.distinct() >= TOTAL).await,
        "lost messages: first {} + second {} of {TOTAL}",
        handled_first.len(),
        second.distinct()
    );
    for id in handled_first.keys() {
        assert_eq!(
            second.count(id),
            0,
            "{id} was handled and acknowledged, yet delivered again"
        );
    }
    run.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_more_than_max_in_flight_messages_are_taken_from_the_broker() {
    let binary = require_mosquitto!();
    let mut s = setup(&binary).await;
    let gate = Gate::open();
    gate.set(false);
    let consumer = Consumer::new(
        config(&s.broker.url(), &s.pki, "bounded")
            .max_in_flight(5)
            .concurrency(8),
    )
    .unwrap();
    let stats = consumer.stats();
    let pass = gate.clone();
    let run = tokio::spawn(consumer.run(move |_: Delivery| {
        let gate = pass.clone();
        async move {
            gate.pass().await;
            Ok::<_, Infallible>(())
        }
    }));
    wait_stats(&stats, "the subscription", |s| s.subscriptions == 1).await;
    for i in 0..100 {
        s.publisher
            .publish(&topic(), message(&format!("b-{i}"), i))
            .await;
    }
    s.publisher.flush().await;
    wait_stats(&stats, "a full window", |s| s.in_flight == 5).await;
    gate.set(true);
    wait_stats(&stats, "everything handled", |s| {
        s.handled == 100 && s.acked == 100
    })
    .await;
    let stats = stats.snapshot();
    assert_eq!(stats.peak_in_flight, 5, "{stats:?}");
    assert_eq!(stats.in_flight, 0, "{stats:?}");
    run.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redelivery_of_a_message_still_being_handled_waits_for_it() {
    let binary = require_mosquitto!();
    let mut s = setup(&binary).await;
    let proxy = ChaosProxy::start(s.broker.port()).await;
    let gate = Gate::open();
    gate.set(false);
    let handled = Handled::default();
    let consumer = Consumer::new(config(&proxy.url(), &s.pki, "holder")).unwrap();
    let stats = consumer.stats();
    let (pass, record) = (gate.clone(), handled.clone());
    let run = tokio::spawn(consumer.run(move |delivery: Delivery| {
        let (gate, record) = (pass.clone(), record.clone());
        async move {
            if delivery.message_id == "slow" {
                gate.pass().await;
            }
            record.record(&delivery.message_id);
            Ok::<_, Infallible>(())
        }
    }));
    wait_stats(&stats, "the subscription", |s| s.subscriptions == 1).await;
    s.publisher.publish(&topic(), message("slow", 1)).await;
    wait_stats(&stats, "the slow message", |s| s.received == 1).await;

    // The connection drops while "slow" is being handled: the broker delivers it again, and the
    // copy must not be acknowledged (or handled) before the first delivery is done.
    for cut in 1..=2 {
        proxy.cut();
        wait_stats(&stats, "the held copy", |s| {
            s.duplicates == cut && s.connections == cut + 1
        })
        .await;
    }
    assert_eq!(handled.count("slow"), 0);
    assert_eq!(
        stats.snapshot().acked,
        0,
        "a copy was acknowledged before the message was handled"
    );

    gate.set(true);
    assert!(wait_for(TIMEOUT, || handled.count("slow") == 1).await);
    wait_stats(&stats, "the copy's acknowledgement", |s| s.acked == 1).await;
    // Now it is acknowledged: after one more cut the broker has nothing to redeliver, which shows
    // once a newer message arrives (the broker resends unacknowledged messages first).
    proxy.cut();
    wait_stats(&stats, "the reconnection", |s| s.connections == 4).await;
    s.publisher.publish(&topic(), message("later", 2)).await;
    assert!(wait_for(TIMEOUT, || handled.count("later") == 1).await);
    let stats = stats.snapshot();
    assert_eq!(
        (stats.duplicates, handled.count("slow")),
        (2, 1),
        "{stats:?}"
    );
    run.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificates_are_checked_both_ways_with_clear_errors() {
    let binary = require_mosquitto!();
    let s = setup(&binary).await;
    let run = |config: StreamConfig| async move {
        let consumer = Consumer::new(config).unwrap();
        tokio::time::timeout(
            TIMEOUT,
            consumer.run(|_: Delivery| async { Ok::<_, Infallible>(()) }),
        )
        .await
        .expect("a certificate problem must stop the consumer, not retry forever")
        .unwrap_err()
    };

    // A client certificate from a CA the broker does not trust.
    let stranger = StreamConfig::new(APP_ID, s.pki.stranger.identity())
        .broker_url(s.broker.url())
        .ca_roots(CaRoots::from_pem(&s.pki.ca_pem).unwrap())
        .client_id("stranger");
    let error = run(stranger).await;
    assert!(matches!(error, Error::Connect { .. }), "{error:?}");
    assert!(
        error
            .to_string()
            .contains("rejected the client certificate"),
        "{error}"
    );

    // A broker whose certificate the consumer does not trust.
    let distrustful = config(&s.broker.url(), &s.pki, "distrustful")
        .ca_roots(CaRoots::from_pem(&s.pki.stranger_ca_pem).unwrap());
    let error = run(distrustful).await;
    assert!(
        error.to_string().contains("certificate is not trusted"),
        "{error}"
    );

    // The broker's name must match its certificate (issued for 127.0.0.1, not for localhost).
    let wrong_name = config(
        &s.broker.url().replace("127.0.0.1", "localhost"),
        &s.pki,
        "name",
    );
    let error = run(wrong_name).await;
    assert!(
        error.to_string().contains("certificate is not trusted"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_key_material_in_logs_or_debug_output() {
    let binary = require_mosquitto!();
    let mut s = setup(&binary).await;
    let logs = Logs::default();
    let config = config(&s.broker.url(), &s.pki, "quiet");
    let consumer = Consumer::new(config.clone()).unwrap();
    let stats = consumer.stats();
    let debug = format!("{config:?} {consumer:?} {:?}", s.pki.client.identity());
    let (stop, signal) = stop_signal();
    let run = tokio::spawn(
        consumer
            .run_until(|_: Delivery| async { Ok::<_, Infallible>(()) }, signal)
            .with_subscriber(logs.subscriber()),
    );
    wait_stats(&stats, "the subscription", |s| s.subscriptions == 1).await;
    s.publisher.publish(&topic(), message("m", 1)).await;
    s.publisher.publish(&topic(), "not json").await;
    wait_stats(&stats, "both messages", |s| s.acked == 2).await;
    stop.send(()).unwrap();
    tokio::time::timeout(TIMEOUT, run)
        .await
        .unwrap()
        .unwrap()
        .unwrap();

    let text = format!("{}\n{debug}", logs.text());
    assert!(
        text.contains("connected") && text.contains("[REDACTED]"),
        "{text}"
    );
    for secret in [&s.pki.client.key_pem, &s.pki.server.key_pem] {
        for line in secret.lines().filter(|l| !l.starts_with("-----")) {
            assert!(!text.contains(line), "key material leaked:\n{text}");
        }
    }
    assert!(!text.contains("PRIVATE KEY"), "{text}");
}
