//! `POST /v1/eligibility`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hm_api::eligibility::types::{Eligibility as Answer, EligibilityRequest};

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
    JsonBody(body, ..): JsonBody<Eligibility>,
) -> Response {
    if !body.is_object() {
        return unprocessable(
            "Invalid input",
            "the request body must be a JSON object",
            "body",
        );
    }
    for field in ["vin", "brand"] {
        if body.get(field).is_none_or(|v| v.as_str() == Some("")) {
            return unprocessable("Invalid input", &format!("{field} can't be blank"), field);
        }
    }
    let request: EligibilityRequest = match serde_json::from_value(body) {
        Ok(request) => request,
        Err(e) => {
            return unprocessable(
                "Invalid input",
                &format!("the body must be {{vin, brand}} with string values: {e}"),
                "body",
            );
        }
    };
    if !crate::vin::is_valid(&request.vin) {
        return unprocessable(
            "Invalid VIN",
            &format!("vin should be {}", crate::vin::RULE),
            "vin",
        );
    }
    let brand = request.brand.as_str();
    if !crate::brands::is_eligibility_brand(brand) {
        return unprocessable("Invalid brand", "The brand is invalid", "brand");
    }

    let answer = match state
        .config
        .vehicle(&request.vin)
        .filter(|v| v.brand == brand)
    {
        // The configuration's values were checked against the spec's enums when it was loaded.
        Some(vehicle) => Answer {
            eligible: vehicle.eligible,
            data_delivery: vehicle
                .data_delivery
                .iter()
                .filter_map(|d| d.parse().ok())
                .collect(),
            connectivity_status: vehicle
                .connectivity_status
                .as_deref()
                .and_then(|s| s.parse().ok()),
            primary_user_assigned: vehicle.primary_user_assigned,
            vin: request.vin,
        },
        None => Answer {
            eligible: false,
            data_delivery: Vec::new(),
            connectivity_status: None,
            primary_user_assigned: None,
            vin: request.vin,
        },
    };
    Json(answer).into_response()
}
