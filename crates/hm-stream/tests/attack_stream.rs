//! Attack findings against hm-stream (issue 11, consumer part), kept as regression tests: each one
//! failed while its weakness existed. The tests against a hostile fake broker always run; those
//! against Eclipse Mosquitto run with `HM_TEST_MOSQUITTO=1` (see the `mosquitto` test binary).

#[path = "mosquitto/support/gate.rs"]
mod gate;
#[path = "attack_stream/support.rs"]
mod support;

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use hm_stream::{BadMessage, Consumer, DataEnvironment, Delivery, Stats, StreamConfig, topic};
use rumqttc::QoS;
use support::{Mosquitto, Pki, app, message};
use tokio::sync::mpsc;

/// Waits (bounded) until the consumer's subscription was confirmed.
async fn subscribed(stats: &Stats) {
    for _ in 0..500 {
        if stats.snapshot().subscriptions > 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the consumer never subscribed: {:?}", stats.snapshot());
}

/// `(topic, message_id, vin)` of each delivery, as recorded by [`spawn_recording`].
type Recorded = mpsc::UnboundedReceiver<(String, String, String)>;

/// Runs `consumer` with a handler that forwards `(topic, message_id, vin)` of every delivery.
fn spawn_recording(
    consumer: Consumer,
) -> (
    tokio::task::JoinHandle<Result<(), hm_stream::Error>>,
    Recorded,
) {
    let (tx, rx) = mpsc::unbounded_channel();
    let run = tokio::spawn(consumer.run(move |d: Delivery| {
        let _ = tx.send((d.topic.clone(), d.message_id.clone(), d.vin.clone()));
        async { Ok::<_, Infallible>(()) }
    }));
    (run, rx)
}

async fn next(rx: &mut Recorded) -> Option<(String, String, String)> {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .ok()
        .flatten()
}

/// The next item, waiting as long as it takes (the bound only keeps a broken build from hanging).
async fn within<T>(rx: &mut mpsc::UnboundedReceiver<T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), rx.recv())
        .await
        .expect("in time")
        .expect("channel open")
}

// ---- secret leaks --------------------------------------------------------------------------

/// A careless user puts the key's PEM text into `HM_MQTT_KEY_FILE` (the `_FILE` variable instead of
/// `_PEM`). The consumer tries to open a file named after the key and its error message, which
/// services log, prints the private key.
#[test]
fn private_key_pem_in_the_file_variable_is_not_echoed() {
    let pki = Pki::new();
    let key_body: String = pki
        .client_key
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let secret_line = pki
        .client_key
        .lines()
        .find(|l| !l.starts_with("-----"))
        .expect("a base64 line")
        .to_owned();
    let dir = tempfile::tempdir().expect("tempdir");
    let cert_file = dir.path().join("cert.pem");
    std::fs::write(&cert_file, &pki.client_cert).expect("write");
    let vars = [
        ("HM_APPLICATION_ID", support::APP.to_owned()),
        ("HM_MQTT_CERT_FILE", cert_file.display().to_string()),
        ("HM_MQTT_KEY_FILE", pki.client_key.clone()),
    ];
    let error = StreamConfig::from_lookup(|name| {
        vars.iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
    })
    .expect_err("a PEM text is not a path");
    for shown in [error.to_string(), format!("{error:?}")] {
        assert!(
            !shown.contains(&secret_line) && !shown.contains(&key_body[..40]),
            "the error shows the private key: {shown}"
        );
    }
}

/// The broker URL is refused when it carries user info, but the refusal quotes the URL, password
/// and all.
#[test]
fn broker_url_password_is_not_echoed() {
    let pki = Pki::new();
    let error = Consumer::new(
        pki.config(8883)
            .broker_url("mqtts://ingest:hunter2-s3cret@broker"),
    )
    .expect_err("user info is refused");
    for shown in [error.to_string(), format!("{error:?}")] {
        assert!(
            !shown.contains("hunter2-s3cret"),
            "the error shows the password: {shown}"
        );
    }
}

