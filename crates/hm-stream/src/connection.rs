//! The MQTT connection: rumqttc's event loop driven by one task, which subscribes on every
//! connection, reads from the broker only while a message slot is free and reconnects with backoff.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rumqttc::{
    AsyncClient, ConnectReturnCode, ConnectionError, EventLoop, Incoming, MqttOptions, Outgoing,
    Packet, PubAck, PubRec, Publish, QoS, StateError, SubAck, SubscribeReasonCode,
    TlsConfiguration, Transport,
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::time::Instant;

use crate::Stats;
use crate::backoff::Backoff;
use crate::config::{Broker, StreamConfig};

/// What the connection task reports besides messages.
pub(crate) enum Event {
    /// Connected (or reconnected); `epoch` numbers the connection.
    Connected { epoch: u64, session_present: bool },
    /// The broker answered the subscription.
    SubAck(Granted),
    /// The connection failed or was lost; the task waits its backoff, then reconnects.
    Lost(ConnectionError),
}

/// What the broker granted the subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Granted {
    /// QoS 1 (or 2): messages are kept for the session and delivered at least once.
    AtLeastOnce,
    /// QoS 0 only: nothing is kept or redelivered.
    AtMostOnce,
    /// Refused (or an answer without a return code).
    Refused,
}

/// A received message and the right to acknowledge it.
pub(crate) struct Job {
    pub(crate) publish: Publish,
    pub(crate) ack: Ack,
}

/// The right to acknowledge one delivery: everything the acknowledgement needs (packet id, QoS and
/// the connection it came on) and the in-flight slot it holds until dropped.
pub(crate) struct Ack {
    pkid: u16,
    qos: QoS,
    epoch: u64,
    _slot: OwnedSemaphorePermit,
    stats: Stats,
}

impl Drop for Ack {
    fn drop(&mut self) {
        self.stats.released();
    }
}

/// Sends acknowledgements, but only on the connection the message came from. A packet id means
/// nothing on another connection (the broker may have given it to another message), so a late
/// acknowledgement is dropped and the broker's redelivery is acknowledged instead.
///
/// Acknowledgements are written in batches. rumqttc 0.25 writes and flushes each request on its own
/// (bytebeamio/rumqtt#810): one TLS record and one system call per acknowledgement, and the broker
/// reads each alone and answers each with a write of its own. Here the first acknowledgement of a
/// batch goes through rumqttc's request channel, which wakes the connection task (the "doorbell");
/// those that follow wait in [`AckState::queue`], and the connection task writes them together,
/// with one flush, whenever rumqttc has handed out every packet of its last read (see
/// [`Pump::write_acks`]). About 10 acknowledgements share a flush in the throughput benchmark.
#[derive(Clone)]
pub(crate) struct Acker {
    client: AsyncClient,
    state: Arc<Mutex<AckState>>,
}

/// Shared by the workers and the connection task. The lock is held while an acknowledgement is
/// checked and queued, and while the connection task changes connections, so that nothing checked
/// against one connection is queued for the next.
#[derive(Default)]
struct AckState {
    /// The current connection's epoch, 0 while disconnected.
    epoch: u64,
    /// An acknowledgement is in rumqttc's request channel, not written yet: the connection task
    /// will wake up and write the queue.
    doorbell: bool,
    /// Acknowledgements for the current connection, to be written by the connection task.
    queue: Vec<(u16, QoS)>,
}

impl Acker {
    /// Acknowledges a delivery the way its QoS needs: nothing for QoS 0, PUBACK for QoS 1, PUBREC
    /// for QoS 2 (rumqttc then answers the broker's PUBREL with PUBCOMP).
    pub(crate) fn ack(&self, ack: Ack) {
        if ack.qos == QoS::AtMostOnce {
            return;
        }
        let mut state = self.state();
        if state.epoch != ack.epoch {
            return;
        }
        if state.doorbell {
            state.queue.push((ack.pkid, ack.qos));
            return;
        }
        state.doorbell = true;
        let mut publish = Publish::new("", ack.qos, Vec::new());
        publish.pkid = ack.pkid;
        // The channel has room for every packet id (see `client`), so this fails only when the
        // connection task is gone, and then the message is redelivered anyway.
        if let Err(error) = self.client.try_ack(&publish) {
            tracing::warn!(%error, "could not queue an acknowledgement; the message will be redelivered");
        }
    }

