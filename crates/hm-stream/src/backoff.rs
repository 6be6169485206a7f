//! Bounded exponential backoff with jitter between reconnection attempts.

use std::time::Duration;

/// Delays that start at `min`, double per failed attempt up to `max`, and are jittered down by up
/// to half so that many replicas do not reconnect in step.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    min: Duration,
    max: Duration,
    attempt: u32,
}

impl Backoff {
    pub(crate) fn new(min: Duration, max: Duration) -> Self {
        Backoff {
            min,
            max,
            attempt: 0,
        }
    }

    /// The delay before the next attempt (any bounds, up to `Duration::MAX`, without overflow).
    pub(crate) fn next_delay(&mut self) -> Duration {
        let ceiling = self
            .min
            .saturating_mul(1u32 << self.attempt.min(20))
            .min(self.max);
        self.attempt = self.attempt.saturating_add(1);
        let half = ceiling / 2;
        let jitter =
            Duration::try_from_secs_f64(half.as_secs_f64() * rand::random_range(0.0..=1.0))
                .unwrap_or(half);
        ceiling
            .saturating_sub(half)
            .saturating_add(jitter)
            .min(ceiling)
            .max(self.min)
    }

    /// After a successful connection: the next failure waits `min` again.
    pub(crate) fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_stay_within_bounds() {
        let (min, max) = (Duration::from_millis(100), Duration::from_secs(2));
        let mut backoff = Backoff::new(min, max);
        let delays: Vec<_> = (0..40).map(|_| backoff.next_delay()).collect();
        assert!(delays.iter().all(|d| *d >= min && *d <= max), "{delays:?}");
        assert!(delays[0] <= Duration::from_millis(100));
        assert!(delays[39] >= Duration::from_secs(1), "{delays:?}");
        backoff.reset();
        assert_eq!(backoff.next_delay(), min);

        let mut forever = Backoff::new(Duration::MAX, Duration::MAX);
        assert!(forever.next_delay() >= Duration::MAX / 2);
        let mut tiny = Backoff::new(Duration::from_nanos(1), Duration::from_nanos(1));
        assert_eq!(tiny.next_delay(), Duration::from_nanos(1));
    }
}
