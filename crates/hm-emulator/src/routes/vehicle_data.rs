//! `GET /v1/vehicle-data/autoapi-13/{vin}`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::errors;
use super::extract::{Authorized, PathVin, VehicleData};
use crate::state::AppState;
use crate::state::clearance::Status;

/// The vehicle's data, if the application holds an approved clearance for it.
pub async fn get(
    State(state): State<Arc<AppState>>,
    auth: Authorized<VehicleData>,
    PathVin(vin, ..): PathVin<VehicleData>,
) -> Response {
    let now = state.clock.now();
    match state.clearances.status(&auth.client_id, &vin, now) {
        Some(Status::Approved) => {}
        Some(Status::Pending) => {
            return errors::data(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Pending",
                "Vehicle data is not available yet",
            );
        }
        _ => {
            return errors::data(
                StatusCode::FORBIDDEN,
                "Forbidden",
                "No active consent for this vehicle",
            );
        }
    }
    // Unknown vehicles are never approved; the brand of a configured one is its clearance brand.
    let brand = state
        .config
        .vehicle(&vin)
        .map(|v| v.brand.clone())
        .unwrap_or_default();
    let request_id = uuid::Uuid::new_v4().simple().to_string();
    match state
        .vehicle_data
        .document(vin, brand, request_id, now)
        .await
    {
        Ok(document) => Json(document).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "generating a vehicle data document failed");
            errors::data(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal Server Error",
                "the emulator could not generate this document (it did not fit the spec's \
                 types, or generation failed); please report this as a bug of hm-emulator",
            )
        }
    }
}
