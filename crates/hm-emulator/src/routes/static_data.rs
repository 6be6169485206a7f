//! `GET /v1/vehicle-static-data/{vin}` and `GET /v1/vehicle-static-data/{vin}/data`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::errors::{self, Api};
use crate::config::VehicleConfig;
use crate::state::AppState;

const SCOPE: &str = "vehicle:static-data";

fn serve(
    state: &AppState,
    headers: &HeaderMap,
    vin: &str,
    build: fn(&str, &str) -> Value,
) -> Response {
    if let Err(failure) = state.authorize(headers, SCOPE) {
        return errors::auth(Api::Data, failure);
    }
    match state.config.vehicle(vin) {
        Some(VehicleConfig { brand, .. }) => Json(build(vin, brand)).into_response(),
        None => errors::data(
            StatusCode::NOT_FOUND,
            "Not Found",
            format!(
                "No static data for VIN {vin}; only vehicles in the emulator config have static data"
            ),
        ),
    }
}

/// Manufacturer and equipment of a configured vehicle.
pub async fn get(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(vin): Path<String>,
) -> Response {
    serve(
        &state,
        &headers,
        &vin,
        crate::documents::static_data::summary,
    )
}

/// Detailed static data of a configured vehicle.
pub async fn get_data(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(vin): Path<String>,
) -> Response {
    serve(
        &state,
        &headers,
        &vin,
        crate::documents::static_data::details,
    )
}
