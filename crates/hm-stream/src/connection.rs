//! The MQTT connection: rumqttc's event loop driven by one task, which reads from the broker only
//! while a message slot is free and reconnects with backoff.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rumqttc::{
    AsyncClient, ConnectReturnCode, ConnectionError, EventLoop, Incoming, MqttOptions, Outgoing,
    Publish, QoS, SubscribeReasonCode, TlsConfiguration, Transport,
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

use crate::Stats;
use crate::backoff::Backoff;
use crate::config::{Broker, StreamConfig};

/// The largest packet MQTT can express. The consumer reads every message, however large, so that an
/// oversized one is reported and acknowledged instead of breaking the connection over and over.
const MQTT_MAX_PACKET: usize = 268_435_455 + 5;

/// What the connection task reports besides messages.
pub(crate) enum Event {
    /// Connected (or reconnected); `epoch` numbers the connection.
    Connected { epoch: u64, session_present: bool },
    /// The broker answered the subscription.
    SubAck { refused: bool },
    /// The connection failed or was lost; the task waits its backoff, then reconnects.
    Lost(ConnectionError),
}

/// A received message and the right to acknowledge it.
pub(crate) struct Job {
    pub(crate) publish: Publish,
    pub(crate) ack: Ack,
}

/// The right to acknowledge one delivery: its packet id on the connection it came from, and the
/// in-flight slot it holds until dropped.
pub(crate) struct Ack {
    pkid: u16,
    epoch: u64,
    _slot: OwnedSemaphorePermit,
    stats: Stats,
}

impl Drop for Ack {
    fn drop(&mut self) {
        self.stats.released();
    }
}

/// Sends acknowledgements, but only on the connection the message came from: after a reconnection
/// the broker redelivers the unacknowledged message and its copy is acknowledged instead.
#[derive(Clone)]
pub(crate) struct Acker {
    client: AsyncClient,
    /// The current connection's epoch, 0 while disconnected (written by the connection task).
    current: Arc<AtomicU64>,
}

impl Acker {
    pub(crate) fn ack(&self, ack: Ack) {
        if self.current.load(Ordering::SeqCst) != ack.epoch {
            return;
        }
        let mut publish = Publish::new("", QoS::AtLeastOnce, Vec::new());
        publish.pkid = ack.pkid;
        // The channel has room for every packet id (see `client`), so this fails only when the
        // connection task is gone, and then the message is redelivered anyway.
        if let Err(error) = self.client.try_ack(&publish) {
            tracing::warn!(%error, "could not queue an acknowledgement; the message will be redelivered");
        }
    }

    pub(crate) fn connected(&self) -> bool {
        self.current.load(Ordering::SeqCst) != 0
    }
}

/// rumqttc options: TLS with the client certificate, persistent session, manual acknowledgements.
pub(crate) fn options(
    config: &StreamConfig,
    broker: &Broker,
    tls: Arc<rustls::ClientConfig>,
) -> MqttOptions {
    let mut options = MqttOptions::new(
        config.effective_client_id(),
        broker.host.clone(),
        broker.port,
    );
    options
        .set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(tls)))
        .set_keep_alive(config.keep_alive)
        .set_clean_session(false)
        .set_manual_acks(true)
        .set_max_packet_size(MQTT_MAX_PACKET, 64 * 1024);
    options
}

/// Builds the client, its acknowledger and the event loop. The request channel has room for an
/// acknowledgement for every packet id the broker can have in flight (and a few control packets),
/// so queuing one never fails; the channel allocates only what it holds.
pub(crate) fn client(
    options: MqttOptions,
    max_in_flight: usize,
) -> (AsyncClient, Acker, EventLoop) {
    let (client, eventloop) = AsyncClient::new(options, usize::from(u16::MAX) + max_in_flight + 16);
    let acker = Acker {
        client: client.clone(),
        current: Arc::new(AtomicU64::new(0)),
    };
    (client, acker, eventloop)
}

