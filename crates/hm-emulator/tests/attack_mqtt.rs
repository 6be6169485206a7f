//! Attack findings against the emulator's embedded MQTT broker and publisher (issue 11), kept as
//! regression tests now that they are fixed, and attacks that held. Everything goes through the
//! public interface: the emulator on loopback, spoken to with rumqttc over mutual TLS, raw TCP,
//! and its REST API.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use hm_emulator::{
    DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Emulator, EmulatorConfig, EmulatorHandle, MqttEndpoint,
    VehicleConfig,
};
use rumqttc::{
    AsyncClient, Event, EventLoop, LastWill, MqttOptions, Packet, QoS, SubscribeReasonCode,
    TlsConfiguration, Transport,
};
use serde_json::{Value, json};

/// Generous bound for things that take milliseconds when they work: only a hang exceeds it.
const HANG: Duration = Duration::from_secs(30);

/// A frozen-clock emulator with MQTT enabled, the demo application and `vehicles` (VIN, brand),
/// each approved 2 s after its clearance request.
fn config(vehicles: &[(&str, &str)]) -> EmulatorConfig {
    let mut config = EmulatorConfig {
        follow_real_time: false,
        ..EmulatorConfig::demo()
    };
    config.vehicles = vehicles
        .iter()
        .map(|(vin, brand)| VehicleConfig::new(*vin, *brand))
        .collect();
    config.mqtt.enabled = true;
    config
}

async fn start(vehicles: &[(&str, &str)]) -> EmulatorHandle {
    Emulator::start(config(vehicles)).await.unwrap()
}

fn broker_addr(mqtt: &MqttEndpoint) -> SocketAddr {
    mqtt.url().trim_start_matches("mqtts://").parse().unwrap()
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

/// rumqttc options for `client_id` with the CA of `mqtt` and the given client certificate.
fn options_with(
    mqtt: &MqttEndpoint,
    client_id: &str,
    client_auth: Option<(Vec<u8>, Vec<u8>)>,
    alpn: Option<Vec<Vec<u8>>>,
) -> MqttOptions {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let addr = broker_addr(mqtt);
    let mut options = MqttOptions::new(client_id, addr.ip().to_string(), addr.port());
    options.set_transport(Transport::tls_with_config(TlsConfiguration::Simple {
        ca: read(&mqtt.tls().ca_cert()),
        alpn,
        client_auth,
    }));
    options.set_keep_alive(Duration::from_secs(60));
    options.set_max_packet_size(16 << 20, 16 << 20);
    options
}

/// Options with the demo client certificate.
fn options(mqtt: &MqttEndpoint, client_id: &str) -> MqttOptions {
    let auth = (
        read(&mqtt.tls().client_cert()),
        read(&mqtt.tls().client_key()),
    );
    options_with(mqtt, client_id, Some(auth), None)
}

fn client(options: MqttOptions) -> (AsyncClient, EventLoop) {
    let (client, mut eventloop) = AsyncClient::new(options, 1_000);
    let mut network = eventloop.network_options();
    network.set_connection_timeout(HANG.as_secs() * 2);
    eventloop.set_network_options(network);
    (client, eventloop)
}

/// Polls until the broker's CONNACK; `Err` names the failure (one attempt, no reconnect).
async fn connack(eventloop: &mut EventLoop) -> Result<(), String> {
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

/// Polls until the SUBACK for the last subscription; returns its return codes.
async fn suback(eventloop: &mut EventLoop) -> Result<Vec<SubscribeReasonCode>, String> {
    loop {
        match eventloop.poll().await {
            Ok(Event::Incoming(Packet::SubAck(ack))) => return Ok(ack.return_codes),
            Ok(_) => {}
            Err(e) => return Err(e.to_string()),
        }
    }
}

/// Connects with the demo certificate and subscribes to `filter`; whether the broker granted it.
async fn subscribe(mqtt: &MqttEndpoint, id: &str, filter: &str) -> (AsyncClient, EventLoop, bool) {
    let (client, mut eventloop) = client(options(mqtt, id));
    tokio::time::timeout(HANG, connack(&mut eventloop))
        .await
        .expect("connect hung")
        .expect("demo certificate connects");
    client.subscribe(filter, QoS::AtLeastOnce).await.unwrap();
    let codes = tokio::time::timeout(HANG, suback(&mut eventloop))
        .await
        .expect("subscribe hung");
    // Closing the connection on a malformed filter is a refusal too.
    let granted = codes.is_ok_and(|codes| {
        codes
            .iter()
            .all(|c| matches!(c, SubscribeReasonCode::Success(_)))
    });
    (client, eventloop, granted)
}

/// The next PUBLISH within `within` (then `None`).
async fn next_publish(eventloop: &mut EventLoop, within: Duration) -> Option<rumqttc::Publish> {
    tokio::time::timeout(within, async {
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::Publish(p))) => return Some(p),
                Ok(_) => {}
                Err(_) => return None,
            }
        }
    })
    .await
    .ok()
    .flatten()
}

async fn post(emulator: &EmulatorHandle, path: &str, token: Option<&str>, body: &Value) -> Value {
    let mut request = reqwest::Client::new()
        .post(format!("{}{path}", emulator.base_url()))
        .json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
    response.json().await.unwrap()
}

/// Requests clearances for `vehicles` as the demo application and lets them get approved; returns
/// the application's access token.
async fn approve(emulator: &EmulatorHandle, vehicles: &[(&str, &str)]) -> String {
    let token = post(
        emulator,
        "/v1/access_tokens",
        None,
        &json!({
            "grant_type": "client_credentials",
            "client_id": DEMO_CLIENT_ID,
            "client_secret": DEMO_CLIENT_SECRET,
        }),
    )
    .await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let list: Vec<Value> = vehicles
        .iter()
        .map(|(vin, brand)| json!({"vin": vin, "brand": brand}))
        .collect();
    post(
        emulator,
        "/v1/fleets/vehicles",
        Some(&token),
        &json!({"vehicles": list}),
    )
    .await;
    // Approval after 2 s; no publish round (5 s) is due yet.
    emulator.advance(Duration::from_secs(3));
    token
}

