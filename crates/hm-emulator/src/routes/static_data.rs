//! `GET /v1/vehicle-static-data/{vin}` and `GET /v1/vehicle-static-data/{vin}/data`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::errors;
use super::extract::{Authorized, PathVin, StaticData};
use crate::config::VehicleConfig;
use crate::state::AppState;

fn serve<T: Serialize>(state: &AppState, vin: &str, build: fn(&str, &str) -> T) -> Response {
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
    _: Authorized<StaticData>,
    PathVin(vin, ..): PathVin<StaticData>,
) -> Response {
    serve(&state, &vin, crate::documents::static_data::summary)
}

/// Detailed static data of a configured vehicle.
pub async fn get_data(
    State(state): State<Arc<AppState>>,
    _: Authorized<StaticData>,
    PathVin(vin, ..): PathVin<StaticData>,
) -> Response {
    serve(&state, &vin, crate::documents::static_data::details)
}
