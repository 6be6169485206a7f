//! `POST /v1/eligibility`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use std::sync::Arc;

use super::errors;
use super::extract::{Authorized, Eligibility, JsonBody};
use crate::state::AppState;

fn unprocessable(title: &str, detail: &str, source: &str) -> Response {
    errors::fleet(
        StatusCode::UNPROCESSABLE_ENTITY,
        title,
        detail,
        Some(source),
    )
}

/// Answers whether a VIN is eligible; unknown VINs are not.
pub async fn check(
    State(state): State<Arc<AppState>>,
    _: Authorized<Eligibility>,
    JsonBody(request, ..): JsonBody<Eligibility>,
) -> Response {
    if !request.is_object() {
        return unprocessable(
            "Invalid input",
            "the request body must be a JSON object",
            "body",
        );
    }
    let Some(vin) = request.get("vin").and_then(Value::as_str) else {
        return unprocessable("Invalid input", "vin can't be blank", "vin");
    };
    let Some(brand) = request
        .get("brand")
        .and_then(Value::as_str)
        .filter(|b| !b.is_empty())
    else {
        return unprocessable("Invalid input", "brand can't be blank", "brand");
    };
    if !crate::vin::is_valid(vin) {
        return unprocessable(
            "Invalid VIN",
            &format!("vin should be {}", crate::vin::RULE),
            "vin",
        );
    }
    if !crate::brands::is_fleet_brand(brand, &state.config) {
        return unprocessable("Invalid brand", "The brand is invalid", "brand");
    }

    let mut response = Map::new();
    response.insert("vin".into(), json!(vin));
    match state.config.vehicle(vin).filter(|v| v.brand == brand) {
        Some(vehicle) => {
            response.insert("eligible".into(), json!(vehicle.eligible));
            response.insert("data_delivery".into(), json!(vehicle.data_delivery));
            if let Some(status) = &vehicle.connectivity_status {
                response.insert("connectivity_status".into(), json!(status));
            }
            if let Some(assigned) = vehicle.primary_user_assigned {
                response.insert("primary_user_assigned".into(), json!(assigned));
            }
        }
        None => {
            response.insert("eligible".into(), json!(false));
            response.insert("data_delivery".into(), json!([]));
        }
    }
    Json(Value::Object(response)).into_response()
}