/// mqtt5 runs the TLS handshake inline in its accept loop, without a timeout: one TCP connection
/// that never sends a ClientHello (a port scanner, a half-open socket, `nc`) stops the broker
/// accepting anyone else, for as long as it stays open.
#[tokio::test]
async fn idle_tcp_connection_does_not_block_other_clients() {
    let emulator = start(&[]).await;
    let mqtt = emulator.mqtt().unwrap();
    let _idle = tokio::net::TcpStream::connect(broker_addr(mqtt))
        .await
        .unwrap();
    let (_client, mut eventloop) = client(options(mqtt, "after-the-idle-one"));
    let result = tokio::time::timeout(HANG, connack(&mut eventloop)).await;
    assert!(
        matches!(result, Ok(Ok(()))),
        "a client with the demo certificate could not connect while another TCP connection sat \
         idle on the broker's port: {result:?}"
    );
}

/// The same stalled accept loop survives shutdown: the broker gives its tasks 5 s, then leaves
/// the stuck accept task running with the listening socket, so the port stays open after
/// `shutdown` returned (a restarted emulator or another process cannot take it; the task leaks).
#[tokio::test]
async fn shutdown_frees_the_broker_port_even_with_an_idle_connection() {
    let emulator = start(&[]).await;
    let addr = broker_addr(emulator.mqtt().unwrap());
    let _idle = tokio::net::TcpStream::connect(addr).await.unwrap();
    tokio::time::timeout(HANG, emulator.shutdown())
        .await
        .expect("shutdown hung")
        .unwrap();
    let after = tokio::net::TcpStream::connect(addr).await;
    assert!(
        after.is_err(),
        "the broker port {addr} still accepts connections after shutdown"
    );
}

/// High Mobility hands out one client certificate per application, and it only opens that
/// application's topic. The emulator makes one demo certificate for all applications and lets
/// any certificate subscribe to any application's topic: a consumer wired to the wrong
/// application's topic (or a second tenant) reads foreign vehicle data and no test notices.
#[tokio::test]
async fn a_certificate_reads_only_its_own_applications_topic() {
    let mut config = config(&[]);
    let mut other = config.applications[0].clone();
    other.client_id = "another-application".into();
    other.public_keys.clear();
    config.applications.push(other);
    let emulator = Emulator::start(config).await.unwrap();
    let mqtt = emulator.mqtt().unwrap();
    let foreign = mqtt.topic("another-application");
    let (_client, _eventloop, granted) = subscribe(mqtt, "demo-consumer", &foreign).await;
    assert!(
        !granted,
        "the demo application's certificate ({}) may subscribe to another application's topic \
         {foreign}; there is no per-application certificate in {}",
        mqtt.tls().client_cert().display(),
        mqtt.tls().dir().display()
    );
}

/// A configuration with the demo application and a second one, `another-application`.
fn two_applications() -> EmulatorConfig {
    let mut config = config(&[]);
    let mut other = config.applications[0].clone();
    other.client_id = "another-application".into();
    other.public_keys.clear();
    config.applications.push(other);
    config
}

/// The second application's certificate (its own files in `tls_dir`) subscribes to its own topic
/// and not to the demo application's; `client.pem` stays the demo application's.
#[tokio::test]
async fn each_application_has_a_certificate_for_its_own_topic() {
    let emulator = Emulator::start(two_applications()).await.unwrap();
    let mqtt = emulator.mqtt().unwrap();
    let cert = mqtt.tls().application_cert("another-application").unwrap();
    let key = mqtt.tls().application_key("another-application").unwrap();
    assert_eq!(
        read(&mqtt.tls().application_cert(DEMO_CLIENT_ID).unwrap()),
        read(&mqtt.tls().client_cert())
    );
    assert!(mqtt.tls().application_cert("unknown").is_none());
    let subscribe_as = |id: &'static str, filter: String| {
        let options = options_with(mqtt, id, Some((read(&cert), read(&key))), None);
        async move {
            let (client, mut eventloop) = client(options);
            tokio::time::timeout(HANG, connack(&mut eventloop))
                .await
                .unwrap()
                .unwrap();
            client.subscribe(filter, QoS::AtLeastOnce).await.unwrap();
            let codes = tokio::time::timeout(HANG, suback(&mut eventloop))
                .await
                .unwrap();
            codes.is_ok_and(|c| {
                c.iter()
                    .all(|c| matches!(c, SubscribeReasonCode::Success(_)))
            })
        }
    };
    assert!(subscribe_as("own", mqtt.topic("another-application")).await);
    assert!(
        subscribe_as(
            "shared",
            format!("$share/g/{}", mqtt.topic("another-application"))
        )
        .await
    );
    assert!(!subscribe_as("foreign", mqtt.topic(DEMO_CLIENT_ID)).await);
}

/// A persistent session belongs to the application whose certificate opened it: another
/// application's certificate can neither resume it under the same client id nor discard it with a
/// clean start; its owner still resumes it.
#[tokio::test]
async fn a_certificate_cannot_take_over_another_applications_session() {
    let emulator = Emulator::start(two_applications()).await.unwrap();
    let mqtt = emulator.mqtt().unwrap();
    let demo = (mqtt.tls().client_cert(), mqtt.tls().client_key());
    let other = (
        mqtt.tls().application_cert("another-application").unwrap(),
        mqtt.tls().application_key("another-application").unwrap(),
    );
    connect_v5(mqtt, "consumer-1", &demo, true).await.unwrap();
    for clean_start in [false, true] {
        let result = connect_v5(mqtt, "consumer-1", &other, clean_start).await;
        assert!(
            result.as_ref().is_err()
                || result.as_ref().is_ok_and(
                    |ack| ack.code != rumqttc::v5::mqttbytes::v5::ConnectReturnCode::Success
                ),
            "another application's certificate got the session (clean start {clean_start}): {result:?}"
        );
    }
    let ack = connect_v5(mqtt, "consumer-1", &demo, false).await.unwrap();
    assert!(ack.session_present, "the owner's session is gone: {ack:?}");
}

