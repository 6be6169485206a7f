//! Secrets stay out of `Debug` output and out of logs.

use hm_auth::{Authenticator, Credentials, Environment};
use httpmock::MockServer;
use serde_json::json;

use crate::support::*;

/// A line of the base64 body of a PEM key: enough to recognise the key in any output.
fn key_fragment(pem: &str) -> String {
    pem.lines().nth(1).unwrap().to_owned()
}

fn assert_clean(text: &str, key_pem: &str) {
    assert!(
        !text.contains(CLIENT_SECRET),
        "client secret leaked:\n{text}"
    );
    assert!(!text.contains(TOKEN), "access token leaked:\n{text}");
    assert!(
        !text.contains(&key_fragment(key_pem)),
        "private key leaked:\n{text}"
    );
    assert!(
        !text.contains("eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9"),
        "assertion leaked:\n{text}"
    );
}

#[tokio::test]
async fn debug_output_is_redacted() {
    let server = MockServer::start_async().await;
    token_endpoint(&server, TOKEN).await;
    let key = test_key();
    let secret = secret_credentials();
    let keyed = Credentials::private_key_pem(CLIENT_ID, KEY_ID, &key.pkcs8_pem).unwrap();
    let builder = Authenticator::builder(secret.clone(), base(&server));
    let cache = hm_auth::TokenCache::new(MockProvider::new(
        std::time::Duration::ZERO,
        std::time::Duration::from_secs(300),
    ));
    let _ = cache.token().await.unwrap();
    let auth = authenticator(&server, secret.clone());
    let token = auth.access_token().await.unwrap();

    let mut client = reqwest::Client::new()
        .get(server.url("/v1/x"))
        .build()
        .unwrap();
    auth.authorize(&mut client).await.unwrap();

    let text = format!(
        "{secret:?} {keyed:?} {builder:?} {auth:?} {token:?} {:?} {:?} {:?} {:?}",
        auth.middleware(),
        auth.retry_middleware(),
        client.headers(),
        cache.token().await.unwrap()
    );
    assert_clean(&text, &key.pkcs8_pem);
    assert!(
        text.contains("[REDACTED]") && text.contains(CLIENT_ID) && text.contains(KEY_ID),
        "{text}"
    );
    assert!(
        text.contains("fleet:clearance"),
        "scopes are not secret: {text}"
    );
}

