//! Webhook deliveries, end to end: the emulator sends to real receivers on loopback (hm-webhooks'
//! axum extractor, or a recorder that keeps every request), and time moves only with the
//! emulator's virtual clock (or tokio's paused clock): no test sleeps.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRef, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::post;
use common::*;
use hm_emulator::webhooks::{WebhookConfig, WebhookDelivery, WebhookFault};
use hm_emulator::{
    DEMO_CLIENT_ID, DEMO_VIN_APPROVED, DEMO_VIN_REJECTED, DEMO_VIN_SLOW, EmulatorConfig, Error,
};
use hm_webhooks::axum::{Webhook, WebhookReceiver};
use hm_webhooks::{
    ClearanceStatus, Delivery, Event, InMemorySeenStore, Verifier, WebhookSecret, header,
};
use reqwest::Method;
use tokio::net::TcpListener;
use tokio::sync::{Notify, Semaphore};

const SECRET: &str = "emulator-webhook-test-secret";

async fn serve(router: Router) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{addr}/hooks/hm")
}

// ---------------------------------------------------------------------------------------------
// A receiving application built on hm-webhooks' extractor, with a seen store.

/// What the application saw: every request (by delivery id, as it arrived) and every delivery
/// its handler processed successfully.
#[derive(Clone)]
struct App {
    receiver: WebhookReceiver,
    arrived: Arc<Mutex<Vec<(String, HeaderMap)>>>,
    processed: Arc<Mutex<Vec<Delivery>>>,
    /// Ids whose first call the handler fails with 500.
    fail_first: Arc<Mutex<BTreeSet<String>>>,
    fail_every_first_call: bool,
}

impl FromRef<App> for WebhookReceiver {
    fn from_ref(app: &App) -> Self {
        app.receiver.clone()
    }
}

impl App {
    async fn start(fail_every_first_call: bool) -> (Self, String) {
        let app = App {
            receiver: WebhookReceiver::new(Verifier::new(WebhookSecret::new(SECRET).unwrap()))
                .with_seen_store(InMemorySeenStore::new()),
            arrived: Arc::default(),
            processed: Arc::default(),
            fail_first: Arc::default(),
            fail_every_first_call,
        };
        let router = Router::new()
            .route("/hooks/hm", post(on_webhook))
            .layer(middleware::from_fn_with_state(app.clone(), record_arrival))
            .with_state(app.clone());
        (app, serve(router).await)
    }

    fn processed(&self) -> Vec<Delivery> {
        self.processed.lock().unwrap().clone()
    }

    fn arrived_ids(&self) -> Vec<String> {
        self.arrived
            .lock()
            .unwrap()
            .iter()
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// The clearance changes processed, per VIN, in order.
    fn changes(&self) -> BTreeMap<String, Vec<(ClearanceStatus, Option<String>)>> {
        let mut changes: BTreeMap<_, Vec<_>> = BTreeMap::new();
        for delivery in self.processed() {
            if let Event::FleetClearanceChanged {
                vin,
                status,
                detail,
            } = delivery.event
            {
                changes.entry(vin).or_default().push((status, detail));
            }
        }
        changes
    }
}

async fn record_arrival(State(app): State<App>, request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(header::DELIVERY)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    app.arrived
        .lock()
        .unwrap()
        .push((id, request.headers().clone()));
    next.run(request).await
}

async fn on_webhook(State(app): State<App>, webhook: Webhook) -> StatusCode {
    let id = webhook.delivery().id.clone();
    if app.fail_every_first_call && app.fail_first.lock().unwrap().insert(id) {
        // Not marked processed: the claim is released, and the retry is processed.
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    app.processed
        .lock()
        .unwrap()
        .push(webhook.delivery().clone());
    webhook.mark_processed().await.unwrap();
    StatusCode::OK
}

// ---------------------------------------------------------------------------------------------
// A recorder: keeps every request and answers what `answer` says (by arrival index).

#[derive(Clone)]
struct Recorder {
    requests: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
    answer: Arc<dyn Fn(usize) -> StatusCode + Send + Sync>,
    /// Each request takes a permit before it is answered; a test that closes the gate holds
    /// requests (the permits are added back to open it).
    gate: Arc<Semaphore>,
    /// Told of each request as it comes in, before the gate.
    arrived: Arc<Notify>,
}

impl Recorder {
    async fn start(answer: impl Fn(usize) -> StatusCode + Send + Sync + 'static) -> (Self, String) {
        let recorder = Recorder {
            requests: Arc::default(),
            answer: Arc::new(answer),
            gate: Arc::new(Semaphore::new(Semaphore::MAX_PERMITS)),
            arrived: Arc::default(),
        };
        let router = Router::new()
            .route("/hooks/hm", post(record))
            .with_state(recorder.clone());
        (recorder, serve(router).await)
    }

    fn count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }

    fn ids(&self) -> Vec<String> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .map(|(headers, _)| headers[header::DELIVERY].to_str().unwrap().to_owned())
            .collect()
    }