/// After the virtual clock jumps, the publisher publishes the *oldest* 100 missed rounds (data read
/// just after the jump's start) and skips the newest, although its doc says "older rounds are
/// skipped": after `advance(1 day)` a consumer's latest message shows the car as it was a day ago.
#[tokio::test]
async fn after_a_clock_jump_the_latest_message_is_current() {
    let vehicles = [("VIN00000000000001", "sandbox")];
    let emulator = start(&vehicles).await;
    let mqtt = emulator.mqtt().unwrap();
    let topic = mqtt.topic(DEMO_CLIENT_ID);
    let (_client, mut eventloop, granted) = subscribe(mqtt, "jump", &topic).await;
    assert!(granted);
    approve(&emulator, &vehicles).await;
    emulator.advance(Duration::from_secs(24 * 3600));
    let now = emulator.now();
    let mut newest: Option<DateTime<Utc>> = None;
    let mut count = 0;
    while let Some(p) = next_publish(&mut eventloop, Duration::from_secs(5)).await {
        count += 1;
        let message: Value = serde_json::from_slice(&p.payload).unwrap();
        let at = odometer_timestamp(&message);
        newest = newest.max(Some(at));
    }
    assert!(count > 0, "nothing published after the jump");
    let newest = newest.unwrap();
    // A document read at `t` carries timestamps up to two hours before `t` (the car's last
    // report); before the fix the newest message was read just after the jump's start, a day ago.
    assert!(
        now - newest < chrono::Duration::hours(2) + chrono::Duration::minutes(1),
        "{count} messages after a 1-day jump; the newest data is from {newest}, the clock says {now}"
    );
}

fn odometer_timestamp(message: &Value) -> DateTime<Utc> {
    message["data"]["diagnostics"]["odometer"][0]["timestamp"]
        .as_str()
        .unwrap_or_else(|| panic!("no odometer timestamp in {message}"))
        .parse()
        .unwrap()
}

/// `tls_dir` is an operator's path (the README suggests `/tmp/hm-emulator-tls`). The public PEM
/// files are written with `std::fs::write`, which follows a symlink planted there: starting the
/// emulator overwrites whatever file the link points to (another user's file, if `/tmp/...` was
/// prepared by them; the keys are safe because they are unlinked and created afresh).
#[tokio::test]
#[cfg(unix)]
async fn tls_dir_does_not_write_through_symlinks() {
    let scratch = tempfile::tempdir().unwrap();
    let victim = scratch.path().join("precious.txt");
    std::fs::write(&victim, "precious data").unwrap();
    let tls_dir = scratch.path().join("tls");
    std::fs::create_dir(&tls_dir).unwrap();
    std::os::unix::fs::symlink(&victim, tls_dir.join("ca.pem")).unwrap();
    let mut config = config(&[]);
    config.mqtt.tls_dir = Some(tls_dir);
    let started = Emulator::start(config).await;
    assert_eq!(
        std::fs::read_to_string(&victim).unwrap(),
        "precious data",
        "starting the emulator overwrote the file a symlink in tls_dir pointed to (start: {:?})",
        started.as_ref().map(|_| ()).map_err(|e| e.to_string())
    );
}

/// The CONNACK of an MQTT 5 client (demo certificate) that asks for a session that never expires.
async fn connack_v5(mqtt: &MqttEndpoint, id: &str) -> rumqttc::v5::mqttbytes::v5::ConnAck {
    let demo = (mqtt.tls().client_cert(), mqtt.tls().client_key());
    connect_v5(mqtt, id, &demo, false)
        .await
        .expect("the demo certificate connects")
}

/// Connects an MQTT 5 client with the certificate and key files `identity`, asking for a session
/// that never expires; the CONNACK, or why there was none. The connection is dropped afterwards.
async fn connect_v5(
    mqtt: &MqttEndpoint,
    id: &str,
    identity: &(std::path::PathBuf, std::path::PathBuf),
    clean_start: bool,
) -> Result<rumqttc::v5::mqttbytes::v5::ConnAck, String> {
    use rumqttc::v5::{Event as Event5, mqttbytes::v5::Packet as Packet5};
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let addr = broker_addr(mqtt);
    let mut options = rumqttc::v5::MqttOptions::new(id, addr.ip().to_string(), addr.port());
    options.set_transport(Transport::tls_with_config(TlsConfiguration::Simple {
        ca: read(&mqtt.tls().ca_cert()),
        alpn: None,
        client_auth: Some((read(&identity.0), read(&identity.1))),
    }));
    options.set_clean_start(clean_start);
    options.set_session_expiry_interval(Some(u32::MAX));
    let (_client, mut eventloop) = rumqttc::v5::AsyncClient::new(options, 10);
    tokio::time::timeout(HANG, async {
        loop {
            match eventloop.poll().await {
                Ok(Event5::Incoming(Packet5::ConnAck(ack))) => return Ok(ack),
                Ok(_) => {}
                Err(e) => return Err(e.to_string()),
            }
        }
    })
    .await
    .expect("connect hung")
}

/// mqtt5's default maximum session expiry is `u32::MAX` (never): every client id that ever
/// connected with a persistent session (each `hm stream --client-id ...` experiment, each replica
/// name) keeps a session in the emulator's memory for good, queueing up to 10,000 messages / 64 MB
/// of vehicle data each, while nobody reads them. The broker should cap the expiry and say so.
#[tokio::test]
async fn persistent_sessions_expire() {
    let emulator = start(&[]).await;
    let ack = connack_v5(emulator.mqtt().unwrap(), "abandoned").await;
    let granted = ack
        .properties
        .as_ref()
        .and_then(|p| p.session_expiry_interval)
        .unwrap_or(u32::MAX);
    assert!(
        granted < u32::MAX,
        "the broker granted a session that never expires: {ack:?}"
    );
}

/// mqtt5's default maximum packet size is 256 MiB and the emulator keeps it: any certificate
/// holder can make the broker buffer 256 MiB per connection (10,000 connections allowed) before
/// it even looks at the packet, and the CONNACK advertises no limit. The real messages are tens
/// of kilobytes; nothing a client legitimately sends (SUBSCRIBE, PUBACK, PINGREQ) needs more.
#[tokio::test]
async fn the_broker_limits_packet_size() {
    let emulator = start(&[]).await;
    let ack = connack_v5(emulator.mqtt().unwrap(), "big").await;
    let limit = ack
        .properties
        .as_ref()
        .and_then(|p| p.max_packet_size)
        .unwrap_or(u32::MAX);
    assert!(
        limit <= 1 << 20,
        "the broker accepts packets of {limit} bytes: {ack:?}"
    );
}

