//! Fault injection for the MQTT front door: messages published twice, connections cut on the
//! virtual clock, and what happened so far.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::faults::SplitMix64;

/// What to do to the MQTT stream; set with [`super::MqttEndpoint::set_fault`].
///
/// Duplicates are decided per published message from a seeded generator, so the same sequence of
/// messages meets the same faults every run. Cuts are measured on the emulator's virtual clock.
#[derive(Debug, Clone, PartialEq)]
pub struct MqttFault {
    /// Share (0.0 to 1.0) of published messages published once more right away, with the same
    /// `message_id` and payload (as when High Mobility's side retries a publish it thinks was lost).
    pub duplicate_share: f64,
    /// When set, every client connection is cut each time this much virtual time has passed
    /// (checked at each publishing round, before its messages go out).
    pub disconnect_every: Option<Duration>,
    /// Seed of the generator that picks the duplicated messages.
    pub seed: u64,
}

impl Default for MqttFault {
    fn default() -> Self {
        Self {
            duplicate_share: 0.0,
            disconnect_every: None,
            seed: 0x5eed,
        }
    }
}

impl MqttFault {
    /// `share` of published messages arrive twice.
    pub fn duplicates(share: f64) -> Self {
        Self {
            duplicate_share: share,
            ..Self::default()
        }
    }

    /// Every client connection is cut each `interval` of virtual time.
    pub fn disconnects_every(interval: Duration) -> Self {
        Self {
            disconnect_every: Some(interval),
            ..Self::default()
        }
    }

    /// The same fault, also duplicating `share` of published messages.
    pub fn with_duplicates(mut self, share: f64) -> Self {
        self.duplicate_share = share;
        self
    }

    /// The same fault, also cutting every connection each `interval` of virtual time.
    pub fn with_disconnects_every(mut self, interval: Duration) -> Self {
        self.disconnect_every = Some(interval);
        self
    }

    /// The same fault with another generator seed.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Checks the share; `key` names the setting in errors.
    pub(super) fn check(&self, key: &str) -> Result<(), String> {
        if (0.0..=1.0).contains(&self.duplicate_share) {
            Ok(())
        } else {
            Err(format!(
                "{key} = {} is out of range; set it between 0.0 and 1.0",
                self.duplicate_share
            ))
        }
    }
}

/// What the MQTT front door did so far; [`super::MqttEndpoint::wait_for_stats`] waits for them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MqttStats {
    /// Messages published (each with its own `message_id`), duplicates not counted.
    pub published: u64,
    /// Extra copies published by the duplicate fault.
    pub duplicated: u64,
    /// Client connections cut by [`super::MqttEndpoint::cut_connections`] or the fault's
    /// `disconnect_every`.
    pub connections_dropped: u64,
    /// Completed broker restarts.
    pub restarts: u64,
    /// Client connections open now (counted from when the relay reached the broker, TLS
    /// handshake included).
    pub connected: u64,
}

/// A fault in effect, with its generator and the time of its last cut.
#[derive(Debug)]
pub(super) struct ActiveFault {
    fault: MqttFault,
    rng: SplitMix64,
    last_cut: DateTime<Utc>,
}

impl ActiveFault {
    /// `fault`, its cut interval counted from `now`.
    pub(super) fn new(fault: MqttFault, now: DateTime<Utc>) -> Self {
        Self {
            rng: SplitMix64(fault.seed),
            fault,
            last_cut: now,
        }
    }

    /// Whether the message just published is published once more.
    pub(super) fn duplicates(&mut self) -> bool {
        self.fault.duplicate_share > 0.0 && self.rng.next_f64() < self.fault.duplicate_share
    }

    /// Whether the connections are due to be cut at `at`; if so, the next cut is counted from `at`.
    pub(super) fn cut_due(&mut self, at: DateTime<Utc>) -> bool {
        let Some(every) = self.fault.disconnect_every else {
            return false;
        };
        let every = chrono::Duration::from_std(every).unwrap_or(chrono::Duration::MAX);
        let due = self
            .last_cut
            .checked_add_signed(every)
            .is_some_and(|due| due <= at);
        if due {
            self.last_cut = at;
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_are_reproducible_and_roughly_the_share() {
        let run = || {
            let mut active = ActiveFault::new(MqttFault::duplicates(0.1).with_seed(3), Utc::now());
            (0..1000).map(|_| active.duplicates()).collect::<Vec<_>>()
        };
        let first = run();
        assert_eq!(first, run());
        let duplicated = first.iter().filter(|d| **d).count();
        assert!((60..140).contains(&duplicated), "{duplicated}");
    }

    #[test]
    fn cuts_fall_due_on_the_virtual_clock() {
        let start = DateTime::<Utc>::UNIX_EPOCH;
        let secs = |s| start + chrono::Duration::seconds(s);
        let mut active =
            ActiveFault::new(MqttFault::disconnects_every(Duration::from_secs(10)), start);
        assert!(!active.cut_due(secs(9)));
        assert!(active.cut_due(secs(10)));
        assert!(!active.cut_due(secs(19)));
        assert!(active.cut_due(secs(25)));
        assert!(!active.cut_due(secs(34)));
        let mut never = ActiveFault::new(MqttFault::duplicates(1.0), start);
        assert!(!never.cut_due(secs(1 << 30)));
        assert!(MqttFault::duplicates(1.5).check("x").is_err());
        assert!(MqttFault::duplicates(f64::NAN).check("x").is_err());
    }
}
