//! `GET /v1/vehicle-data/autoapi-13/{vin}`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::errors::{self, Api};
use crate::state::AppState;
use crate::state::clearance::Status;

const SCOPE: &str = "vehicle:data";

/// The vehicle's data, if the application holds an approved clearance for it.
pub async fn get(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(vin): Path<String>,
) -> Response {
    let client_id = match state.authorize(&headers, SCOPE) {
        Ok(c) => c,
        Err(failure) => return errors::auth(Api::Data, failure),
    };
    let now = state.clock.now();
    match state.clearances.status(&client_id, &vin, now) {
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
    let brand = state
        .config
        .vehicle(&vin)
        .map(|v| v.brand.as_str())
        .unwrap_or("unknown");
    let request_id = uuid::Uuid::new_v4().simple().to_string();
    Json(crate::documents::vehicle_data::document(
        &vin,
        brand,
        &request_id,
        now,
    ))
    .into_response()
}