    /// Holds every request from now on until [`Recorder::open`].
    fn close(&self) {
        self.gate.forget_permits(Semaphore::MAX_PERMITS);
    }

    fn open(&self) {
        self.gate.add_permits(Semaphore::MAX_PERMITS);
    }
}

async fn record(State(recorder): State<Recorder>, headers: HeaderMap, body: Bytes) -> StatusCode {
    recorder.arrived.notify_one();
    let _permit = recorder.gate.acquire().await.unwrap();
    let mut requests = recorder.requests.lock().unwrap();
    requests.push((headers, body));
    (recorder.answer)(requests.len() - 1)
}

// ---------------------------------------------------------------------------------------------

fn frozen_with(webhooks: Vec<WebhookConfig>, delivery: WebhookDelivery) -> EmulatorConfig {
    EmulatorConfig {
        webhooks,
        webhook_delivery: delivery,
        ..frozen_demo()
    }
}

fn webhook(url: &str) -> WebhookConfig {
    WebhookConfig::new(url, SECRET)
}

async fn delete(api: &Checked, token: &str, vin: &str) -> Reply {
    let path = format!("/v1/fleets/vehicles/{vin}");
    api.clearance(
        Method::DELETE,
        &path,
        "/v1/fleets/vehicles/{vin}",
        token,
        None,
    )
    .await
}

#[tokio::test]
async fn the_emulator_delivers_signed_events_to_the_librarys_extractor() {
    let (app, url) = App::start(false).await;
    let api = Checked::start(frozen_with(vec![webhook(&url)], WebhookDelivery::default())).await;
    let hooks = api.emulator.webhooks();

    // Registration sends a ping.
    hooks.settled().await;
    assert_eq!(app.processed().len(), 1);
    assert_eq!(app.processed()[0].event, Event::Ping);

    let token = api.demo_token().await;
    api.request_clearance(
        &token,
        &[(DEMO_VIN_APPROVED, "sandbox"), (DEMO_VIN_REJECTED, "bmw")],
    )
    .await;
    hooks.settled().await;
    // A new clearance is pending: no status changed yet.
    assert_eq!(app.processed().len(), 1);

    // Nobody reads the clearances: the emulator reports the decisions when they fall due.
    api.advance(2);
    hooks.settled().await;
    let changes = app.changes();
    assert_eq!(
        changes[DEMO_VIN_APPROVED],
        [(ClearanceStatus::Approved, None)]
    );
    assert_eq!(
        changes[DEMO_VIN_REJECTED],
        [(
            ClearanceStatus::Rejected,
            Some("The vehicle owner did not give consent".to_owned())
        )]
    );

    // Every request carries what High Mobility sends: both signatures, id, event, agent, type.
    let arrived = app.arrived.lock().unwrap().clone();
    assert_eq!(arrived.len(), 3);
    let legacy_only = Verifier::new(WebhookSecret::new(SECRET).unwrap()).accept_legacy_sha1(true);
    for (id, headers) in &arrived {
        uuid::Uuid::parse_str(id).unwrap();
        assert_eq!(headers["user-agent"], header::USER_AGENT_VALUE);
        assert_eq!(headers["content-type"], "application/json");
        assert!(headers.contains_key(header::EVENT));
        assert!(
            headers[header::SIGNATURE_256]
                .to_str()
                .unwrap()
                .starts_with("sha256=")
        );
        assert!(
            headers[header::SIGNATURE_SHA1]
                .to_str()
                .unwrap()
                .starts_with("sha1=")
        );
        let mut sha1_only = headers.clone();
        sha1_only.remove(header::SIGNATURE_256);
        let body = app
            .processed()
            .into_iter()
            .find(|d| &d.id == id)
            .unwrap()
            .body;
        legacy_only
            .verify(&sha1_only, body.get().as_bytes())
            .unwrap();
    }
    let ids: BTreeSet<_> = app.arrived_ids().into_iter().collect();
    assert_eq!(ids.len(), 3, "every delivery has its own id");
    let stats = hooks.stats();
    assert_eq!((stats.created, stats.delivered, stats.queued), (3, 3, 0));
}

