//! Credentials stay on the configured origin: token requests never follow a redirect, and a base
//! URL with user info is refused without echoing the password.

use hm_auth::{Authenticator, Environment, Error, ErrorKind};

use crate::support::*;

#[tokio::test]
async fn a_redirected_token_request_is_never_followed() {
    let thief = TestServer::scripted(vec![Reply::json(200, token_reply("stolen-token", 300))]);
    for status in [301, 302, 303, 307, 308] {
        let location = format!("{}/v1/access_tokens?from=redirect", thief.url);
        let endpoint =
            TestServer::scripted(vec![Reply::status(status).header("location", location)]);
        // The user's client settings ask for redirects to be followed: hm-auth overrides that.
        let auth = quick_builder(secret_credentials(), endpoint.environment())
            .token_client_builder(
                reqwest::Client::builder().redirect(reqwest::redirect::Policy::limited(10)),
            )
            .build()
            .unwrap();
        let err = auth.access_token().await.unwrap_err();
        assert!(
            matches!(&err, Error::TokenRedirect { status: s, location } if *s == status && *location == thief.url),
            "{status}: {err:?}"
        );
        assert_eq!(err.kind(), ErrorKind::RedirectRefused);
        assert!(!err.is_retryable());
        let text = err.to_string();
        assert!(
            text.contains(&format!("HTTP {status}")) && text.contains(&thief.url),
            "{text}"
        );
        assert!(
            !text.contains("from=redirect"),
            "only the origin is named: {text}"
        );
        // Not retried, not cached: the next call asks the endpoint again and fails again.
        assert_eq!(endpoint.seen().len(), 1);
        auth.access_token().await.unwrap_err();
        assert_eq!(endpoint.seen().len(), 2);
    }
    assert!(
        thief.seen().is_empty(),
        "the redirect target received a request: {:?}",
        thief.seen()
    );
}

#[tokio::test]
async fn a_relative_redirect_is_refused_too() {
    let endpoint = TestServer::scripted(vec![
        Reply::status(307).header("location", "/v2/access_tokens"),
        Reply::json(200, token_reply(TOKEN, 300)),
    ]);
    let err = token_error(quick_builder(secret_credentials(), endpoint.environment())).await;
    assert_eq!(err.kind(), ErrorKind::RedirectRefused, "{err}");
    assert_eq!(endpoint.seen().len(), 1);
    assert!(
        endpoint
            .seen()
            .iter()
            .all(|s| s.path == "/v1/access_tokens"),
        "{:?}",
        endpoint.seen()
    );
}

#[test]
fn a_base_url_with_user_info_is_refused_without_echoing_the_password() {
    const PASSWORD: &str = "hunter2-very-secret";
    let url = format!("https://user:{PASSWORD}@api.high-mobility.com");
    let err = Environment::custom(&url).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let text = format!("{err} {err:?}");
    assert!(text.contains("user info"), "{text}");
    assert!(
        !text.contains(PASSWORD) && !text.contains("user:"),
        "{text}"
    );

    // Given as a `Url`, the environment prints no user info, and the builder refuses it.
    let environment = Environment::from(url::Url::parse(&url).unwrap());
    let shown = format!("{environment} {environment:?}");
    assert!(
        !shown.contains(PASSWORD) && !shown.contains("user"),
        "{shown}"
    );
    let err = Authenticator::builder(secret_credentials(), environment)
        .build()
        .unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(matches!(err, Error::InvalidBaseUrl { .. }), "{text}");
    assert!(!text.contains(PASSWORD), "{text}");

    // Text that does not even parse as a URL is not echoed with its password either.
    for bad in [
        format!("https://user:{PASSWORD}@"),
        format!("user:{PASSWORD}@host"),
        format!("http://user:{PASSWORD}@10.0.0.1"),
    ] {
        let err = Environment::custom(&bad).unwrap_err();
        let text = format!("{err} {err:?}");
        assert!(!text.contains(PASSWORD), "{text}");
    }
}

/// Typed without percent-encoding, a password with `/`, `?` or `#` ends the authority early: the
/// text does not parse (or parses as a host named after the user, with the password in its
/// path). Either way it is refused, and the password is not echoed.
#[test]
fn a_base_url_password_with_a_slash_question_mark_or_hash_is_not_echoed() {
    for separator in ['/', '?', '#', '@'] {
        for password in [
            format!("Pa55{separator}wordVerySecret"),
            format!("12{separator}wordVerySecret"),
        ] {
            let url = format!("https://ops:{password}@api.example.com");
            let err = Environment::custom(&url).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{url}: {err}");
            let err_parsed = url.parse::<Environment>().unwrap_err();
            for err in [err, err_parsed] {
                let text = format!("{err} {err:?}");
                assert!(
                    !text.contains("wordVerySecret") && !text.contains(&password[..4]),
                    "password quoted: {text}"
                );
            }
        }
    }
}
