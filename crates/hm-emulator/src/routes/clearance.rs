//! Fleet clearance: request, list (with filter), read, and delete (revoke or cancel).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::errors::{self, Api};
use crate::brands::{CANCELABLE_BRANDS, CLEARANCE_BRANDS};
use crate::config::ClearanceOutcome;
use crate::filter::Filter;
use crate::state::AppState;
use crate::state::clearance::{Change, Clearance, Status};
use crate::state::clock::wire_time;

const SCOPE: &str = "fleet:clearance";
/// How long an unknown vehicle's clearance stays pending before it is rejected.
const UNKNOWN_VEHICLE_DELAY: chrono::Duration = chrono::Duration::seconds(2);

fn item_json(c: &Clearance) -> Value {
    let changelog: Vec<Value> = c
        .changelog
        .iter()
        .map(|change| {
            let mut entry = json!({ "timestamp": wire_time(change.timestamp), "status": change.status.as_str() });
            if let (Some(reason), Value::Object(map)) = (&change.reason, &mut entry) {
                map.insert("reason".into(), json!(reason));
            }
            entry
        })
        .collect();
    json!({
        "vin": c.vin,
        "status": c.status().as_str(),
        "brand": c.brand,
        "changelog": changelog,
        "tags": c.tags,
    })
}

/// `POST /v1/fleets/vehicles`: requests clearances; each VIN gets `pending` or `error`.
pub async fn create(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let client_id = match state.authorize(&headers, SCOPE) {
        Ok(c) => c,
        Err(failure) => return errors::auth(Api::Fleet, failure),
    };
    let vehicles = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("vehicles").and_then(Value::as_array).cloned());
    let Some(vehicles) = vehicles else {
        return errors::fleet(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Invalid input",
            "the body must be a JSON object with an array \"vehicles\"",
            Some("vehicles"),
        );
    };
    let now = state.clock.now();
    let mut clearances = state.clearances.of_app(&client_id, now);
    let results: Vec<Value> = vehicles
        .iter()
        .map(|v| request_one(&state, clearances.map(), v, now))
        .collect();
    Json(json!({ "vehicles": results })).into_response()
}

fn request_one(
    state: &AppState,
    clearances: &mut BTreeMap<String, Clearance>,
    v: &Value,
    now: DateTime<Utc>,
) -> Value {
    let vin = v.get("vin").and_then(Value::as_str).unwrap_or_default();
    let error =
        |description: &str| json!({ "vin": vin, "status": "error", "description": description });
    if !crate::vin::is_valid(vin) {
        return error("vin should be 17 characters of [A-HJ-NPR-Z0-9]");
    }
    let brand = v.get("brand").and_then(Value::as_str).unwrap_or_default();
    let configured = state.config.vehicle(vin);
    let known_brand =
        CLEARANCE_BRANDS.contains(&brand) || state.config.vehicles.iter().any(|c| c.brand == brand);
    if !known_brand {
        return error("The brand is invalid");
    }
    if configured.is_some_and(|c| c.brand != brand) {
        return error("The brand does not match the vehicle");
    }
    let tags: BTreeMap<String, String> = match v.get("tags") {
        None | Some(Value::Null) => BTreeMap::new(),
        Some(tags) => match serde_json::from_value(tags.clone()) {
            Ok(tags) => tags,
            Err(_) => return error("tags must be an object of string values"),
        },
    };
    if let Some(existing) = clearances.get(vin).filter(|c| !c.status().is_final()) {
        // Asking again for an active clearance changes nothing; the current state is reported.
        return json!({ "vin": vin, "status": existing.status().as_str(), "tags": existing.tags });
    }
    let outcome = match configured {
        Some(c) => Change {
            timestamp: now
                + chrono::Duration::from_std(c.clearance_delay()).unwrap_or(chrono::Duration::MAX),
            status: match c.clearance {
                ClearanceOutcome::Approve => Status::Approved,
                ClearanceOutcome::Reject => Status::Rejected,
            },
            reason: match c.clearance {
                ClearanceOutcome::Approve => None,
                ClearanceOutcome::Reject => c.rejection_reason.clone(),
            },
        },
        None => Change {
            timestamp: now + UNKNOWN_VEHICLE_DELAY,
            status: Status::Rejected,
            reason: Some(
                "The vehicle is not known to the emulator; add it to the emulator config".into(),
            ),
        },
    };
    let clearance = Clearance::pending(
        vin.to_string(),
        brand.to_string(),
        tags.clone(),
        now,
        outcome,
    );
    match clearances.get_mut(vin) {
        // A new request after a final state continues the same changelog.
        Some(previous) => {
            previous.brand = clearance.brand;
            previous.tags = clearance.tags;
            previous.inserted_at = now;
            previous.transition(Status::Pending, now, clearance.scheduled);
        }
        None => {
            clearances.insert(vin.to_string(), clearance);
        }
    }
    json!({ "vin": vin, "status": "pending", "tags": tags })
}

