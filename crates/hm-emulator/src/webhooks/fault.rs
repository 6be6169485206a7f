//! Fault injection for webhook deliveries: attempts lost on the way, deliveries that arrive twice.

use crate::faults::SplitMix64;

/// What to do to webhook deliveries; set with `EmulatorHandle::webhooks().set_fault`.
///
/// Decided per attempt from a seeded generator, so the same sequence of attempts meets the same
/// faults every run.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookFault {
    /// Share (0.0 to 1.0) of attempts lost on the way: not sent, and retried like any failed
    /// attempt (as when a connection breaks before the receiver answers).
    pub drop_share: f64,
    /// Share (0.0 to 1.0) of delivered deliveries sent once more right away under the same
    /// `X-HM-Delivery` id (as when the receiver's answer is lost and the sender retries).
    pub duplicate_share: f64,
    /// Seed of the generator that picks the attempts.
    pub seed: u64,
}

impl Default for WebhookFault {
    fn default() -> Self {
        Self {
            drop_share: 0.0,
            duplicate_share: 0.0,
            seed: 0x5eed,
        }
    }
}

impl WebhookFault {
    /// `share` of attempts are lost and retried.
    pub fn drops(share: f64) -> Self {
        Self {
            drop_share: share,
            ..Self::default()
        }
    }

    /// `share` of delivered deliveries arrive twice.
    pub fn duplicates(share: f64) -> Self {
        Self {
            duplicate_share: share,
            ..Self::default()
        }
    }

    /// The same fault, also duplicating `share` of delivered deliveries.
    pub fn with_duplicates(mut self, share: f64) -> Self {
        self.duplicate_share = share;
        self
    }

    /// The same fault with another generator seed.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
}

/// A fault in effect, with its generator.
#[derive(Debug)]
pub(super) struct ActiveFault {
    fault: WebhookFault,
    rng: SplitMix64,
}

impl ActiveFault {
    pub(super) fn new(fault: WebhookFault) -> Self {
        Self {
            rng: SplitMix64(fault.seed),
            fault,
        }
    }

    /// Whether the next attempt is lost.
    pub(super) fn drops(&mut self) -> bool {
        self.fault.drop_share > 0.0 && self.rng.next_f64() < self.fault.drop_share
    }

    /// Whether the delivery just delivered is sent once more.
    pub(super) fn duplicates(&mut self) -> bool {
        self.fault.duplicate_share > 0.0 && self.rng.next_f64() < self.fault.duplicate_share
    }
}
