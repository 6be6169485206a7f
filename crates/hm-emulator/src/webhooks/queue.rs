//! The bookkeeping of deliveries: per webhook, the attempts waiting in the order they are due and
//! the attempts being sent; and, per clearance, when its next scheduled transition is due.
//! Nothing here waits or does I/O, so it all lives under one short lock.
//!
//! The changes of one clearance go to a webhook in the order they happened: while one of them
//! waits for its first attempt or a retry, the later ones are held back, and the next is released
//! once it was delivered or abandoned. A receiver that keeps the last status it was told so never
//! ends with a stale one.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use hm_webhooks::{Delivery, FLEET_CLEARANCE_CHANGED, SignedDelivery, WebhookSecret};
use url::Url;

use super::config::{WebhookConfig, WebhookDelivery};
use super::fault::{ActiveFault, WebhookFault};
use crate::state::clearance::Clearance;

/// Attempts of one webhook in flight at once: enough to keep up, few enough to stay gentle with
/// a slow receiver. A hung receiver holds its own slots only.
pub(super) const MAX_IN_FLIGHT_PER_WEBHOOK: usize = 4;

/// A registered webhook.
#[derive(Debug)]
pub(super) struct Subscription {
    pub config: WebhookConfig,
    pub url: Url,
    /// The URL for logs: without its query, which may carry a token.
    pub shown: String,
    pub secret: WebhookSecret,
}

/// One attempt to send one delivery to one webhook.
#[derive(Debug)]
pub(super) struct Attempt {
    /// Index of the webhook's outbox.
    pub webhook: usize,
    pub subscription: Arc<Subscription>,
    /// The `X-HM-Delivery` id, for logs.
    pub id: Arc<str>,
    /// The signed request, the same for every attempt.
    pub request: Arc<SignedDelivery>,
    /// 1 for the first attempt.
    pub number: u32,
    /// An injected duplicate of a delivery already delivered: not retried.
    pub copy: bool,
    /// The clearance (application and VIN) whose change this is: its deliveries go in order.
    pub chain: Option<Arc<str>>,
}

/// Counters over the emulator's life; see `Webhooks::stats`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WebhookStats {
    /// Deliveries created, one per webhook they go to (pings included, injected copies not).
    pub created: u64,
    /// Deliveries answered with a 2xx (injected copies not counted).
    pub delivered: u64,
    /// Attempts that failed: another status, no answer in time, no connection, or dropped by a fault.
    pub failed_attempts: u64,
    /// Attempts a [`WebhookFault`] dropped (also counted in `failed_attempts`).
    pub dropped: u64,
    /// Copies a [`WebhookFault`] sent of deliveries already delivered.
    pub duplicated: u64,
    /// Deliveries given up after `max_attempts` failed attempts.
    pub abandoned: u64,
    /// Deliveries not queued because their webhook already held `max_queued`.
    pub overflowed: u64,
    /// Deliveries held now: waiting for their first attempt or a retry, or being sent.
    pub queued: u64,
}

#[derive(Debug)]
struct Outbox {
    subscription: Arc<Subscription>,
    /// Attempts by due time, then creation order.
    due: BTreeMap<(DateTime<Utc>, u64), Attempt>,
    in_flight: usize,
    /// Per clearance with a delivery waiting or being sent, its later changes, held back.
    chains: HashMap<Arc<str>, VecDeque<Attempt>>,
}

impl Outbox {
    fn held(&self) -> usize {
        self.due.len() + self.in_flight + self.chains.values().map(VecDeque::len).sum::<usize>()
    }

    /// When its next attempt can start, unless all its slots are busy (a finished attempt wakes
    /// the worker anyway).
    fn next_start(&self) -> Option<DateTime<Utc>> {
        if self.in_flight >= MAX_IN_FLIGHT_PER_WEBHOOK {
            return None;
        }
        self.due.first_key_value().map(|((due, _), _)| *due)
    }
}

/// Deliveries and due transitions.
#[derive(Debug)]
pub(super) struct Queue {
    settings: WebhookDelivery,
    outboxes: Vec<Outbox>,
    next_seq: u64,
    /// Clearances with a scheduled transition, by due time: (due, client id, VIN).
    transitions: BTreeSet<(DateTime<Utc>, String, String)>,
    transition_of: HashMap<(String, String), DateTime<Utc>>,
    fault: Option<ActiveFault>,
    stats: WebhookStats,
}

impl Queue {
    pub(super) fn new(settings: WebhookDelivery) -> Self {
        Self {
            settings,
            outboxes: Vec::new(),
            next_seq: 0,
            transitions: BTreeSet::new(),
            transition_of: HashMap::new(),
            fault: None,
            stats: WebhookStats::default(),
        }
    }

