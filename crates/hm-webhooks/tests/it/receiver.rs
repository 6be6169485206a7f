//! The axum extractor, against a real axum server on loopback.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{FromRef, State};
use axum::routing::post;
use axum::{Router, http::StatusCode};
use hm_webhooks::axum::{Webhook, WebhookReceiver};
use hm_webhooks::{
    ClearanceStatus, Delivery, Event, InMemorySeenStore, SignedDelivery, Verifier, header,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Notify;

use crate::support::*;

/// The application under test: records what its handler saw and can be told to fail or wait.
#[derive(Clone)]
pub struct App {
    receiver: WebhookReceiver,
    /// Deliveries processed successfully.
    processed: Arc<Mutex<Vec<Delivery>>>,
    /// Calls of the handler, successful or not.
    attempts: Arc<AtomicUsize>,
    /// How many upcoming calls answer 500 without marking the delivery processed.
    fail_next: Arc<AtomicUsize>,
    /// When set, the next call signals `entered` and waits for `proceed`.
    hold_next: Arc<AtomicBool>,
    entered: Arc<Notify>,
    proceed: Arc<Notify>,
}

impl FromRef<App> for WebhookReceiver {
    fn from_ref(app: &App) -> Self {
        app.receiver.clone()
    }
}

impl App {
    pub fn new(receiver: WebhookReceiver) -> Self {
        App {
            receiver,
            processed: Arc::default(),
            attempts: Arc::default(),
            fail_next: Arc::default(),
            hold_next: Arc::default(),
            entered: Arc::default(),
            proceed: Arc::default(),
        }
    }

    pub fn processed(&self) -> Vec<Delivery> {
        self.processed.lock().unwrap().clone()
    }

    pub fn attempts(&self) -> usize {
        self.attempts.load(Ordering::SeqCst)
    }
}

async fn on_webhook(State(app): State<App>, webhook: Webhook) -> StatusCode {
    app.attempts.fetch_add(1, Ordering::SeqCst);
    if app
        .fail_next
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    if app.hold_next.swap(false, Ordering::SeqCst) {
        app.entered.notify_one();
        app.proceed.notified().await;
    }
    app.processed
        .lock()
        .unwrap()
        .push(webhook.delivery().clone());
    webhook.mark_processed().await.unwrap();
    StatusCode::OK
}

/// Serves `app` on a loopback port; returns the webhook URL.
pub async fn serve(app: App) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let router = Router::new()
        .route("/webhooks", post(on_webhook))
        .with_state(app);
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{address}/webhooks")
}

pub fn deduplicating(verifier: Verifier) -> App {
    App::new(WebhookReceiver::new(verifier).with_seen_store(InMemorySeenStore::new()))
}

pub fn approval(id: &str) -> SignedDelivery {
    Delivery::fleet_clearance_changed(id, "EXVETESTVIN000001", ClearanceStatus::Approved, None)
        .signed(&secret(SECRET))
        .unwrap()
}