// ---- careless configuration ----------------------------------------------------------------

/// `concurrency` is only checked against 0: `concurrency(usize::MAX)` (or any large number a user
/// reads from an environment variable) is accepted, and `run` then spawns that many worker tasks
/// before connecting: memory is exhausted. A worker beyond `max_in_flight` can never have work.
#[test]
fn absurd_concurrency_is_refused() {
    let pki = Pki::new();
    match Consumer::new(pki.config(8883).concurrency(usize::MAX)) {
        Err(error) => assert!(error.to_string().contains("concurrency"), "{error}"),
        Ok(_) => panic!(
            "concurrency(usize::MAX) accepted: run() would spawn usize::MAX worker tasks (refuse \
             or cap it at max_in_flight)"
        ),
    }
}

/// `shutdown_timeout(Duration::MAX)` ("wait as long as the handlers need") is accepted, and the
/// consumer panics the moment it is asked to stop: `Instant::now() + shutdown_timeout` overflows.
/// The panic unwinds out of `run_until`, so running handlers are dropped mid-way, acknowledgements
/// of finished ones are not flushed and no DISCONNECT is sent.
#[tokio::test]
async fn a_very_long_shutdown_timeout_does_not_panic_at_shutdown() {
    let pki = Pki::new();
    let config = pki
        .config(support::free_port())
        .shutdown_timeout(Duration::MAX);
    let Ok(consumer) = Consumer::new(config) else {
        return; // refusing the value is a fix too
    };
    let outcome =
        tokio::spawn(consumer.run_until(|_: Delivery| async { Ok::<_, Infallible>(()) }, async {}))
            .await;
    assert!(
        matches!(outcome, Ok(Ok(()))),
        "a requested shutdown with shutdown_timeout(Duration::MAX) ended in {outcome:?}"
    );
}

/// `HM_ENVIRONMENT` is hm-auth's variable; hm-auth refuses a value that is neither `sandbox`,
/// `production` nor a URL. hm-stream silently maps any such value (`prod`, `live-eu`, a typo of
/// `production`) to the sandbox: a production service subscribes to the sandbox topic and
/// receives nothing, without an error.
#[test]
fn an_unrecognised_hm_environment_is_an_error() {
    let pki = Pki::new();
    for value in ["prod", "prodution", "live-eu"] {
        let vars = [
            ("HM_APPLICATION_ID", support::APP.to_owned()),
            ("HM_MQTT_CERT_PEM", pki.client_cert.clone()),
            ("HM_MQTT_KEY_PEM", pki.client_key.clone()),
            ("HM_ENVIRONMENT", value.to_owned()),
        ];
        let config = StreamConfig::from_lookup(|name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.clone())
        });
        assert!(
            config.is_err(),
            "HM_ENVIRONMENT={value} was taken for {:?}",
            config.map(|c| c.topic())
        );
    }
}

/// Port 0 can never be connected to, yet `mqtts://host:0` is accepted and the consumer retries
/// forever, logging "connection lost or refused; reconnecting", instead of saying the URL is wrong.
#[test]
fn a_broker_url_with_port_zero_is_refused() {
    let pki = Pki::new();
    let error = Consumer::new(pki.config(8883).broker_url("mqtts://127.0.0.1:0"))
        .err()
        .map(|e| e.to_string());
    assert!(
        error.as_deref().is_some_and(|e| e.contains("port")),
        "mqtts://127.0.0.1:0 accepted: {error:?}"
    );
}

// ---- decoding: schema-valid messages must not be dropped -----------------------------------

