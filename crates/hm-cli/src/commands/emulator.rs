//! `hm emulator serve`: run the local emulator, with its MQTT broker, until ctrl-c.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use hm_emulator::mqtt::application_id;
use hm_emulator::webhooks::WebhookConfig;
use hm_emulator::{
    DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_VIN_APPROVED, Emulator, EmulatorConfig, MqttEndpoint,
};
use serde_json::json;

use crate::cli::EmulatorServeArgs;
use crate::commands::webhooks::read_secret_text;
use crate::error::CliError;
use crate::output::{out, print_json};

/// Runs `hm emulator serve`.
pub async fn serve(args: &EmulatorServeArgs, json: bool) -> Result<(), CliError> {
    let config = match &args.config {
        Some(path) => {
            EmulatorConfig::from_toml_file(path).map_err(|e| CliError::Usage(e.to_string()))?
        }
        None => EmulatorConfig::demo(),
    };
    let mut config = with_webhooks(config, args)?;
    config.mqtt.enabled = !args.no_mqtt;
    if let Some(dir) = &args.tls_dir {
        config.mqtt.tls_dir = Some(dir.clone());
    }
    let demo = args.config.is_none();
    let addr = SocketAddr::new(args.host, args.port);
    let handle = Emulator::start_on(config, addr).await.map_err(|e| {
        CliError::Other(format!(
            "cannot start the emulator on {addr}: {e}; try another --port"
        ))
    })?;
    let base = handle.base_url().to_owned();
    if json {
        let mut doc = json!({ "base_url": base });
        if demo {
            doc["client_id"] = json!(DEMO_CLIENT_ID);
            doc["client_secret"] = json!(DEMO_CLIENT_SECRET);
        }
        if let Some(mqtt) = handle.mqtt() {
            doc["mqtt"] = mqtt_json(mqtt, handle.config());
        }
        print_json(&doc)?;
    } else {
        let mut text = format!("High Mobility emulator listening on {base} (ctrl-c stops it)\n");
        if demo {
            text.push_str(&format!(
                "Demo configuration; its credentials open nothing but this emulator:\n\
                 \x20 export HM_ENVIRONMENT={base}\n\
                 \x20 export HM_CLIENT_ID={DEMO_CLIENT_ID}\n\
                 \x20 export HM_CLIENT_SECRET={DEMO_CLIENT_SECRET}\n\
                 \x20 hm clearance request {DEMO_VIN_APPROVED} --brand sandbox --wait\n"
            ));
        }
        if let Some(mqtt) = handle.mqtt() {
            text.push_str(&mqtt_text(mqtt, handle.config()));
        }
        out(&text)?;
    }
    tokio::signal::ctrl_c()
        .await
        .map_err(|e| CliError::Other(format!("cannot wait for ctrl-c: {e}")))?;
    handle
        .shutdown()
        .await
        .map_err(|e| CliError::Other(format!("the emulator stopped with an error: {e}")))
}

/// What `hm stream` needs to consume the emulator's broker, as `export` lines per application.
fn mqtt_text(mqtt: &MqttEndpoint, config: &EmulatorConfig) -> String {
    let tls = mqtt.tls();
    let mut text = format!(
        "MQTT broker at {url}: approved vehicles' data every {every} s (emulator time) on {env}/level13/{{application_id}}\n\
         \x20 certificates in {dir}: CA {ca}, one client certificate and key per application\n",
        url = mqtt.url(),
        every = config.mqtt.publish_interval_secs,
        env = config.mqtt.environment.topic_prefix(),
        dir = tls.dir().display(),
        ca = file_name(&tls.ca_cert()),
    );
    for app in &config.applications {
        // Each application's certificate opens its own topic only.
        let (cert, key) = application_identity(mqtt, &app.client_id);
        text.push_str(&format!(
            "Stream the vehicle data of application {client_id} (after a clearance is approved):\n\
             \x20 export HM_APPLICATION_ID={application_id}\n\
             \x20 export HM_MQTT_URL={url}\n\
             \x20 export HM_MQTT_ENVIRONMENT={env}\n\
             \x20 export HM_MQTT_CERT_FILE={cert}\n\
             \x20 export HM_MQTT_KEY_FILE={key}\n\
             \x20 export HM_MQTT_CA_FILE={ca}\n\
             \x20 hm stream\n",
            client_id = app.client_id,
            application_id = application_id(&app.client_id),
            url = mqtt.url(),
            env = config.mqtt.environment.topic_prefix(),
            cert = shell_word(&cert),
            key = shell_word(&key),
            ca = shell_word(&tls.ca_cert()),
        ));
    }
    text
}

