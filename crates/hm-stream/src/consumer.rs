//! The consumer: receives, decodes, deduplicates, hands messages to the application's handler and
//! acknowledges each one only after the handler finished with it.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};

use futures::FutureExt;
use futures::future::BoxFuture;
use rumqttc::AsyncClient;
use serde::de::DeserializeOwned;
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::{Duration, Instant};
use tracing::instrument::WithSubscriber;

use crate::backoff::Backoff;
use crate::bad::{BadMessage, decode};
use crate::config::{Broker, StreamConfig};
use crate::connection::{self, Ack, Acker, Event, Granted, Job, Pump};
use crate::dedup::{Dedup, MessageKey, Verdict};
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
/// - Redeliveries of a handled (or being handled) message are dropped within the
///   [dedup window](StreamConfig::dedup_window); a copy of a message that is still being handled
///   is acknowledged only once the first delivery has been handled. A message that reuses a
///   `message_id` with other content is a different message and is handled.
/// - At most [`max_in_flight`](StreamConfig::max_in_flight) messages are received and unfinished;
///   up to [`concurrency`](StreamConfig::concurrency) messages are decoded and handled at once.
/// - Messages that cannot be decoded are reported (tracing `warn` with their `message_id`) and
///   acknowledged, or handed to the [`dead_letter`](Consumer::dead_letter) handler.
/// - Messages on another topic than the application's (left from an earlier subscription in the
///   session, e.g. sandbox data for a consumer now reading live data) are acknowledged and dropped
///   with a warning, never handed to the handler.
/// - Lost connections are re-established with bounded backoff; the broker keeps the session.
///   Failures that retrying cannot fix (a certificate rejected, a subscription refused or
///   downgraded to QoS 0, a message larger than [`max_message_bytes`](StreamConfig::max_message_bytes))
///   stop the consumer with an [`Error`] that says what to do.
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
///                 let data = value.data.as_deref().map_or("(none)", |json| json.get());
///                 println!("{} {capability}.{property} = {data}", delivery.vin);
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

    /// Runs until the handler fails or the connection fails in a way retrying cannot fix. See
    /// [`Consumer::run_until`].
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
        let (client, acker, eventloop) = connection::client(options, config.max_in_flight);
        let (jobs_tx, jobs) = mpsc::unbounded_channel();
        let (events_tx, mut events) = mpsc::unbounded_channel();
        let mut pump = AbortOnDrop(tokio::spawn(
            Pump {
                eventloop,
                client: client.clone(),
                acker: acker.clone(),
                slots: Arc::new(Semaphore::new(config.max_in_flight)),
                jobs: jobs_tx,
                events: events_tx,
                backoff: Backoff::new(config.backoff_min, config.backoff_max),
                stats: self.stats.clone(),
                subscription: config.subscription(),
                stale: config.stale_subscriptions(),
                keep_alive: config.keep_alive,
                batch: Vec::new(),
            }
            .run()
            .with_current_subscriber(),
        ));

        let shared = Arc::new(Shared {
            handler,
            dead_letter: self.dead_letter.clone(),
            dedup: Mutex::new(Dedup::new(config.dedup_window)),
            acker,
            stats: self.stats.clone(),
            topic: config.topic(),
        });
        let jobs = Arc::new(tokio::sync::Mutex::new(jobs));
        let (stop_tx, stop_rx) = watch::channel(false);
        let (errors_tx, mut errors) = mpsc::unbounded_channel();
        let mut workers = JoinSet::new();
        // More workers than messages in hand would never have work.
        for _ in 0..config.concurrency.min(config.max_in_flight) {
            // Workers log where the caller's context logs (its tracing subscriber).
            workers.spawn(
                worker::<D, F, Fut, E>(
                    jobs.clone(),
                    shared.clone(),
                    stop_rx.clone(),
                    errors_tx.clone(),
                )
                .with_current_subscriber(),
            );
        }

        let mut control = Control {
            client,
            stats: self.stats.clone(),
            subscription: config.subscription(),
            broker: self.broker.to_string(),
            client_id: config.effective_client_id(),
            max_message_bytes: config.max_message_bytes,
        };
        let mut outcome: Option<Result<(), Error>> = None;
        let mut deadline = None;
        let mut pump_running = true;
        let mut shutdown = std::pin::pin!(shutdown);
        while outcome.is_none() || !workers.is_empty() {
            let reason = tokio::select! {
                biased;
                Some(error) = errors.recv() => Some(Err(error)),
                Some(joined) = workers.join_next() => match joined {
                    // A worker panicked outside the handlers (those panics are caught): a bug.
                    Err(error) if error.is_panic() => Some(Err(Error::Internal {
                        detail: panic_message(error.into_panic().as_ref()),
                    })),
                    _ => None,
                },
                () = &mut shutdown, if outcome.is_none() => {
                    tracing::info!("shutting down: finishing the handlers that are running");
                    Some(Ok(()))
                }
                () = sleep_until(deadline), if deadline.is_some() => {
                    tracing::warn!(
                        running = workers.len(),
                        "shutdown timeout reached: abandoning running handlers; their messages stay unacknowledged"
                    );
                    break;
                }
                event = events.recv(), if pump_running => match event {
                    Some(event) => control.on_event(event).err().map(Err),
                    // The connection task ends only with the consumer, or when it panicked.
                    None => {
                        pump_running = false;
                        let detail = match (&mut pump.0).await {
                            Err(error) if error.is_panic() => panic_message(error.into_panic().as_ref()),
                            _ => "the connection task ended".to_owned(),
                        };
                        Some(Err(Error::Internal { detail }))
                    }
                },
            };
            if let Some(reason) = reason {
                if let Err(error) = &reason {
                    tracing::error!(%error, "stopping the consumer");
                }
                if outcome.is_none() {
                    stop_tx.send_replace(true);
                    // Duration::MAX (or any deadline past what the clock can express) waits as
                    // long as the handlers take.
                    deadline = Instant::now().checked_add(config.shutdown_timeout);
                }
                // The first reason wins, except that an error overrides a requested shutdown.
                if outcome
                    .as_ref()
                    .is_none_or(|o| o.is_ok() && reason.is_err())
                {
                    outcome = Some(reason);
                }
            }
        }
        // Errors reported by the last workers to finish.
        while let Ok(error) = errors.try_recv() {
            if !matches!(outcome, Some(Err(_))) {
                outcome = Some(Err(error));
            }
        }
        workers.abort_all();
        if pump_running {
            control.disconnect(&shared.acker, &jobs, &mut events).await;
        }
        outcome.unwrap_or(Ok(()))
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// What every worker needs.
struct Shared<F> {
    handler: F,
    dead_letter: Option<DeadLetterFn>,
    dedup: Mutex<Dedup<Ack>>,
    acker: Acker,
    stats: Stats,
    /// The application's topic: messages on any other are not handled.
    topic: String,
}

