//! Verification cost per delivery, and deliveries per second through the extractor against a
//! plain axum handler in the same run, in process and over loopback.
//!
//! `cargo bench -p hm-webhooks --bench webhooks`

use std::hint::black_box;
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;
use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hm_webhooks::axum::{Webhook, WebhookReceiver};
use hm_webhooks::{
    ClearanceStatus, Delivery, InMemorySeenStore, SeenStore, SignedDelivery, Verifier,
    WebhookSecret,
};
use tower::ServiceExt;

const SECRET: &str = "bench-webhook-secret";

fn secret() -> WebhookSecret {
    WebhookSecret::new(SECRET).expect("non-empty secret")
}

/// A signed `fleet_clearance_changed` delivery whose body is exactly `size` bytes, padded with
/// an extra field as a future version of the payload might carry.
fn delivery(id: &str, size: usize) -> SignedDelivery {
    let mut delivery = Delivery::fleet_clearance_changed(
        id,
        "EXVETESTVIN000001",
        ClearanceStatus::Approved,
        Some("approved by the owner".into()),
    );
    delivery.body["padding"] = "".into();
    let unpadded = delivery.body.to_string().len();
    delivery.body["padding"] = "x".repeat(size.saturating_sub(unpadded)).into();
    let signed = delivery.signed(&secret()).expect("valid headers");
    assert_eq!(signed.body.len(), size);
    signed
}

fn verification(c: &mut Criterion) {
    let verifier = Verifier::new(secret());
    let mut group = c.benchmark_group("verify");
    for (label, size) in [("1KiB", 1024), ("64KiB", 64 * 1024)] {
        let request = delivery("d-1", size);
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function(format!("signature_only/{label}"), |b| {
            b.iter(|| {
                verifier.verify_signature(black_box(&request.headers), black_box(&request.body))
            })
        });
        group.bench_function(format!("signature_and_decode/{label}"), |b| {
            b.iter(|| verifier.verify(black_box(&request.headers), black_box(&request.body)))
        });
    }
    group.finish();
}

fn seen_store(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let store = InMemorySeenStore::new();
    let mut next_id = 0u64;
    c.bench_function("seen_store/claim_and_complete", |b| {
        b.to_async(&runtime).iter(|| {
            next_id += 1;
            let id = format!("delivery-{next_id}");
            let store = &store;
            async move {
                store.claim(&id).await.expect("in-memory claim");
                store.complete(&id).await.expect("in-memory complete");
            }
        })
    });
}

async fn plain(body: Bytes) -> StatusCode {
    black_box(body.len());
    StatusCode::OK
}

async fn extracted(webhook: Webhook) -> StatusCode {
    black_box(&webhook.delivery().event);
    StatusCode::OK
}

async fn extracted_once(webhook: Webhook) -> StatusCode {
    black_box(&webhook.delivery().event);
    match webhook.mark_processed().await {
        Ok(()) => StatusCode::OK,
        Err(_) => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// Where deliveries go: over a loopback connection, or straight into the router (no sockets,
/// so only the receiving stack's own work is timed).
#[derive(Clone)]
enum Target {
    Loopback {
        client: reqwest::Client,
        url: String,
    },
    InProcess(Router),
}

impl Target {
    async fn loopback(router: Router) -> Target {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("loopback port");
        let address = listener.local_addr().expect("bound address");
        tokio::spawn(async move { axum::serve(listener, router).await });
        Target::Loopback {
            client: reqwest::Client::new(),
            url: format!("http://{address}/webhooks"),
        }
    }

    async fn deliver(&self, request: SignedDelivery) {
        let status = match self {
            Target::Loopback { client, url } => client
                .post(url)
                .headers(request.headers)
                .body(request.body)
                .send()
                .await
                .expect("loopback request")
                .status(),
            Target::InProcess(router) => {
                let mut http = axum::http::Request::post("/webhooks")
                    .body(axum::body::Body::from(request.body))
                    .expect("valid request");
                *http.headers_mut() = request.headers;
                router
                    .clone()
                    .oneshot(http)
                    .await
                    .expect("infallible router")
                    .status()
            }
        };
        assert_eq!(status, 200);
    }
}

fn routers() -> [(&'static str, Router); 3] {
    let receiver = WebhookReceiver::new(Verifier::new(secret()));
    [
        (
            "plain_axum_handler",
            Router::new().route("/webhooks", post(plain)),
        ),
        (
            "extractor",
            Router::new()
                .route("/webhooks", post(extracted))
                .with_state(receiver.clone()),
        ),
        (
            "extractor_with_seen_store",
            Router::new()
                .route("/webhooks", post(extracted_once))
                .with_state(receiver.with_seen_store(InMemorySeenStore::new())),
        ),
    ]
}

fn deliveries_per_second(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    for (group_name, loopback) in [("in_process_1KiB", false), ("loopback_1KiB", true)] {
        let mut group = c.benchmark_group(group_name);
        group.throughput(Throughput::Elements(1));
        for (name, router) in routers() {
            let target = if loopback {
                runtime.block_on(Target::loopback(router))
            } else {
                Target::InProcess(router)
            };
            let mut next_id = 0u64;
            group.bench_function(name, |b| {
                b.to_async(&runtime).iter_custom(|iterations| {
                    // Every request has its own id (the seen store answers duplicates early),
                    // signed before the clock starts.
                    let requests: Vec<_> = (0..iterations)
                        .map(|_| {
                            next_id += 1;
                            delivery(&format!("{name}-{next_id}"), 1024)
                        })
                        .collect();
                    let target = target.clone();
                    async move {
                        let start = Instant::now();
                        for request in requests {
                            target.deliver(request).await;
                        }
                        start.elapsed()
                    }
                })
            });
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = verification, seen_store, deliveries_per_second
}
criterion_main!(benches);