/// Without a client certificate, with one from a foreign CA, with the broker's own (server)
/// certificate, or speaking plain MQTT on the TLS port: no CONNACK.
#[tokio::test]
async fn foreign_clients_are_refused() {
    let emulator = start(&[]).await;
    let mqtt = emulator.mqtt().unwrap();

    let (_c, mut no_cert) = client(options_with(mqtt, "no-cert", None, None));
    let result = tokio::time::timeout(HANG, connack(&mut no_cert))
        .await
        .unwrap();
    assert!(result.is_err(), "connected without a client certificate");

    let (cert, key) = foreign_client_certificate();
    let (_c, mut foreign) = client(options_with(mqtt, "foreign", Some((cert, key)), None));
    let result = tokio::time::timeout(HANG, connack(&mut foreign))
        .await
        .unwrap();
    assert!(result.is_err(), "connected with a foreign CA's certificate");

    // The broker's own certificate and key sit next to the client's; they are not a client's.
    let server = (
        read(&mqtt.tls().server_cert()),
        read(&mqtt.tls().server_key()),
    );
    let (_c, mut server) = client(options_with(mqtt, "server-cert", Some(server), None));
    let result = tokio::time::timeout(HANG, connack(&mut server))
        .await
        .unwrap();
    assert!(
        result.is_err(),
        "connected with the broker's server certificate"
    );

    let addr = broker_addr(mqtt);
    let mut plain = MqttOptions::new("plain", addr.ip().to_string(), addr.port());
    plain.set_keep_alive(Duration::from_secs(60));
    let (_c, mut plain) = client(plain);
    let result = tokio::time::timeout(HANG, connack(&mut plain))
        .await
        .unwrap();
    assert!(result.is_err(), "plain MQTT over TCP was accepted");

    // The broker still serves the demo certificate afterwards.
    let (_c, _e, granted) = subscribe(mqtt, "still-works", &mqtt.topic(DEMO_CLIENT_ID)).await;
    assert!(granted);
}

/// A client certificate for the right name, signed by a CA the emulator never saw.
fn foreign_client_certificate() -> (Vec<u8>, Vec<u8>) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let mut ca = CertificateParams::new(Vec::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_key = KeyPair::generate().unwrap();
    let _ = ca.clone().self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let mut leaf = CertificateParams::new(Vec::new()).unwrap();
    leaf.distinguished_name
        .push(rcgen::DnType::CommonName, "hm-emulator demo application");
    leaf.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let key = KeyPair::generate().unwrap();
    let cert = leaf.signed_by(&key, &issuer).unwrap();
    (cert.pem().into_bytes(), key.serialize_pem().into_bytes())
}

/// Wildcards, `$SYS`, shares of wildcards and odd topic strings are refused.
#[tokio::test]
async fn only_application_topics_can_be_subscribed() {
    let emulator = start(&[]).await;
    let mqtt = emulator.mqtt().unwrap();
    let topic = mqtt.topic(DEMO_CLIENT_ID);
    let long = format!("{topic}/{}", "x".repeat(60_000));
    let refused = [
        "#".to_string(),
        "+/level13/#".into(),
        "live/level13/+".into(),
        "$share/g/#".into(),
        "$share/g/+/level13/+".into(),
        "$SYS/#".into(),
        "$share//#".into(),
        format!("$share/g/{topic}/#"),
        format!("{topic}/+"),
        format!("{topic}\u{0}"),
        format!("{}/{topic}", "sandbox"),
        topic.to_uppercase(),
        long,
    ];
    for (i, filter) in refused.iter().enumerate() {
        let (_c, _e, granted) = subscribe(mqtt, &format!("wild-{i}"), filter).await;
        assert!(!granted, "subscription to {filter:.80} was granted");
    }
}

/// Publishing on the application topic (plain, retained, or as a will) never reaches a consumer:
/// forged vehicle data stays out.
#[tokio::test]
async fn clients_cannot_inject_messages() {
    let emulator = start(&[]).await;
    let mqtt = emulator.mqtt().unwrap();
    let topic = mqtt.topic(DEMO_CLIENT_ID);
    let (_victim, mut victim_loop, granted) = subscribe(mqtt, "victim", &topic).await;
    assert!(granted);

    let forged = json!({"version": 2, "application_id": "x", "message_id": "forged",
                        "vin": "FORGED", "data": {}})
    .to_string();
    let mut will_options = options(mqtt, "will");
    will_options.set_last_will(LastWill::new(
        &topic,
        forged.clone(),
        QoS::AtLeastOnce,
        true,
    ));
    let (_will, mut will_loop) = client(will_options);
    tokio::time::timeout(HANG, connack(&mut will_loop))
        .await
        .unwrap()
        .unwrap();

    let (attacker, mut attacker_loop) = client(options(mqtt, "attacker"));
    tokio::time::timeout(HANG, connack(&mut attacker_loop))
        .await
        .unwrap()
        .unwrap();
    attacker
        .publish(&topic, QoS::AtLeastOnce, false, forged.clone())
        .await
        .unwrap();
    attacker
        .publish(&topic, QoS::AtLeastOnce, true, forged.clone())
        .await
        .unwrap();
    attacker
        .publish(&topic, QoS::AtMostOnce, false, forged.clone())
        .await
        .unwrap();
    // Drive the attacker's loop until its publishes are out (acked, or the connection dropped).
    let _ = tokio::time::timeout(Duration::from_secs(3), async {
        while attacker_loop.poll().await.is_ok() {}
    })
    .await;
    // The will client vanishes without DISCONNECT: its will is due now.
    drop(will_loop);

    assert!(
        next_publish(&mut victim_loop, Duration::from_secs(3))
            .await
            .is_none(),
        "a forged message reached the subscriber"
    );
    // A retained forgery would greet the next subscriber.
    let (_late, mut late_loop, granted) = subscribe(mqtt, "late", &topic).await;
    assert!(granted);
    assert!(
        next_publish(&mut late_loop, Duration::from_secs(3))
            .await
            .is_none(),
        "a retained forged message reached a new subscriber"
    );
}

