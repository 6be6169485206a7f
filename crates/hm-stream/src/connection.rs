//! The MQTT connection: rumqttc's event loop driven by one task, which reads from the broker only
//! while a message slot is free and reconnects with backoff.

use std::sync::Arc;

use rumqttc::{
    AsyncClient, ConnectReturnCode, ConnectionError, EventLoop, Incoming, MqttOptions, Outgoing,
    Publish, QoS, SubscribeReasonCode, TlsConfiguration, Transport,
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

use crate::backoff::Backoff;
use crate::config::{Broker, StreamConfig};

/// The largest packet MQTT can express. The consumer reads every message, however large, so that an
/// oversized one is reported and acknowledged instead of breaking the connection over and over.
const MQTT_MAX_PACKET: usize = 268_435_455 + 5;

/// What the connection task tells the consumer.
pub(crate) enum Event {
    /// Connected (or reconnected); `epoch` numbers the connection.
    Connected { epoch: u64, session_present: bool },
    /// A message, holding one of the in-flight slots until it is finished.
    Publish {
        publish: Publish,
        slot: OwnedSemaphorePermit,
        epoch: u64,
    },
    /// The broker answered the subscription.
    SubAck { refused: bool },
    /// An acknowledgement was written to the connection.
    AckWritten,
    /// The connection failed or was lost; the task waits its backoff, then reconnects.
    Lost(ConnectionError),
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

/// Builds the client and the event loop. The request channel has room for an acknowledgement for
/// every packet id the broker can have in flight (and a few control packets), so queuing one never
/// fails: acknowledgements can pile up while the event loop hands out messages it read in a batch.
/// The channel allocates only what it holds.
pub(crate) fn client(options: MqttOptions, max_in_flight: usize) -> (AsyncClient, EventLoop) {
    AsyncClient::new(options, usize::from(u16::MAX) + max_in_flight + 16)
}

/// An acknowledgement request for the message with packet id `pkid`.
pub(crate) fn ack_packet(pkid: u16) -> Publish {
    let mut publish = Publish::new("", QoS::AtLeastOnce, Vec::new());
    publish.pkid = pkid;
    publish
}

/// Drives the event loop until the consumer goes away. Before each poll it takes a free slot, so
/// that at most `slots` messages are ever received and unfinished: when all are taken it stops
/// reading and the broker's flow control (and TCP) hold the rest.
pub(crate) async fn pump(
    mut eventloop: EventLoop,
    slots: Arc<Semaphore>,
    events: mpsc::UnboundedSender<Event>,
    mut backoff: Backoff,
) {
    let mut epoch = 0;
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let event = match eventloop.poll().await {
            Ok(rumqttc::Event::Incoming(Incoming::Publish(publish))) => Event::Publish {
                publish,
                slot,
                epoch,
            },
            Ok(rumqttc::Event::Incoming(Incoming::ConnAck(connack))) => {
                epoch += 1;
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
            Ok(rumqttc::Event::Outgoing(Outgoing::PubAck(_))) => Event::AckWritten,
            Ok(_) => continue,
            Err(ConnectionError::RequestsDone) => return,
            Err(error) => {
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
