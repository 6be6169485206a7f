//! The crate's single error type.

use std::path::PathBuf;

/// An error from the application's handler or dead-letter handler, kept as the cause of an [`Error`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can stop the consumer or keep it from starting.
///
/// Each message names what failed and what to do about it. No variant carries key material or a
/// message payload. Connection losses after the first successful connection are not errors: the
/// consumer reconnects by itself (see [`StreamConfig::reconnect_backoff`](crate::StreamConfig::reconnect_backoff)).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A certificate or key file could not be read.
    #[error("cannot read {what} {}: {source}; check the path and the file's permissions", .path.display())]
    ReadFile {
        /// What the file was meant to hold, e.g. "client certificate file".
        what: &'static str,
        /// The path that was tried.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },

    /// A certificate or key file is far larger than any such file (e.g. `/dev/zero`, or a log
    /// file given by mistake): it is not read beyond [`MAX_PEM_FILE_BYTES`](crate::MAX_PEM_FILE_BYTES).
    #[error(
        "{what} {} is larger than {} KiB, far more than a certificate or key file holds; give \
         the path of the PEM file itself (such a file is a few KiB)",
        .path.display(),
        .limit / 1024
    )]
    FileTooLarge {
        /// What the file was meant to hold, e.g. "private key file".
        what: &'static str,
        /// The path that was tried.
        path: PathBuf,
        /// The most that is read, in bytes.
        limit: usize,
    },

    /// A file name was expected, but the value looks like PEM text (e.g. a private key put into
    /// `HM_MQTT_KEY_FILE` instead of `HM_MQTT_KEY_PEM`). The value is not shown: it may be a key.
    #[error(
        "the {what} name looks like PEM text, not a path (not shown: it may be a private key); \
         give the file's path, or pass the PEM text itself ({remedy})"
    )]
    PemAsPath {
        /// What the file was meant to hold, e.g. "private key file".
        what: &'static str,
        /// Where PEM text goes instead, e.g. "HM_MQTT_KEY_PEM or ClientIdentity::from_pem".
        remedy: &'static str,
    },

    /// PEM text holds no usable certificate or key.
    #[error("{origin} holds no usable {what} ({detail}): expected {expected}")]
    Pem {
        /// What was looked for, e.g. "client certificate".
        what: &'static str,
        /// Where the text came from, e.g. "file /etc/hm/cert.pem".
        origin: String,
        /// What is wrong with it (never the content).
        detail: String,
        /// What a usable input looks like.
        expected: &'static str,
    },

    /// The client certificate and the private key do not belong together, or the key cannot sign.
    #[error(
        "the MQTT client certificate and private key cannot be used ({detail}): download both \
         again from the High Mobility console (API Credentials > Streaming > MQTT V2) and make \
         sure the key is the one issued with the certificate"
    )]
    ClientIdentity {
        /// What TLS reported.
        detail: String,
    },

    /// No CA certificate to verify the broker with.
    #[error(
        "no trusted CA certificates to verify the MQTT broker ({detail}): install the system's CA \
         certificates (Debian: apt-get install ca-certificates) or give the broker's CA with \
         HM_MQTT_CA_FILE or StreamConfig::ca_roots"
    )]
    NoCaRoots {
        /// Why none were found.
        detail: String,
    },

    /// A configuration value cannot be used.
    #[error("invalid {what} `{value}`: {reason}")]
    InvalidConfig {
        /// Which setting, e.g. "broker URL".
        what: &'static str,
        /// The value as given.
        value: String,
        /// Why it was refused and what is expected.
        reason: String,
    },

    /// Environment variables do not describe a complete stream configuration.
    #[error("stream configuration from the environment: {problem}; {usage}", usage = crate::config::ENV_USAGE)]
    Environment {
        /// What is missing or contradictory.
        problem: String,
    },

    /// The first connection to the broker failed in a way that retrying will not fix.
    #[error("cannot connect to the MQTT broker {broker}: {detail}; {remedy}")]
    Connect {
        /// `host:port` of the broker.
        broker: String,
        /// What failed (TLS or MQTT level).
        detail: String,
        /// What to check.
        remedy: &'static str,
    },

    /// The broker refused to subscribe the client to the application's topic.
    #[error(
        "the MQTT broker refused the subscription to `{topic}`: check the application id, the \
         environment (live or sandbox) and that MQTT V2 streaming is enabled for the application \
         in the High Mobility console"
    )]
    SubscriptionRefused {
        /// The topic filter that was refused.
        topic: String,
    },

    /// The broker accepted the subscription at QoS 0 only: it would neither keep messages for the
    /// session while the consumer is away nor deliver any again, so at-least-once is impossible.
    #[error(
        "the MQTT broker granted the subscription to `{topic}` at QoS 0 only (QoS 1 was requested): \
         messages would be lost while the consumer is away; check the broker's configuration \
         (maximum QoS) or the client certificate's permissions"
    )]
    SubscriptionDowngraded {
        /// The topic filter.
        topic: String,
    },

    /// The broker sent a message larger than the consumer reads: it stays queued in the session.
    #[error(
        "the MQTT broker sent a message of {bytes} bytes, more than max_message_bytes ({limit}) \
         allows: it was not read, so it stays queued for this session; raise \
         StreamConfig::max_message_bytes if such messages are expected"
    )]
    MessageTooLarge {
        /// The MQTT packet's size after its fixed header (topic, packet id and payload).
        bytes: usize,
        /// The configured payload limit.
        limit: usize,
    },

    /// One of the consumer's own tasks panicked outside the handlers (in a `Deserialize`
    /// implementation of the message type, or a bug in hm-stream). The messages in hand were not
    /// acknowledged, so the broker delivers them again on the next connection.
    #[error(
        "a task of the consumer panicked outside the handlers ({detail}): in the message type's \
         Deserialize implementation, or a bug in hm-stream; unacknowledged messages are delivered \
         again on the next connection"
    )]
    Internal {
        /// The panic message, when it was a string.
        detail: String,
    },

    /// The application's handler returned an error; the consumer stopped without acknowledging the message.
    #[error(
        "the message handler failed on message {message_id}: {source}; the message was not \
         acknowledged, so the broker delivers it again on the next connection"
    )]
    Handler {
        /// The message's `message_id`.
        message_id: String,
        /// What the handler returned.
        #[source]
        source: BoxError,
    },

    /// The application's handler panicked; the consumer stopped without acknowledging the message.
    #[error(
        "the message handler panicked on message {message_id} ({detail}); the message was not \
         acknowledged, so the broker delivers it again on the next connection"
    )]
    HandlerPanicked {
        /// The message's `message_id`.
        message_id: String,
        /// The panic message, when it was a string.
        detail: String,
    },

    /// The dead-letter handler failed on a bad message; the consumer stopped without acknowledging it.
    #[error(
        "the dead-letter handler failed on bad message {id}: {source}; the message was not \
         acknowledged, so the broker delivers it again on the next connection",
        id = .message_id.as_deref().unwrap_or("(without message_id)")
    )]
    DeadLetter {
        /// The bad message's `message_id`, when it had one.
        message_id: Option<String>,
        /// What the dead-letter handler returned or why it panicked.
        #[source]
        source: BoxError,
    },
}
