//! The virtual clock that clearance lifecycles, token expiry and rate limits are measured on.
//!
//! Tests move it forward with `EmulatorHandle::advance` instead of sleeping; demos let it follow
//! real time so a 2 s clearance delay really takes 2 s. "Real time" is tokio's clock: in a test
//! with paused time (`tokio::time::pause`) the emulator follows the paused clock, so a client's
//! retry back-off and the emulator's fault windows run on the same virtual time.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use chrono::{DateTime, Utc};

/// A clock that starts at the real time and moves with real time (optionally) plus manual advances.
#[derive(Debug)]
pub struct VirtualClock {
    started_real: Instant,
    started_wall: DateTime<Utc>,
    follow_real_time: bool,
    advanced_nanos: AtomicU64,
    /// Told of every `advance`, so that tasks waiting for a virtual time (webhook retries) wake.
    advanced: watch::Sender<()>,
}

impl VirtualClock {
    /// A clock reading the current wall time.
    pub fn new(follow_real_time: bool) -> Self {
        Self {
            started_real: Instant::now(),
            started_wall: Utc::now(),
            follow_real_time,
            advanced_nanos: AtomicU64::new(0),
            advanced: watch::Sender::new(()),
        }
    }

    /// The current virtual time.
    pub fn now(&self) -> DateTime<Utc> {
        let real = if self.follow_real_time {
            self.started_real.elapsed()
        } else {
            Duration::ZERO
        };
        let advanced = Duration::from_nanos(self.advanced_nanos.load(Ordering::Relaxed));
        let delta = chrono::Duration::from_std(real + advanced).unwrap_or(chrono::Duration::MAX);
        self.started_wall
            .checked_add_signed(delta)
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let nanos = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        // fetch_update cannot fail with a closure that always returns Some.
        let _ = self
            .advanced_nanos
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                Some(n.saturating_add(nanos))
            });
        self.advanced.send_replace(());
    }

    /// Whether the clock also moves with tokio's clock (otherwise only [`VirtualClock::advance`] moves it).
    pub fn follows_real_time(&self) -> bool {
        self.follow_real_time
    }

    /// A receiver that sees a change after every [`VirtualClock::advance`].
    pub fn advances(&self) -> watch::Receiver<()> {
        self.advanced.subscribe()
    }
}

/// `now + secs` seconds, saturating at the latest time chrono can represent instead of panicking.
pub fn later(now: DateTime<Utc>, secs: u64) -> DateTime<Utc> {
    i64::try_from(secs)
        .ok()
        .and_then(chrono::Duration::try_seconds)
        .and_then(|by| now.checked_add_signed(by))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// The wire form of a time: RFC 3339 in UTC with whole seconds (`2026-03-01T10:20:37Z`).
pub fn wire_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advance_moves_a_frozen_clock() {
        let clock = VirtualClock::new(false);
        let t0 = clock.now();
        assert_eq!(clock.now(), t0);
        clock.advance(Duration::from_secs(90));
        assert_eq!((clock.now() - t0).num_seconds(), 90);
    }
}
