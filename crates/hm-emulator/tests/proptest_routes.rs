//! Property tests: arbitrary bodies, headers, path parameters, query strings and methods thrown at
//! every route. Whatever arrives, the server answers (no panic, no dropped connection, no 5xx)
//! with either a success that matches the published spec or an error in the API's own shape.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::OnceLock;

use common::*;
use hm_emulator::{
    DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_VIN_APPROVED, DEMO_VIN_MERCEDES, EmulatorHandle,
};
use proptest::prelude::*;
use reqwest::Method;
use serde_json::{Map, Value, json};

/// One emulator for all cases, on its own runtime, with a token and an approved clearance.
struct Fixture {
    runtime: tokio::runtime::Runtime,
    api: Checked,
    token: String,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let (api, token) = runtime.block_on(async {
            let api = Checked::start(frozen_demo()).await;
            let token = api.demo_token().await;
            api.request_clearance(&token, &[(DEMO_VIN_APPROVED, "sandbox")])
                .await;
            api.advance(2);
            (api, token)
        });
        Fixture {
            runtime,
            api,
            token,
        }
    })
}

/// The routes of the emulator: method, path template, spec file.
const ROUTES: [(&str, &str, &str); 9] = [
    ("POST", "/v1/access_tokens", OAUTH),
    ("DELETE", "/v1/access_tokens", OAUTH),
    ("POST", "/v1/eligibility", ELIGIBILITY),
    ("POST", "/v1/fleets/vehicles", CLEARANCE),
    ("GET", "/v1/fleets/vehicles", CLEARANCE),
    ("GET", "/v1/fleets/vehicles/{vin}", CLEARANCE),
    ("DELETE", "/v1/fleets/vehicles/{vin}", CLEARANCE),
    ("GET", "/v1/vehicle-data/autoapi-13/{vin}", VEHICLE_DATA),
    ("GET", "/v1/vehicle-static-data/{vin}", STATIC_DATA),
];

