//! Starting, serving and stopping the emulator.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::EmulatorConfig;
use crate::faults::Faults;
use crate::mqtt::{Mqtt, MqttEndpoint};
use crate::state::AppState;
use crate::{Error, routes};

/// Entry point: `Emulator::start(config).await` runs the emulator in the current tokio runtime.
#[derive(Debug, Clone, Copy)]
pub struct Emulator;

impl Emulator {
    /// Starts the emulator on an ephemeral port of 127.0.0.1. It stops when the handle is dropped.
    pub async fn start(config: EmulatorConfig) -> Result<EmulatorHandle, Error> {
        Self::start_on(config, SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await
    }

    /// Starts the emulator on `addr` (port 0 picks a free port). It stops when the handle is dropped.
    pub async fn start_on(
        config: EmulatorConfig,
        addr: SocketAddr,
    ) -> Result<EmulatorHandle, Error> {
        let state = Arc::new(AppState::new(config)?);
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| Error::Bind { addr, source })?;
        let local = listener
            .local_addr()
            .map_err(|source| Error::Bind { addr, source })?;
        let base_url = format!("http://{local}");
        let _ = state.local_addr.set(local);
        let (stop, stopped) = oneshot::channel::<()>();
        let mqtt = if state.config.mqtt.enabled {
            Some(Mqtt::start(state.clone()).await?)
        } else {
            None
        };
        let app = routes::router(state.clone());
        let task = tokio::spawn(async move {
            let shutdown = async {
                // Either an explicit stop or the handle being dropped ends the server.
                let _ = stopped.await;
            };
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
        });
        tracing::info!(%base_url, "High Mobility emulator listening");
        Ok(EmulatorHandle {
            base_url,
            state,
            stop: Some(stop),
            task: Some(task),
            mqtt,
        })
    }
}

/// A running emulator. Dropping it stops the server.
pub struct EmulatorHandle {
    base_url: String,
    state: Arc<AppState>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
    mqtt: Option<Mqtt>,
}

impl std::fmt::Debug for EmulatorHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmulatorHandle")
            .field("base_url", &self.base_url)
            .field("mqtt", &self.mqtt())
            .finish()
    }
}

impl EmulatorHandle {
    /// The base URL, e.g. `http://127.0.0.1:40123` (no trailing slash, no `/v1`).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The `aud` a JWT assertion must carry when the client uses [`EmulatorHandle::base_url`]:
    /// the base URL + `/v1`. A client that reaches the emulator as `localhost:PORT` signs
    /// `http://localhost:PORT/v1` instead: the audience follows the request's `Host`.
    pub fn audience(&self) -> String {
        format!("{}/v1", self.base_url)
    }

    /// Moves the virtual clock forward: clearances progress and tokens expire as if `by` had passed.
    pub fn advance(&self, by: Duration) {
        self.state.clock.advance(by);
    }

    /// The current virtual time.
    pub fn now(&self) -> DateTime<Utc> {
        self.state.clock.now()
    }

    /// The fault injection table; see [`Faults::set`].
    pub fn faults(&self) -> &Faults {
        &self.state.faults
    }

    /// Registers (or replaces) a public key for the JWT assertion flow of application `client_id`.
    pub fn register_key(
        &self,
        client_id: &str,
        key_id: &str,
        public_key_pem: &str,
    ) -> Result<(), Error> {
        self.state
            .registry_mut()
            .add_key(client_id, key_id, public_key_pem)
    }

    /// The configuration the emulator runs with.
    pub fn config(&self) -> &EmulatorConfig {
        &self.state.config
    }

    /// The embedded MQTT broker, when the configuration enables it (`[mqtt] enabled = true`).
    pub fn mqtt(&self) -> Option<&MqttEndpoint> {
        self.mqtt.as_ref().map(Mqtt::endpoint)
    }

    /// Stops the server (and the MQTT broker) and waits until it has finished serving open requests.
    pub async fn shutdown(mut self) -> Result<(), Error> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mqtt) = self.mqtt.take() {
            mqtt.stop().await?;
        }
        match self.task.take() {
            Some(task) => match task.await {
                Ok(result) => result.map_err(Error::Serve),
                Err(join) => Err(Error::Serve(std::io::Error::other(join))),
            },
            None => Ok(()),
        }
    }

    /// Waits until the server stops (it only stops on [`EmulatorHandle::shutdown`] or an I/O error).
    async fn wait(&mut self) -> Result<(), Error> {
        match self.task.as_mut() {
            Some(task) => match task.await {
                Ok(result) => result.map_err(Error::Serve),
                Err(join) => Err(Error::Serve(std::io::Error::other(join))),
            },
            None => Ok(()),
        }
    }
}

impl Drop for EmulatorHandle {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Serves the emulator on `addr` until ctrl-c (used by `hm emulator serve` and the `hm-emulator` binary).
pub async fn serve(config: EmulatorConfig, addr: SocketAddr) -> Result<(), Error> {
    let mut handle = Emulator::start_on(config, addr).await?;
    tokio::select! {
        result = handle.wait() => result,
        _ = tokio::signal::ctrl_c() => {
            tracing::info!("ctrl-c received, stopping the emulator");
            handle.shutdown().await
        }
    }
}
