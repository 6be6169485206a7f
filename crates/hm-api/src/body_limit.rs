//! A bound on how much of a response body the generated client reads: progenitor reads bodies whole,
//! so an endless or huge reply would otherwise grow the service's memory until the request times out.

use http_body_util::{BodyExt, LengthLimitError, Limited};

/// The body of `response` ends in an error once it exceeds `max_bytes`.
pub(crate) fn limit(response: reqwest::Response, max_bytes: usize) -> reqwest::Response {
    let url = response.url().clone();
    let (mut parts, body) = http::Response::<reqwest::Body>::from(response).into_parts();
    let body = Limited::new(body, max_bytes).map_err(move |e| -> BoxError {
        if e.is::<LengthLimitError>() {
            Box::new(TooLarge { max_bytes })
        } else {
            e
        }
    });
    // Keep the URL, which the round trip through `http::Response` would lose.
    let (url_parts, ()) = reqwest::ResponseBuilderExt::url(http::Response::builder(), url)
        .body(())
        .map(http::Response::into_parts)
        .unwrap_or_else(|_| http::Response::new(()).into_parts());
    parts.extensions.extend(url_parts.extensions);
    http::Response::from_parts(parts, reqwest::Body::wrap(body)).into()
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A response body longer than the client accepts.
#[derive(Debug, thiserror::Error)]
#[error(
    "the response body exceeds {max_bytes} bytes, hm-api's limit; if the API legitimately sends more, \
     raise it with `HighMobility::with_max_response_bytes`"
)]
struct TooLarge {
    max_bytes: usize,
}
