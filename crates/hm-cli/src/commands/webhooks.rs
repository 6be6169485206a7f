//! `hm webhooks listen`, and the local receiver `hm clearance request --wait --webhook-port`
//! and `hm demo` learn clearance decisions from.
//!
//! Deliveries are verified by hm-webhooks' axum extractor (401 to a bad signature, 413 to an
//! oversize body) with a seen store, so a delivery the sender retries is handled once. A
//! delivery is answered 200 only once its consumer acknowledged it (for `listen`: once its line
//! was written); otherwise 503, and the sender retries.
//!
//! The listener closes connections that do not send a request head within [`READ_TIMEOUT`],
//! answers 408 to a request whose body takes longer than that, and serves at most
//! [`MAX_CONNECTIONS`] at once (the rest wait in the kernel's backlog), so idle or trickling
//! connections cannot take every file descriptor.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{FromRequest, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use hm_api::fleet_clearance::types::ClearanceStatus;
use hm_webhooks::axum::{Webhook, WebhookReceiver, WebhookRejection};
use hm_webhooks::{Delivery, Event, InMemorySeenStore, Verifier, WebhookSecret};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::api::Session;
use crate::cli::{ClearanceRequestArgs, WebhooksCommand, WebhooksListenArgs};
use crate::commands::clearance::{self, Clearance, WaitOutcome};
use crate::error::{CliError, NetFailure};
use crate::output::{line, progress_bar};

/// Verified deliveries waiting to be handled; a full channel holds the sender's request (it
/// times out and retries), so a flood cannot grow memory.
const CHANNEL: usize = 256;

/// How long a connection may take to send its request head (it is then closed), or a request its
/// body (answered 408): slowloris.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a verified delivery may wait for its consumer (for `listen`: for its line to be
/// written) before it is answered 503, so that the sender retries it.
const HANDLED_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections served at once; further ones wait, unaccepted, in the kernel's backlog.
pub const MAX_CONNECTIONS: usize = 100;

/// A delivery handed out by [`Receiver::next`] and the promise to say when it was handled.
type Handed = (Delivery, Ack);

/// Acknowledges one delivery: [`Ack::handled`] lets the receiver answer the sender 200. Dropped
/// without it, the sender is answered 503 and retries.
#[derive(Debug)]
pub struct Ack(oneshot::Sender<()>);

impl Ack {
    /// The delivery was handled (printed, recorded): the sender may forget it.
    pub fn handled(self) {
        let _ = self.0.send(());
    }

    /// Whether the sender still waits for the answer: when it was already answered 503 (or went
    /// away), it retries the delivery, and handling it now would handle it twice.
    pub fn wanted(&self) -> bool {
        !self.0.is_closed()
    }
}

/// Runs `hm webhooks ...`.
pub async fn run(command: &WebhooksCommand, json: bool) -> Result<(), CliError> {
    match command {
        WebhooksCommand::Listen(args) => listen_command(args, json).await,
    }
}

/// The webhook secret of `--secret` / `--secret-file` (`-` reads stdin); `flag` names the flag
/// in messages.
pub fn read_secret(
    text: Option<&str>,
    file: Option<&Path>,
    flag: &str,
) -> Result<WebhookSecret, CliError> {
    WebhookSecret::new(read_secret_text(text, file, flag)?)
        .map_err(|e| CliError::Usage(format!("the webhook secret cannot be used: {e}")))
}

/// The text of [`read_secret`], unchecked (the emulator checks what it signs with).
pub fn read_secret_text(
    text: Option<&str>,
    file: Option<&Path>,
    flag: &str,
) -> Result<String, CliError> {
    Ok(match (text, file) {
        (Some(text), None) => text.to_owned(),
        (None, Some(path)) if path == Path::new("-") => {
            crate::input::claim_stdin("the webhook secret")?;
            let text = std::io::read_to_string(std::io::stdin()).map_err(|e| {
                CliError::Usage(format!("cannot read the webhook secret from stdin: {e}"))
            })?;
            text.trim_end_matches(['\r', '\n']).to_owned()
        }
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                CliError::Usage(format!(
                    "cannot read the webhook secret file {}: {e}; check the path and its permissions",
                    path.display()
                ))
            })?;
            text.trim_end_matches(['\r', '\n']).to_owned()
        }
        (Some(_), Some(_)) => {
            return Err(CliError::Usage(format!(
                "give the webhook secret once: {flag} or {flag}-file, not both"
            )));
        }
        (None, None) => {
            return Err(CliError::Usage(format!(
                "the webhook secret is missing: give {flag}-file FILE (`-` reads stdin), {flag} SECRET \
                 or HM_WEBHOOK_SECRET; it is the secret configured for the webhook"
            )));
        }
    })
}

