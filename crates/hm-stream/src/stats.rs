//! Counters that show what the consumer did, for metrics and for tests that wait on conditions.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// A live view of a consumer's counters; cheap to clone and to read from any task.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    inner: Arc<Counters>,
}

#[derive(Debug, Default)]
struct Counters {
    received: AtomicU64,
    handled: AtomicU64,
    duplicates: AtomicU64,
    bad: AtomicU64,
    stray: AtomicU64,
    acked: AtomicU64,
    connections: AtomicU64,
    connection_losses: AtomicU64,
    subscriptions: AtomicU64,
    in_flight: AtomicU64,
    peak_in_flight: AtomicU64,
}

/// The counters at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct StatsSnapshot {
    /// Messages received from the broker (every delivery, copies included).
    pub received: u64,
    /// Messages the handler finished successfully.
    pub handled: u64,
    /// Redeliveries dropped because their `message_id` was handled or being handled.
    pub duplicates: u64,
    /// Messages that could not be decoded (reported, then acknowledged or dead-lettered).
    pub bad: u64,
    /// Messages on another topic than the application's (from a subscription an earlier
    /// configuration left in the session), acknowledged and dropped.
    pub stray: u64,
    /// Acknowledgements written to the connection (PUBACK, or PUBREC for QoS 2; QoS 0 messages
    /// need none).
    pub acked: u64,
    /// Successful connections (the first one included).
    pub connections: u64,
    /// Connections lost or attempts failed.
    pub connection_losses: u64,
    /// Subscriptions the broker confirmed (one per connection).
    pub subscriptions: u64,
    /// Messages received and not finished yet.
    pub in_flight: u64,
    /// The most messages ever in flight at once.
    pub peak_in_flight: u64,
}

impl Stats {
    /// The current values.
    pub fn snapshot(&self) -> StatsSnapshot {
        let c = &*self.inner;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        StatsSnapshot {
            received: get(&c.received),
            handled: get(&c.handled),
            duplicates: get(&c.duplicates),
            bad: get(&c.bad),
            stray: get(&c.stray),
            acked: get(&c.acked),
            connections: get(&c.connections),
            connection_losses: get(&c.connection_losses),
            subscriptions: get(&c.subscriptions),
            in_flight: get(&c.in_flight),
            peak_in_flight: get(&c.peak_in_flight),
        }
    }

    pub(crate) fn received(&self) {
        self.inner.received.fetch_add(1, Ordering::Relaxed);
        let now = self.inner.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
        self.inner.peak_in_flight.fetch_max(now, Ordering::Relaxed);
    }

    pub(crate) fn released(&self) {
        self.inner.in_flight.fetch_sub(1, Ordering::Relaxed);
    }

    pub(crate) fn handled(&self) {
        self.inner.handled.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn duplicate(&self) {
        self.inner.duplicates.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn bad(&self) {
        self.inner.bad.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn stray(&self) {
        self.inner.stray.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn acked(&self, count: usize) {
        self.inner.acked.fetch_add(count as u64, Ordering::Relaxed);
    }

    pub(crate) fn connected(&self) {
        self.inner.connections.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn subscribed(&self) {
        self.inner.subscriptions.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn connection_lost(&self) {
        self.inner.connection_losses.fetch_add(1, Ordering::Relaxed);
    }
}
