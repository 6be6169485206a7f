//! What the consumer connects to and how it behaves, from code or from `HM_...` environment variables.

use std::time::Duration;

use url::Url;
use uuid::Uuid;

use crate::topic::{DataEnvironment, check_share_group, shared_subscription, topic};
use crate::{CaRoots, ClientIdentity, Error};

/// High Mobility's MQTT V2 broker (live and sandbox data).
pub const DEFAULT_BROKER_URL: &str = "mqtts://mqtt-v2.high-mobility.com:8883";

/// Environment variable with the application id (a UUID), which names the topic.
pub const ENV_APPLICATION_ID: &str = "HM_APPLICATION_ID";
/// Environment variable with the data environment: `live` (or `production`) or `sandbox`.
pub const ENV_MQTT_ENVIRONMENT: &str = "HM_MQTT_ENVIRONMENT";
/// hm-auth's environment variable (`sandbox`, `production` or a URL), used when [`ENV_MQTT_ENVIRONMENT`] is unset.
pub const ENV_ENVIRONMENT: &str = "HM_ENVIRONMENT";
/// Environment variable with the broker URL, `mqtts://host[:port]` (default [`DEFAULT_BROKER_URL`]).
pub const ENV_MQTT_URL: &str = "HM_MQTT_URL";
/// Environment variable with the path of the client certificate (PEM).
pub const ENV_MQTT_CERT_FILE: &str = "HM_MQTT_CERT_FILE";
/// Environment variable with the client certificate itself (PEM).
pub const ENV_MQTT_CERT_PEM: &str = "HM_MQTT_CERT_PEM";
/// Environment variable with the path of the client certificate's private key (PEM).
pub const ENV_MQTT_KEY_FILE: &str = "HM_MQTT_KEY_FILE";
/// Environment variable with the client certificate's private key itself (PEM).
pub const ENV_MQTT_KEY_PEM: &str = "HM_MQTT_KEY_PEM";
/// Environment variable with the path of CA certificates (PEM) that replace the system's CA store.
pub const ENV_MQTT_CA_FILE: &str = "HM_MQTT_CA_FILE";
/// Environment variable with CA certificates (PEM) that replace the system's CA store.
pub const ENV_MQTT_CA_PEM: &str = "HM_MQTT_CA_PEM";
/// Environment variable with the MQTT client id (stable per replica; required with a share group).
pub const ENV_MQTT_CLIENT_ID: &str = "HM_MQTT_CLIENT_ID";
/// Environment variable with a shared-subscription group name.
pub const ENV_MQTT_SHARE_GROUP: &str = "HM_MQTT_SHARE_GROUP";
/// Environment variable with share groups (comma-separated) that the client id was a member of
/// before and must leave (see [`StreamConfig::leave_share_groups`]).
pub const ENV_MQTT_LEAVE_SHARE_GROUPS: &str = "HM_MQTT_LEAVE_SHARE_GROUPS";

/// How to configure the stream through the environment, quoted in [`Error::Environment`].
pub(crate) const ENV_USAGE: &str = "set HM_APPLICATION_ID, the client certificate (HM_MQTT_CERT_FILE \
     or HM_MQTT_CERT_PEM) and its key (HM_MQTT_KEY_FILE or HM_MQTT_KEY_PEM); optionally \
     HM_MQTT_ENVIRONMENT (live or sandbox, else taken from HM_ENVIRONMENT), HM_MQTT_URL, \
     HM_MQTT_CA_FILE or HM_MQTT_CA_PEM, HM_MQTT_CLIENT_ID, HM_MQTT_SHARE_GROUP and \
     HM_MQTT_LEAVE_SHARE_GROUPS";

