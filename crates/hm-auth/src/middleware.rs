//! The authenticator as a `reqwest_middleware` middleware, for users' own reqwest calls.

use std::future::Future;

use http::Extensions;
use reqwest::{Request, Response};
use reqwest_middleware::{Middleware, Next};

use crate::Authenticator;
use crate::exchange::{self, Transport};
use crate::retry;

/// Attaches the token to requests for the API origin, retries transient failures of idempotent
/// requests and retries once with a fresh token after a 401, exactly like
/// [`Authenticator::authorize`] followed by [`Authenticator::execute`].
///
/// ```no_run
/// # async fn demo(auth: hm_auth::Authenticator) -> Result<(), Box<dyn std::error::Error>> {
/// let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
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
        exchange::send(&self.auth, &mut NextTransport { next, extensions }, request).await
    }
}

/// The rest of the middleware stack; each attempt runs through all of it.
struct NextTransport<'a, 'e> {
    next: Next<'a>,
    extensions: &'e mut Extensions,
}

impl Transport for NextTransport<'_, '_> {
    type Error = reqwest_middleware::Error;

    fn send(
        &mut self,
        request: Request,
    ) -> impl Future<Output = Result<Response, Self::Error>> + Send {
        self.next.clone().run(request, self.extensions)
    }

    fn is_transient(error: &Self::Error) -> bool {
        match error {
            reqwest_middleware::Error::Reqwest(e) => retry::is_transient_error(e),
            reqwest_middleware::Error::Middleware(_) => false,
        }
    }
}