/// The envelope schema (`json-schema/janus/0002`) says `"version": {"type": "number"}`. A message
/// with `"version": 2.0` (what many JSON encoders write for a float) or a minor version `2.1` is
/// valid, but `Message::version` is a `u32`: the message is a SchemaMismatch, and by default bad
/// messages are acknowledged and dropped: the vehicle data is lost.
#[test]
fn version_that_is_a_json_number_decodes() {
    for version in ["2.0", "2.1"] {
        let payload =
            message("m-float").replacen("\"version\":2", &format!("\"version\":{version}"), 1);
        assert!(payload.contains(version));
        let decoded = serde_json::from_str::<hm_stream::Message>(&payload);
        assert!(
            decoded.is_ok(),
            "version {version} is a JSON number as the schema requires, yet: {}",
            decoded.err().map(|e| e.to_string()).unwrap_or_default()
        );
    }
}

/// Forward compatibility: unknown envelope fields and unknown fields of a property value are
/// dropped by the typed `Message`/`Property`; re-encoding a message (to store or forward it)
/// silently loses them. The issue's policy is that unknown fields are kept.
#[test]
fn unknown_fields_survive_a_round_trip() {
    let payload = r#"{"version":2,"application_id":"48aa1779-91c2-468e-97e9-ab112efd53b9",
        "message_id":"m","vin":"V","future_envelope_field":{"k":1},
        "data":{"diagnostics":{"odometer":[{"data":{"value":1,"unit":"kilometers"},
        "future_value_field":"kept?"}]}}}"#;
    let message: hm_stream::Message = serde_json::from_str(payload).expect("decodes");
    let again = serde_json::to_string(&message).expect("encodes");
    assert!(
        again.contains("future_envelope_field") && again.contains("future_value_field"),
        "unknown fields lost on re-encode: {again}"
    );
}

// ---- against Eclipse Mosquitto -------------------------------------------------------------

