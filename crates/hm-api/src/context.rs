//! What every generated client carries besides its base URL and HTTP client: the authenticator, met
//! through progenitor's `ClientHooks` (the seam its maintainers intend for auth). Everything hm-api
//! needs from hm-auth goes through this module.

use std::future::Future;
use std::sync::{Arc, Mutex};

use progenitor_client::OperationInfo;

use crate::{ApiError, Error};

/// The inner value of every generated `Client`: the authenticator that signs its requests, if any.
///
/// [`HighMobility`](crate::HighMobility) builds it together with the clients, so that the base URL
/// always is the authenticator's API; [`ClientContext::unauthenticated`] is for building a generated
/// client on its own against a mock server.
#[derive(Clone, Debug)]
pub struct ClientContext {
    auth: Option<hm_auth::Authenticator>,
    max_response_bytes: usize,
}

/// The largest response body read by default: far above any High Mobility response (a whole
/// vehicle's data is well under 1 MiB), far below what hurts a service.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 16 << 20;

impl Default for ClientContext {
    fn default() -> Self {
        Self::unauthenticated()
    }
}

/// The latest token failure of the call that [`CallExt::typed`] is awaiting, if its last attempt failed
/// to get a token.
type AuthSlot = Arc<Mutex<Option<hm_auth::Error>>>;

tokio::task_local! {
    /// Where the `pre` hook leaves (or clears) the typed token failure for [`CallExt::typed`].
    static AUTH_FAILURE: AuthSlot;
}

fn set_auth_failure(failure: Option<hm_auth::Error>) {
    let _ = AUTH_FAILURE.try_with(|slot| {
        *slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = failure;
    });
}

impl ClientContext {
    /// Requests get a bearer token from `auth` and are retried as its policy says.
    pub(crate) fn authenticated(auth: hm_auth::Authenticator) -> Self {
        Self {
            auth: Some(auth),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }

    /// Requests are sent as they are, once.
    pub fn unauthenticated() -> Self {
        Self {
            auth: None,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }

    /// Refuse response bodies longer than `bytes` (default [`DEFAULT_MAX_RESPONSE_BYTES`]): reading
    /// stops there and the call fails, so a broken or hostile server cannot exhaust memory.
    pub fn with_max_response_bytes(mut self, bytes: usize) -> Self {
        self.max_response_bytes = bytes;
        self
    }

    /// The largest response body this context reads.
    pub fn max_response_bytes(&self) -> usize {
        self.max_response_bytes
    }

    /// The authenticator, if any.
    pub fn authenticator(&self) -> Option<&hm_auth::Authenticator> {
        self.auth.as_ref()
    }

    /// The `pre` hook: attach the token.
    #[allow(dead_code)] // unused when every API feature is off
    pub(crate) async fn authorize<E>(
        &self,
        request: &mut reqwest::Request,
        _info: &OperationInfo,
    ) -> Result<(), ApiError<E>> {
        let Some(auth) = &self.auth else {
            return Ok(());
        };
        match auth.authorize(request).await {
            Ok(()) => {
                // A later attempt in the same `typed()` scope got its token: an earlier failure no
                // longer explains the outcome.
                set_auth_failure(None);
                Ok(())
            }
            Err(e) => {
                // progenitor's error offers only a string for hook failures: keep the typed error
                // for `CallExt::typed`, and the message (which names cause and remedy) for everyone else.
                let message = e.to_string();
                set_auth_failure(Some(e));
                Err(ApiError::Custom(message))
            }
        }
    }

    /// The `exec` hook: send, with retries and one fresh token after a 401.
    #[allow(dead_code)] // unused when every API feature is off
    pub(crate) async fn execute(
        &self,
        client: &reqwest::Client,
        request: reqwest::Request,
        _info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        let response = match &self.auth {
            Some(auth) => auth.send_authorized(client, request).await,
            None => client.execute(request).await,
        }?;
        Ok(crate::body_limit::limit(response, self.max_response_bytes))
    }
}

/// Implements progenitor's hooks for one generated module's `Client` (invoked by the generated
/// `generated/mod.rs` for every API of `openapi/specs.toml`).
#[allow(unused_macros)] // unused when every API feature is off
macro_rules! client_hooks {
    ($module:ident) => {
        impl progenitor_client::ClientHooks<$crate::ClientContext> for $module::Client {
            async fn pre<E>(
                &self,
                request: &mut reqwest::Request,
                info: &progenitor_client::OperationInfo,
            ) -> Result<(), progenitor_client::Error<E>> {
                progenitor_client::ClientInfo::inner(self)
                    .authorize(request, info)
                    .await
            }

            async fn exec(
                &self,
                request: reqwest::Request,
                info: &progenitor_client::OperationInfo,
            ) -> reqwest::Result<reqwest::Response> {
                let this = progenitor_client::ClientInfo::inner(self);
                this.execute(progenitor_client::ClientInfo::client(self), request, info)
                    .await
            }
        }
    };
}
#[allow(unused_imports)]
pub(crate) use client_hooks;

/// Awaits a generated call and returns hm-api's [`Error`], in which a failure to obtain a token is
/// [`Error::Auth`] carrying hm-auth's typed error instead of progenitor's `Custom(String)`.
///
/// ```no_run
/// # async fn run(hm: hm_api::HighMobility) {
/// use hm_api::{CallExt, Error};
///
/// match hm.fleet_clearance().get_clearance().vin("1HMTEST0000000001").send().typed().await {
///     Ok(clearance) => println!("{:?}", clearance.status),
///     Err(Error::Auth(e)) if e.is_retryable() => eprintln!("token endpoint unavailable, try later: {e}"),
///     Err(Error::Auth(e)) => eprintln!("credentials refused or misconfigured: {e}"),
///     Err(e) => eprintln!("the call failed: {e}"),
/// }
/// # }
/// ```
pub trait CallExt<T, E>: Future<Output = Result<T, ApiError<E>>> + Sized {
    /// See the [trait documentation](CallExt).
    fn typed(self) -> impl Future<Output = Result<T, Error<E>>> + Send
    where
        Self: Send,
        T: Send,
        E: Send,
    {
        async move {
            let slot = AuthSlot::default();
            let result = AUTH_FAILURE.scope(Arc::clone(&slot), self).await;
            result.map_err(|e| {
                let failure = slot
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .take();
                match (e, failure) {
                    // Only when the error returned is the hook's failure: a caller may retry inside
                    // one scope and return another attempt's error.
                    (ApiError::Custom(_), Some(auth)) => Error::Auth(auth),
                    (e, _) => Error::Api(e),
                }
            })
        }
    }
}

impl<F, T, E> CallExt<T, E> for F where F: Future<Output = Result<T, ApiError<E>>> {}
