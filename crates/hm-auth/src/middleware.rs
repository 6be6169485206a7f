//! The authenticator and the retry layer as `reqwest_middleware` middlewares, for users' own
//! reqwest calls.

use http::Extensions;
use reqwest::{Request, Response};
use reqwest_middleware::{Middleware, Next};

use crate::renewal::send_renewing_after_401;
use crate::retry::RetryLayer;
use crate::transport::NextTransport;
use crate::{Authenticator, RetryPolicy};

/// Attaches the token to requests for the API origin and, after a 401 from the API, sends the
/// request once more with a new token (see [`Authenticator::send_authorized`]).
///
/// It does not retry transient failures: stack [`RetryMiddleware`] (or any retry middleware)
/// *before* it for that, and each attempt is authorised afresh.
///
/// ```no_run
/// # async fn demo(auth: hm_auth::Authenticator) -> Result<(), Box<dyn std::error::Error>> {
/// let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
///     .with(auth.retry_middleware())
///     .with(auth.middleware())
///     .build();
/// let reply = client
///     .get("https://sandbox.api.high-mobility.com/v1/fleets/vehicles")
///     .send()
///     .await?;
/// # let _ = reply; Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct AuthMiddleware {
    auth: Authenticator,
}

impl AuthMiddleware {
    /// Wraps an authenticator; same as [`Authenticator::middleware`].
    pub fn new(auth: Authenticator) -> Self {
        AuthMiddleware { auth }
    }
}

#[async_trait::async_trait]
impl Middleware for AuthMiddleware {
    async fn handle(
        &self,
        mut request: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        self.auth
            .authorize(&mut request)
            .await
            .map_err(reqwest_middleware::Error::middleware)?;
        let mut transport = NextTransport { next, extensions };
        send_renewing_after_401(&self.auth, &mut transport, request).await
    }
}

/// Retries transient failures (connect errors, timeouts, 429, 502, 503, 504) of the requests
/// that pass through it, as a [`RetryPolicy`] says; the retry layer of
/// [`Authenticator::send_authorized`] as a middleware.
#[derive(Clone, Copy, Debug)]
pub struct RetryMiddleware {
    policy: RetryPolicy,
}

impl RetryMiddleware {
    /// Retries as `policy` says; [`Authenticator::retry_middleware`] uses the authenticator's.
    pub fn new(policy: RetryPolicy) -> Self {
        RetryMiddleware { policy }
    }
}

#[async_trait::async_trait]
impl Middleware for RetryMiddleware {
    async fn handle(
        &self,
        request: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        use crate::transport::Transport;
        let mut layer = RetryLayer {
            policy: self.policy,
            inner: NextTransport { next, extensions },
        };
        layer.send(request).await
    }
}