    pub(crate) fn connected(&self) -> bool {
        self.state().epoch != 0
    }

    fn state(&self) -> MutexGuard<'_, AckState> {
        // Nothing panics while the lock is held; a poisoned lock still holds a valid state.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// rumqttc options: TLS with the client certificate, persistent session, manual acknowledgements,
/// and no incoming packet larger than a message of `max_message_bytes` on the application's topic
/// (refused from its header, before it is read).
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
        .set_max_packet_size(max_packet(config), 64 * 1024);
    options
}

/// The largest PUBLISH (after the fixed header) carrying `max_message_bytes` on the topic: the
/// topic's length and name, the packet id, the payload.
fn max_packet(config: &StreamConfig) -> usize {
    2 + config.topic().len() + 2 + config.max_message_bytes
}

/// The payload limit a refused packet broke, when the connection failed for that reason.
pub(crate) fn too_large(error: &ConnectionError) -> Option<usize> {
    match error {
        ConnectionError::MqttState(StateError::Deserialization(
            rumqttc::Error::PayloadSizeLimitExceeded(bytes),
        )) => Some(*bytes),
        _ => None,
    }
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
        state: Arc::default(),
    };
    (client, acker, eventloop)
}

/// The connection task and what it needs.
pub(crate) struct Pump {
    pub(crate) eventloop: EventLoop,
    pub(crate) client: AsyncClient,
    pub(crate) acker: Acker,
    /// One permit per message that may be received and unfinished.
    pub(crate) slots: Arc<Semaphore>,
    pub(crate) jobs: mpsc::UnboundedSender<Job>,
    pub(crate) events: mpsc::UnboundedSender<Event>,
    pub(crate) backoff: Backoff,
    pub(crate) stats: Stats,
    /// The filter subscribed to on every connection.
    pub(crate) subscription: String,
    /// Filters an earlier configuration may have left in a kept session (see
    /// [`StreamConfig::leave_share_groups`]).
    pub(crate) stale: Vec<String>,
    /// The broker must answer SUBSCRIBE within this time.
    pub(crate) keep_alive: Duration,
    /// The acknowledgements being written (see [`Acker`]).
    pub(crate) batch: Vec<(u16, QoS)>,
}

