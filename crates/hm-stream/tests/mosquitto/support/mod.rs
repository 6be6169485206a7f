//! The harness: a Mosquitto broker, a chaos proxy, a publisher, and helpers to wait on conditions.

pub mod broker;
pub mod gate;
pub mod proxy;
pub mod publisher;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hm_stream::{CaRoots, DataEnvironment, StatsSnapshot, StreamConfig};
use uuid::Uuid;

use crate::common::pki::TestPki;

pub const APP_ID: Uuid = Uuid::from_u128(0x48aa1779_91c2_468e_97e9_ab112efd53b9);

/// The application's sandbox topic.
pub fn topic() -> String {
    hm_stream::topic(DataEnvironment::Sandbox, APP_ID)
}

/// A configuration for the test broker (or proxy) at `url`, with short reconnect delays.
pub fn config(url: &str, pki: &TestPki, client_id: &str) -> StreamConfig {
    StreamConfig::new(APP_ID, pki.client.identity())
        .environment(DataEnvironment::Sandbox)
        .broker_url(url)
        .ca_roots(CaRoots::from_pem(&pki.ca_pem).unwrap())
        .client_id(client_id)
        .reconnect_backoff(Duration::from_millis(10), Duration::from_millis(200))
        .shutdown_timeout(Duration::from_secs(20))
}

/// A valid MQTT V2 message with a given id, for VIN number `vehicle`.
pub fn message(message_id: &str, vehicle: usize) -> String {
    format!(
        r#"{{"version":2,"application_id":"{APP_ID}","message_id":"{message_id}","vin":"EXVETESTVIN{vehicle:06}","data":{{"diagnostics":{{"odometer":[{{"data":{{"value":{vehicle},"unit":"kilometers"}},"timestamp":"2021-10-06T13:59:25.648943Z"}}]}}}}}}"#
    )
}

/// Polls `condition` every 5 ms until it holds (true) or `timeout` passes (false).
pub async fn wait_for(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if condition() {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Waits for a condition on a consumer's counters, failing with the counters when it does not hold.
pub async fn wait_stats(
    stats: &hm_stream::Stats,
    what: &str,
    condition: impl Fn(&StatsSnapshot) -> bool,
) {
    let ok = wait_for(Duration::from_secs(60), || condition(&stats.snapshot())).await;
    assert!(ok, "timed out waiting for {what}: {:?}", stats.snapshot());
}

/// How many times each message id was handled.
#[derive(Clone, Default)]
pub struct Handled(Arc<Mutex<HashMap<String, u32>>>);

impl Handled {
    pub fn record(&self, message_id: &str) {
        *self
            .0
            .lock()
            .unwrap()
            .entry(message_id.to_owned())
            .or_default() += 1;
    }

    pub fn count(&self, message_id: &str) -> u32 {
        self.0.lock().unwrap().get(message_id).copied().unwrap_or(0)
    }

    pub fn distinct(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    pub fn snapshot(&self) -> HashMap<String, u32> {
        self.0.lock().unwrap().clone()
    }
}

/// A shutdown signal for `Consumer::run_until`: send on the sender to stop gracefully.
pub fn stop_signal() -> (
    tokio::sync::oneshot::Sender<()>,
    impl std::future::Future<Output = ()> + Send + 'static,
) {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    (tx, async move {
        let _ = rx.await;
    })
}

/// Handlers wait here while it is closed.
#[derive(Clone)]
pub struct Gate(Arc<tokio::sync::watch::Sender<bool>>);

impl Gate {
    pub fn open() -> Self {
        Gate(Arc::new(tokio::sync::watch::channel(true).0))
    }

    pub fn set(&self, open: bool) {
        self.0.send_replace(open);
    }

    pub async fn pass(&self) {
        let mut rx = self.0.subscribe();
        let _ = rx.wait_for(|open| *open).await;
    }
}