/// On shutdown the default TLS directory is removed and the broker port is closed.
#[tokio::test]
async fn shutdown_removes_the_tls_dir_and_frees_the_port() {
    let emulator = start(&[]).await;
    let mqtt = emulator.mqtt().unwrap();
    let addr = broker_addr(mqtt);
    let dir = mqtt.tls().dir().to_path_buf();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for key in [mqtt.tls().client_key(), mqtt.tls().server_key()] {
            let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", key.display());
        }
    }
    emulator.shutdown().await.unwrap();
    assert!(!dir.exists(), "{} left behind", dir.display());
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

/// A `tls_dir` that is a regular file is refused with an error naming it.
#[tokio::test]
async fn tls_dir_that_is_a_file_is_a_clear_error() {
    let scratch = tempfile::tempdir().unwrap();
    let file = scratch.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let mut config = config(&[]);
    config.mqtt.tls_dir = Some(file.clone());
    let error = Emulator::start(config).await.unwrap_err().to_string();
    assert!(
        error.contains(&file.display().to_string()),
        "error does not name the path: {error}"
    );
}

/// Every published message validates against the Streaming Schema V2, carries the integer
/// version 2, the application's UUID, and a message id never seen before.
#[tokio::test]
async fn published_messages_follow_the_schema_and_are_unique() {
    let dir = std::env::var("HM_OPENAPI_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../openapi/fetched"));
    let spec = dir.join("json-schema/auto-api/0002/spec.json");
    let mut schema: Value = serde_json::from_slice(
        &std::fs::read(&spec)
            .unwrap_or_else(|e| panic!("{}: {e}; run `cargo xtask fetch`", spec.display())),
    )
    .unwrap();
    schema.as_object_mut().unwrap().remove("$id");
    let validator = jsonschema::validator_for(&schema).unwrap();

    let vehicles = [
        ("VIN00000000000001", "sandbox"),
        ("VIN00000000000002", "mercedes-benz"),
        ("VIN00000000000003", "bmw"),
        ("VIN00000000000004", "ford"),
        ("VIN00000000000005", "kia"),
    ];
    let mut config = config(&vehicles);
    config.vehicle_data.failure_share = 0.5;
    config.vehicle_data.seed = 7;
    config.mqtt.environment = hm_emulator::MqttEnvironment::Sandbox;
    let emulator = Emulator::start(config).await.unwrap();
    let mqtt = emulator.mqtt().unwrap();
    let topic = mqtt.topic(DEMO_CLIENT_ID);
    assert!(topic.starts_with("sandbox/level13/"), "{topic}");
    let (_client, mut eventloop, granted) = subscribe(mqtt, "schema", &topic).await;
    assert!(granted);
    approve(&emulator, &vehicles).await;
    emulator.advance(Duration::from_secs(20));
    let application_id = hm_emulator::mqtt::application_id(DEMO_CLIENT_ID).to_string();
    let mut ids = HashSet::new();
    let mut vins = HashSet::new();
    while let Some(p) = next_publish(&mut eventloop, Duration::from_secs(5)).await {
        let message: Value = serde_json::from_slice(&p.payload).unwrap();
        assert_eq!(message["version"], json!(2));
        assert!(message["version"].is_u64(), "{}", message["version"]);
        assert_eq!(message["application_id"], json!(application_id));
        let errors: Vec<String> = validator
            .iter_errors(&message["data"])
            .take(5)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", message["vin"]);
        assert!(ids.insert(message["message_id"].as_str().unwrap().to_owned()));
        vins.insert(message["vin"].as_str().unwrap().to_owned());
    }
    assert_eq!(vins.len(), vehicles.len(), "{vins:?}");
    assert!(ids.len() >= 4 * vehicles.len(), "{}", ids.len());
}

/// One connection subscribed to 200 share groups of its topic (all granted) still gets one copy
/// of each message, not 200.
#[tokio::test]
async fn one_client_cannot_multiply_the_stream() {
    let vehicles = [("VIN00000000000001", "sandbox")];
    let emulator = start(&vehicles).await;
    let mqtt = emulator.mqtt().unwrap();
    let topic = mqtt.topic(DEMO_CLIENT_ID);
    let (client, mut eventloop) = client(options(mqtt, "multiplier"));
    tokio::time::timeout(HANG, connack(&mut eventloop))
        .await
        .unwrap()
        .unwrap();
    let groups = 200;
    client
        .subscribe_many((0..groups).map(|g| {
            rumqttc::SubscribeFilter::new(format!("$share/g{g}/{topic}"), QoS::AtLeastOnce)
        }))
        .await
        .unwrap();
    let codes = tokio::time::timeout(HANG, suback(&mut eventloop))
        .await
        .unwrap()
        .unwrap_or_default();
    let granted = codes
        .iter()
        .filter(|c| matches!(c, SubscribeReasonCode::Success(_)))
        .count();
    approve(&emulator, &vehicles).await;
    emulator.advance(Duration::from_secs(5));
    let mut copies = 0;
    let mut bytes = 0;
    while let Some(p) = next_publish(&mut eventloop, Duration::from_secs(5)).await {
        copies += 1;
        bytes += p.payload.len();
    }
    assert!(
        copies <= 10,
        "{granted} of {groups} share-group subscriptions granted on one connection; one publish \
         round of one vehicle reached it {copies} times ({bytes} bytes)"
    );
}

/// Resident memory of this process (the emulator runs in it), in MiB.
fn rss_mib() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096 / (1 << 20)
}

