//! The axum extractor: a handler that takes a [`Webhook`] only ever sees verified deliveries.

use std::fmt;
use std::sync::Arc;

use axum::body::HttpBody;
use axum::extract::{FromRef, FromRequest, Request};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use http_body_util::{BodyExt, LengthLimitError, Limited};

use crate::{Claim, Delivery, Error, SeenStore, Verifier};

/// What the [`Webhook`] extractor needs: the verifier and, optionally, a store of seen ids.
///
/// Put it in the router's state, or in a field of your state with `FromRef`.
#[derive(Clone)]
pub struct WebhookReceiver {
    verifier: Arc<Verifier>,
    seen: Option<Arc<dyn SeenStore>>,
}

impl WebhookReceiver {
    /// A receiver that verifies every request with `verifier` and does not suppress duplicates.
    pub fn new(verifier: Verifier) -> Self {
        WebhookReceiver {
            verifier: Arc::new(verifier),
            seen: None,
        }
    }

    /// Suppresses duplicates with `store`: a delivery id already processed is answered 200
    /// without calling the handler, one being processed right now 409 (the sender retries).
    pub fn with_seen_store(mut self, store: impl SeenStore) -> Self {
        self.seen = Some(Arc::new(store));
        self
    }

    /// The verifier.
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }
}

impl fmt::Debug for WebhookReceiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookReceiver")
            .field("verifier", &self.verifier)
            .field("deduplicates", &self.seen.is_some())
            .finish()
    }
}

/// A verified delivery, extracted from the request.
///
/// The extractor reads the raw body (up to the verifier's limit), checks the signature and
/// answers the sender itself when something is wrong: 413 for an oversize body, 401 for a
/// missing, malformed or wrong signature, 400 for missing headers or a malformed body. With a
/// [`SeenStore`], duplicates are answered before the handler runs.
///
/// With a store, call [`Webhook::mark_processed`] once the delivery has been handled. A
/// `Webhook` dropped without it (the handler failed, returned early or panicked) releases its
/// claim, so the sender's retry is processed.
pub struct Webhook {
    delivery: Delivery,
    claim: Option<ClaimGuard>,
}

impl Webhook {
    /// The delivery.
    pub fn delivery(&self) -> &Delivery {
        &self.delivery
    }

    /// Records the delivery as processed, so that its retries are answered as duplicates.
    /// Does nothing without a [`SeenStore`].
    pub async fn mark_processed(mut self) -> Result<(), Error> {
        match self.claim.take() {
            Some(mut claim) => {
                claim.settled = true;
                claim.store.complete(&claim.delivery_id).await
            }
            None => Ok(()),
        }
    }
}

impl fmt::Debug for Webhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Webhook")
            .field("delivery", &self.delivery)
            .field("claimed", &self.claim.is_some())
            .finish()
    }
}

/// Releases an unfinished claim when the handler is done with the delivery without success.
struct ClaimGuard {
    store: Arc<dyn SeenStore>,
    delivery_id: String,
    settled: bool,
}

impl Drop for ClaimGuard {
    fn drop(&mut self) {
        if !self.settled {
            tracing::debug!(delivery_id = %self.delivery_id, "webhook delivery not marked processed; claim released");
            self.store.release(&self.delivery_id);
        }
    }
}

impl<S> FromRequest<S> for Webhook
where
    WebhookReceiver: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = WebhookRejection;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let receiver = WebhookReceiver::from_ref(state);
        let verifier = &receiver.verifier;
        let (parts, body) = request.into_parts();

        // A declared Content-Length over the limit is refused without reading anything.
        let too_large = || {
            refused(Error::BodyTooLarge {
                limit: verifier.body_limit(),
            })
        };
        if body.size_hint().lower() > verifier.body_limit() as u64 {
            return Err(too_large());
        }
        let body = Limited::new(body, verifier.body_limit())
            .collect()
            .await
            .map_err(|error| {
                if error.downcast_ref::<LengthLimitError>().is_some() {
                    too_large()
                } else {
                    tracing::warn!(%error, "webhook request body could not be read");
                    WebhookRejection {
                        status: StatusCode::BAD_REQUEST,
                        message: "the request body could not be read".to_owned(),
                    }
                }
            })?
            .to_bytes();

        let delivery = verifier.verify(&parts.headers, &body).map_err(refused)?;
        tracing::debug!(delivery_id = %delivery.id, event = %delivery.event.name(), "webhook delivery verified");

        let Some(store) = receiver.seen else {
            return Ok(Webhook {
                delivery,
                claim: None,
            });
        };
        match store.claim(&delivery.id).await.map_err(refused)? {
            Claim::New => Ok(Webhook {
                claim: Some(ClaimGuard {
                    store,
                    delivery_id: delivery.id.clone(),
                    settled: false,
                }),
                delivery,
            }),
            Claim::Processed => {
                tracing::info!(delivery_id = %delivery.id, "duplicate webhook delivery acknowledged, not processed again");
                Err(WebhookRejection {
                    status: StatusCode::OK,
                    message: format!("delivery {} was already processed", delivery.id),
                })
            }
            Claim::InProgress => {
                tracing::info!(delivery_id = %delivery.id, "webhook delivery arrived again while being processed");
                Err(WebhookRejection {
                    status: StatusCode::CONFLICT,
                    message: format!("delivery {} is being processed; retry later", delivery.id),
                })
            }
        }
    }
}

/// The answer when the extractor does not hand a delivery to the handler: a refusal (401, 413,
/// 400, 503) or a duplicate (200 when already processed, 409 while in progress).
///
/// The body is a one-line plain-text reason, never a secret or a signature.
#[derive(Debug)]
pub struct WebhookRejection {
    status: StatusCode,
    message: String,
}

impl WebhookRejection {
    /// The status answered.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The reason answered.
    pub fn message(&self) -> &str {
        &self.message
    }
}

fn refused(error: Error) -> WebhookRejection {
    let status = error.status();
    tracing::warn!(%status, %error, "webhook request refused");
    WebhookRejection {
        status,
        message: error.to_string(),
    }
}

impl IntoResponse for WebhookRejection {
    fn into_response(self) -> Response {
        (self.status, self.message).into_response()
    }
}
