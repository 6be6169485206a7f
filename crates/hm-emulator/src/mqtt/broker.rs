//! The embedded MQTT broker (mqtt5) behind the emulator's own TLS front door.
//!
//! mqtt5's TLS listener runs each handshake inline in its accept loop, without a timeout, and
//! retries a failed `accept` at once: one idle TCP connection stops everyone else, and a full file
//! descriptor table makes it spin. So the emulator accepts TCP itself (pausing after errors, up to
//! [`MAX_CONNECTIONS`]), runs each handshake in its own task under [`HANDSHAKE_TIMEOUT`], tells from
//! the client certificate which application the client is, and hands the connection to mqtt5's
//! `ClientHandler` with that application's rights ([`ApplicationAccess`]). mqtt5's own listener
//! (its `run` needs one) is a loopback TCP port that refuses every CONNECT.
//!
//! Sessions and queued messages are kept by mqtt5's file backend in a directory the caller owns,
//! so that a broker started again on that directory resumes every persistent session with its
//! queued QoS 1 messages (the memory backend lives and dies with one broker).

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use mqtt5::broker::MqttBroker;
use mqtt5::broker::client_handler::ClientHandler;
use mqtt5::broker::config::{BrokerConfig, StorageBackend};
use mqtt5::broker::resource_monitor::ResourceMonitor;
use mqtt5::broker::router::MessageRouter;
use mqtt5::broker::server::BrokerShutdownHandle;
use mqtt5::broker::storage::DynamicStorage;
use mqtt5::broker::sys_topics::BrokerStats;
use mqtt5::broker::tls_acceptor::TlsStreamWrapper;
use mqtt5::broker::transport::BrokerTransport;
use rustls::RootCertStore;
use rustls::server::WebPkiClientVerifier;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, broadcast, oneshot, watch};
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;

use super::MqttStats;
use super::access::{ApplicationAccess, RefuseAll};
use super::pki::BrokerIdentity;
use crate::Error;

/// Connections served at once; further clients wait in the kernel's backlog.
pub const MAX_CONNECTIONS: usize = 1_000;
/// Time a client has from TCP connect to a finished TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Pause after a failed `accept` (e.g. no file descriptor left), so the loop does not spin.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(50);
/// Time open connections get to close after the broker's DISCONNECT before they are aborted.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// The longest session expiry the broker grants: an abandoned persistent session (every
/// `--client-id` ever tried) is dropped with its queue after an hour.
pub const MAX_SESSION_EXPIRY: Duration = Duration::from_secs(3600);
/// The largest packet a client may send. Clients only subscribe, acknowledge and ping.
pub const MAX_CLIENT_PACKET_SIZE: usize = 64 * 1024;
/// Subscriptions a client may hold. A consumer needs one (its application's topic, directly or in
/// a share group); each extra share group of the same topic would deliver every message once more.
pub const MAX_SUBSCRIPTIONS_PER_CLIENT: usize = 4;
/// Messages waiting in a connection's delivery lane; more go to its session queue.
pub const CLIENT_CHANNEL_CAPACITY: usize = 64;
/// Bytes a session queue holds for a client that is offline or not reading (the oldest messages
/// are dropped beyond it): ~340 messages of ~48 KB, at the default interval (5 s) about half an
/// hour of one vehicle or three minutes of ten. Also what a stalled connection can cost.
pub const MAX_QUEUED_BYTES_PER_CLIENT: usize = 16 * 1024 * 1024;

/// An application as the broker knows it.
#[derive(Clone)]
pub struct Application {
    /// Its OAuth client id.
    pub client_id: String,
    /// Its topic.
    pub topic: String,
}

/// A running broker.
pub struct Broker {
    addr: SocketAddr,
    router: Arc<MessageRouter>,
    shutdown: BrokerShutdownHandle,
    task: Option<JoinHandle<Result<(), mqtt5::MqttError>>>,
    front_door: Option<(oneshot::Sender<()>, JoinHandle<()>)>,
}

fn broker_error(what: &str) -> impl Fn(mqtt5::MqttError) -> Error + '_ {
    move |e| Error::Broker(format!("{what}: {e}"))
}