#[tokio::test]
async fn every_status_change_is_delivered_in_order() {
    let (app, url) = App::start(false).await;
    let api = Checked::start(frozen_demo()).await;
    let hooks = api.emulator.webhooks();
    hooks.subscribe(webhook(&url)).unwrap();
    let token = api.demo_token().await;
    api.request_clearance(
        &token,
        &[
            (DEMO_VIN_APPROVED, "sandbox"),
            (DEMO_VIN_REJECTED, "bmw"),
            (DEMO_VIN_SLOW, "sandbox"),
        ],
    )
    .await;
    api.advance(2);
    hooks.settled().await;

    // approved -> revoking -> revoked
    assert_eq!(delete(&api, &token, DEMO_VIN_APPROVED).await.status, 200);
    hooks.settled().await;
    api.advance(2);
    hooks.settled().await;

    // pending -> canceling -> canceled (the slow vehicle, after the one day cancel needs)
    api.advance(24 * 3600);
    let token = api.demo_token().await; // the first one expired meanwhile
    assert_eq!(delete(&api, &token, DEMO_VIN_SLOW).await.status, 200);
    api.advance(2);
    hooks.settled().await;

    // rejected -> pending -> rejected: a new request after a final status is a change too.
    api.request_clearance(&token, &[(DEMO_VIN_REJECTED, "bmw")])
        .await;
    api.advance(2);
    hooks.settled().await;

    use ClearanceStatus::*;
    let statuses = |vin: &str| -> Vec<ClearanceStatus> {
        app.changes()[vin].iter().map(|(s, _)| s.clone()).collect()
    };
    assert_eq!(statuses(DEMO_VIN_APPROVED), [Approved, Revoking, Revoked]);
    assert_eq!(statuses(DEMO_VIN_SLOW), [Canceling, Canceled]);
    assert_eq!(statuses(DEMO_VIN_REJECTED), [Rejected, Pending, Rejected]);
    assert_eq!(hooks.stats().delivered, 1 + 3 + 2 + 3);
}

#[tokio::test]
async fn a_delivery_refused_with_500_is_retried_under_its_id_after_the_backoff_and_processed_once()
{
    let (app, url) = App::start(true).await;
    let delivery = WebhookDelivery {
        first_retry_secs: 10,
        ..WebhookDelivery::default()
    };
    let api = Checked::start(frozen_with(vec![webhook(&url)], delivery)).await;
    let hooks = api.emulator.webhooks();
    hooks.settled().await;
    let token = api.demo_token().await;
    api.request_clearance(&token, &[(DEMO_VIN_APPROVED, "sandbox")])
        .await;
    api.advance(2);
    hooks.settled().await;
    // The ping and the approval were each refused once.
    assert_eq!(app.arrived_ids().len(), 2);
    assert!(app.processed().is_empty());

    // The approval was refused at t+2 s, the ping at t: its retry is due first.
    api.advance(8);
    hooks.settled().await;
    assert_eq!(app.arrived_ids().len(), 3);
    api.advance(1);
    hooks.settled().await;
    assert_eq!(app.arrived_ids().len(), 3, "no retry before its backoff");
    api.advance(1);
    hooks.settled().await;

    let arrived = app.arrived_ids();
    assert_eq!(arrived.len(), 4);
    assert_eq!(arrived[0], arrived[2], "the ping's retry keeps its id");
    assert_eq!(arrived[1], arrived[3], "the approval's retry keeps its id");
    assert_eq!(
        app.changes()[DEMO_VIN_APPROVED],
        [(ClearanceStatus::Approved, None)]
    );
    assert_eq!(app.processed().len(), 2);
    let stats = hooks.stats();
    assert_eq!(
        (stats.delivered, stats.failed_attempts, stats.queued),
        (2, 2, 0)
    );
}

