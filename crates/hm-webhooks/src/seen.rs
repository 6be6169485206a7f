//! Duplicate suppression: which delivery ids are being processed or were processed recently.
//!
//! High Mobility retries a delivery under the same `X-HM-Delivery` id until the receiver answers
//! 2xx, so a slow or failed answer leads to the same event arriving again. A [`SeenStore`]
//! makes sure each id is processed once: [`SeenStore::claim`] before processing,
//! [`SeenStore::complete`] after success, [`SeenStore::release`] after failure (so that the
//! retry is processed).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use crate::Error;

/// What a store knew about a delivery id when it was claimed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// Not seen within the window: the caller now holds the claim and processes the delivery.
    New,
    /// Another request holds the claim and is processing it right now: answer a non-2xx status
    /// (the sender retries later) and do not process it.
    InProgress,
    /// Processed successfully within the window: answer 2xx and do not process it again.
    Processed,
}

/// A store of seen delivery ids that users can plug in, e.g. Redis for several receiver
/// instances. [`InMemorySeenStore`] serves a single process.
///
/// A Redis implementation maps naturally: `claim` is `SET id in-progress NX PX lease` (or a `GET`
/// when that fails), `complete` is `SET id processed PX window`, `release` a `DEL` sent in the
/// background.
#[async_trait::async_trait]
pub trait SeenStore: Send + Sync + 'static {
    /// Atomically claims `delivery_id` unless it is already known, and says which it was.
    async fn claim(&self, delivery_id: &str) -> Result<Claim, Error>;

    /// Records `delivery_id` as processed, so that retries within the window are answered as
    /// duplicates.
    async fn complete(&self, delivery_id: &str) -> Result<(), Error>;

    /// Gives up the claim on `delivery_id` after a failure, so that the sender's retry is processed.
    ///
    /// Called from `Drop` (see the axum extractor), so it must not block: a store that needs I/O
    /// starts it in the background. A release that is lost costs a delay, not an event: the claim
    /// expires on its own after the store's lease.
    fn release(&self, delivery_id: &str);
}

/// An in-process [`SeenStore`]: bounded in size, remembering processed ids for a time window.
///
/// - A claim that is neither completed nor released expires after the *lease* (default 60 s), so
///   a crash while processing delays the retry instead of losing the event.
/// - A processed id is remembered for the *window* (default 24 h).
/// - At most *capacity* ids (default 100,000) are held; when full, the id closest to expiry is
///   forgotten first.
///
/// Time is read from [`tokio::time::Instant`], so tests control it with `tokio::time::pause`.
#[derive(Debug)]
pub struct InMemorySeenStore {
    state: Mutex<State>,
    window: Duration,
    lease: Duration,
    capacity: usize,
}

#[derive(Debug, Default)]
struct State {
    entries: HashMap<String, Entry>,
    /// The same ids ordered by expiry (ties broken by insertion order), to expire and evict in
    /// logarithmic time.
    by_expiry: BTreeMap<(Instant, u64), String>,
    next_seq: u64,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    processed: bool,
    key: (Instant, u64),
}

impl InMemorySeenStore {
    /// How long a processed id is remembered by default.
    pub const DEFAULT_WINDOW: Duration = Duration::from_secs(24 * 60 * 60);
    /// How long an unfinished claim is held by default.
    pub const DEFAULT_LEASE: Duration = Duration::from_secs(60);
    /// How many ids are held at most by default.
    pub const DEFAULT_CAPACITY: usize = 100_000;

    /// A store with the default window, lease and capacity.
    pub fn new() -> Self {
        InMemorySeenStore {
            state: Mutex::default(),
            window: Self::DEFAULT_WINDOW,
            lease: Self::DEFAULT_LEASE,
            capacity: Self::DEFAULT_CAPACITY,
        }
    }

    /// How long a processed id is remembered: set it longer than the sender retries.
    pub fn window(mut self, window: Duration) -> Self {
        self.window = window;
        self
    }

    /// How long a claim is held when it is neither completed nor released: set it longer than
    /// processing a delivery takes.
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// The most ids held at once (at least 1).
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity.max(1);
        self
    }

    /// How many ids are held now (claimed or processed, not yet expired).
    pub fn len(&self) -> usize {
        let mut state = self.lock();
        state.expire(Instant::now());
        state.entries.len()
    }

    /// Whether no id is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state stays consistent at every await-free step, so a panic elsewhere cannot
        // leave it half-updated.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Default for InMemorySeenStore {
    fn default() -> Self {
        Self::new()
    }
}

impl State {
    fn expire(&mut self, now: Instant) {
        while let Some(entry) = self.by_expiry.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let id = entry.remove();
            self.entries.remove(&id);
        }
    }

    fn remove(&mut self, id: &str) {
        if let Some(entry) = self.entries.remove(id) {
            self.by_expiry.remove(&entry.key);
        }
    }

    /// Inserts or replaces `id`, evicting the entry closest to expiry when at capacity.
    fn insert(&mut self, id: &str, processed: bool, expires: Instant, capacity: usize) {
        self.remove(id);
        if self.entries.len() >= capacity
            && let Some((_, evicted)) = self.by_expiry.pop_first()
        {
            self.entries.remove(&evicted);
        }
        let key = (expires, self.next_seq);
        self.next_seq += 1;
        self.by_expiry.insert(key, id.to_owned());
        self.entries.insert(id.to_owned(), Entry { processed, key });
    }
}

#[async_trait::async_trait]
impl SeenStore for InMemorySeenStore {
    async fn claim(&self, delivery_id: &str) -> Result<Claim, Error> {
        let now = Instant::now();
        let mut state = self.lock();
        state.expire(now);
        Ok(match state.entries.get(delivery_id) {
            Some(entry) if entry.processed => Claim::Processed,
            Some(_) => Claim::InProgress,
            None => {
                state.insert(delivery_id, false, now + self.lease, self.capacity);
                Claim::New
            }
        })
    }

    async fn complete(&self, delivery_id: &str) -> Result<(), Error> {
        let now = Instant::now();
        let mut state = self.lock();
        state.expire(now);
        state.insert(delivery_id, true, now + self.window, self.capacity);
        Ok(())
    }

    fn release(&self, delivery_id: &str) {
        let mut state = self.lock();
        if state
            .entries
            .get(delivery_id)
            .is_some_and(|entry| !entry.processed)
        {
            state.remove(delivery_id);
        }
    }
}
