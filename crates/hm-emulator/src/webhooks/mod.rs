//! The webhook front door: signed `ping` and `fleet_clearance_changed` deliveries to the
//! configured webhooks, as High Mobility sends them.
//!
//! The clearance state tells [`Webhooks`] of every change (it is the state's observer); the
//! deliveries wait in a bounded queue per webhook, and one task sends them, retries failures with
//! backoff on the virtual clock, and settles clearance transitions when they fall due, so that
//! their events go out on time even when nobody reads the clearance. API requests only ever queue.

mod config;
mod fault;
mod queue;
mod worker;

use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

pub use config::{EVENTS, WebhookConfig, WebhookDelivery};
pub use fault::WebhookFault;
pub use queue::WebhookStats;
pub(crate) use worker::run;

use crate::Error;
use crate::config::EmulatorConfig;
use crate::state::clearance::{Clearance, ClearanceObserver};
use crate::state::clock::VirtualClock;
use queue::{Queue, Subscription};

/// The emulator's webhook deliveries: reach it through `EmulatorHandle::webhooks`.
///
/// ```
/// # async fn f() -> Result<(), hm_emulator::Error> {
/// use hm_emulator::{Emulator, EmulatorConfig};
/// use hm_emulator::webhooks::{WebhookConfig, WebhookFault};
///
/// let emulator = Emulator::start(EmulatorConfig::demo()).await?;
/// // Registering a webhook sends it a `ping`; clearance changes follow.
/// emulator.webhooks().subscribe(WebhookConfig::new("http://127.0.0.1:9000/hooks", "my-secret"))?;
/// // One attempt in five is lost on the way (and retried).
/// emulator.webhooks().set_fault(WebhookFault::drops(0.2));
/// emulator.webhooks().settled().await; // everything due now was attempted
/// println!("{:?}", emulator.webhooks().stats());
/// # Ok(()) }
/// ```
pub struct Webhooks {
    queue: Mutex<Queue>,
    clock: Arc<VirtualClock>,
    client_ids: Vec<String>,
    /// Wakes the worker: new deliveries or a waiter in [`Webhooks::settled`].
    wake: Notify,
    /// Tells waiters in [`Webhooks::settled`] that the worker made progress.
    progress: Notify,
    client: reqwest::Client,
    /// How long one attempt may take.
    timeout: std::time::Duration,
}

impl std::fmt::Debug for Webhooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhooks")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl Webhooks {
    /// The webhooks of a validated configuration, each with its ping queued.
    pub(crate) fn new(config: &EmulatorConfig, clock: Arc<VirtualClock>) -> Result<Self, Error> {
        let client = reqwest::Client::builder()
            // A redirect would carry the signed body to a URL nobody configured: a failed attempt.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| {
                Error::Serve(std::io::Error::other(format!(
                    "cannot build the HTTP client for webhook deliveries: {e}"
                )))
            })?;
        let webhooks = Self {
            queue: Mutex::new(Queue::new(config.webhook_delivery.clone())),
            clock,
            client_ids: config
                .applications
                .iter()
                .map(|a| a.client_id.clone())
                .collect(),
            wake: Notify::new(),
            progress: Notify::new(),
            client,
            timeout: std::time::Duration::from_secs(config.webhook_delivery.timeout_secs),
        };
        for (i, webhook) in config.webhooks.iter().enumerate() {
            webhooks.add(webhook.clone(), &format!("webhooks[{i}]"))?;
        }
        Ok(webhooks)
    }

    /// Registers a webhook while the emulator runs and sends it a `ping`, as the console does
    /// when a webhook is configured. Fails with [`Error::InvalidWebhook`] for a URL that is not
    /// https (http only to loopback), a blank secret, an unknown event or application.
    pub fn subscribe(&self, webhook: WebhookConfig) -> Result<(), Error> {
        let which = config::shown_url(&webhook.url);
        self.add(webhook, &which)
    }

    fn add(&self, config: WebhookConfig, which: &str) -> Result<(), Error> {
        let client_ids: Vec<&str> = self.client_ids.iter().map(String::as_str).collect();
        let (url, secret) = config.check(which, &client_ids)?;
        let shown = config::shown_url(url.as_str());
        tracing::info!(url = %shown, events = ?config.events, "webhook registered");
        self.lock().subscribe(
            Subscription {
                config,
                url,
                shown,
                secret,
            },
            self.clock.now(),
        );
        self.wake.notify_one();
        Ok(())
    }

    /// Sets (or replaces) the fault injected into deliveries.
    pub fn set_fault(&self, fault: WebhookFault) {
        self.lock().set_fault(Some(fault));
    }

    /// Removes the injected fault.
    pub fn clear_fault(&self) {
        self.lock().set_fault(None);
    }

    /// What happened to deliveries so far, and how many are held now.
    pub fn stats(&self) -> WebhookStats {
        self.lock().stats()
    }

    /// Waits until nothing is being sent and nothing is due at the current virtual time: every
    /// delivery due by now was attempted (retries due later keep waiting), every clearance
    /// transition due by now was reported. Tests call it after `EmulatorHandle::advance` instead
    /// of sleeping.
    pub async fn settled(&self) {
        loop {
            let progress = self.progress.notified();
            tokio::pin!(progress);
            progress.as_mut().enable();
            if self.lock().is_settled(self.clock.now()) {
                return;
            }
            self.wake.notify_one();
            progress.await;
        }
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        // Every step under the lock leaves the queue consistent, so a poisoned lock is still usable.
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl ClearanceObserver for Webhooks {
    fn changed(&self, client_id: &str, clearance: &Clearance, changes: usize) {
        self.lock()
            .clearance_changed(client_id, clearance, changes, self.clock.now());
        self.wake.notify_one();
    }
}
