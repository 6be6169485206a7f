//! Fleet clearance: request, list (with filter), read, and delete (revoke or cancel).

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;
use std::sync::Arc;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SubsecRound, Utc};
use hm_api::fleet_clearance::types::{
    FleetVehicle, FleetVehicleControlMeasuresOdometerUnit, FleetVehicleDeleteItemResponse,
    FleetVehicleGetItemResponse, FleetVehiclePostResponse, FleetVin, FleetVinChangelog,
};
use serde::Deserialize;
use serde_json::Value;

use super::errors;
use super::extract::{Authorized, FleetClearance, JsonBody, PathVin};
use crate::brands::is_clearance_brand;
use crate::config::{ClearanceOutcome, Limits};
use crate::filter::Filter;
use crate::state::AppState;
use crate::state::clearance::{Change, Clearance, Status, is_final};
use crate::state::clock::later;

/// How long an unknown vehicle's clearance stays pending before it is rejected.
const UNKNOWN_VEHICLE_DELAY_SECS: u64 = 2;

/// A clearance as the API shows it (times to the second, as the filter compares them).
fn item(c: &Clearance) -> FleetVehicleGetItemResponse {
    FleetVehicleGetItemResponse {
        vin: c.vin.clone(),
        status: c.status(),
        brand: c.brand.parse().ok(),
        changelog: c
            .changelog
            .iter()
            .map(|change| FleetVinChangelog {
                timestamp: change.timestamp.trunc_subsecs(0),
                status: change.status.clone(),
                reason: change.reason.clone(),
            })
            .collect(),
        tags: c.tags.clone(),
    }
}

fn invalid_input(detail: String, source: &str) -> Response {
    errors::fleet(
        StatusCode::UNPROCESSABLE_ENTITY,
        "Invalid input",
        detail,
        Some(source),
    )
}

/// `POST /v1/fleets/vehicles`: requests clearances; each VIN gets `pending` or `error`.
pub async fn create(
    State(state): State<Arc<AppState>>,
    auth: Authorized<FleetClearance>,
    JsonBody(body, ..): JsonBody<FleetClearance>,
) -> Response {
    let Some(vehicles) = body.get("vehicles").and_then(Value::as_array) else {
        return invalid_input(
            "the body must be a JSON object with an array \"vehicles\"".into(),
            "vehicles",
        );
    };
    let limits = &state.config.limits;
    if vehicles.len() as u64 > limits.max_vehicles_per_request {
        return invalid_input(
            format!(
                "{} vehicles in one request; at most {} are accepted (limits.max_vehicles_per_request)",
                vehicles.len(),
                limits.max_vehicles_per_request
            ),
            "vehicles",
        );
    }
    let now = state.clock.now();
    let mut clearances = state.clearances.of_app(&auth.client_id, now);
    let map = clearances.map();
    let new_vins: BTreeSet<&str> = vehicles
        .iter()
        .filter_map(|v| v.get("vin").and_then(Value::as_str))
        .filter(|&vin| crate::vin::is_valid(vin) && !map.contains_key(vin))
        .collect();
    if (map.len() + new_vins.len()) as u64 > limits.max_clearances_per_application {
        return invalid_input(
            format!(
                "the application holds {} clearances and this request adds {}; at most {} are kept \
                 per application (limits.max_clearances_per_application)",
                map.len(),
                new_vins.len(),
                limits.max_clearances_per_application
            ),
            "vehicles",
        );
    }
    let vehicles = vehicles
        .iter()
        .map(|v| request_one(&state, map, v, now))
        .collect();
    Json(FleetVehiclePostResponse { vehicles }).into_response()
}

