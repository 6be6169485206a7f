//! `hm stream`: the application's MQTT V2 vehicle-data stream through hm-stream's consumer, one
//! line per property value.
//!
//! Messages are handled one at a time, in the order received, and each is acknowledged only once
//! its lines were written; with `--count N` the consumer stops after the N-th, so exactly the
//! printed messages are acknowledged and the rest stay queued in the broker's session.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hm_stream::{
    BadMessage, Consumer, DEFAULT_BROKER_URL, Delivery, ENV_APPLICATION_ID, ENV_MQTT_CA_FILE,
    ENV_MQTT_CA_PEM, ENV_MQTT_CERT_FILE, ENV_MQTT_CERT_PEM, ENV_MQTT_CLIENT_ID,
    ENV_MQTT_ENVIRONMENT, ENV_MQTT_KEY_FILE, ENV_MQTT_KEY_PEM, ENV_MQTT_SHARE_GROUP, ENV_MQTT_URL,
    Property, Stats, StreamConfig,
};
use serde::Serialize;
use serde_json::Value;
use serde_json::value::RawValue;
use tokio::sync::Notify;

use crate::cli::StreamArgs;
use crate::error::{CliError, EXIT_API, EXIT_AUTH, EXIT_FAILURE, EXIT_UNREACHABLE, NetFailure};
use crate::output::{human_value, out, out_json};
use crate::scrub::{escape_field, escape_json};

/// Messages larger than this are reported and skipped, not printed (hm-stream's default limit).
pub const MAX_PRINTED_BYTES: usize = 1024 * 1024;

/// The longest `message_id` or VIN printed: both are repeated on every value's line, so longer
/// ones would multiply the output (a real message id is a UUID, a VIN 17 characters). Such a
/// message is reported (its id cut to [`SHOWN_ID_CHARS`]) and skipped.
pub const MAX_ID_BYTES: usize = 256;

/// How much of an over-long `message_id` a warning shows.
const SHOWN_ID_CHARS: usize = 64;

/// What the consumer reads at most: larger messages stop it (they cannot be acknowledged unread),
/// smaller ones above [`MAX_PRINTED_BYTES`] are reported and skipped.
const MAX_READ_BYTES: usize = 64 * 1024 * 1024;

/// Messages received ahead of the one being printed; with [`MAX_READ_BYTES`], bounds memory.
const MAX_IN_FLIGHT: usize = 8;

/// How often the start-up watch looks whether the broker accepted the subscription.
const SUBSCRIBED_POLL: Duration = Duration::from_millis(20);

/// Runs `hm stream`.
pub async fn run(args: &StreamArgs, json: bool) -> Result<(), CliError> {
    let lookup = lookup(args);
    let config = config(&lookup)?;
    let url = lookup(ENV_MQTT_URL).unwrap_or_else(|| DEFAULT_BROKER_URL.to_owned());
    let topic = config.subscription();
    let client_id = config.effective_client_id();
    let consumer = Consumer::new(config).map_err(stream_error)?;
    probe(&url, args.timeout).await?;

    let stats = consumer.stats();
    let printed = Arc::new(AtomicU64::new(0));
    let enough = Arc::new(Notify::new());
    let count = args.count;
    let handler = {
        let (printed, enough) = (printed.clone(), enough.clone());
        move |delivery: Delivery| {
            let result = print_message(&delivery, json, count, &printed, &enough);
            async move { result }
        }
    };
    let mut stopped_by = None;
    let shutdown = async {
        stopped_by = Some(tokio::select! {
            _ = tokio::signal::ctrl_c() => Stop::Interrupted,
            () = enough.notified() => Stop::Count,
            () = subscribed(&stats, args.timeout, json, &url, &topic, &client_id) => Stop::NoSubscription,
        });
    };
    let outcome = consumer
        .dead_letter(move |bad: BadMessage| {
            report_bad(&bad, json);
            async { Ok::<_, std::convert::Infallible>(()) }
        })
        .run_until(handler, shutdown)
        .await;
    match outcome {
        Ok(()) if stopped_by == Some(Stop::NoSubscription) => Err(CliError::Stream {
            kind: "deadline",
            code: EXIT_UNREACHABLE,
            message: format!(
                "the MQTT broker {url} did not accept the subscription to {topic} within {} \
                 ({} connection attempt(s) failed)",
                crate::output::duration_text(args.timeout),
                stats.snapshot().connection_losses
            ),
            hint: Some(
                "run with -v to see each attempt; check --mqtt-url, the network, and that MQTT \
                 V2 streaming is enabled for the application"
                    .into(),
            ),
        }),
        Ok(()) => Ok(()),
        Err(hm_stream::Error::Handler { source, .. }) => match source.downcast::<CliError>() {
            Ok(error) => Err(*error),
            // The count was reached while the next message was in hand: it stays unacknowledged.
            Err(source) if source.is::<Enough>() => Ok(()),
            Err(source) => Err(CliError::Other(source.to_string())),
        },
        Err(error) => Err(stream_error(error)),
    }
}