/// A QoS 0 delivery (a publisher that used QoS 0, or a broker that downgrades) has no packet id, but
/// the consumer acknowledges every delivery as QoS 1: it sends PUBACK with packet id 0, which
/// MQTT forbids. Mosquitto treats that as a protocol error and closes the connection: one
/// disconnection per QoS 0 message, and QoS 0 messages published meanwhile are lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qos0_delivery_does_not_break_the_connection() {
    if gate::mosquitto().is_none() {
        return;
    }
    let pki = Pki::new();
    let broker = Mosquitto::start(&pki, "");
    let consumer = Consumer::new(
        pki.config(broker.port)
            .client_id("attack-qos0")
            .concurrency(1),
    )
    .expect("consumer");
    let stats = consumer.stats();
    let (run, mut rx) = spawn_recording(consumer);
    subscribed(&stats).await;
    let publisher = support::publisher(&pki, broker.port, "attack-qos0-pub").await;
    let topic = topic(DataEnvironment::Sandbox, app());
    publisher
        .publish(&topic, QoS::AtMostOnce, false, message("q0-first"))
        .await
        .expect("publish");
    assert_eq!(
        next(&mut rx).await.map(|m| m.1).as_deref(),
        Some("q0-first")
    );
    // A QoS 1 message afterwards: handled and acknowledged on the same, still open, connection.
    publisher
        .publish(&topic, QoS::AtLeastOnce, false, message("q1-after"))
        .await
        .expect("publish");
    assert_eq!(
        next(&mut rx).await.map(|m| m.1).as_deref(),
        Some("q1-after")
    );
    for _ in 0..100 {
        if stats.snapshot().acked >= 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let snapshot = stats.snapshot();
    run.abort();
    let log = broker.log();
    assert!(
        snapshot.connection_losses == 0 && !log.contains("protocol error"),
        "a QoS 0 delivery cost the connection: {snapshot:?}\n{}",
        log.lines()
            .filter(|l| l.contains("attack-qos0") && !l.contains("-pub"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// A careless user switches a consumer from sandbox to live data (HM_MQTT_ENVIRONMENT) and keeps the
/// default client id. The broker kept the old session, with its subscription to the sandbox topic;
/// the consumer subscribes to the live topic but never checks the topic of what it receives: the
/// simulated sandbox vehicles' data reaches the live handler. (The same happens with an old share
/// group: the replica keeps receiving the unshared stream.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_consumer_does_not_handle_sandbox_data() {
    if gate::mosquitto().is_none() {
        return;
    }
    let pki = Pki::new();
    let broker = Mosquitto::start(&pki, "");
    // Yesterday: the sandbox consumer (default client id hm-stream-{application_id}).
    let sandbox = Consumer::new(pki.config(broker.port)).expect("consumer");
    let stats = sandbox.stats();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let run = tokio::spawn(sandbox.run_until(
        |_: Delivery| async { Ok::<_, Infallible>(()) },
        async {
            let _ = stop_rx.await;
        },
    ));
    subscribed(&stats).await;
    let _ = stop_tx.send(());
    run.await.expect("join").expect("clean shutdown");

    // Today: the same service, switched to live data.
    let live = Consumer::new(
        pki.config(broker.port)
            .environment(DataEnvironment::Live)
            .concurrency(1),
    )
    .expect("consumer");
    let stats = live.stats();
    let (run, mut rx) = spawn_recording(live);
    subscribed(&stats).await;
    let publisher = support::publisher(&pki, broker.port, "attack-env-pub").await;
    let sandbox_topic = topic(DataEnvironment::Sandbox, app());
    let live_topic = topic(DataEnvironment::Live, app());
    publisher
        .publish(
            &sandbox_topic,
            QoS::AtLeastOnce,
            false,
            message("simulated-1"),
        )
        .await
        .expect("publish");
    publisher
        .publish(&live_topic, QoS::AtLeastOnce, false, message("real-1"))
        .await
        .expect("publish");
    let mut handled = Vec::new();
    while let Some(m) = next(&mut rx).await {
        let done = m.1 == "real-1";
        handled.push(m);
        if done {
            break;
        }
    }
    run.abort();
    assert!(
        handled.iter().all(|(topic, _, _)| topic == &live_topic),
        "the live handler received sandbox data: {handled:?}"
    );
}

/// A dead-letter handler that panics in its synchronous part (e.g. `bad.message_id.unwrap()` before
/// the `async` block, for a message without `message_id`) is called outside `catch_unwind`: the
/// worker task dies, nobody notices, and with `concurrency(1)` (or after `concurrency` such
/// messages) no message is ever handled again. The consumer neither stops with an error nor
/// continues: a silent stall.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_dead_letter_handler_stops_the_consumer_with_an_error() {
    if gate::mosquitto().is_none() {
        return;
    }
    let pki = Pki::new();
    let broker = Mosquitto::start(&pki, "");
    let handled = Arc::new(AtomicUsize::new(0));
    let counter = handled.clone();
    let consumer = Consumer::new(
        pki.config(broker.port)
            .client_id("attack-dl")
            .concurrency(1),
    )
    .expect("consumer")
    .dead_letter(|bad: BadMessage| {
        let id = bad.message_id.expect("bad messages here have an id"); // panics for "not json"
        async move {
            drop(id);
            Ok::<_, Infallible>(())
        }
    });
    let stats = consumer.stats();
    let run = tokio::spawn(consumer.run(move |_: Delivery| {
        counter.fetch_add(1, Ordering::SeqCst);
        async { Ok::<_, Infallible>(()) }
    }));
    subscribed(&stats).await;
    let publisher = support::publisher(&pki, broker.port, "attack-dl-pub").await;
    let topic = topic(DataEnvironment::Sandbox, app());
    publisher
        .publish(&topic, QoS::AtLeastOnce, false, "not json")
        .await
        .expect("publish");
    publisher
        .publish(&topic, QoS::AtLeastOnce, false, message("good-after-bad"))
        .await
        .expect("publish");
    let outcome = tokio::time::timeout(Duration::from_secs(15), run).await;
    assert!(
        matches!(outcome, Ok(Ok(Err(hm_stream::Error::DeadLetter { .. })))),
        "the dead-letter handler panicked, yet after 15 s the consumer neither stopped with an \
         error nor went on (handled: {}, stats: {:?}, outcome: {outcome:?})",
        handled.load(Ordering::SeqCst),
        stats.snapshot()
    );
}

/// A panic in a worker outside the handlers (here in the message type's `Deserialize`) used to end
/// that worker silently; with all workers gone the consumer would stall. It stops the consumer with
/// an error now.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_outside_the_handlers_stops_the_consumer_with_an_error() {
    struct Explosive;
    impl<'de> serde::Deserialize<'de> for Explosive {
        fn deserialize<D: serde::Deserializer<'de>>(_: D) -> Result<Self, D::Error> {
            panic!("this type never decodes");
        }
    }
    let pki = Pki::new();
    let port = support::fake_broker(&pki, |mut conn, _| {
        let _ = (|| -> std::io::Result<()> {
            conn.expect(support::CONNECT)?;
            conn.connack(false)?;
            let subscribe = conn.expect(support::SUBSCRIBE)?;
            conn.suback(subscribe.pkid(), 0x01)?;
            let topic = topic(DataEnvironment::Sandbox, app());
            conn.publish(1, 1, &topic, message("boom").as_bytes())?;
            conn.expect(support::DISCONNECT)?;
            Ok(())
        })();
    });
    let consumer = Consumer::new(pki.config(port).concurrency(1)).expect("consumer");
    let run =
        tokio::spawn(consumer.run(|_: Delivery<Explosive>| async { Ok::<_, Infallible>(()) }));
    let outcome = tokio::time::timeout(Duration::from_secs(60), run).await;
    assert!(
        matches!(&outcome, Ok(Ok(Err(hm_stream::Error::Internal { detail }))) if detail.contains("never decodes")),
        "{outcome:?}"
    );
}