#[tokio::test]
async fn injected_duplicates_arrive_twice_and_are_processed_once() {
    let (app, url) = App::start(false).await;
    let api = Checked::start(frozen_demo()).await;
    let hooks = api.emulator.webhooks();
    hooks.set_fault(WebhookFault::duplicates(1.0));
    hooks.subscribe(webhook(&url)).unwrap();
    let token = api.demo_token().await;
    api.request_clearance(&token, &[(DEMO_VIN_APPROVED, "sandbox")])
        .await;
    api.advance(2);
    hooks.settled().await;

    let arrived = app.arrived_ids();
    assert_eq!(arrived.len(), 4);
    let distinct: BTreeSet<_> = arrived.iter().collect();
    assert_eq!(distinct.len(), 2, "each copy carries its delivery's id");
    assert_eq!(app.processed().len(), 2);
    assert_eq!(hooks.stats().duplicated, 2);
}

#[tokio::test]
async fn nothing_is_lost_over_1000_status_changes_with_20_percent_of_attempts_dropped() {
    let (app, url) = App::start(false).await;
    let api = Checked::start(frozen_demo()).await;
    let hooks = api.emulator.webhooks();
    hooks.set_fault(
        WebhookFault::drops(0.2)
            .with_duplicates(0.05)
            .with_seed(1000),
    );
    hooks.subscribe(webhook(&url)).unwrap();
    let token = api.demo_token().await;
    // 1,000 vehicles the emulator does not know: each is rejected after 2 s.
    let vins: Vec<String> = (0..1000).map(|i| format!("WVWZZZ1JZXW{i:06}")).collect();
    let vehicles: Vec<(&str, &str)> = vins.iter().map(|v| (v.as_str(), "volkswagen")).collect();
    api.request_clearance(&token, &vehicles).await;
    api.advance(2);

    let mut rounds = 0;
    loop {
        hooks.settled().await;
        if hooks.stats().queued == 0 {
            break;
        }
        // Retries wait at most max_retry_secs.
        api.advance(3600);
        rounds += 1;
        assert!(rounds < 20, "{:?}", hooks.stats());
    }

    let stats = hooks.stats();
    let changes = app.changes();
    assert_eq!(changes.len(), 1000, "{stats:?}");
    for vin in &vins {
        assert_eq!(changes[vin].len(), 1, "{vin} processed once");
        assert_eq!(changes[vin][0].0, ClearanceStatus::Rejected);
    }
    assert_eq!(app.processed().len(), 1001, "the ping too");
    assert_eq!(
        (stats.created, stats.delivered, stats.abandoned),
        (1001, 1001, 0)
    );
    assert!(stats.dropped > 150, "{stats:?}");
    assert!(stats.duplicated > 20, "{stats:?}");
    // Duplicates arrived but were answered by the seen store, not processed.
    assert!(app.arrived_ids().len() as u64 >= 1001 + stats.duplicated);
}

