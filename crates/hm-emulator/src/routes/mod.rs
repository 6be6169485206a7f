//! The HTTP surface: one module per emulated API, plus fault injection and request logging.

pub mod clearance;
pub mod eligibility;
pub mod errors;
pub mod oauth;
pub mod static_data;
pub mod vehicle_data;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};

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
        .fallback(not_found)
        .layer(middleware::from_fn(log_request))
        .with_state(state)
}

async fn not_found() -> Response {
    errors::fleet(
        StatusCode::NOT_FOUND,
        "Not found",
        "No such endpoint in the emulator",
        None,
    )
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