/// Every failure path, against a hostile token endpoint that echoes requests and quotes tokens,
/// with everything logged at TRACE level: no 8-character fragment of the client secret, an
/// assertion, the private key or any token the server handed out appears in the log or in any
/// error's `Display` or `Debug`.
#[tokio::test]
async fn no_secret_fragment_in_any_error_or_log_line_on_any_failure_path() {
    let captured = capture_tracing();
    let secret = random_text(44);
    let tokens: Vec<String> = (0..6).map(|_| random_text(40)).collect();
    let key = test_key();
    let calls = std::sync::atomic::AtomicUsize::new(0);
    let hostile = {
        let (secret, tokens) = (secret.clone(), tokens.clone());
        TestServer::start(move |request| {
            let echo = String::from_utf8_lossy(&request.body).into_owned();
            let scenario = request.path.split('/').nth(1).unwrap_or_default();
            let skewed = httpdate::fmt_http_date(
                std::time::SystemTime::now() + std::time::Duration::from_secs(600),
            );
            match scenario {
                "oauth-echo" => Reply::json(
                    400,
                    json!({
                        "error": "invalid_client",
                        "error_description": format!("client_secret {secret} is invalid; got client_secret={secret}"),
                    }),
                ),
                "text-echo" => Reply::status(400)
                    .header("content-type", "text/plain")
                    .body(format!("{}{secret} in {echo}", "p".repeat(100))),
                "html-502" => Reply::status(502)
                    .header("content-type", "text/html")
                    .body(format!("<html><pre>{echo}</pre></html>")),
                "cut-json" => Reply::status(200).body(format!(
                    "{{\"access_token\":\"{}\",\"expires_in\":300",
                    tokens[0]
                )),
                "error-200" => Reply::json(
                    200,
                    json!({
                        "error": "server_error", "error_description": format!("token {} withdrawn", tokens[1]),
                        "access_token": tokens[1], "token_type": "bearer",
                    }),
                ),
                "mac" => Reply::json(
                    200,
                    json!({"access_token": tokens[2], "token_type": tokens[2]}),
                ),
                "huge" => Reply::status(200).body(format!("{} {}", tokens[3], "x".repeat(70_000))),
                "redirect" => Reply::status(307).header(
                    "location",
                    format!(
                        "http://127.0.0.1:9/steal?client_secret={secret}&t={}",
                        tokens[0]
                    ),
                ),
                "jwt-echo" => Reply::json(
                    400,
                    json!({
                        "error": "invalid_request",
                        "error_description": format!("bad iat in {echo}"),
                        "echo": echo,
                    }),
                )
                .header("date", skewed),
                "jwt-502" => Reply::status(502).body(echo),
                "renewal" if request.path.ends_with("/data") => {
                    Reply::status(401).body(format!("refused {:?}", request.authorization))
                }
                "renewal" => {
                    if calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                        Reply::json(200, token_reply(&tokens[4], 300))
                    } else {
                        Reply::status(500).body(format!(
                            "already issued {} and {}; your request: {echo}",
                            tokens[4],
                            request.authorization.clone().unwrap_or_default()
                        ))
                    }
                }
                _ => Reply::status(404),
            }
        })
    };
    let with_secret = Credentials::client_secret(CLIENT_ID, secret.clone()).unwrap();
    let with_key = Credentials::private_key_pem(CLIENT_ID, KEY_ID, &key.pkcs8_pem).unwrap();
    let at = |scenario: &str| Environment::custom(&format!("{}/{scenario}", hostile.url)).unwrap();

    let mut errors = Vec::new();
    for (scenario, credentials) in [
        ("oauth-echo", &with_secret),
        ("text-echo", &with_secret),
        ("html-502", &with_secret),
        ("cut-json", &with_secret),
        ("error-200", &with_secret),
        ("mac", &with_secret),
        ("huge", &with_secret),
        ("redirect", &with_secret),
        ("jwt-echo", &with_key),
        ("jwt-502", &with_key),
    ] {
        let auth = quick_builder(credentials.clone(), at(scenario))
            .build()
            .unwrap();
        errors.push(auth.access_token().await.unwrap_err());
    }
    // A token is issued, the API refuses it and quotes it, the renewal fails quoting it again.
    let auth = quick_builder(with_secret.clone(), at("renewal"))
        .build()
        .unwrap();
    let client = reqwest::Client::new();
    let mut request = client
        .get(format!("{}/renewal/data", hostile.url))
        .build()
        .unwrap();
    auth.authorize(&mut request).await.unwrap();
    let response = auth.send_authorized(&client, request).await.unwrap();
    assert_eq!(response.status(), 401);
    errors.push(auth.access_token().await.unwrap_err());
    // Unreachable.
    let closed = Environment::custom(&format!("http://127.0.0.1:{}", closed_port())).unwrap();
    errors.push(token_error(quick_builder(with_secret.clone(), closed)).await);

    let mut text = String::new();
    for err in &errors {
        tracing::error!(%err, ?err, "reported by the application");
        text.push_str(&format!("{err}\n{err:?}\n{}\n", err.hint()));
    }
    text.push_str(&captured.text());

    let assertions: Vec<String> = hostile
        .seen()
        .iter()
        .filter_map(|s| s.json()["client_assertion"].as_str().map(str::to_owned))
        .collect();
    assert!(assertions.len() >= 4, "the JWT scenarios sent assertions");
    let key_body: String = key
        .pkcs8_pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let mut secrets = vec![
        ("client secret", secret.as_str()),
        ("private key", key_body.as_str()),
    ];
    secrets.extend(tokens.iter().map(|t| ("token", t.as_str())));
    secrets.extend(assertions.iter().map(|a| ("assertion", a.as_str())));
    for (what, value) in secrets {
        assert_no_fragment(&text, value, what);
    }
    // The log is real, not empty: every path was taken and logged.
    for expected in [
        "hm_auth.token_request",
        "status=502",
        "status=307",
        "clock_skew_s=",
        "lifetime_s=300",
    ] {
        assert!(text.contains(expected), "`{expected}` missing from the log");
    }
    assert_eq!(errors.len(), 12);
}