    /// Adds a webhook and queues its ping, due `now`.
    pub(super) fn subscribe(&mut self, subscription: Subscription, now: DateTime<Utc>) {
        self.outboxes.push(Outbox {
            subscription: Arc::new(subscription),
            due: BTreeMap::new(),
            in_flight: 0,
            chains: HashMap::new(),
        });
        let webhook = self.outboxes.len() - 1;
        self.enqueue(webhook, Delivery::ping(new_id()), None, now);
    }

    pub(super) fn set_fault(&mut self, fault: Option<WebhookFault>) {
        self.fault = fault.map(ActiveFault::new);
    }

    pub(super) fn stats(&self) -> WebhookStats {
        WebhookStats {
            queued: self.outboxes.iter().map(|o| o.held() as u64).sum(),
            ..self.stats
        }
    }

    /// Queues the deliveries for the changes `clearance` of application `client_id` recorded
    /// last, and notes when its next transition is due.
    pub(super) fn clearance_changed(
        &mut self,
        client_id: &str,
        clearance: &Clearance,
        changes: usize,
        now: DateTime<Utc>,
    ) {
        let log = &clearance.changelog;
        // The first entry of a new clearance is its creation, not a change of status.
        let first = log.len().saturating_sub(changes).max(1);
        let chain: Arc<str> = format!("{client_id}/{}", clearance.vin).into();
        for change in log.iter().skip(first) {
            for webhook in 0..self.outboxes.len() {
                let config = &self.outboxes[webhook].subscription.config;
                if !(config.serves(client_id) && config.wants(FLEET_CLEARANCE_CHANGED)) {
                    continue;
                }
                let delivery = Delivery::fleet_clearance_changed(
                    new_id(),
                    clearance.vin.as_str(),
                    change.status.clone(),
                    change.reason.clone(),
                );
                self.enqueue(webhook, delivery, Some(chain.clone()), now);
            }
        }
        let key = (client_id.to_owned(), clearance.vin.clone());
        if let Some(due) = self.transition_of.remove(&key) {
            self.transitions
                .remove(&(due, key.0.clone(), key.1.clone()));
        }
        if let Some(next) = &clearance.scheduled {
            self.transitions
                .insert((next.timestamp, key.0.clone(), key.1.clone()));
            self.transition_of.insert(key, next.timestamp);
        }
    }

    /// The clearances whose scheduled transition is due at `now` (each forgotten here: settling
    /// it reports its next one).
    pub(super) fn due_transitions(&mut self, now: DateTime<Utc>) -> Vec<(String, String)> {
        let mut due = Vec::new();
        while let Some(first) = self.transitions.first() {
            if first.0 > now {
                break;
            }
            if let Some((_, client_id, vin)) = self.transitions.pop_first() {
                self.transition_of.remove(&(client_id.clone(), vin.clone()));
                due.push((client_id, vin));
            }
        }
        due
    }

    /// Takes the attempts due at `now` that have a free slot, to be sent. An attempt a fault
    /// drops is failed here instead.
    pub(super) fn start_due(&mut self, now: DateTime<Utc>) -> Vec<Attempt> {
        let mut started = Vec::new();
        for webhook in 0..self.outboxes.len() {
            loop {
                let outbox = &mut self.outboxes[webhook];
                if outbox.next_start().is_none_or(|due| due > now) {
                    break;
                }
                let Some((_, attempt)) = outbox.due.pop_first() else {
                    break;
                };
                // A copy is the duplicate fault itself: it always goes out.
                if !attempt.copy && self.fault.as_mut().is_some_and(ActiveFault::drops) {
                    self.stats.dropped += 1;
                    self.failed(attempt, "dropped by an injected fault", now);
                    continue;
                }
                self.outboxes[webhook].in_flight += 1;
                started.push(attempt);
            }
        }
        started
    }

    /// Records the outcome of an attempt that was sent.
    pub(super) fn finish(
        &mut self,
        attempt: Attempt,
        outcome: Result<(), String>,
        now: DateTime<Utc>,
    ) {
        let outbox = &mut self.outboxes[attempt.webhook];
        outbox.in_flight = outbox.in_flight.saturating_sub(1);
        match outcome {
            Ok(()) if attempt.copy => {}
            Ok(()) => {
                self.stats.delivered += 1;
                tracing::debug!(delivery_id = %attempt.id, url = %attempt.subscription.shown, attempt = attempt.number, "webhook delivered");
                self.release(&attempt, now);
                if self.fault.as_mut().is_some_and(ActiveFault::duplicates) {
                    self.stats.duplicated += 1;
                    self.insert(
                        Attempt {
                            copy: true,
                            ..attempt
                        },
                        now,
                    );
                }
            }
            Err(reason) => self.failed(attempt, &reason, now),
        }
    }

