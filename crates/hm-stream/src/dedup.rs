//! Which `message_id`s are being handled or were handled recently, so that redeliveries are dropped.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

/// What to do with a message, given its `message_id`.
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

/// Redelivery filter: the ids being handled now (with their waiting copies) and the last
/// `capacity` handled ids, oldest forgotten first.
pub(crate) struct Dedup<T> {
    in_progress: HashMap<Arc<str>, Vec<T>>,
    handled: HashSet<Arc<str>>,
    order: VecDeque<Arc<str>>,
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
    pub(crate) fn check(&mut self, message_id: &str, token: T) -> (Verdict, Option<T>) {
        if self.handled.contains(message_id) {
            return (Verdict::AlreadyHandled, Some(token));
        }
        if let Some(waiting) = self.in_progress.get_mut(message_id) {
            waiting.push(token);
            return (Verdict::Held, None);
        }
        self.in_progress.insert(Arc::from(message_id), Vec::new());
        (Verdict::New, Some(token))
    }

    /// Ends the handling of `message_id` and returns the copies that arrived meanwhile. When the
    /// handling succeeded the id is remembered, so later copies are [`Verdict::AlreadyHandled`].
    pub(crate) fn finish(&mut self, message_id: &str, handled: bool) -> Vec<T> {
        let Some((id, waiting)) = self.in_progress.remove_entry(message_id) else {
            return Vec::new();
        };
        if handled && self.capacity > 0 && self.handled.insert(id.clone()) {
            self.order.push_back(id);
            while self.order.len() > self.capacity {
                if let Some(oldest) = self.order.pop_front() {
                    self.handled.remove(&oldest);
                }
            }
        }
        waiting
    }

    /// How many handled ids are remembered.
    #[cfg(test)]
    pub(crate) fn remembered(&self) -> usize {
        self.handled.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_of_a_handled_message_are_recognised() {
        let mut dedup = Dedup::new(10);
        assert_eq!(dedup.check("a", 1), (Verdict::New, Some(1)));
        assert!(dedup.finish("a", true).is_empty());
        assert_eq!(dedup.check("a", 2), (Verdict::AlreadyHandled, Some(2)));
        assert_eq!(dedup.check("b", 3), (Verdict::New, Some(3)));
    }

    #[test]
    fn copies_wait_for_the_first_delivery_and_are_released_with_it() {
        let mut dedup = Dedup::new(10);
        assert_eq!(dedup.check("a", 1).0, Verdict::New);
        assert_eq!(dedup.check("a", 2), (Verdict::Held, None));
        assert_eq!(dedup.check("a", 3), (Verdict::Held, None));
        assert_eq!(dedup.finish("a", true), vec![2, 3]);
        assert_eq!(dedup.check("a", 4).0, Verdict::AlreadyHandled);
    }

    #[test]
    fn a_failed_handling_is_not_remembered() {
        let mut dedup = Dedup::new(10);
        dedup.check("a", 1);
        dedup.check("a", 2);
        assert_eq!(dedup.finish("a", false), vec![2]);
        assert_eq!(dedup.check("a", 3).0, Verdict::New);
    }

    #[test]
    fn the_window_is_bounded_and_forgets_the_oldest() {
        let mut dedup = Dedup::new(3);
        for id in ["a", "b", "c", "d"] {
            dedup.check(id, ());
            dedup.finish(id, true);
        }
        assert_eq!(dedup.remembered(), 3);
        assert_eq!(dedup.check("a", ()).0, Verdict::New);
        assert_eq!(dedup.check("d", ()).0, Verdict::AlreadyHandled);

        let mut none = Dedup::new(0);
        none.check("a", ());
        none.finish("a", true);
        assert_eq!(none.check("a", ()).0, Verdict::New);
    }
}
