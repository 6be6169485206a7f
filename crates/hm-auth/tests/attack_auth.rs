//! Attack findings against hm-auth (issue 8), each a reproducer through the public interface
//! against loopback servers. Every test is ignored while its weakness stands and passes once it
//! is fixed: run them with `cargo test -p hm-auth --test attack_auth -- --ignored`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use hm_auth::{AccessToken, Authenticator, Credentials, Environment, RetryPolicy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const CLIENT_ID: &str = "cid";
const SECRET: &str = "Qm7pX2vL9sK4tR8wN3bF6hJ1cD5gZ0yA2eU7iO4kP9mT";
const TOKEN: &str = "opaque-access-token-0123456789abcdef";

/// A P-256 key made for these tests (PKCS#8), and its public key.
const KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgQ6oHgscdzmQBYHLV
DPVIbPYGEIBnVauVLaxhYNKgu9mhRANCAASmeYL1YFkxmn+PUQcyZMZPSYpI8vYa
VG+riRD+QE5h/ey7saREjtzHbjn3QM/fnCidhIyrthoklN4wEGeIZsUe
-----END PRIVATE KEY-----
";
const PUBLIC_KEY: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEpnmC9WBZMZp/j1EHMmTGT0mKSPL2
GlRvq4kQ/kBOYf3su7GkRI7cx24590DP35wonYSMq7YaJJTeMBBniGbFHg==
-----END PUBLIC KEY-----
";
/// The same key as legacy OpenSSL output, encrypted with a passphrase (`openssl ec -aes128`).
const ENCRYPTED_SEC1: &str = "-----BEGIN EC PRIVATE KEY-----
Proc-Type: 4,ENCRYPTED
DEK-Info: AES-128-CBC,AB4BB5F8397C7D9C17FAF84E72478660

Ox0ukidHmmQ/pQ/9ivSqnP0ygSYSHn5pLX29UXwdOV6tYzOcKcRYdFjqQdZWenJ5
qVkH8zS4CCtKYg16h5Jn4zh9E4+jr9VfFb9Xgj3IGyuL3Tmb3RxGaK9SfSwHbIsV
fwlbFil3pHZwWEc4rRJHF2DVXiUZKcpyRJKzvbpx3Dw=
-----END EC PRIVATE KEY-----
";

// ---------------------------------------------------------------------------------------------
// A raw HTTP/1.1 server on loopback: full control over what a hostile token endpoint answers.

struct Server {
    addr: SocketAddr,
    hits: Arc<AtomicUsize>,
}

