//! `hm demo`: the whole flow against an embedded emulator, with a key pair generated on the spot,
//! ending with the approved vehicles' data streamed over MQTT.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use hm_api::fleet_clearance::types::ClearanceStatus;
use hm_auth::{Credentials, Environment, RetryPolicy};
use hm_emulator::mqtt::application_id;
use hm_emulator::webhooks::WebhookConfig;
use hm_emulator::{
    DEMO_CLIENT_ID, DEMO_VIN_APPROVED, DEMO_VIN_MERCEDES, DEMO_VIN_NOT_ELIGIBLE, DEMO_VIN_REJECTED,
    Emulator, EmulatorConfig, EmulatorHandle, MqttEnvironment,
};
use hm_stream::{CaRoots, ClientIdentity, Consumer, DataEnvironment, Delivery, StreamConfig};
use hm_webhooks::WebhookSecret;
use p256::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use serde_json::{Value, json};
use std::net::IpAddr;
use tokio::sync::{mpsc, oneshot};

use crate::api::Session;
use crate::cli::DemoArgs;
use crate::commands::{clearance, eligibility, stream, vehicle_data, webhooks};
use crate::error::CliError;
use crate::output::{out, print_json};

/// The demo's vehicles: VIN and brand (clearance spelling).
const VEHICLES: [(&str, &str); 4] = [
    (DEMO_VIN_APPROVED, "sandbox"),
    (DEMO_VIN_MERCEDES, "mercedes-benz"),
    (DEMO_VIN_REJECTED, "bmw"),
    (DEMO_VIN_NOT_ELIGIBLE, "ford"),
];

/// Seconds the emulator takes to decide a clearance in the demo.
const CLEARANCE_DELAY_SECS: u64 = 2;

/// How long the demo waits for a webhook before it polls instead.
const WEBHOOK_FALLBACK: Duration = Duration::from_secs(10);

/// A fresh P-256 key pair as PEM: (PKCS#8 private key, SPKI public key).
pub fn generate_key_pair() -> Result<(String, String), CliError> {
    let secret =
        <p256::SecretKey as p256::elliptic_curve::Generate>::generate_from_rng(&mut rand::rng());
    let private = secret
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| CliError::Other(format!("cannot encode the demo key: {e}")))?
        .to_string();
    let public = secret
        .public_key()
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| CliError::Other(format!("cannot encode the demo public key: {e}")))?;
    Ok((private, public))
}

fn step(json: bool, text: &str) -> Result<(), CliError> {
    if json {
        Ok(())
    } else {
        out(&format!("\n{text}\n"))
    }
}

