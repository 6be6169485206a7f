//! The emulator's MQTT front door: its own CA and certificates ([`pki`]), an embedded broker with
//! mutual TLS (`broker`) and a publisher of vehicle data for approved vehicles (`publisher`).
//!
//! Enabled with `[mqtt] enabled = true` in the configuration; [`crate::Emulator::start`] then runs
//! it and [`crate::EmulatorHandle::mqtt`] tells where it listens and where the certificates are.

mod access;
mod broker;
pub mod pki;
mod publisher;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Error;
use crate::state::AppState;
pub use pki::TlsFiles;

/// The `[mqtt]` table of the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MqttConfig {
    /// Whether the emulator runs its MQTT broker and publishes vehicle data. Default `false`.
    pub enabled: bool,
    /// Where the CA, server and demo client certificates are written (PEM; keys with mode 0600).
    /// Default: a fresh temporary directory, removed when the emulator stops.
    pub tls_dir: Option<PathBuf>,
    /// Seconds of virtual time between two messages of the same vehicle. Default 5.
    pub publish_interval_secs: u64,
    /// Which topic the data goes to: `live/level13/...` or `sandbox/level13/...`. Default `live`.
    pub environment: MqttEnvironment,
}

impl Default for MqttConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            tls_dir: None,
            publish_interval_secs: 5,
            environment: MqttEnvironment::Live,
        }
    }
}

impl MqttConfig {
    /// The publishing interval as a [`Duration`].
    pub fn publish_interval(&self) -> Duration {
        Duration::from_secs(self.publish_interval_secs)
    }

    /// Checks the values the TOML grammar cannot.
    pub fn validate(&self) -> Result<(), Error> {
        let (min, max) = (1, 24 * 3600);
        if (min..=max).contains(&self.publish_interval_secs) {
            Ok(())
        } else {
            Err(Error::ConfigOutOfRange {
                key: "mqtt.publish_interval_secs".into(),
                value: self.publish_interval_secs,
                min,
                max,
            })
        }
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

/// Where the running broker listens and what a client needs to connect to it.
#[derive(Debug)]
pub struct MqttEndpoint {
    url: String,
    files: TlsFiles,
    environment: MqttEnvironment,
}

impl MqttEndpoint {
    /// The broker URL, `mqtts://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The CA, server and client certificates (one per application; see
    /// [`TlsFiles::application_cert`]).
    pub fn tls(&self) -> &TlsFiles {
        &self.files
    }

    /// The topic the data of application `client_id` is published on.
    pub fn topic(&self, client_id: &str) -> String {
        topic(self.environment, client_id)
    }
}

/// The running MQTT front door.
pub struct Mqtt {
    endpoint: MqttEndpoint,
    broker: broker::Broker,
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
                let temp = tempfile::Builder::new()
                    .prefix("hm-emulator-tls-")
                    .tempdir()
                    .map_err(|source| Error::TlsFiles {
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
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        let broker = broker::Broker::start(identity, addr, applications).await?;
        let publisher = publisher::Publisher::spawn(state.clone(), broker.router(), config);
        let endpoint = MqttEndpoint {
            url: format!("mqtts://{}", broker.addr()),
            files,
            environment: config.environment,
        };
        tracing::info!(
            url = %endpoint.url,
            tls_dir = %endpoint.files.dir().display(),
            "MQTT broker listening (client certificate: {}, key: {}, CA: {})",
            endpoint.files.client_cert().display(),
            endpoint.files.client_key().display(),
            endpoint.files.ca_cert().display(),
        );
        for app in &client_ids {
            tracing::info!(
                client_id = %app,
                topic = %endpoint.topic(app),
                certificate = %endpoint.files.application_cert(app).unwrap_or_default().display(),
                key = %endpoint.files.application_key(app).unwrap_or_default().display(),
                "MQTT topic"
            );
        }
        Ok(Self {
            endpoint,
            broker,
            publisher,
            _lock: lock,
            _temp_dir: temp_dir,
        })
    }

    /// Where the broker listens.
    pub(crate) fn endpoint(&self) -> &MqttEndpoint {
        &self.endpoint
    }

    /// Stops publishing, then the broker.
    pub(crate) async fn stop(self) -> Result<(), Error> {
        self.publisher.stop().await;
        self.broker.stop().await
    }
}
