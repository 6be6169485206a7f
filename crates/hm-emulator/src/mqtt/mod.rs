//! The emulator's MQTT front door: its own CA and certificates ([`pki`]), an embedded broker with
//! mutual TLS behind the emulator's own TLS front door (`broker`), a publisher of vehicle data for
//! approved vehicles (`publisher`), and fault injection ([`MqttFault`]).
//!
//! Enabled with `[mqtt] enabled = true` in the configuration; [`crate::Emulator::start`] then runs
//! it and [`crate::EmulatorHandle::mqtt`] tells where it listens and where the certificates are,
//! and injects faults.

mod access;
mod broker;
mod fault;
pub mod pki;
mod publisher;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use mqtt5::QoS;
use mqtt5::broker::router::MessageRouter;
use mqtt5::packet::publish::PublishPacket;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use uuid::Uuid;

use crate::Error;
use crate::state::AppState;
use crate::state::clock::VirtualClock;
use fault::ActiveFault;
pub use fault::{MqttFault, MqttStats};
pub use pki::TlsFiles;

/// The `[mqtt]` table of the configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MqttConfig {
    /// Whether the emulator runs its MQTT broker and publishes vehicle data. Default `false`.
    pub enabled: bool,
    /// Where the CA, server and client certificates (one per application) are written (PEM; keys
    /// with mode 0600).
    /// Default: a fresh temporary directory, removed when the emulator stops.
    pub tls_dir: Option<PathBuf>,
    /// Seconds of virtual time between two messages of the same vehicle. Default 5.
    pub publish_interval_secs: u64,
    /// Which topic the data goes to: `live/level13/...` or `sandbox/level13/...`. Default `live`.
    pub environment: MqttEnvironment,
    /// Share (0.0 to 1.0) of messages published twice with the same `message_id` and payload.
    /// Default 0.0.
    pub duplicate_share: f64,
    /// Seconds of virtual time between two cuts of every client connection; 0 (the default)
    /// never cuts.
    pub disconnect_every_secs: u64,
    /// Seed of the generator that picks the duplicated messages. Default 0x5eed.
    pub fault_seed: u64,
}

impl Default for MqttConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            tls_dir: None,
            publish_interval_secs: 5,
            environment: MqttEnvironment::Live,
            duplicate_share: 0.0,
            disconnect_every_secs: 0,
            fault_seed: MqttFault::default().seed,
        }
    }
}

impl MqttConfig {
    /// The publishing interval as a [`Duration`].
    pub fn publish_interval(&self) -> Duration {
        Duration::from_secs(self.publish_interval_secs)
    }

    /// The fault the configuration asks for from the start, if any.
    pub fn fault(&self) -> Option<MqttFault> {
        let fault = MqttFault {
            duplicate_share: self.duplicate_share,
            disconnect_every: (self.disconnect_every_secs > 0)
                .then(|| Duration::from_secs(self.disconnect_every_secs)),
            seed: self.fault_seed,
        };
        (fault.duplicate_share > 0.0 || fault.disconnect_every.is_some()).then_some(fault)
    }

    /// Checks the values the TOML grammar cannot.
    pub fn validate(&self) -> Result<(), Error> {
        let day = 24 * 3600;
        for (key, value, min) in [
            ("mqtt.publish_interval_secs", self.publish_interval_secs, 1),
            ("mqtt.disconnect_every_secs", self.disconnect_every_secs, 0),
        ] {
            if !(min..=day).contains(&value) {
                return Err(Error::ConfigOutOfRange {
                    key: key.into(),
                    value,
                    min,
                    max: day,
                });
            }
        }
        MqttFault::duplicates(self.duplicate_share)
            .check("mqtt.duplicate_share")
            .map_err(Error::InvalidConfig)
    }
}

/// High Mobility's two data environments, each with its own topic prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MqttEnvironment {
    /// `live/level13/{application_id}`.
    #[default]
    Live,
    /// `sandbox/level13/{application_id}`.
    Sandbox,
}

impl MqttEnvironment {
    /// The first topic level.
    pub fn topic_prefix(self) -> &'static str {
        match self {
            MqttEnvironment::Live => "live",
            MqttEnvironment::Sandbox => "sandbox",
        }
    }
}

/// Namespace of the application ids derived from client ids (a fixed, random UUID).
const APPLICATION_ID_NAMESPACE: Uuid = Uuid::from_u128(0x6c1f_52d4_3b0e_4a7e_9d57_2f4e_8a61_c0b3);

