//! A webhook receiver that prints every verified delivery.
//!
//! `HM_WEBHOOK_SECRET=my-secret cargo run -p hm-webhooks --example receiver -- 8080`, then
//! POST signed deliveries to `http://127.0.0.1:8080/webhooks/high-mobility` (see the README).

use axum::{Router, http::StatusCode, routing::post};
use hm_webhooks::axum::{Webhook, WebhookReceiver};
use hm_webhooks::{Event, InMemorySeenStore, Verifier, WebhookSecret};

async fn on_webhook(webhook: Webhook) -> StatusCode {
    let delivery = webhook.delivery();
    match &delivery.event {
        Event::FleetClearanceChanged {
            vin,
            status,
            detail,
        } => match detail {
            Some(detail) => println!("{} {vin} is now {status}: {detail}", delivery.id),
            None => println!("{} {vin} is now {status}", delivery.id),
        },
        Event::Ping => println!("{} ping: the webhook is configured", delivery.id),
        other => println!("{} {}: {}", delivery.id, other.name(), delivery.body),
    }
    if let Err(error) = webhook.mark_processed().await {
        eprintln!("{error}");
    }
    StatusCode::OK
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Refusals are logged at `warn` with their reason.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "hm_webhooks=info".into()),
        )
        .init();

    let secret = std::env::var("HM_WEBHOOK_SECRET")
        .map_err(|_| "set HM_WEBHOOK_SECRET to the webhook's secret from the console")?;
    let port: u16 = match std::env::args().nth(1) {
        Some(port) => port
            .parse()
            .map_err(|_| format!("the port must be a number from 1 to 65535, not {port:?}"))?,
        None => 8080,
    };

    let receiver = WebhookReceiver::new(Verifier::new(WebhookSecret::new(secret)?))
        .with_seen_store(InMemorySeenStore::new());
    let app = Router::new()
        .route("/webhooks/high-mobility", post(on_webhook))
        .with_state(receiver);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    eprintln!(
        "listening on http://{}/webhooks/high-mobility",
        listener.local_addr()?
    );
    axum::serve(listener, app).await?;
    Ok(())
}
