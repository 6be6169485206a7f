//! A plain rumqttc publisher (QoS 1, persistent session) that counts the broker's acknowledgements.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rumqttc::{AsyncClient, Event, Incoming, MqttOptions, QoS, TlsConfiguration, Transport};

use crate::common::pki::TestPki;
use crate::support::wait_for;

pub struct Publisher {
    client: AsyncClient,
    acked: Arc<AtomicU64>,
    sent: u64,
    pump: tokio::task::JoinHandle<()>,
}

impl Publisher {
    pub async fn connect(port: u16, pki: &TestPki, client_id: &str) -> Publisher {
        let tls = rustls_config(pki);
        let mut options = MqttOptions::new(client_id, "127.0.0.1", port);
        options
            .set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(tls)))
            .set_clean_session(false)
            .set_keep_alive(Duration::from_secs(30))
            .set_inflight(100)
            .set_max_packet_size(16 * 1024 * 1024, 16 * 1024 * 1024);
        let (client, mut eventloop) = AsyncClient::new(options, 1000);
        let acked = Arc::new(AtomicU64::new(0));
        let counter = acked.clone();
        let pump = tokio::spawn(async move {
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Incoming::PubAck(_))) => {
                        counter.fetch_add(1, Ordering::SeqCst);
                    }
                    Ok(_) => {}
                    // The broker restarts in some tests: reconnect (rumqttc resends what is unacknowledged).
                    Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
                }
            }
        });
        Publisher {
            client,
            acked,
            sent: 0,
            pump,
        }
    }

    pub async fn publish(&mut self, topic: &str, payload: impl Into<Vec<u8>>) {
        self.client
            .publish(topic, QoS::AtLeastOnce, false, payload)
            .await
            .unwrap();
        self.sent += 1;
    }

    /// Waits until the broker acknowledged everything published so far.
    pub async fn flush(&self) {
        let (acked, sent) = (self.acked.clone(), self.sent);
        assert!(
            wait_for(Duration::from_secs(60), || acked.load(Ordering::SeqCst)
                >= sent)
            .await,
            "publisher: the broker acknowledged {} of {sent} messages",
            self.acked.load(Ordering::SeqCst)
        );
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        self.pump.abort();
    }
}

/// A rustls client configuration trusting the test CA and presenting the test client certificate.
pub fn rustls_config(pki: &TestPki) -> Arc<rustls::ClientConfig> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(pki.ca_pem.as_bytes()).unwrap())
        .unwrap();
    let certs = vec![CertificateDer::from_pem_slice(pki.client.cert_pem.as_bytes()).unwrap()];
    let key = PrivateKeyDer::from_pem_slice(pki.client.key_pem.as_bytes()).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_client_auth_cert(certs, key)
            .unwrap(),
    )
}
