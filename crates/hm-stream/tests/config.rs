//! Configuration, certificates and keys: checked up front, with errors that say what to do, and
//! never echoed in errors or `Debug` output.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::pki::TestPki;
use hm_stream::{CaRoots, ClientIdentity, Consumer, DataEnvironment, Error, StreamConfig};
use uuid::Uuid;

const APP: &str = "48aa1779-91c2-468e-97e9-ab112efd53b9";

fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name| vars.get(name).cloned()
}

fn key_lines(pem: &str) -> Vec<&str> {
    pem.lines().filter(|l| !l.starts_with("-----")).collect()
}

#[test]
fn the_environment_configures_everything_in_hm_auth_style() {
    let pki = TestPki::new();
    let config = StreamConfig::from_lookup(lookup(&[
        ("HM_APPLICATION_ID", APP),
        ("HM_MQTT_CERT_PEM", &pki.client.cert_pem),
        ("HM_MQTT_KEY_PEM", &pki.client.key_pem),
        ("HM_MQTT_CA_PEM", &pki.ca_pem),
        ("HM_MQTT_URL", "mqtts://127.0.0.1:8883"),
        ("HM_MQTT_ENVIRONMENT", "live"),
        ("HM_MQTT_CLIENT_ID", "ingest-0"),
        ("HM_MQTT_SHARE_GROUP", "ingest"),
    ]))
    .unwrap();
    assert_eq!(config.topic(), format!("live/level13/{APP}"));
    assert_eq!(
        config.subscription(),
        format!("$share/ingest/live/level13/{APP}")
    );
    assert_eq!(config.effective_client_id(), "ingest-0");
    Consumer::new(config).unwrap();
}

#[test]
fn files_work_too_and_the_data_environment_follows_hm_environment() {
    let pki = TestPki::new();
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, ca) = (
        dir.path().join("c.pem"),
        dir.path().join("k.pem"),
        dir.path().join("ca.pem"),
    );
    std::fs::write(&cert, &pki.client.cert_pem).unwrap();
    std::fs::write(&key, &pki.client.key_pem).unwrap();
    std::fs::write(&ca, &pki.ca_pem).unwrap();
    let base = [
        ("HM_APPLICATION_ID", APP),
        ("HM_MQTT_CERT_FILE", cert.to_str().unwrap()),
        ("HM_MQTT_KEY_FILE", key.to_str().unwrap()),
        ("HM_MQTT_CA_FILE", ca.to_str().unwrap()),
    ];
    let with = |extra: &[(&str, &str)]| {
        let vars: Vec<_> = base.iter().chain(extra).copied().collect();
        StreamConfig::from_lookup(lookup(&vars)).unwrap()
    };
    assert_eq!(with(&[]).topic(), format!("sandbox/level13/{APP}"));
    assert_eq!(
        with(&[("HM_ENVIRONMENT", "production")]).topic(),
        format!("live/level13/{APP}")
    );
    assert_eq!(
        with(&[("HM_ENVIRONMENT", "http://127.0.0.1:4000")]).topic(),
        format!("sandbox/level13/{APP}")
    );
    assert_eq!(
        with(&[
            ("HM_ENVIRONMENT", "production"),
            ("HM_MQTT_ENVIRONMENT", "sandbox")
        ])
        .topic(),
        format!("sandbox/level13/{APP}"),
        "HM_MQTT_ENVIRONMENT wins"
    );
    // A file key with a PEM certificate also works.
    let mixed = StreamConfig::from_lookup(lookup(&[
        ("HM_APPLICATION_ID", APP),
        ("HM_MQTT_CERT_PEM", &pki.client.cert_pem),
        ("HM_MQTT_KEY_FILE", key.to_str().unwrap()),
    ]))
    .unwrap();
    assert_eq!(mixed.effective_client_id(), format!("hm-stream-{APP}"));
}

#[test]
fn incomplete_or_ambiguous_environments_say_what_to_set() {
    let pki = TestPki::new();
    let error = StreamConfig::from_lookup(lookup(&[]))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("HM_APPLICATION_ID is not set") && error.contains("HM_MQTT_CERT_FILE"),
        "{error}"
    );

    let error = StreamConfig::from_lookup(lookup(&[("HM_APPLICATION_ID", "my-app")]))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("application id `my-app`") && error.contains("UUID"),
        "{error}"
    );

    let error = StreamConfig::from_lookup(lookup(&[("HM_APPLICATION_ID", APP)]))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("neither HM_MQTT_CERT_FILE nor HM_MQTT_CERT_PEM is set"),
        "{error}"
    );

    let error = StreamConfig::from_lookup(lookup(&[
        ("HM_APPLICATION_ID", APP),
        ("HM_MQTT_CERT_PEM", &pki.client.cert_pem),
        ("HM_MQTT_CERT_FILE", "/x.pem"),
        ("HM_MQTT_KEY_PEM", &pki.client.key_pem),
    ]))
    .unwrap_err()
    .to_string();
    assert!(error.contains("ambiguous"), "{error}");

    let error = StreamConfig::from_lookup(lookup(&[
        ("HM_APPLICATION_ID", APP),
        ("HM_MQTT_CERT_PEM", &pki.client.cert_pem),
        ("HM_MQTT_KEY_PEM", &pki.client.key_pem),
        ("HM_MQTT_ENVIRONMENT", "staging"),
    ]))
    .unwrap_err()
    .to_string();
    assert!(
        error.contains("`live` (or `production`) or `sandbox`"),
        "{error}"
    );
}