/// Everything the [`Consumer`](crate::Consumer) needs: where to connect, as whom, and its limits.
///
/// Setters take and return the configuration; [`Consumer::new`](crate::Consumer::new) checks the
/// whole of it and says what is wrong. `Debug` shows no key material.
///
/// ```no_run
/// use std::time::Duration;
/// use hm_stream::{ClientIdentity, DataEnvironment, StreamConfig};
///
/// let app_id = "48aa1779-91c2-468e-97e9-ab112efd53b9".parse()?;
/// let identity = ClientIdentity::from_pem_files("certificate.pem", "private_key.pem")?;
/// let config = StreamConfig::new(app_id, identity)
///     .environment(DataEnvironment::Live)
///     .client_id("fleet-ingest-0")
///     .share_group("fleet-ingest")
///     .max_in_flight(64)
///     .dedup_window(100_000)
///     .keep_alive(Duration::from_secs(30));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct StreamConfig {
    pub(crate) application_id: Uuid,
    pub(crate) environment: DataEnvironment,
    pub(crate) broker_url: String,
    pub(crate) identity: ClientIdentity,
    pub(crate) ca_roots: CaRoots,
    pub(crate) client_id: Option<String>,
    pub(crate) share_group: Option<String>,
    pub(crate) leave_share_groups: Vec<String>,
    pub(crate) max_in_flight: usize,
    pub(crate) concurrency: usize,
    pub(crate) dedup_window: usize,
    pub(crate) max_message_bytes: usize,
    pub(crate) keep_alive: Duration,
    pub(crate) backoff_min: Duration,
    pub(crate) backoff_max: Duration,
    pub(crate) shutdown_timeout: Duration,
}

impl StreamConfig {
    /// A configuration for `application_id`'s sandbox data on High Mobility's broker, with defaults
    /// for everything else.
    pub fn new(application_id: Uuid, identity: ClientIdentity) -> Self {
        StreamConfig {
            application_id,
            environment: DataEnvironment::Sandbox,
            broker_url: DEFAULT_BROKER_URL.to_owned(),
            identity,
            ca_roots: CaRoots::system(),
            client_id: None,
            share_group: None,
            leave_share_groups: Vec::new(),
            max_in_flight: 64,
            concurrency: 8,
            dedup_window: 100_000,
            max_message_bytes: 1024 * 1024,
            keep_alive: Duration::from_secs(30),
            backoff_min: Duration::from_millis(250),
            backoff_max: Duration::from_secs(30),
            shutdown_timeout: Duration::from_secs(30),
        }
    }

