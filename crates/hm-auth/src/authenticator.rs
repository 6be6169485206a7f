//! The entry point: an authenticator shared by all requests of a process.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::AUTHORIZATION;
use url::Url;

use crate::endpoint::TokenEndpoint;
use crate::environment::ApiBase;
use crate::renewal::send_renewing_after_401;
use crate::retry::RetryLayer;
use crate::transport::ClientTransport;
use crate::{
    AccessToken, AuthMiddleware, Credentials, Environment, Error, RetryMiddleware, RetryPolicy,
    RetryingProvider, TokenCache,
};

/// Default limit for establishing a connection to the token endpoint.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Default limit for one token request, from connecting to the last byte of the reply.
pub const DEFAULT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default limit for obtaining a token, all attempts and waits between them included.
pub const DEFAULT_TOKEN_DEADLINE: Duration = Duration::from_secs(30);

type Cache = TokenCache<RetryingProvider<TokenEndpoint>>;

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
    cache: Cache,
    base: ApiBase,
    environment: Environment,
    retry: RetryPolicy,
}

/// Configures an [`Authenticator`]; created by [`Authenticator::builder`].
pub struct AuthenticatorBuilder {
    credentials: Credentials,
    environment: Environment,
    http: Option<reqwest::ClientBuilder>,
    retry: RetryPolicy,
    token_retry: RetryPolicy,
    connect_timeout: Option<Duration>,
    attempt_timeout: Option<Duration>,
    token_deadline: Option<Duration>,
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
            connect_timeout: Some(DEFAULT_CONNECT_TIMEOUT),
            attempt_timeout: Some(DEFAULT_ATTEMPT_TIMEOUT),
            token_deadline: Some(DEFAULT_TOKEN_DEADLINE),
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
        let value = token
            .authorization()
            .ok_or_else(|| Error::InvalidTokenResponse {
                status: 200,
                reason:
                    "the access token contains characters that are not allowed in an HTTP header"
                        .to_owned(),
            })?;
        request.headers_mut().insert(AUTHORIZATION, value.clone());
        Ok(())
    }

    /// Sends a request that [`authorize`](Self::authorize) has prepared, with `client`. This is
    /// what progenitor's `exec` hook calls, after `authorize` in its `pre` hook.
    ///
    /// Two layers, in this order:
    /// - **Renewal**: after a 401 from the API's origin, the refused token is dropped and the
    ///   request sent once more with a new one. A second 401 is returned. So is a 401 for a token
    ///   obtained less than 30 s after another refused one: a server that refuses every token
    ///   does not cost a token request per call. A 401 from another origin (after a redirect)
    ///   leaves the token alone.
    /// - **Retries**: each of those sends retries connect errors, timeouts, 429, 502, 503 and 504
    ///   as the [`RetryPolicy`] allows (idempotent methods only by default), honouring `Retry-After`.
    ///
    /// Requests whose body cannot be cloned (streams) are sent once.
    pub async fn send_authorized(
        &self,
        client: &reqwest::Client,
        request: reqwest::Request,
    ) -> reqwest::Result<reqwest::Response> {
        let mut transport = RetryLayer {
            policy: self.inner.retry,
            inner: ClientTransport(client),
        };
        send_renewing_after_401(self, &mut transport, request).await
    }

    /// Former name of [`send_authorized`](Self::send_authorized), which does the same.
    #[deprecated(
        since = "0.1.0",
        note = "renamed to `send_authorized`: it sends a request that `authorize` has prepared"
    )]
    pub async fn execute(
        &self,
        client: &reqwest::Client,
        request: reqwest::Request,
    ) -> reqwest::Result<reqwest::Response> {
        self.send_authorized(client, request).await
    }

    /// [`authorize`](Self::authorize) and the 401 renewal of
    /// [`send_authorized`](Self::send_authorized), as a `reqwest_middleware` middleware.
    pub fn middleware(&self) -> AuthMiddleware {
        AuthMiddleware::new(self.clone())
    }

    /// The retries of [`send_authorized`](Self::send_authorized) with this authenticator's
    /// policy, as a `reqwest_middleware` middleware to stack before [`middleware`](Self::middleware).
    pub fn retry_middleware(&self) -> RetryMiddleware {
        RetryMiddleware::new(self.inner.retry)
    }

    /// The API this authenticator obtains tokens for.
    pub fn environment(&self) -> &Environment {
        &self.inner.environment
    }

    /// The OAuth client id.
    pub fn client_id(&self) -> &str {
        self.credentials().client_id()
    }

    /// The retry policy of [`send_authorized`](Self::send_authorized) and [`retry_middleware`](Self::retry_middleware).
    pub fn retry_policy(&self) -> RetryPolicy {
        self.inner.retry
    }

    pub(crate) fn is_api_origin(&self, url: &Url) -> bool {
        self.inner.base.is_same_origin(url)
    }

    /// See [`TokenCache::invalidate`].
    pub(crate) fn invalidate(&self, bearer: &str) -> bool {
        self.inner.cache.invalidate(bearer)
    }

    fn credentials(&self) -> &Credentials {
        self.inner.cache.provider().inner().credentials()
    }
}