/// Requests one vehicle's clearance; the answer is its status or `error` with a description.
fn request_one(
    state: &AppState,
    clearances: &mut BTreeMap<String, Clearance>,
    v: &Value,
    now: DateTime<Utc>,
) -> FleetVin {
    let error = |vin: &str, description: String| FleetVin {
        vin: vin.to_owned(),
        status: Status::Error,
        description: Some(description),
        tags: BTreeMap::new(),
    };
    let vehicle = match FleetVehicle::deserialize(v) {
        Ok(vehicle) => vehicle,
        Err(e) => {
            let vin = v.get("vin").and_then(Value::as_str).unwrap_or_default();
            return error(
                vin,
                format!("each vehicle must be an object {{vin, brand, tags?}} of strings: {e}"),
            );
        }
    };
    if let Some(description) = unlisted_unit(&vehicle) {
        return error(&vehicle.vin, description);
    }
    let FleetVehicle {
        vin, brand, tags, ..
    } = vehicle;
    if !crate::vin::is_valid(&vin) {
        return error(&vin, format!("vin should be {}", crate::vin::RULE));
    }
    let brand = brand.as_str();
    let configured = state.config.vehicle(&vin);
    if !is_clearance_brand(brand) {
        return error(&vin, "The brand is invalid".into());
    }
    if configured.is_some_and(|c| c.brand != brand) {
        return error(&vin, "The brand does not match the vehicle".into());
    }
    if let Err(description) = check_tags(&tags, &state.config.limits) {
        return error(&vin, description);
    }
    if let Some(existing) = clearances.get(&vin).filter(|c| !is_final(&c.status())) {
        // Asking again for an active clearance changes nothing; the current state is reported.
        return FleetVin {
            status: existing.status(),
            tags: existing.tags.clone(),
            description: None,
            vin,
        };
    }
    let outcome = match configured {
        Some(c) => Change {
            timestamp: later(now, c.clearance_delay_secs),
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
            timestamp: later(now, UNKNOWN_VEHICLE_DELAY_SECS),
            status: Status::Rejected,
            reason: Some(
                "The vehicle is not known to the emulator; add it to the emulator config".into(),
            ),
        },
    };
    let clearance = Clearance::pending(vin.clone(), brand.to_string(), tags.clone(), now, outcome);
    match clearances.get_mut(&vin) {
        // A new request after a final state continues the same changelog.
        Some(previous) => {
            previous.brand = clearance.brand;
            previous.tags = clearance.tags;
            previous.inserted_at = now;
            previous.transition(Status::Pending, now, clearance.scheduled);
        }
        None => {
            clearances.insert(vin.clone(), clearance);
        }
    }
    FleetVin {
        vin,
        status: Status::Pending,
        description: None,
        tags,
    }
}