/// Why the consumer was asked to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    Interrupted,
    Count,
    NoSubscription,
}

/// Returned by the handler for a message beyond `--count`, so that it is not acknowledged.
#[derive(Debug, thiserror::Error)]
#[error("--count reached")]
struct Enough;

/// Prints one message, unless `--count` messages were printed already.
fn print_message(
    delivery: &Delivery,
    json: bool,
    count: Option<u64>,
    printed: &AtomicU64,
    enough: &Notify,
) -> Result<(), hm_stream::BoxError> {
    if let Some(problem) = oversized(delivery).or_else(|| overlong_ids(delivery)) {
        warn(json, &problem, Some(&delivery.message_id));
        return Ok(());
    }
    // Messages are handled one at a time: no other handler runs between the check and the print.
    let so_far = printed.load(Ordering::SeqCst);
    if count.is_some_and(|count| so_far >= count) {
        return Err(Enough.into());
    }
    let text = message_text(delivery, json);
    if json { out_json(&text) } else { out(&text) }?;
    printed.store(so_far + 1, Ordering::SeqCst);
    if count == Some(so_far + 1) {
        enough.notify_one();
    }
    Ok(())
}

/// What is wrong with a message too large to print.
fn oversized(delivery: &Delivery) -> Option<String> {
    (delivery.payload.len() > MAX_PRINTED_BYTES).then(|| {
        format!(
            "message {} of {} bytes is larger than {} MiB: acknowledged and skipped",
            shown_id(&delivery.message_id),
            delivery.payload.len(),
            MAX_PRINTED_BYTES >> 20
        )
    })
}

/// What is wrong with a message whose `message_id` or VIN is longer than [`MAX_ID_BYTES`].
fn overlong_ids(delivery: &Delivery) -> Option<String> {
    let (id, vin) = (delivery.message_id.len(), delivery.vin.len());
    (id > MAX_ID_BYTES || vin > MAX_ID_BYTES).then(|| {
        format!(
            "message {} has a message_id of {id} bytes and a VIN of {vin} bytes, longer than \
             {MAX_ID_BYTES}: acknowledged and skipped",
            shown_id(&delivery.message_id)
        )
    })
}

/// A `message_id` as warnings show it: whole up to [`MAX_ID_BYTES`], else its first
/// [`SHOWN_ID_CHARS`] characters and its length.
fn shown_id(id: &str) -> String {
    if id.len() <= MAX_ID_BYTES {
        return id.to_owned();
    }
    let start: String = id.chars().take(SHOWN_ID_CHARS).collect();
    format!("{start}... ({} bytes)", id.len())
}

/// Every value of a message: one human line or one JSON object per line.
pub fn message_text(delivery: &Delivery, json: bool) -> String {
    let mut text = String::new();
    for (capability, property, value) in delivery.data.values() {
        if json {
            text.push_str(&json_line(delivery, capability, property, value));
        } else {
            text.push_str(&human_line(&delivery.vin, capability, property, value));
        }
        text.push('\n');
    }
    text
}