    /// Reads the configuration from the process environment (see the crate's README for the variables).
    pub fn from_env() -> Result<Self, Error> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`StreamConfig::from_env`], but reads variables through `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let problem = |problem: String| Error::Environment { problem };
        let one_of = |file: &str, pem: &str| match (get(file), get(pem)) {
            (Some(_), Some(_)) => Err(problem(format!(
                "both {file} and {pem} are set, which is ambiguous"
            ))),
            (Some(path), None) => Ok(Some(Source::File(path))),
            (None, Some(text)) => Ok(Some(Source::Pem(text))),
            (None, None) => Ok(None),
        };

        let application_id = get(ENV_APPLICATION_ID)
            .ok_or_else(|| problem(format!("{ENV_APPLICATION_ID} is not set")))?;
        let application_id = parse_application_id(&application_id)?;

        let cert = one_of(ENV_MQTT_CERT_FILE, ENV_MQTT_CERT_PEM)?.ok_or_else(|| {
            problem(format!(
                "neither {ENV_MQTT_CERT_FILE} nor {ENV_MQTT_CERT_PEM} is set"
            ))
        })?;
        let key = one_of(ENV_MQTT_KEY_FILE, ENV_MQTT_KEY_PEM)?.ok_or_else(|| {
            problem(format!(
                "neither {ENV_MQTT_KEY_FILE} nor {ENV_MQTT_KEY_PEM} is set"
            ))
        })?;
        let identity = match (cert, key) {
            (Source::File(c), Source::File(k)) => ClientIdentity::from_pem_files(c, k)?,
            (c, k) => ClientIdentity::from_pem(
                c.read("client certificate file")?,
                k.read("private key file")?,
            )?,
        };

        let mut config = StreamConfig::new(application_id, identity);
        config.environment = match (get(ENV_MQTT_ENVIRONMENT), get(ENV_ENVIRONMENT)) {
            (Some(value), _) => value.parse()?,
            (None, Some(value)) => environment_from_hm_auth(&value)?,
            (None, None) => DataEnvironment::Sandbox,
        };
        if let Some(url) = get(ENV_MQTT_URL) {
            config.broker_url = url;
        }
        match one_of(ENV_MQTT_CA_FILE, ENV_MQTT_CA_PEM)? {
            Some(Source::File(path)) => config.ca_roots = CaRoots::from_pem_file(path)?,
            Some(Source::Pem(text)) => config.ca_roots = CaRoots::from_pem(text)?,
            None => {}
        }
        config.client_id = get(ENV_MQTT_CLIENT_ID);
        config.share_group = get(ENV_MQTT_SHARE_GROUP);
        if let Some(groups) = get(ENV_MQTT_LEAVE_SHARE_GROUPS) {
            config = config.leave_share_groups(groups.split(',').map(str::trim));
        }
        Ok(config)
    }

    /// Live or sandbox data (default: sandbox).
    pub fn environment(mut self, environment: DataEnvironment) -> Self {
        self.environment = environment;
        self
    }

    /// The broker, `mqtts://host[:port]` (port 8883 when omitted). Default: [`DEFAULT_BROKER_URL`].
    pub fn broker_url(mut self, url: impl Into<String>) -> Self {
        self.broker_url = url.into();
        self
    }

    /// The CA certificates that verify the broker (default: the system's CA store).
    pub fn ca_roots(mut self, roots: CaRoots) -> Self {
        self.ca_roots = roots;
        self
    }

    /// The MQTT client id. The broker keeps the session (subscription and unacknowledged messages)
    /// under this id, so it must be stable across restarts and unique per running replica.
    /// Default: `hm-stream-{application_id}`; required with [`share_group`](Self::share_group).
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into());
        self
    }

    /// Subscribe as a member of this shared-subscription group (`$share/{group}/{topic}`), so that
    /// several replicas split the stream. Each replica needs its own stable [`client_id`](Self::client_id).
    pub fn share_group(mut self, group: impl Into<String>) -> Self {
        self.share_group = Some(group.into());
        self
    }

    /// Share groups this client id joined in an earlier configuration and must leave. The broker
    /// keeps a session's subscriptions, so a replica moved from group `old` to group `new` would
    /// otherwise stay in both and receive a share of each (messages other replicas handle too).
    /// When the broker kept the session, the consumer unsubscribes from these groups (and from the
    /// other data environment's topic, and from the unshared topic when it is in a group) before
    /// it subscribes.
    pub fn leave_share_groups<I, S>(mut self, groups: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.leave_share_groups = groups.into_iter().map(Into::into).collect();
        self
    }

    /// How many messages may be received and not yet finished (handled and acknowledged) at once
    /// (default 64). When the limit is reached the consumer stops reading from the broker until a
    /// handler finishes: backpressure, never an unbounded buffer.
    pub fn max_in_flight(mut self, messages: usize) -> Self {
        self.max_in_flight = messages;
        self
    }

    /// How many messages are decoded and handled at once (default 8; at most 65,535, and never more
    /// than [`max_in_flight`](Self::max_in_flight), since only that many can be in hand). With 1,
    /// messages are handled one at a time in the order received; with more, concurrently, so a
    /// later message may finish first (each value carries its own timestamp; redeliveries reorder
    /// anyway).
    pub fn concurrency(mut self, handlers: usize) -> Self {
        self.concurrency = handlers;
        self
    }

    /// How many handled messages are remembered to drop redeliveries (default 100,000; the oldest
    /// are forgotten first; 0 remembers none). A message is remembered by a 128-bit digest of its
    /// `message_id` and payload, so the window's memory does not depend on the messages' size:
    /// about 50 bytes per message (5 MB at the default).
    pub fn dedup_window(mut self, message_ids: usize) -> Self {
        self.dedup_window = message_ids;
        self
    }

    /// The largest message payload the consumer reads (default 1 MiB; at most 255 MiB). It bounds
    /// memory: the MQTT client refuses a larger packet from its header, before reading it, so at
    /// most `max_in_flight` (+10 read ahead) messages of this size are held at once. A larger
    /// message cannot be acknowledged without reading it: the consumer stops with
    /// [`Error::MessageTooLarge`] and the message stays queued at the broker until the limit is raised.
    pub fn max_message_bytes(mut self, bytes: usize) -> Self {
        self.max_message_bytes = bytes;
        self
    }

    /// The MQTT keep-alive interval (default 30 s; 1 s to 65,535 s).
    pub fn keep_alive(mut self, interval: Duration) -> Self {
        self.keep_alive = interval;
        self
    }

    /// Delay before reconnecting: starts at `min`, doubles after each failed attempt up to `max`,
    /// with jitter (default 250 ms to 30 s).
    pub fn reconnect_backoff(mut self, min: Duration, max: Duration) -> Self {
        self.backoff_min = min;
        self.backoff_max = max;
        self
    }

    /// How long a graceful shutdown waits for running handlers (default 30 s; `Duration::MAX`
    /// waits as long as they take). Handlers still running then are abandoned and their messages
    /// left unacknowledged.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// The application's topic (without any share prefix).
    pub fn topic(&self) -> String {
        topic(self.environment, self.application_id)
    }

    /// The topic filter the consumer subscribes to: the topic, or `$share/{group}/{topic}`.
    pub fn subscription(&self) -> String {
        match &self.share_group {
            Some(group) => shared_subscription(group, &self.topic()),
            None => self.topic(),
        }
    }

    /// The filters an earlier configuration of this client id may have left in the broker's
    /// session and that this one must not receive from: the other data environment's topic (plain
    /// and in this share group), the plain topic when sharing, and the groups to leave.
    pub(crate) fn stale_subscriptions(&self) -> Vec<String> {
        let other = match self.environment {
            DataEnvironment::Live => DataEnvironment::Sandbox,
            DataEnvironment::Sandbox => DataEnvironment::Live,
        };
        let topics = [self.topic(), topic(other, self.application_id)];
        let groups = self.share_group.iter().chain(&self.leave_share_groups);
        let mut stale: Vec<String> = topics
            .iter()
            .map(Clone::clone)
            .chain(groups.flat_map(|g| topics.iter().map(|t| shared_subscription(g, t))))
            .collect();
        let subscription = self.subscription();
        stale.retain(|filter| *filter != subscription);
        stale.sort();
        stale.dedup();
        stale
    }

    /// The MQTT client id the consumer uses.
    pub fn effective_client_id(&self) -> String {
        self.client_id
            .clone()
            .unwrap_or_else(|| format!("hm-stream-{}", self.application_id.hyphenated()))
    }

    /// Checks every setting and resolves the broker address.
    pub(crate) fn validate(&self) -> Result<Broker, Error> {
        let invalid = |what: &'static str, value: String, reason: &str| Error::InvalidConfig {
            what,
            value,
            reason: reason.to_owned(),
        };
        let broker = Broker::parse(&self.broker_url)?;
        for group in &self.leave_share_groups {
            check_share_group(group)?;
        }
        if let Some(group) = &self.share_group {
            check_share_group(group)?;
            if self.client_id.is_none() {
                return Err(invalid(
                    "client id",
                    "(not set)".to_owned(),
                    "a shared subscription needs a client id per replica (stable across \
                     restarts, e.g. `ingest-0`, `ingest-1`): set HM_MQTT_CLIENT_ID or \
                     StreamConfig::client_id",
                ));
            }
        }
        let client_id = self.effective_client_id();
        if client_id.trim().is_empty() || client_id.len() > 65_535 {
            return Err(invalid(
                "client id",
                client_id,
                "expected 1 to 65,535 bytes of UTF-8",
            ));
        }
        if self.max_in_flight == 0 || self.max_in_flight > usize::from(u16::MAX) {
            return Err(invalid(
                "max_in_flight",
                self.max_in_flight.to_string(),
                "expected 1 to 65,535 (the MQTT packet-id space)",
            ));
        }
        if self.concurrency == 0 || self.concurrency > usize::from(u16::MAX) {
            return Err(invalid(
                "concurrency",
                self.concurrency.to_string(),
                "expected 1 to 65,535 handlers at once (more than max_in_flight never run)",
            ));
        }
        if self.max_message_bytes == 0 || self.max_message_bytes > MAX_MESSAGE_BYTES {
            return Err(invalid(
                "max_message_bytes",
                self.max_message_bytes.to_string(),
                "expected 1 byte to 255 MiB (MQTT's largest packet is 256 MiB)",
            ));
        }
        if self.keep_alive < Duration::from_secs(1) || self.keep_alive.as_secs() > 65_535 {
            return Err(invalid(
                "keep_alive",
                format!("{:?}", self.keep_alive),
                "expected 1 s to 65,535 s",
            ));
        }
        if self.backoff_min.is_zero() || self.backoff_min > self.backoff_max {
            return Err(invalid(
                "reconnect_backoff",
                format!("{:?}..{:?}", self.backoff_min, self.backoff_max),
                "expected 0 < min <= max",
            ));
        }
        Ok(broker)
    }
}