/// The broker in `--json`: URL, topic environment, files, and each application's topic.
fn mqtt_json(mqtt: &MqttEndpoint, config: &EmulatorConfig) -> serde_json::Value {
    let tls = mqtt.tls();
    json!({
        "url": mqtt.url(),
        "environment": config.mqtt.environment.topic_prefix(),
        "publish_interval_secs": config.mqtt.publish_interval_secs,
        "tls_dir": tls.dir(),
        "ca_cert": tls.ca_cert(),
        "client_cert": tls.client_cert(),
        "client_key": tls.client_key(),
        "applications": config.applications.iter().map(|app| {
            let (cert, key) = application_identity(mqtt, &app.client_id);
            json!({
                "client_id": app.client_id,
                "application_id": application_id(&app.client_id).to_string(),
                "topic": mqtt.topic(&app.client_id),
                "client_cert": cert,
                "client_key": key,
            })
        }).collect::<Vec<_>>(),
    })
}

/// The client certificate and key of application `client_id` (the emulator issues one per
/// configured application).
fn application_identity(mqtt: &MqttEndpoint, client_id: &str) -> (PathBuf, PathBuf) {
    let tls = mqtt.tls();
    (
        tls.application_cert(client_id)
            .unwrap_or_else(|| tls.client_cert()),
        tls.application_key(client_id)
            .unwrap_or_else(|| tls.client_key()),
    )
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// A path as one shell word: quoted when it holds anything but plain characters.
fn shell_word(path: &Path) -> String {
    let text = path.display().to_string();
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-+:@%,".contains(c);
    if !text.is_empty() && text.chars().all(plain) {
        text
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

/// Where `--webhook`'s secret is read when neither `--webhook-secret` nor its file is given.
const WEBHOOK_SECRET_ENV: &str = "HM_WEBHOOK_SECRET";

/// The configuration with the webhooks of `--webhook` added, checked before the server starts.
fn with_webhooks(
    mut config: EmulatorConfig,
    args: &EmulatorServeArgs,
) -> Result<EmulatorConfig, CliError> {
    let secrets = match (&args.webhook_secrets[..], &args.webhook_secret_file) {
        ([], file) if !args.webhooks.is_empty() => {
            let env = std::env::var(WEBHOOK_SECRET_ENV).ok();
            let text = file.is_none().then_some(env.as_deref()).flatten();
            vec![read_secret_text(text, file.as_deref(), "--webhook-secret")?]
        }
        (secrets, _) => secrets.to_vec(),
    };
    if !args.webhooks.is_empty() && secrets.len() != 1 && secrets.len() != args.webhooks.len() {
        return Err(CliError::Usage(format!(
            "{} --webhook URL(s) but {} --webhook-secret(s): give one secret for all, or one per URL in the same order",
            args.webhooks.len(),
            secrets.len()
        )));
    }
    for (i, url) in args.webhooks.iter().enumerate() {
        let secret = secrets.get(i).unwrap_or(&secrets[0]);
        let mut webhook = WebhookConfig::new(url.as_str(), secret.as_str());
        if !args.webhook_events.is_empty() {
            webhook.events = Some(args.webhook_events.clone());
        }
        config.webhooks.push(webhook);
    }
    config
        .validate()
        .map_err(|e| CliError::Usage(format!("{e}; check --webhook and the configuration file")))?;
    Ok(config)
}