#[derive(Debug, Clone)]
struct Request {
    method: String,
    /// Index into [`ROUTES`] of the template the path was made from.
    route: usize,
    path: String,
    query: Option<String>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn percent_encode(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(*b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn path_param() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(DEMO_VIN_APPROVED.to_string()),
        Just(DEMO_VIN_MERCEDES.to_string()),
        "[A-Z0-9]{17}",
        "[A-Za-z0-9]{15,19}",
        proptest::collection::vec(any::<u8>(), 0..40).prop_map(|b| percent_encode(&b)),
    ]
}

/// JSON with the names the routes look for, nested a little.
fn json_value() -> impl Strategy<Value = Value> {
    let name = prop_oneof![
        Just("grant_type".to_string()),
        Just("client_id".to_string()),
        Just("client_secret".to_string()),
        Just("client_assertion".to_string()),
        Just("client_assertion_type".to_string()),
        Just("token".to_string()),
        Just("vin".to_string()),
        Just("brand".to_string()),
        Just("vehicles".to_string()),
        Just("tags".to_string()),
        ".{0,12}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        Just(json!(DEMO_VIN_APPROVED)),
        Just(json!("sandbox")),
        Just(json!("client_credentials")),
        Just(json!(DEMO_CLIENT_ID)),
        Just(json!(DEMO_CLIENT_SECRET)),
        ".{0,24}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 32, 6, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec((name.clone(), inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A correct body for the route, then changed: a parameter dropped, replaced or added.
fn near_valid_body(route: usize) -> impl Strategy<Value = Vec<u8>> {
    let valid = match ROUTES[route].1 {
        "/v1/access_tokens" if ROUTES[route].0 == "POST" => {
            json!({"grant_type": "client_credentials", "client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET})
        }
        "/v1/access_tokens" => {
            json!({"token": "not-a-live-token", "client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET})
        }
        "/v1/eligibility" => json!({"vin": DEMO_VIN_MERCEDES, "brand": "mercedes-benz"}),
        _ => {
            json!({"vehicles": [{"vin": DEMO_VIN_MERCEDES, "brand": "mercedes-benz", "tags": {"a": "b"}}]})
        }
    };
    let keys: Vec<String> = valid.as_object().unwrap().keys().cloned().collect();
    (
        proptest::sample::select(keys),
        0..4u8,
        json_value(),
        any::<bool>(),
    )
        .prop_map(move |(key, op, value, as_form)| {
            let mut object = valid.as_object().unwrap().clone();
            match op {
                0 => {
                    object.remove(&key);
                }
                1 => {
                    object.insert(key, value);
                }
                2 => {
                    object.insert(format!("{key}_x"), value);
                }
                _ => {}
            }
            if as_form {
                let mut form = url::form_urlencoded::Serializer::new(String::new());
                for (name, value) in &object {
                    let text = value
                        .as_str()
                        .map_or_else(|| value.to_string(), str::to_string);
                    form.append_pair(name, &text);
                }
                form.finish().into_bytes()
            } else {
                Value::Object(object).to_string().into_bytes()
            }
        })
}

fn body(route: usize) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(Vec::new()),
        proptest::collection::vec(any::<u8>(), 0..256),
        json_value().prop_map(|v| v.to_string().into_bytes()),
        near_valid_body(route),
    ]
}

fn content_type() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        Just(Some("application/json".to_string())),
        Just(Some("application/x-www-form-urlencoded".to_string())),
        Just(Some("application/json; charset=utf-8".to_string())),
        Just(Some("text/plain".to_string())),
        "[ -~]{0,40}".prop_map(Some),
    ]
}

fn authorization() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        Just(Some("LIVE".to_string())),
        Just(Some("Bearer LIVE".to_string())),
        "[ -~]{0,60}".prop_map(Some),
        "Bearer [ -~]{0,60}".prop_map(Some),
    ]
}

fn extra_headers() -> impl Strategy<Value = Vec<(String, String)>> {
    let name = prop_oneof![
        Just("host".to_string()),
        Just("accept".to_string()),
        Just("content-encoding".to_string()),
        Just("x-forwarded-host".to_string()),
        Just("expect".to_string()),
        "x-[a-z]{1,10}",
    ];
    proptest::collection::vec((name, "[ -~]{0,40}"), 0..3)
}

fn request_to(route: usize) -> impl Strategy<Value = Request> {
    (
        path_param(),
        prop_oneof![
            Just(None),
            "[ -~]{0,60}".prop_map(|q| Some(percent_encode(q.as_bytes()))),
            "[a-z=&%0-9]{0,30}".prop_map(Some),
            json_value().prop_map(|v| Some(format!(
                "filter={}",
                percent_encode(v.to_string().as_bytes())
            ))),
        ],
        content_type(),
        authorization(),
        extra_headers(),
        body(route),
    )
        .prop_map(move |(vin, query, content_type, auth, extra, body)| {
            let (method, template, _) = ROUTES[route];
            let mut headers = extra;
            if let Some(content_type) = content_type {
                headers.push(("content-type".into(), content_type));
            }
            if let Some(auth) = auth {
                headers.push(("authorization".into(), auth));
            }
            Request {
                method: method.to_string(),
                route,
                path: template.replace("{vin}", &vin),
                query,
                headers,
                body,
            }
        })
}

fn any_request() -> impl Strategy<Value = Request> {
    (0..ROUTES.len()).prop_flat_map(request_to)
}

/// Sends `request` (with `LIVE` replaced by the fixture's token) and checks the property.
fn check(request: &Request) -> Result<(), TestCaseError> {
    let fixture = fixture();
    fixture.runtime.block_on(async {
        let api = &fixture.api;
        let mut url = api.url(&request.path);
        if let Some(query) = &request.query {
            url = format!("{url}?{query}");
        }
        let method = Method::from_bytes(request.method.as_bytes()).unwrap();
        let mut builder = api.http.request(method.clone(), &url);
        for (name, value) in &request.headers {
            let value = value.replace("LIVE", &fixture.token);
            builder = builder.header(name.as_str(), value);
        }
        // `raw` panics (a failure for proptest) when there is no answer or the body is not JSON.
        let (status, content_type, body) = raw(builder.body(request.body.clone())).await;
        prop_assert!(status < 500, "{status}: {body}");
        if status >= 400 {
            assert_api_error(&request.path, status, content_type.as_deref(), &body);
        } else {
            let (route_method, template, file) = ROUTES[request.route];
            prop_assert_eq!(route_method, request.method.as_str());
            spec::assert_matches(file, template, route_method, status, &body);
        }
        Ok(())
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn every_route_answers_in_shape_whatever_it_is_sent(request in any_request()) {
        check(&request)?;
    }

    #[test]
    fn wrong_methods_and_arbitrary_paths_answer_in_shape(
        request in any_request(),
        method in prop_oneof![Just("PUT"), Just("PATCH"), Just("OPTIONS"), Just("GET"), Just("POST"), Just("DELETE")],
        suffix in proptest::collection::vec(any::<u8>(), 0..12),
    ) {
        let mut request = request;
        let (route_method, ..) = ROUTES[request.route];
        if method != route_method || !suffix.is_empty() {
            // Not the route's own method or path: only an error in shape will do.
            request.method = method.to_string();
            request.path = format!("{}{}", request.path, percent_encode(&suffix));
            let fixture = fixture();
            let outcome = fixture.runtime.block_on(async {
                let api = &fixture.api;
                let method = Method::from_bytes(request.method.as_bytes()).unwrap();
                let url = api.url(&request.path);
                raw(api.http.request(method, url).body(request.body.clone())).await
            });
            let (status, content_type, body) = outcome;
            // Another method may be a real route (GET of the list, say), so success is allowed.
            if status >= 400 {
                prop_assert!(status < 500);
                assert_api_error(&request.path, status, content_type.as_deref(), &body);
            }
        } else {
            check(&request)?;
        }
    }
}

#[test]
fn the_fixture_token_works() {
    let fixture = fixture();
    let handle: &EmulatorHandle = &fixture.api.emulator;
    assert!(handle.base_url().starts_with("http://127.0.0.1:"));
    let status = fixture.runtime.block_on(async {
        raw(fixture
            .api
            .http
            .get(fixture.api.url("/v1/fleets/vehicles"))
            .bearer_auth(&fixture.token))
        .await
        .0
    });
    assert_eq!(status, 200);
}
