//! Attack findings against the axum extractor, over a real server on loopback.
//!
//! Each test passes once the weakness is fixed; until then it is ignored so that CI stays green.

// Helpers outside `#[test]` functions are test code too.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use ::axum::extract::State;
use ::axum::http::StatusCode;
use ::axum::routing::post;
use ::axum::{Router, extract::FromRef};
use hm_webhooks::axum::{Webhook, WebhookReceiver};
use hm_webhooks::{ClearanceStatus, Delivery, InMemorySeenStore, Verifier, WebhookSecret};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Clone)]
struct App {
    receiver: WebhookReceiver,
    calls: Arc<AtomicUsize>,
}

impl FromRef<App> for WebhookReceiver {
    fn from_ref(app: &App) -> Self {
        app.receiver.clone()
    }
}

async fn on_webhook(State(app): State<App>, webhook: Webhook) -> StatusCode {
    app.calls.fetch_add(1, Ordering::SeqCst);
    webhook.mark_processed().await.unwrap();
    StatusCode::OK
}

/// A receiver as the README builds it, on loopback; returns its address and the handler's call count.
async fn serve(receiver: WebhookReceiver) -> (SocketAddr, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let app = Router::new().route("/", post(on_webhook)).with_state(App {
        receiver,
        calls: calls.clone(),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { ::axum::serve(listener, app).await.unwrap() });
    (address, calls)
}

/// `X-HM-Delivery` is not signed and its length is not limited: hyper lets a header grow to
/// ~400 KiB. Whoever replays one captured delivery (the README says that is possible) with fresh
/// 300 KB ids makes the `InMemorySeenStore` keep each id twice (map key and expiry index) for 24 h:
/// at the default capacity of 100,000 ids that is ~60 GB, so the receiver runs out of memory long
/// before the count bound helps. Real delivery ids are short; a huge one should be refused (400)
/// before it reaches the store or the handler.
#[ignore = "attack finding: X-HM-Delivery of unbounded length is accepted and stored (memory exhaustion)"]
#[tokio::test]
async fn attack_oversize_delivery_id_is_refused() {
    let secret = WebhookSecret::new("attack-secret").unwrap();
    let receiver = WebhookReceiver::new(Verifier::new(secret.clone()))
        .with_seen_store(InMemorySeenStore::new());
    let (address, calls) = serve(receiver).await;

    let huge_id = "i".repeat(64 * 1024);
    let request = Delivery::fleet_clearance_changed(
        huge_id,
        "EXVETESTVIN000001",
        ClearanceStatus::Approved,
        None,
    )
    .signed(&secret)
    .unwrap();
    let response = reqwest::Client::new()
        .post(format!("http://{address}/"))
        .headers(request.headers)
        .body(request.body)
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_client_error(),
        "a 64 KiB delivery id was answered {}",
        response.status()
    );
    assert_eq!(
        calls.load(Ordering::SeqCst),
        0,
        "the handler (and the store) saw the huge id"
    );
}

/// The extractor reads the whole body (up to the limit, 1 MiB by default) before it looks at
/// the headers, so a request with no signature at all is only refused once its body has
/// arrived: an unauthenticated client holds the connection and up to 1 MiB of buffer per request
/// by trickling the body. Here the client sends the headers and one byte of a declared 1,000,
/// then closes its side: the extractor waits for the body, fails reading it (400) instead of
/// refusing the unsigned request (401) straight away.
#[ignore = "attack finding: an unsigned request's body is read in full before the missing signature is noticed"]
#[tokio::test]
async fn attack_unsigned_request_is_refused_before_its_body_is_read() {
    let receiver =
        WebhookReceiver::new(Verifier::new(WebhookSecret::new("attack-secret").unwrap()));
    let (address, calls) = serve(receiver).await;

    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream
        .write_all(
            b"POST / HTTP/1.1\r\nhost: receiver\r\ncontent-length: 1000\r\n\
              x-hm-delivery: d-1\r\nx-hm-event: ping\r\n\r\n{",
        )
        .await
        .unwrap();
    stream.shutdown().await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    let status_line = answer.lines().next().unwrap_or_default();
    assert!(
        status_line.starts_with("HTTP/1.1 401"),
        "an unsigned request must be refused without waiting for its body, got {status_line:?}"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}
