//! Which messages are being handled or were handled recently, so that redeliveries are dropped.
//!
//! A message is recognised by a digest of its payload, which holds its `message_id`: a redelivery
//! is the same payload again, while a message that reuses a `message_id` with other content is a
//! different message and is handled. The digest has a fixed size, so the window's memory does not
//! depend on how long `message_id`s or payloads are.

use std::collections::{HashMap, HashSet, VecDeque};

use sha2::{Digest, Sha256};

/// The first 128 bits of the payload's SHA-256: collisions, accidental or crafted, are out of reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct MessageKey(u128);

impl MessageKey {
    pub(crate) fn of(payload: &[u8]) -> Self {
        let digest = Sha256::digest(payload);
        let mut first = [0u8; 16];
        first.copy_from_slice(&digest[..16]);
        MessageKey(u128::from_le_bytes(first))
    }
}

/// What to do with a message.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Not seen (or forgotten): handle it.
    New,
    /// Handled already: acknowledge it without handling it again.
    AlreadyHandled,
    /// Its first delivery is still being handled: the copy waits (see [`Dedup::finish`]) and is
    /// acknowledged when that handling succeeds, never before.
    Held,
}

/// Redelivery filter: the messages being handled now (with their waiting copies) and the last
/// `capacity` handled ones, oldest forgotten first.
pub(crate) struct Dedup<T> {
    in_progress: HashMap<MessageKey, Vec<T>>,
    handled: HashSet<MessageKey>,
    order: VecDeque<MessageKey>,
    capacity: usize,
}

impl<T> Dedup<T> {
    pub(crate) fn new(capacity: usize) -> Self {
        Dedup {
            in_progress: HashMap::new(),
            handled: HashSet::new(),
            order: VecDeque::new(),
            capacity,
        }
    }

    /// Classifies a delivery; a [`Verdict::Held`] copy keeps `token` until [`Dedup::finish`].
    pub(crate) fn check(&mut self, key: MessageKey, token: T) -> (Verdict, Option<T>) {
        if self.handled.contains(&key) {
            return (Verdict::AlreadyHandled, Some(token));
        }
        if let Some(waiting) = self.in_progress.get_mut(&key) {
            waiting.push(token);
            return (Verdict::Held, None);
        }
        self.in_progress.insert(key, Vec::new());
        (Verdict::New, Some(token))
    }

    /// Ends the handling of `key` and returns the copies that arrived meanwhile. When the handling
    /// succeeded the message is remembered, so later copies are [`Verdict::AlreadyHandled`].
    pub(crate) fn finish(&mut self, key: MessageKey, handled: bool) -> Vec<T> {
        let Some(waiting) = self.in_progress.remove(&key) else {
            return Vec::new();
        };
        if handled && self.capacity > 0 && self.handled.insert(key) {
            self.order.push_back(key);
            if self.order.len() > self.capacity
                && let Some(oldest) = self.order.pop_front()
            {
                self.handled.remove(&oldest);
            }
        }
        waiting
    }

    /// How many handled messages are remembered.
    #[cfg(test)]
    pub(crate) fn remembered(&self) -> usize {
        self.handled.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(payload: &str) -> MessageKey {
        MessageKey::of(payload.as_bytes())
    }

    #[test]
    fn copies_of_a_handled_message_are_recognised() {
        let mut dedup = Dedup::new(10);
        assert_eq!(dedup.check(key("a"), 1), (Verdict::New, Some(1)));
        assert!(dedup.finish(key("a"), true).is_empty());
        assert_eq!(dedup.check(key("a"), 2), (Verdict::AlreadyHandled, Some(2)));
        assert_eq!(dedup.check(key("b"), 3), (Verdict::New, Some(3)));
    }

    #[test]
    fn copies_wait_for_the_first_delivery_and_are_released_with_it() {
        let mut dedup = Dedup::new(10);
        assert_eq!(dedup.check(key("a"), 1).0, Verdict::New);
        assert_eq!(dedup.check(key("a"), 2), (Verdict::Held, None));
        assert_eq!(dedup.check(key("a"), 3), (Verdict::Held, None));
        assert_eq!(dedup.finish(key("a"), true), vec![2, 3]);
        assert_eq!(dedup.check(key("a"), 4).0, Verdict::AlreadyHandled);
    }

    #[test]
    fn a_failed_handling_is_not_remembered() {
        let mut dedup = Dedup::new(10);
        dedup.check(key("a"), 1);
        dedup.check(key("a"), 2);
        assert_eq!(dedup.finish(key("a"), false), vec![2]);
        assert_eq!(dedup.check(key("a"), 3).0, Verdict::New);
    }

    #[test]
    fn the_window_is_bounded_and_forgets_the_oldest() {
        let mut dedup = Dedup::new(3);
        for id in ["a", "b", "c", "d"] {
            dedup.check(key(id), ());
            dedup.finish(key(id), true);
        }
        assert_eq!(dedup.remembered(), 3);
        assert_eq!(dedup.check(key("a"), ()).0, Verdict::New);
        assert_eq!(dedup.check(key("d"), ()).0, Verdict::AlreadyHandled);

        let mut none = Dedup::new(0);
        none.check(key("a"), ());
        none.finish(key("a"), true);
        assert_eq!(none.check(key("a"), ()).0, Verdict::New);
    }

    /// The window's memory is bounded by its capacity alone: each remembered message costs the
    /// same, however long its `message_id` or payload.
    #[test]
    fn what_is_remembered_has_a_fixed_size() {
        assert_eq!(std::mem::size_of::<MessageKey>(), 16);
        let long_id = format!(r#"{{"message_id":"{}"}}"#, "x".repeat(1 << 20));
        assert_eq!(key(&long_id), key(&long_id.clone()));
        assert_ne!(key(&long_id), key(&long_id.replace("x\"", "y\"")));
    }

    /// Same `message_id`, other content: a different message. An empty `message_id` is no
    /// special case either.
    #[test]
    fn a_reused_message_id_with_other_content_is_new() {
        let first = r#"{"message_id":"42","vin":"V1"}"#;
        let other = r#"{"message_id":"42","vin":"V2"}"#;
        let mut dedup = Dedup::new(10);
        for payload in [
            first,
            other,
            r#"{"message_id":""}"#,
            r#"{"message_id":"","vin":"V3"}"#,
        ] {
            assert_eq!(dedup.check(key(payload), ()).0, Verdict::New, "{payload}");
            dedup.finish(key(payload), true);
        }
        assert_eq!(dedup.check(key(first), ()).0, Verdict::AlreadyHandled);
    }
}
