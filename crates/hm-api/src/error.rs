//! The crate's error type.

/// What a generated call returns on failure (progenitor's error): transport failures, the API's
/// documented error bodies (`ErrorResponse`, typed by `E`), undocumented statuses, bodies that do
/// not decode. A failure to obtain a token arrives as `Custom(message)`; [`CallExt::typed`](crate::CallExt::typed)
/// turns it into [`Error::Auth`].
pub use progenitor_client::Error as ApiError;

/// Everything that can go wrong with [`HighMobility`](crate::HighMobility): building it, or one call
/// awaited with [`CallExt::typed`](crate::CallExt::typed).
///
/// `E` is the API's documented error body (e.g. `fleet_clearance::types::FleetErrors`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error<E = ()> {
    /// No access token could be obtained, so the request was not sent.
    ///
    /// [`hm_auth::Error::kind`] tells the cases a caller handles differently: the token endpoint was
    /// unreachable, overloaded or failing (`is_retryable()`: try again later), or it refused the
    /// credentials or the configuration is wrong (retrying will not help).
    #[error("no access token, so the request was not sent: {0}")]
    Auth(#[source] hm_auth::Error),

    /// The HTTP client could not be built (the TLS backend failed to initialise).
    #[error(
        "cannot build the HTTP client for the High Mobility APIs: {0}; pass your own with \
         `HighMobility::with_http_client`"
    )]
    HttpClient(#[source] reqwest::Error),

    /// The call failed after its request was built: see [`ApiError`].
    #[error(transparent)]
    Api(ApiError<E>),
}

impl<E> Error<E> {
    /// The HTTP status of the API's reply, if the failure is a reply.
    pub fn status(&self) -> Option<reqwest::StatusCode> {
        match self {
            Error::Api(e) => e.status(),
            Error::Auth(_) | Error::HttpClient(_) => None,
        }
    }
}
