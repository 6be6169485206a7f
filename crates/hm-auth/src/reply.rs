//! What a token endpoint reply means: a token, or the error that names what went wrong.
//! Strict about what it accepts; every piece of server text is cleaned before it is kept.

use std::time::Duration;

use reqwest::StatusCode;
use secrecy::SecretString;
use secrecy::zeroize::Zeroizing;
use serde_json::Value;
use tokio::time::Instant;

use crate::scrub::Scrubber;
use crate::{AccessToken, Error};

/// Assumed when the reply has no usable `expires_in`: the lifetime High Mobility documents.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(300);
/// Upper bound, so that a reply of "ten years" cannot pin a revoked token in memory. There is no
/// lower bound: a token is never used past the expiry its server gave it (a reply of `0` costs a
/// token request per second at most, see `TokenCache`).
const MAX_LIFETIME: Duration = Duration::from_secs(3600);
/// How much of an OAuth `error` / `error_description` an error may quote.
const ERROR_CODE_MAX: usize = 60;
const DESCRIPTION_MAX: usize = 200;
const CONTENT_TYPE_MAX: usize = 60;

/// A reply as received, before it is judged.
pub(crate) struct RawReply {
    pub(crate) status: StatusCode,
    pub(crate) content_type: String,
    /// The origin a `Location` header points to.
    pub(crate) location: String,
    pub(crate) retry_after: Option<Duration>,
    /// Server `Date` minus our clock, in seconds (JWT flow only).
    pub(crate) clock_skew_secs: Option<i64>,
    /// When the request was sent: the token's lifetime counts from here.
    pub(crate) sent_at: Instant,
    pub(crate) bytes: Zeroizing<Vec<u8>>,
}

/// The token in `reply`, or the error it amounts to.
pub(crate) fn interpret(mut reply: RawReply, scrubber: &Scrubber) -> Result<AccessToken, Error> {
    // Server text too, if only a header.
    reply.content_type = scrubber.short(&reply.content_type, CONTENT_TYPE_MAX);
    classify(&reply, scrubber)?;
    parse(&reply, scrubber)
}

/// Fails for every status but a success: redirects, OAuth rejections, other statuses.
fn classify(reply: &RawReply, scrubber: &Scrubber) -> Result<(), Error> {
    let status = reply.status;
    if status.is_success() {
        return Ok(());
    }
    if status.is_redirection() {
        return Err(Error::TokenRedirect {
            status: status.as_u16(),
            location: reply.location.clone(),
        });
    }
    let json = serde_json::from_slice::<Value>(&reply.bytes).ok();
    if status.is_client_error()
        && status != StatusCode::TOO_MANY_REQUESTS
        && let Some(rejection) = json.as_ref().and_then(|j| oauth_error(j, reply, scrubber))
    {
        return Err(rejection);
    }
    Err(Error::TokenEndpointStatus {
        status: status.as_u16(),
        attempts: 1,
        body: scrubber.describe_body(&reply.content_type, &reply.bytes),
        retry_after: reply.retry_after,
    })
}

/// `{error, error_description}` as [`Error::TokenRejected`], if the JSON has a string `error`.
fn oauth_error(json: &Value, reply: &RawReply, scrubber: &Scrubber) -> Option<Error> {
    let error = json.get("error")?.as_str()?;
    let description = json
        .get("error_description")
        .and_then(Value::as_str)
        .unwrap_or("no description");
    Some(Error::TokenRejected {
        status: reply.status.as_u16(),
        error: scrubber.short(error, ERROR_CODE_MAX),
        description: scrubber.short(description, DESCRIPTION_MAX),
        clock_skew_secs: reply.clock_skew_secs,
    })
}