/// The broker's limits and settings (see the constants above), its sessions in `storage`.
fn config(storage: &Path) -> BrokerConfig {
    let mut config = BrokerConfig::default()
        .with_bind_addresses(vec![SocketAddr::from((Ipv4Addr::LOCALHOST, 0))]);
    config.storage_config.backend = StorageBackend::File;
    config.storage_config.base_dir = storage.to_path_buf();
    config.storage_config.enable_persistence = true;
    config.storage_config.max_queued_bytes_per_client = MAX_QUEUED_BYTES_PER_CLIENT;
    config.sys_topics_enabled = false;
    config.max_clients = MAX_CONNECTIONS;
    config.session_expiry_interval = MAX_SESSION_EXPIRY;
    config.max_packet_size = MAX_CLIENT_PACKET_SIZE;
    config.client_channel_capacity = CLIENT_CHANNEL_CAPACITY;
    config.max_subscriptions_per_client = MAX_SUBSCRIPTIONS_PER_CLIENT;
    // Clients never publish: no topic alias is ever needed, so none may be registered.
    config.topic_alias_maximum = 0;
    config
}

impl Broker {
    /// Starts the broker on `addr` (port 0 picks a free one), serving clients whose certificate
    /// `identity` issued to one of `applications`, its sessions stored in `storage`, counting
    /// connections in `stats` (`connected`, `connections_dropped`). Every change of `cut` cuts
    /// every live connection, as a network failure would (no MQTT goodbye; mqtt5 handles it as a
    /// lost connection).
    pub async fn start(
        identity: &BrokerIdentity,
        addr: SocketAddr,
        applications: Vec<Application>,
        storage: &Path,
        stats: Arc<watch::Sender<MqttStats>>,
        cut: watch::Sender<u64>,
    ) -> Result<Self, Error> {
        // The front door names its crypto provider; rustls clients in the same process that do
        // not (rumqttc built without one, as in the tests) need a process-wide default, and the
        // workspace compiles two (aws-lc-rs and mqtt5's ring), so rustls cannot pick one itself.
        // Install the one the rest of the workspace uses, unless the host already chose.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| Error::Bind { addr, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| Error::Bind { addr, source })?;
        let config = config(storage);
        let broker = MqttBroker::with_config(config.clone())
            .await
            .map_err(broker_error("cannot configure the MQTT broker"))?
            .with_auth_provider(Arc::new(RefuseAll));
        let served = Served {
            config: Arc::new(config),
            router: broker.router(),
            storage: broker.storage(),
            stats: broker.stats(),
            resource_monitor: broker.resource_monitor(),
            shutdown: broadcast::channel(1).0,
        };
        let router = broker.router();
        let shutdown = broker.shutdown_handle();
        let mut ready = broker.ready_receiver();
        let mut broker = broker;
        let task = tokio::spawn(async move { broker.run().await });
        // The sender lives in the broker: if `run` fails, it is dropped and this wait ends too.
        if ready.wait_for(|ready| *ready).await.is_err() {
            return match task.await {
                Ok(Err(e)) => Err(broker_error("the MQTT broker did not start")(e)),
                _ => Err(Error::Broker(
                    "the MQTT broker stopped while starting".into(),
                )),
            };
        }
        let front_door = FrontDoor::new(listener, identity, applications, served, cut, stats)?;
        let (stop, stopped) = oneshot::channel();
        let front_door = tokio::spawn(front_door.run(stopped));
        Ok(Self {
            addr,
            router,
            shutdown,
            task: Some(task),
            front_door: Some((stop, front_door)),
        })
    }

    /// The address the broker listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The broker's message router: publishing through it delivers as a client's publish would.
    pub fn router(&self) -> Arc<MessageRouter> {
        self.router.clone()
    }