/// Runs `hm demo`.
pub async fn run(args: &DemoArgs, json: bool) -> Result<(), CliError> {
    let started = Instant::now();
    if !json {
        out(
            "hm demo: the whole flow against an embedded High Mobility emulator (no account, no network).\n",
        )?;
    }
    let mut config = EmulatorConfig::demo();
    config.mqtt.enabled = true;
    for vehicle in &mut config.vehicles {
        vehicle.clearance_delay_secs = CLEARANCE_DELAY_SECS;
    }
    let emulator = Emulator::start(config)
        .await
        .map_err(|e| CliError::Other(format!("cannot start the embedded emulator: {e}")))?;
    let base = emulator.base_url().to_owned();
    step(json, &format!("1. Started the emulator at {base}"))?;

    let (private_pem, public_pem) = generate_key_pair()?;
    let key_id = format!("hm-cli-demo-{:016x}", rand::random::<u64>());
    emulator
        .register_key(DEMO_CLIENT_ID, &key_id, &public_pem)
        .map_err(|e| CliError::Other(format!("cannot register the demo key: {e}")))?;
    step(
        json,
        &format!(
            "2. Generated a P-256 key pair; registered its public key as `{key_id}` for application `{DEMO_CLIENT_ID}`"
        ),
    )?;

    let credentials = Credentials::private_key_pem(DEMO_CLIENT_ID, key_id.clone(), &private_pem)?;
    let environment = Environment::custom(&base)?;
    let session = Session::new(
        credentials,
        environment,
        args.timeout,
        RetryPolicy::default(),
    )?;
    let token = session.authenticate().await?;
    step(
        json,
        &format!(
            "3. Obtained an access token with a signed JWT client assertion: valid {} s, scopes: {}",
            token.expires_in().as_secs(),
            token.scopes().join(" ")
        ),
    )?;

    step(json, "4. Eligibility of four vehicles:")?;
    let mut checks = Vec::new();
    for (vin, brand) in VEHICLES {
        checks.push(eligibility::check(&session, vin, brand).await?);
    }
    if !json {
        out(&indent(&eligibility::table(&checks).render()))?;
    }

    let eligible: Vec<(String, String)> = VEHICLES
        .iter()
        .filter(|(vin, _)| checks.iter().any(|c| c.vin == *vin && c.eligible))
        .map(|(vin, brand)| ((*vin).to_owned(), (*brand).to_owned()))
        .collect();
    let vins: Vec<String> = eligible.iter().map(|(vin, _)| vin.clone()).collect();
    // The decisions come as signed webhooks, as in production; polling only if none arrives.
    let webhook_secret = format!("hm-demo-{:032x}", rand::random::<u128>());
    let mut receiver = webhooks::Receiver::start(
        IpAddr::from([127, 0, 0, 1]),
        0,
        WebhookSecret::new(webhook_secret.as_str())
            .map_err(|e| CliError::Other(format!("demo webhook secret: {e}")))?,
        None,
    )
    .await?;
    emulator
        .webhooks()
        .subscribe(WebhookConfig::new(receiver.url(), webhook_secret))
        .map_err(|e| CliError::Other(format!("cannot register the demo webhook: {e}")))?;
    step(
        json,
        &format!(
            "5. Requested clearance for the eligible ones ({}); the decisions arrive as signed webhooks at {}:",
            vins.join(", "),
            receiver.url()
        ),
    )?;
    let tags = BTreeMap::from([("source".to_owned(), "hm-demo".to_owned())]);
    clearance::request(&session, &eligible, &tags).await?;
    let (outcome, learned) =
        webhooks::wait(&session, &vins, WEBHOOK_FALLBACK, json, &mut receiver).await?;
    if outcome.timed_out || outcome.failure.is_some() {
        return outcome.result(args.timeout);
    }
    if !json {
        out(&indent(&clearance::table(&outcome.clearances).render()))?;
        out(&format!(
            "   {} decision(s) learned from webhooks, {} poll(s) of the clearance list.\n",
            learned.from_webhooks, learned.polls
        ))?;
    }

    step(json, "6. Vehicle data of the approved vehicles:")?;
    let mut documents = Vec::new();
    for item in outcome
        .clearances
        .iter()
        .filter(|c| c.item.status == ClearanceStatus::Approved)
    {
        let (doc, raw) = vehicle_data::fetch(&session, &item.item.vin).await?;
        if !json {
            out(&vehicle_data::summary_text(&doc, chrono::Utc::now(), 3))?;
        }
        documents.push(
            serde_json::from_slice::<Value>(&raw)
                .map_err(|e| CliError::Other(format!("demo vehicle data: {e}")))?,
        );
    }

    let approved = documents.len();
    step(
        json,
        &format!(
            "7. The same vehicles' data pushed over MQTT ({}), received with hm-stream through \
             mutual TLS and acknowledged:",
            emulator.mqtt().map_or("-", |m| m.url())
        ),
    )?;
    let messages = streamed(&emulator, approved, args.timeout).await?;
    if !json {
        for message in &messages {
            out(&indent(&streamed_text(message)))?;
        }
    }

    let elapsed = started.elapsed();
    if json {
        return print_json(&json!({
            "emulator": base,
            "key_id": key_id,
            "token": { "expires_in_secs": token.expires_in().as_secs(), "scopes": token.scopes() },
            "eligibility": checks,
            "clearances": outcome.clearances.iter().map(|c| &c.doc).collect::<Vec<_>>(),
            "learned": { "from_webhooks": learned.from_webhooks, "polls": learned.polls },
            "vehicle_data": documents,
            "streamed": messages.iter().map(|m| json!({
                "message_id": m.message_id,
                "vin": m.vin,
                "values": m.data.values().count(),
            })).collect::<Vec<_>>(),
            "elapsed_secs": elapsed.as_secs_f64(),
        }));
    }
    out(&format!(
        "\nDone in {:.1} s. Next: run `hm emulator serve` and try the commands of the README against it (`hm stream` too),\n\
         or use your own application with --client-id and --client-secret-file / --key-file (sandbox by default).\n",
        elapsed.as_secs_f64()
    ))
}