/// The first token error of an authenticator for `server` with `secret`, as `Display` and `Debug`.
async fn token_error_text(server: &TestServer, secret: &str) -> String {
    let credentials = Credentials::client_secret(CLIENT_ID, secret).unwrap();
    let err = token_error(quick_builder(credentials, server.environment())).await;
    format!("{err}\n{err:?}")
}

/// A form parser handed the JSON body makes the whole body one parameter *name*; a server that
/// reports unknown parameters then answers with the request body as a JSON object key.
#[tokio::test]
async fn a_secret_echoed_as_a_json_object_key_is_removed() {
    let secret = random_text(44);
    let server = TestServer::start(|request| {
        let mut reply = serde_json::Map::new();
        let body = String::from_utf8_lossy(&request.body).into_owned();
        reply.insert(body, json!(["unknown parameter"]));
        Reply::json(400, serde_json::Value::Object(reply))
    });
    let text = token_error_text(&server, &secret).await;
    assert!(
        text.contains("grant_type"),
        "the key is kept, cleaned: {text}"
    );
    assert_no_fragment(&text, &secret, "client secret");
}

/// Echoed escaped, a secret is not found whole: JSON (`\"`) and HTML (`&amp;`, `&quot;`)
/// escaping change a character or two, and every stretch of 8 characters between them is removed.
#[tokio::test]
async fn a_secret_echoed_json_or_html_escaped_is_removed() {
    let secret = format!(
        "{}\"{}&{}",
        random_text(10),
        random_text(12),
        random_text(14)
    );
    let server = TestServer::start(|request| {
        let sent = request.json()["client_secret"].as_str().unwrap().to_owned();
        let html = sent.replace('&', "&amp;").replace('"', "&quot;");
        let raw_body = String::from_utf8_lossy(&request.body).into_owned();
        Reply::status(400)
            .header("content-type", "text/html")
            .body(format!(
                "<h1>400</h1><p>cannot parse: {raw_body}</p><td>client_secret</td><td>{html}</td>"
            ))
    });
    let text = token_error_text(&server, &secret).await;
    assert!(text.contains("cannot parse"), "{text}");
    assert_no_fragment(&text, &secret, "client secret");
}

/// `connection_verbose(true)` on the user's token client builder would make reqwest log every
/// byte of a token request at TRACE: hm-auth turns it off.
#[tokio::test]
async fn a_verbose_token_client_logs_no_secret() {
    let captured = capture_tracing();
    // Values of its own: other tests of this binary log through the same capture meanwhile.
    let secret = random_text(40);
    let token = random_text(40);
    let server = MockServer::start_async().await;
    token_endpoint(&server, &token).await;
    let credentials = Credentials::client_secret(CLIENT_ID, secret.clone()).unwrap();
    let auth = quick_builder(credentials, base(&server))
        .token_client_builder(reqwest::Client::builder().connection_verbose(true))
        .build()
        .unwrap();
    assert_eq!(auth.access_token().await.unwrap().expose_secret(), token);
    let log = captured.text();
    assert!(
        log.contains("hm_auth.token_request"),
        "nothing was captured"
    );
    assert_no_fragment(&log, &secret, "client secret");
    assert_no_fragment(&log, &token, "token");
}
