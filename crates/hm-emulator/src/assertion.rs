//! Verification of JWT client assertions (the private-key flow of the token endpoint).
//!
//! Parsed by hand rather than through a JWT library, because the point is to refuse everything
//! High Mobility refuses: the header is exactly `{"alg":"ES256","typ":"JWT"}`, the claims are
//! exactly `ver`, `iss`, `aud`, `iat` and `jti`, the parts are unpadded base64url (RFC 7515), and
//! the signature is the 64-byte JOSE form `r || s`, not DER.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::Signature;
use p256::ecdsa::signature::Verifier;
use serde_json::{Map, Value};

use crate::state::AppState;

/// Longest assertion accepted; a real one is about 400 characters.
const MAX_ASSERTION_LEN: usize = 4096;
/// Longest `jti` accepted (each is remembered for a while to refuse replays).
const MAX_JTI_LEN: usize = 256;
const CLAIMS: [&str; 5] = ["ver", "iss", "aud", "iat", "jti"];

/// Checks `assertion` for application `client_id`; `Err` carries the `error_description`.
///
/// `audience` is the `aud` the client must have signed: this emulator's base URL as the client
/// reached it, + `/v1` (`Err` when the request's `Host` does not name this emulator).
/// Order: syntax, header, claim names and types, key (`iss`) of `client_id`, signature, `ver`,
/// `aud`, `iat` within the skew window of the real clock (clients sign with real time, not the
/// virtual clock), and last the `jti`, which is recorded only when everything else holds.
pub fn verify(
    state: &AppState,
    client_id: &str,
    assertion: &str,
    audience: Result<String, String>,
) -> Result<(), String> {
    if assertion.len() > MAX_ASSERTION_LEN {
        return Err(format!(
            "client_assertion is longer than {MAX_ASSERTION_LEN} characters"
        ));
    }
    let parts: Vec<&str> = assertion.split('.').collect();
    let [header_b64, claims_b64, signature_b64] = parts[..] else {
        return Err(
            "client_assertion is not a well-formed JWT (three base64url parts joined by '.')"
                .into(),
        );
    };
    check_header(&decode_json("header", header_b64)?)?;
    let claims = decode_json("payload", claims_b64)?;
    let claims = Claims::read(&claims)?;
    let signature = decode_part("signature", signature_b64)?;

    {
        let registry = state.registry();
        let key = registry.keys.get(claims.iss).ok_or_else(|| {
            format!(
                "client_assertion is signed with an unknown key {:?}",
                claims.iss
            )
        })?;
        if key.client_id != client_id {
            return Err(format!(
                "client_assertion key {:?} does not belong to client_id {client_id}",
                claims.iss
            ));
        }
        let signature = Signature::from_slice(&signature).map_err(|_| {
            format!(
                "client_assertion signature must be the 64-byte JOSE form r||s of ES256 (got {} bytes; DER is not accepted)",
                signature.len()
            )
        })?;
        let signed = &assertion[..header_b64.len() + 1 + claims_b64.len()];
        key.verifying_key
            .verify(signed.as_bytes(), &signature)
            .map_err(|_| "client_assertion signature is invalid".to_string())?;
    }

    if claims.ver != Some(2) {
        return Err("client_assertion must have the claim ver: 2 (a number)".into());
    }
    let audience =
        audience.map_err(|why| format!("client_assertion aud cannot be checked: {why}"))?;
    if claims.aud != audience {
        return Err(format!(
            "client_assertion aud {:?} is wrong; it must be {audience:?}",
            claims.aud
        ));
    }
    let now = chrono::Utc::now().timestamp();
    let skew = i64::try_from(state.config.iat_skew_secs).unwrap_or(i64::MAX);
    // Checked: an iat near i64::MIN or i64::MAX must be refused, not overflow.
    let within_skew = claims
        .iat
        .and_then(|iat| now.checked_sub(iat))
        .and_then(i64::checked_abs)
        .is_some_and(|drift| drift <= skew);
    if !within_skew {
        return Err(format!(
            "client_assertion iat {} is not within {skew} s of the server time {now}; sign with the current unix time",
            claims.iat_text
        ));
    }
    if !state.replay.first_use(
        claims.iss,
        claims.jti,
        now,
        skew.saturating_mul(2).saturating_add(1),
    ) {
        return Err(
            "client_assertion jti has already been used; sign a new assertion per request".into(),
        );
    }
    Ok(())
}

