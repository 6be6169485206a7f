//! Verification of JWT client assertions (the private-key flow of the token endpoint).

use jsonwebtoken::{Algorithm, Validation};
use serde::Deserialize;
use serde_json::Value;

use crate::state::AppState;

/// The assertion type the token endpoint accepts.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

// Claims are read as loose JSON so that a claim of the wrong type is reported by name
// instead of as a generic decoding error.
#[derive(Deserialize)]
struct Claims {
    ver: Option<Value>,
    aud: Option<Value>,
    iat: Option<Value>,
    jti: Option<Value>,
}

/// Checks `assertion` for application `client_id`; `Err` carries the `error_description`.
///
/// Order of checks: it is a JWT signed with ES256, its `iss` names a key of `client_id`, the
/// signature verifies with that key, `ver` is 2, `aud` is the emulator's base URL + `/v1`,
/// `iat` is within the skew window of the real clock, and `jti` was not used before.
/// `iat` is compared with real time, not the virtual clock, because clients sign with real time.
pub fn verify(state: &AppState, client_id: &str, assertion: &str) -> Result<(), String> {
    let header = jsonwebtoken::decode_header(assertion)
        .map_err(|_| "client_assertion is not a well-formed JWT".to_string())?;
    if header.alg != Algorithm::ES256 {
        return Err(format!(
            "client_assertion must be signed with ES256, not {:?}",
            header.alg
        ));
    }
    let unverified: Value = jsonwebtoken::dangerous::insecure_decode_claims(assertion)
        .map_err(|_| "client_assertion has an unreadable payload".to_string())?;
    let key_id = unverified
        .get("iss")
        .and_then(Value::as_str)
        .ok_or("client_assertion has no iss claim (it must be the key id)")?;

    let claims = {
        let registry = state.registry();
        let key = registry
            .keys
            .get(key_id)
            .ok_or_else(|| format!("client_assertion is signed with an unknown key {key_id}"))?;
        if key.client_id != client_id {
            return Err(format!(
                "client_assertion key {key_id} does not belong to client_id {client_id}"
            ));
        }
        let mut validation = Validation::new(Algorithm::ES256);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.validate_aud = false;
        jsonwebtoken::decode::<Claims>(assertion, &key.decoding_key, &validation)
            .map_err(|_| "client_assertion signature is invalid".to_string())?
            .claims
    };

    if claims.ver.as_ref().and_then(Value::as_i64) != Some(2) {
        return Err("client_assertion must have the claim ver: 2".into());
    }
    let audiences = state
        .audiences
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let aud = claims
        .aud
        .as_ref()
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !audiences.iter().any(|a| a == aud) {
        return Err(format!(
            "client_assertion aud {aud:?} is wrong; it must be {}",
            audiences
                .first()
                .map(String::as_str)
                .unwrap_or("the emulator's base URL + /v1")
        ));
    }
    let iat = claims
        .iat
        .as_ref()
        .and_then(Value::as_i64)
        .ok_or("client_assertion must have an integer iat claim")?;
    let now = chrono::Utc::now().timestamp();
    let skew = state.config.iat_skew_secs as i64;
    if (now - iat).abs() > skew {
        return Err(format!(
            "client_assertion iat is {} s away from the server time; at most {skew} s are allowed",
            now - iat
        ));
    }
    let jti = claims
        .jti
        .as_ref()
        .and_then(Value::as_str)
        .filter(|j| !j.is_empty())
        .ok_or("client_assertion must have a jti claim")?;
    let mut seen = state.seen_jtis.lock().unwrap_or_else(|p| p.into_inner());
    // An assertion older than the skew window is refused anyway, so older jtis can be forgotten.
    seen.retain(|_, at| now - *at <= 2 * skew + 1);
    if seen.insert(format!("{key_id}/{jti}"), now).is_some() {
        return Err(
            "client_assertion jti has already been used; sign a new assertion per request".into(),
        );
    }
    Ok(())
}