impl AuthenticatorBuilder {
    /// Settings for the HTTP client of token requests (proxy, TLS roots, DNS resolver, ...);
    /// default `reqwest::Client::builder()` with an `hm-auth` user agent.
    ///
    /// hm-auth then turns redirects off and applies the connect timeout on top, so that no
    /// setting can make a token request follow a redirect (which would send the client secret
    /// or assertion to another address). It also turns `connection_verbose` off, which would log
    /// every byte of a token request, client secret and token included.
    pub fn token_client_builder(mut self, builder: reqwest::ClientBuilder) -> Self {
        self.http = Some(builder);
        self
    }

    /// How [`Authenticator::send_authorized`] and [`RetryMiddleware`] retry API requests
    /// (default: [`RetryPolicy::default`]).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// How token requests are retried (default: [`RetryPolicy::token_default`]), within the
    /// [token deadline](Self::token_deadline).
    pub fn token_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.token_retry = policy;
        self
    }

    /// Limit for establishing a connection to the token endpoint, DNS and TLS included
    /// (default 5 s; `None` for no limit).
    pub fn token_connect_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.connect_timeout = timeout.into();
        self
    }

    /// Limit for one token request, from connecting to the last byte of the reply (default
    /// 10 s; `None` for no limit).
    pub fn token_attempt_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.attempt_timeout = timeout.into();
        self
    }

    /// Limit for obtaining a token, all attempts and the waits between them included (default
    /// 30 s; `None` for no limit).
    pub fn token_deadline(mut self, deadline: impl Into<Option<Duration>>) -> Self {
        self.token_deadline = deadline.into();
        self
    }

    /// Former name of [`token_attempt_timeout`](Self::token_attempt_timeout).
    #[deprecated(since = "0.1.0", note = "renamed to `token_attempt_timeout`")]
    pub fn token_request_timeout(self, timeout: Option<Duration>) -> Self {
        self.token_attempt_timeout(timeout)
    }

    /// Checks the base URL and builds the authenticator. No request is made yet.
    pub fn build(self) -> Result<Authenticator, Error> {
        let base = ApiBase::new(&self.environment.base_url())?;
        let mut http = self.http.unwrap_or_else(|| {
            reqwest::Client::builder().user_agent(concat!("hm-auth/", env!("CARGO_PKG_VERSION")))
        });
        http = http
            .redirect(reqwest::redirect::Policy::none())
            .connection_verbose(false);
        if let Some(timeout) = self.connect_timeout {
            http = http.connect_timeout(timeout);
        }
        let http = http.build().map_err(|e| Error::HttpClient {
            source: Arc::new(e),
        })?;
        let endpoint = TokenEndpoint::new(
            http,
            base.token_endpoint(),
            base.audience().to_owned(),
            self.credentials,
            self.attempt_timeout,
        );
        let provider =
            RetryingProvider::new(endpoint, self.token_retry).with_deadline(self.token_deadline);
        Ok(Authenticator {
            inner: Arc::new(Inner {
                cache: TokenCache::new(provider),
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
            .field("credentials", self.credentials())
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
            .field("token_connect_timeout", &self.connect_timeout)
            .field("token_attempt_timeout", &self.attempt_timeout)
            .field("token_deadline", &self.token_deadline)
            .finish_non_exhaustive()
    }
}
