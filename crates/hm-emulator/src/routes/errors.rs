//! Error bodies in each emulated API's own shape.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hm_api::fleet_clearance::types::{Error as FleetError, FleetErrors};
use hm_api::oauth::types::AccessTokensError;
use hm_api::vehicle_data::types::{VehicleDataErrors, VehicleDataErrorsErrorsItem};

use super::extract::AuthFailure;
use crate::faults::Route;

/// The error body families of High Mobility's APIs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// `{error, error_description}`.
    OAuth,
    /// `{errors: [{title, detail?, source?}]}` (fleet clearance, eligibility).
    Fleet,
    /// `{errors: [{title, detail}], request_id}` (vehicle data, static data).
    Data,
}

impl Api {
    /// The error family of a request path, for answers given before or without routing
    /// (unknown routes, wrong methods, oversize bodies, panics).
    pub fn for_path(path: &str) -> Api {
        let under = |prefix: &str| {
            path.strip_prefix(prefix)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        };
        if under("/v1/access_tokens") {
            Api::OAuth
        } else if under("/v1/vehicle-data") || under("/v1/vehicle-static-data") {
            Api::Data
        } else {
            Api::Fleet
        }
    }
}

impl Route {
    /// The error body family of this route.
    pub(crate) fn api(self) -> Api {
        match self {
            Route::AccessTokens => Api::OAuth,
            Route::Eligibility
            | Route::ClearanceCreate
            | Route::ClearanceList
            | Route::ClearanceGet
            | Route::ClearanceDelete => Api::Fleet,
            Route::VehicleData | Route::StaticData => Api::Data,
        }
    }
}

/// `{error, error_description}` with `status`.
pub fn oauth(status: StatusCode, error: &str, description: impl Into<String>) -> Response {
    let body = AccessTokensError {
        error: error.to_owned(),
        error_description: Some(description.into()),
    };
    (status, Json(body)).into_response()
}

/// `{errors: [{title, detail, source?}]}` with `status` (eligibility has the same shape).
pub fn fleet(
    status: StatusCode,
    title: &str,
    detail: impl Into<String>,
    source: Option<&str>,
) -> Response {
    with_source(Api::Fleet, status, title, detail, source)
}

/// `{errors: [{title, detail}], request_id}` with `status` (static data has the same shape).
pub fn data(status: StatusCode, title: &str, detail: impl Into<String>) -> Response {
    with_source(Api::Data, status, title, detail, None)
}

/// A generic error of `status` in `api`'s shape.
pub fn for_api(api: Api, status: StatusCode, title: &str, detail: impl Into<String>) -> Response {
    with_source(api, status, title, detail, None)
}

/// A generic error of `status` in `api`'s shape, naming the offending input where the shape has
/// room for it (`source` of the fleet shape).
pub fn with_source(
    api: Api,
    status: StatusCode,
    title: &str,
    detail: impl Into<String>,
    source: Option<&str>,
) -> Response {
    (status, axum::Json(body(api, status, title, detail, source))).into_response()
}

/// The error body of `status` in `api`'s shape (also used for answers made below the router).
pub fn body(
    api: Api,
    status: StatusCode,
    title: &str,
    detail: impl Into<String>,
    source: Option<&str>,
) -> serde_json::Value {
    let body = match api {
        Api::OAuth => {
            let code = match status {
                StatusCode::SERVICE_UNAVAILABLE | StatusCode::TOO_MANY_REQUESTS => {
                    "temporarily_unavailable"
                }
                s if s.is_client_error() => "invalid_request",
                _ => "server_error",
            };
            serde_json::to_value(AccessTokensError {
                error: code.to_owned(),
                error_description: Some(detail.into()),
            })
        }
        Api::Fleet => serde_json::to_value(FleetErrors {
            errors: vec![FleetError {
                title: title.to_owned(),
                detail: Some(detail.into()),
                source: source.map(str::to_owned),
            }],
        }),
        Api::Data => serde_json::to_value(VehicleDataErrors {
            errors: vec![VehicleDataErrorsErrorsItem {
                title: Some(title.to_owned()),
                detail: Some(detail.into()),
            }],
            request_id: Some(uuid::Uuid::new_v4().to_string()),
        }),
    };
    // Plain structs of strings always serialise.
    body.unwrap_or_default()
}

/// 413 in `api`'s shape for a body over `limit` bytes.
pub fn too_large(api: Api, limit: u64) -> Response {
    for_api(
        api,
        StatusCode::PAYLOAD_TOO_LARGE,
        "Payload too large",
        format!(
            "the request body is larger than {limit} bytes, the emulator's limits.max_body_bytes"
        ),
    )
}

/// 429 in `api`'s shape with a `Retry-After` header.
pub fn too_many_requests(api: Api, retry_after_secs: u64) -> Response {
    let mut response = for_api(
        api,
        StatusCode::TOO_MANY_REQUESTS,
        "Too many requests",
        format!("retry after {retry_after_secs}s"),
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
    response
}

/// The 401 or 403 answer to a refused bearer token.
pub fn auth(api: Api, failure: AuthFailure) -> Response {
    match failure {
        AuthFailure::Unauthorized(detail) => match api {
            Api::Data => data(StatusCode::UNAUTHORIZED, "Not Authorized", detail),
            _ => fleet(
                StatusCode::UNAUTHORIZED,
                "Not authorized",
                detail,
                Some("Authorization"),
            ),
        },
        AuthFailure::Forbidden(detail) => match api {
            Api::Data => data(StatusCode::FORBIDDEN, "Forbidden", detail),
            _ => fleet(
                StatusCode::FORBIDDEN,
                "Forbidden",
                detail,
                Some("Authorization"),
            ),
        },
    }
}
