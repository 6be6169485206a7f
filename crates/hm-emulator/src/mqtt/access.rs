//! What a connected client may do, as on High Mobility's broker: subscribe to the applications'
//! topics (directly or in a share group), nothing else, and never publish: only the emulator's
//! publisher writes data. Who may connect at all is decided earlier, by the TLS client certificate.

use std::collections::HashSet;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;

use mqtt5::broker::auth::{AuthProvider, AuthResult};
use mqtt5::packet::connect::ConnectPacket;

/// Allows subscriptions to a fixed set of topics and no publishing.
pub struct TopicAccess {
    topics: HashSet<String>,
}

impl TopicAccess {
    /// Access to exactly `topics` (and `$share/{group}/` subscriptions to them).
    pub fn new(topics: impl IntoIterator<Item = String>) -> Self {
        Self {
            topics: topics.into_iter().collect(),
        }
    }

    fn may_subscribe(&self, filter: &str) -> bool {
        self.topics
            .contains(mqtt5::strip_shared_subscription_prefix(filter))
    }
}

impl AuthProvider for TopicAccess {
    fn authenticate<'a>(
        &'a self,
        _connect: &'a ConnectPacket,
        _client_addr: SocketAddr,
    ) -> Pin<Box<dyn Future<Output = mqtt5::Result<AuthResult>> + Send + 'a>> {
        // The TLS handshake already required a certificate signed by the emulator's CA.
        Box::pin(async { Ok(AuthResult::success()) })
    }

    fn authorize_publish<'a>(
        &'a self,
        client_id: &str,
        _user_id: Option<&'a str>,
        topic: &'a str,
    ) -> Pin<Box<dyn Future<Output = bool> + Send + 'a>> {
        tracing::warn!(%client_id, %topic, "MQTT client tried to publish; refused");
        Box::pin(async { false })
    }

    fn authorize_subscribe<'a>(
        &'a self,
        client_id: &str,
        _user_id: Option<&'a str>,
        topic_filter: &'a str,
    ) -> Pin<Box<dyn Future<Output = bool> + Send + 'a>> {
        let allowed = self.may_subscribe(topic_filter);
        if !allowed {
            tracing::warn!(%client_id, %topic_filter, "MQTT subscription refused: not an application topic");
        }
        Box::pin(async move { allowed })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_topics_themselves_directly_or_shared() {
        let access = TopicAccess::new(["live/level13/abc".to_string()]);
        assert!(access.may_subscribe("live/level13/abc"));
        assert!(access.may_subscribe("$share/group/live/level13/abc"));
        for refused in [
            "#",
            "live/#",
            "live/level13/+",
            "sandbox/level13/abc",
            "$share/group/#",
            "live/level13/abcd",
        ] {
            assert!(!access.may_subscribe(refused), "{refused}");
        }
    }
}