#[tokio::test]
async fn deliveries_never_hold_up_api_responses() {
    let (recorder, url) = Recorder::start(|_| StatusCode::OK).await;
    recorder.close();
    // Held attempts time out on the virtual clock: not within the 40 s this test moves it.
    let delivery = WebhookDelivery {
        timeout_secs: 300,
        ..WebhookDelivery::default()
    };
    let api = Checked::start(frozen_with(vec![webhook(&url)], delivery)).await;
    let hooks = api.emulator.webhooks();
    let token = api.demo_token().await;
    // The ping is stuck at the receiver, and so will every delivery be until the gate opens.
    recorder.arrived.notified().await;
    let vins: Vec<String> = (0..20).map(|i| format!("WVWZZZ1JZXW{i:06}")).collect();
    for vin in &vins {
        api.request_clearance(&token, &[(vin, "volkswagen")]).await;
        api.advance(2);
        let reply = api
            .clearance(
                Method::GET,
                &format!("/v1/fleets/vehicles/{vin}"),
                "/v1/fleets/vehicles/{vin}",
                &token,
                None,
            )
            .await;
        assert_eq!(reply.body["status"], "rejected");
    }
    assert_eq!(recorder.count(), 0, "nothing was answered yet");
    assert_eq!(hooks.stats().queued, 21);

    recorder.open();
    hooks.settled().await;
    assert_eq!(recorder.count(), 21);
    assert_eq!(hooks.stats().delivered, 21);
}

#[tokio::test]
async fn failed_attempts_back_off_on_the_virtual_clock_and_stop_after_max_attempts() {
    let (recorder, url) = Recorder::start(|_| StatusCode::SERVICE_UNAVAILABLE).await;
    let delivery = WebhookDelivery {
        max_attempts: 4,
        first_retry_secs: 10,
        max_retry_secs: 30,
        ..WebhookDelivery::default()
    };
    let api = Checked::start(frozen_with(vec![webhook(&url)], delivery)).await;
    let hooks = api.emulator.webhooks();
    let mut attempts_at = Vec::new();
    for second in 0..=100 {
        hooks.settled().await;
        if recorder.count() > attempts_at.len() {
            attempts_at.push(second);
        }
        api.advance(1);
    }
    // Waits of 10, 20, then 30 (capped) seconds; then the delivery is abandoned.
    assert_eq!(attempts_at, [0, 10, 30, 60]);
    let ids: BTreeSet<_> = recorder.ids().into_iter().collect();
    assert_eq!(ids.len(), 1, "one delivery, retried under its id");
    let stats = hooks.stats();
    assert_eq!(
        (stats.failed_attempts, stats.abandoned, stats.queued),
        (4, 1, 0)
    );
}

#[tokio::test]
async fn an_attempt_without_an_answer_times_out_on_the_virtual_clock_and_is_retried() {
    let (recorder, url) = Recorder::start(|_| StatusCode::OK).await;
    recorder.close();
    let delivery = WebhookDelivery {
        timeout_secs: 5,
        first_retry_secs: 10,
        ..WebhookDelivery::default()
    };
    let api = Checked::start(frozen_with(vec![webhook(&url)], delivery)).await;
    let hooks = api.emulator.webhooks();
    // The receiver holds the ping; the attempt's timeout runs on the emulator's clock.
    recorder.arrived.notified().await;
    api.advance(4);
    assert_eq!(hooks.stats().failed_attempts, 0);
    api.advance(1);
    hooks.settled().await;
    assert_eq!(hooks.stats().failed_attempts, 1);
    recorder.open();
    api.advance(10);
    hooks.settled().await;
    let stats = hooks.stats();
    assert_eq!((stats.delivered, stats.queued), (1, 0));
}

#[tokio::test]
async fn a_redirect_is_a_failed_attempt_and_never_followed() {
    let (elsewhere, elsewhere_url) = Recorder::start(|_| StatusCode::OK).await;
    let redirect = Router::new().route(
        "/hooks/hm",
        post(move || {
            let to = elsewhere_url.clone();
            async move { (StatusCode::TEMPORARY_REDIRECT, [("location", to)]) }
        }),
    );
    let url = serve(redirect).await;
    let api = Checked::start(frozen_with(vec![webhook(&url)], WebhookDelivery::default())).await;
    let hooks = api.emulator.webhooks();
    hooks.settled().await;
    assert_eq!(hooks.stats().failed_attempts, 1);
    assert_eq!(elsewhere.count(), 0, "the signed body went nowhere else");
}