/// Deduplication is keyed by `message_id` alone: a second message that reuses an id (a publisher
/// bug, ids unique per vehicle only, a replayed id) with a different VIN and different data is
/// acknowledged and dropped without the handler or the dead-letter handler ever seeing it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reused_message_id_with_other_content_is_not_silently_dropped() {
    if gate::mosquitto().is_none() {
        return;
    }
    let pki = Pki::new();
    let broker = Mosquitto::start(&pki, "");
    let seen = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let (handled, dead) = (seen.clone(), seen.clone());
    let consumer = Consumer::new(
        pki.config(broker.port)
            .client_id("attack-dup")
            .concurrency(1),
    )
    .expect("consumer")
    .dead_letter(move |bad: BadMessage| {
        dead.lock()
            .expect("lock")
            .push(format!("dead:{}", bad.problem));
        async { Ok::<_, Infallible>(()) }
    });
    let stats = consumer.stats();
    let run = tokio::spawn(consumer.run(move |d: Delivery| {
        handled
            .lock()
            .expect("lock")
            .push(format!("{}:{}", d.message_id, d.vin));
        async { Ok::<_, Infallible>(()) }
    }));
    subscribed(&stats).await;
    let publisher = support::publisher(&pki, broker.port, "attack-dup-pub").await;
    let topic = topic(DataEnvironment::Sandbox, app());
    let first = message("42");
    let second = message("42").replace("VIN0000000000001", "VIN0000000000002");
    for payload in [first, second, message("43")] {
        publisher
            .publish(&topic, QoS::AtLeastOnce, false, payload)
            .await
            .expect("publish");
    }
    for _ in 0..500 {
        if stats.snapshot().acked >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    run.abort();
    let seen = seen.lock().expect("lock").clone();
    assert!(
        seen.iter()
            .any(|s| s.contains("VIN0000000000002") || s.starts_with("dead:")),
        "VIN0000000000002's data was acknowledged and dropped as a 'duplicate': {seen:?}, {:?}",
        stats.snapshot()
    );
}

// ---- against a hostile fake broker ---------------------------------------------------------