/// The MQTT application id (the UUID in the topic and the envelope) of the application with OAuth
/// client id `client_id`: derived from it, so it is the same on every start.
pub fn application_id(client_id: &str) -> Uuid {
    Uuid::new_v5(&APPLICATION_ID_NAMESPACE, client_id.as_bytes())
}

/// The topic of application `client_id` in `environment`: `{live|sandbox}/level13/{application_id}`.
fn topic(environment: MqttEnvironment, client_id: &str) -> String {
    format!(
        "{}/level13/{}",
        environment.topic_prefix(),
        application_id(client_id)
    )
}

/// Where the running broker listens, what a client needs to connect to it, and the faults to
/// inject into its stream.
///
/// ```
/// # async fn f() -> Result<(), hm_emulator::Error> {
/// use hm_emulator::{Emulator, EmulatorConfig, MqttFault};
///
/// let mut config = EmulatorConfig::demo();
/// config.mqtt.enabled = true;
/// let emulator = Emulator::start(config).await?;
/// let mqtt = emulator.mqtt().expect("enabled");
/// // One message in twenty arrives twice; every connection is cut each virtual minute.
/// mqtt.set_fault(MqttFault::duplicates(0.05).with_disconnects_every(std::time::Duration::from_secs(60)));
/// mqtt.cut_connections(); // and once right now
/// mqtt.restart_broker().await?; // sessions and their queued messages survive
/// let stats = mqtt.wait_for_stats(|s| s.restarts == 1).await;
/// println!("{stats:?}");
/// # Ok(()) }
/// ```
pub struct MqttEndpoint {
    url: String,
    environment: MqttEnvironment,
    control: Arc<Control>,
}

impl std::fmt::Debug for MqttEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MqttEndpoint")
            .field("url", &self.url)
            .field("tls", &self.control.files)
            .field("environment", &self.environment)
            .field("stats", &self.stats())
            .finish()
    }
}

impl MqttEndpoint {
    /// The broker URL, `mqtts://127.0.0.1:PORT`; it stays the same across broker restarts.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The CA, server and client certificates (one per application; see
    /// [`TlsFiles::application_cert`]).
    pub fn tls(&self) -> &TlsFiles {
        &self.control.files
    }

    /// The topic the data of application `client_id` is published on.
    pub fn topic(&self, client_id: &str) -> String {
        topic(self.environment, client_id)
    }

    /// Sets (or replaces) the fault injected into the stream; its `disconnect_every` counts from
    /// now (virtual time).
    pub fn set_fault(&self, fault: MqttFault) {
        *self.control.fault() = Some(ActiveFault::new(fault, self.control.clock.now()));
    }

    /// Removes the injected fault.
    pub fn clear_fault(&self) {
        *self.control.fault() = None;
    }

    /// Cuts every client connection now, as a network failure would (no MQTT goodbye); returns
    /// how many there were. Persistent sessions stay, with their queued messages.
    pub fn cut_connections(&self) -> u64 {
        self.control.cut()
    }

    /// Stops the broker and starts it again behind the same URL, with the same certificates and
    /// the same session storage: persistent sessions (`clean_start = false`) and their queued
    /// QoS 1 messages survive, and what falls due for publishing meanwhile is published once the
    /// broker is back. Client connections end while it restarts.
    pub async fn restart_broker(&self) -> Result<(), Error> {
        self.control.restart().await
    }

    /// Waits until every publishing round due at the current virtual time is published (during
    /// a broker restart: until the broker is back and they are). Tests call it after
    /// `EmulatorHandle::advance` instead of sleeping.
    pub async fn settled(&self) {
        let now = self.control.clock.now();
        let mut caught_up = self.control.caught_up.subscribe();
        // The sender lives in `self.control`, so the channel cannot close while we wait.
        let _ = caught_up.wait_for(|published| *published >= now).await;
    }

    /// What the front door did so far.
    pub fn stats(&self) -> MqttStats {
        *self.control.stats.borrow()
    }

    /// Waits until `condition` holds for the stats, and returns them (for cuts, counted as each
    /// connection ends).
    pub async fn wait_for_stats(&self, mut condition: impl FnMut(&MqttStats) -> bool) -> MqttStats {
        let mut stats = self.control.stats.subscribe();
        // The sender lives in `self.control`, so the channel cannot close while we wait.
        let _ = stats.wait_for(|stats| condition(stats)).await;
        *stats.borrow()
    }
}