    /// Stops the broker: closes the port, disconnects every client and waits until they are gone.
    pub async fn stop(mut self) -> Result<(), Error> {
        if let Some((stop, front_door)) = self.front_door.take() {
            let _ = stop.send(());
            let _ = front_door.await;
        }
        self.shutdown.shutdown();
        let Some(task) = self.task.take() else {
            return Ok(());
        };
        match task.await {
            Ok(result) => result.map_err(broker_error("the MQTT broker failed")),
            Err(join) => Err(Error::Broker(format!(
                "the MQTT broker task failed: {join}"
            ))),
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        // Dropping the front door's task handle does not stop it: abort it (its connections go
        // with its `JoinSet`).
        if let Some((_, front_door)) = self.front_door.take() {
            front_door.abort();
        }
        self.shutdown.shutdown();
    }
}

/// What every connection is served with: mqtt5's shared broker state.
#[derive(Clone)]
struct Served {
    config: Arc<BrokerConfig>,
    router: Arc<MessageRouter>,
    storage: Option<Arc<DynamicStorage>>,
    stats: Arc<BrokerStats>,
    resource_monitor: Arc<ResourceMonitor>,
    /// Tells the connections' handlers to disconnect their clients.
    shutdown: broadcast::Sender<()>,
}

/// The TLS listener: accepts, handshakes, identifies the application, hands over to mqtt5.
struct FrontDoor {
    listener: TcpListener,
    acceptor: TlsAcceptor,
    /// Each issued client certificate (DER) and its application.
    clients: Arc<HashMap<Vec<u8>, Application>>,
    served: Served,
    cut: watch::Sender<u64>,
    stats: Arc<watch::Sender<MqttStats>>,
}

impl FrontDoor {
    fn new(
        listener: TcpListener,
        identity: &BrokerIdentity,
        applications: Vec<Application>,
        served: Served,
        cut: watch::Sender<u64>,
        stats: Arc<watch::Sender<MqttStats>>,
    ) -> Result<Self, Error> {
        let tls_error = |e: &dyn std::fmt::Display| {
            Error::Broker(format!("cannot configure the MQTT broker's TLS: {e}"))
        };
        // Explicitly the provider the rest of the workspace uses: mqtt5 also compiles ring, so
        // rustls cannot choose a process-wide default by itself.
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut roots = RootCertStore::empty();
        roots
            .add(identity.ca_cert.clone())
            .map_err(|e| tls_error(&e))?;
        let verifier =
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .map_err(|e| tls_error(&e))?;
        let tls = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| tls_error(&e))?
            .with_client_cert_verifier(verifier)
            .with_single_cert(
                vec![identity.server_cert.clone()],
                identity.server_key.clone_key(),
            )
            .map_err(|e| tls_error(&e))?;
        let mut by_client_id: HashMap<String, Application> = applications
            .into_iter()
            .map(|app| (app.client_id.clone(), app))
            .collect();
        let clients = identity
            .clients
            .iter()
            .filter_map(|(der, client_id)| Some((der.clone(), by_client_id.remove(client_id)?)))
            .collect();
        Ok(Self {
            listener,
            acceptor: TlsAcceptor::from(Arc::new(tls)),
            clients: Arc::new(clients),
            served,
            cut,
            stats,
        })
    }

    /// Accepts until `stop`, then closes the port, disconnects every client, waits
    /// [`SHUTDOWN_GRACE`] and aborts what is left.
    async fn run(self, mut stop: oneshot::Receiver<()>) {
        let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
        let mut connections = JoinSet::new();
        // Set after an accept error is logged, cleared by the next success: one line per episode.
        let mut failing = false;
        loop {
            let accepted = async {
                let permit = permits.clone().acquire_owned().await;
                (permit, self.listener.accept().await)
            };
            tokio::select! {
                _ = &mut stop => break,
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
                (permit, accepted) = accepted => match (permit, accepted) {
                    (Ok(permit), Ok((tcp, peer))) => {
                        failing = false;
                        connections.spawn(self.serve(tcp, peer, permit));
                    }
                    (_, Err(e)) => {
                        if !failing {
                            tracing::warn!(error = %e, "MQTT broker: accepting a connection failed; retrying every 50 ms");
                            failing = true;
                        }
                        tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                    }
                    // The semaphore is never closed.
                    (Err(_), Ok(_)) => {}
                },
            }
        }
        drop(self.listener);
        let _ = self.served.shutdown.send(());
        let drained = async { while connections.join_next().await.is_some() {} };
        if tokio::time::timeout(SHUTDOWN_GRACE, drained).await.is_err() {
            connections.shutdown().await;
        }
    }

