//! The headers High Mobility sends with every webhook delivery.
//!
//! The names are written as High Mobility documents them; `http::HeaderMap` compares names
//! case-insensitively, so `headers.get(header::SIGNATURE_256)` and `headers.insert(header::EVENT, ..)`
//! work as they are.

use crate::Error;

/// `X-HM-Signature-256: sha256=<hex HMAC-SHA256 of the raw body, keyed with the secret>`.
pub const SIGNATURE_256: &str = "X-HM-Signature-256";

/// `X-HM-Signature: sha1=<hex HMAC-SHA1>`: the deprecated legacy signature, still sent.
pub const SIGNATURE_SHA1: &str = "X-HM-Signature";

/// `X-HM-Delivery`: the delivery's unique id, the same on every retry of one delivery.
pub const DELIVERY: &str = "X-HM-Delivery";

/// `X-HM-Event`: the event's name, e.g. `fleet_clearance_changed` or `ping`.
pub const EVENT: &str = "X-HM-Event";

/// The `User-Agent` High Mobility's webhook sender identifies itself with.
pub const USER_AGENT_VALUE: &str = "HM-Webhook/1.2.0";

/// The `Content-Type` of every delivery.
pub const CONTENT_TYPE_VALUE: &str = "application/json";

/// The longest `X-HM-Delivery` or `X-HM-Event` value accepted, in bytes, by receivers and by
/// [`Delivery::signed`](crate::Delivery::signed) alike. High Mobility's are far shorter; these
/// headers are not signed, so a limit keeps a replayed body with a huge id out of memory.
pub const MAX_VALUE_BYTES: usize = 256;

/// The one rule for an `X-HM-Delivery` or `X-HM-Event` value, shared by senders and receivers so
/// that nothing is signed that a receiver refuses: 1 to [`MAX_VALUE_BYTES`] visible ASCII
/// characters, spaces allowed inside but not at either end (HTTP drops them on the way).
pub(crate) fn check_text<'t>(header: &'static str, text: &'t str) -> Result<&'t str, Error> {
    let invalid = |problem| Error::InvalidHeader { header, problem };
    if text.len() > MAX_VALUE_BYTES {
        return Err(Error::HeaderTooLong {
            header,
            limit: MAX_VALUE_BYTES,
        });
    }
    if text.trim().is_empty() {
        return Err(invalid("it is empty or blank"));
    }
    if !text.bytes().all(|b| b == b' ' || b.is_ascii_graphic()) {
        return Err(invalid("it is not visible ASCII"));
    }
    if text.starts_with(' ') || text.ends_with(' ') {
        return Err(invalid("it begins or ends with a space"));
    }
    Ok(text)
}