/// The broker grants the subscription at QoS 0 (SUBACK return code 0x00): the at-least-once promise
/// is void (messages published while disconnected are not kept, nothing is redelivered), yet the
/// consumer counts the subscription as confirmed and runs on silently.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_downgraded_to_qos0_is_refused() {
    let pki = Pki::new();
    let port = support::fake_broker(&pki, |mut conn, _| {
        let _ = (|| -> std::io::Result<()> {
            conn.expect(support::CONNECT)?;
            conn.connack(false)?;
            let subscribe = conn.expect(support::SUBSCRIBE)?;
            conn.suback(subscribe.pkid(), 0x00)?;
            conn.expect(support::DISCONNECT)?;
            Ok(())
        })();
    });
    let consumer = Consumer::new(pki.config(port)).expect("consumer");
    let run = tokio::spawn(consumer.run(|_: Delivery| async { Ok::<_, Infallible>(()) }));
    let outcome = tokio::time::timeout(Duration::from_secs(10), run).await;
    assert!(
        matches!(outcome, Ok(Ok(Err(_)))),
        "the broker granted QoS 0 only, and the consumer carried on: {outcome:?}"
    );
}

/// A broker that never answers SUBSCRIBE (but answers pings): the consumer used to wait forever,
/// receiving nothing, reporting nothing. Now the broker must answer within the keep-alive interval,
/// else the consumer drops the connection (counted, logged) and connects again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unanswered_subscription_is_not_a_silent_hang() {
    let pki = Pki::new();
    let (tx, mut reconnected) = mpsc::unbounded_channel();
    let port = support::fake_broker(&pki, move |mut conn, n| {
        if n > 0 {
            let _ = tx.send(n);
        }
        let _ = (|| -> std::io::Result<()> {
            conn.expect(support::CONNECT)?;
            conn.connack(false)?;
            conn.expect(support::DISCONNECT)?;
            Ok(())
        })();
    });
    let consumer =
        Consumer::new(pki.config(port).keep_alive(Duration::from_secs(1))).expect("consumer");
    let stats = consumer.stats();
    let run = tokio::spawn(consumer.run(|_: Delivery| async { Ok::<_, Infallible>(()) }));
    // About one keep-alive interval; the bound only keeps a broken build from hanging.
    let again = tokio::time::timeout(Duration::from_secs(60), reconnected.recv()).await;
    let snapshot = stats.snapshot();
    run.abort();
    assert!(
        matches!(again, Ok(Some(_)))
            && snapshot.connection_losses >= 1
            && snapshot.subscriptions == 0,
        "no SUBACK: the consumer neither gave up the connection nor retried ({snapshot:?})"
    );
}

/// A QoS 2 PUBLISH (a broker that ignores the requested QoS, or a session subscription left at
/// QoS 2) is acknowledged with PUBACK, the QoS 1 acknowledgement. The broker waits for PUBREC
/// forever: the message stays in flight in the session, is redelivered on every reconnection,
/// and fills the broker's in-flight window until nothing else is delivered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_qos2_delivery_is_not_answered_with_puback() {
    let pki = Pki::new();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let tx = std::sync::Mutex::new(tx);
    let port = support::fake_broker(&pki, move |mut conn, n| {
        let outcome = (|| -> std::io::Result<String> {
            conn.expect(support::CONNECT)?;
            conn.connack(n > 0)?;
            let subscribe = conn.expect(support::SUBSCRIBE)?;
            conn.suback(subscribe.pkid(), 0x01)?;
            let topic = topic(DataEnvironment::Sandbox, app());
            conn.publish(2, 7, &topic, message("qos2-1").as_bytes())?;
            loop {
                let packet = conn.read()?;
                match packet.kind() {
                    support::PINGREQ => conn.write(&[0xD0, 0x00])?,
                    support::PUBACK => return Ok(format!("PUBACK {}", packet.pkid())),
                    support::PUBREC => {
                        // Release it: the client must complete the exchange with PUBCOMP.
                        conn.write(&[0x62, 0x02, 0x00, 0x07])?;
                        let pubcomp = conn.expect(support::PUBCOMP)?;
                        return Ok(format!(
                            "PUBREC {}, PUBCOMP {}",
                            packet.pkid(),
                            pubcomp.pkid()
                        ));
                    }
                    _ => {}
                }
            }
        })();
        let _ = tx
            .lock()
            .expect("lock")
            .send(outcome.unwrap_or_else(|e| format!("closed: {e}")));
    });
    let consumer = Consumer::new(pki.config(port)).expect("consumer");
    let run = tokio::spawn(consumer.run(|_: Delivery| async { Ok::<_, Infallible>(()) }));
    let answer = tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(10)))
        .await
        .expect("join");
    run.abort();
    let answer = answer.expect("the fake broker saw an answer or a close");
    assert_eq!(
        answer, "PUBREC 7, PUBCOMP 7",
        "a QoS 2 PUBLISH is answered with PUBREC, after the handler, then PUBREL with PUBCOMP"
    );
}

