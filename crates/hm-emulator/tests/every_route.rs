//! What holds for every route: errors in the API's own JSON shape (oversize bodies, bad path
//! bytes, wrong methods, unknown routes, wrong content types, malformed bearer headers), the VIN
//! rule, and the caps that keep memory bounded.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use hm_emulator::{DEMO_VIN_APPROVED, EmulatorConfig, Limits};
use reqwest::Method;
use serde_json::{Value, json};

/// Every route with a `{vin}`, as a path template.
const VIN_ROUTES: [(&str, &str); 5] = [
    ("GET", "/v1/fleets/vehicles/{vin}"),
    ("DELETE", "/v1/fleets/vehicles/{vin}"),
    ("GET", "/v1/vehicle-data/autoapi-13/{vin}"),
    ("GET", "/v1/vehicle-static-data/{vin}"),
    ("GET", "/v1/vehicle-static-data/{vin}/data"),
];

fn method(name: &str) -> Method {
    Method::from_bytes(name.as_bytes()).unwrap()
}

#[tokio::test]
async fn oversize_bodies_get_413_in_each_api_shape() {
    let api = Checked::start(frozen_demo()).await;
    let token = api.demo_token().await;
    let limit = Limits::default().max_body_bytes as usize;
    let padding = "x".repeat(limit);
    for path in [
        "/v1/access_tokens",
        "/v1/eligibility",
        "/v1/fleets/vehicles",
    ] {
        let body =
            json!({"vehicles": [], "vin": DEMO_VIN_APPROVED, "brand": "sandbox", "pad": padding});
        let mut request = api.http.post(api.url(path)).json(&body);
        if path != "/v1/access_tokens" {
            request = request.bearer_auth(&token);
        }
        let (status, content_type, body) = raw(request).await;
        assert_eq!(status, 413, "{path}");
        assert_api_error(path, status, content_type.as_deref(), &body);
    }
    // Just under the limit is read (and then judged on its content).
    let body = format!(r#"{{"vehicles": [], "pad": "{}"}}"#, "x".repeat(limit - 40));
    let (status, _, _) = raw(api
        .http
        .post(api.url("/v1/fleets/vehicles"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(body))
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn path_vins_that_are_not_utf8_or_not_vins_get_400_in_each_api_shape() {
    let api = Checked::start(frozen_demo()).await;
    let token = api.demo_token().await;
    for (verb, template) in VIN_ROUTES {
        for vin in [
            "%FF%FE",
            "1HMDEM0CAR000000%C3",
            "1hmdem0car0000001",
            "1HMDEM0CAR000000",
            "1HMDEM0CAR00000011",
            "1HMDEM0CAR000000%20",
            "1HMDEM0CAR00000%2F1",
        ] {
            let path = template.replace("{vin}", vin);
            let (status, content_type, body) = raw(api
                .http
                .request(method(verb), api.url(&path))
                .bearer_auth(&token))
            .await;
            assert_eq!(status, 400, "{verb} {path}: {body}");
            assert_api_error(&path, status, content_type.as_deref(), &body);
            assert!(
                body.to_string().contains("17 characters of A-Z and 0-9"),
                "{verb} {path}: {body}"
            );
        }
    }
}

#[tokio::test]
async fn vins_with_i_o_and_q_are_vins() {
    // The published examples use such VINs; the ISO 3779 rule is not applied.
    let api = Checked::start(frozen_demo()).await;
    let token = api.demo_token().await;
    let vins = [
        "EXVETESTVIN000001",
        "VIN00000000000001",
        "QQQQQQQQQQQQQQQQQ",
    ];
    for vin in vins {
        let reply = get_clearance(&api, &token, vin).await;
        assert_eq!(reply.status, 404, "{vin}: a valid VIN without clearance");
    }
    let vehicles: Vec<Value> = vins
        .iter()
        .map(|vin| json!({"vin": vin, "brand": "sandbox"}))
        .collect();
    let reply = api
        .clearance(
            Method::POST,
            "/v1/fleets/vehicles",
            "/v1/fleets/vehicles",
            &token,
            Some(&json!({ "vehicles": vehicles })),
        )
        .await;
    for item in reply.body["vehicles"].as_array().unwrap() {
        assert_eq!(item["status"], "pending", "{item}");
    }
}

async fn get_clearance(api: &Checked, token: &str, vin: &str) -> Reply {
    api.clearance(
        Method::GET,
        &format!("/v1/fleets/vehicles/{vin}"),
        "/v1/fleets/vehicles/{vin}",
        token,
        None,
    )
    .await
}

#[tokio::test]
async fn wrong_methods_get_405_with_allow_in_each_api_shape() {
    let api = Checked::start(frozen_demo()).await;
    let token = api.demo_token().await;
    let vin = DEMO_VIN_APPROVED;
    let cases = [
        ("GET", "/v1/access_tokens".to_string(), "POST"),
        ("PUT", "/v1/access_tokens".to_string(), "DELETE"),
        ("GET", "/v1/eligibility".to_string(), "POST"),
        ("PATCH", "/v1/fleets/vehicles".to_string(), "GET"),
        ("POST", format!("/v1/fleets/vehicles/{vin}"), "DELETE"),
        (
            "DELETE",
            format!("/v1/vehicle-data/autoapi-13/{vin}"),
            "GET",
        ),
        ("POST", format!("/v1/vehicle-static-data/{vin}/data"), "GET"),
        ("OPTIONS", format!("/v1/vehicle-static-data/{vin}"), "GET"),
    ];
    for (verb, path, allowed) in cases {
        let response = api
            .http
            .request(method(verb), api.url(&path))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        let allow = response.headers()["allow"].to_str().unwrap().to_string();
        assert!(allow.contains(allowed), "{verb} {path}: Allow {allow}");
        let status = response.status().as_u16();
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_string();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 405, "{verb} {path}");
        assert_api_error(&path, status, Some(&content_type), &body);
    }
}

#[tokio::test]
async fn unknown_routes_get_404_in_the_shape_of_their_api() {
    let api = Checked::start(frozen_demo()).await;
    for path in [
        "/",
        "/v1",
        "/v2/eligibility",
        "/v1/nothing",
        "/v1/access_tokens/extra",
        "/v1/vehicle-data/autoapi-12/1HMDEM0CAR0000001",
        "/v1/vehicle-static-data/1HMDEM0CAR0000001/valuation/x",
        "/v1/fleets/vehicles/1HMDEM0CAR0000001/extra",
        "/%FF",
    ] {
        let (status, content_type, body) = raw(api.http.get(api.url(path))).await;
        assert_eq!(status, 404, "{path}");
        assert_api_error(path, status, content_type.as_deref(), &body);
    }
}

#[tokio::test]
async fn json_endpoints_take_only_application_json() {
    let api = Checked::start(frozen_demo()).await;
    let token = api.demo_token().await;
    let body = json!({"vin": DEMO_VIN_APPROVED, "brand": "sandbox", "vehicles": []}).to_string();
    for path in ["/v1/eligibility", "/v1/fleets/vehicles"] {
        for content_type in [
            None,
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
            Some("application/json; charset=latin1"),
            Some("application/merge-patch+json"),
        ] {
            let mut request = api
                .http
                .post(api.url(path))
                .bearer_auth(&token)
                .body(body.clone());
            if let Some(content_type) = content_type {
                request = request.header("content-type", content_type);
            }
            let (status, got, reply) = raw(request).await;
            assert_eq!(status, 415, "{path} {content_type:?}");
            assert_api_error(path, status, got.as_deref(), &reply);
        }
        let request = api
            .http
            .post(api.url(path))
            .bearer_auth(&token)
            .header("content-type", "application/json; charset=UTF-8")
            .body(body.clone());
        assert_eq!(raw(request).await.0, 200, "{path}");
    }
    // Duplicate keys are refused here too.
    let request = api
        .http
        .post(api.url("/v1/eligibility"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(format!(
            r#"{{"vin": "{DEMO_VIN_APPROVED}", "brand": "bmw", "brand": "sandbox"}}"#
        ));
    let (status, content_type, reply) = raw(request).await;
    assert_eq!(status, 422);
    assert_api_error("/v1/eligibility", status, content_type.as_deref(), &reply);
}

#[tokio::test]
async fn malformed_bearer_headers_get_401_in_each_api_shape() {
    let api = Checked::start(frozen_demo()).await;
    let token = api.demo_token().await;
    let path = format!("/v1/vehicle-data/autoapi-13/{DEMO_VIN_APPROVED}");
    for headers in [
        vec![],
        vec![format!("Basic {token}")],
        vec!["Bearer".to_string()],
        vec!["Bearer ".to_string()],
        vec![format!("Bearer {token} extra")],
        vec![format!("Bearer {token}"), format!("Bearer {token}")],
        vec![format!("Bearer \"{token}\"")],
        vec![format!("Token {token}")],
    ] {
        for target in [path.as_str(), "/v1/fleets/vehicles"] {
            let mut request = api.http.get(api.url(target));
            for value in &headers {
                request = request.header("authorization", value);
            }
            let (status, content_type, body) = raw(request).await;
            assert_eq!(status, 401, "{headers:?} on {target}: {body}");
            assert_api_error(target, status, content_type.as_deref(), &body);
        }
    }
    let (status, ..) = raw(api
        .http
        .get(api.url("/v1/fleets/vehicles"))
        .header("authorization", format!("bearer {token}")))
    .await;
    assert_eq!(status, 200, "the scheme is case-insensitive (RFC 7235)");
}

fn small_limits() -> EmulatorConfig {
    EmulatorConfig {
        limits: Limits {
            max_vehicles_per_request: 3,
            max_clearances_per_application: 5,
            max_tags_per_vehicle: 2,
            max_tag_length: 8,
            max_tokens_per_application: 2,
            ..Limits::default()
        },
        ..frozen_demo()
    }
}

fn vins(range: std::ops::Range<u32>) -> Vec<Value> {
    range
        .map(|i| json!({"vin": format!("WVWZZZ1JZXW{i:06}"), "brand": "volkswagen"}))
        .collect()
}

async fn create(api: &Checked, token: &str, vehicles: Vec<Value>) -> Reply {
    api.clearance(
        Method::POST,
        "/v1/fleets/vehicles",
        "/v1/fleets/vehicles",
        token,
        Some(&json!({ "vehicles": vehicles })),
    )
    .await
}

#[tokio::test]
async fn clearance_caps_per_request_and_per_application() {
    let api = Checked::start(small_limits()).await;
    let token = api.demo_token().await;
    let too_many = create(&api, &token, vins(0..4)).await;
    assert_eq!(too_many.status, 422);
    assert!(
        too_many
            .body
            .to_string()
            .contains("limits.max_vehicles_per_request"),
        "{:?}",
        too_many.body
    );
    assert_eq!(create(&api, &token, vins(0..3)).await.status, 200);
    assert_eq!(create(&api, &token, vins(3..5)).await.status, 200);
    // Asking again for held VINs adds nothing and stays allowed; a sixth VIN does not.
    assert_eq!(create(&api, &token, vins(0..3)).await.status, 200);
    let full = create(&api, &token, vins(5..6)).await;
    assert_eq!(full.status, 422);
    assert!(
        full.body
            .to_string()
            .contains("limits.max_clearances_per_application")
    );
    let list = api
        .clearance(
            Method::GET,
            "/v1/fleets/vehicles",
            "/v1/fleets/vehicles",
            &token,
            None,
        )
        .await;
    assert_eq!(list.body.as_array().unwrap().len(), 5);
}

#[tokio::test]
async fn tags_are_capped_per_vehicle() {
    let api = Checked::start(small_limits()).await;
    let token = api.demo_token().await;
    let vin = |i: u32| format!("WVWZZZ1JZXW{i:06}");
    let reply = create(
        &api,
        &token,
        vec![
            json!({"vin": vin(0), "brand": "volkswagen", "tags": {"a": "1", "b": "2"}}),
            json!({"vin": vin(1), "brand": "volkswagen", "tags": {"a": "1", "b": "2", "c": "3"}}),
            json!({"vin": vin(2), "brand": "volkswagen", "tags": {"123456789": "1"}}),
        ],
    )
    .await;
    let items = reply.body["vehicles"].as_array().unwrap();
    assert_eq!(items[0]["status"], "pending");
    for item in &items[1..] {
        assert_eq!(item["status"], "error", "{item}");
        assert!(
            item["description"]
                .as_str()
                .unwrap()
                .contains("limits.max_tags_per_vehicle")
        );
    }
}

#[tokio::test]
async fn tokens_beyond_the_cap_forget_the_oldest() {
    let api = Checked::start(small_limits()).await;
    let first = api.demo_token().await;
    let second = api.demo_token().await;
    let third = api.demo_token().await;
    let status = |token: String| {
        let api = &api;
        async move {
            raw(api
                .http
                .get(api.url("/v1/fleets/vehicles"))
                .bearer_auth(token))
            .await
            .0
        }
    };
    assert_eq!(status(first).await, 401);
    assert_eq!(status(second).await, 200);
    assert_eq!(status(third).await, 200);
}
