//! The entry point: one HTTP client, one base URL and one authenticator shared by every API.
//! The per-API accessors (`oauth()`, `fleet_clearance()`, ...) are generated from
//! `openapi/specs.toml` into `generated/mod.rs`.

use std::time::Duration;

use crate::generated::Clients;
use crate::{ClientContext, Error};

/// Every High Mobility API behind one authenticated entry point.
///
/// All APIs share one `reqwest::Client` (one connection pool) and one token cache, and are reached at
/// the authenticator's environment, so that no request can go to an origin the token is not for.
/// Cloning is cheap.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use hm_api::auth::{Authenticator, Credentials, Environment};
/// use hm_api::CallExt;
///
/// let credentials = Credentials::client_secret("my-client-id", "my-client-secret")?;
/// let auth = Authenticator::builder(credentials, Environment::Sandbox).build()?;
/// let hm = hm_api::HighMobility::new(auth)?;
///
/// let clearance = hm.fleet_clearance().get_clearance().vin("1HMTEST0000000001").send().typed().await?;
/// println!("{:?}", clearance.status);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct HighMobility {
    base_url: String,
    http: reqwest::Client,
    context: ClientContext,
    #[allow(dead_code)]
    // read by the generated accessors, of which there are none without API features
    pub(crate) clients: Clients,
}

/// Timeout of one API request when the caller does not bring an HTTP client; vehicle data can take a
/// while because High Mobility may have to reach the car maker.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// Timeout for establishing a connection with the default HTTP client.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

impl HighMobility {
    /// Every API at the authenticator's environment, with a new HTTP client (60 s request timeout).
    ///
    /// Fails only if the HTTP client cannot be built (the TLS backend does not initialise).
    // Built once per process; the error's size (that of a failed API call) does not matter here.
    #[allow(clippy::result_large_err)]
    pub fn new(auth: hm_auth::Authenticator) -> Result<Self, Error> {
        let http = reqwest::Client::builder()
            .connect_timeout(DEFAULT_CONNECT_TIMEOUT)
            .timeout(DEFAULT_TIMEOUT)
            .build()
            .map_err(Error::HttpClient)?;
        Ok(Self::with_http_client(auth, http))
    }

    /// Every API at the authenticator's environment, sharing `http` (bring your own to share its
    /// connection pool, proxy and timeouts).
    pub fn with_http_client(auth: hm_auth::Authenticator, http: reqwest::Client) -> Self {
        let base_url = auth.environment().base_url().to_string();
        Self::build(&base_url, &http, ClientContext::authenticated(auth))
    }

    /// Every API at `base_url` without authentication: for mock servers and tests.
    pub fn unauthenticated(base_url: &str, http: reqwest::Client) -> Self {
        Self::build(base_url, &http, ClientContext::unauthenticated())
    }

    fn build(base_url: &str, http: &reqwest::Client, context: ClientContext) -> Self {
        let base_url = base_url.trim_end_matches('/').to_owned();
        Self {
            clients: Clients::new(&base_url, http, &context),
            base_url,
            http: http.clone(),
            context,
        }
    }

    /// Refuse response bodies longer than `bytes` (default
    /// [`DEFAULT_MAX_RESPONSE_BYTES`](crate::DEFAULT_MAX_RESPONSE_BYTES), 16 MiB): reading stops there
    /// and the call fails, so a broken or hostile server cannot exhaust the service's memory.
    pub fn with_max_response_bytes(self, bytes: usize) -> Self {
        let context = self.context.with_max_response_bytes(bytes);
        Self::build(&self.base_url, &self.http, context)
    }

    /// The base URL every API is reached at (without a trailing slash).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }
}