/// A local webhook receiver: verified, first-seen deliveries come out of [`Receiver::next`].
pub struct Receiver {
    addr: SocketAddr,
    deliveries: mpsc::Receiver<Handed>,
    task: JoinHandle<()>,
}

#[derive(Clone)]
struct Shared {
    receiver: WebhookReceiver,
    deliveries: mpsc::Sender<Handed>,
    /// Whether refusals are reported on stderr, as JSON lines.
    report_json: Option<bool>,
}

impl axum::extract::FromRef<Shared> for WebhookReceiver {
    fn from_ref(shared: &Shared) -> Self {
        shared.receiver.clone()
    }
}

impl Receiver {
    /// Listens on `host:port` (0 picks a free port). `report_json`: say on stderr what was
    /// refused (as JSON lines when true); `None` keeps quiet.
    pub async fn start(
        host: IpAddr,
        port: u16,
        secret: WebhookSecret,
        report_json: Option<bool>,
    ) -> Result<Self, CliError> {
        let wanted = SocketAddr::new(host, port);
        let listener = TcpListener::bind(wanted).await.map_err(|e| {
            CliError::Usage(format!(
                "cannot listen for webhooks on {wanted}: {e}; choose another port"
            ))
        })?;
        let addr = listener
            .local_addr()
            .map_err(|e| CliError::Other(format!("cannot read the listening address: {e}")))?;
        let (sender, deliveries) = mpsc::channel(CHANNEL);
        let shared = Shared {
            receiver: WebhookReceiver::new(Verifier::new(secret))
                .with_seen_store(InMemorySeenStore::new()),
            deliveries: sender,
            report_json,
        };
        // Any path: the sender's URL decides it, and the receiver has one job.
        let router = Router::new().fallback_service(post(receive).with_state(shared));
        let task = tokio::spawn(serve(listener, router));
        Ok(Receiver {
            addr,
            deliveries,
            task,
        })
    }

    /// Where deliveries are expected, e.g. `http://127.0.0.1:9000/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// The next verified delivery not seen before, with the [`Ack`] to call once it is handled.
    pub async fn next(&mut self) -> Option<Handed> {
        self.deliveries.recv().await
    }
}