    /// One connection: the TLS handshake (bounded in time), then mqtt5 with the rights of the
    /// application whose certificate the client presented.
    fn serve(
        &self,
        tcp: TcpStream,
        peer: SocketAddr,
        permit: OwnedSemaphorePermit,
    ) -> impl Future<Output = ()> + Send + 'static {
        let acceptor = self.acceptor.clone();
        let clients = self.clients.clone();
        let served = self.served.clone();
        let mut shutdown = served.shutdown.subscribe();
        // Subscribed before the handshake: a cut after this accept reaches the connection.
        let mut cut = self.cut.subscribe();
        let stats = self.stats.clone();
        async move {
            let _permit = permit;
            let _ = tcp.set_nodelay(true);
            let cutter = Cutter::new(&tcp);
            let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp));
            let tls = tokio::select! {
                _ = shutdown.recv() => return,
                _ = cut.changed() => return,
                result = handshake => match result {
                    Ok(Ok(tls)) => tls,
                    Ok(Err(e)) => {
                        tracing::debug!(%peer, "MQTT TLS handshake failed: {e}");
                        return;
                    }
                    Err(_) => {
                        tracing::debug!(%peer, "MQTT TLS handshake timed out");
                        return;
                    }
                },
            };
            let application = tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|chain| chain.first())
                .and_then(|cert| clients.get(cert.as_ref()));
            let Some(application) = application else {
                // Signed by the emulator's CA but not a client certificate of this run.
                tracing::debug!(%peer, "MQTT client certificate belongs to no application");
                return;
            };
            let access = ApplicationAccess::new(
                application.client_id.clone(),
                application.topic.clone(),
                served.storage.clone(),
            );
            let handler = ClientHandler::new(
                BrokerTransport::tls(TlsStreamWrapper::new(tls)),
                peer,
                served.config,
                served.router,
                Arc::new(access),
                served.storage,
                served.stats,
                served.resource_monitor,
                shutdown,
            );
            let mut counted = Counted::new(stats);
            let run = handler.run();
            tokio::pin!(run);
            let result = tokio::select! {
                result = &mut run => result,
                _ = cut.changed() => {
                    counted.cut = true;
                    // Closing the socket under the handler makes mqtt5 take its lost-connection
                    // path (session kept, will sent); aborting the handler would skip it.
                    match cutter {
                        Some(cutter) => {
                            cutter.cut();
                            run.await
                        }
                        None => Ok(()),
                    }
                }
            };
            if let Err(e) = result
                && !e.is_normal_disconnect()
            {
                tracing::debug!(%peer, "MQTT connection ended: {e}");
            }
        }
    }
}

/// A connection counted in `stats.connected` while it lives (also when its task is aborted).
struct Counted {
    stats: Arc<watch::Sender<MqttStats>>,
    /// Whether it ends by a cut (counted in `connections_dropped`).
    cut: bool,
}

impl Counted {
    fn new(stats: Arc<watch::Sender<MqttStats>>) -> Self {
        stats.send_modify(|stats| stats.connected += 1);
        Self { stats, cut: false }
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        let cut = u64::from(self.cut);
        self.stats.send_modify(|stats| {
            stats.connected -= 1;
            stats.connections_dropped += cut;
        });
    }
}

/// A second handle on a connection's socket, to close it while mqtt5 owns the stream.
struct Cutter(std::net::TcpStream);

impl Cutter {
    #[cfg(unix)]
    fn new(tcp: &TcpStream) -> Option<Self> {
        use std::os::fd::AsFd;
        let fd = tcp.as_fd().try_clone_to_owned().ok()?;
        Some(Self(std::net::TcpStream::from(fd)))
    }

    #[cfg(not(unix))]
    fn new(_tcp: &TcpStream) -> Option<Self> {
        None
    }

    /// Shuts the socket down both ways: the handler's next read ends, the client sees the
    /// connection closed.
    fn cut(self) {
        let _ = self.0.shutdown(std::net::Shutdown::Both);
    }
}
