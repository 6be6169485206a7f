//! Starting, serving and stopping the emulator.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use chrono::{DateTime, Utc};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::{AbortHandle, JoinHandle, JoinSet};

use crate::config::{EmulatorConfig, Limits};
use crate::faults::Faults;
use crate::hyper_errors::ShapedErrors;
use crate::mqtt::{Mqtt, MqttEndpoint};
use crate::state::AppState;
use crate::webhooks::Webhooks;
use crate::{Error, routes, webhooks};

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
        let limits = state.config.limits.clone();
        let task = tokio::spawn(serve_until(listener, app, limits, async move {
            // Either an explicit stop or the handle being dropped ends the server.
            let _ = stopped.await;
        }));
        tracing::info!(%base_url, "High Mobility emulator listening");
        let deliveries = tokio::spawn(webhooks::run(state.clone())).abort_handle();
        Ok(EmulatorHandle {
            base_url,
            state,
            stop: Some(stop),
            task: Some(task),
            deliveries,
            mqtt,
        })
    }
}

/// A running emulator. Dropping it stops the server.
pub struct EmulatorHandle {
    base_url: String,
    state: Arc<AppState>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    /// The webhook delivery task, stopped with the server.
    deliveries: AbortHandle,
    /// The embedded MQTT broker and its publisher, when enabled.
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

    /// Webhook deliveries: register webhooks, inject faults, read statistics; see [`Webhooks`].
    pub fn webhooks(&self) -> &Webhooks {
        &self.state.webhooks
    }

    /// Registers (or replaces) a public key for the JWT assertion flow of application `client_id`.
    /// A key id that belongs to another application is refused ([`Error::KeyIdTaken`]).
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

    /// Stops the server (and the MQTT broker): it stops accepting, lets open requests finish for at most
    /// `limits.shutdown_grace_secs`, then closes every connection that is still open.
    pub async fn shutdown(mut self) -> Result<(), Error> {
        self.deliveries.abort();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mqtt) = self.mqtt.take() {
            mqtt.stop().await?;
        }
        match self.task.take() {
            Some(task) => task
                .await
                .map_err(|join| Error::Serve(std::io::Error::other(join))),
            None => Ok(()),
        }
    }

    /// Waits until the server stops (it only stops on [`EmulatorHandle::shutdown`] or an I/O error).
    async fn wait(&mut self) -> Result<(), Error> {
        match self.task.as_mut() {
            Some(task) => task
                .await
                .map_err(|join| Error::Serve(std::io::Error::other(join))),
            None => Ok(()),
        }
    }
}

impl Drop for EmulatorHandle {
    fn drop(&mut self) {
        self.deliveries.abort();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Accepts and serves HTTP/1.1 connections until `stop`, then shuts down within the grace period.
///
/// Hand-rolled rather than `axum::serve`, which has neither a request head timeout nor a deadline
/// for its graceful shutdown: a client that stops sending would hold its connection, and a
/// shutdown, forever.
async fn serve_until(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    stop: impl Future<Output = ()>,
) {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.request_head_timeout());
    let (draining, drain) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        // Per-connection failures (reset before accept, too many open files)
                        // must not end the server; pause briefly so a full fd table can drain.
                        tracing::warn!(error = %e, "accepting a connection failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let io = TokioIo::new(ShapedErrors::new(stream));
                let connection = http.serve_connection(io, TowerToHyperService::new(app.clone()));
                let mut drain = drain.clone();
                connections.spawn(async move {
                    tokio::pin!(connection);
                    tokio::select! {
                        _ = connection.as_mut() => return,
                        _ = drain.wait_for(|draining| *draining) => {}
                    }
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                });
            }
        }
    }
    drop(listener);
    let _ = draining.send(true);
    let drained = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(limits.shutdown_grace(), drained)
        .await
        .is_err()
    {
        tracing::warn!(
            open = connections.len(),
            "closing connections still open after the shutdown grace period"
        );
        connections.shutdown().await;
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
