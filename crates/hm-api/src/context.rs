//! What every generated client carries besides its base URL and HTTP client: the authenticator, met
//! through progenitor's `ClientHooks` (the seam its maintainers intend for auth).

// With every API feature off there is no client to hook into.
#![cfg_attr(
    not(any(
        feature = "oauth",
        feature = "eligibility",
        feature = "fleet-clearance",
        feature = "vehicle-data",
        feature = "vehicle-static-data"
    )),
    allow(unused)
)]

use progenitor_client::{ClientInfo, Error, OperationInfo};

/// The inner value of every generated `Client`: the authenticator that signs its requests, if any.
///
/// Build one with [`ClientContext::authenticated`] (or let [`HighMobility`](crate::HighMobility) do it);
/// [`ClientContext::unauthenticated`] is for mock servers and for endpoints that need no token.
#[derive(Clone, Debug, Default)]
pub struct ClientContext {
    auth: Option<hm_auth::Authenticator>,
}

impl ClientContext {
    /// Requests get a bearer token from `auth` and are retried as its policy says.
    pub fn authenticated(auth: hm_auth::Authenticator) -> Self {
        Self { auth: Some(auth) }
    }

    /// Requests are sent as they are, once.
    pub fn unauthenticated() -> Self {
        Self { auth: None }
    }

    /// The authenticator, if any.
    pub fn authenticator(&self) -> Option<&hm_auth::Authenticator> {
        self.auth.as_ref()
    }

    pub(crate) async fn authorize<E>(
        &self,
        request: &mut reqwest::Request,
    ) -> Result<(), Error<E>> {
        match &self.auth {
            // progenitor's error type offers only a string for hook failures; hm-auth's message
            // already names the failure and the remedy.
            Some(auth) => auth
                .authorize(request)
                .await
                .map_err(|e| Error::Custom(e.to_string())),
            None => Ok(()),
        }
    }

    pub(crate) async fn execute(
        &self,
        client: &reqwest::Client,
        request: reqwest::Request,
    ) -> reqwest::Result<reqwest::Response> {
        match &self.auth {
            Some(auth) => auth.send_authorized(client, request).await,
            None => client.execute(request).await,
        }
    }
}

/// Implements the hooks for one generated module's `Client`.
macro_rules! client_hooks {
    ($module:ident) => {
        impl progenitor_client::ClientHooks<$crate::ClientContext> for $crate::$module::Client {
            async fn pre<E>(
                &self,
                request: &mut reqwest::Request,
                _info: &OperationInfo,
            ) -> Result<(), Error<E>> {
                self.inner().authorize(request).await
            }

            async fn exec(
                &self,
                request: reqwest::Request,
                _info: &OperationInfo,
            ) -> reqwest::Result<reqwest::Response> {
                self.inner().execute(self.client(), request).await
            }
        }
    };
}

#[cfg(feature = "oauth")]
client_hooks!(oauth);
#[cfg(feature = "eligibility")]
client_hooks!(eligibility);
#[cfg(feature = "fleet-clearance")]
client_hooks!(fleet_clearance);
#[cfg(feature = "vehicle-data")]
client_hooks!(vehicle_data);
#[cfg(feature = "vehicle-static-data")]
client_hooks!(vehicle_static_data);