/// The token in a success reply: JSON, no `error`, `token_type` bearer, a sendable `access_token`.
fn parse(reply: &RawReply, scrubber: &Scrubber) -> Result<AccessToken, Error> {
    let status = reply.status.as_u16();
    let invalid = |reason: String| Error::InvalidTokenResponse { status, reason };
    // Not quoted: a success body that is not JSON may still be, or contain, a token.
    let json: Value = serde_json::from_slice(&reply.bytes).map_err(|e| {
        invalid(format!(
            "the body is not JSON ({} at line {} column {}; {}, {} bytes)",
            category(&e),
            e.line(),
            e.column(),
            reply.content_type,
            reply.bytes.len()
        ))
    })?;
    let Value::Object(fields) = &json else {
        return Err(invalid("the body is JSON but not an object".to_owned()));
    };
    // Whatever is wrong with the reply, the token it carries is not quoted.
    let with_token;
    let scrubber = match fields.get("access_token").and_then(Value::as_str) {
        Some(token) => {
            with_token = scrubber.also(token);
            &with_token
        }
        None => scrubber,
    };
    // Servers that serialise every field send `"error": null` with a good token.
    if fields.get("error").is_some_and(|e| !e.is_null()) {
        return Err(oauth_error(&json, reply, scrubber).unwrap_or_else(|| {
            invalid("the reply carries an `error` field that is not a string".to_owned())
        }));
    }
    match fields.get("token_type") {
        Some(Value::String(kind)) if kind.eq_ignore_ascii_case("bearer") => {}
        Some(Value::String(kind)) => {
            return Err(invalid(format!(
                "the `token_type` is `{}`, not `bearer`",
                scrubber.short(kind, 40)
            )));
        }
        Some(_) => return Err(invalid("the `token_type` is not a string".to_owned())),
        None => return Err(invalid("the reply has no `token_type`".to_owned())),
    }
    let token = match fields.get("access_token") {
        Some(Value::String(token)) if !token.trim().is_empty() => token,
        Some(Value::String(_)) | None | Some(Value::Null) => {
            return Err(invalid("the reply has no `access_token`".to_owned()));
        }
        Some(_) => return Err(invalid("the `access_token` is not a string".to_owned())),
    };
    // Checked here so that a token that cannot be sent fails the token request, not every call.
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(invalid(
            "the `access_token` contains characters that cannot be sent in an HTTP header"
                .to_owned(),
        ));
    }
    let scopes = fields
        .get("scope")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    Ok(AccessToken::new(
        SecretString::from(token.as_str()),
        reply.sent_at,
        clamp_lifetime(fields.get("expires_in")),
        scopes,
    ))
}

/// What kind of JSON error, in words (serde's message alone can quote input).
fn category(error: &serde_json::Error) -> &'static str {
    match error.classify() {
        serde_json::error::Category::Io => "read error",
        serde_json::error::Category::Syntax => "syntax error",
        serde_json::error::Category::Data => "unexpected data",
        serde_json::error::Category::Eof => "unexpected end",
    }
}

/// `expires_in` within [0, MAX_LIFETIME]; DEFAULT_LIFETIME when absent or not a number.
fn clamp_lifetime(expires_in: Option<&Value>) -> Duration {
    let seconds = match expires_in {
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    match seconds {
        Some(s) if s.is_finite() => {
            let clamped = s.clamp(0.0, MAX_LIFETIME.as_secs_f64());
            Duration::from_secs_f64(clamped)
        }
        _ => DEFAULT_LIFETIME,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lifetimes_are_clamped() {
        assert_eq!(clamp_lifetime(Some(&json!(300))), Duration::from_secs(300));
        assert_eq!(clamp_lifetime(None), DEFAULT_LIFETIME);
        assert_eq!(clamp_lifetime(Some(&json!(10))), Duration::from_secs(10));
        assert_eq!(
            clamp_lifetime(Some(&json!(0.5))),
            Duration::from_millis(500)
        );
        assert_eq!(clamp_lifetime(Some(&json!(0))), Duration::ZERO);
        assert_eq!(clamp_lifetime(Some(&json!(-20))), Duration::ZERO);
        assert_eq!(clamp_lifetime(Some(&json!(315_360_000))), MAX_LIFETIME);
        assert_eq!(
            clamp_lifetime(Some(&json!("300"))),
            Duration::from_secs(300)
        );
        assert_eq!(clamp_lifetime(Some(&json!("soon"))), DEFAULT_LIFETIME);
    }
}