/// `VIN  capability.property  value  timestamp`, each field escaped on its own (a line break or
/// a bidi override in one cannot forge or disguise a line).
pub fn human_line(vin: &str, capability: &str, property: &str, value: &Property) -> String {
    format!(
        "{}  {}.{}  {}  {}",
        escape_field(vin),
        escape_field(capability),
        escape_field(property),
        escape_field(&value_text(property, value)),
        value.timestamp.map_or_else(
            || "-".to_owned(),
            |t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
        )
    )
}

/// The value for people: `2050 kilometers`, `unavailable (rate_limit) ...`, `-` when empty.
pub fn value_text(property: &str, value: &Property) -> String {
    if let Some(failure) = &value.failure {
        return format!("unavailable ({}) {}", failure.reason, failure.description)
            .trim_end()
            .to_owned();
    }
    match value.data_as::<Value>() {
        Some(Ok(data)) => human_value(property, &data),
        Some(Err(_)) | None => "-".to_owned(),
    }
}

/// One value as a JSON line: the stable fields documented in the README.
#[derive(Serialize)]
struct JsonLine<'a> {
    message_id: &'a str,
    vin: &'a str,
    capability: &'a str,
    property: &'a str,
    /// The value's `data` as received.
    data: Option<&'a RawValue>,
    timestamp: Option<String>,
    failure: Option<&'a hm_stream::Failure>,
}

fn json_line(delivery: &Delivery, capability: &str, property: &str, value: &Property) -> String {
    let line = JsonLine {
        message_id: &delivery.message_id,
        vin: &delivery.vin,
        capability,
        property,
        data: value.data.as_deref(),
        timestamp: value
            .timestamp
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)),
        failure: value.failure.as_ref(),
    };
    serde_json::to_string(&line).unwrap_or_else(|e| {
        serde_json::json!({ "message_id": delivery.message_id, "error": e.to_string() }).to_string()
    })
}

/// A bad message on stderr, with its `message_id` when it has one; it is then acknowledged.
fn report_bad(bad: &BadMessage, json: bool) {
    warn(json, &bad_text(bad), bad.message_id.as_deref());
}

fn bad_text(bad: &BadMessage) -> String {
    format!(
        "bad message {} on {} ({} bytes): {}; acknowledged and skipped",
        bad.message_id
            .as_deref()
            .map_or_else(|| "(without message_id)".to_owned(), shown_id),
        bad.topic,
        bad.payload.len(),
        bad.problem
    )
}

/// A warning on stderr: one line, or one JSON object with `--json` (its `message_id` shortened
/// like in the message).
fn warn(json: bool, message: &str, message_id: Option<&str>) {
    if json {
        let warning = serde_json::json!({
            "warning": { "message": message, "message_id": message_id.map(shown_id) }
        });
        eprintln!("{}", escape_json(&warning.to_string()));
    } else {
        eprintln!("warning: {}", escape_field(message));
    }
}

/// Completes only if the broker has not accepted the subscription within `limit`; once it has,
/// says so on stderr and never completes.
async fn subscribed(
    stats: &Stats,
    limit: Duration,
    json: bool,
    url: &str,
    topic: &str,
    client_id: &str,
) {
    let deadline = tokio::time::Instant::now() + limit;
    while stats.snapshot().subscriptions == 0 {
        if tokio::time::Instant::now() >= deadline {
            return;
        }
        tokio::time::sleep(SUBSCRIBED_POLL).await;
    }
    if json {
        eprintln!(
            "{}",
            serde_json::json!({ "subscribed": { "broker": url, "topic": topic, "client_id": client_id } })
        );
    } else {
        eprintln!("receiving {topic} from {url} as {client_id} (ctrl-c stops)");
    }
    std::future::pending::<()>().await;
}