    /// The earliest time something becomes due: an attempt with a free slot or a transition.
    pub(super) fn next_due(&self) -> Option<DateTime<Utc>> {
        let attempts = self.outboxes.iter().filter_map(Outbox::next_start);
        let transition = self.transitions.first().map(|t| t.0);
        attempts.chain(transition).min()
    }

    /// Whether nothing is being sent and nothing is due at `now`.
    pub(super) fn is_settled(&self, now: DateTime<Utc>) -> bool {
        self.outboxes.iter().all(|o| {
            o.in_flight == 0
                && o.due
                    .first_key_value()
                    .is_none_or(|((due, _), _)| *due > now)
        }) && self.transitions.first().is_none_or(|t| t.0 > now)
    }

    fn enqueue(
        &mut self,
        webhook: usize,
        delivery: Delivery,
        chain: Option<Arc<str>>,
        now: DateTime<Utc>,
    ) {
        let subscription = self.outboxes[webhook].subscription.clone();
        let event = delivery.event.name().to_owned();
        let request = match delivery.signed(&subscription.secret) {
            Ok(request) => Arc::new(request),
            Err(error) => {
                // Ids are UUIDs and event names constants, which the rule accepts: a bug if seen.
                tracing::error!(%error, event, "webhook delivery could not be signed; not sent");
                return;
            }
        };
        self.stats.created += 1;
        if self.outboxes[webhook].held() as u64 >= self.settings.max_queued {
            self.stats.overflowed += 1;
            tracing::warn!(
                delivery_id = %delivery.id, event, url = %subscription.shown,
                max_queued = self.settings.max_queued,
                "webhook queue full: delivery dropped (raise webhook_delivery.max_queued, or make the receiver answer)"
            );
            return;
        }
        let attempt = Attempt {
            webhook,
            subscription,
            id: delivery.id.into(),
            request,
            number: 1,
            copy: false,
            chain,
        };
        if let Some(chain) = &attempt.chain {
            let chains = &mut self.outboxes[webhook].chains;
            if let Some(later) = chains.get_mut(chain) {
                // An earlier change of this clearance is not delivered yet.
                later.push_back(attempt);
                return;
            }
            chains.insert(chain.clone(), VecDeque::new());
        }
        self.insert(attempt, now);
    }

    /// `attempt` was delivered or abandoned: the next change of its clearance may go.
    fn release(&mut self, attempt: &Attempt, now: DateTime<Utc>) {
        let Some(chain) = &attempt.chain else { return };
        let chains = &mut self.outboxes[attempt.webhook].chains;
        match chains.get_mut(chain).and_then(VecDeque::pop_front) {
            Some(next) => self.insert(next, now),
            None => {
                chains.remove(chain);
            }
        }
    }

    fn insert(&mut self, attempt: Attempt, due: DateTime<Utc>) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.outboxes[attempt.webhook]
            .due
            .insert((due, seq), attempt);
    }

    /// Schedules the retry of a failed attempt, or abandons the delivery after the last one.
    fn failed(&mut self, attempt: Attempt, reason: &str, now: DateTime<Utc>) {
        self.stats.failed_attempts += 1;
        let (id, url, number) = (&attempt.id, &attempt.subscription.shown, attempt.number);
        if attempt.copy {
            tracing::debug!(delivery_id = %id, %url, reason, "injected duplicate not delivered");
            return;
        }
        if number >= self.settings.max_attempts {
            self.stats.abandoned += 1;
            tracing::warn!(delivery_id = %id, %url, attempts = number, reason, "webhook delivery abandoned after its last attempt");
            self.release(&attempt, now);
            return;
        }
        let wait = self.backoff(number);
        tracing::info!(delivery_id = %id, %url, attempt = number, reason, retry_in_secs = wait.as_secs(), "webhook delivery failed; will retry");
        let due = chrono::Duration::from_std(wait)
            .ok()
            .and_then(|wait| now.checked_add_signed(wait))
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        self.insert(
            Attempt {
                number: number + 1,
                ..attempt
            },
            due,
        );
    }

    /// The wait after failed attempt `number` (1-based): doubling from the first retry, capped.
    fn backoff(&self, number: u32) -> Duration {
        let first = self.settings.first_retry_secs;
        let doubled = 1u64
            .checked_shl(number.saturating_sub(1))
            .and_then(|factor| first.checked_mul(factor))
            .unwrap_or(u64::MAX);
        Duration::from_secs(doubled.min(self.settings.max_retry_secs))
    }
}

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}