/// Serves HTTP/1.1 with a request-head timeout and at most [`MAX_CONNECTIONS`] at once
/// (`axum::serve` has neither).
async fn serve(listener: TcpListener, router: Router) {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(READ_TIMEOUT);
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(error) => {
                // Reset before accept, or no descriptor left: wait a little, serve on.
                tracing::warn!(%error, "accepting a webhook connection failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let connection = http.serve_connection(
            TokioIo::new(stream),
            TowerToHyperService::new(router.clone()),
        );
        tokio::spawn(async move {
            let _ = connection.await;
            drop(slot);
        });
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn receive(State(shared): State<Shared>, request: Request) -> Response {
    let webhook =
        match tokio::time::timeout(READ_TIMEOUT, Webhook::from_request(request, &shared)).await {
            Ok(Ok(webhook)) => webhook,
            Ok(Err(rejection)) => {
                if let Some(json) = shared.report_json {
                    report(&rejection, json);
                }
                return rejection.into_response();
            }
            Err(_) => {
                return (
                    StatusCode::REQUEST_TIMEOUT,
                    "the request body took too long to arrive; send it whole",
                )
                    .into_response();
            }
        };
    let (ack, handled) = oneshot::channel();
    let handed = async {
        shared
            .deliveries
            .send((webhook.delivery().clone(), Ack(ack)))
            .await
            .ok()?;
        handled.await.ok()
    };
    if tokio::time::timeout(HANDLED_TIMEOUT, handed).await != Ok(Some(())) {
        // Not handled (a blocked stdout, the command ending): unmarked, so the retry is
        // processed.
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "the delivery could not be handled in time; retry it",
        )
            .into_response();
    }
    // Only the in-memory store, which cannot fail.
    let _ = webhook.mark_processed().await;
    StatusCode::OK.into_response()
}

/// Says on stderr why a request was not handed on: a refusal, or a duplicate.
fn report(rejection: &WebhookRejection, json: bool) {
    let status = rejection.status();
    let duplicate = status.is_success() || status == StatusCode::CONFLICT;
    let message = rejection.message();
    if json {
        let kind = if duplicate { "duplicate" } else { "refused" };
        eprintln!(
            "{}",
            json!({ kind: { "status": status.as_u16(), "message": message } })
        );
    } else if duplicate {
        eprintln!("duplicate: {message} (answered {status})");
    } else {
        eprintln!("refused a request: {message} (answered {status})");
    }
}

/// One delivery as `hm webhooks listen --json` prints it: one line.
pub fn delivery_json(delivery: &Delivery) -> Value {
    let body: Value = serde_json::from_str(delivery.body.get()).unwrap_or(Value::Null);
    let mut doc = json!({ "id": delivery.id, "event": delivery.event.name(), "body": body });
    if let Event::FleetClearanceChanged {
        vin,
        status,
        detail,
    } = &delivery.event
    {
        doc["vin"] = json!(vin);
        doc["status"] = json!(status.to_string());
        doc["detail"] = json!(detail);
    }
    doc
}

/// One delivery for people: event, id, and for a clearance change its VIN, status and reason.
pub fn delivery_text(delivery: &Delivery) -> String {
    match &delivery.event {
        Event::FleetClearanceChanged {
            vin,
            status,
            detail,
        } => {
            let reason = detail
                .as_deref()
                .map(|d| format!(" ({d})"))
                .unwrap_or_default();
            format!(
                "{}  {}  {vin}  {status}{reason}",
                delivery.event.name(),
                delivery.id
            )
        }
        other => format!("{}  {}  {}", other.name(), delivery.id, delivery.body.get()),
    }
}

async fn listen_command(args: &WebhooksListenArgs, json: bool) -> Result<(), CliError> {
    let secret = read_secret(
        args.secret.as_deref(),
        args.secret_file.as_deref(),
        "--secret",
    )?;
    let mut receiver = Receiver::start(args.host, args.port, secret, Some(json)).await?;
    let url = receiver.url();
    if json {
        eprintln!("{}", json!({ "listening": url }));
    } else {
        eprintln!("Listening for webhooks on {url} (ctrl-c stops)");
    }
    // One future for the whole command: a signal that arrives while a line is being written
    // is not lost between two turns of a loop.
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    tokio::select! {
        result = print_deliveries(&mut receiver, json) => result,
        signal = &mut ctrl_c => {
            signal.map_err(|e| CliError::Other(format!("cannot wait for ctrl-c: {e}")))
        }
    }
}

/// Prints each delivery as one line, on a thread of its own (a blocked stdout must not block
/// the runtime), and acknowledges it once the line is written.
async fn print_deliveries(receiver: &mut Receiver, json: bool) -> Result<(), CliError> {
    let (lines, mut to_print) = mpsc::channel::<(String, Ack)>(1);
    let printer = tokio::task::spawn_blocking(move || {
        while let Some((text, ack)) = to_print.blocking_recv() {
            if !ack.wanted() {
                continue;
            }
            line(&text)?;
            ack.handled();
        }
        Ok(())
    });
    while let Some((delivery, ack)) = receiver.next().await {
        let text = if json {
            delivery_json(&delivery).to_string()
        } else {
            delivery_text(&delivery)
        };
        if lines.send((text, ack)).await.is_err() {
            break; // The printer failed: its error says why.
        }
    }
    drop(lines);
    printer
        .await
        .map_err(|e| CliError::Other(format!("the printer stopped: {e}")))?
}

/// The receiver of `hm clearance request --wait --webhook-port PORT` (loopback only: the
/// deliveries come from a local emulator or a tunnel).
pub async fn receiver_for_wait(
    args: &ClearanceRequestArgs,
    port: u16,
    json: bool,
) -> Result<Receiver, CliError> {
    let secret = read_secret(
        args.webhook_secret.as_deref(),
        args.webhook_secret_file.as_deref(),
        "--webhook-secret",
    )?;
    let receiver = Receiver::start(IpAddr::from([127, 0, 0, 1]), port, secret, Some(json)).await?;
    Ok(receiver)
}

/// What [`wait`] learned from where.
#[derive(Debug, Default, Clone, Copy)]
pub struct Learned {
    /// Decisions of the VINs waited for that arrived as deliveries.
    pub from_webhooks: usize,
    /// Polls of the list endpoint (the confirming one included).
    pub polls: usize,
}

/// Waits until no VIN of `vins` is pending, like [`clearance::wait`], but learns the decisions
/// from `receiver`'s deliveries: it polls once every VIN has a decision by webhook (for the
/// documents), and falls back to polling when no delivery arrived for `fallback`.
pub async fn wait(
    session: &Session,
    vins: &[String],
    fallback: Duration,
    json: bool,
    receiver: &mut Receiver,
) -> Result<(WaitOutcome, Learned), CliError> {
    let bar = progress_bar(
        vins.len() as u64,
        json,
        "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} decided  {msg}",
    );
    bar.set_message(format!("waiting for webhooks on {}", receiver.url()));
    let result = wait_for_deliveries(session, vins, fallback, receiver, &bar).await;
    bar.finish_and_clear();
    result
}

async fn wait_for_deliveries(
    session: &Session,
    vins: &[String],
    fallback: Duration,
    receiver: &mut Receiver,
    bar: &indicatif::ProgressBar,
) -> Result<(WaitOutcome, Learned), CliError> {
    let deadline = session.until();
    let waited: HashSet<&str> = vins.iter().map(String::as_str).collect();
    let mut by_webhook: HashMap<String, ClearanceStatus> = HashMap::new();
    let mut latest: HashMap<String, Clearance> = HashMap::new();
    let mut learned = Learned::default();
    let mut last_failure = None;
    let mut failure = None;
    let mut quiet_until = Instant::now() + fallback;
    let mut listening = true;
    let decided = |latest: &HashMap<String, Clearance>| {
        vins.iter()
            .filter(|v| {
                latest
                    .get(*v)
                    .is_some_and(|c| c.item.status != ClearanceStatus::Pending)
            })
            .count()
    };
    let timed_out = loop {
        let poll_now = tokio::select! {
            delivery = receiver.next(), if listening => match delivery.map(|(delivery, ack)| {
                ack.handled();
                delivery
            }) {
                Some(Delivery { event: Event::FleetClearanceChanged { vin, status, .. }, .. })
                    if waited.contains(vin.as_str()) =>
                {
                    quiet_until = Instant::now() + fallback;
                    if status != ClearanceStatus::Pending && by_webhook.insert(vin, status).is_none() {
                        learned.from_webhooks += 1;
                    }
                    bar.set_position(by_webhook.len() as u64);
                    // Every VIN has a decision: one poll for the documents, which confirms it.
                    by_webhook.len() == vins.len()
                }
                Some(_) => false,
                // The receiver stopped: polling alone from now on.
                None => {
                    listening = false;
                    false
                }
            },
            () = tokio::time::sleep_until(quiet_until.min(deadline)) => {
                quiet_until = Instant::now() + fallback;
                true
            }
        };
        if Instant::now() >= deadline {
            break true;
        }
        if !poll_now {
            continue;
        }
        learned.polls += 1;
        match tokio::time::timeout_at(deadline, clearance::poll(session, vins)).await {
            Ok(Ok(items)) => {
                last_failure = None;
                for clearance in items {
                    latest.insert(clearance.item.vin.clone(), clearance);
                }
            }
            Err(_)
            | Ok(Err(CliError::Network {
                failure: NetFailure::Deadline,
                ..
            })) => break true,
            // Waited out until --timeout, as `clearance::wait` does.
            Ok(Err(e)) if clearance::is_transient(&e) => {
                tracing::debug!("poll failed, waiting on: {e}");
                last_failure = Some(e.to_string());
            }
            Ok(Err(e)) => {
                failure = Some(e);
                break false;
            }
        }
        if decided(&latest) == vins.len() {
            break false;
        }
    };
    let pending = vins
        .iter()
        .filter(|v| {
            latest
                .get(*v)
                .is_none_or(|c| c.item.status == ClearanceStatus::Pending)
        })
        .cloned()
        .collect();
    let clearances = vins.iter().filter_map(|v| latest.remove(v)).collect();
    Ok((
        WaitOutcome {
            clearances,
            pending,
            timed_out,
            last_failure,
            failure,
        },
        learned,
    ))
}
