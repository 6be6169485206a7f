//! The one task behind the webhooks: settles clearance transitions when they fall due, sends the
//! deliveries that are due, and records each attempt's outcome. It waits on the virtual clock:
//! for the next due time when the clock follows tokio's, and for every `advance` either way.

use std::error::Error as _;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use tokio::task::JoinSet;

use super::queue::Attempt;
use crate::state::AppState;
use crate::state::clock::VirtualClock;

/// How much of a receiver's answer is read (and discarded) so that its connection can be reused.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// Runs until the emulator stops (the task is aborted then).
pub(crate) async fn run(state: Arc<AppState>) {
    let webhooks = &state.webhooks;
    let clock = &state.clock;
    let mut advances = clock.advances();
    let mut sending = JoinSet::new();
    loop {
        let now = clock.now();
        let transitions = webhooks.lock().due_transitions(now);
        for (client_id, vin) in transitions {
            // Settling reports the change to the observer (`Webhooks::changed`), which queues
            // its deliveries: the queue's lock must not be held here.
            state.clearances.status(&client_id, &vin, now);
        }
        let started = webhooks.lock().start_due(now);
        for attempt in started {
            sending.spawn(send(
                webhooks.client.clone(),
                attempt,
                state.clock.clone(),
                webhooks.timeout,
            ));
        }
        let next = webhooks.lock().next_due();
        webhooks.progress.notify_waiters();
        let wait = next
            .filter(|_| clock.follows_real_time())
            .map(|due| (due - now).to_std().unwrap_or_default());
        tokio::select! {
            Some(done) = sending.join_next(), if !sending.is_empty() => match done {
                Ok((attempt, outcome)) => webhooks.lock().finish(attempt, outcome, clock.now()),
                // Attempts never panic (see `send`) and are aborted only with this task.
                Err(error) => tracing::error!(%error, "a webhook attempt ended abnormally"),
            },
            () = webhooks.wake.notified() => {}
            Ok(()) = advances.changed() => {}
            () = sleep(wait) => {}
        }
    }
}

async fn sleep(wait: Option<Duration>) {
    match wait {
        Some(wait) => tokio::time::sleep(wait).await,
        None => std::future::pending().await,
    }
}

/// One attempt; its outcome is `Err(reason)` for anything but a 2xx answer within `timeout` of
/// virtual time.
async fn send(
    client: reqwest::Client,
    attempt: Attempt,
    clock: Arc<VirtualClock>,
    timeout: Duration,
) -> (Attempt, Result<(), String>) {
    let outcome = AssertUnwindSafe(post(&client, &attempt, &clock, timeout))
        .catch_unwind()
        .await
        .unwrap_or_else(|_| Err("sending it panicked".to_owned()));
    (attempt, outcome)
}

async fn post(
    client: &reqwest::Client,
    attempt: &Attempt,
    clock: &VirtualClock,
    timeout: Duration,
) -> Result<(), String> {
    let exchange = async {
        let mut response = client
            .post(attempt.subscription.url.clone())
            .headers(attempt.request.headers.clone())
            .body(attempt.request.body.clone())
            .send()
            .await
            .map_err(|e| describe(&e))?;
        let mut read = 0;
        while read < MAX_ANSWER_BYTES {
            match response.chunk().await {
                Ok(Some(chunk)) => read += chunk.len(),
                _ => break,
            }
        }
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("the receiver answered {status}"))
        }
    };
    tokio::select! {
        outcome = exchange => outcome,
        () = elapsed(clock, timeout) => Err(format!("no answer within {} s", timeout.as_secs())),
    }
}

/// Returns once `wait` of virtual time has passed: with tokio's clock when the virtual clock
/// follows it, and with every `advance` either way (so that a test moves an attempt's timeout
/// like any other emulator time, without sleeping).
async fn elapsed(clock: &VirtualClock, wait: Duration) {
    let deadline = chrono::Duration::from_std(wait)
        .ok()
        .and_then(|wait| clock.now().checked_add_signed(wait))
        .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC);
    let mut advances = clock.advances();
    loop {
        let now = clock.now();
        if now >= deadline {
            return;
        }
        let left = clock
            .follows_real_time()
            .then(|| (deadline - now).to_std().unwrap_or_default());
        tokio::select! {
            changed = advances.changed() => {
                if changed.is_err() {
                    // The clock is gone with the emulator; the task is aborted with it.
                    std::future::pending::<()>().await;
                }
            }
            () = sleep(left) => {}
        }
    }
}

/// The error with its causes (reqwest's own message leaves out the interesting part, e.g.
/// "connection refused").
fn describe(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