/// The largest `max_message_bytes`: 255 MiB, which leaves room for the topic within MQTT's largest
/// packet (256 MiB).
const MAX_MESSAGE_BYTES: usize = 255 * 1024 * 1024;

/// A checked broker address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Broker {
    pub(crate) host: String,
    pub(crate) port: u16,
}

impl Broker {
    fn parse(url: &str) -> Result<Self, Error> {
        let refuse = |reason: String| Error::InvalidConfig {
            what: "broker URL",
            value: without_user_info(url),
            reason,
        };
        let parsed = Url::parse(url.trim()).map_err(|e| {
            refuse(format!(
                "{e}; expected mqtts://host[:port], e.g. {DEFAULT_BROKER_URL}"
            ))
        })?;
        if parsed.scheme() != "mqtts" {
            return Err(refuse(format!(
                "scheme `{}` is not supported: the stream needs TLS with the client certificate, \
                 use mqtts://host[:port]",
                parsed.scheme()
            )));
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(refuse(
                "it must not contain user info: the broker authenticates the client certificate"
                    .to_owned(),
            ));
        }
        if !matches!(parsed.path(), "" | "/")
            || parsed.query().is_some()
            || parsed.fragment().is_some()
        {
            return Err(refuse(
                "it must not have a path, query or fragment".to_owned(),
            ));
        }
        let host = match parsed.host() {
            Some(url::Host::Domain(name)) => name.to_owned(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            None => return Err(refuse("it has no host".to_owned())),
        };
        let port = parsed.port().unwrap_or(8883);
        if port == 0 {
            return Err(refuse(
                "port 0 cannot be connected to; give the broker's port (8883 for mqtts) or omit it"
                    .to_owned(),
            ));
        }
        Ok(Broker { host, port })
    }
}

impl std::fmt::Display for Broker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// The URL as it may be shown: user info (which may hold a password) replaced by `***`.
fn without_user_info(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://***{}", &rest[at..]),
        None => url.to_owned(),
    }
}

