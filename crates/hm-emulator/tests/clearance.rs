//! Fleet clearance: lifecycle, cancel/revoke, 404/409/422, rate limit, tags and list filters.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use hm_emulator::{DEMO_VIN_APPROVED, DEMO_VIN_MERCEDES, DEMO_VIN_REJECTED, DEMO_VIN_SLOW};
use reqwest::Method;
use serde_json::{Value, json};

const ONE: &str = "/v1/fleets/vehicles/{vin}";
const ALL: &str = "/v1/fleets/vehicles";

async fn get_one(api: &Checked, token: &str, vin: &str) -> Reply {
    api.clearance(
        Method::GET,
        &format!("/v1/fleets/vehicles/{vin}"),
        ONE,
        token,
        None,
    )
    .await
}

async fn delete(api: &Checked, token: &str, vin: &str) -> Reply {
    api.clearance(
        Method::DELETE,
        &format!("/v1/fleets/vehicles/{vin}"),
        ONE,
        token,
        None,
    )
    .await
}

fn statuses(item: &Value) -> Vec<&str> {
    item["changelog"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["status"].as_str().unwrap())
        .collect()
}

async fn list(api: &Checked, token: &str, filter: &Value) -> Reply {
    let encoded: String =
        url::form_urlencoded::byte_serialize(filter.to_string().as_bytes()).collect();
    api.clearance(
        Method::GET,
        &format!("/v1/fleets/vehicles?filter={encoded}"),
        ALL,
        token,
        None,
    )
    .await
}

