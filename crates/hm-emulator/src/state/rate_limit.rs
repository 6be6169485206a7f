//! A sliding-window limit of calls per application, on the virtual clock.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};

/// At most `limit` calls per `window` and key.
#[derive(Debug)]
pub struct SlidingWindow {
    limit: usize,
    window: chrono::Duration,
    calls: Mutex<HashMap<String, VecDeque<DateTime<Utc>>>>,
}

impl SlidingWindow {
    /// A limit of `limit` calls per `window`.
    pub fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit: limit as usize,
            window: chrono::Duration::from_std(window).unwrap_or(chrono::Duration::MAX),
            calls: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a call by `key` at `now`; `Err(wait)` when over the limit (the call is not counted).
    pub fn hit(&self, key: &str, now: DateTime<Utc>) -> Result<(), Duration> {
        let mut calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
        let seen = calls.entry(key.to_string()).or_default();
        while seen.front().is_some_and(|t| *t + self.window <= now) {
            seen.pop_front();
        }
        if seen.len() >= self.limit {
            let oldest = seen.front().copied().unwrap_or(now);
            let wait = (oldest + self.window - now)
                .to_std()
                .unwrap_or(Duration::ZERO);
            return Err(wait.max(Duration::from_secs(1)));
        }
        seen.push_back(now);
        Ok(())
    }
}
