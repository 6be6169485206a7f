//! The consumer: receives, decodes, deduplicates, hands messages to the application's handler and
//! acknowledges each one only after the handler finished with it.

use std::future::Future;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::FutureExt;
use futures::future::BoxFuture;
use rumqttc::{AsyncClient, QoS};
use serde::de::DeserializeOwned;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::{Duration, Instant};

use crate::backoff::Backoff;
use crate::bad::{BadMessage, decode};
use crate::config::{Broker, StreamConfig};
use crate::connection::{self, Event};
use crate::dedup::{Dedup, Verdict};
use crate::error::BoxError;
use crate::{Delivery, Error, Stats};

/// How long a shutdown waits for the broker to close the connection after the DISCONNECT.
const DISCONNECT_TIMEOUT: Duration = Duration::from_secs(5);

type DeadLetterFn =
    Arc<dyn Fn(BadMessage) -> BoxFuture<'static, Result<(), BoxError>> + Send + Sync>;

/// Consumes the application's MQTT V2 stream with at-least-once delivery to a handler.
///
/// - Each message is acknowledged to the broker only after the handler returned `Ok` for it; a
///   handler error or panic stops the consumer without acknowledging that message, so the broker
///   delivers it again on the next connection (this or another process).
/// - Redeliveries of a handled (or being handled) `message_id` are dropped within the
///   [dedup window](StreamConfig::dedup_window); a copy of a message that is still being handled
///   is acknowledged only once the first delivery has been handled.
/// - At most [`max_in_flight`](StreamConfig::max_in_flight) messages are received and unfinished;
///   up to [`concurrency`](StreamConfig::concurrency) handler calls run at once, those of one VIN
///   one after another in the order received.
/// - Messages that cannot be decoded are reported (tracing `warn` with their `message_id`) and
///   acknowledged, or handed to the [`dead_letter`](Consumer::dead_letter) handler.
/// - Lost connections are re-established with bounded backoff; the broker keeps the session.
///
/// ```no_run
/// use hm_stream::{Consumer, Delivery, StreamConfig};
///
/// # async fn example() -> Result<(), hm_stream::Error> {
/// let consumer = Consumer::new(StreamConfig::from_env()?)?;
/// consumer
///     .run_until(
///         |delivery: Delivery| async move {
///             for (capability, property, value) in delivery.data.values() {
///                 println!("{} {capability}.{property} = {:?}", delivery.vin, value.data);
///             }
///             Ok::<_, std::convert::Infallible>(())
///         },
///         async { tokio::signal::ctrl_c().await.ok(); },
///     )
///     .await
/// # }
/// ```
pub struct Consumer {
    config: StreamConfig,
    broker: Broker,
    tls: Arc<rustls::ClientConfig>,
    stats: Stats,
    dead_letter: Option<DeadLetterFn>,
}

impl std::fmt::Debug for Consumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consumer")
            .field("config", &self.config)
            .field("broker", &self.broker.to_string())
            .field("dead_letter", &self.dead_letter.is_some())
            .finish_non_exhaustive()
    }
}

impl Consumer {
    /// Checks the configuration and prepares TLS; nothing is connected yet.
    pub fn new(config: StreamConfig) -> Result<Self, Error> {
        let broker = config.validate()?;
        let tls = crate::tls::client_config(&config.identity, &config.ca_roots)?;
        Ok(Consumer {
            config,
            broker,
            tls,
            stats: Stats::default(),
            dead_letter: None,
        })
    }

    /// The consumer's counters, readable while it runs.
    pub fn stats(&self) -> Stats {
        self.stats.clone()
    }

    /// Hands messages that cannot be decoded to `handler` instead of only reporting them; each is
    /// acknowledged after `handler` returned `Ok` (store it somewhere first). An error from
    /// `handler` stops the consumer like a handler error.
    pub fn dead_letter<F, Fut, E>(mut self, handler: F) -> Self
    where
        F: Fn(BadMessage) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: Into<BoxError> + 'static,
    {
        self.dead_letter = Some(Arc::new(move |bad| {
            let call = handler(bad);
            async move { call.await.map_err(Into::into) }.boxed()
        }));
        self
    }