/// `GET /v1/fleets/vehicles?filter=...`: every clearance of the application that passes the filter.
pub async fn list(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let client_id = match state.authorize(&headers, SCOPE) {
        Ok(c) => c,
        Err(failure) => return errors::auth(Api::Fleet, failure),
    };
    let filter_text = query.as_deref().and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "filter")
            .map(|(_, v)| v.into_owned())
    });
    let filter = match filter_text.as_deref().map(Filter::parse).transpose() {
        Ok(f) => f.unwrap_or_default(),
        Err(detail) => {
            return errors::fleet(
                StatusCode::BAD_REQUEST,
                "Invalid filter",
                detail,
                Some("filter"),
            );
        }
    };
    let mut clearances = state.clearances.of_app(&client_id, state.clock.now());
    let items: Vec<Value> = clearances
        .map()
        .values()
        .filter(|c| filter.matches(c))
        .map(item_json)
        .collect();
    Json(Value::Array(items)).into_response()
}

/// `GET /v1/fleets/vehicles/{vin}`: one clearance; limited per application and minute.
pub async fn get_one(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(vin): Path<String>,
) -> Response {
    let client_id = match state.authorize(&headers, SCOPE) {
        Ok(c) => c,
        Err(failure) => return errors::auth(Api::Fleet, failure),
    };
    let now = state.clock.now();
    if let Err(wait) = state.clearance_get_limit.hit(&client_id, now) {
        return errors::too_many_requests(Api::Fleet, wait.as_secs().max(1));
    }
    let mut clearances = state.clearances.of_app(&client_id, now);
    match clearances.map().get(&vin) {
        Some(c) => Json(item_json(c)).into_response(),
        None => not_found(&vin),
    }
}

fn not_found(vin: &str) -> Response {
    errors::fleet(
        StatusCode::NOT_FOUND,
        "Not found",
        format!("No clearance for VIN {vin}"),
        Some("vin"),
    )
}

/// `DELETE /v1/fleets/vehicles/{vin}`: approved -> revoking, pending -> canceling.
pub async fn delete(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(vin): Path<String>,
) -> Response {
    let client_id = match state.authorize(&headers, SCOPE) {
        Ok(c) => c,
        Err(failure) => return errors::auth(Api::Fleet, failure),
    };
    let now = state.clock.now();
    let removal_delay = chrono::Duration::seconds(state.config.removal_delay_secs as i64);
    let mut clearances = state.clearances.of_app(&client_id, now);
    let Some(clearance) = clearances.map().get_mut(&vin) else {
        return not_found(&vin);
    };
    let (entered, then) = match clearance.status() {
        Status::Approved => (Status::Revoking, Status::Revoked),
        Status::Pending => {
            if !CANCELABLE_BRANDS.contains(&clearance.brand.as_str()) {
                return errors::fleet(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "not supported",
                    "cancellation is not supported for this vin",
                    Some("vin"),
                );
            }
            if now - clearance.inserted_at < chrono::Duration::days(1) {
                return errors::fleet(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "too early",
                    "the pending status could only be canceled after 1 day it's created",
                    Some("status"),
                );
            }
            (Status::Canceling, Status::Canceled)
        }
        Status::Revoking | Status::Canceling => {
            return errors::fleet(
                StatusCode::CONFLICT,
                "Conflict",
                "Clearance is in transition mode",
                Some("vin"),
            );
        }
        Status::Rejected | Status::Revoked | Status::Canceled => {
            return errors::fleet(
                StatusCode::CONFLICT,
                "Conflict",
                "Clearance is already removed",
                Some("vin"),
            );
        }
    };
    clearance.transition(
        entered,
        now,
        Some(Change {
            timestamp: now + removal_delay,
            status: then,
            reason: None,
        }),
    );
    let mut body = Map::new();
    body.insert("vin".into(), json!(vin));
    body.insert("status".into(), json!(entered.as_str()));
    body.insert("tags".into(), json!(clearance.tags));
    Json(Value::Object(body)).into_response()
}
