//! What a connected client may do, as on High Mobility's broker: its certificate names one
//! application, and the client may subscribe to that application's topic (directly or in a share
//! group), nothing else, and never publish: only the emulator's publisher writes data.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use mqtt5::broker::auth::{AuthProvider, AuthResult};
use mqtt5::broker::storage::{DynamicStorage, StorageBackend as _};
use mqtt5::packet::connect::ConnectPacket;
use mqtt5::protocol::v5::reason_codes::ReasonCode;

/// The rights of one connection, whose client certificate belongs to one application.
pub struct ApplicationAccess {
    /// The application's OAuth client id: the connection's MQTT user, so that mqtt5 lets no other
    /// application resume (take over) its persistent sessions.
    application: String,
    /// The application's topic.
    topic: String,
    /// The broker's sessions: a client id whose session belongs to another application is refused.
    sessions: Option<Arc<DynamicStorage>>,
    /// Whether a refused publish was logged already: once per connection is enough.
    refusal_logged: AtomicBool,
}

impl ApplicationAccess {
    /// Access for a client of `application` (OAuth client id) to `topic`, with the broker's
    /// `sessions`.
    pub fn new(application: String, topic: String, sessions: Option<Arc<DynamicStorage>>) -> Self {
        Self {
            application,
            topic,
            sessions,
            refusal_logged: AtomicBool::new(false),
        }
    }

    fn may_subscribe(&self, filter: &str) -> bool {
        match filter.strip_prefix("$share/") {
            // MQTT 5.0, 4.8.2: a share name has at least one character and no `/`, `+` or `#`;
            // a broker refuses `$share//topic`, and so does the emulator.
            Some(shared) => shared.split_once('/').is_some_and(|(group, topic)| {
                !group.is_empty() && !group.contains(['+', '#']) && topic == self.topic
            }),
            None => filter == self.topic,
        }
    }

    /// Logs a refusal the first time only, the client's strings escaped (`?`), so that a client
    /// can neither flood the log nor forge lines in it.
    fn log_refusal(&self, client_id: &str, what: &str, topic: &str) {
        if !self.refusal_logged.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                application = %self.application,
                client_id = ?client_id,
                topic = ?topic,
                "MQTT client {what}; refused (further refusals on this connection are not logged)"
            );
        }
    }
}

impl AuthProvider for ApplicationAccess {
    fn authenticate<'a>(
        &'a self,
        connect: &'a ConnectPacket,
        _client_addr: SocketAddr,
    ) -> Pin<Box<dyn Future<Output = mqtt5::Result<AuthResult>> + Send + 'a>> {
        // The TLS handshake already required a certificate the emulator issued to this
        // application. mqtt5 refuses to resume another user's session, but a clean start would
        // still discard it (and disconnect its client): a client id in use by another application
        // is refused altogether.
        Box::pin(async move {
            if let Some(sessions) = &self.sessions {
                let owner = sessions.get_session(&connect.client_id).await?;
                if let Some(owner) = owner.and_then(|session| session.user_id)
                    && owner != self.application
                {
                    tracing::warn!(
                        application = %self.application,
                        client_id = ?connect.client_id,
                        "MQTT client id belongs to another application's session; refused"
                    );
                    return Ok(AuthResult::fail(ReasonCode::NotAuthorized));
                }
            }
            Ok(AuthResult::success_with_user(self.application.clone()))
        })
    }

    fn authorize_publish<'a>(
        &'a self,
        client_id: &str,
        _user_id: Option<&'a str>,
        topic: &'a str,
    ) -> Pin<Box<dyn Future<Output = bool> + Send + 'a>> {
        self.log_refusal(client_id, "tried to publish", topic);
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
            self.log_refusal(
                client_id,
                "tried to subscribe to a filter other than its application's topic",
                topic_filter,
            );
        }
        Box::pin(async move { allowed })
    }
}

/// Refuses every CONNECT: for mqtt5's own listener, which its `run` needs but nobody may use
/// (clients come in through the emulator's TLS front door).
pub struct RefuseAll;

impl AuthProvider for RefuseAll {
    fn authenticate<'a>(
        &'a self,
        _connect: &'a ConnectPacket,
        _client_addr: SocketAddr,
    ) -> Pin<Box<dyn Future<Output = mqtt5::Result<AuthResult>> + Send + 'a>> {
        Box::pin(async { Ok(AuthResult::fail(ReasonCode::NotAuthorized)) })
    }

    fn authorize_publish<'a>(
        &'a self,
        _client_id: &str,
        _user_id: Option<&'a str>,
        _topic: &'a str,
    ) -> Pin<Box<dyn Future<Output = bool> + Send + 'a>> {
        Box::pin(async { false })
    }

    fn authorize_subscribe<'a>(
        &'a self,
        _client_id: &str,
        _user_id: Option<&'a str>,
        _topic_filter: &'a str,
    ) -> Pin<Box<dyn Future<Output = bool> + Send + 'a>> {
        Box::pin(async { false })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_applications_topic_directly_or_shared() {
        let access = ApplicationAccess::new("app".into(), "live/level13/abc".into(), None);
        assert!(access.may_subscribe("live/level13/abc"));
        assert!(access.may_subscribe("$share/group/live/level13/abc"));
        for refused in [
            "#",
            "live/#",
            "live/level13/+",
            "sandbox/level13/abc",
            "$share/group/#",
            "live/level13/abcd",
            "live/level13/other",
        ] {
            assert!(!access.may_subscribe(refused), "{refused}");
        }
    }
}