#[tokio::test]
async fn a_receiver_that_is_down_cannot_grow_the_queue_beyond_its_bound() {
    let (recorder, url) = Recorder::start(|_| StatusCode::OK).await;
    recorder.close();
    let delivery = WebhookDelivery {
        max_queued: 5,
        ..WebhookDelivery::default()
    };
    let api = Checked::start(frozen_with(vec![webhook(&url)], delivery)).await;
    let hooks = api.emulator.webhooks();
    let token = api.demo_token().await;
    let vins: Vec<String> = (0..30).map(|i| format!("WVWZZZ1JZXW{i:06}")).collect();
    let vehicles: Vec<(&str, &str)> = vins.iter().map(|v| (v.as_str(), "volkswagen")).collect();
    api.request_clearance(&token, &vehicles).await;
    api.advance(2);
    // Once the list shows them, all 30 rejections were reported.
    let list = api
        .clearance(
            Method::GET,
            "/v1/fleets/vehicles",
            "/v1/fleets/vehicles",
            &token,
            None,
        )
        .await;
    assert_eq!(list.body.as_array().unwrap().len(), 30);
    let stats = hooks.stats();
    assert_eq!((stats.created, stats.overflowed, stats.queued), (31, 26, 5));

    recorder.open();
    hooks.settled().await;
    assert_eq!(recorder.count(), 5);
}

