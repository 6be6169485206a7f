//! The entry point: one HTTP client, one base URL and one authenticator shared by every API.

use std::time::Duration;

use crate::ClientContext;

/// Every High Mobility API behind one authenticated entry point.
///
/// All APIs share one `reqwest::Client` (one connection pool) and one token cache. Cloning is cheap.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use hm_auth::{Authenticator, Credentials, Environment};
///
/// let credentials = Credentials::client_secret("my-client-id", "my-client-secret")?;
/// let auth = Authenticator::builder(credentials, Environment::Sandbox).build()?;
/// let hm = hm_api::HighMobility::new(auth);
///
/// let clearance = hm.fleet_clearance().get_clearance().vin("1HMTEST0000000001").send().await?;
/// println!("{:?}", clearance.status);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct HighMobility {
    base_url: String,
    #[cfg(feature = "oauth")]
    oauth: crate::oauth::Client,
    #[cfg(feature = "eligibility")]
    eligibility: crate::eligibility::Client,
    #[cfg(feature = "fleet-clearance")]
    fleet_clearance: crate::fleet_clearance::Client,
    #[cfg(feature = "vehicle-data")]
    vehicle_data: crate::vehicle_data::Client,
    #[cfg(feature = "vehicle-static-data")]
    vehicle_static_data: crate::vehicle_static_data::Client,
}

/// Timeout of one API request when the caller does not bring an HTTP client; vehicle data can take a
/// while because High Mobility may have to reach the car maker.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

impl HighMobility {
    /// Every API at the authenticator's environment, with a default HTTP client.
    pub fn new(auth: hm_auth::Authenticator) -> Self {
        let base_url = auth.environment().base_url().to_string();
        Self::with_client(
            &base_url,
            default_http_client(),
            ClientContext::authenticated(auth),
        )
    }

    /// Every API at `base_url` (e.g. a running emulator), sharing `http`, signing requests as `context` says.
    pub fn with_client(base_url: &str, http: reqwest::Client, context: ClientContext) -> Self {
        let base_url = base_url.trim_end_matches('/').to_owned();
        // `http` and `context` are unused when every API feature is off.
        let _ = (&http, &context);
        Self {
            #[cfg(feature = "oauth")]
            oauth: crate::oauth::Client::new_with_client(&base_url, http.clone(), context.clone()),
            #[cfg(feature = "eligibility")]
            eligibility: crate::eligibility::Client::new_with_client(
                &base_url,
                http.clone(),
                context.clone(),
            ),
            #[cfg(feature = "fleet-clearance")]
            fleet_clearance: crate::fleet_clearance::Client::new_with_client(
                &base_url,
                http.clone(),
                context.clone(),
            ),
            #[cfg(feature = "vehicle-data")]
            vehicle_data: crate::vehicle_data::Client::new_with_client(
                &base_url,
                http.clone(),
                context.clone(),
            ),
            #[cfg(feature = "vehicle-static-data")]
            vehicle_static_data: crate::vehicle_static_data::Client::new_with_client(
                &base_url,
                http.clone(),
                context.clone(),
            ),
            base_url,
        }
    }

    /// The base URL every API is reached at (without a trailing slash).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The OAuth2 API.
    #[cfg(feature = "oauth")]
    pub fn oauth(&self) -> &crate::oauth::Client {
        &self.oauth
    }

    /// The Eligibility API.
    #[cfg(feature = "eligibility")]
    pub fn eligibility(&self) -> &crate::eligibility::Client {
        &self.eligibility
    }

    /// The Fleet Clearance API.
    #[cfg(feature = "fleet-clearance")]
    pub fn fleet_clearance(&self) -> &crate::fleet_clearance::Client {
        &self.fleet_clearance
    }

    /// The Vehicle Data API.
    #[cfg(feature = "vehicle-data")]
    pub fn vehicle_data(&self) -> &crate::vehicle_data::Client {
        &self.vehicle_data
    }

    /// The Vehicle Static Data API.
    #[cfg(feature = "vehicle-static-data")]
    pub fn vehicle_static_data(&self) -> &crate::vehicle_static_data::Client {
        &self.vehicle_static_data
    }
}

fn default_http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(DEFAULT_TIMEOUT)
        .build()
        // Building fails only if the TLS backend cannot initialise, which no request could survive.
        .unwrap_or_default()
}
