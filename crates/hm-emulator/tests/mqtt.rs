//! The embedded MQTT broker: hm-stream's consumer, with the demo client certificate the emulator
//! wrote, receives typed vehicle data for an approved vehicle and acknowledges it; clients without
//! a certificate or with one from another CA are refused.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::Checked;
use hm_emulator::{DEMO_CLIENT_ID, DEMO_VIN_APPROVED, DEMO_VIN_REJECTED, EmulatorConfig};
use hm_stream::{CaRoots, ClientIdentity, Consumer, DataEnvironment, Delivery, StreamConfig};
use rumqttc::{
    AsyncClient, Event, MqttOptions, Packet, QoS, SubscribeReasonCode, TlsConfiguration, Transport,
};
use tokio::sync::mpsc;

/// Generous bound on any one wait; a healthy run needs a fraction of a second.
const PATIENCE: Duration = Duration::from_secs(60);

fn mqtt_demo() -> EmulatorConfig {
    let mut config = common::frozen_demo();
    config.mqtt.enabled = true;
    config.mqtt.publish_interval_secs = 1;
    config
}

/// The emulator with the demo vehicles' clearances requested and (after 3 s) decided.
async fn emulator_with_approved_vehicle() -> Checked {
    let api = Checked::start(mqtt_demo()).await;
    let token = api.demo_token().await;
    api.request_clearance(
        &token,
        &[(DEMO_VIN_APPROVED, "sandbox"), (DEMO_VIN_REJECTED, "bmw")],
    )
    .await;
    api.advance(3);
    // Those rounds are out before anyone subscribes: a test sees only the rounds it advances.
    api.emulator.mqtt().unwrap().settled().await;
    api
}

/// The Streaming Schema V2 of a message's `data`, where `cargo xtask fetch` puts it.
fn auto_api_schema() -> jsonschema::Validator {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../openapi/fetched/json-schema/auto-api/0002/spec.json"
    );
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{path} is missing ({e}): run `cargo xtask fetch` first"));
    jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).unwrap()
}

async fn wait_until(what: &str, condition: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !condition() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn tls_files_are_written_and_keys_are_private() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = mqtt_demo();
    config.mqtt.tls_dir = Some(dir.path().join("tls"));
    let api = Checked::start(config).await;
    let mqtt = api.emulator.mqtt().expect("the broker runs when enabled");
    assert!(
        mqtt.url().starts_with("mqtts://127.0.0.1:"),
        "{}",
        mqtt.url()
    );
    let tls = mqtt.tls();
    assert_eq!(tls.dir(), dir.path().join("tls"));
    for cert in [tls.ca_cert(), tls.server_cert(), tls.client_cert()] {
        let pem = std::fs::read_to_string(&cert).unwrap();
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{cert:?}");
    }
    for key in [tls.server_key(), tls.client_key()] {
        let pem = std::fs::read_to_string(&key).unwrap();
        assert!(pem.contains("PRIVATE KEY-----"), "{key:?}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{key:?} must be readable by its owner only");
        }
    }
    // The certificates are usable as they are: hm-stream loads them.
    ClientIdentity::from_pem_files(tls.client_cert(), tls.client_key()).unwrap();
    CaRoots::from_pem_file(tls.ca_cert()).unwrap();
    api.emulator.shutdown().await.unwrap();
}

#[tokio::test]
async fn no_broker_unless_enabled() {
    let api = Checked::start(common::frozen_demo()).await;
    assert!(api.emulator.mqtt().is_none());
}