/// The data environment named by hm-auth's `HM_ENVIRONMENT`: `production` is live; `sandbox` and
/// a base URL (the emulator, a mock server) are sandbox. Anything else is refused, as hm-auth
/// refuses it, rather than silently streaming the sandbox topic to a production service.
fn environment_from_hm_auth(value: &str) -> Result<DataEnvironment, Error> {
    if let Ok(environment) = value.parse() {
        return Ok(environment);
    }
    match Url::parse(value.trim()) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => {
            Ok(DataEnvironment::Sandbox)
        }
        _ => Err(Error::Environment {
            problem: format!(
                "{ENV_ENVIRONMENT} is `{}`, which is neither `production`, `sandbox` nor a base URL \
                 (hm-auth refuses it too); fix it, or choose the data with {ENV_MQTT_ENVIRONMENT}=live \
                 or sandbox",
                without_user_info(value)
            ),
        }),
    }
}

fn parse_application_id(value: &str) -> Result<Uuid, Error> {
    value.trim().parse().map_err(|e| Error::InvalidConfig {
        what: "application id",
        value: value.to_owned(),
        reason: format!(
            "{e}; expected the application's UUID from the High Mobility console, e.g. \
             48aa1779-91c2-468e-97e9-ab112efd53b9"
        ),
    })
}