/// What the publisher and the endpoint share: the broker and the faults.
struct Control {
    clock: Arc<VirtualClock>,
    files: TlsFiles,
    /// What the broker serves with (kept for restarts).
    identity: pki::BrokerIdentity,
    applications: Vec<broker::Application>,
    /// Bumped to cut every live connection.
    cut: watch::Sender<u64>,
    /// mqtt5's session storage, kept across broker restarts; removed on drop.
    storage: tempfile::TempDir,
    /// The broker, as restarts and the emulator's stop see it.
    broker: tokio::sync::Mutex<BrokerSlot>,
    /// The running broker's router; `None` while the broker is down. A restart holds it for
    /// writing, so publishing waits for the new broker instead of routing into the stopped one.
    router: tokio::sync::RwLock<Option<Arc<MessageRouter>>>,
    fault: Mutex<Option<ActiveFault>>,
    stats: Arc<watch::Sender<MqttStats>>,
    /// The virtual time up to which the publisher has published every round.
    caught_up: watch::Sender<DateTime<Utc>>,
}

impl Control {
    fn fault(&self) -> MutexGuard<'_, Option<ActiveFault>> {
        // Every step under the lock leaves the fault consistent, so a poisoned lock is still usable.
        self.fault.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Publishes `payload` on `topic` at QoS 1 (twice when the fault says so).
    async fn publish(&self, topic: &str, payload: Vec<u8>) {
        let packet = PublishPacket::new(topic, payload, QoS::AtLeastOnce);
        let duplicate = self.fault().as_mut().is_some_and(ActiveFault::duplicates);
        {
            let router = self.router.read().await;
            let Some(router) = router.as_ref() else {
                tracing::error!("the MQTT broker is down after a failed restart; message dropped");
                return;
            };
            router.route_message(&packet, None).await;
            if duplicate {
                router.route_message(&packet, None).await;
            }
        }
        self.stats.send_modify(|stats| {
            stats.published += 1;
            stats.duplicated += u64::from(duplicate);
        });
    }

    /// Cuts every live client connection; returns how many there were.
    fn cut(&self) -> u64 {
        let live = self.stats.borrow().connected;
        self.cut.send_modify(|epoch| *epoch += 1);
        live
    }

    /// Starts a broker on `addr`.
    async fn start_broker(&self, addr: SocketAddr) -> Result<broker::Broker, Error> {
        broker::Broker::start(
            &self.identity,
            addr,
            self.applications.clone(),
            self.storage.path(),
            self.stats.clone(),
            self.cut.clone(),
        )
        .await
    }

    /// Cuts the connections if the fault says they are due at `at`.
    fn cut_if_due(&self, at: DateTime<Utc>) {
        let due = self.fault().as_mut().is_some_and(|fault| fault.cut_due(at));
        if due {
            let cut = self.cut();
            tracing::debug!(connections = cut, "MQTT fault: connections cut");
        }
    }

    async fn restart(&self) -> Result<(), Error> {
        let mut router = self.router.write().await;
        let mut slot = self.broker.lock().await;
        let addr = match std::mem::replace(&mut *slot, BrokerSlot::Stopped) {
            BrokerSlot::Running(old) => {
                let addr = old.addr();
                // The router shares the session storage, which a new broker can only open once
                // the old one let go of it.
                *router = None;
                if let Err(e) = old.stop().await {
                    // It stopped all the same; what it left in the storage is what the new one
                    // resumes.
                    tracing::warn!("the MQTT broker stopped with an error before its restart: {e}");
                }
                addr
            }
            BrokerSlot::Down(addr) => addr,
            BrokerSlot::Stopped => {
                return Err(Error::Broker(
                    "the MQTT broker was stopped; it cannot restart".into(),
                ));
            }
        };
        // The same port: it was closed while the broker was down, as a restarted broker's is. If
        // something took it meanwhile, the broker stays down and a later restart tries again.
        let new = match self.start_broker(addr).await {
            Ok(new) => new,
            Err(e) => {
                *slot = BrokerSlot::Down(addr);
                return Err(e);
            }
        };
        *router = Some(new.router());
        *slot = BrokerSlot::Running(new);
        self.stats.send_modify(|stats| stats.restarts += 1);
        tracing::info!(url = %format!("mqtts://{addr}"), "MQTT broker restarted");
        Ok(())
    }
}

