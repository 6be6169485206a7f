//! The broker's public port: a TCP relay in front of the broker, so that the emulator can cut
//! client connections as a network failure would (mqtt5 has no API to close a live connection the
//! way its own error path does) and keep the port while the broker restarts behind it.
//!
//! TLS passes through untouched: the broker still terminates it and checks client certificates.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::MqttStats;
use crate::Error;

/// A running relay.
pub struct Proxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Mutex<Option<JoinHandle<()>>>,
}

struct Shared {
    /// Where the broker listens now.
    backend: Mutex<SocketAddr>,
    /// Bumped to cut every live relay.
    cut: watch::Sender<u64>,
    /// Where the relays count themselves (`connected`) and their cuts (`connections_dropped`).
    stats: Arc<watch::Sender<MqttStats>>,
}

impl Proxy {
    /// Listens on `addr` (port 0 picks a free one) and relays every connection to `backend`,
    /// keeping `stats.connected` and `stats.connections_dropped` up to date.
    pub async fn start(
        addr: SocketAddr,
        backend: SocketAddr,
        stats: Arc<watch::Sender<MqttStats>>,
    ) -> Result<Self, Error> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| Error::Bind { addr, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| Error::Bind { addr, source })?;
        let shared = Arc::new(Shared {
            backend: Mutex::new(backend),
            cut: watch::channel(0).0,
            stats,
        });
        let accept = tokio::spawn(accept(listener, shared.clone()));
        Ok(Self {
            addr,
            shared,
            accept: Mutex::new(Some(accept)),
        })
    }

    /// The public address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Relays new connections to `backend` from now on.
    pub fn set_backend(&self, backend: SocketAddr) {
        *self
            .shared
            .backend
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = backend;
    }

    /// Cuts every connection relayed now; returns how many there were.
    pub fn cut(&self) -> u64 {
        let live = self.shared.stats.borrow().connected;
        self.shared.cut.send_modify(|epoch| *epoch += 1);
        live
    }

    /// Stops accepting connections and waits until the port is closed. Live relays end when
    /// the broker behind them stops.
    pub async fn stop(&self) {
        let accept = self.accept_task().take();
        if let Some(accept) = accept {
            accept.abort();
            let _ = accept.await;
        }
    }

    fn accept_task(&self) -> std::sync::MutexGuard<'_, Option<JoinHandle<()>>> {
        self.accept.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(accept) = self.accept_task().take() {
            accept.abort();
        }
    }
}

async fn accept(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        match listener.accept().await {
            Ok((client, _)) => {
                // Subscribed before the relay starts: a cut after this accept reaches it.
                let cut = shared.cut.subscribe();
                tokio::spawn(relay(client, shared.clone(), cut));
            }
            Err(e) => {
                // Out of descriptors and the like: the client retries; do not spin meanwhile.
                tracing::warn!("MQTT port cannot accept a connection: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        }
    }
}

async fn relay(mut client: TcpStream, shared: Arc<Shared>, mut cut: watch::Receiver<u64>) {
    let backend = *shared.backend.lock().unwrap_or_else(|p| p.into_inner());
    // While the broker restarts nobody listens there: the client sees its connection closed.
    let Ok(mut broker) = TcpStream::connect(backend).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = broker.set_nodelay(true);
    shared.stats.send_modify(|stats| stats.connected += 1);
    let was_cut = tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut broker) => false,
        _ = cut.changed() => true,
    };
    shared.stats.send_modify(|stats| {
        stats.connected -= 1;
        stats.connections_dropped += u64::from(was_cut);
    });
    // Dropping both sockets closes them: each side sees the connection end without a goodbye.
}
