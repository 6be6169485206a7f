//! `hm emulator serve`: run the local emulator until ctrl-c.

use std::net::SocketAddr;

use hm_emulator::webhooks::WebhookConfig;
use hm_emulator::{
    DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_VIN_APPROVED, Emulator, EmulatorConfig,
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
    let config = with_webhooks(config, args)?;
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