#[tokio::test]
async fn events_and_applications_select_what_a_webhook_receives() {
    let (all, all_url) = Recorder::start(|_| StatusCode::OK).await;
    let (clearances, clearances_url) = Recorder::start(|_| StatusCode::OK).await;
    let (pings, pings_url) = Recorder::start(|_| StatusCode::OK).await;
    let (other_app, other_app_url) = Recorder::start(|_| StatusCode::OK).await;
    let mut config = frozen_demo();
    let mut other = config.applications[0].clone();
    other.client_id = "another-application".into();
    other.public_keys.clear();
    config.applications.push(other);
    config.webhooks = vec![
        webhook(&all_url),
        WebhookConfig {
            events: Some(vec!["fleet_clearance_changed".into()]),
            ..webhook(&clearances_url)
        },
        WebhookConfig {
            events: Some(vec!["ping".into()]),
            ..webhook(&pings_url)
        },
        WebhookConfig {
            client_id: Some("another-application".into()),
            ..webhook(&other_app_url)
        },
    ];
    let api = Checked::start(config).await;
    let token = api.demo_token().await;
    api.request_clearance(&token, &[(DEMO_VIN_APPROVED, "sandbox")])
        .await;
    api.advance(2);
    api.emulator.webhooks().settled().await;
    let events = |recorder: &Recorder| -> Vec<String> {
        let requests = recorder.requests.lock().unwrap();
        requests
            .iter()
            .map(|(h, _)| h[header::EVENT].to_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(events(&all), ["ping", "fleet_clearance_changed"]);
    // The ping on registration goes out whatever the events say.
    assert_eq!(events(&clearances), ["ping", "fleet_clearance_changed"]);
    assert_eq!(events(&pings), ["ping"]);
    assert_eq!(
        events(&other_app),
        ["ping"],
        "{DEMO_CLIENT_ID}'s changes are not its"
    );
}

#[tokio::test]
async fn webhooks_are_checked_when_configured_or_registered() {
    let refused = |config: EmulatorConfig| match config.validate() {
        Err(Error::InvalidWebhook { which, reason }) => format!("{which}: {reason}"),
        other => panic!("{other:?}"),
    };
    let with = |webhook: WebhookConfig| EmulatorConfig {
        webhooks: vec![webhook],
        ..EmulatorConfig::demo()
    };
    for (webhook, says) in [
        (
            WebhookConfig::new("http://example.com/hooks", SECRET),
            "use https",
        ),
        (WebhookConfig::new("https://example.com/hooks", ""), "empty"),
        (
            WebhookConfig::new("https://example.com/hooks", "s\n"),
            "whitespace",
        ),
        (
            WebhookConfig {
                events: Some(vec!["fleet_clearance_change".into()]),
                ..WebhookConfig::new("https://example.com/hooks", SECRET)
            },
            "unknown event \"fleet_clearance_change\"",
        ),
        (
            WebhookConfig {
                client_id: Some("nobody".into()),
                ..WebhookConfig::new("https://example.com/hooks", SECRET)
            },
            "client_id \"nobody\" is not a configured application",
        ),
    ] {
        let message = refused(with(webhook));
        assert!(message.starts_with("webhooks[0]: "), "{message}");
        assert!(message.contains(says), "{message}");
    }

    // The same rules at run time, and the secret stays out of Debug output.
    let api = Checked::start(frozen_demo()).await;
    let error = api
        .emulator
        .webhooks()
        .subscribe(WebhookConfig::new("http://192.0.2.1/hooks", SECRET))
        .unwrap_err();
    assert!(error.to_string().contains("use https"), "{error}");
    let config = with(WebhookConfig::new("https://example.com/hooks", SECRET));
    assert!(!format!("{config:?}").contains(SECRET));
}

#[test]
fn webhooks_come_from_the_toml_file() {
    let config = EmulatorConfig::from_toml_str(
        r#"
        [webhook_delivery]
        max_attempts = 3
        first_retry_secs = 5

        [[applications]]
        client_id = "my-service"
        client_secret = "change-me"

        [[webhooks]]
        url = "https://hooks.example.com/high-mobility"
        secret = "s3cret"
        events = ["fleet_clearance_changed"]
        client_id = "my-service"

        [[webhooks]]
        url = "http://127.0.0.1:9000/"
        secret = "local"
        "#,
    )
    .unwrap();
    assert_eq!(config.webhooks.len(), 2);
    assert_eq!(config.webhooks[0].client_id.as_deref(), Some("my-service"));
    assert_eq!(config.webhook_delivery.max_attempts, 3);
    assert_eq!(config.webhook_delivery.max_retry_secs, 3600);

    let error = EmulatorConfig::from_toml_str(
        "[[webhooks]]\nurl = \"http://hooks.example.com/\"\nsecret = \"s\"\n",
    )
    .unwrap_err();
    assert!(error.to_string().contains("webhooks[0]"), "{error}");
    let error =
        EmulatorConfig::from_toml_str("[webhook_delivery]\nmax_attempts = 0\n").unwrap_err();
    assert!(
        error
            .to_string()
            .contains("webhook_delivery.max_attempts = 0"),
        "{error}"
    );
}

/// Everything logged on this thread while the guard lives.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

// A current-thread runtime: the emulator's tasks log on this thread, into the capture.
#[tokio::test(flavor = "current_thread")]
async fn neither_the_secret_nor_a_signature_is_ever_logged() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(captured.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let (recorder, url) = Recorder::start(|n| {
        if n == 0 {
            StatusCode::INTERNAL_SERVER_ERROR
        } else {
            StatusCode::OK
        }
    })
    .await;
    let api = Checked::start(frozen_with(vec![webhook(&url)], WebhookDelivery::default())).await;
    let hooks = api.emulator.webhooks();
    let token = api.demo_token().await;
    api.request_clearance(&token, &[(DEMO_VIN_REJECTED, "bmw")])
        .await;
    api.advance(10);
    hooks.settled().await;
    api.advance(10);
    hooks.settled().await;
    assert_eq!(hooks.stats().delivered, 2);
    let error = hooks
        .subscribe(WebhookConfig::new("http://example.com/", SECRET))
        .unwrap_err();
    tracing::warn!(%error, debug = ?api.emulator.config(), "printed as a user might");

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("webhook delivery failed; will retry"),
        "{logs}"
    );
    assert!(!logs.contains(SECRET), "{logs}");
    for (headers, _) in recorder.requests.lock().unwrap().iter() {
        let signature = headers[header::SIGNATURE_256].to_str().unwrap();
        assert!(!logs.contains(&signature[7..]), "{logs}");
        let legacy = headers[header::SIGNATURE_SHA1].to_str().unwrap();
        assert!(!logs.contains(&legacy[5..]), "{logs}");
    }
}
