//! Shared vectors and helpers.
//!
//! Every digest below was computed outside this crate, with OpenSSL 3.0:
//! `printf '%s' "$BODY" | openssl dgst -sha256 -hmac "$SECRET"` (and `-sha1`).

#![allow(dead_code)]

use hm_webhooks::{Verifier, WebhookSecret, header};
use http::{HeaderMap, HeaderValue};

/// The webhook secret of most tests; distinctive, so that a leak is easy to find in any output.
pub const SECRET: &str = "whsec-fleet-7f3a9c";
/// The secret a rotation moves to.
pub const ROTATED_SECRET: &str = "rotated-secret-2026";

/// An approval.
pub const APPROVED_BODY: &str =
    r#"{"vehicle":{"vin":"EXVETESTVIN000001"},"event":{"action":"approved"}}"#;
pub const APPROVED_SHA256: &str =
    "794a2c055c24d661b830eee3de1becf4eea687c4ed5e31ac14d6515ddb4ff6d1";
pub const APPROVED_SHA1: &str = "023133061994a349604c46768d94e47e16b63dc8";
/// APPROVED_BODY signed with ROTATED_SECRET.
pub const APPROVED_SHA256_ROTATED: &str =
    "1d704239fb568540858b1f90c0166c67457dfd5524ecc777f976bf46697c4004";
/// APPROVED_BODY signed with a 100-byte secret (longer than SHA-256's 64-byte block, so the
/// HMAC hashes the key first).
pub const LONG_SECRET: &str = "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk";
pub const APPROVED_SHA256_LONG_SECRET: &str =
    "51d40eef42c57ac98e2e4b933383334c4d657085e847d42d7fadd58ecf544067";

/// A rejection with a reason and fields this crate does not know.
pub const REJECTED_BODY: &str = r#"{"vehicle":{"vin":"1HM62652356323000","brand":"sandbox"},"event":{"action":"rejected","detail":"The owner declined the data access request"},"application_id":"5c4e8a2d","sent_at":"2026-11-28T10:15:00Z"}"#;
pub const REJECTED_SHA256: &str =
    "1f8695c29c7643020ae58dcef2f4668025ba3392e7ed4c72cbc34002fa0d1bcb";
pub const REJECTED_SHA1: &str = "fc1b6df20894d3c56438b28c0afedaf0a7239bf6";

/// A ping.
pub const PING_BODY: &str = r#"{"ping":"configured"}"#;
pub const PING_SHA256: &str = "9904fb4693afc48d27db4078085a077c19631f0b2e7ce7a9f13a1a7992f90371";
pub const PING_SHA1: &str = "a9ce016ed82200531066e6e10ed6f5539068eb13";
/// The empty body.
pub const EMPTY_SHA256: &str = "c1dbae40dbebf6b746a6b0701b70290d7aa2304dae70e2413570b32a6d8957e6";

/// Another product's event, with its own data.
pub const OTHER_EVENT_BODY: &str = r#"{"vehicle":{"vin":"EXVETESTVIN000001"},"event":{"action":"odometer_updated"},"data":{"odometer":{"value":1234,"unit":"km"}}}"#;
pub const OTHER_EVENT_SHA256: &str =
    "68dbdf7bf2fe1c6033702727ef326cef4fc2945ef3a96e76216bd9fe952778c7";

/// A clearance status the spec does not list.
pub const UNKNOWN_STATUS_BODY: &str = r#"{"vehicle":{"vin":"EXVETESTVIN000001"},"event":{"action":"suspended_by_oem","detail":"Brand paused data delivery"}}"#;
pub const UNKNOWN_STATUS_SHA256: &str =
    "7f8ab5d9bf8ea93748a7dc29dd6c11c750388b1cfefd3d695f99edea361b27b6";

pub fn secret(text: &str) -> WebhookSecret {
    WebhookSecret::new(text).unwrap()
}

pub fn verifier() -> Verifier {
    Verifier::new(secret(SECRET))
}

/// Headers from name/value pairs; a name given twice is sent twice.
pub fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(*name, HeaderValue::from_str(value).unwrap());
    }
    map
}

/// A delivery's headers with only the SHA-256 signature.
pub fn signed_headers(sha256_hex: &str, id: &str, event: &str) -> HeaderMap {
    headers(&[
        (header::SIGNATURE_256, &format!("sha256={sha256_hex}")),
        (header::DELIVERY, id),
        (header::EVENT, event),
    ])
}