enum Source {
    File(String),
    Pem(String),
}

impl Source {
    fn read(self, what: &'static str) -> Result<Vec<u8>, Error> {
        match self {
            Source::Pem(text) => Ok(text.into_bytes()),
            Source::File(path) => crate::tls::read(what, path.as_ref()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_urls() {
        let ok = |url: &str| Broker::parse(url).map(|b| b.to_string());
        assert_eq!(
            ok(DEFAULT_BROKER_URL).ok().as_deref(),
            Some("mqtt-v2.high-mobility.com:8883")
        );
        assert_eq!(
            ok("mqtts://127.0.0.1").ok().as_deref(),
            Some("127.0.0.1:8883")
        );
        assert_eq!(
            ok("mqtts://[::1]:9000/").ok().as_deref(),
            Some("[::1]:9000")
        );
        for bad in [
            "mqtt://broker:1883",
            "https://broker",
            "mqtts://user:pw@broker",
            "mqtts://broker/topic",
            "mqtts://broker:0",
            "broker:8883",
        ] {
            let error = Broker::parse(bad).expect_err(bad).to_string();
            assert!(error.contains("broker URL"), "{error}");
        }
    }

    #[test]
    fn user_info_is_never_shown() {
        assert_eq!(
            without_user_info("mqtts://u:pw@h:1/x@y"),
            "mqtts://***@h:1/x@y"
        );
        assert_eq!(without_user_info("mqtts://a@b@h"), "mqtts://***@h");
        assert_eq!(without_user_info("mqtts://h:1"), "mqtts://h:1");
        assert_eq!(without_user_info("no scheme@h"), "no scheme@h");
        for bad in [
            "mqtts://u:s3cret@h:99999",
            "mqtt://u:s3cret@h",
            "mqtts://u:s3cret@h/p",
        ] {
            let shown = Broker::parse(bad).expect_err(bad);
            assert!(
                !format!("{shown} {shown:?}").contains("s3cret"),
                "{shown:?}"
            );
        }
    }

    #[test]
    fn stale_subscriptions_name_every_filter_but_the_current_one() {
        let identity = || {
            let key = rcgen::KeyPair::generate().expect("key");
            let cert = rcgen::CertificateParams::new(vec!["c".to_owned()])
                .expect("params")
                .self_signed(&key)
                .expect("cert");
            ClientIdentity::from_pem(cert.pem(), key.serialize_pem()).expect("identity")
        };
        let app = Uuid::nil();
        let plain = StreamConfig::new(app, identity()).environment(DataEnvironment::Live);
        assert_eq!(
            plain.stale_subscriptions(),
            [format!("sandbox/level13/{app}")]
        );
        let moved = plain.share_group("new").leave_share_groups(["old", "new"]);
        assert_eq!(
            moved.stale_subscriptions(),
            [
                format!("$share/new/sandbox/level13/{app}"),
                format!("$share/old/live/level13/{app}"),
                format!("$share/old/sandbox/level13/{app}"),
                format!("live/level13/{app}"),
                format!("sandbox/level13/{app}"),
            ]
        );
    }
}