/// Each setting from its flag, else from hm-stream's environment variable. A flag giving a file
/// hides the variable with the PEM text, so that the flag wins instead of being ambiguous.
fn lookup(args: &StreamArgs) -> impl Fn(&str) -> Option<String> + use<> {
    let flags = [
        (ENV_APPLICATION_ID, args.application_id.clone()),
        (ENV_MQTT_CERT_FILE, args.cert.clone()),
        (ENV_MQTT_KEY_FILE, args.key.clone()),
        (ENV_MQTT_CA_FILE, args.ca.clone()),
        (ENV_MQTT_URL, args.mqtt_url.clone()),
        (ENV_MQTT_ENVIRONMENT, args.mqtt_env.clone()),
        (ENV_MQTT_CLIENT_ID, args.mqtt_client_id.clone()),
        (ENV_MQTT_SHARE_GROUP, args.share.clone()),
    ];
    let hidden: Vec<&str> = [
        (ENV_MQTT_CERT_PEM, &args.cert),
        (ENV_MQTT_KEY_PEM, &args.key),
        (ENV_MQTT_CA_PEM, &args.ca),
    ]
    .into_iter()
    .filter(|(_, flag)| flag.is_some())
    .map(|(name, _)| name)
    .collect();
    move |name: &str| {
        if hidden.contains(&name) {
            return None;
        }
        match flags.iter().find(|(flag, _)| *flag == name) {
            Some((_, Some(value))) => Some(value.clone()),
            _ => std::env::var(name).ok(),
        }
        .filter(|value| !value.trim().is_empty())
    }
}

/// The consumer's configuration, each missing piece named with its flag and variable.
fn config(lookup: &impl Fn(&str) -> Option<String>) -> Result<StreamConfig, CliError> {
    let missing = [
        (
            ENV_APPLICATION_ID,
            None,
            "the application id is missing: give --application-id UUID or set HM_APPLICATION_ID \
             (the application's UUID from the High Mobility console)",
        ),
        (
            ENV_MQTT_CERT_FILE,
            Some(ENV_MQTT_CERT_PEM),
            "the MQTT client certificate is missing: give --cert FILE or set HM_MQTT_CERT_FILE \
             (the console's API Credentials > Streaming > MQTT V2)",
        ),
        (
            ENV_MQTT_KEY_FILE,
            Some(ENV_MQTT_KEY_PEM),
            "the client certificate's private key is missing: give --key FILE or set \
             HM_MQTT_KEY_FILE",
        ),
    ];
    for (name, alternative, message) in missing {
        if lookup(name).is_none() && alternative.and_then(lookup).is_none() {
            return Err(CliError::Usage(format!(
                "{message}; `hm emulator serve` prints the settings of its own broker"
            )));
        }
    }
    if lookup(ENV_MQTT_SHARE_GROUP).is_some() && lookup(ENV_MQTT_CLIENT_ID).is_none() {
        return Err(CliError::Usage(
            "--share needs --mqtt-client-id (or HM_MQTT_CLIENT_ID): each member of a share group \
             needs its own stable client id, under which the broker keeps its share"
                .into(),
        ));
    }
    let config = StreamConfig::from_lookup(lookup).map_err(stream_error)?;
    let config = if lookup(ENV_MQTT_CLIENT_ID).is_none() {
        // A session of its own: the CLI never takes over the session of a service that uses
        // hm-stream's default client id (the broker would disconnect the service).
        let application_id = config
            .topic()
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        config.client_id(format!("hm-cli-{application_id}"))
    } else {
        config
    };
    Ok(config
        .concurrency(1)
        .max_in_flight(MAX_IN_FLIGHT)
        .max_message_bytes(MAX_READ_BYTES))
}