/// An odometer unit the spec does not list. hm-api's enums are open (a response may carry a
/// value the spec adds later), but a request is checked against the spec; the request's other
/// enum, the brand, is checked by [`is_clearance_brand`].
fn unlisted_unit(vehicle: &FleetVehicle) -> Option<String> {
    let unit = vehicle
        .control_measures
        .as_ref()
        .and_then(|c| c.odometer.as_ref())
        .map(|o| &o.unit)?;
    (!unit.is_known()).then(|| {
        format!(
            "control_measures.odometer.unit {:?} is not one of: {}",
            unit.as_str(),
            FleetVehicleControlMeasuresOdometerUnit::KNOWN
                .iter()
                .map(FleetVehicleControlMeasuresOdometerUnit::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        )
    })
}

fn check_tags(tags: &BTreeMap<String, String>, limits: &Limits) -> Result<(), String> {
    let too_long = |s: &String| s.chars().count() as u64 > limits.max_tag_length;
    if tags.len() as u64 > limits.max_tags_per_vehicle
        || tags.iter().any(|(k, v)| too_long(k) || too_long(v))
    {
        return Err(format!(
            "tags: at most {} tags, names and values of at most {} characters \
             (limits.max_tags_per_vehicle, limits.max_tag_length)",
            limits.max_tags_per_vehicle, limits.max_tag_length
        ));
    }
    Ok(())
}

/// `GET /v1/fleets/vehicles?filter=...`: every clearance of the application that passes the filter.
pub async fn list(
    State(state): State<Arc<AppState>>,
    auth: Authorized<FleetClearance>,
    RawQuery(query): RawQuery,
) -> Response {
    let filter = match parse_query(query.as_deref()) {
        Ok(filter) => filter,
        Err(detail) => {
            return errors::fleet(
                StatusCode::BAD_REQUEST,
                "Invalid filter",
                detail,
                Some("filter"),
            );
        }
    };
    let pages = ListPages {
        now: state.clock.now(),
        state,
        client_id: auth.client_id,
        filter,
        after: None,
        finished: false,
    };
    let chunks = futures::stream::unfold(pages, |mut pages| async move {
        let chunk = pages.next_chunk()?;
        Some((Ok::<_, std::convert::Infallible>(chunk), pages))
    });
    (
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(chunks),
    )
        .into_response()
}

/// About how many bytes of the list are made at a time (a chunk ends after the item that
/// reaches it). The list is produced as the client reads it, so a client that does not read
/// holds one chunk plus hyper's bounded write buffer, however long the list is.
const LIST_CHUNK_BYTES: usize = 64 * 1024;

/// The clearance list, serialised chunk by chunk in VIN order.
///
/// Each chunk locks the store briefly and continues after the last VIN sent, so every VIN
/// appears at most once; a clearance changed while the list is being read shows its new state
/// if it comes later in VIN order, as with any paged listing.
struct ListPages {
    state: Arc<AppState>,
    client_id: Arc<str>,
    filter: Filter,
    now: DateTime<Utc>,
    /// The last VIN written; `None` before the first chunk.
    after: Option<String>,
    finished: bool,
}

impl ListPages {
    /// The next chunk of the JSON array, `None` once it is complete.
    fn next_chunk(&mut self) -> Option<Bytes> {
        if self.finished {
            return None;
        }
        let mut out = Vec::with_capacity(LIST_CHUNK_BYTES + 4096);
        let range = match &self.after {
            None => {
                out.push(b'[');
                (Bound::Unbounded, Bound::Unbounded)
            }
            Some(vin) => (Bound::Excluded(vin.clone()), Bound::Unbounded),
        };
        let mut clearances = self.state.clearances.of_app_unsettled(&self.client_id);
        for (vin, clearance) in clearances.map().range_mut(range) {
            clearance.settle(self.now);
            if !self.filter.matches(clearance) {
                continue;
            }
            if self.after.is_some() || out.len() > 1 {
                out.push(b',');
            }
            // Serialising plain strings and maps into a Vec cannot fail.
            let _ = serde_json::to_writer(&mut out, &item(clearance));
            self.after = Some(vin.clone());
            if out.len() >= LIST_CHUNK_BYTES {
                return Some(Bytes::from(out));
            }
        }
        out.push(b']');
        self.finished = true;
        Some(Bytes::from(out))
    }
}

/// The query of the list: nothing, or exactly one `filter` parameter.
fn parse_query(query: Option<&str>) -> Result<Filter, String> {
    let pairs = crate::form::parse(query.unwrap_or_default().as_bytes())?;
    if let Some((name, _)) = pairs.iter().find(|(name, _)| name != "filter") {
        return Err(format!(
            "unknown query parameter {name:?}; the list takes only filter"
        ));
    }
    match pairs.first() {
        Some((_, text)) => Filter::parse(text),
        None => Ok(Filter::default()),
    }
}

/// `GET /v1/fleets/vehicles/{vin}`: one clearance; limited per application and minute.
pub async fn get_one(
    State(state): State<Arc<AppState>>,
    auth: Authorized<FleetClearance>,
    PathVin(vin, ..): PathVin<FleetClearance>,
) -> Response {
    let now = state.clock.now();
    if let Err(wait) = state.clearance_get_limit.hit(&auth.client_id, now) {
        return errors::too_many_requests(errors::Api::Fleet, wait.as_secs().max(1));
    }
    let mut clearances = state.clearances.of_app(&auth.client_id, now);
    match clearances.map().get(&vin) {
        Some(c) => Json(item(c)).into_response(),
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
    auth: Authorized<FleetClearance>,
    PathVin(vin, ..): PathVin<FleetClearance>,
) -> Response {
    let now = state.clock.now();
    let mut clearances = state.clearances.of_app(&auth.client_id, now);
    let Some(clearance) = clearances.map().get_mut(&vin) else {
        return not_found(&vin);
    };
    let (entered, then) = match clearance.status() {
        Status::Approved => (Status::Revoking, Status::Revoked),
        Status::Pending => {
            if !state.config.vehicle(&vin).is_some_and(|v| v.cancelable) {
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
        // Rejected, revoked, canceled (`error` and unknown statuses are never stored).
        _ => {
            return errors::fleet(
                StatusCode::CONFLICT,
                "Conflict",
                "Clearance is already removed",
                Some("vin"),
            );
        }
    };
    clearance.transition(
        entered.clone(),
        now,
        Some(Change {
            timestamp: later(now, state.config.removal_delay_secs),
            status: then,
            reason: None,
        }),
    );
    Json(FleetVehicleDeleteItemResponse {
        status: entered,
        tags: clearance.tags.clone(),
        vin,
    })
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::EmulatorConfig;

    /// An application holding `count` clearances with the most and longest tags the default
    /// limits allow, so that one item is as large as it gets.
    fn state_with(count: usize) -> (Arc<AppState>, DateTime<Utc>) {
        let state = Arc::new(AppState::new(EmulatorConfig::demo()).unwrap());
        let limits = Limits::default();
        let long = "\u{1D11E}".repeat(limits.max_tag_length as usize - 2);
        let tags: BTreeMap<String, String> = (0..limits.max_tags_per_vehicle)
            .map(|t| (format!("{t:02x}{long}"), format!("{t:02x}{long}")))
            .collect();
        let now = state.clock.now();
        let mut clearances = state.clearances.of_app_unsettled("app");
        for i in 0..count {
            let then = Change {
                timestamp: now,
                status: Status::Approved,
                reason: None,
            };
            let vin = format!("ATK{i:014}");
            let clearance = Clearance::pending(vin.clone(), "bmw".into(), tags.clone(), now, then);
            clearances.map().insert(vin, clearance);
        }
        drop(clearances);
        (state, now)
    }

    fn pages(state: &Arc<AppState>, now: DateTime<Utc>) -> ListPages {
        ListPages {
            state: state.clone(),
            client_id: "app".into(),
            filter: Filter::default(),
            now,
            after: None,
            finished: false,
        }
    }

    #[test]
    fn the_list_is_made_in_bounded_chunks_as_it_is_read() {
        let (state, now) = state_with(2_000);
        let mut list = pages(&state, now);
        let first = list.next_chunk().unwrap();

        // Made lazily: a change after the first chunk shows in a later one.
        let last = "ATK00000000001999";
        let mut clearances = state.clearances.of_app_unsettled("app");
        clearances.map().get_mut(last).unwrap().tags.clear();
        drop(clearances);

        let mut chunks = vec![first];
        while let Some(chunk) = list.next_chunk() {
            chunks.push(chunk);
        }
        // The bound: a chunk stops at the item that reaches LIST_CHUNK_BYTES, and one item with
        // the largest tags and a full changelog is far below 16 KiB.
        let largest = chunks.iter().map(Bytes::len).max().unwrap();
        assert!(chunks.len() > 10, "{} chunks", chunks.len());
        assert!(
            largest <= LIST_CHUNK_BYTES + 16 * 1024,
            "a chunk of {largest} bytes"
        );

        let whole: Vec<u8> = chunks.concat();
        let items: Vec<Value> = serde_json::from_slice(&whole).unwrap();
        assert_eq!(items.len(), 2_000);
        assert_eq!(items[1_999]["vin"], last);
        // Cleared tags are left out (the generated type skips an empty map) or empty.
        assert!(
            items[1_999]
                .get("tags")
                .is_none_or(|tags| tags == &serde_json::json!({})),
            "{}",
            items[1_999]
        );
        assert_eq!(items[0]["status"], "approved");
    }

    #[test]
    fn an_empty_or_filtered_out_list_is_an_empty_array() {
        let (state, now) = state_with(0);
        let mut list = pages(&state, now);
        assert_eq!(list.next_chunk().unwrap(), Bytes::from_static(b"[]"));
        assert_eq!(list.next_chunk(), None);

        let (state, now) = state_with(3);
        let mut list = pages(&state, now);
        list.filter = Filter::parse(r#"{"status":{"operator":"eq","value":"revoked"}}"#).unwrap();
        assert_eq!(list.next_chunk().unwrap(), Bytes::from_static(b"[]"));
    }
}