/// 100 messages per vehicle (a 1-day clock jump; 48 KB each) with one subscriber that stops
/// reading right after its SUBACK and one that reads everything: how many reached the healthy one,
/// whether the REST API still answered, and the process's resident memory before and after (MiB).
async fn stalled_subscriber_run(vehicles: usize, stall: bool) -> (usize, usize, u16, u64, u64) {
    let vins: Vec<String> = (0..vehicles)
        .map(|i| format!("VIN000000000000{i:02}"))
        .collect();
    let vehicles: Vec<(&str, &str)> = vins.iter().map(|v| (v.as_str(), "sandbox")).collect();
    let emulator = start(&vehicles).await;
    let mqtt = emulator.mqtt().unwrap();
    let topic = mqtt.topic(DEMO_CLIENT_ID);
    let _stalled = if stall {
        let (client, eventloop, granted) = subscribe(mqtt, "stalled", &topic).await;
        assert!(granted);
        Some((client, eventloop))
    } else {
        None
    };
    let (_healthy, mut healthy_loop, granted) = subscribe(mqtt, "healthy", &topic).await;
    assert!(granted);
    approve(&emulator, &vehicles).await;
    let before = rss_mib();
    emulator.advance(Duration::from_secs(24 * 3600));
    let expected = 100 * vehicles.len();
    let mut received = 0;
    while received < expected {
        match next_publish(&mut healthy_loop, HANG).await {
            Some(_) => received += 1,
            None => break,
        }
    }
    let status = reqwest::get(format!("{}/v1/fleets/vehicles", emulator.base_url()))
        .await
        .unwrap()
        .status()
        .as_u16();
    let after = rss_mib();
    eprintln!(
        "stalled subscriber {stall}: {received} of {expected} messages reached the healthy one; RSS {before} MiB -> {after} MiB"
    );
    (expected, received, status, before, after)
}

/// A stalled subscriber does not delay a healthy subscriber of the same topic or the REST API
/// (500 messages).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_subscriber_does_not_stall_the_others() {
    let (expected, received, status, _, _) = stalled_subscriber_run(5, true).await;
    assert_eq!(received, expected);
    assert_eq!(status, 401, "the REST API answers");
}

/// The broker keeps every message for a subscriber that stopped reading: its per-client channel
/// held 10,000 messages (mqtt5's `client_channel_capacity`), about 470 MiB of vehicle data at
/// 48 KB a message, plus a 64 MiB backlog queue, per stalled connection, until the write timeout
/// drops it. Here 95 MB sent with a stalled subscriber grew the process by about as much, after a
/// control run without it (measured: control 28 -> 45 MiB, then 46 -> 165 MiB); the broker now
/// bounds a client's channel (64 messages) and queue (16 MiB) and grows by much less than half.
/// Measured in a process of its own ([`run_alone`]): tests running beside it would blur the RSS.
#[test]
fn a_stalled_subscriber_costs_bounded_memory() {
    run_alone("stalled_subscriber_memory_inner", &[]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "helper: run alone by a_stalled_subscriber_costs_bounded_memory"]
async fn stalled_subscriber_memory_inner() {
    if std::env::var_os(ALONE).is_none() {
        return;
    }
    // First without the stalled subscriber: the allocator keeps what generating and delivering
    // took, so the second run's growth is what holding the messages costs.
    let (_, _, _, control_before, control_after) = stalled_subscriber_run(20, false).await;
    let (expected, received, _, before, after) = stalled_subscriber_run(20, true).await;
    assert_eq!(received, expected);
    eprintln!("control: {control_before} MiB -> {control_after} MiB");
    assert!(
        after.saturating_sub(before) < 48,
        "the process grew from {before} MiB to {after} MiB while ~95 MB went to a subscriber that \
         stopped reading"
    );
}

/// Set in the child process of [`run_alone`].
const ALONE: &str = "HM_ATTACK_ALONE";

/// Runs the ignored test `name` of this binary in a child process of its own (under `prefix`, a
/// command such as `prlimit`), for measurements of the whole process that other tests would blur;
/// fails with the child's output when it fails, and returns its stdout.
fn run_alone(name: &str, prefix: &[&str]) -> String {
    let exe = std::env::current_exe().unwrap();
    let mut command = match prefix.split_first() {
        Some((program, args)) => {
            let mut command = std::process::Command::new(program);
            command.args(args).arg(exe);
            command
        }
        None => std::process::Command::new(exe),
    };
    let output = command
        .args([name, "--exact", "--include-ignored", "--nocapture"])
        .env(ALONE, "1")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {prefix:?} {name}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// `shutdown` waits for the publisher, and the publisher only looks at its stop signal between
/// catch-up batches: after a clock jump with many approved vehicles, stopping the emulator waits
/// until 100 rounds of every vehicle are generated and published (here 50 vehicles: 5,000
/// documents, minutes of CPU on a loaded machine).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_does_not_wait_for_a_catch_up() {
    let vins: Vec<String> = (0..50).map(|i| format!("VIN000000000000{i:02}")).collect();
    let vehicles: Vec<(&str, &str)> = vins.iter().map(|v| (v.as_str(), "sandbox")).collect();
    let emulator = start(&vehicles).await;
    approve(&emulator, &vehicles).await;
    emulator.advance(Duration::from_secs(24 * 3600));
    // Let the publisher pick up the jump.
    tokio::task::yield_now().await;
    let stopped = tokio::time::timeout(Duration::from_secs(20), emulator.shutdown()).await;
    assert!(
        stopped.is_ok(),
        "shutdown took more than 20 s: it waits for 100 publish rounds of 50 vehicles"
    );
}

/// A `Write` into a shared buffer, for capturing log lines.
#[derive(Clone, Default)]
struct LogBuffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Every refused PUBLISH writes a WARN line with the client's topic verbatim, and the client stays
/// connected: one certificate holder writes the emulator's log at packet rate (disk, CI logs), and
/// a topic with a newline forges whole log lines. High Mobility's broker would not keep a client
/// that publishes where it may not. (mqtt5 itself also logs a WARN per refusal, verbatim: the
/// emulator's log filter should hold mqtt5 at ERROR.)
#[tokio::test]
async fn refused_publishes_do_not_flood_or_forge_the_log() {
    let logs = LogBuffer::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let emulator = start(&[]).await;
    let mqtt = emulator.mqtt().unwrap();
    let (attacker, mut eventloop) = client(options(mqtt, "noisy"));
    tokio::time::timeout(HANG, connack(&mut eventloop))
        .await
        .unwrap()
        .unwrap();
    let forged = "x\n2026-01-01T00:00:00Z  INFO hm_emulator: FORGED LINE";
    let sent = 500;
    for _ in 0..sent {
        attacker
            .publish(forged, QoS::AtMostOnce, false, "payload")
            .await
            .unwrap();
    }
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while eventloop.poll().await.is_ok() {}
    })
    .await;
    drop(emulator);
    let text = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    // The emulator's own lines (mqtt5 logs each refusal too, verbatim, under its own target).
    let warnings = text.matches("tried to publish").count();
    let lines: Vec<&str> = text.lines().collect();
    let forged_lines = lines
        .windows(2)
        .filter(|w| w[0].contains("tried to publish") && w[1].contains("FORGED LINE"))
        .count();
    assert!(
        warnings <= 10 && forged_lines == 0,
        "{sent} refused publishes wrote {warnings} warnings and {forged_lines} forged log lines"
    );
}

