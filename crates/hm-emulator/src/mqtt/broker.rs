//! The embedded MQTT broker (mqtt5): TLS only, on a loopback port, and only for clients whose
//! certificate the emulator's CA signed.
//!
//! Sessions and queued messages are kept by mqtt5's file backend in a directory the caller owns,
//! so that a broker started again on that directory resumes every persistent session with its
//! queued QoS 1 messages (the memory backend lives and dies with one broker).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use mqtt5::broker::MqttBroker;
use mqtt5::broker::config::{BrokerConfig, StorageBackend, TlsConfig};
use mqtt5::broker::router::MessageRouter;
use mqtt5::broker::server::BrokerShutdownHandle;
use tokio::task::JoinHandle;

use super::access::TopicAccess;
use super::pki::TlsFiles;
use crate::Error;

/// A running broker.
pub struct Broker {
    addr: SocketAddr,
    router: Arc<MessageRouter>,
    shutdown: BrokerShutdownHandle,
    task: Option<JoinHandle<Result<(), mqtt5::MqttError>>>,
}

fn broker_error(what: &str) -> impl Fn(mqtt5::MqttError) -> Error + '_ {
    move |e| Error::Broker(format!("{what}: {e}"))
}

impl Broker {
    /// Starts the broker on `addr` (port 0 picks a free one) with mutual TLS from `files`,
    /// letting clients do what `access` allows, its sessions stored in `storage`.
    pub async fn start(
        files: &TlsFiles,
        addr: SocketAddr,
        access: Arc<TopicAccess>,
        storage: &Path,
    ) -> Result<Self, Error> {
        // mqtt5 builds its rustls configuration with the process-wide crypto provider; the
        // workspace compiles two (aws-lc-rs and mqtt5's ring), so rustls cannot pick one by
        // itself. Install the one the rest of the workspace uses, unless the host already chose.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();

        let tls = TlsConfig::new(files.server_cert(), files.server_key())
            .with_ca_file(files.ca_cert())
            .with_require_client_cert(true)
            .with_bind_address(addr);
        let mut config = BrokerConfig::default().with_bind_addresses(Vec::new());
        config.tls_config = Some(tls);
        config.storage_config.backend = StorageBackend::File;
        config.storage_config.base_dir = storage.to_path_buf();
        config.storage_config.enable_persistence = true;
        config.sys_topics_enabled = false;

        let broker = MqttBroker::with_config(config)
            .await
            .map_err(broker_error("cannot configure the MQTT broker"))?
            .with_auth_provider(access);
        // mqtt5 only warns when the TLS port cannot be bound; without it there is no broker.
        let addr = broker.tls_local_addr().ok_or_else(|| {
            Error::Broker(format!(
                "cannot listen on {addr}; choose another address or stop the process using it"
            ))
        })?;
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
        Ok(Self {
            addr,
            router,
            shutdown,
            task: Some(task),
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

    /// Asks the broker to stop without waiting.
    pub fn signal_stop(&self) {
        self.shutdown.shutdown();
    }

    /// Stops the broker and waits until it has closed its connections.
    pub async fn stop(mut self) -> Result<(), Error> {
        self.signal_stop();
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
        self.signal_stop();
    }
}