/// The five claims, type-checked; values are judged later.
struct Claims<'a> {
    ver: Option<u64>,
    iss: &'a str,
    aud: &'a str,
    iat: Option<i64>,
    iat_text: String,
    jti: &'a str,
}

impl<'a> Claims<'a> {
    fn read(claims: &'a Map<String, Value>) -> Result<Self, String> {
        if let Some(extra) = claims.keys().find(|k| !CLAIMS.contains(&k.as_str())) {
            return Err(format!(
                "client_assertion has the claim {extra:?}; only ver, iss, aud, iat and jti are allowed"
            ));
        }
        if let Some(missing) = CLAIMS.iter().find(|c| !claims.contains_key(**c)) {
            return Err(format!("client_assertion must have a {missing} claim"));
        }
        let text = |name: &str| {
            claims[name]
                .as_str()
                .filter(|s| !s.trim().is_empty())
                .ok_or_else(|| format!("client_assertion claim {name} must be a non-empty string"))
        };
        let iat = &claims["iat"];
        if !(iat.is_i64() || iat.is_u64()) {
            return Err("client_assertion claim iat must be an integer (unix seconds)".into());
        }
        let jti = text("jti")?;
        if jti.len() > MAX_JTI_LEN {
            return Err(format!(
                "client_assertion jti is longer than {MAX_JTI_LEN} characters"
            ));
        }
        Ok(Self {
            ver: claims["ver"].as_u64(),
            iss: text("iss")?,
            aud: claims["aud"]
                .as_str()
                .ok_or("client_assertion claim aud must be a string")?,
            // Larger than i64::MAX (a u64) is out of any window: kept as None.
            iat: iat.as_i64(),
            iat_text: iat.to_string(),
            jti,
        })
    }
}

fn check_header(header: &Map<String, Value>) -> Result<(), String> {
    let expected = "client_assertion header must be exactly {\"alg\":\"ES256\",\"typ\":\"JWT\"}";
    if let Some(extra) = header.keys().find(|k| *k != "alg" && *k != "typ") {
        return Err(format!("{expected}; it has {extra:?}"));
    }
    match header.get("alg").and_then(Value::as_str) {
        Some("ES256") => {}
        Some(other) => return Err(format!("{expected}; alg is {other:?}")),
        None => return Err(format!("{expected}; alg is missing or not a string")),
    }
    match header.get("typ").and_then(Value::as_str) {
        Some("JWT") => Ok(()),
        Some(other) => Err(format!("{expected}; typ is {other:?}")),
        None => Err(format!("{expected}; typ is missing or not a string")),
    }
}

/// Base64url without padding, canonical (no stray bits), as RFC 7515 requires.
fn decode_part(what: &str, part: &str) -> Result<Vec<u8>, String> {
    if part.contains('=') {
        return Err(format!(
            "client_assertion is not a well-formed JWT: its {what} is padded, and JWT parts are \
             base64url without '=' padding"
        ));
    }
    URL_SAFE_NO_PAD.decode(part).map_err(|_| {
        format!("client_assertion is not a well-formed JWT: its {what} is not base64url")
    })
}

fn decode_json(what: &str, part: &str) -> Result<Map<String, Value>, String> {
    let bytes = decode_part(what, part)?;
    match crate::strict_json::parse(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(format!(
            "client_assertion is not a well-formed JWT: its {what} is not a JSON object"
        )),
        Err(e) => Err(format!(
            "client_assertion is not a well-formed JWT: its {what} is not valid JSON ({e})"
        )),
    }
}