/// A service runs for months; its client certificate expires or is revoked. After the first
/// successful connection every TLS rejection counts as a passing outage: the consumer retries
/// forever (at most every 30 s by default), logs a warning per attempt, and `run` never returns,
/// so the application cannot tell "broker restarting" from "credentials dead". The first
/// connection reports the same rejection as `Error::Connect` with a remedy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_certificate_rejected_later_is_reported() {
    let pki = Pki::new();
    let other = Pki::new();
    let (accepting, rejecting) = (pki.server_tls(), pki.server_tls_requiring(&other.ca_pem));
    let port = support::fake_broker_with(
        move |n| {
            if n == 0 {
                accepting.clone()
            } else {
                rejecting.clone()
            }
        },
        |mut conn, n| {
            let _ = (|| -> std::io::Result<()> {
                conn.expect(support::CONNECT)?;
                conn.connack(false)?;
                let subscribe = conn.expect(support::SUBSCRIBE)?;
                conn.suback(subscribe.pkid(), 0x01)?;
                if n == 0 {
                    return Ok(()); // drop the first connection: the certificate is "revoked" now
                }
                conn.expect(support::DISCONNECT)?;
                Ok(())
            })();
        },
    );
    let consumer = Consumer::new(pki.config(port)).expect("consumer");
    let stats = consumer.stats();
    let run = tokio::spawn(consumer.run(|_: Delivery| async { Ok::<_, Infallible>(()) }));
    let outcome = tokio::time::timeout(Duration::from_secs(15), run).await;
    assert!(
        matches!(outcome, Ok(Ok(Err(hm_stream::Error::Connect { .. })))),
        "the broker rejected the client certificate on every reconnection for 15 s; the consumer \
         kept retrying silently: {:?} ({outcome:?})",
        stats.snapshot()
    );
}