impl Pump {
    /// Drives the event loop until the consumer goes away. Before each poll it takes a free slot,
    /// so that at most `slots` messages are ever received and unfinished: when all are taken it
    /// stops reading and the broker's flow control (and TCP) hold the rest.
    pub(crate) async fn run(mut self) {
        let mut epoch = 0;
        // When the SUBACK is overdue. rumqttc pings every keep-alive interval, so `poll` returns at
        // least that often and the check below runs by the first ping after this time.
        let mut suback_due: Option<Instant> = None;
        loop {
            let Ok(slot) = self.slots.clone().acquire_owned().await else {
                return;
            };
            let mut polled = self.eventloop.poll().await;
            let is_suback = matches!(polled, Ok(rumqttc::Event::Incoming(Incoming::SubAck(_))));
            if !is_suback && polled.is_ok() && suback_due.is_some_and(|due| Instant::now() >= due) {
                self.eventloop.clean(); // drops the connection; the next poll reconnects
                polled = Err(ConnectionError::Io(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!(
                        "the broker did not answer SUBSCRIBE within the keep-alive interval ({:?})",
                        self.keep_alive
                    ),
                )));
            }
            if let Ok(event) = &polled {
                if matches!(
                    event,
                    rumqttc::Event::Outgoing(Outgoing::PubAck(_) | Outgoing::PubRec(_))
                ) {
                    // The acknowledgement that woke this task is written: the next one rings again.
                    self.acker.state().doorbell = false;
                }
                // While rumqttc still holds packets it read in one go, the next polls return at
                // once and more acknowledgements gather; they are written when it runs dry.
                if self.eventloop.state.events.is_empty()
                    && let Err(error) = self.write_acks().await
                {
                    polled = Err(error);
                }
            }
            let event = match polled {
                Ok(rumqttc::Event::Incoming(Incoming::Publish(publish))) => {
                    self.stats.received();
                    let ack = Ack {
                        pkid: publish.pkid,
                        qos: publish.qos,
                        epoch,
                        _slot: slot,
                        stats: self.stats.clone(),
                    };
                    if self.jobs.send(Job { publish, ack }).is_err() {
                        return;
                    }
                    continue;
                }
                Ok(rumqttc::Event::Incoming(Incoming::ConnAck(connack))) => {
                    epoch += 1;
                    self.acker.state().epoch = epoch;
                    self.backoff.reset();
                    self.subscribe(connack.session_present);
                    suback_due = Some(Instant::now() + self.keep_alive / 2);
                    Event::Connected {
                        epoch,
                        session_present: connack.session_present,
                    }
                }
                Ok(rumqttc::Event::Incoming(Incoming::SubAck(suback))) => {
                    suback_due = None;
                    Event::SubAck(granted(&suback))
                }
                Ok(rumqttc::Event::Outgoing(Outgoing::PubAck(_) | Outgoing::PubRec(_))) => {
                    self.stats.acked(1);
                    continue;
                }
                Ok(_) => continue,
                Err(ConnectionError::RequestsDone) => return,
                Err(error) => {
                    suback_due = None;
                    self.forget_connection();
                    drop(slot);
                    if self.events.send(Event::Lost(error)).is_err() {
                        return;
                    }
                    tokio::time::sleep(self.backoff.next_delay()).await;
                    continue;
                }
            };
            if self.events.send(event).is_err() {
                return;
            }
        }
    }

    /// Subscribes, after leaving what an earlier configuration left in a kept session (a fresh
    /// session has no subscription). Also with a kept session the subscription is made again:
    /// harmless, and it repairs a session the broker lost.
    fn subscribe(&self, session_present: bool) {
        let stale = self.stale.iter().filter(|_| session_present);
        let queued = stale
            .map(|filter| self.client.try_unsubscribe(filter.clone()))
            .chain([self
                .client
                .try_subscribe(self.subscription.clone(), QoS::AtLeastOnce)])
            .collect::<Result<Vec<()>, _>>();
        if let Err(error) = queued {
            tracing::warn!(%error, "could not queue the subscription");
        }
    }

    /// Writes the queued acknowledgements with one flush, on the connection rumqttc's event loop
    /// holds (it exposes it; this task alone drives it, between polls, so nothing interleaves).
    /// rumqttc keeps no state for acknowledgements it sends (PUBACK, PUBREC), so none is bypassed.
    async fn write_acks(&mut self) -> Result<(), ConnectionError> {
        // Swapped with the (empty) buffer of the last batch: no allocation per batch.
        std::mem::swap(&mut self.acker.state().queue, &mut self.batch);
        let Some(network) = self.eventloop.network.as_mut() else {
            self.batch.clear();
            return Ok(());
        };
        if self.batch.is_empty() {
            return Ok(());
        }
        let written = self.batch.len();
        // Drained even when a write fails: nothing of this batch may reach a later connection.
        for (pkid, qos) in self.batch.drain(..) {
            let packet = match qos {
                QoS::ExactlyOnce => Packet::PubRec(PubRec::new(pkid)),
                _ => Packet::PubAck(PubAck::new(pkid)),
            };
            network.write(packet).await?;
        }
        let timeout = Duration::from_secs(self.eventloop.network_options.connection_timeout());
        tokio::time::timeout(timeout, network.flush())
            .await
            .map_err(|_| ConnectionError::FlushTimeout)??;
        self.stats.acked(written);
        Ok(())
    }

    /// After a lost connection nothing queued for it may reach the next one: acknowledgements
    /// name packet ids of the old connection, and the subscription is made afresh. rumqttc would
    /// replay what it had queued (all but PUBACKs) on a kept session, so its queue is emptied
    /// here, and so is ours, while acknowledgements are held off (epoch 0).
    fn forget_connection(&mut self) {
        let mut state = self.acker.state();
        state.epoch = 0;
        state.doorbell = false;
        state.queue.clear();
        self.eventloop.clean();
        self.eventloop.pending.clear();
    }
}

/// What a SUBACK granted (one return code per filter; the consumer subscribes one filter).
fn granted(suback: &SubAck) -> Granted {
    match suback.return_codes.as_slice() {
        [SubscribeReasonCode::Success(QoS::AtMostOnce)] => Granted::AtMostOnce,
        [SubscribeReasonCode::Success(_)] => Granted::AtLeastOnce,
        _ => Granted::Refused,
    }
}

/// What is wrong and what to do, when retrying cannot help (a certificate problem or a refusal by
/// the broker). `None` means retry.
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