#[test]
fn certificates_and_keys_are_checked_when_loaded() {
    let pki = TestPki::new();
    let error = ClientIdentity::from_pem("not a certificate", &pki.client.key_pem).unwrap_err();
    assert!(
        matches!(
            error,
            Error::Pem {
                what: "client certificate",
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("BEGIN CERTIFICATE"), "{error}");

    // A key that is not PEM: the error must not quote it.
    let garbage_key =
        "-----BEGIN PRIVATE KEY-----\nc2VjcmV0IGtleSBtYXRlcmlhbA==!!\n-----END PRIVATE KEY-----\n";
    let error = ClientIdentity::from_pem(&pki.client.cert_pem, garbage_key).unwrap_err();
    assert!(error.to_string().contains("private key"), "{error}");
    assert!(
        !format!("{error} {error:?}").contains("c2VjcmV0"),
        "{error:?}"
    );

    // Certificate and key that do not belong together.
    let error = ClientIdentity::from_pem(&pki.client.cert_pem, &pki.stranger.key_pem).unwrap_err();
    assert!(matches!(error, Error::ClientIdentity { .. }), "{error:?}");
    assert!(
        error
            .to_string()
            .contains("the key is the one issued with the certificate"),
        "{error}"
    );
    for line in key_lines(&pki.stranger.key_pem) {
        assert!(!format!("{error:?}").contains(line));
    }

    let error = ClientIdentity::from_pem_files("/nonexistent/cert.pem", "/nonexistent/key.pem")
        .unwrap_err();
    assert!(
        error.to_string().contains("/nonexistent/cert.pem"),
        "{error}"
    );

    let error = CaRoots::from_pem("").unwrap_err();
    assert!(error.to_string().contains("CA certificate"), "{error}");
}

#[test]
fn the_consumer_refuses_settings_that_cannot_work() {
    let pki = TestPki::new();
    let base = || StreamConfig::new(APP.parse::<Uuid>().unwrap(), pki.client.identity());
    let refuse = |config: StreamConfig, expected: &str| {
        let error = Consumer::new(config).unwrap_err().to_string();
        assert!(
            error.contains(expected),
            "expected `{expected}` in: {error}"
        );
    };
    refuse(
        base().share_group("workers"),
        "needs a client id per replica",
    );
    refuse(base().client_id("a").share_group("a/b"), "must not contain");
    refuse(base().broker_url("mqtt://broker:1883"), "use mqtts://");
    refuse(
        base().broker_url("mqtts://user:secret@broker"),
        "must not contain user info",
    );
    refuse(base().max_in_flight(0), "max_in_flight");
    refuse(base().max_in_flight(70_000), "max_in_flight");
    refuse(base().concurrency(0), "concurrency");
    refuse(base().concurrency(usize::MAX), "concurrency");
    refuse(base().max_message_bytes(0), "max_message_bytes");
    refuse(
        base().max_message_bytes(256 * 1024 * 1024),
        "max_message_bytes",
    );
    refuse(
        base().client_id("a").leave_share_groups(["old", "x/y"]),
        "must not contain",
    );
    refuse(base().broker_url("mqtts://broker:0"), "port 0");
    refuse(base().keep_alive(Duration::from_millis(10)), "keep_alive");
    refuse(
        base().reconnect_backoff(Duration::from_secs(2), Duration::from_secs(1)),
        "reconnect_backoff",
    );
    refuse(base().client_id(""), "client id");
    // Extremes that work: more handlers than messages in hand (only max_in_flight run), waiting
    // forever for handlers at shutdown, the longest backoff.
    Consumer::new(
        base()
            .max_in_flight(4)
            .concurrency(100)
            .shutdown_timeout(Duration::MAX)
            .reconnect_backoff(Duration::MAX, Duration::MAX),
    )
    .unwrap();
    // Defaults: High Mobility's broker, the system's CA store.
    let config = base();
    assert_eq!(config.topic(), format!("sandbox/level13/{APP}"));
    Consumer::new(config.environment(DataEnvironment::Live)).unwrap();
}

#[test]
fn share_groups_to_leave_come_from_the_environment_too() {
    let pki = TestPki::new();
    let config = |groups: &str| {
        StreamConfig::from_lookup(lookup(&[
            ("HM_APPLICATION_ID", APP),
            ("HM_MQTT_CERT_PEM", &pki.client.cert_pem),
            ("HM_MQTT_KEY_PEM", &pki.client.key_pem),
            ("HM_MQTT_CLIENT_ID", "ingest-0"),
            ("HM_MQTT_SHARE_GROUP", "ingest-v2"),
            ("HM_MQTT_LEAVE_SHARE_GROUPS", groups),
        ]))
        .unwrap()
    };
    let text = format!("{:?}", config("ingest, ingest-old"));
    assert!(
        text.contains(r#"leave_share_groups: ["ingest", "ingest-old"]"#),
        "{text}"
    );
    let error = Consumer::new(config("ingest,a+b")).unwrap_err().to_string();
    assert!(error.contains("`a+b`"), "{error}");
}

#[test]
fn debug_output_shows_no_key_material() {
    let pki = TestPki::new();
    let identity = pki.client.identity();
    let config = StreamConfig::new(APP.parse().unwrap(), identity.clone())
        .ca_roots(CaRoots::from_pem(&pki.ca_pem).unwrap());
    let consumer = Consumer::new(config.clone()).unwrap();
    let text = format!("{identity:?} {config:?} {consumer:?}");
    assert!(text.contains("[REDACTED]") && text.contains(APP), "{text}");
    for line in key_lines(&pki.client.key_pem)
        .into_iter()
        .chain(key_lines(&pki.client.cert_pem))
    {
        assert!(
            !text.contains(line),
            "key or certificate material in Debug output: {text}"
        );
    }
}
