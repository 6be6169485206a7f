//! Duplicate suppression: which delivery ids are being processed or were processed recently.
//!
//! High Mobility retries a delivery under the same `X-HM-Delivery` id until the receiver answers
//! 2xx, so a slow or failed answer leads to the same event arriving again. A [`SeenStore`]
//! makes sure each id is processed once: [`SeenStore::claim`] before processing,
//! [`SeenStore::complete`] after success, [`SeenStore::release`] after failure (so that the
//! retry is processed).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use crate::Error;

/// What a store knew about a delivery id when it was claimed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// Not seen within the window: the caller now holds the claim, processes the delivery, and
    /// gives the token back to [`SeenStore::release`] if processing fails.
    New(ClaimToken),
    /// Another request holds the claim and is processing it right now: answer a non-2xx status
    /// (the sender retries later) and do not process it.
    InProgress,
    /// Processed successfully within the window: answer 2xx and do not process it again.
    Processed,
}

/// Which claim of a delivery id the holder has: a claim that expired and was claimed again by a
/// retry has another token, so its late [`SeenStore::release`] leaves the retry's claim alone.
///
/// Each claim gets its own value. A store shared by several processes draws it at random (128
/// bits make a collision negligible); [`InMemorySeenStore`] counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClaimToken(u128);

impl ClaimToken {
    /// A token with this value, for [`SeenStore`] implementations.
    pub fn new(value: u128) -> Self {
        ClaimToken(value)
    }

    /// The token's value, e.g. to store beside the claim.
    pub fn get(self) -> u128 {
        self.0
    }
}

/// A store of seen delivery ids that users can plug in, e.g. Redis for several receiver
/// instances. [`InMemorySeenStore`] serves a single process.
///
/// A Redis implementation maps naturally: `claim` is `SET id <random token> NX PX lease` (or a
/// `GET` when that fails), `complete` is `SET id processed PX window`, `release` a
/// compare-and-delete (a script deleting the key only while it still holds the token) sent in
/// the background.
#[async_trait::async_trait]
pub trait SeenStore: Send + Sync + 'static {
    /// Atomically claims `delivery_id` unless it is already known, and says which it was.
    async fn claim(&self, delivery_id: &str) -> Result<Claim, Error>;

    /// Records `delivery_id` as processed, so that retries within the window are answered as
    /// duplicates. This replaces any claim on it: the delivery was processed, whoever holds it.
    async fn complete(&self, delivery_id: &str) -> Result<(), Error>;

    /// Gives up the claim `token` on `delivery_id` after a failure, so that the sender's retry is
    /// processed. Does nothing when the id is processed or claimed under another token (the
    /// claim expired and a retry claimed it anew).
    ///
    /// Called from `Drop` (see the axum extractor), so it must not block: a store that needs I/O
    /// starts it in the background. A release that is lost costs a delay, not an event: the claim
    /// expires on its own after the store's lease.
    fn release(&self, delivery_id: &str, token: ClaimToken);
}

/// An in-process [`SeenStore`]: bounded in size, remembering processed ids for a time window.
///
/// - A claim that is neither completed nor released expires after the *lease* (default 60 s), so
///   a crash while processing delays the retry instead of losing the event.
/// - A processed id is remembered for the *window* (default 24 h).
/// - At most *capacity* ids (default 100,000) are held. When full, the processed id closest to
///   expiry is forgotten to make room. Claims in progress are never evicted (their retry would be
///   processed a second time, concurrently): when every id held is one, claiming a new id fails
///   with [`Error::StoreFull`] (answered 503, so the sender retries later).
///
/// A window or lease too long for the clock (e.g. `Duration::MAX`) means "never expires".
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
    entries: HashMap<Arc<str>, Entry>,
    /// The ids claimed and the ids processed, each ordered by expiry (ties broken by insertion
    /// order), to expire and evict in logarithmic time.
    claims: BTreeMap<Key, Arc<str>>,
    processed: BTreeMap<Key, Arc<str>>,
    next_seq: u64,
}

/// Where an id sits in its expiry order; the sequence number, unique per insertion, is also the
/// claim's token.
type Key = (Expiry, u64);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Expiry {
    At(Instant),
    /// Beyond what the clock can represent: sorts after every instant.
    Never,
}

impl Expiry {
    fn after(now: Instant, duration: Duration) -> Self {
        now.checked_add(duration).map_or(Expiry::Never, Expiry::At)
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    processed: bool,
    key: Key,
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
    /// `Duration::MAX` remembers it until it is evicted to make room.
    pub fn window(mut self, window: Duration) -> Self {
        self.window = window;
        self
    }

    /// How long a claim is held when it is neither completed nor released: set it longer than
    /// processing a delivery takes. `Duration::MAX` holds it until it is released.
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
        for order in [&mut self.claims, &mut self.processed] {
            while let Some(entry) = order.first_entry() {
                if entry.key().0 > Expiry::At(now) {
                    break;
                }
                self.entries.remove(&entry.remove());
            }
        }
    }

    fn order(&mut self, processed: bool) -> &mut BTreeMap<Key, Arc<str>> {
        if processed {
            &mut self.processed
        } else {
            &mut self.claims
        }
    }

    /// Forgets `id`; says whether it was held.
    fn remove(&mut self, id: &str) -> bool {
        match self.entries.remove(id) {
            Some(entry) => {
                self.order(entry.processed).remove(&entry.key);
                true
            }
            None => false,
        }
    }

    /// Inserts or replaces `id` and returns its sequence number. A new id at capacity first
    /// evicts the processed id closest to expiry; with none to evict, it is refused.
    fn insert(
        &mut self,
        id: &str,
        processed: bool,
        expiry: Expiry,
        capacity: usize,
    ) -> Result<u64, Error> {
        let replaced = self.remove(id);
        if !replaced && self.entries.len() >= capacity {
            let (_, evicted) = self
                .processed
                .pop_first()
                .ok_or(Error::StoreFull { capacity })?;
            self.entries.remove(&evicted);
        }
        let key = (expiry, self.next_seq);
        self.next_seq += 1;
        let id: Arc<str> = Arc::from(id);
        self.order(processed).insert(key, id.clone());
        self.entries.insert(id, Entry { processed, key });
        Ok(key.1)
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
                let expiry = Expiry::after(now, self.lease);
                let seq = state.insert(delivery_id, false, expiry, self.capacity)?;
                Claim::New(ClaimToken::new(seq.into()))
            }
        })
    }

    async fn complete(&self, delivery_id: &str) -> Result<(), Error> {
        let now = Instant::now();
        let mut state = self.lock();
        state.expire(now);
        let expiry = Expiry::after(now, self.window);
        state.insert(delivery_id, true, expiry, self.capacity)?;
        Ok(())
    }

    fn release(&self, delivery_id: &str, token: ClaimToken) {
        let mut state = self.lock();
        if state
            .entries
            .get(delivery_id)
            .is_some_and(|entry| !entry.processed && u128::from(entry.key.1) == token.get())
        {
            state.remove(delivery_id);
        }
    }
}
