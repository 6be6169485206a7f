//! What authentication costs per API call, against plain reqwest in the same run.
//!
//! Run: `cargo bench -p hm-auth --bench auth` (`HM_BENCH_ROUNDS`, default 41).
//!
//! - Hot path: GETs to a loopback axum server, plain reqwest with a static `Authorization` header
//!   (A) and `authorize` + `send_authorized` with a warm cache (B), interleaved request by request
//!   (A B, B A, A B, ...) so that drift in the machine's load hits both alike. Each round takes
//!   both sides' median request time; the figure is the median over rounds of their ratio B/A.
//! - `authorize` alone, on one prepared request, in ns per call.
//! - One token acquisition on loopback (cold cache), signing one assertion, and building an
//!   authenticator.

use std::hint::black_box;
use std::time::{Duration, Instant};

use axum::Json;
use axum::routing::{get, post};
use hm_auth::{Authenticator, Credentials, Environment, RetryPolicy};
use p256::pkcs8::{EncodePrivateKey, LineEnding};
use reqwest::header::AUTHORIZATION;
use serde_json::json;

const TOKEN: &str = "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.bench.token";
const STATIC_HEADER: &str = concat!(
    "Bearer ",
    "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.bench.token"
);
const REQUESTS_PER_ROUND: u32 = 400;
const AUTHORIZE_CALLS: u32 = 20_000;
const TOKENS_PER_ROUND: u32 = 10;

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

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not: then run one round only.
    let full = std::env::args().any(|a| a == "--bench");
    let rounds: usize = match std::env::var("HM_BENCH_ROUNDS") {
        Ok(n) => n.parse().expect("HM_BENCH_ROUNDS is a number"),
        Err(_) if full => 41,
        Err(_) => 1,
    };
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
        .build()
        .expect("authenticator");
    let ping = format!("{url}/v1/ping");

    let plain = || async {
        let start = Instant::now();
        let response = client
            .get(&ping)
            .header(AUTHORIZATION, STATIC_HEADER)
            .send()
            .await
            .expect("send");
        black_box(response.bytes().await.expect("body"));
        start.elapsed()
    };
    let ours = || async {
        let start = Instant::now();
        let mut request = client.get(&ping).build().expect("request");
        auth.authorize(&mut request).await.expect("authorize");
        let response = auth.send_authorized(&client, request).await.expect("send");
        black_box(response.bytes().await.expect("body"));
        start.elapsed()
    };
    // One round: A/B pairs, the order alternating from pair to pair; each side's median time.
    let round = || async {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for i in 0..REQUESTS_PER_ROUND {
            if i % 2 == 0 {
                a.push(plain().await.as_secs_f64());
                b.push(ours().await.as_secs_f64());
            } else {
                b.push(ours().await.as_secs_f64());
                a.push(plain().await.as_secs_f64());
            }
        }
        (median(&mut a), median(&mut b))
    };
    let per_call = |elapsed: Duration, calls: u32| elapsed.as_secs_f64() / f64::from(calls);

    // Warm up: the token cache, the connection pool, the allocator.
    runtime.block_on(round());

    let (mut ratios, mut plain_us, mut ours_us, mut authorize_ns) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut secret_ms, mut jwt_ms, mut sign_us, mut build_ms) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let key_pem =
        <p256::SecretKey as p256::elliptic_curve::Generate>::generate_from_rng(&mut rand::rng())
            .to_pkcs8_pem(LineEnding::LF)
            .expect("pem");
    let keyed = Credentials::private_key_pem("bench-client", "bench-key", &key_pem)
        .expect("key credentials");

    for _ in 0..rounds {
        let (a, b) = runtime.block_on(round());
        ratios.push(b / a);
        plain_us.push(a * 1e6);
        ours_us.push(b * 1e6);

        let elapsed = runtime.block_on(async {
            let mut request = client.get(&ping).build().expect("request");
            let start = Instant::now();
            for _ in 0..AUTHORIZE_CALLS {
                auth.authorize(&mut request).await.expect("authorize");
            }
            black_box(request);
            start.elapsed()
        });
        authorize_ns.push(per_call(elapsed, AUTHORIZE_CALLS) * 1e9);

        for (credentials, results) in [(&secret, &mut secret_ms), (&keyed, &mut jwt_ms)] {
            // New authenticators have cold caches: each `access_token` is one full token request.
            // Built beforehand: building one (its HTTP client, TLS roots included) is timed apart.
            let start = Instant::now();
            let cold: Vec<Authenticator> = (0..TOKENS_PER_ROUND)
                .map(|_| {
                    Authenticator::builder(credentials.clone(), environment.clone())
                        .token_retry_policy(RetryPolicy::disabled())
                        .build()
                        .expect("authenticator")
                })
                .collect();
            build_ms.push(per_call(start.elapsed(), TOKENS_PER_ROUND) * 1e3);
            let elapsed = runtime.block_on(async {
                let start = Instant::now();
                for auth in &cold {
                    black_box(auth.access_token().await.expect("token"));
                }
                start.elapsed()
            });
            results.push(per_call(elapsed, TOKENS_PER_ROUND) * 1e3);
        }
        let start = Instant::now();
        for _ in 0..TOKENS_PER_ROUND {
            black_box(keyed.client_assertion(&environment).expect("sign"));
        }
        sign_us.push(per_call(start.elapsed(), TOKENS_PER_ROUND) * 1e6);
    }

    let spread = {
        let mut sorted = ratios.clone();
        sorted.sort_by(f64::total_cmp);
        (sorted[0], sorted[sorted.len() - 1])
    };
    println!(
        "hm-auth, {rounds} rounds of {REQUESTS_PER_ROUND} interleaved pairs of GETs (plain, ours)"
    );
    println!("| figure | median |");
    println!("|---|---|");
    println!(
        "| ratio `authorize` + `send_authorized` / plain reqwest (per-round ratios {:.3}..{:.3}) | **{:.3}** |",
        spread.0,
        spread.1,
        median(&mut ratios)
    );
    println!(
        "| plain reqwest GET, static header | {:.0} µs |",
        median(&mut plain_us)
    );
    println!(
        "| `authorize` + `send_authorized`, warm cache | {:.0} µs |",
        median(&mut ours_us)
    );
    println!(
        "| `authorize` alone, warm cache | {:.0} ns |",
        median(&mut authorize_ns)
    );
    println!(
        "| one token request, client secret (cold cache) | {:.2} ms |",
        median(&mut secret_ms)
    );
    println!(
        "| one token request, JWT assertion (cold cache) | {:.2} ms |",
        median(&mut jwt_ms)
    );
    println!(
        "| signing one ES256 assertion | {:.0} µs |",
        median(&mut sign_us)
    );
    println!(
        "| building an authenticator (its token HTTP client) | {:.2} ms |",
        median(&mut build_ms)
    );
}