/// A client that offers ALPN `mqtt` (as clients behind ALPN-routing load balancers do) connects.
#[tokio::test]
async fn a_client_offering_alpn_mqtt_connects() {
    let emulator = start(&[]).await;
    let mqtt = emulator.mqtt().unwrap();
    let auth = (
        read(&mqtt.tls().client_cert()),
        read(&mqtt.tls().client_key()),
    );
    let (_c, mut eventloop) = client(options_with(
        mqtt,
        "alpn",
        Some(auth),
        Some(vec![b"mqtt".to_vec()]),
    ));
    let result = tokio::time::timeout(HANG, connack(&mut eventloop))
        .await
        .unwrap();
    assert!(result.is_ok(), "{result:?}");
}

/// Clock ticks (1/100 s) of CPU this process has used, user and system, read from `stat` (an
/// open `/proc/self/stat`: no file descriptor is needed to read it again).
fn cpu_ticks(stat: &mut std::fs::File) -> u64 {
    use std::io::{Read, Seek};
    let mut text = String::new();
    stat.seek(std::io::SeekFrom::Start(0)).unwrap();
    stat.read_to_string(&mut text).unwrap();
    let stat = text;
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    field(11) + field(12)
}

/// Run by [`accept_loop_does_not_spin_when_file_descriptors_run_out`] under `prlimit`: uses up
/// the process's file descriptors, leaves one for a TCP connection to the broker, and measures the
/// CPU the process burns in the next two seconds while the broker cannot accept it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "helper: run under prlimit by accept_loop_does_not_spin_when_file_descriptors_run_out"]
async fn fd_exhaustion_inner() {
    if std::env::var_os(ALONE).is_none() {
        return;
    }
    let emulator = start(&[]).await;
    let addr = broker_addr(emulator.mqtt().unwrap());
    let mut stat = std::fs::File::open("/proc/self/stat").unwrap();
    let mut files = Vec::new();
    while let Ok(file) = std::fs::File::open("/dev/null") {
        files.push(file);
    }
    files.pop();
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let before = cpu_ticks(&mut stat);
    // Nothing arrives: the broker cannot accept the connection. Wait two seconds for it.
    let mut buf = [0u8; 1];
    let _ = tokio::time::timeout(
        Duration::from_secs(2),
        tokio::io::AsyncReadExt::read(&mut stream, &mut buf),
    )
    .await;
    let burnt = cpu_ticks(&mut stat) - before;
    drop(files);
    println!("CPU_TICKS_WHILE_EXHAUSTED={burnt}");
}

/// With file descriptors exhausted (10,000 clients allowed, a common soft limit of 1,024), mqtt5's
/// TLS accept loop gets `EMFILE` for a pending connection and retries at once, logging an ERROR
/// each time: a busy loop that burns a core until a descriptor frees up (measured: 1.4 s of CPU in
/// 2 s, and with a log subscriber about 266,000 `TLS accept error: Too many open files` lines in
/// 2 s). The emulator's own HTTP server pauses 50 ms after an accept error for exactly this reason.
#[test]
fn accept_loop_does_not_spin_when_file_descriptors_run_out() {
    let stdout = run_alone("fd_exhaustion_inner", &["prlimit", "--nofile=256:256"]);
    let ticks: u64 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("CPU_TICKS_WHILE_EXHAUSTED="))
        .unwrap_or_else(|| panic!("no measurement in {stdout}"))
        .trim()
        .parse()
        .unwrap();
    assert!(
        ticks < 50,
        "the process burnt {} s of CPU in 2 s while one connection waited for a file descriptor",
        ticks as f64 / 100.0
    );
}

/// An MQTT 5 client (demo certificate) that sends `count` refused PUBLISHes with a 60,000-byte
/// topic each, with a topic alias (1, 2, ...) when `aliases`, then waits for the PUBACK of a last
/// QoS 1 publish (so the broker has read them all). Returns the CONNACK's topic alias maximum and
/// the process's resident memory before and after, in MiB; the client stays connected meanwhile.
async fn publish_long_topics(
    mqtt: &MqttEndpoint,
    id: &str,
    count: u16,
    aliases: bool,
) -> (Option<u16>, u64, u64) {
    use rumqttc::v5::mqttbytes::v5::{Packet as Packet5, PublishProperties};
    use rumqttc::v5::{Event as Event5, mqttbytes::QoS as QoS5};
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let addr = broker_addr(mqtt);
    let mut options = rumqttc::v5::MqttOptions::new(id, addr.ip().to_string(), addr.port());
    options.set_transport(Transport::tls_with_config(TlsConfiguration::Simple {
        ca: read(&mqtt.tls().ca_cert()),
        alpn: None,
        client_auth: Some((
            read(&mqtt.tls().client_cert()),
            read(&mqtt.tls().client_key()),
        )),
    }));
    let (client, mut eventloop) = rumqttc::v5::AsyncClient::new(options, usize::from(count) + 10);
    let alias_max = tokio::time::timeout(HANG, async {
        loop {
            if let Event5::Incoming(Packet5::ConnAck(ack)) = eventloop.poll().await.unwrap() {
                return ack.properties.and_then(|p| p.topic_alias_max);
            }
        }
    })
    .await
    .expect("connect hung");
    if aliases && alias_max.unwrap_or(0) == 0 {
        // The broker offers no aliases: a client may not send any.
        return (alias_max, 0, 0);
    }
    let before = rss_mib();
    for i in 1..=count {
        let topic = format!("{i:05}/{}", "a".repeat(60_000));
        let properties = PublishProperties {
            topic_alias: aliases.then_some(i),
            ..Default::default()
        };
        client
            .publish_with_properties(topic, QoS5::AtMostOnce, false, "x", properties)
            .await
            .unwrap();
    }
    client
        .publish("last", QoS5::AtLeastOnce, false, "x")
        .await
        .unwrap();
    tokio::time::timeout(HANG * 2, async {
        loop {
            match eventloop.poll().await {
                Ok(Event5::Incoming(Packet5::PubAck(_))) => return,
                Ok(_) => {}
                Err(e) => panic!("connection lost: {e}"),
            }
        }
    })
    .await
    .expect("the broker did not answer");
    let after = rss_mib();
    std::mem::forget((client, eventloop));
    (alias_max, before, after)
}