/// The next `expected` messages of the emulator's MQTT stream: hm-stream's consumer with the
/// emulator's demo client certificate subscribes, then the emulator's clock is moved one publishing
/// interval ahead (rather than waiting for it), so each approved vehicle's data is published once.
async fn streamed(
    emulator: &EmulatorHandle,
    expected: usize,
    limit: Duration,
) -> Result<Vec<Delivery>, CliError> {
    let mqtt = emulator
        .mqtt()
        .ok_or_else(|| CliError::Other("the demo emulator runs no MQTT broker".into()))?;
    let tls = mqtt.tls();
    let identity = ClientIdentity::from_pem_files(tls.client_cert(), tls.client_key())
        .map_err(stream::stream_error)?;
    let environment = match emulator.config().mqtt.environment {
        MqttEnvironment::Live => DataEnvironment::Live,
        MqttEnvironment::Sandbox => DataEnvironment::Sandbox,
    };
    let config = StreamConfig::new(application_id(DEMO_CLIENT_ID), identity)
        .environment(environment)
        .broker_url(mqtt.url())
        .ca_roots(CaRoots::from_pem_file(tls.ca_cert()).map_err(stream::stream_error)?)
        .client_id("hm-demo");
    let consumer = Consumer::new(config).map_err(stream::stream_error)?;
    let stats = consumer.stats();
    let (sender, mut received) = mpsc::unbounded_channel();
    let (stop, stopped) = oneshot::channel::<()>();
    let mut running = tokio::spawn(consumer.run_until(
        move |delivery: Delivery| {
            let _ = sender.send(delivery);
            async { Ok::<_, std::convert::Infallible>(()) }
        },
        async {
            let _ = stopped.await;
        },
    ));
    let receive = async {
        while stats.snapshot().subscriptions == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        emulator.advance(emulator.config().mqtt.publish_interval());
        let mut messages = Vec::new();
        while messages.len() < expected {
            match received.recv().await {
                Some(message) => messages.push(message),
                None => break,
            }
        }
        messages
    };
    let messages = tokio::select! {
        messages = tokio::time::timeout(limit, receive) => messages.map_err(|_| {
            CliError::Other(format!(
                "the demo's MQTT stream brought no data within {}",
                crate::output::duration_text(limit)
            ))
        })?,
        // The consumer stopped by itself: an error that says what failed.
        stopped = &mut running => {
            return Err(match stopped {
                Ok(Err(error)) => stream::stream_error(error),
                _ => CliError::Other("the demo's MQTT consumer stopped".into()),
            });
        }
    };
    let _ = stop.send(());
    match running.await {
        Ok(Ok(())) => Ok(messages),
        Ok(Err(error)) => Err(stream::stream_error(error)),
        Err(error) => Err(CliError::Other(format!(
            "the demo's MQTT consumer failed: {error}"
        ))),
    }
}

/// A streamed message for the demo: its id, how many values it carries, the headline ones.
fn streamed_text(message: &Delivery) -> String {
    const HEADLINE: [(&str, &str); 3] = [
        ("diagnostics", "odometer"),
        ("charging", "battery_level"),
        ("vehicle_location", "coordinates"),
    ];
    let mut text = format!(
        "message {} for {}: {} values, among them\n",
        crate::scrub::escape_field(&message.message_id),
        crate::scrub::escape_field(&message.vin),
        message.data.values().count()
    );
    for (capability, property) in HEADLINE {
        for value in message.data.property(capability, property) {
            text.push_str("  ");
            text.push_str(&stream::human_line(
                &message.vin,
                capability,
                property,
                value,
            ));
            text.push('\n');
        }
    }
    text
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("   {l}\n")).collect()
}