    /// Runs until the handler fails, the first connection fails for good or the subscription is
    /// refused. See [`Consumer::run_until`].
    pub async fn run<D, F, Fut, E>(self, handler: F) -> Result<(), Error>
    where
        D: DeserializeOwned + Send + 'static,
        F: Fn(Delivery<D>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: Into<BoxError> + 'static,
    {
        self.run_until(handler, std::future::pending()).await
    }

    /// Runs until `shutdown` completes (or an error stops it), then shuts down gracefully: no new
    /// message is started, running handlers get up to the
    /// [shutdown timeout](StreamConfig::shutdown_timeout), the messages they finished are
    /// acknowledged, and the connection is closed with the session kept. Messages received but not
    /// handled are not acknowledged: the broker delivers them on the next connection.
    ///
    /// `D` is how each message's `data` is decoded, chosen by the handler's argument type:
    /// `Delivery` (= `Delivery<VehicleData>`), `Delivery<serde_json::Value>`, or a generated type.
    pub async fn run_until<D, F, Fut, E>(
        self,
        handler: F,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), Error>
    where
        D: DeserializeOwned + Send + 'static,
        F: Fn(Delivery<D>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: Into<BoxError> + 'static,
    {
        let config = &self.config;
        let options = connection::options(config, &self.broker, self.tls.clone());
        let (client, eventloop) = connection::client(options, config.max_in_flight);
        let slots = Arc::new(Semaphore::new(config.max_in_flight));
        let (events_tx, mut events) = mpsc::unbounded_channel();
        let backoff = Backoff::new(config.backoff_min, config.backoff_max);
        let pump = AbortOnDrop(tokio::spawn(connection::pump(
            eventloop,
            slots.clone(),
            events_tx,
            backoff,
        )));

        let (done_tx, mut done) = mpsc::unbounded_channel();
        let stopping = Arc::new(AtomicBool::new(false));
        let handler = Arc::new(handler);
        let lanes: Vec<_> = (0..config.concurrency)
            .map(|_| {
                let (tx, rx) = mpsc::unbounded_channel();
                let task =
                    tokio::spawn(lane(rx, handler.clone(), done_tx.clone(), stopping.clone()));
                (tx, AbortOnDrop(task))
            })
            .collect();

        let mut state = State {
            client,
            stats: self.stats.clone(),
            dedup: Dedup::new(config.dedup_window),
            epoch: 0,
            connected: false,
            ever_connected: false,
            outstanding: 0,
            subscription: config.subscription(),
            broker: self.broker.to_string(),
            client_id: config.effective_client_id(),
        };
        let mut dead_letters = JoinSet::new();
        let mut outcome: Option<Result<(), Error>> = None;
        let mut deadline = None;
        let mut shutdown = std::pin::pin!(shutdown);

        loop {
            if outcome.is_some() && state.outstanding == 0 {
                break;
            }
            tokio::select! {
                biased;
                Some(finished) = done.recv() => {
                    if let Err(error) = state.finish(finished) {
                        stop(&mut outcome, Err(error), &stopping, &mut deadline, config);
                    }
                }
                () = &mut shutdown, if outcome.is_none() => {
                    tracing::info!("shutting down: finishing the handlers that are running");
                    stop(&mut outcome, Ok(()), &stopping, &mut deadline, config);
                }
                () = sleep_until(deadline), if deadline.is_some() => {
                    tracing::warn!(
                        running = state.outstanding,
                        "shutdown timeout reached: abandoning running handlers; their messages stay unacknowledged"
                    );
                    break;
                }
                event = events.recv() => {
                    let Some(event) = event else { break };
                    match event {
                        // Stopping: take nothing new; an unacknowledged message comes back later.
                        Event::Publish { .. } if outcome.is_some() => {}
                        Event::Publish { publish, slot, epoch } => {
                            let ack = Ack::new(&publish, slot, epoch, &state.stats);
                            let decoded = decode::<D>(publish.topic, publish.payload, publish.dup, config.max_message_bytes);
                            match decoded {
                                Ok(delivery) => state.dispatch(delivery, ack, &lanes),
                                Err(bad) => state.bad_message(bad, ack, &self.dead_letter, &mut dead_letters, &done_tx),
                            }
                        }
                        other => {
                            if let Err(error) = state.on_connection_event(other) {
                                stop(&mut outcome, Err(error), &stopping, &mut deadline, config);
                            }
                        }
                    }
                }
            }
        }

        // Whatever finished meanwhile is acknowledged; the rest is abandoned unacknowledged.
        stopping.store(true, Ordering::SeqCst);
        while let Ok(finished) = done.try_recv() {
            if let Err(error) = state.finish(finished) {
                outcome.get_or_insert(Err(error));
            }
        }
        drop(lanes);
        dead_letters.abort_all();
        state.disconnect(&mut events).await;
        drop(pump);
        outcome.unwrap_or(Ok(()))
    }
}

/// Records why the consumer stops (the first reason wins) and starts the shutdown clock.
fn stop(
    outcome: &mut Option<Result<(), Error>>,
    reason: Result<(), Error>,
    stopping: &AtomicBool,
    deadline: &mut Option<Instant>,
    config: &StreamConfig,
) {
    if let Err(error) = &reason {
        tracing::error!(%error, "stopping the consumer");
    }
    match outcome {
        None => *outcome = Some(reason),
        // A graceful shutdown that then meets an error reports the error.
        Some(Ok(())) if reason.is_err() => *outcome = Some(reason),
        Some(_) => {}
    }
    stopping.store(true, Ordering::SeqCst);
    deadline.get_or_insert_with(|| Instant::now() + config.shutdown_timeout);
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// The right to acknowledge one delivery: its packet id on the connection it came from, and the
/// in-flight slot it holds until dropped.
struct Ack {
    pkid: u16,
    epoch: u64,
    _slot: OwnedSemaphorePermit,
    stats: Stats,
}

impl Ack {
    fn new(
        publish: &rumqttc::Publish,
        slot: OwnedSemaphorePermit,
        epoch: u64,
        stats: &Stats,
    ) -> Self {
        stats.received();
        Ack {
            pkid: publish.pkid,
            epoch,
            _slot: slot,
            stats: stats.clone(),
        }
    }
}

impl Drop for Ack {
    fn drop(&mut self) {
        self.stats.released();
    }
}

struct Job<D> {
    delivery: Delivery<D>,
    ack: Ack,
}

/// A delivery the consumer handed out, coming back.
enum Finished {
    /// The handler ran (or was skipped because the consumer is stopping: `outcome` is `None`).
    Message {
        message_id: String,
        ack: Ack,
        outcome: Option<Result<(), Error>>,
    },
    /// The dead-letter handler ran.
    DeadLetter {
        ack: Ack,
        outcome: Result<(), Error>,
    },
}

/// Handles the jobs of the VINs assigned to it, one at a time.
async fn lane<D, F, Fut, E>(
    mut jobs: mpsc::UnboundedReceiver<Job<D>>,
    handler: Arc<F>,
    done: mpsc::UnboundedSender<Finished>,
    stopping: Arc<AtomicBool>,
) where
    F: Fn(Delivery<D>) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: Into<BoxError>,
{
    while let Some(Job { delivery, ack }) = jobs.recv().await {
        let message_id = delivery.message_id.clone();
        let outcome = if stopping.load(Ordering::SeqCst) {
            None
        } else {
            let call = AssertUnwindSafe(async { handler(delivery).await }).catch_unwind();
            Some(match call.await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(error)) => Err(Error::Handler {
                    message_id: message_id.clone(),
                    source: error.into(),
                }),
                Err(panic) => Err(Error::HandlerPanicked {
                    message_id: message_id.clone(),
                    detail: panic_message(panic.as_ref()),
                }),
            })
        };
        let finished = Finished::Message {
            message_id,
            ack,
            outcome,
        };
        if done.send(finished).is_err() {
            return;
        }
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".to_owned())
}

/// The consumer loop's bookkeeping.
struct State {
    client: AsyncClient,
    stats: Stats,
    dedup: Dedup<Ack>,
    /// The current connection's number; acknowledgements of deliveries from earlier connections
    /// are not sent (the broker redelivers those messages, and the copy is acknowledged instead).
    epoch: u64,
    connected: bool,
    ever_connected: bool,
    /// Deliveries handed to a lane or the dead-letter handler and not finished yet.
    outstanding: usize,
    subscription: String,
    broker: String,
    client_id: String,
}

impl State {
    fn dispatch<D>(
        &mut self,
        delivery: Delivery<D>,
        ack: Ack,
        lanes: &[(mpsc::UnboundedSender<Job<D>>, AbortOnDrop)],
    ) {
        match self.dedup.check(&delivery.message_id, ack) {
            (Verdict::New, Some(ack)) => {
                let lane = &lanes[lane_of(&delivery.vin, lanes.len())].0;
                self.outstanding += 1;
                if let Err(returned) = lane.send(Job { delivery, ack }) {
                    // Only when the lane is gone, i.e. while stopping: leave it unacknowledged.
                    self.outstanding -= 1;
                    self.dedup.finish(&returned.0.delivery.message_id, false);
                }
            }
            (Verdict::AlreadyHandled, Some(ack)) => {
                self.stats.duplicate();
                tracing::debug!(message_id = %delivery.message_id, "dropping a redelivery of a handled message");
                self.acknowledge(ack);
            }
            (Verdict::Held, _) => {
                self.stats.duplicate();
                tracing::debug!(message_id = %delivery.message_id, "holding a redelivery of a message being handled");
            }
            (_, None) => {}
        }
    }

    fn bad_message(
        &mut self,
        bad: BadMessage,
        ack: Ack,
        dead_letter: &Option<DeadLetterFn>,
        tasks: &mut JoinSet<()>,
        done: &mpsc::UnboundedSender<Finished>,
    ) {
        self.stats.bad();
        let id = bad.message_id.as_deref().unwrap_or("(none)");
        match dead_letter {
            None => {
                tracing::warn!(
                    message_id = %id, topic = %bad.topic, bytes = bad.payload.len(), problem = %bad.problem,
                    "bad message acknowledged and dropped"
                );
                self.acknowledge(ack);
            }
            Some(handler) => {
                tracing::warn!(
                    message_id = %id, topic = %bad.topic, bytes = bad.payload.len(), problem = %bad.problem,
                    "bad message handed to the dead-letter handler"
                );
                let message_id = bad.message_id.clone();
                let call = AssertUnwindSafe(handler(bad)).catch_unwind();
                let done = done.clone();
                self.outstanding += 1;
                tasks.spawn(async move {
                    let outcome = match call.await {
                        Ok(Ok(())) => Ok(()),
                        Ok(Err(source)) => Err(Error::DeadLetter { message_id, source }),
                        Err(panic) => Err(Error::DeadLetter {
                            message_id,
                            source: format!("it panicked: {}", panic_message(panic.as_ref()))
                                .into(),
                        }),
                    };
                    let _ = done.send(Finished::DeadLetter { ack, outcome });
                });
            }
        }
    }

    fn finish(&mut self, finished: Finished) -> Result<(), Error> {
        self.outstanding -= 1;
        match finished {
            Finished::Message {
                message_id,
                ack,
                outcome: Some(Ok(())),
            } => {
                self.stats.handled();
                self.acknowledge(ack);
                for copy in self.dedup.finish(&message_id, true) {
                    self.acknowledge(copy);
                }
                Ok(())
            }
            Finished::Message {
                message_id,
                outcome,
                ..
            } => {
                // Not handled: neither it nor its copies are acknowledged.
                self.dedup.finish(&message_id, false);
                outcome.unwrap_or(Ok(()))
            }
            Finished::DeadLetter { ack, outcome } => {
                if outcome.is_ok() {
                    self.acknowledge(ack);
                }
                outcome
            }
        }
    }

    fn acknowledge(&mut self, ack: Ack) {
        if !self.connected || ack.epoch != self.epoch {
            return;
        }
        // The channel has room for every packet id (see `connection::client`): this cannot fail
        // while the connection task runs, and if it stopped the message is redelivered anyway.
        if let Err(error) = self.client.try_ack(&connection::ack_packet(ack.pkid)) {
            tracing::warn!(%error, "could not queue an acknowledgement; the message will be redelivered");
        }
    }

    fn on_connection_event(&mut self, event: Event) -> Result<(), Error> {
        match event {
            Event::Connected {
                epoch,
                session_present,
            } => {
                if self.ever_connected && !session_present {
                    tracing::warn!(
                        client_id = %self.client_id,
                        "the broker did not keep the session: messages published while disconnected may be lost"
                    );
                }
                self.epoch = epoch;
                self.connected = true;
                self.ever_connected = true;
                self.stats.connected();
                tracing::info!(broker = %self.broker, client_id = %self.client_id, topic = %self.subscription, session_present, "connected");
                // Also with a kept session: harmless, and it repairs a session the broker lost.
                if let Err(error) = self
                    .client
                    .try_subscribe(self.subscription.clone(), QoS::AtLeastOnce)
                {
                    tracing::warn!(%error, "could not queue the subscription");
                }
                Ok(())
            }
            Event::SubAck { refused: true } => Err(Error::SubscriptionRefused {
                topic: self.subscription.clone(),
            }),
            Event::SubAck { refused: false } => {
                self.stats.subscribed();
                Ok(())
            }
            Event::AckWritten => {
                self.stats.acked();
                Ok(())
            }
            Event::Publish { .. } => Ok(()),
            Event::Lost(error) => {
                self.connected = false;
                self.stats.connection_lost();
                // Before the first success, a certificate problem or a refusal will not go away
                // by retrying: say so. Later, the broker may be restarting: keep trying.
                if !self.ever_connected
                    && let Some((detail, remedy)) = connection::permanent_failure(&error)
                {
                    return Err(Error::Connect {
                        broker: self.broker.clone(),
                        detail,
                        remedy,
                    });
                }
                tracing::warn!(broker = %self.broker, %error, "MQTT connection lost or refused; reconnecting");
                Ok(())
            }
        }
    }

    /// Sends DISCONNECT after the queued acknowledgements and waits until the broker closes the
    /// connection, so that the broker has read every acknowledgement.
    async fn disconnect(&mut self, events: &mut mpsc::UnboundedReceiver<Event>) {
        // Copies held for messages that were not handled keep their slots: free them for the pump.
        self.dedup = Dedup::new(0);
        if !self.connected || self.client.try_disconnect().is_err() {
            return;
        }
        // The broker closes the connection once it has read the DISCONNECT. Closing it from this
        // side first could make the broker drop acknowledgements it had not read yet (its next
        // write would meet a reset connection).
        let closed_by_broker = async {
            while let Some(event) = events.recv().await {
                match event {
                    Event::AckWritten => self.stats.acked(),
                    Event::Lost(_) => return,
                    // Messages arriving now are dropped unacknowledged (their slots freed).
                    _ => {}
                }
            }
        };
        if tokio::time::timeout(DISCONNECT_TIMEOUT, closed_by_broker)
            .await
            .is_err()
        {
            tracing::warn!("the broker did not close the connection after DISCONNECT in time");
        }
    }
}

/// Which lane handles a VIN: the same one every time, so a vehicle's messages keep their order.
fn lane_of(vin: &str, lanes: usize) -> usize {
    let mut hasher = DefaultHasher::new();
    vin.hash(&mut hasher);
    (hasher.finish() % lanes as u64) as usize
}

/// A task that is aborted when the consumer stops or is dropped.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
