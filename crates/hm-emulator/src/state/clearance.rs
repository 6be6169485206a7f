//! Clearance records and their lifecycle.
//!
//! Transitions that happen "later" (pending -> approved, revoking -> revoked, ...) are stored as a
//! scheduled step and applied lazily whenever the record is read, with the timestamp at which they
//! were due. So moving the virtual clock is enough to make them happen; no background task runs
//! here. A [`ClearanceObserver`] (the webhook front door) is told of every change once the request
//! that made it is done, and settles due transitions itself to report them on time.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};

/// Changelog entries kept per clearance; older ones are dropped, so a client that requests and
/// removes the same clearance in a loop cannot grow memory.
pub const MAX_CHANGELOG: usize = 64;

/// A clearance status: the fleet clearance API's own (generated) enum.
pub use hm_api::fleet_clearance::types::ClearanceStatus as Status;

/// Whether the clearance is over and a new one may be requested.
pub fn is_final(status: &Status) -> bool {
    matches!(
        status,
        Status::Rejected | Status::Revoked | Status::Canceled
    )
}

/// One changelog entry.
#[derive(Debug, Clone)]
pub struct Change {
    /// When the status was entered.
    pub timestamp: DateTime<Utc>,
    /// The status entered.
    pub status: Status,
    /// Why (for rejections).
    pub reason: Option<String>,
}

/// One vehicle's clearance for one application.
#[derive(Debug, Clone)]
pub struct Clearance {
    /// The VIN.
    pub vin: String,
    /// The brand as given when the clearance was requested.
    pub brand: String,
    /// The caller's tags.
    pub tags: BTreeMap<String, String>,
    /// When the current clearance request was made.
    pub inserted_at: DateTime<Utc>,
    /// Every status the clearance went through, oldest first.
    pub changelog: Vec<Change>,
    /// A transition due later.
    pub scheduled: Option<Change>,
    /// Changelog entries recorded since the observer was last told (1 for a new clearance).
    pub unannounced: usize,
}

impl Clearance {
    /// A pending clearance that turns into `then` at `then.timestamp`.
    pub fn pending(
        vin: String,
        brand: String,
        tags: BTreeMap<String, String>,
        now: DateTime<Utc>,
        then: Change,
    ) -> Self {
        Self {
            vin,
            brand,
            tags,
            inserted_at: now,
            changelog: vec![Change {
                timestamp: now,
                status: Status::Pending,
                reason: None,
            }],
            scheduled: Some(then),
            unannounced: 1,
        }
    }

    /// The current status (after [`Clearance::settle`]).
    pub fn status(&self) -> Status {
        self.changelog
            .last()
            .map(|c| c.status.clone())
            .unwrap_or(Status::Pending)
    }

    /// When it was last approved.
    pub fn approved_at(&self) -> Option<DateTime<Utc>> {
        self.changelog
            .iter()
            .rev()
            .find(|c| c.status == Status::Approved)
            .map(|c| c.timestamp)
    }

    /// Applies a scheduled transition that is due at `now`.
    pub fn settle(&mut self, now: DateTime<Utc>) {
        if let Some(step) = self.scheduled.take_if(|s| s.timestamp <= now) {
            self.record(step);
        }
    }

    fn record(&mut self, change: Change) {
        if self.changelog.len() >= MAX_CHANGELOG {
            self.changelog.remove(0);
        }
        self.changelog.push(change);
        self.unannounced += 1;
    }

    /// Enters `status` now and schedules `then`.
    pub fn transition(&mut self, status: Status, now: DateTime<Utc>, then: Option<Change>) {
        self.record(Change {
            timestamp: now,
            status,
            reason: None,
        });
        self.scheduled = then;
    }
}

/// Told of every new clearance and every status change, while the clearances are still locked:
/// it must neither block nor touch the clearances.
pub trait ClearanceObserver: Send + Sync {
    /// `clearance` of application `client_id` recorded its last `changes` changelog entries since
    /// the observer was last told (a new clearance: its first entry).
    fn changed(&self, client_id: &str, clearance: &Clearance, changes: usize);
}

/// All clearances, by application and VIN.
#[derive(Default)]
pub struct Clearances {
    by_app: Mutex<HashMap<String, BTreeMap<String, Clearance>>>,
    observer: Option<Arc<dyn ClearanceObserver>>,
}

impl Clearances {
    /// No clearances yet; `observer` is told of every change.
    pub fn observed_by(observer: Arc<dyn ClearanceObserver>) -> Self {
        Self {
            by_app: Mutex::default(),
            observer: Some(observer),
        }
    }

    /// Locks the clearances of `client_id`, settled at `now`. The observer is told of the changes
    /// when the lock is dropped.
    pub fn of_app(&self, client_id: &str, now: DateTime<Utc>) -> AppClearances<'_> {
        let mut clearances = self.of_app_unsettled(client_id);
        clearances.map().values_mut().for_each(|c| c.settle(now));
        clearances
    }

    /// Locks the clearances of `client_id` as they are; the caller settles what it reads.
    pub fn of_app_unsettled(&self, client_id: &str) -> AppClearances<'_> {
        AppClearances {
            guard: self.by_app.lock().unwrap_or_else(|p| p.into_inner()),
            client_id: client_id.to_string(),
            observer: self.observer.as_deref(),
        }
    }

    /// The settled status of one clearance, without settling the rest.
    pub fn status(&self, client_id: &str, vin: &str, now: DateTime<Utc>) -> Option<Status> {
        let mut guard = self.by_app.lock().unwrap_or_else(|p| p.into_inner());
        let clearance = guard.get_mut(client_id)?.get_mut(vin)?;
        clearance.settle(now);
        announce(self.observer.as_deref(), client_id, clearance);
        Some(clearance.status())
    }
}

/// Tells the observer of the clearance's unannounced changes, if there are any.
fn announce(observer: Option<&dyn ClearanceObserver>, client_id: &str, clearance: &mut Clearance) {
    if clearance.unannounced > 0 {
        if let Some(observer) = observer {
            observer.changed(client_id, clearance, clearance.unannounced);
        }
        clearance.unannounced = 0;
    }
}

/// The locked clearances of one application.
pub struct AppClearances<'a> {
    guard: MutexGuard<'a, HashMap<String, BTreeMap<String, Clearance>>>,
    client_id: String,
    observer: Option<&'a dyn ClearanceObserver>,
}

impl Drop for AppClearances<'_> {
    fn drop(&mut self) {
        if let Some(all) = self.guard.get_mut(&self.client_id) {
            for clearance in all.values_mut() {
                announce(self.observer, &self.client_id, clearance);
            }
        }
    }
}

impl AppClearances<'_> {
    /// The application's clearances by VIN.
    pub fn map(&mut self) -> &mut BTreeMap<String, Clearance> {
        self.guard.entry(self.client_id.clone()).or_default()
    }
}