#[tokio::test]
async fn consumer_with_the_demo_certificate_receives_typed_data_and_acknowledges_it() {
    let api = emulator_with_approved_vehicle().await;
    let mqtt = api.emulator.mqtt().unwrap();
    let application_id = hm_emulator::mqtt::application_id(DEMO_CLIENT_ID);
    let tls = mqtt.tls();
    let config = StreamConfig::new(
        application_id,
        ClientIdentity::from_pem_files(tls.client_cert(), tls.client_key()).unwrap(),
    )
    .environment(DataEnvironment::Live)
    .broker_url(mqtt.url())
    .ca_roots(CaRoots::from_pem_file(tls.ca_cert()).unwrap())
    .client_id("emulator-test");
    assert_eq!(config.topic(), mqtt.topic(DEMO_CLIENT_ID));

    let consumer = Consumer::new(config).unwrap();
    let stats = consumer.stats();
    let (deliveries, mut received) = mpsc::unbounded_channel::<Delivery>();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let run = tokio::spawn(consumer.run_until(
        move |delivery: Delivery| {
            let deliveries = deliveries.clone();
            async move {
                deliveries.send(delivery).ok();
                Ok::<_, std::io::Error>(())
            }
        },
        async {
            stopped.await.ok();
        },
    ));
    wait_until("the subscription", || stats.snapshot().subscriptions == 1).await;

    // Three publishing rounds on the virtual clock: three messages, all for the approved vehicle.
    for _ in 0..3 {
        api.advance(1);
    }
    let schema = auto_api_schema();
    // The schema is strict enough to tell: the REST shape (one object per property) is refused.
    let rest_shape = serde_json::json!({"diagnostics": {"odometer":
        {"data": {"unit": "kilometers", "value": 1.0}, "timestamp": "2026-01-01T00:00:00Z"}}});
    assert!(!schema.is_valid(&rest_shape));
    let mut message_ids = Vec::new();
    for _ in 0..3 {
        let delivery = tokio::time::timeout(PATIENCE, received.recv())
            .await
            .expect("a published message")
            .unwrap();
        assert_eq!(delivery.topic, mqtt.topic(DEMO_CLIENT_ID));
        assert_eq!(delivery.vin, DEMO_VIN_APPROVED);
        assert_eq!(delivery.application_id, application_id);
        assert_eq!(delivery.version.as_u64(), Some(2));
        // Typed data in the streaming shape: every property is an array of timestamped values.
        let odometer = delivery.data.property("diagnostics", "odometer");
        assert_eq!(odometer.len(), 1, "{:?}", delivery.data);
        let length: serde_json::Value = odometer[0].data_as().unwrap().unwrap();
        assert_eq!(length["unit"], "kilometers");
        assert!(length["value"].as_f64().unwrap() > 0.0);
        assert!(odometer[0].timestamp.is_some());
        // A multi-valued property: every value is its own array element.
        let tire_pressures = delivery
            .data
            .property("diagnostics", "tire_pressures")
            .len();
        assert!(tire_pressures > 1, "{tire_pressures}");
        assert!(delivery.data.values().count() > 10);
        // What the emulator publishes is what the published schema allows.
        let raw: serde_json::Value = serde_json::from_slice(&delivery.payload).unwrap();
        let errors: Vec<String> = schema
            .iter_errors(&raw["data"])
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{errors:#?}");
        // And hm-stream's types generated from that schema decode it, every capability known.
        let typed: hm_stream::Message<hm_stream::auto_api::Capabilities> =
            serde_json::from_slice(&delivery.payload).unwrap();
        let diagnostics = typed.data.diagnostics.as_ref().unwrap();
        assert_eq!(diagnostics.tire_pressures.len(), tire_pressures);
        message_ids.push(delivery.message_id.clone());
    }
    message_ids.sort();
    message_ids.dedup();
    assert_eq!(message_ids.len(), 3, "every message has its own message_id");

    wait_until("the acknowledgements", || stats.snapshot().acked == 3).await;
    stop.send(()).unwrap();
    run.await.unwrap().unwrap();
    let snapshot = stats.snapshot();
    assert_eq!(
        (snapshot.handled, snapshot.bad, snapshot.duplicates),
        (3, 0, 0),
        "{snapshot:?}"
    );
    assert!(
        received.try_recv().is_err(),
        "nothing for the rejected vehicle"
    );
    api.emulator.shutdown().await.unwrap();
}

/// The first event of a rumqttc client connecting to the broker with `client_auth`
/// (certificate PEM, key PEM), trusting the emulator's CA.
async fn first_event(
    url: &str,
    ca: &std::path::Path,
    client_auth: Option<(Vec<u8>, Vec<u8>)>,
) -> Result<Event, rumqttc::ConnectionError> {
    let port = url.rsplit(':').next().unwrap().parse().unwrap();
    let mut options = MqttOptions::new("refusal-test", "127.0.0.1", port);
    options.set_transport(Transport::tls_with_config(TlsConfiguration::Simple {
        ca: std::fs::read(ca).unwrap(),
        alpn: None,
        client_auth,
    }));
    let (_client, mut events): (AsyncClient, _) = AsyncClient::new(options, 10);
    tokio::time::timeout(PATIENCE, events.poll())
        .await
        .expect("the broker answers")
}

fn is_connack(event: &Result<Event, rumqttc::ConnectionError>) -> bool {
    matches!(event, Ok(Event::Incoming(Packet::ConnAck(_))))
}

#[tokio::test]
async fn clients_without_a_certificate_or_with_a_foreign_one_are_refused() {
    let api = Checked::start(mqtt_demo()).await;
    let mqtt = api.emulator.mqtt().unwrap();
    let tls = mqtt.tls();
    let demo = (
        std::fs::read(tls.client_cert()).unwrap(),
        std::fs::read(tls.client_key()).unwrap(),
    );

    // The same client with the demo certificate gets in: the refusals below are about the
    // certificate, not the client.
    let admitted = first_event(mqtt.url(), &tls.ca_cert(), Some(demo)).await;
    assert!(is_connack(&admitted), "{admitted:?}");

    let anonymous = first_event(mqtt.url(), &tls.ca_cert(), None).await;
    assert!(anonymous.is_err(), "{anonymous:?}");

    // A certificate and key the broker's CA never signed.
    let stranger_ca = {
        let dir = tempfile::tempdir().unwrap();
        let files = hm_emulator::mqtt::pki::create(dir.path(), &["stranger".to_string()])
            .unwrap()
            .files;
        (
            std::fs::read(files.client_cert()).unwrap(),
            std::fs::read(files.client_key()).unwrap(),
        )
    };
    let stranger = first_event(mqtt.url(), &tls.ca_cert(), Some(stranger_ca)).await;
    assert!(stranger.is_err(), "{stranger:?}");
    api.emulator.shutdown().await.unwrap();
}

#[tokio::test]
async fn clients_may_only_subscribe_to_application_topics_and_never_publish() {
    let api = emulator_with_approved_vehicle().await;
    let mqtt = api.emulator.mqtt().unwrap();
    let (client, mut events) = AsyncClient::new(demo_options(mqtt, "snooper"), 10);
    let own = mqtt.topic(DEMO_CLIENT_ID);
    let shared = format!("$share/group/{own}");
    for filter in ["#", "live/level13/+", own.as_str(), shared.as_str()] {
        client.subscribe(filter, QoS::AtLeastOnce).await.unwrap();
    }
    let mut granted = Vec::new();
    while granted.len() < 4 {
        let event = tokio::time::timeout(PATIENCE, events.poll())
            .await
            .expect("the broker answers")
            .unwrap();
        if let Event::Incoming(Packet::SubAck(ack)) = event {
            granted.push(matches!(
                ack.return_codes[0],
                SubscribeReasonCode::Success(_)
            ));
        }
    }
    assert_eq!(granted, [false, false, true, true]);

    // A client's publish on the application's topic never reaches a subscriber (this client is
    // one): only the emulator publishes data. Once the broker answered the forged publish, the
    // next message this client sees is the emulator's own. (A round the publisher was still
    // working on when this client subscribed may arrive meanwhile: that one is genuine.)
    let forged = b"{\"forged\": true}";
    client
        .publish(own.as_str(), QoS::AtLeastOnce, false, forged.to_vec())
        .await
        .unwrap();
    loop {
        let event = tokio::time::timeout(PATIENCE, events.poll())
            .await
            .expect("the broker answers")
            .unwrap();
        if let Event::Incoming(Packet::Publish(publish)) = &event {
            assert_ne!(&publish.payload[..], forged, "forged message delivered");
        }
        if let Event::Incoming(Packet::PubAck(_)) = event {
            break;
        }
    }
    api.advance(1);
    loop {
        let event = tokio::time::timeout(PATIENCE, events.poll())
            .await
            .expect("the broker answers")
            .unwrap();
        if let Event::Incoming(Packet::Publish(publish)) = event {
            let message: serde_json::Value = serde_json::from_slice(&publish.payload).unwrap();
            assert_eq!(message["vin"], DEMO_VIN_APPROVED, "{message}");
            break;
        }
    }
    api.emulator.shutdown().await.unwrap();
}

#[tokio::test]
async fn shutdown_stops_the_broker_and_removes_the_temporary_tls_dir() {
    let api = Checked::start(mqtt_demo()).await;
    let mqtt = api.emulator.mqtt().unwrap();
    let url = mqtt.url().to_string();
    let dir = mqtt.tls().dir().to_path_buf();
    assert!(dir.exists());
    api.emulator.shutdown().await.unwrap();
    assert!(!dir.exists(), "the default TLS dir is temporary");
    let addr = url.trim_start_matches("mqtts://");
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "nothing listens on {addr} after shutdown"
    );
}