/// Sends a delivery; returns the status and the response text.
pub async fn send(url: &str, request: &SignedDelivery) -> (u16, String) {
    let response = reqwest::Client::new()
        .post(url)
        .headers(request.headers.clone())
        .body(request.body.clone())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

#[tokio::test]
async fn a_verified_delivery_reaches_the_handler_typed() {
    let app = deduplicating(verifier());
    let url = serve(app.clone()).await;
    let (status, _) = send(&url, &approval("d-1")).await;
    assert_eq!(status, 200);
    let processed = app.processed();
    assert_eq!(processed.len(), 1);
    assert_eq!(processed[0].id, "d-1");
    assert_eq!(
        processed[0].event,
        Event::FleetClearanceChanged {
            vin: "EXVETESTVIN000001".into(),
            status: ClearanceStatus::Approved,
            detail: None,
        }
    );
}

#[tokio::test]
async fn a_bad_signature_is_answered_401_without_calling_the_handler() {
    let app = deduplicating(verifier());
    let url = serve(app.clone()).await;

    let mut tampered = approval("d-1");
    tampered.body = String::from_utf8(tampered.body)
        .unwrap()
        .replace("approved", "rejected")
        .into_bytes();
    let (status, text) = send(&url, &tampered).await;
    assert_eq!(status, 401);
    assert!(text.contains("X-HM-Signature-256"), "{text}");

    let mut wrong_secret = Delivery::fleet_clearance_changed(
        "d-2",
        "EXVETESTVIN000001",
        ClearanceStatus::Approved,
        None,
    )
    .signed(&secret("someone-else"))
    .unwrap();
    assert_eq!(send(&url, &wrong_secret).await.0, 401);

    wrong_secret.headers.remove(header::SIGNATURE_256);
    let (status, text) = send(&url, &wrong_secret).await;
    assert_eq!(status, 401, "SHA-1 only");
    assert!(text.contains("deprecated"), "{text}");

    wrong_secret.headers.remove(header::SIGNATURE_SHA1);
    assert_eq!(send(&url, &wrong_secret).await.0, 401, "no signature");

    let mut malformed = approval("d-3");
    malformed
        .headers
        .insert(header::SIGNATURE_256, "sha256=xyz".parse().unwrap());
    assert_eq!(send(&url, &malformed).await.0, 401);

    assert_eq!(app.attempts(), 0);
    // A refusal claims nothing: the genuine delivery is still processed.
    assert_eq!(send(&url, &approval("d-1")).await.0, 200);
}

/// A correctly signed ping of about 2 KiB.
fn oversize_ping() -> SignedDelivery {
    Delivery {
        id: "d-1".into(),
        event: Event::Ping,
        body: serde_json::json!({ "padding": "x".repeat(2048) }),
    }
    .signed(&secret(SECRET))
    .unwrap()
}

#[tokio::test]
async fn an_oversize_body_is_answered_413() {
    let app = deduplicating(verifier().max_body_bytes(1024));
    let url = serve(app.clone()).await;
    let big = oversize_ping();
    let (status, text) = send(&url, &big).await;
    assert_eq!(status, 413);
    assert!(text.contains("1024 bytes"), "{text}");
    assert_eq!(app.attempts(), 0);
}

/// Sends a request with a chunked body (no Content-Length) over a raw socket; returns the
/// response's status line.
async fn send_chunked(url: &str, request: &SignedDelivery, chunk: usize) -> String {
    let address = url
        .trim_start_matches("http://")
        .trim_end_matches("/webhooks");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let mut head = format!(
        "POST /webhooks HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n"
    );
    for (name, value) in &request.headers {
        head.push_str(&format!("{name}: {}\r\n", value.to_str().unwrap()));
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    for part in request.body.chunks(chunk) {
        bytes.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
        bytes.extend_from_slice(part);
        bytes.extend_from_slice(b"\r\n");
    }
    bytes.extend_from_slice(b"0\r\n\r\n");
    stream.write_all(&bytes).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let response = String::from_utf8_lossy(&response);
    response.lines().next().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn a_chunked_body_is_limited_while_it_is_read() {
    let app = deduplicating(verifier().max_body_bytes(1024));
    let url = serve(app.clone()).await;
    let big = oversize_ping();
    assert_eq!(
        send_chunked(&url, &big, 256).await,
        "HTTP/1.1 413 Payload Too Large"
    );
    assert_eq!(app.attempts(), 0);
    // A chunked body within the limit is read whole and verified.
    assert_eq!(
        send_chunked(&url, &approval("d-2"), 16).await,
        "HTTP/1.1 200 OK"
    );
    assert_eq!(app.processed().len(), 1);
}

#[tokio::test]
async fn missing_delivery_headers_are_answered_400() {
    let app = deduplicating(verifier());
    let url = serve(app.clone()).await;
    let mut request = approval("d-1");
    request.headers.remove(header::DELIVERY);
    let (status, text) = send(&url, &request).await;
    assert_eq!(status, 400);
    assert!(text.contains("X-HM-Delivery"), "{text}");
    assert_eq!(app.attempts(), 0);
}

#[tokio::test]
async fn a_duplicate_delivery_is_acknowledged_and_processed_once() {
    let app = deduplicating(verifier());
    let url = serve(app.clone()).await;
    let delivery = approval("d-1");
    assert_eq!(send(&url, &delivery).await.0, 200);
    let (status, text) = send(&url, &delivery).await;
    assert_eq!(status, 200);
    assert!(text.contains("already processed"), "{text}");
    assert_eq!(send(&url, &approval("d-2")).await.0, 200);
    assert_eq!(app.attempts(), 2);
    let ids: Vec<_> = app.processed().into_iter().map(|d| d.id).collect();
    assert_eq!(ids, ["d-1", "d-2"]);
}

#[tokio::test]
async fn a_delivery_the_handler_failed_is_processed_on_retry_then_once() {
    let app = deduplicating(verifier());
    let url = serve(app.clone()).await;
    app.fail_next.store(1, Ordering::SeqCst);
    let delivery = approval("d-1");
    assert_eq!(send(&url, &delivery).await.0, 500);
    assert!(app.processed().is_empty());
    // The sender's retry is processed: the failed attempt released its claim.
    assert_eq!(send(&url, &delivery).await.0, 200);
    assert_eq!(send(&url, &delivery).await.0, 200);
    assert_eq!(app.attempts(), 2);
    assert_eq!(app.processed().len(), 1);
}

#[tokio::test]
async fn a_retry_arriving_while_the_first_attempt_runs_is_answered_409() {
    let app = deduplicating(verifier());
    let url = serve(app.clone()).await;
    app.hold_next.store(true, Ordering::SeqCst);
    let delivery = approval("d-1");
    let first = tokio::spawn({
        let (url, delivery) = (url.clone(), delivery.clone());
        async move { send(&url, &delivery).await.0 }
    });
    app.entered.notified().await;
    let (status, text) = send(&url, &delivery).await;
    assert_eq!(status, 409);
    assert!(text.contains("retry later"), "{text}");
    app.proceed.notify_one();
    assert_eq!(first.await.unwrap(), 200);
    assert_eq!(send(&url, &delivery).await.0, 200);
    assert_eq!(app.processed().len(), 1);
}

#[tokio::test]
async fn without_a_store_every_verified_request_reaches_the_handler() {
    let app = App::new(WebhookReceiver::new(verifier()));
    let url = serve(app.clone()).await;
    let delivery = approval("d-1");
    assert_eq!(send(&url, &delivery).await.0, 200);
    assert_eq!(send(&url, &delivery).await.0, 200);
    assert_eq!(app.processed().len(), 2);
}

#[tokio::test]
async fn rotation_works_through_the_extractor() {
    let app = deduplicating(verifier().with_secret(secret(ROTATED_SECRET)));
    let url = serve(app.clone()).await;
    let rotated = Delivery::fleet_clearance_changed(
        "d-2",
        "EXVETESTVIN000001",
        ClearanceStatus::Revoked,
        None,
    )
    .signed(&secret(ROTATED_SECRET))
    .unwrap();
    assert_eq!(send(&url, &approval("d-1")).await.0, 200);
    assert_eq!(send(&url, &rotated).await.0, 200);
    assert_eq!(app.processed().len(), 2);
}
