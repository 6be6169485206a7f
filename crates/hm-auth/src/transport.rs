//! How an API request leaves: a plain `reqwest::Client`, or the rest of a middleware stack. The
//! retry and renewal layers are written once against this trait.

use std::future::Future;

use http::Extensions;
use reqwest::{Request, Response};
use reqwest_middleware::Next;

/// Sends one request.
pub(crate) trait Transport: Send {
    type Error: Send;

    fn send(
        &mut self,
        request: Request,
    ) -> impl Future<Output = Result<Response, Self::Error>> + Send;

    /// Sends `request`, and hands back an unsent copy of it (`None` if its body cannot be
    /// copied) for a layer above that may send it once more.
    fn send_keeping_copy(
        &mut self,
        request: Request,
    ) -> impl Future<Output = (Result<Response, Self::Error>, Option<Request>)> + Send {
        let copy = request.try_clone();
        async move { (self.send(request).await, copy) }
    }

    /// A failure after which the request most likely did not reach the application.
    fn is_transient(error: &Self::Error) -> bool;
}

/// A plain reqwest client.
pub(crate) struct ClientTransport<'a>(pub(crate) &'a reqwest::Client);

impl Transport for ClientTransport<'_> {
    type Error = reqwest::Error;

    fn send(
        &mut self,
        request: Request,
    ) -> impl Future<Output = Result<Response, Self::Error>> + Send {
        self.0.execute(request)
    }

    fn is_transient(error: &reqwest::Error) -> bool {
        is_transient_error(error)
    }
}

/// The rest of a middleware stack; each attempt runs through all of it.
pub(crate) struct NextTransport<'a, 'e> {
    pub(crate) next: Next<'a>,
    pub(crate) extensions: &'e mut Extensions,
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
            reqwest_middleware::Error::Reqwest(e) => is_transient_error(e),
            reqwest_middleware::Error::Middleware(_) => false,
        }
    }
}

/// Transport errors worth retrying: the request most likely did not reach the application.
fn is_transient_error(error: &reqwest::Error) -> bool {
    error.is_connect() || error.is_timeout()
}