#[test]
fn mqtt_settings_are_checked() {
    let error = EmulatorConfig::from_toml_str("[mqtt]\npublish_interval_secs = 0\n").unwrap_err();
    assert!(
        error.to_string().contains("mqtt.publish_interval_secs"),
        "{error}"
    );
    let error = EmulatorConfig::from_toml_str("[mqtt]\nenable = true\n").unwrap_err();
    assert!(error.to_string().contains("enable"), "{error}");
    let config = EmulatorConfig::from_toml_str(
        "[mqtt]\nenabled = true\nenvironment = \"sandbox\"\ntls_dir = \"/tmp/x\"\n",
    )
    .unwrap();
    assert!(config.mqtt.enabled);
    assert_eq!(
        config.mqtt.environment,
        hm_emulator::MqttEnvironment::Sandbox
    );
}

/// rumqttc (MQTT 3.1.1) options for the emulator's broker with the demo application's certificate.
fn demo_options(mqtt: &hm_emulator::mqtt::MqttEndpoint, id: &str) -> MqttOptions {
    let tls = mqtt.tls();
    let port = mqtt.url().rsplit(':').next().unwrap().parse().unwrap();
    let mut options = MqttOptions::new(id, "127.0.0.1", port);
    // A message carries the whole vehicle-data document (about 50 KB); rumqttc refuses 10 KB and up by default.
    options.set_max_packet_size(1 << 20, 1 << 20);
    options.set_transport(Transport::tls_with_config(TlsConfiguration::Simple {
        ca: std::fs::read(tls.ca_cert()).unwrap(),
        alpn: None,
        client_auth: Some((
            std::fs::read(tls.client_cert()).unwrap(),
            std::fs::read(tls.client_key()).unwrap(),
        )),
    }));
    options
}

