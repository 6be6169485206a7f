//! The entry point: an authenticator shared by all requests of a process.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, HeaderValue};
use secrecy::zeroize::Zeroizing;
use url::Url;

use crate::cache::TokenCache;
use crate::environment::ApiBase;
use crate::exchange::{self, ClientTransport};
use crate::retry::RetryPolicy;
use crate::token_client::TokenClient;
use crate::{AccessToken, AuthMiddleware, Credentials, Environment, Error};

/// Default time limit for one token request.
const TOKEN_TIMEOUT: Duration = Duration::from_secs(30);

/// Obtains, caches and attaches access tokens for one High Mobility application.
///
/// Create one per process and clone it freely (clones share the cache). Tokens are refreshed in
/// the background before they expire; callers wait only when no usable token exists, and then
/// all of them wait on a single token request.
///
/// The token is attached only to requests for the configured API origin.
#[derive(Clone)]
pub struct Authenticator {
    inner: Arc<Inner>,
}

struct Inner {
    cache: Arc<TokenCache>,
    base: ApiBase,
    environment: Environment,
    retry: RetryPolicy,
}

/// Configures an [`Authenticator`]; created by [`Authenticator::builder`].
pub struct AuthenticatorBuilder {
    credentials: Credentials,
    environment: Environment,
    http: Option<reqwest::Client>,
    retry: RetryPolicy,
    token_retry: RetryPolicy,
    token_timeout: Option<Duration>,
}

impl Authenticator {
    /// Starts configuring an authenticator for `credentials` against `base_url`
    /// ([`Environment::Sandbox`], [`Environment::Production`], or a [`Url`] / [`Environment::custom`]).
    pub fn builder(
        credentials: Credentials,
        base_url: impl Into<Environment>,
    ) -> AuthenticatorBuilder {
        AuthenticatorBuilder {
            credentials,
            environment: base_url.into(),
            http: None,
            retry: RetryPolicy::default(),
            token_retry: RetryPolicy::token_default(),
            token_timeout: Some(TOKEN_TIMEOUT),
        }
    }

    /// A usable access token, from the cache or freshly requested.
    pub async fn access_token(&self) -> Result<AccessToken, Error> {
        self.inner.cache.token().await
    }

    /// Attaches `Authorization: Bearer <token>` (marked sensitive) if `request` goes to the
    /// configured API origin; a request to any other origin is left untouched.
    pub async fn authorize(&self, request: &mut reqwest::Request) -> Result<(), Error> {
        if !self.is_api_origin(request.url()) {
            return Ok(());
        }
        let token = self.access_token().await?;
        let header = Zeroizing::new(format!("Bearer {}", token.expose_secret()));
        let mut value =
            HeaderValue::from_str(&header).map_err(|_| Error::InvalidTokenResponse {
                status: 200,
                reason:
                    "the access token contains characters that are not allowed in an HTTP header"
                        .to_owned(),
            })?;
        value.set_sensitive(true);
        request.headers_mut().insert(AUTHORIZATION, value);
        Ok(())
    }

    /// Sends an authorised request (see [`authorize`](Self::authorize)) with `client`.
    ///
    /// - Idempotent requests (GET, HEAD, PUT, DELETE, OPTIONS) are retried after connect errors,
    ///   timeouts, 429, 502, 503 and 504 as the [`RetryPolicy`] allows, honouring `Retry-After`.
    /// - After a 401 from the API the request is sent once more with a fresh token; the cached
    ///   token is dropped only if it is still the one that was refused. A second 401 is returned.
    ///   Requests whose body cannot be cloned (streams) are not retried.
    pub async fn execute(
        &self,
        client: &reqwest::Client,
        request: reqwest::Request,
    ) -> reqwest::Result<reqwest::Response> {
        exchange::send(self, &mut ClientTransport(client), request).await
    }

    /// The same behaviour as a `reqwest_middleware` middleware, for your own reqwest calls.
    pub fn middleware(&self) -> AuthMiddleware {
        AuthMiddleware::new(self.clone())
    }

    /// The API this authenticator obtains tokens for.
    pub fn environment(&self) -> &Environment {
        &self.inner.environment
    }

    /// The OAuth client id.
    pub fn client_id(&self) -> &str {
        self.inner.cache.client().credentials.client_id()
    }

    /// The retry policy of [`execute`](Self::execute) and [`AuthMiddleware`].
    pub fn retry_policy(&self) -> RetryPolicy {
        self.inner.retry
    }

    pub(crate) fn is_api_origin(&self, url: &Url) -> bool {
        self.inner.base.is_same_origin(url)
    }

    pub(crate) fn invalidate(&self, bearer: &str) {
        self.inner.cache.invalidate(bearer);
    }
}

impl AuthenticatorBuilder {
    /// The client used for token requests (default: a new `reqwest::Client`). Share your
    /// application's client to share its connection pool, proxy and TLS settings.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// How [`Authenticator::execute`] and [`AuthMiddleware`] retry API requests
    /// (default: [`RetryPolicy::default`]).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// How token requests are retried (default: [`RetryPolicy::token_default`]).
    pub fn token_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.token_retry = policy;
        self
    }

    /// Time limit for one token request (default 30 s; `None` for no limit).
    pub fn token_request_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.token_timeout = timeout;
        self
    }

    /// Checks the base URL and builds the authenticator. No request is made yet.
    pub fn build(self) -> Result<Authenticator, Error> {
        let base = ApiBase::new(&self.environment.base_url())?;
        let http = match self.http {
            Some(client) => client,
            None => reqwest::Client::builder()
                .user_agent(concat!("hm-auth/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| Error::HttpClient {
                    source: Arc::new(e),
                })?,
        };
        let client = TokenClient {
            http,
            endpoint: base.token_endpoint(),
            audience: base.audience().to_owned(),
            credentials: self.credentials,
            retry: self.token_retry,
            timeout: self.token_timeout,
        };
        Ok(Authenticator {
            inner: Arc::new(Inner {
                cache: TokenCache::new(client),
                base,
                environment: self.environment,
                retry: self.retry,
            }),
        })
    }
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticator")
            .field("credentials", &self.inner.cache.client().credentials)
            .field("environment", &self.inner.environment)
            .field("retry", &self.inner.retry)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for AuthenticatorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthenticatorBuilder")
            .field("credentials", &self.credentials)
            .field("environment", &self.environment)
            .field("retry", &self.retry)
            .field("token_retry", &self.token_retry)
            .field("token_timeout", &self.token_timeout)
            .finish_non_exhaustive()
    }
}
