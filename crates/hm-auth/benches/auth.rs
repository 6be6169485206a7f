//! Hot-path overhead of `Authenticator::execute` against plain reqwest, on one loopback server,
//! plus the cost of one token acquisition and of signing one assertion.
//!
//! Run: `cargo bench -p hm-auth --bench auth -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use axum::Json;
use axum::routing::{get, post};
use criterion::{Criterion, criterion_group, criterion_main};
use hm_auth::{Authenticator, Credentials, Environment, RetryPolicy};
use p256::pkcs8::{EncodePrivateKey, LineEnding};
use reqwest::header::AUTHORIZATION;
use serde_json::json;

const TOKEN: &str = "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.bench.token";

/// A tiny API on its own thread and runtime: `GET /v1/ping` and the token endpoint.
fn start_server() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    listener.set_nonblocking(true).expect("non-blocking");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let app = axum::Router::new().route("/v1/ping", get(|| async { "ok" })).route(
                "/v1/access_tokens",
                post(|| async {
                    Json(json!({"access_token": TOKEN, "expires_in": 300, "scope": "vehicle:data", "token_type": "bearer"}))
                }),
            );
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            axum::serve(listener, app).await.expect("serve");
        });
    });
    url
}

fn benches(c: &mut Criterion) {
    let url = start_server();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let client = reqwest::Client::new();
    let environment = Environment::custom(&url).expect("loopback URL");
    let secret = Credentials::client_secret("bench-client", "bench-secret").expect("credentials");
    let auth = Authenticator::builder(secret.clone(), environment.clone())
        .http_client(client.clone())
        .build()
        .expect("authenticator");
    runtime
        .block_on(auth.access_token())
        .expect("warm the cache");
    let ping = format!("{url}/v1/ping");

    let mut group = c.benchmark_group("hot_path");
    group.bench_function("plain_reqwest_static_header", |b| {
        b.to_async(&runtime).iter(|| async {
            let response = client
                .get(&ping)
                .header(
                    AUTHORIZATION,
                    concat!(
                        "Bearer ",
                        "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.bench.token"
                    ),
                )
                .send()
                .await
                .expect("send");
            black_box(response.bytes().await.expect("body"));
        })
    });
    group.bench_function("authenticator_execute_warm", |b| {
        b.to_async(&runtime).iter(|| async {
            let mut request = client.get(&ping).build().expect("request");
            auth.authorize(&mut request).await.expect("authorize");
            let response = auth.execute(&client, request).await.expect("send");
            black_box(response.bytes().await.expect("body"));
        })
    });
    group.bench_function("authorize_only_warm", |b| {
        b.to_async(&runtime).iter(|| async {
            let mut request = client.get(&ping).build().expect("request");
            auth.authorize(&mut request).await.expect("authorize");
            black_box(request);
        })
    });
    group.finish();

    let key_pem =
        <p256::SecretKey as p256::elliptic_curve::Generate>::generate_from_rng(&mut rand::rng())
            .to_pkcs8_pem(LineEnding::LF)
            .expect("pem");
    let keyed = Credentials::private_key_pem("bench-client", "bench-key", &key_pem)
        .expect("key credentials");
    let mut group = c.benchmark_group("token");
    for (name, credentials) in [
        ("acquire_client_secret", &secret),
        ("acquire_jwt_assertion", &keyed),
    ] {
        group.bench_function(name, |b| {
            b.to_async(&runtime).iter(|| async {
                // A new authenticator has a cold cache: this is one full token request.
                let cold = Authenticator::builder(credentials.clone(), environment.clone())
                    .http_client(client.clone())
                    .retry_policy(RetryPolicy::disabled())
                    .build()
                    .expect("authenticator");
                black_box(cold.access_token().await.expect("token"));
            })
        });
    }
    group.bench_function("sign_assertion", |b| {
        b.iter(|| black_box(keyed.client_assertion(&environment).expect("sign")))
    });
    group.finish();
}

criterion_group!(auth, benches);
criterion_main!(auth);