fn vins(reply: &Reply) -> Vec<&str> {
    reply
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["vin"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn pending_becomes_approved_then_revoking_then_revoked() {
    let api = Checked::start(frozen_demo()).await;
    let token = api.demo_token().await;
    api.request_clearance(&token, &[(DEMO_VIN_APPROVED, "sandbox")])
        .await;
    let pending = get_one(&api, &token, DEMO_VIN_APPROVED).await;
    assert_eq!(pending.status, 200);
    assert_eq!(pending.body["status"], "pending");
    assert_eq!(pending.body["brand"], "sandbox");

    api.advance(1);
    assert_eq!(
        get_one(&api, &token, DEMO_VIN_APPROVED).await.body["status"],
        "pending"
    );
    api.advance(1);
    let approved = get_one(&api, &token, DEMO_VIN_APPROVED).await;
    assert_eq!(approved.body["status"], "approved");
    assert_eq!(statuses(&approved.body), ["pending", "approved"]);

    // Requesting again changes nothing.
    let again = api
        .clearance(
            Method::POST,
            ALL,
            ALL,
            &token,
            Some(&json!({"vehicles": [{"vin": DEMO_VIN_APPROVED, "brand": "sandbox"}]})),
        )
        .await;
    assert_eq!(again.body["vehicles"][0]["status"], "approved");

    let revoking = delete(&api, &token, DEMO_VIN_APPROVED).await;
    assert_eq!(revoking.status, 200);
    assert_eq!(revoking.body["status"], "revoking");
    let conflict = delete(&api, &token, DEMO_VIN_APPROVED).await;
    assert_eq!(conflict.status, 409);
    assert_eq!(
        conflict.body["errors"][0]["detail"],
        "Clearance is in transition mode"
    );

    api.advance(2);
    let revoked = get_one(&api, &token, DEMO_VIN_APPROVED).await;
    assert_eq!(revoked.body["status"], "revoked");
    assert_eq!(
        statuses(&revoked.body),
        ["pending", "approved", "revoking", "revoked"]
    );
    let removed = delete(&api, &token, DEMO_VIN_APPROVED).await;
    assert_eq!(removed.status, 409);
    assert_eq!(
        removed.body["errors"][0]["detail"],
        "Clearance is already removed"
    );

    // A removed clearance can be requested anew; the changelog goes on.
    api.request_clearance(&token, &[(DEMO_VIN_APPROVED, "sandbox")])
        .await;
    api.advance(2);
    let renewed = get_one(&api, &token, DEMO_VIN_APPROVED).await;
    assert_eq!(
        statuses(&renewed.body),
        [
            "pending", "approved", "revoking", "revoked", "pending", "approved"
        ]
    );
}

#[tokio::test]
async fn rejection_carries_its_reason() {
    let api = Checked::start(frozen_demo()).await;
    let token = api.demo_token().await;
    api.request_clearance(&token, &[(DEMO_VIN_REJECTED, "bmw")])
        .await;
    api.advance(5);
    let rejected = get_one(&api, &token, DEMO_VIN_REJECTED).await;
    assert_eq!(rejected.body["status"], "rejected");
    let last = rejected.body["changelog"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["status"], "rejected");
    assert!(last["reason"].as_str().unwrap().contains("consent"));
    assert_eq!(delete(&api, &token, DEMO_VIN_REJECTED).await.status, 409);
}

#[tokio::test]
async fn cancel_needs_a_supporting_brand_and_one_day() {
    let api = Checked::start(frozen_demo()).await;
    let token = api.demo_token().await;
    api.request_clearance(
        &token,
        &[(DEMO_VIN_SLOW, "sandbox"), (DEMO_VIN_REJECTED, "bmw")],
    )
    .await;

    let unsupported = delete(&api, &token, DEMO_VIN_REJECTED).await;
    assert_eq!(unsupported.status, 422);
    assert_eq!(unsupported.body["errors"][0]["title"], "not supported");

    let too_early = delete(&api, &token, DEMO_VIN_SLOW).await;
    assert_eq!(too_early.status, 422);
    assert_eq!(too_early.body["errors"][0]["title"], "too early");

    api.advance(25 * 3600);
    let token = api.demo_token().await; // the old one expired meanwhile
    let canceling = delete(&api, &token, DEMO_VIN_SLOW).await;
    assert_eq!(canceling.status, 200);
    assert_eq!(canceling.body["status"], "canceling");
    assert_eq!(delete(&api, &token, DEMO_VIN_SLOW).await.status, 409);
    api.advance(2);
    let canceled = get_one(&api, &token, DEMO_VIN_SLOW).await;
    assert_eq!(canceled.body["status"], "canceled");
    assert_eq!(
        statuses(&canceled.body),
        ["pending", "canceling", "canceled"]
    );
    // The scheduled approval never happens after a cancel.
    api.advance(3 * 24 * 3600);
    let token = api.demo_token().await;
    assert_eq!(
        get_one(&api, &token, DEMO_VIN_SLOW).await.body["status"],
        "canceled"
    );
}

#[tokio::test]
async fn invalid_entries_are_reported_per_vin_and_bad_bodies_get_422() {
    let api = Checked::start(frozen_demo()).await;
    let token = api.demo_token().await;
    let reply = api
        .clearance(
            Method::POST,
            ALL,
            ALL,
            &token,
            Some(&json!({"vehicles": [
                {"vin": "SHORTVIN", "brand": "sandbox"},
                {"vin": DEMO_VIN_APPROVED, "brand": "not-a-brand"},
                {"vin": DEMO_VIN_APPROVED, "brand": "bmw"},
                {"vin": DEMO_VIN_MERCEDES, "brand": "mercedes-benz", "tags": {"fleet": "north"}},
                {"vin": DEMO_VIN_APPROVED, "brand": "sandbox", "tags": {"fleet": 1}},
            ]})),
        )
        .await;
    assert_eq!(reply.status, 200);
    let v = reply.body["vehicles"].as_array().unwrap();
    assert_eq!(v[0]["status"], "error");
    assert!(v[0]["description"].as_str().unwrap().contains("17"));
    assert_eq!(v[1]["description"], "The brand is invalid");
    assert_eq!(v[2]["status"], "error");
    assert_eq!(v[3]["status"], "pending");
    assert_eq!(v[3]["tags"], json!({"fleet": "north"}));
    assert_eq!(v[4]["status"], "error");

    for body in [json!({}), json!({"vehicles": "x"}), json!([1, 2])] {
        let reply = api
            .clearance(Method::POST, ALL, ALL, &token, Some(&body))
            .await;
        assert_eq!(reply.status, 422, "{body}");
    }
    let raw = api
        .http
        .post(api.url(ALL))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 422);
    spec::assert_matches(CLEARANCE, ALL, "POST", 422, &raw.json().await.unwrap());
}

#[tokio::test]
async fn unknown_vin_gets_404_and_unknown_vehicles_are_rejected() {
    let api = Checked::start(frozen_demo()).await;
    let token = api.demo_token().await;
    assert_eq!(get_one(&api, &token, DEMO_VIN_APPROVED).await.status, 404);
    assert_eq!(delete(&api, &token, DEMO_VIN_APPROVED).await.status, 404);
    api.request_clearance(&token, &[("WVWZZZ1JZXW000001", "volkswagen")])
        .await;
    api.advance(3);
    let item = get_one(&api, &token, "WVWZZZ1JZXW000001").await;
    assert_eq!(item.body["status"], "rejected");
}

#[tokio::test]
async fn get_one_is_limited_to_60_calls_a_minute() {
    let api = Checked::start(frozen_demo()).await;
    let token = api.demo_token().await;
    api.request_clearance(&token, &[(DEMO_VIN_APPROVED, "sandbox")])
        .await;
    for _ in 0..60 {
        assert_eq!(get_one(&api, &token, DEMO_VIN_APPROVED).await.status, 200);
    }
    let limited = get_one(&api, &token, DEMO_VIN_APPROVED).await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.body["errors"][0]["title"], "Too many requests");
    let retry_after: u64 = limited.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after));
    // Other endpoints are not limited.
    assert_eq!(list(&api, &token, &json!({})).await.status, 200);
    api.advance(60);
    assert_eq!(get_one(&api, &token, DEMO_VIN_APPROVED).await.status, 200);
}

