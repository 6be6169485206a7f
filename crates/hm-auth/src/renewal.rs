//! The renewal layer: after the API answers 401, send the request once more with a new token.

use reqwest::header::AUTHORIZATION;
use reqwest::{Request, Response, StatusCode};

use crate::Authenticator;
use crate::transport::Transport;

/// Sends an authorised request through `transport`; after a 401 *from the API's origin* drops
/// the refused token and sends a copy once more with a new one, unless the cache throttles
/// renewal (the new token would be refused as well), in which case the 401 is returned.
pub(crate) async fn send_renewing_after_401<T: Transport>(
    auth: &Authenticator,
    transport: &mut T,
    request: Request,
) -> Result<Response, T::Error> {
    // A copy for the second attempt is needed only for the API's origin. Requests with a
    // streaming body cannot be copied and get no second chance.
    let (response, replay) = if auth.is_api_origin(request.url()) {
        let (result, copy) = transport.send_keeping_copy(request).await;
        (result?, copy)
    } else {
        (transport.send(request).await?, None)
    };
    if response.status() != StatusCode::UNAUTHORIZED {
        return Ok(response);
    }
    let Some(mut replay) = replay else {
        return Ok(response);
    };
    // Judged by who answered: after a redirect, a 401 from elsewhere says nothing about our token.
    if !auth.is_api_origin(response.url()) {
        tracing::debug!("401 from another origin after a redirect; the token is kept");
        return Ok(response);
    }
    if let Some(sent) = bearer(&replay)
        && !auth.invalidate(sent)
    {
        return Ok(response);
    }
    if let Err(error) = auth.authorize(&mut replay).await {
        tracing::warn!(%error, "no new token for the retry after 401; returning the 401");
        return Ok(response);
    }
    tracing::debug!("retrying once with a new token after 401");
    drop(response);
    transport.send(replay).await
}

fn bearer(request: &Request) -> Option<&str> {
    request
        .headers()
        .get(AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}
