//! Assertion ids (`jti`) already used, so that a captured assertion cannot be replayed.

use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;

/// The `(key id, jti)` pairs accepted recently, forgotten once their assertion would be refused
/// for its `iat` anyway.
#[derive(Debug, Default)]
pub struct ReplayGuard {
    inner: Mutex<Seen>,
}

#[derive(Debug, Default)]
struct Seen {
    ids: HashSet<(String, String)>,
    /// Insertion order with the unix time of insertion; times only grow, so expiry pops the front.
    order: VecDeque<(i64, (String, String))>,
}

impl ReplayGuard {
    /// Records `jti` of `key_id` as used at unix time `now`; `false` if it was used before.
    ///
    /// Checking and recording are one step under one lock, so of several identical assertions
    /// arriving at once exactly one is accepted. Entries older than `retention_secs` are dropped.
    pub fn first_use(&self, key_id: &str, jti: &str, now: i64, retention_secs: i64) -> bool {
        let mut seen = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        while let Some((at, _)) = seen.order.front() {
            if now.saturating_sub(*at) <= retention_secs {
                break;
            }
            if let Some((_, id)) = seen.order.pop_front() {
                seen.ids.remove(&id);
            }
        }
        let id = (key_id.to_string(), jti.to_string());
        if seen.ids.contains(&id) {
            return false;
        }
        // A wall clock stepping back must not break the ordering the expiry relies on.
        let at = seen.order.back().map_or(now, |(last, _)| now.max(*last));
        seen.ids.insert(id.clone());
        seen.order.push_back((at, id));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::ReplayGuard;

    #[test]
    fn a_jti_is_accepted_once_per_key_until_it_expires() {
        let guard = ReplayGuard::default();
        assert!(guard.first_use("k", "j", 100, 61));
        assert!(!guard.first_use("k", "j", 120, 61));
        assert!(guard.first_use("other-key", "j", 120, 61));
        assert!(!guard.first_use("k", "j", 161, 61));
        assert!(guard.first_use("k", "j", 162, 61));
    }
}
