//! The headers High Mobility sends with every webhook delivery.
//!
//! The names are written as High Mobility documents them; `http::HeaderMap` compares names
//! case-insensitively, so `headers.get(header::SIGNATURE_256)` and `headers.insert(header::EVENT, ..)`
//! work as they are.

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