impl<F> Shared<F> {
    fn dedup(&self) -> std::sync::MutexGuard<'_, Dedup<Ack>> {
        // The lock is never held across a panic point that could poison it in a harmful way:
        // the data stays consistent, so a poisoned lock is used as is.
        self.dedup.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Takes messages one at a time and sees each through: decode, deduplicate, handle, acknowledge.
/// Stops when told to (after finishing the message in hand) or when a handler fails.
async fn worker<D, F, Fut, E>(
    jobs: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Job>>>,
    shared: Arc<Shared<F>>,
    mut stop: watch::Receiver<bool>,
    errors: mpsc::UnboundedSender<Error>,
) where
    D: DeserializeOwned + Send + 'static,
    F: Fn(Delivery<D>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: Into<BoxError> + 'static,
{
    loop {
        let job = tokio::select! {
            biased;
            _ = stop.wait_for(|stop| *stop) => return,
            job = async { jobs.lock().await.recv().await } => job,
        };
        // A message taken while stopping is left unacknowledged (its slot is freed).
        let Some(job) = job.filter(|_| !*stop.borrow()) else {
            return;
        };
        if let Err(error) = process::<D, F, Fut, E>(job, &shared).await {
            let _ = errors.send(error);
            return;
        }
    }
}

async fn process<D, F, Fut, E>(Job { publish, ack }: Job, shared: &Shared<F>) -> Result<(), Error>
where
    D: DeserializeOwned + Send + 'static,
    F: Fn(Delivery<D>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: Into<BoxError> + 'static,
{
    if publish.topic != shared.topic {
        shared.stats.stray();
        tracing::warn!(
            topic = %publish.topic, expected = %shared.topic,
            "message on another topic (a subscription left in the session by an earlier \
             configuration) acknowledged and dropped"
        );
        shared.acker.ack(ack);
        return Ok(());
    }
    let key = MessageKey::of(&publish.payload);
    let delivery = match decode::<D>(publish.topic, publish.payload, publish.dup) {
        Ok(delivery) => delivery,
        Err(bad) => return bad_message(bad, ack, shared).await,
    };
    let verdict = shared.dedup().check(key, ack);
    let ack = match verdict {
        (Verdict::New, Some(ack)) => ack,
        (Verdict::AlreadyHandled, Some(ack)) => {
            shared.stats.duplicate();
            tracing::debug!(message_id = %delivery.message_id, "dropping a redelivery of a handled message");
            shared.acker.ack(ack);
            return Ok(());
        }
        (_, _) => {
            shared.stats.duplicate();
            tracing::debug!(message_id = %delivery.message_id, "holding a redelivery of a message being handled");
            return Ok(());
        }
    };
    let message_id = delivery.message_id.clone();
    let call = AssertUnwindSafe(async { (shared.handler)(delivery).await }).catch_unwind();
    let outcome = match call.await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) => Err(Error::Handler {
            message_id,
            source: error.into(),
        }),
        Err(panic) => Err(Error::HandlerPanicked {
            message_id,
            detail: panic_message(panic.as_ref()),
        }),
    };
    // Copies that arrived meanwhile are acknowledged with it, or not at all.
    let copies = shared.dedup().finish(key, outcome.is_ok());
    if outcome.is_ok() {
        shared.stats.handled();
        shared.acker.ack(ack);
        for copy in copies {
            shared.acker.ack(copy);
        }
    }
    outcome
}

async fn bad_message<F>(bad: BadMessage, ack: Ack, shared: &Shared<F>) -> Result<(), Error> {
    shared.stats.bad();
    let id = bad.message_id.as_deref().unwrap_or("(none)");
    let Some(dead_letter) = &shared.dead_letter else {
        tracing::warn!(
            message_id = %id, topic = %bad.topic, bytes = bad.payload.len(), problem = %bad.problem,
            "bad message acknowledged and dropped"
        );
        shared.acker.ack(ack);
        return Ok(());
    };
    tracing::warn!(
        message_id = %id, topic = %bad.topic, bytes = bad.payload.len(), problem = %bad.problem,
        "bad message handed to the dead-letter handler"
    );
    let message_id = bad.message_id.clone();
    // The call is inside the future, so that a panic before the handler's own future is caught too.
    match AssertUnwindSafe(async { dead_letter(bad).await })
        .catch_unwind()
        .await
    {
        Ok(Ok(())) => {
            shared.acker.ack(ack);
            Ok(())
        }
        Ok(Err(source)) => Err(Error::DeadLetter { message_id, source }),
        Err(panic) => Err(Error::DeadLetter {
            message_id,
            source: format!("it panicked: {}", panic_message(panic.as_ref())).into(),
        }),
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".to_owned())
}

/// The control side of the connection: subscribing, reporting, deciding what is fatal.
struct Control {
    client: AsyncClient,
    stats: Stats,
    subscription: String,
    broker: String,
    client_id: String,
    max_message_bytes: usize,
}

impl Control {
    fn on_event(&mut self, event: Event) -> Result<(), Error> {
        match event {
            Event::Connected {
                epoch,
                session_present,
            } => {
                if epoch > 1 && !session_present {
                    tracing::warn!(
                        client_id = %self.client_id,
                        "the broker did not keep the session: messages published while disconnected may be lost"
                    );
                }
                self.stats.connected();
                tracing::info!(broker = %self.broker, client_id = %self.client_id, topic = %self.subscription, session_present, epoch, "connected");
                Ok(())
            }
            Event::SubAck(Granted::AtLeastOnce) => {
                self.stats.subscribed();
                Ok(())
            }
            Event::SubAck(Granted::AtMostOnce) => Err(Error::SubscriptionDowngraded {
                topic: self.subscription.clone(),
            }),
            Event::SubAck(Granted::Refused) => Err(Error::SubscriptionRefused {
                topic: self.subscription.clone(),
            }),
            Event::Lost(error) => {
                self.stats.connection_lost();
                if let Some(bytes) = connection::too_large(&error) {
                    return Err(Error::MessageTooLarge {
                        bytes,
                        limit: self.max_message_bytes,
                    });
                }
                // A certificate problem or a refusal does not go away by retrying, on the first
                // connection or a later one (a certificate expires or is revoked while the
                // service runs): say so. Anything else (the broker restarting, the network) is
                // retried.
                if let Some((detail, remedy)) = connection::permanent_failure(&error) {
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
    /// connection, so that the broker has read every acknowledgement. Closing from this side first
    /// could make the broker drop acknowledgements it had not read yet (its next write would meet
    /// a reset connection).
    async fn disconnect(
        &mut self,
        acker: &Acker,
        jobs: &tokio::sync::Mutex<mpsc::UnboundedReceiver<Job>>,
        events: &mut mpsc::UnboundedReceiver<Event>,
    ) {
        if !acker.connected() || self.client.try_disconnect().is_err() {
            return;
        }
        let mut jobs = jobs.lock().await;
        let closed_by_broker = async {
            loop {
                tokio::select! {
                    // Messages arriving now are dropped unacknowledged, freeing their slots.
                    Some(_) = jobs.recv() => {}
                    event = events.recv() => match event {
                        Some(Event::Lost(_)) | None => return,
                        Some(_) => {}
                    },
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

/// A task that is aborted when the consumer stops or is dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
