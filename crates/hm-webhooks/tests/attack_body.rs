//! Attack findings against typed deliveries: signed, valid JSON bodies refused or altered.
//!
//! Each test passes once the weakness is fixed; until then it is ignored so that CI stays green.

// Helpers outside `#[test]` functions are test code too.
#![allow(clippy::unwrap_used)]

use hm_webhooks::{
    ClearanceStatus, Event, FLEET_CLEARANCE_CHANGED, Verifier, WebhookSecret, header, sign,
};
use http::{HeaderMap, HeaderValue};

const SECRET: &str = "attack-secret";

fn verifier() -> Verifier {
    Verifier::new(WebhookSecret::new(SECRET).unwrap())
}

/// The headers High Mobility sends for `body`, correctly signed.
fn signed_headers(event: &str, body: &[u8]) -> HeaderMap {
    let signatures = sign(&WebhookSecret::new(SECRET).unwrap(), body);
    let mut headers = HeaderMap::new();
    headers.insert(
        header::SIGNATURE_256,
        HeaderValue::from_str(&signatures.sha256).unwrap(),
    );
    headers.insert(header::DELIVERY, HeaderValue::from_static("d-1"));
    headers.insert(header::EVENT, HeaderValue::from_str(event).unwrap());
    headers
}

/// RFC 8259 JSON puts no limit on numbers, but `serde_json::Value` (without
/// `arbitrary_precision`) refuses one outside f64's range. A correctly signed delivery of
/// another product's event is then answered 400 and never reaches the application, although
/// such events "must be kept, not refused".
#[ignore = "attack finding: a signed body holding a number beyond f64 range is refused with 400"]
#[test]
fn attack_signed_body_with_huge_number_is_kept() {
    let body = br#"{"vehicle":{"vin":"EXVETESTVIN000001"},"reading":1e400}"#;
    let delivery = verifier()
        .verify(&signed_headers("vehicle_data_changed", body), body)
        .expect("a signed, valid JSON body of an unknown event must be kept");
    assert_eq!(delivery.event.name(), "vehicle_data_changed");
}

/// `Delivery::body` is documented as "the whole JSON body as received". An integer above
/// u64 (an id, a counter) or a decimal with more digits than f64 holds is silently rounded.
#[ignore = "attack finding: Delivery::body rounds large integers and long decimals (not the body as received)"]
#[test]
fn attack_body_keeps_numbers_as_received() {
    let body = br#"{"vehicle":{"vin":"EXVETESTVIN000001"},"sequence":123456789012345678901234567890,"price":0.10000000000000000555}"#;
    let delivery = verifier()
        .verify(&signed_headers("vehicle_data_changed", body), body)
        .unwrap();
    let kept = delivery.body.to_string();
    assert!(
        kept.contains("123456789012345678901234567890"),
        "the integer was altered: {kept}"
    );
    assert!(
        kept.contains("0.10000000000000000555"),
        "the decimal was altered: {kept}"
    );
}

/// `event.detail` is an optional free-form reason. If High Mobility ever sends it structured
/// (an object with a code and a message), the whole status change is refused with 400, so the
/// application never learns that the clearance was rejected. The status and the raw body are
/// intact; only the optional typed `detail` cannot be filled.
#[ignore = "attack finding: a clearance change whose optional `detail` is not a string is refused, status lost"]
#[test]
fn attack_structured_detail_does_not_lose_the_status_change() {
    let body = br#"{"vehicle":{"vin":"EXVETESTVIN000001"},"event":{"action":"rejected","detail":{"code":"owner_declined","message":"the owner declined"}}}"#;
    let delivery = verifier()
        .verify(&signed_headers(FLEET_CLEARANCE_CHANGED, body), body)
        .expect("the status change must be delivered");
    assert!(
        matches!(
            delivery.event,
            Event::FleetClearanceChanged {
                status: ClearanceStatus::Rejected,
                ..
            }
        ),
        "{:?}",
        delivery.event
    );
    assert_eq!(delivery.body["event"]["detail"]["code"], "owner_declined");
}