/// Connects to the broker's address once, so that a wrong host or port is one clear error now
/// rather than reconnection attempts until `--timeout`.
async fn probe(url: &str, limit: Duration) -> Result<(), CliError> {
    let network = |failure, detail: String| CliError::Stream {
        kind: failure_kind(failure),
        code: EXIT_UNREACHABLE,
        message: format!("cannot reach the MQTT broker {url}: {detail}"),
        hint: Some(
            match failure {
                NetFailure::Dns => {
                    "check the host in --mqtt-url (HM_MQTT_URL) and the network's DNS"
                }
                NetFailure::Refused => {
                    "check --mqtt-url (HM_MQTT_URL): is the port right, does the broker run? \
                 `hm emulator serve` prints its broker's URL"
                }
                _ => "check --mqtt-url (HM_MQTT_URL), the network and any firewall",
            }
            .into(),
        ),
    };
    // The URL was checked by hm-stream: mqtts://host[:port].
    let Ok(parsed) = reqwest::Url::parse(url) else {
        return Ok(());
    };
    let Some(host) = parsed.host_str() else {
        return Ok(());
    };
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = parsed.port().unwrap_or(8883);
    let connect = async {
        let addrs: Vec<_> = tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|e| {
                network(
                    NetFailure::Dns,
                    format!("the host name does not resolve ({e})"),
                )
            })?
            .collect();
        tokio::net::TcpStream::connect(&addrs[..])
            .await
            .map_err(|e| {
                if e.kind() == std::io::ErrorKind::ConnectionRefused {
                    network(
                        NetFailure::Refused,
                        "connection refused: nothing listens there".into(),
                    )
                } else {
                    network(NetFailure::Connect, e.to_string())
                }
            })
    };
    match tokio::time::timeout(limit, connect).await {
        Ok(Ok(_connection)) => Ok(()),
        Ok(Err(error)) => Err(error),
        Err(_) => Err(network(
            NetFailure::ConnectTimeout,
            format!(
                "no connection within {}",
                crate::output::duration_text(limit)
            ),
        )),
    }
}

fn failure_kind(failure: NetFailure) -> &'static str {
    match failure {
        NetFailure::Dns => "dns",
        NetFailure::Refused => "connection_refused",
        NetFailure::ConnectTimeout => "connect_timeout",
        _ => "connect",
    }
}