/// Drives the event loop until the consumer goes away. Before each poll it takes a free slot, so
/// that at most `slots` messages are ever received and unfinished: when all are taken it stops
/// reading and the broker's flow control (and TCP) hold the rest.
pub(crate) async fn pump(
    mut eventloop: EventLoop,
    slots: Arc<Semaphore>,
    jobs: mpsc::UnboundedSender<Job>,
    events: mpsc::UnboundedSender<Event>,
    mut backoff: Backoff,
    acker: Acker,
    stats: Stats,
) {
    let mut epoch = 0;
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let event = match eventloop.poll().await {
            Ok(rumqttc::Event::Incoming(Incoming::Publish(publish))) => {
                stats.received();
                let ack = Ack {
                    pkid: publish.pkid,
                    epoch,
                    _slot: slot,
                    stats: stats.clone(),
                };
                if jobs.send(Job { publish, ack }).is_err() {
                    return;
                }
                continue;
            }
            Ok(rumqttc::Event::Incoming(Incoming::ConnAck(connack))) => {
                epoch += 1;
                acker.current.store(epoch, Ordering::SeqCst);
                backoff.reset();
                Event::Connected {
                    epoch,
                    session_present: connack.session_present,
                }
            }
            Ok(rumqttc::Event::Incoming(Incoming::SubAck(suback))) => Event::SubAck {
                refused: suback
                    .return_codes
                    .iter()
                    .any(|code| matches!(code, SubscribeReasonCode::Failure)),
            },
            Ok(rumqttc::Event::Outgoing(Outgoing::PubAck(_))) => {
                stats.acked();
                continue;
            }
            Ok(_) => continue,
            Err(ConnectionError::RequestsDone) => return,
            Err(error) => {
                acker.current.store(0, Ordering::SeqCst);
                drop(slot);
                if events.send(Event::Lost(error)).is_err() {
                    return;
                }
                tokio::time::sleep(backoff.next_delay()).await;
                continue;
            }
        };
        if events.send(event).is_err() {
            return;
        }
    }
}

/// For a failure of the very first connection: what is wrong and what to do, when retrying cannot
/// help (a certificate problem or a refusal by the broker). `None` means retry.
pub(crate) fn permanent_failure(error: &ConnectionError) -> Option<(String, &'static str)> {
    if let ConnectionError::ConnectionRefused(code) = error {
        return match code {
            ConnectReturnCode::ServiceUnavailable => None,
            code => Some((
                format!("the broker refused the connection ({code:?})"),
                "check that the client certificate belongs to this application and that the \
                 client id is allowed",
            )),
        };
    }
    match find_tls_error(error)? {
        rustls::Error::InvalidCertificate(reason) => Some((
            format!("the broker's certificate is not trusted ({reason:?})"),
            "check the broker URL's host name and the CA roots (HM_MQTT_CA_FILE or \
             StreamConfig::ca_roots)",
        )),
        rustls::Error::AlertReceived(alert) => {
            use rustls::AlertDescription as A;
            matches!(
                alert,
                A::BadCertificate
                    | A::CertificateRequired
                    | A::UnknownCA
                    | A::CertificateUnknown
                    | A::CertificateExpired
                    | A::CertificateRevoked
                    | A::UnsupportedCertificate
                    | A::AccessDenied
                    | A::DecryptError
            )
            .then(|| {
                (
                    format!("the broker rejected the client certificate (TLS alert {alert:?})"),
                    "use the MQTT V2 client certificate and key of this application from the High \
                     Mobility console; it may have expired or been revoked",
                )
            })
        }
        _ => None,
    }
}

/// The rustls error somewhere in the error's chain (rumqttc wraps it in I/O and state errors).
fn find_tls_error(error: &ConnectionError) -> Option<&rustls::Error> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = current {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        if let Some(tls) = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            return Some(tls);
        }
        current = e.source();
    }
    None
}