#[tokio::test]
async fn list_filters_by_every_field_and_operator() {
    let api = Checked::start(frozen_demo()).await;
    let token = api.demo_token().await;
    let post = |vin: &'static str, brand: &'static str, tags: Value| {
        let token = token.clone();
        let api = &api;
        async move {
            let body = json!({"vehicles": [{"vin": vin, "brand": brand, "tags": tags}]});
            api.clearance(Method::POST, ALL, ALL, &token, Some(&body))
                .await
        }
    };
    post(
        DEMO_VIN_APPROVED,
        "sandbox",
        json!({"fleet": "north", "driver": "ann"}),
    )
    .await;
    let t0 = api.emulator.now();
    api.advance(10);
    post(
        DEMO_VIN_MERCEDES,
        "mercedes-benz",
        json!({"fleet": "south"}),
    )
    .await;
    post(DEMO_VIN_REJECTED, "bmw", json!({})).await;
    post(DEMO_VIN_SLOW, "sandbox", json!({"fleet": "north"})).await;
    api.advance(2); // first approved at t0+2, mercedes approved at t0+12, bmw rejected, slow pending

    let everything = list(&api, &token, &json!({})).await;
    assert_eq!(vins(&everything).len(), 4);
    let no_filter = api.clearance(Method::GET, ALL, ALL, &token, None).await;
    assert_eq!(no_filter.body.as_array().unwrap().len(), 4);

    let ts =
        |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let secs = |s: i64| ts(t0 + chrono::Duration::seconds(s));
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (
            json!({"vin": {"operator": "eq", "value": DEMO_VIN_MERCEDES}}),
            vec![DEMO_VIN_MERCEDES],
        ),
        (
            json!({"vin": {"operator": "in", "value": [DEMO_VIN_APPROVED, DEMO_VIN_SLOW]}}),
            vec![DEMO_VIN_APPROVED, DEMO_VIN_SLOW],
        ),
        (
            json!({"status": {"operator": "eq", "value": "approved"}}),
            vec![DEMO_VIN_APPROVED, DEMO_VIN_MERCEDES],
        ),
        (
            json!({"status": {"operator": "in", "value": ["rejected", "pending"]}}),
            vec![DEMO_VIN_REJECTED, DEMO_VIN_SLOW],
        ),
        (
            json!({"brand": {"operator": "eq", "value": "sandbox"}}),
            vec![DEMO_VIN_APPROVED, DEMO_VIN_SLOW],
        ),
        (
            json!({"brand": {"operator": "in", "value": ["bmw", "mercedes-benz"]}}),
            vec![DEMO_VIN_MERCEDES, DEMO_VIN_REJECTED],
        ),
        (
            json!({"tags": {"operator": "eq", "value": {"fleet": "north"}}}),
            vec![DEMO_VIN_SLOW],
        ),
        (
            json!({"tags": {"operator": "contains", "value": {"fleet": "north"}}}),
            vec![DEMO_VIN_APPROVED, DEMO_VIN_SLOW],
        ),
        (
            json!({"approved_at": {"operator": "eq", "value": secs(2)}}),
            vec![DEMO_VIN_APPROVED],
        ),
        (
            json!({"approved_at": {"operator": "lt", "value": secs(12)}}),
            vec![DEMO_VIN_APPROVED],
        ),
        (
            json!({"approved_at": {"operator": "lte", "value": secs(12)}}),
            vec![DEMO_VIN_APPROVED, DEMO_VIN_MERCEDES],
        ),
        (
            json!({"approved_at": {"operator": "gt", "value": secs(2)}}),
            vec![DEMO_VIN_MERCEDES],
        ),
        (
            json!({"approved_at": {"operator": "gte", "value": secs(2)}}),
            vec![DEMO_VIN_APPROVED, DEMO_VIN_MERCEDES],
        ),
        (
            json!({"inserted_at": {"operator": "eq", "value": secs(0)}}),
            vec![DEMO_VIN_APPROVED],
        ),
        (
            json!({"inserted_at": {"operator": "gt", "value": secs(0)}}),
            vec![DEMO_VIN_MERCEDES, DEMO_VIN_REJECTED, DEMO_VIN_SLOW],
        ),
        (
            json!({"inserted_at": {"operator": "gte", "value": secs(10)}}),
            vec![DEMO_VIN_MERCEDES, DEMO_VIN_REJECTED, DEMO_VIN_SLOW],
        ),
        (
            json!({"inserted_at": {"operator": "lt", "value": secs(10)}}),
            vec![DEMO_VIN_APPROVED],
        ),
        (
            json!({"inserted_at": {"operator": "lte", "value": secs(10)}}),
            vec![
                DEMO_VIN_APPROVED,
                DEMO_VIN_MERCEDES,
                DEMO_VIN_REJECTED,
                DEMO_VIN_SLOW,
            ],
        ),
        (
            json!({"brand": {"operator": "eq", "value": "sandbox"}, "status": {"operator": "eq", "value": "pending"}}),
            vec![DEMO_VIN_SLOW],
        ),
    ];
    for (filter, expected) in cases {
        let reply = list(&api, &token, &filter).await;
        assert_eq!(reply.status, 200, "{filter}");
        assert_eq!(vins(&reply), expected, "{filter}");
    }
    let item = &list(
        &api,
        &token,
        &json!({"vin": {"operator": "eq", "value": DEMO_VIN_APPROVED}}),
    )
    .await
    .body[0];
    assert_eq!(item["tags"], json!({"fleet": "north", "driver": "ann"}));
}

#[tokio::test]
async fn bad_filters_get_400_in_the_fleet_error_shape() {
    let api = Checked::start(frozen_demo()).await;
    let token = api.demo_token().await;
    for filter in [
        json!({"colour": {"operator": "eq", "value": "red"}}),
        json!({"vin": {"operator": "gt", "value": "x"}}),
        json!({"approved_at": {"operator": "lt", "value": "tomorrow"}}),
        json!(["not", "an", "object"]),
    ] {
        let reply = list(&api, &token, &filter).await;
        assert_eq!(reply.status, 400, "{filter}");
        assert_eq!(reply.body["errors"][0]["source"], "filter");
    }
    let garbage = api
        .clearance(
            Method::GET,
            "/v1/fleets/vehicles?filter=%7Bnope",
            ALL,
            &token,
            None,
        )
        .await;
    assert_eq!(garbage.status, 400);
}