/// The ack race: a message's handler finishes after its connection was lost and the broker gave
/// the same packet id to another message on the new connection (a fresh session). The late
/// acknowledgement must not be sent there: it would confirm the other message, which is still being
/// handled, and a crash now would lose it. Each acknowledgement carries its connection, and
/// is dropped when that connection is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_acknowledgement_never_confirms_another_message() {
    let pki = Pki::new();
    let (cut_tx, cut_rx) = std::sync::mpsc::channel::<()>();
    let cut_rx = std::sync::Mutex::new(cut_rx);
    let (acks_tx, mut acks) = mpsc::unbounded_channel::<u16>();
    let port = support::fake_broker(&pki, move |mut conn, n| {
        let topic = topic(DataEnvironment::Sandbox, app());
        let _ = (|| -> std::io::Result<()> {
            conn.expect(support::CONNECT)?;
            conn.connack(false)?;
            let subscribe = conn.expect(support::SUBSCRIBE)?;
            conn.suback(subscribe.pkid(), 0x01)?;
            if n == 0 {
                conn.publish(1, 1, &topic, message("first").as_bytes())?;
                // Cut the connection once "first" is being handled.
                let _ = cut_rx.lock().expect("lock").recv();
                return Ok(());
            }
            // A new session: packet id 1 now belongs to "second"; "third" follows.
            conn.publish(1, 1, &topic, message("second").as_bytes())?;
            conn.publish(1, 2, &topic, message("third").as_bytes())?;
            loop {
                let puback = conn.expect(support::PUBACK)?;
                let _ = acks_tx.send(puback.pkid());
            }
        })();
    });
    let (started_tx, mut started) = mpsc::unbounded_channel::<String>();
    let release = Arc::new(tokio::sync::Notify::new());
    let (release_first, release_second) = (release.clone(), release.clone());
    let consumer = Consumer::new(pki.config(port).concurrency(2)).expect("consumer");
    let stats = consumer.stats();
    let run = tokio::spawn(consumer.run(move |d: Delivery| {
        let id = d.message_id.clone();
        let _ = started_tx.send(id.clone());
        let release = if id == "third" {
            None
        } else {
            Some(release.clone())
        };
        async move {
            if let Some(release) = release {
                release.notified().await;
            }
            Ok::<_, Infallible>(())
        }
    }));
    assert_eq!(within(&mut started).await, "first");
    cut_tx.send(()).expect("cut");
    assert_eq!(within(&mut started).await, "second");
    // "first" finishes now, on a connection that is gone; its worker then takes "third" and
    // acknowledges it, so a late PUBACK for "first" would reach the broker before PUBACK 2.
    release_first.notify_one();
    assert_eq!(
        within(&mut acks).await,
        2,
        "the acknowledgement of `first` (packet id 1 of the lost connection) confirmed `second`"
    );
    release_second.notify_one();
    assert_eq!(
        within(&mut acks).await,
        1,
        "`second` is acknowledged once handled"
    );
    let snapshot = stats.snapshot();
    run.abort();
    assert_eq!(snapshot.handled, 3, "{snapshot:?}");
}

/// A replica moved from share group `old` to `new` keeps the same client id, so the broker keeps
/// its session and with it the `old` subscription: the replica would be in both groups and receive
/// a share of each. With `leave_share_groups(["old"])` it unsubscribes from `old` first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_moved_to_another_share_group_leaves_the_old_one() {
    if gate::mosquitto().is_none() {
        return;
    }
    let pki = Pki::new();
    // One copy per matching subscription, as brokers do by default (Mosquitto 2.0 would otherwise
    // fold a client's overlapping subscriptions into one delivery and hide the double share).
    let broker = Mosquitto::start(&pki, "allow_duplicate_messages true");
    let old = Consumer::new(
        pki.config(broker.port)
            .client_id("moving-0")
            .share_group("old"),
    )
    .expect("consumer");
    let stats = old.stats();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let run = tokio::spawn(
        old.run_until(|_: Delivery| async { Ok::<_, Infallible>(()) }, async {
            let _ = stop_rx.await;
        }),
    );
    subscribed(&stats).await;
    let _ = stop_tx.send(());
    run.await.expect("join").expect("clean shutdown");

    let moved = Consumer::new(
        pki.config(broker.port)
            .client_id("moving-0")
            .share_group("new")
            .leave_share_groups(["old"])
            .concurrency(1),
    )
    .expect("consumer");
    let stats = moved.stats();
    let (run, mut rx) = spawn_recording(moved);
    subscribed(&stats).await;
    let publisher = support::publisher(&pki, broker.port, "moving-pub").await;
    let topic = topic(DataEnvironment::Sandbox, app());
    for id in ["m-1", "m-2"] {
        publisher
            .publish(&topic, QoS::AtLeastOnce, false, message(id))
            .await
            .expect("publish");
    }
    assert_eq!(next(&mut rx).await.map(|m| m.1).as_deref(), Some("m-1"));
    assert_eq!(next(&mut rx).await.map(|m| m.1).as_deref(), Some("m-2"));
    let snapshot = stats.snapshot();
    run.abort();
    // Mosquitto delivers in order, so a second share of m-1 would have come before m-2.
    assert_eq!(
        (snapshot.received, snapshot.duplicates),
        (2, 0),
        "the replica still received the old group's share: {snapshot:?}"
    );
}
