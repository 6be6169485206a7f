//! Work over a whole fleet: many requests at once, bounded, pausing every worker together when the
//! API says 429 (honouring `Retry-After`), one result per vehicle as soon as it is there.

use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use futures::{Stream, StreamExt};
use tokio::time::Instant;

use crate::api::Reply;
use crate::error::CliError;

/// Attempts per vehicle when the API answers 429, 502, 503 or 504.
pub const MAX_ATTEMPTS: u32 = 8;
/// Longest pause taken for one `Retry-After` or backoff.
const MAX_PAUSE: Duration = Duration::from_secs(60);
/// First backoff when the API sends no `Retry-After`.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);

/// A pause shared by all workers: after a 429 nobody sends until it is over.
#[derive(Debug, Default)]
pub struct Gate {
    closed_until: Mutex<Option<Instant>>,
}

impl Gate {
    /// Waits until the gate is open.
    pub async fn pass(&self) {
        self.pass_before(None).await;
    }

    /// Waits until the gate is open, unless it stays closed until `deadline` or later: then
    /// returns `false` at once instead of waiting in vain.
    pub async fn pass_before(&self, deadline: Option<Instant>) -> bool {
        loop {
            let until = *self.closed_until.lock().unwrap_or_else(|e| e.into_inner());
            match until {
                Some(at) if at > Instant::now() => {
                    if deadline.is_some_and(|d| at >= d) {
                        return false;
                    }
                    tokio::time::sleep_until(at).await;
                }
                _ => return true,
            }
        }
    }

    /// Closes the gate for `pause` from now (a later closing time wins).
    pub fn close_for(&self, pause: Duration) {
        let at = Instant::now() + pause.min(MAX_PAUSE);
        let mut until = self.closed_until.lock().unwrap_or_else(|e| e.into_inner());
        if until.is_none_or(|current| current < at) {
            *until = Some(at);
        }
    }
}

/// Rank of an exit code among bulk failures, most severe first.
fn severity(code: u8) -> u8 {
    use crate::error::{EXIT_API, EXIT_AUTH, EXIT_FAILURE, EXIT_UNREACHABLE};
    match code {
        EXIT_FAILURE => 0,
        EXIT_AUTH => 1,
        EXIT_UNREACHABLE => 2,
        EXIT_API => 3,
        _ => 4,
    }
}

fn is_transient(status: u16) -> bool {
    matches!(status, 429 | 502 | 503 | 504)
}

/// Sends `attempt` until the reply is not transient (429, 502, 503, 504) or the attempts run out;
/// each transient reply closes `gate` for its `Retry-After`, or an exponential backoff.
///
/// One item's attempts and pauses together take at most `limit` (its `--timeout`), counted from
/// its first attempt (waiting behind another item's pause is queueing, not its time): when the
/// next pause would end past it, the last transient reply is the answer (an outage), at once.
/// `attempt` gets the instant its request must be done by.
pub async fn with_retries<F, Fut>(
    gate: &Gate,
    limit: Duration,
    mut attempt: F,
) -> Result<Reply, CliError>
where
    F: FnMut(Instant) -> Fut,
    Fut: Future<Output = Result<Reply, CliError>>,
{
    gate.pass().await;
    let until = Instant::now() + limit;
    let mut backoff = FIRST_BACKOFF;
    for number in 1..=MAX_ATTEMPTS {
        let reply = attempt(until).await?;
        if !is_transient(reply.status) || number == MAX_ATTEMPTS {
            return Ok(reply);
        }
        tracing::debug!(
            status = reply.status,
            retry_after_s = reply.retry_after.map(|d| d.as_secs()),
            "transient reply; pausing every worker"
        );
        gate.close_for(reply.retry_after.unwrap_or(backoff));
        backoff = (backoff * 2).min(MAX_PAUSE);
        if !gate.pass_before(Some(until)).await {
            return Ok(reply);
        }
    }
    unreachable!("the last attempt returns")
}

/// Runs `fetch` for every item, at most `concurrency` at once, with retries through one shared
/// [`Gate`]; yields `(item, result)` in completion order.
pub fn run<'a, F, Fut>(
    items: Vec<String>,
    concurrency: usize,
    gate: &'a Gate,
    limit: Duration,
    fetch: F,
) -> impl Stream<Item = (String, Result<Reply, CliError>)> + 'a
where
    F: Fn(String, Instant) -> Fut + Clone + 'a,
    Fut: Future<Output = Result<Reply, CliError>> + 'a,
{
    futures::stream::iter(items)
        .map(move |item| {
            let fetch = fetch.clone();
            async move {
                let result = with_retries(gate, limit, |until| fetch(item.clone(), until)).await;
                (item, result)
            }
        })
        .buffer_unordered(concurrency.max(1))
}

/// The failures of a bulk run, printed at the end.
#[derive(Debug, Default)]
pub struct Failures {
    list: Vec<(String, CliError)>,
}

impl Failures {
    /// Records the failure of `item`.
    pub fn push(&mut self, item: String, error: CliError) {
        self.list.push((item, error));
    }