/// hm-stream's error as the CLI reports it; its message already names the failure and the remedy
/// (and never holds key material).
pub fn stream_error(error: hm_stream::Error) -> CliError {
    use hm_stream::Error as E;
    let stream = |kind, code, hint: Option<&str>| CliError::Stream {
        kind,
        code,
        message: error.to_string(),
        hint: hint.map(str::to_owned),
    };
    match &error {
        E::Environment { problem } => CliError::Usage(format!(
            "{problem}; see `hm stream --help` for the flags and variables"
        )),
        E::InvalidConfig { .. } => CliError::Usage(error.to_string()),
        E::ReadFile { .. }
        | E::FileTooLarge { .. }
        | E::PemAsPath { .. }
        | E::Pem { .. }
        | E::ClientIdentity { .. }
        | E::NoCaRoots { .. } => stream(
            "bad_local_input",
            EXIT_AUTH,
            Some(
                "give the files with --cert, --key and --ca (or HM_MQTT_CERT_FILE, HM_MQTT_KEY_FILE, HM_MQTT_CA_FILE)",
            ),
        ),
        E::Connect { remedy, .. } if remedy.contains("client certificate") => {
            stream("credentials_refused", EXIT_AUTH, None)
        }
        E::Connect { .. } => stream(
            "connect",
            EXIT_UNREACHABLE,
            Some("a broker with its own CA (such as `hm emulator serve`) needs it with --ca FILE"),
        ),
        E::SubscriptionRefused { .. } | E::SubscriptionDowngraded { .. } => {
            stream("subscription_refused", EXIT_API, None)
        }
        E::MessageTooLarge { .. } => stream(
            "message_too_large",
            EXIT_API,
            Some(
                "hm stream reads messages of up to 64 MiB; consume this one with hm-stream and a higher max_message_bytes",
            ),
        ),
        _ => stream("internal", EXIT_FAILURE, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MESSAGE: &str = r#"{"version": 2, "message_id": "m-1", "application_id": "48aa1779-91c2-468e-97e9-ab112efd53b9",
        "vin": "EXVETESTVIN000001", "data": {
            "diagnostics": {"odometer": [{"data": {"value": 2050, "unit": "kilometers"}, "timestamp": "2021-10-06T13:59:25.648Z"}],
                            "speed": [{"failure": {"reason": "rate_limit", "description": "later"}}]},
            "race": {"gear_mode": [{"data": "park\u001b[2J", "timestamp": "2021-10-06T13:59:25Z"}]}}}"#;

    fn delivery() -> Delivery {
        Delivery {
            message: serde_json::from_str(MESSAGE).expect("message"),
            topic: "live/level13/x".into(),
            payload: bytes::Bytes::from_static(MESSAGE.as_bytes()),
            redelivered: false,
        }
    }

    #[test]
    fn one_readable_line_per_value() {
        let text = message_text(&delivery(), false);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "EXVETESTVIN000001  diagnostics.odometer  2050 kilometers  2021-10-06T13:59:25.648Z",
                "EXVETESTVIN000001  diagnostics.speed  unavailable (rate_limit) later  -",
                "EXVETESTVIN000001  race.gear_mode  park\\u{1b}[2J  2021-10-06T13:59:25Z",
            ]
        );
        // Each field is escaped on its own: a VIN's line break cannot start a line.
        let vin = "VIN1\nFORGED\u{202e}";
        let value = &delivery().data.values().next().expect("a value").2.clone();
        assert_eq!(
            human_line(vin, "diagnostics", "odometer", value),
            "VIN1\\nFORGED\\u{202e}  diagnostics.odometer  2050 kilometers  2021-10-06T13:59:25.648Z"
        );
    }

    #[test]
    fn json_lines_have_the_documented_fields() {
        let text = message_text(&delivery(), true);
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("one object per line"))
            .collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(
            lines[0],
            serde_json::json!({
                "message_id": "m-1", "vin": "EXVETESTVIN000001", "capability": "diagnostics",
                "property": "odometer", "data": {"value": 2050, "unit": "kilometers"},
                "timestamp": "2021-10-06T13:59:25.648Z", "failure": null,
            })
        );
        assert_eq!(lines[1]["failure"]["reason"], "rate_limit");
        assert_eq!(lines[1]["data"], Value::Null);
    }

    #[test]
    fn bad_and_oversized_messages_are_named_by_their_message_id() {
        let bad = BadMessage {
            message_id: Some("m-7".into()),
            topic: "live/level13/x".into(),
            payload: bytes::Bytes::from_static(b"{\"message_id\": \"m-7\"}"),
            problem: hm_stream::Problem::SchemaMismatch {
                detail: "missing field `vin`".into(),
            },
        };
        assert_eq!(
            bad_text(&bad),
            "bad message m-7 on live/level13/x (21 bytes): does not match the MQTT V2 message \
             schema: missing field `vin`; acknowledged and skipped"
        );

        let mut large = delivery();
        assert_eq!(oversized(&large), None);
        large.payload = bytes::Bytes::from(vec![b' '; MAX_PRINTED_BYTES + 1]);
        let problem = oversized(&large).expect("oversized");
        assert!(
            problem.starts_with("message m-1 of 1048577 bytes"),
            "{problem}"
        );
        let mut long = delivery();
        long.message.message_id = "I".repeat(MAX_ID_BYTES + 1);
        let problem = overlong_ids(&long).expect("over-long message_id");
        assert!(
            problem.starts_with(&format!(
                "message {}... (257 bytes) has a message_id of 257 bytes",
                "I".repeat(SHOWN_ID_CHARS)
            )),
            "{problem}"
        );
        long.message.message_id = "m-1".into();
        long.message.vin = "V".repeat(MAX_ID_BYTES + 1);
        assert!(overlong_ids(&long).is_some());
        let (printed, enough) = (AtomicU64::new(0), Notify::new());
        print_message(&long, true, Some(1), &printed, &enough).expect("skipped");
        assert_eq!(printed.load(Ordering::SeqCst), 0);

        // Skipped (and so acknowledged), not printed, not counted.
        let (printed, enough) = (AtomicU64::new(0), Notify::new());
        print_message(&large, true, Some(1), &printed, &enough).expect("skipped");
        assert_eq!(printed.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn count_stops_printing_without_acknowledging_the_next_message() {
        let (printed, enough) = (AtomicU64::new(0), Notify::new());
        let message = delivery();
        print_message(&message, true, Some(1), &printed, &enough).expect("first is printed");
        let refused = print_message(&message, true, Some(1), &printed, &enough)
            .expect_err("the second is refused");
        assert!(refused.is::<Enough>());
        assert_eq!(printed.load(Ordering::SeqCst), 1);
    }
}
