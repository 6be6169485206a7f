//! Sending an authorised request: retries after transient failures, and one retry with a fresh
//! token after a 401. Shared by [`Authenticator::execute`](crate::Authenticator::execute) and
//! [`AuthMiddleware`](crate::AuthMiddleware), which differ only in how a request is sent.

use std::future::Future;

use reqwest::header::AUTHORIZATION;
use reqwest::{Request, Response, StatusCode};

use crate::Authenticator;
use crate::retry::{self, RetryPolicy};

/// How a request leaves: a plain `reqwest::Client` or the rest of a middleware stack.
pub(crate) trait Transport: Send {
    type Error: Send;

    fn send(
        &mut self,
        request: Request,
    ) -> impl Future<Output = Result<Response, Self::Error>> + Send;

    /// A failure after which the request most likely did not reach the application.
    fn is_transient(error: &Self::Error) -> bool;
}

/// Sends an already authorised request; see [`Authenticator::execute`](crate::Authenticator::execute).
pub(crate) async fn send<T: Transport>(
    auth: &Authenticator,
    transport: &mut T,
    request: Request,
) -> Result<Response, T::Error> {
    // The copy for the retry after a 401 must be made now: a sent request is gone.
    // Requests with a streaming body cannot be copied and get no second chance.
    let replay = if auth.is_api_origin(request.url()) {
        request.try_clone()
    } else {
        None
    };
    let response = send_with_retries(auth.retry_policy(), transport, request).await?;
    if response.status() != StatusCode::UNAUTHORIZED {
        return Ok(response);
    }
    let Some(mut replay) = replay else {
        return Ok(response);
    };

    if let Some(sent) = bearer(&replay) {
        auth.invalidate(sent);
    }
    if let Err(error) = auth.authorize(&mut replay).await {
        tracing::warn!(%error, "no fresh token for the retry after 401; returning the 401");
        return Ok(response);
    }
    tracing::debug!("retrying once with a fresh token after 401");
    drop(response);
    send_with_retries(auth.retry_policy(), transport, replay).await
}

async fn send_with_retries<T: Transport>(
    policy: RetryPolicy,
    transport: &mut T,
    mut request: Request,
) -> Result<Response, T::Error> {
    let mut attempt = 1;
    loop {
        let spare = if policy.allows(request.method(), attempt) {
            request.try_clone()
        } else {
            None
        };
        let result = transport.send(request).await;
        let Some(next) = spare else {
            return result;
        };
        let retry_after = match &result {
            Ok(response) if retry::is_transient_status(response.status()) => {
                retry::retry_after(response.headers())
            }
            Err(error) if T::is_transient(error) => None,
            _ => return result,
        };
        let delay = policy.delay(attempt, retry_after);
        tracing::debug!(
            attempt,
            status = result.as_ref().ok().map(|r| r.status().as_u16()),
            delay_ms = delay.as_millis() as u64,
            "transient failure; retrying"
        );
        drop(result);
        tokio::time::sleep(delay).await;
        request = next;
        attempt += 1;
    }
}

fn bearer(request: &Request) -> Option<&str> {
    request
        .headers()
        .get(AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
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
        retry::is_transient_error(error)
    }
}