    /// How many failed.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Prints the failures on stderr (JSON lines with `json`) and returns the run's error, if any.
    pub fn finish(mut self, total: usize, json: bool) -> Result<(), CliError> {
        if self.list.is_empty() {
            return Ok(());
        }
        self.list.sort_by(|a, b| a.0.cmp(&b.0));
        if json {
            for (item, error) in &self.list {
                let mut doc = error.to_json();
                doc["vin"] = serde_json::json!(item);
                eprintln!("{doc}");
            }
        } else {
            eprintln!("{} of {total} failed:", self.list.len());
            for (item, error) in &self.list {
                eprintln!(
                    "  {item}: {}",
                    crate::scrub::escape_controls(&error.to_string())
                );
            }
        }
        // The most severe failure decides, whatever the VINs' order: a broken setup (auth) over
        // an unreachable API over a refusal of one vehicle.
        let code = self
            .list
            .iter()
            .map(|(_, e)| e.exit_code())
            .min_by_key(|code| severity(*code))
            .unwrap_or(crate::error::EXIT_FAILURE);
        Err(CliError::Partial {
            failed: self.list.len(),
            total,
            code,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn reply(status: u16, retry_after: Option<u64>) -> Reply {
        Reply {
            status,
            request_id: None,
            retry_after: retry_after.map(Duration::from_secs),
            body: bytes::Bytes::from_static(b"{}"),
            secrets: crate::scrub::Secrets::default(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_pauses_every_worker_for_retry_after_and_concurrency_stays_bounded() {
        let start = Instant::now();
        let calls = Arc::new(Mutex::new(Vec::<(String, Duration)>::new()));
        let in_flight = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let gate = Gate::default();
        let items: Vec<String> = (0..20).map(|i| format!("V{i:02}")).collect();
        let fetch = {
            let calls = calls.clone();
            let in_flight = in_flight.clone();
            let peak = peak.clone();
            move |item: String, _until: Instant| {
                let calls = calls.clone();
                let in_flight = in_flight.clone();
                let peak = peak.clone();
                async move {
                    let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    let first = {
                        let mut calls = calls.lock().expect("lock");
                        let first = calls.is_empty();
                        calls.push((item.clone(), start.elapsed()));
                        first
                    };
                    in_flight.fetch_sub(1, Ordering::SeqCst);
                    // The very first answer is a 429 asking for 30 s.
                    Ok(if first {
                        reply(429, Some(30))
                    } else {
                        reply(200, None)
                    })
                }
            }
        };
        let results: Vec<_> = run(items, 4, &gate, Duration::from_secs(600), fetch)
            .collect()
            .await;
        assert_eq!(results.len(), 20);
        assert!(
            results
                .iter()
                .all(|(_, r)| r.as_ref().is_ok_and(|r| r.status == 200))
        );
        assert!(peak.load(Ordering::SeqCst) <= 4);
        let calls = calls.lock().expect("lock");
        assert_eq!(calls.len(), 21, "one retry");
        // Requests that started after the 429 was seen waited for the pause.
        let late: Vec<_> = calls
            .iter()
            .skip(4)
            .filter(|(_, at)| *at < Duration::from_secs(30))
            .collect();
        assert!(late.is_empty(), "sent during the pause: {late:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn without_retry_after_the_backoff_grows_and_attempts_are_bounded() {
        let gate = Gate::default();
        let start = Instant::now();
        let count = AtomicUsize::new(0);
        let result = with_retries(&gate, Duration::from_secs(3600), |_| {
            count.fetch_add(1, Ordering::SeqCst);
            async { Ok(reply(503, None)) }
        })
        .await
        .expect("a reply");
        assert_eq!(result.status, 503);
        assert_eq!(count.load(Ordering::SeqCst), MAX_ATTEMPTS as usize);
        // 1 + 2 + 4 + ... seconds of backoff, capped at a minute each.
        assert!(start.elapsed() >= Duration::from_secs(1 + 2 + 4 + 8 + 16 + 32 + 60));
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_past_the_items_limit_ends_it_at_once_with_the_last_reply() {
        let gate = Gate::default();
        let start = Instant::now();
        let count = AtomicUsize::new(0);
        let result = with_retries(&gate, Duration::from_secs(2), |until| {
            count.fetch_add(1, Ordering::SeqCst);
            assert!(until <= start + Duration::from_secs(2));
            async { Ok(reply(429, Some(999_999))) }
        })
        .await
        .expect("a reply");
        assert_eq!(result.status, 429);
        assert_eq!(count.load(Ordering::SeqCst), 1);
        assert_eq!(start.elapsed(), Duration::ZERO);
        // Backoffs of 1 + 2 s fit in 4 s; the next one (4 s) would not.
        let count = AtomicUsize::new(0);
        let gate = Gate::default();
        let start = Instant::now();
        with_retries(&gate, Duration::from_secs(4), |_| {
            count.fetch_add(1, Ordering::SeqCst);
            async { Ok(reply(503, None)) }
        })
        .await
        .expect("a reply");
        assert_eq!(count.load(Ordering::SeqCst), 3);
        assert_eq!(start.elapsed(), Duration::from_secs(3));
    }

    #[test]
    fn the_most_severe_failure_decides_the_exit_code_whatever_the_order() {
        let api = || crate::api::vehicle_data_error("A", reply(404, None));
        let down = || CliError::Network {
            failure: crate::error::NetFailure::Refused,
            target: "GET x".into(),
            detail: "refused".into(),
        };
        for order in [true, false] {
            let mut failures = Failures::default();
            let (first, second) = if order { ("A", "B") } else { ("B", "A") };
            failures.push(first.into(), api());
            failures.push(second.into(), down());
            let error = failures.finish(3, true).expect_err("failed");
            assert_eq!(error.exit_code(), crate::error::EXIT_UNREACHABLE);
            assert_eq!(
                error.to_string(),
                "2 of 3 vehicle(s) failed; the others succeeded"
            );
        }
        let mut failures = Failures::default();
        failures.push("A".into(), api());
        let error = failures.finish(1, true).expect_err("failed");
        assert_eq!(error.to_string(), "all 1 vehicle(s) failed");
    }
}