impl Server {
    /// Answers every request with `respond(request body)`, a complete HTTP response.
    async fn start(respond: impl Fn(&str) -> String + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&hits);
        let respond = Arc::new(respond);
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let counter = Arc::clone(&counter);
                let respond = Arc::clone(&respond);
                tokio::spawn(async move {
                    let Some(body) = read_request(&mut socket).await else {
                        return;
                    };
                    counter.fetch_add(1, Ordering::SeqCst);
                    let reply = respond(&body);
                    let _ = socket.write_all(reply.as_bytes()).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        Server { addr, hits }
    }

    fn environment(&self) -> Environment {
        Environment::custom(&format!("http://{}", self.addr)).unwrap()
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

async fn read_request(socket: &mut tokio::net::TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let header_end = loop {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    while buf.len() < header_end + length {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(String::from_utf8_lossy(&buf[header_end..]).into_owned())
}

fn http(status: &str, headers: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

fn token_reply(extra: &str) -> String {
    http(
        "200 OK",
        "Content-Type: application/json\r\n",
        &format!(
            "{{\"access_token\":\"{TOKEN}\",\"token_type\":\"bearer\",\"expires_in\":300{extra}}}"
        ),
    )
}

/// An authenticator for `server` that makes one token request per `access_token` call: failures
/// are reported at once, without retries and their (real) waits.
fn authenticator(server: &Server, credentials: Credentials) -> Authenticator {
    Authenticator::builder(credentials, server.environment())
        .token_retry_policy(RetryPolicy::disabled())
        .build()
        .unwrap()
}

fn error_texts(error: &hm_auth::Error) -> String {
    format!("{error}\n{error:?}")
}

// ---------------------------------------------------------------------------------------------
// Secret leaks through server text.

// ---------------------------------------------------------------------------------------------
// Key inputs.

/// Lossless whitespace damage that keys suffer in YAML files, `.env` files and CI secret fields
/// (indentation, trailing blanks, line breaks turned into spaces, the body on one line) makes the
/// key unusable, and the error blames the wrong thing: "PEM type label invalid" or "error in
/// post-encapsulation boundary", though the label is fine.
#[test]
#[ignore = "attack finding: a PEM with indentation, trailing blanks, spaces for line breaks or one long line is refused with a misleading error"]
fn a_pem_with_whitespace_damage_is_accepted() {
    let body: String = KEY.lines().filter(|l| !l.starts_with("-----")).collect();
    let variants = [
        (
            "indented (YAML block)",
            KEY.lines()
                .map(|l| format!("    {l}\n"))
                .collect::<String>(),
        ),
        (
            "trailing blanks",
            KEY.lines().map(|l| format!("{l} \t\n")).collect(),
        ),
        ("line breaks as spaces", KEY.trim().replace('\n', " ")),
        (
            "body on one line",
            format!("-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----\n"),
        ),
        (
            "blank line inside the body",
            KEY.replacen("\nDPV", "\n\nDPV", 1),
        ),
    ];
    let refused: Vec<String> = variants
        .iter()
        .filter_map(|(name, pem)| {
            Credentials::private_key_pem(CLIENT_ID, "kid", pem)
                .err()
                .map(|e| format!("{name}: {e}"))
        })
        .collect();
    assert!(refused.is_empty(), "refused:\n{}", refused.join("\n"));
}

/// A PEM file holding the public key and then the private key (as some tools write them) is
/// refused with "this is a public key; the private key is needed", though the private key is there.
#[test]
#[ignore = "attack finding: a PEM with the public key before the private key is refused as 'a public key'"]
fn a_pem_with_the_public_key_first_is_accepted() {
    let pem = format!("{PUBLIC_KEY}{KEY}");
    let result = Credentials::private_key_pem(CLIENT_ID, "kid", &pem);
    assert!(result.is_ok(), "{}", result.unwrap_err());
}

/// A passphrase-protected key in OpenSSL's legacy form (`Proc-Type: 4,ENCRYPTED`) fails with "PEM
/// headers disallowed by RFC7468"; the PKCS#8 encrypted form gets the helpful "decrypt it first".
#[test]
#[ignore = "attack finding: an encrypted legacy SEC1 PEM (Proc-Type: 4,ENCRYPTED) is not reported as encrypted"]
fn an_encrypted_legacy_pem_says_it_is_encrypted() {
    let error = Credentials::private_key_pem(CLIENT_ID, "kid", ENCRYPTED_SEC1).unwrap_err();
    let text = error.to_string();
    assert!(
        text.contains("encrypted") || text.contains("passphrase"),
        "{text}"
    );
}

// ---------------------------------------------------------------------------------------------
// Token replies and storms.

/// `AccessToken::new` is the public constructor for `TokenProvider` implementations; a provider
/// that means "does not expire" with `Duration::MAX` panics the caller (Instant overflow).
#[test]
#[ignore = "attack finding: AccessToken::new with a huge lifetime panics (Instant overflow)"]
fn an_access_token_with_a_huge_lifetime_does_not_panic() {
    let made = std::panic::catch_unwind(|| {
        let token = AccessToken::new("t", tokio::time::Instant::now(), Duration::MAX, vec![]);
        let _ = (token.expires_at(), token.expires_in());
    });
    assert!(made.is_ok(), "AccessToken::new panicked");
}

/// A token endpoint that answers 429 with `Retry-After: 120` is asked again by the very next
/// caller: the wait it asked for is forgotten between token requests (and capped at 5 s inside
/// one). Five calls within the two minutes cost five token requests.
#[tokio::test]
#[ignore = "attack finding: a token endpoint's 429 Retry-After is forgotten; every call sends another token request"]
async fn a_rate_limited_token_endpoint_is_not_asked_again_before_retry_after() {
    let server = Server::start(|_| {
        http(
            "429 Too Many Requests",
            "Retry-After: 120\r\nContent-Type: application/json\r\n",
            r#"{"message":"rate limited"}"#,
        )
    })
    .await;
    let auth = authenticator(
        &server,
        Credentials::client_secret(CLIENT_ID, SECRET).unwrap(),
    );
    for _ in 0..5 {
        let error = auth.access_token().await.unwrap_err();
        assert!(error.is_retryable(), "{error}");
    }
    assert_eq!(
        server.hits(),
        1,
        "token requests sent within the Retry-After period"
    );
}

/// `expires_in: 10` is stretched to 30 s: the token is handed out for about 28 s, 18 s after the
/// server said it expires, so calls in that window get 401s (and renewal is throttled after one).
#[tokio::test]
#[ignore = "attack finding: a short expires_in (10 s) is stretched to 30 s; expired tokens are handed out"]
async fn a_short_lived_token_is_not_used_past_its_expiry() {
    let server = Server::start(|_| {
        http(
            "200 OK",
            "Content-Type: application/json\r\n",
            &format!(r#"{{"access_token":"{TOKEN}","token_type":"bearer","expires_in":10}}"#),
        )
    })
    .await;
    let auth = authenticator(
        &server,
        Credentials::client_secret(CLIENT_ID, SECRET).unwrap(),
    );
    let token = auth.access_token().await.unwrap();
    assert!(
        token.lifetime() <= Duration::from_secs(10),
        "lifetime {:?} for expires_in 10",
        token.lifetime()
    );
}

/// Servers that serialise every field send `"error": null` with a good token; it is refused as
/// "an `error` field that is not a string".
#[tokio::test]
#[ignore = "attack finding: a 200 token reply with \"error\": null is refused"]
async fn a_token_reply_with_a_null_error_field_is_accepted() {
    let server = Server::start(|_| token_reply(r#","error":null,"error_description":null"#)).await;
    let auth = authenticator(
        &server,
        Credentials::client_secret(CLIENT_ID, SECRET).unwrap(),
    );
    let token = auth.access_token().await;
    assert!(token.is_ok(), "{}", token.unwrap_err());
}

/// `TokenCache` is offered for "any provider", but `token()` calls `tokio::spawn` while holding
/// its lock: polled by another executor (here `futures::executor::block_on`), it panics with
/// "there is no reactor running" instead of returning an error.
#[test]
#[ignore = "attack finding: TokenCache::token outside a tokio runtime panics (tokio::spawn) instead of failing"]
fn a_token_cache_outside_a_tokio_runtime_does_not_panic() {
    struct Fixed;
    impl hm_auth::TokenProvider for Fixed {
        async fn fetch_token(&self) -> Result<AccessToken, hm_auth::Error> {
            Ok(AccessToken::new(
                "t",
                tokio::time::Instant::now(),
                Duration::from_secs(300),
                vec![],
            ))
        }
    }
    let cache = hm_auth::TokenCache::new(Fixed);
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        futures::executor::block_on(cache.token()).map(|_| ())
    }));
    assert!(outcome.is_ok(), "TokenCache::token panicked");
}