/// The broker's state, as restarts and the emulator's stop see it.
enum BrokerSlot {
    /// Serving.
    Running(broker::Broker),
    /// A restart could not bind the broker's port again; the next restart tries again.
    Down(SocketAddr),
    /// Stopped with the emulator (or not started yet).
    Stopped,
}

/// The running MQTT front door.
pub struct Mqtt {
    endpoint: MqttEndpoint,
    publisher: publisher::Publisher,
    /// Keeps other emulators out of the TLS directory while this one runs.
    _lock: std::fs::File,
    /// Holds the default (temporary) TLS directory; removed on drop.
    _temp_dir: Option<tempfile::TempDir>,
}

impl Mqtt {
    /// Creates the certificates, starts the broker on a free loopback port and starts publishing.
    pub(crate) async fn start(state: Arc<AppState>) -> Result<Self, Error> {
        let config = &state.config.mqtt;
        let (dir, temp_dir) = match &config.tls_dir {
            Some(dir) => (dir.clone(), None),
            None => {
                let temp =
                    private_temp_dir("hm-emulator-tls-").map_err(|source| Error::TlsFiles {
                        path: std::env::temp_dir(),
                        source,
                    })?;
                (temp.path().to_path_buf(), Some(temp))
            }
        };
        let client_ids: Vec<String> = state
            .config
            .applications
            .iter()
            .map(|app| app.client_id.clone())
            .collect();
        let pki::Pki {
            files,
            identity,
            lock,
        } = pki::create(&dir, &client_ids)?;
        let applications = client_ids
            .iter()
            .map(|client_id| broker::Application {
                client_id: client_id.clone(),
                topic: topic(config.environment, client_id),
            })
            .collect();
        let storage = private_temp_dir("hm-emulator-mqtt-sessions-").map_err(|e| {
            Error::Broker(format!(
                "cannot create the MQTT broker's session storage: {e}; \
                 point TMPDIR at a writable directory"
            ))
        })?;
        let mut control = Control {
            clock: state.clock.clone(),
            files,
            identity,
            applications,
            cut: watch::channel(0).0,
            storage,
            router: tokio::sync::RwLock::new(None),
            broker: tokio::sync::Mutex::new(BrokerSlot::Stopped),
            fault: Mutex::new(None),
            stats: Arc::new(watch::channel(MqttStats::default()).0),
            caught_up: watch::channel(state.clock.now()).0,
        };
        let broker = control
            .start_broker(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .await?;
        let url = format!("mqtts://{}", broker.addr());
        *control.router.get_mut() = Some(broker.router());
        *control.broker.get_mut() = BrokerSlot::Running(broker);
        let control = Arc::new(control);
        let endpoint = MqttEndpoint {
            url,
            environment: config.environment,
            control: control.clone(),
        };
        if let Some(fault) = config.fault() {
            endpoint.set_fault(fault);
        }
        let publisher = publisher::Publisher::spawn(state.clone(), control, config);
        let tls = endpoint.tls();
        tracing::info!(
            url = %endpoint.url,
            tls_dir = %tls.dir().display(),
            "MQTT broker listening (client certificate: {}, key: {}, CA: {})",
            tls.client_cert().display(),
            tls.client_key().display(),
            tls.ca_cert().display(),
        );
        for app in &client_ids {
            tracing::info!(
                client_id = %app,
                topic = %endpoint.topic(app),
                certificate = %tls.application_cert(app).unwrap_or_default().display(),
                key = %tls.application_key(app).unwrap_or_default().display(),
                "MQTT topic"
            );
        }
        Ok(Self {
            endpoint,
            publisher,
            _lock: lock,
            _temp_dir: temp_dir,
        })
    }

    /// Where the broker listens.
    pub(crate) fn endpoint(&self) -> &MqttEndpoint {
        &self.endpoint
    }

    /// Stops publishing, then accepting connections, then the broker.
    pub(crate) async fn stop(self) -> Result<(), Error> {
        self.publisher.stop().await;
        let control = &self.endpoint.control;
        let broker = std::mem::replace(&mut *control.broker.lock().await, BrokerSlot::Stopped);
        match broker {
            BrokerSlot::Running(broker) => broker.stop().await,
            BrokerSlot::Down(_) | BrokerSlot::Stopped => Ok(()),
        }
    }
}

/// A fresh private temporary directory.
fn private_temp_dir(prefix: &str) -> std::io::Result<tempfile::TempDir> {
    tempfile::Builder::new().prefix(prefix).tempdir()
}