/// The broker offers clients 65,535 topic aliases (mqtt5's default) and registers a client's alias
/// before it refuses the publish: a client that may not publish at all still makes the broker keep
/// up to 65,535 topics of up to 64 KiB each (4 GiB) for as long as it stays connected. Measured:
/// after a control run without aliases (39 -> 96 MiB, the client's own buffers), 1,000 refused
/// publishes with 60 KB topics and aliases grow the process by another ~70 MiB (96 -> 168 MiB).
/// Clients never publish here, so the broker should offer no aliases (`topic_alias_maximum = 0`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_publishers_cannot_park_topics_in_aliases() {
    let emulator = start(&[]).await;
    let mqtt = emulator.mqtt().unwrap();
    let (_, control_before, control_after) = publish_long_topics(mqtt, "plain", 1_000, false).await;
    let (alias_max, before, after) = publish_long_topics(mqtt, "aliases", 1_000, true).await;
    eprintln!("control {control_before} -> {control_after} MiB; aliases {before} -> {after} MiB");
    assert!(
        alias_max.unwrap_or(0) == 0 && after.saturating_sub(before) < 20,
        "topic alias maximum {alias_max:?}; 1,000 refused publishes with 60 KB topics and aliases \
         grew the process from {before} to {after} MiB (without aliases: {control_before} -> \
         {control_after} MiB)"
    );
}

/// Once a vehicle's clearance is revoked, no further message carries its data.
#[tokio::test]
async fn a_revoked_vehicle_is_no_longer_published() {
    let vehicles = [
        ("VIN00000000000001", "sandbox"),
        ("VIN00000000000002", "bmw"),
    ];
    let emulator = start(&vehicles).await;
    let mqtt = emulator.mqtt().unwrap();
    let topic = mqtt.topic(DEMO_CLIENT_ID);
    let (_client, mut eventloop, granted) = subscribe(mqtt, "revoke", &topic).await;
    assert!(granted);
    let token = approve(&emulator, &vehicles).await;
    emulator.advance(Duration::from_secs(2));
    let mut first = HashSet::new();
    while let Some(p) = next_publish(&mut eventloop, Duration::from_secs(3)).await {
        let message: Value = serde_json::from_slice(&p.payload).unwrap();
        first.insert(message["vin"].as_str().unwrap().to_owned());
    }
    assert_eq!(first.len(), 2, "{first:?}");
    let response = reqwest::Client::new()
        .delete(format!(
            "{}/v1/fleets/vehicles/VIN00000000000001",
            emulator.base_url()
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    emulator.advance(Duration::from_secs(3600));
    let mut later = Vec::new();
    while let Some(p) = next_publish(&mut eventloop, Duration::from_secs(3)).await {
        let message: Value = serde_json::from_slice(&p.payload).unwrap();
        later.push(message["vin"].as_str().unwrap().to_owned());
    }
    assert!(!later.is_empty());
    assert!(
        later.iter().all(|vin| vin == "VIN00000000000002"),
        "messages after the revocation: {later:?}"
    );
}

/// Two emulators given the same `tls_dir` (two `hm emulator serve --tls-dir ./tls` in two
/// terminals, or parallel tests sharing a path): the second silently replaces the first one's CA
/// and client certificate, so the files the first one's handle names no longer open its broker.
/// The emulator should refuse a `tls_dir` that a running emulator uses (a lock file) or keep
/// each run's files apart.
#[tokio::test]
async fn a_shared_tls_dir_does_not_break_the_running_emulator() {
    let scratch = tempfile::tempdir().unwrap();
    let mut config = config(&[]);
    config.mqtt.tls_dir = Some(scratch.path().join("tls"));
    let first = Emulator::start(config.clone()).await.unwrap();
    let second = Emulator::start(config).await;
    let mqtt = first.mqtt().unwrap();
    let (_c, mut eventloop) = client(options(mqtt, "first-consumer"));
    let result = tokio::time::timeout(HANG, connack(&mut eventloop))
        .await
        .unwrap();
    assert!(
        result.is_ok() || second.is_err(),
        "the second emulator started with the same tls_dir and the first one's certificate files \
         no longer open its broker: {result:?}"
    );
}

/// 150 consumers connected at once each get the round's message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_connections_each_get_the_stream() {
    let vehicles = [("VIN00000000000001", "sandbox")];
    let emulator = start(&vehicles).await;
    let mqtt = emulator.mqtt().unwrap();
    let topic = mqtt.topic(DEMO_CLIENT_ID);
    let mut loops = Vec::new();
    for i in 0..150 {
        let (client, eventloop, granted) = subscribe(mqtt, &format!("many-{i}"), &topic).await;
        assert!(granted);
        loops.push((client, eventloop));
    }
    approve(&emulator, &vehicles).await;
    emulator.advance(Duration::from_secs(2));
    let mut received = 0;
    for (_, eventloop) in &mut loops {
        if next_publish(eventloop, HANG).await.is_some() {
            received += 1;
        }
    }
    assert_eq!(received, loops.len());
}
