//! The HTTP surface: one module per emulated API, plus fault injection and request logging.

pub mod clearance;
pub mod eligibility;
pub mod errors;
pub mod extract;
pub mod oauth;
pub mod static_data;
pub mod vehicle_data;

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use futures::FutureExt;

use errors::Api;

use crate::faults::{Injected, Route};
use crate::state::AppState;

/// The emulator's router over `state`.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route(
            "/v1/access_tokens",
            post(oauth::create).delete(oauth::revoke),
        )
        .route("/v1/eligibility", post(eligibility::check))
        .route(
            "/v1/fleets/vehicles",
            post(clearance::create).get(clearance::list),
        )
        .route(
            "/v1/fleets/vehicles/{vin}",
            get(clearance::get_one).delete(clearance::delete),
        )
        .route("/v1/vehicle-data/autoapi-13/{vin}", get(vehicle_data::get))
        .route("/v1/vehicle-static-data/{vin}", get(static_data::get))
        .route(
            "/v1/vehicle-static-data/{vin}/data",
            get(static_data::get_data),
        )
        // route_layer: runs after routing, so the matched path tells which route a fault belongs to.
        .route_layer(middleware::from_fn_with_state(state.clone(), inject_faults))
        // After route_layer, so that a wrong method is answered without fault injection.
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
        .layer(middleware::from_fn(api_shape))
        .layer(middleware::from_fn(log_request))
        .with_state(state)
}

async fn not_found(uri: Uri) -> Response {
    errors::for_api(
        Api::for_path(uri.path()),
        StatusCode::NOT_FOUND,
        "Not found",
        "No such endpoint in the emulator",
    )
}

async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    errors::for_api(
        Api::for_path(uri.path()),
        StatusCode::METHOD_NOT_ALLOWED,
        "Method not allowed",
        format!("{method} is not allowed on this endpoint; see the Allow header"),
    )
}

/// The last line of defence for "every error in the API's shape": a panic becomes a 500 and any
/// error response that is not JSON (a rejection of axum or hyper's making) is rewritten in the
/// shape of the API the path belongs to, keeping its status and `Allow`/`Retry-After` headers.
async fn api_shape(request: Request, next: Next) -> Response {
    let api = Api::for_path(request.uri().path());
    let response = match AssertUnwindSafe(next.run(request)).catch_unwind().await {
        Ok(response) => response,
        Err(_) => {
            tracing::error!("a handler panicked; answering 500");
            return errors::for_api(
                api,
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal Server Error",
                "the emulator failed while answering; please report this as a bug of hm-emulator",
            );
        }
    };
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let reason = status.canonical_reason().unwrap_or("Error");
    let mut shaped = errors::for_api(api, status, reason, reason);
    for name in [header::ALLOW, header::RETRY_AFTER] {
        if let Some(value) = response.headers().get(&name) {
            shaped.headers_mut().insert(name, value.clone());
        }
    }
    shaped
}

async fn inject_faults(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .and_then(|p| Route::from_request(request.method(), p.as_str()));
    let Some(route) = route else {
        return next.run(request).await;
    };
    let (latency, injected) = state.faults.decide(route);
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let api = route.api();
    match injected {
        Injected::Pass => next.run(request).await,
        Injected::Error(500) => errors::for_api(
            api,
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal Server Error",
            "Injected fault: internal server error",
        ),
        Injected::Error(_) => errors::for_api(
            api,
            StatusCode::SERVICE_UNAVAILABLE,
            "Service Unavailable",
            "Injected fault: service unavailable",
        ),
        Injected::TooManyRequests(secs) => errors::too_many_requests(api, secs),
        Injected::Outage => errors::for_api(
            api,
            StatusCode::SERVICE_UNAVAILABLE,
            "Service Unavailable",
            "Injected fault: outage",
        ),
    }
}

/// Logs method, path (never the query or headers, which may carry secrets), status and latency.
async fn log_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let response = next.run(request).await;
    tracing::info!(
        %method,
        path,
        status = response.status().as_u16(),
        latency_us = started.elapsed().as_micros() as u64,
        "request"
    );
    response
}