/// A raw rumqttc client with the demo certificate, a persistent session and manual acknowledgements.
fn raw_client(
    mqtt: &hm_emulator::mqtt::MqttEndpoint,
    id: &str,
) -> (AsyncClient, rumqttc::EventLoop) {
    let mut options = demo_options(mqtt, id);
    options.set_clean_session(false);
    options.set_manual_acks(true);
    AsyncClient::new(options, 10)
}

async fn next_publish(events: &mut rumqttc::EventLoop) -> rumqttc::Publish {
    loop {
        let event = tokio::time::timeout(PATIENCE, events.poll())
            .await
            .expect("the broker answers")
            .unwrap();
        if let Event::Incoming(Packet::Publish(publish)) = event {
            return publish;
        }
    }
}

#[tokio::test]
async fn an_unacknowledged_message_comes_back_byte_for_byte_to_an_mqtt_3_client() {
    let api = emulator_with_approved_vehicle().await;
    let mqtt = api.emulator.mqtt().unwrap();
    let topic = mqtt.topic(DEMO_CLIENT_ID);
    let (client, mut events) = raw_client(mqtt, "redelivery");
    client.subscribe(&topic, QoS::AtLeastOnce).await.unwrap();
    loop {
        let event = tokio::time::timeout(PATIENCE, events.poll())
            .await
            .expect("the broker answers")
            .unwrap();
        if let Event::Incoming(Packet::SubAck(_)) = event {
            break;
        }
    }
    api.advance(1);
    let first = next_publish(&mut events).await;
    serde_json::from_slice::<serde_json::Value>(&first.payload).expect("JSON");
    // Gone without acknowledging: the broker keeps the message in the session and resends it.
    drop((client, events));
    let (_client, mut events) = raw_client(mqtt, "redelivery");
    let again = next_publish(&mut events).await;
    assert_eq!(again.topic, topic);
    assert!(
        again.payload == first.payload,
        "the resent message differs: {} bytes, starting {:?}, instead of {} bytes",
        again.payload.len(),
        &again.payload[..again.payload.len().min(8)],
        first.payload.len()
    );
}
