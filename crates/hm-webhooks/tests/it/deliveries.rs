//! Typed deliveries: known events decoded, unknown ones and unknown fields kept, malformed bodies
//! refused clearly, and the sender side (`Delivery::signed`) round-tripping through `verify`.

use hm_webhooks::{
    ClearanceStatus, Delivery, Error, Event, FLEET_CLEARANCE_CHANGED, PING, Verifier, header, sign,
};
use http::StatusCode;
use serde_json::value::{RawValue, to_raw_value};
use serde_json::{Value, json};

use crate::support::*;

#[test]
fn unknown_fields_are_kept_in_the_body() {
    let delivery = verifier()
        .verify(
            &signed_headers(REJECTED_SHA256, "d-2", FLEET_CLEARANCE_CHANGED),
            REJECTED_BODY.as_bytes(),
        )
        .unwrap();
    assert!(matches!(
        delivery.event,
        Event::FleetClearanceChanged {
            status: ClearanceStatus::Rejected,
            ..
        }
    ));
    let body: Value = delivery.body_as().unwrap();
    assert_eq!(body["application_id"], "5c4e8a2d");
    assert_eq!(body["sent_at"], "2026-11-28T10:15:00Z");
    assert_eq!(body["vehicle"]["brand"], "sandbox");
    // Nothing lost: the body is the received JSON, byte for byte.
    assert_eq!(delivery.body.get(), REJECTED_BODY);
}

#[test]
fn an_unknown_event_is_kept_with_its_name_and_body() {
    let delivery = verifier()
        .verify(
            &signed_headers(OTHER_EVENT_SHA256, "d-4", "vehicle_data_changed"),
            OTHER_EVENT_BODY.as_bytes(),
        )
        .unwrap();
    assert_eq!(
        delivery.event,
        Event::Other {
            name: "vehicle_data_changed".into()
        }
    );
    assert_eq!(delivery.event.name(), "vehicle_data_changed");
    assert_eq!(
        delivery.body_as::<Value>().unwrap()["data"]["odometer"]["value"],
        1234
    );
}

#[test]
fn an_unknown_clearance_status_is_kept_verbatim() {
    let delivery = verifier()
        .verify(
            &signed_headers(UNKNOWN_STATUS_SHA256, "d-5", FLEET_CLEARANCE_CHANGED),
            UNKNOWN_STATUS_BODY.as_bytes(),
        )
        .unwrap();
    assert_eq!(
        delivery.event,
        Event::FleetClearanceChanged {
            vin: "EXVETESTVIN000001".into(),
            status: "suspended_by_oem".parse::<ClearanceStatus>().unwrap(),
            detail: Some("Brand paused data delivery".into()),
        }
    );
}

#[test]
fn a_ping_with_an_empty_body_is_accepted() {
    let delivery = verifier()
        .verify(&signed_headers(EMPTY_SHA256, "d-6", PING), b"")
        .unwrap();
    assert_eq!(delivery.event, Event::Ping);
    assert_eq!(delivery.body.get(), "null");
}

/// Signs `body` with the crate's own `sign` (itself checked against OpenSSL) and verifies it.
fn verify_signed(event: &str, body: &str) -> Result<Delivery, Error> {
    let signature = sign(&secret(SECRET), body.as_bytes()).sha256;
    let headers = headers(&[
        (header::SIGNATURE_256, &signature),
        (header::DELIVERY, "d-7"),
        (header::EVENT, event),
    ]);
    verifier().verify(&headers, body.as_bytes())
}

#[test]
fn a_clearance_body_without_its_fields_is_refused_saying_which() {
    for (body, expected) in [
        (
            r#"{"event":{"action":"approved"}}"#,
            "`vehicle.vin` is missing",
        ),
        (
            r#"{"vehicle":{"vin":17},"event":{"action":"approved"}}"#,
            "`vehicle.vin` is a number",
        ),
        (
            r#"{"vehicle":{"vin":"EXVETESTVIN000001"}}"#,
            "`event.action` is missing",
        ),
        (
            r#"{"vehicle":{"vin":"EXVETESTVIN000001"},"event":{"action":["approved"]}}"#,
            "`event.action` is an array",
        ),
        (
            r#"{"vehicle":"EXVETESTVIN000001","event":{"action":"approved"}}"#,
            "`vehicle.vin` is missing",
        ),
        (r#"["approved"]"#, "the body is an array"),
        (r#"{"vehicle":"#, "not JSON"),
        ("", "the body is null"),
    ] {
        let error = verify_signed(FLEET_CLEARANCE_CHANGED, body).unwrap_err();
        assert!(
            matches!(&error, Error::MalformedBody { event, .. } if event == FLEET_CLEARANCE_CHANGED),
            "{body}: {error:?}"
        );
        assert!(error.to_string().contains(expected), "{body}: {error}");
        assert_eq!(error.status(), StatusCode::BAD_REQUEST);
    }
}

#[test]
fn a_body_that_is_not_json_is_refused_for_any_event() {
    let error = verify_signed("vehicle_data_changed", "odometer=1234").unwrap_err();
    assert!(
        matches!(&error, Error::MalformedBody { event, detail } if event == "vehicle_data_changed" && detail.contains("not JSON")),
        "{error:?}"
    );
}

#[test]
fn a_null_detail_is_no_detail() {
    let delivery = verify_signed(
        FLEET_CLEARANCE_CHANGED,
        r#"{"vehicle":{"vin":"EXVETESTVIN000001"},"event":{"action":"revoked","detail":null}}"#,
    )
    .unwrap();
    assert_eq!(
        delivery.event,
        Event::FleetClearanceChanged {
            vin: "EXVETESTVIN000001".into(),
            status: ClearanceStatus::Revoked,
            detail: None,
        }
    );
}

#[test]
fn a_signed_delivery_carries_every_header_and_verifies() {
    let sent = Delivery::fleet_clearance_changed(
        "3f1c2a7e-0b5d-4c1e-9a57-2d8f6b0e4c11",
        "EXVETESTVIN000001",
        ClearanceStatus::Rejected,
        Some("The owner declined".into()),
    );
    assert_eq!(
        sent.body_as::<Value>().unwrap(),
        json!({"vehicle": {"vin": "EXVETESTVIN000001"}, "event": {"action": "rejected", "detail": "The owner declined"}})
    );
    let request = sent.signed(&secret(SECRET)).unwrap();
    let header = |name: &str| request.headers.get(name).unwrap().to_str().unwrap();
    assert_eq!(
        header(header::SIGNATURE_256),
        sign(&secret(SECRET), &request.body).sha256
    );
    assert_eq!(
        header(header::SIGNATURE_SHA1),
        sign(&secret(SECRET), &request.body).sha1
    );
    assert_eq!(
        header(header::DELIVERY),
        "3f1c2a7e-0b5d-4c1e-9a57-2d8f6b0e4c11"
    );
    assert_eq!(header(header::EVENT), FLEET_CLEARANCE_CHANGED);
    assert_eq!(header("user-agent"), "HM-Webhook/1.2.0");
    assert_eq!(header("content-type"), "application/json");

    assert_eq!(
        verifier().verify(&request.headers, &request.body).unwrap(),
        sent
    );
    // Without the SHA-256 header, the SHA-1 one alone verifies when accepted.
    let mut legacy = request.headers.clone();
    legacy.remove(header::SIGNATURE_256);
    assert_eq!(
        verifier()
            .accept_legacy_sha1(true)
            .verify(&legacy, &request.body)
            .unwrap(),
        sent
    );
}

#[test]
fn other_events_and_pings_can_be_sent_too() {
    for sent in [
        Delivery {
            id: "p-1".into(),
            event: Event::Ping,
            body: to_raw_value(&json!({})).unwrap(),
        },
        Delivery {
            id: "o-1".into(),
            event: Event::Other {
                name: "vehicle_data_changed".into(),
            },
            // Sent exactly as written, whitespace included.
            body: RawValue::from_string(r#"{ "data": [1, 2, 3] }"#.into()).unwrap(),
        },
    ] {
        let request = sent.signed(&secret(SECRET)).unwrap();
        assert_eq!(
            verifier().verify(&request.headers, &request.body).unwrap(),
            sent
        );
    }
}

#[test]
fn an_id_or_event_a_receiver_would_refuse_is_an_error_for_the_sender() {
    for id in ["line\nbreak", "café"] {
        let sent = Delivery::fleet_clearance_changed(
            id,
            "EXVETESTVIN000001",
            ClearanceStatus::Approved,
            None,
        );
        assert!(matches!(
            sent.signed(&secret(SECRET)),
            Err(Error::InvalidHeader { header, .. }) if header == header::DELIVERY
        ));
    }
    let other = Delivery {
        id: "o-1".into(),
        event: Event::Other {
            name: "\u{7f}".into(),
        },
        body: to_raw_value(&json!({})).unwrap(),
    };
    assert!(matches!(
        other.signed(&secret(SECRET)),
        Err(Error::InvalidHeader { header, .. }) if header == header::EVENT
    ));
}

#[test]
fn deliveries_serialise_and_deserialise() {
    let delivery = verifier()
        .verify(
            &signed_headers(REJECTED_SHA256, "d-2", FLEET_CLEARANCE_CHANGED),
            REJECTED_BODY.as_bytes(),
        )
        .unwrap();
    let json = serde_json::to_value(&delivery).unwrap();
    assert_eq!(json["id"], "d-2");
    assert_eq!(
        json["event"],
        json!({"kind": "fleet_clearance_changed", "vin": "1HM62652356323000", "status": "rejected", "detail": "The owner declined the data access request"})
    );
    assert_eq!(json["body"]["application_id"], "5c4e8a2d");
    // Through a `Value`, the body's fields survive (not their order or spelling).
    let from_value = serde_json::from_value::<Delivery>(json).unwrap();
    assert_eq!(
        (&from_value.id, &from_value.event),
        (&delivery.id, &delivery.event)
    );
    assert_eq!(
        from_value.body_as::<Value>().unwrap(),
        delivery.body_as::<Value>().unwrap()
    );
    // As text, the body is embedded exactly as received.
    let text = serde_json::to_string(&delivery).unwrap();
    assert!(text.contains(REJECTED_BODY), "{text}");
    assert_eq!(serde_json::from_str::<Delivery>(&text).unwrap(), delivery);

    for event in [
        Event::Ping,
        Event::Other { name: "x".into() },
        Event::FleetClearanceChanged {
            vin: "EXVETESTVIN000001".into(),
            status: "paused".parse::<ClearanceStatus>().unwrap(),
            detail: None,
        },
    ] {
        let text = serde_json::to_string(&event).unwrap();
        assert_eq!(
            serde_json::from_str::<Event>(&text).unwrap(),
            event,
            "{text}"
        );
    }
    assert_eq!(
        serde_json::to_value(Event::Ping).unwrap(),
        json!({"kind": "ping"})
    );
}

/// A `vehicle_data_changed` body, correctly signed with the crate's `sign`.
fn verify_other(body: &str) -> Result<Delivery, Error> {
    verify_signed("vehicle_data_changed", body)
}

/// Attack finding (regression): RFC 8259 puts no limit on numbers, but a `serde_json::Value`
/// (without `arbitrary_precision`) refuses one beyond f64, so a correctly signed delivery of
/// another product's event was answered 400 and never reached the application.
#[test]
fn a_signed_body_holding_a_number_beyond_f64_is_kept() {
    let body = r#"{"vehicle":{"vin":"EXVETESTVIN000001"},"reading":1e400,"low":-1e-400}"#;
    let delivery = verify_other(body).expect("a signed, valid JSON body must be kept");
    assert_eq!(delivery.event.name(), "vehicle_data_changed");
    assert_eq!(delivery.body.get(), body);
    // A type of the application's own keeps the number as written.
    #[derive(serde::Deserialize)]
    struct Reading<'a> {
        #[serde(borrow)]
        reading: &'a RawValue,
    }
    assert_eq!(
        delivery.body_as::<Reading>().unwrap().reading.get(),
        "1e400"
    );
    // So does a clearance change carrying one beside its typed fields.
    let clearance =
        r#"{"vehicle":{"vin":"EXVETESTVIN000001"},"event":{"action":"approved"},"odometer":1e400}"#;
    let delivery = verify_signed(FLEET_CLEARANCE_CHANGED, clearance).unwrap();
    assert_eq!(delivery.body.get(), clearance);
}

/// Attack finding (regression): `Delivery::body` is the whole body as received, yet an integer
/// beyond u64 or a decimal with more digits than f64 holds was silently rounded.
#[test]
fn numbers_are_kept_exactly_as_received() {
    let body = r#"{"vehicle":{"vin":"EXVETESTVIN000001"},"sequence":123456789012345678901234567890,"price":0.10000000000000000555,"tiny":1E-7}"#;
    let delivery = verify_other(body).unwrap();
    let kept = delivery.body.to_string();
    assert_eq!(kept, body);
    // Serialised (e.g. queued as a JSON line) and read back, still exact.
    let line = serde_json::to_string(&delivery).unwrap();
    assert!(line.contains("123456789012345678901234567890"), "{line}");
    assert!(line.contains("0.10000000000000000555"), "{line}");
    let queued: Delivery = serde_json::from_str(&line).unwrap();
    assert_eq!(queued.body.get(), body);
    // Forwarded by a sender, the same bytes are signed and sent again.
    let resent = queued.signed(&secret(SECRET)).unwrap();
    assert_eq!(resent.body, body.as_bytes());
}

/// Attack finding (regression): a clearance change whose optional `detail` was not a string
/// (e.g. a structured reason) was refused with 400, so the application never learnt that the
/// clearance was rejected. The status arrives, the reason as its JSON text.
#[test]
fn a_structured_detail_does_not_lose_the_status_change() {
    let detail = r#"{"code":"owner_declined","message":"the owner declined"}"#;
    let body = format!(
        r#"{{"vehicle":{{"vin":"EXVETESTVIN000001"}},"event":{{"action":"rejected","detail":{detail}}}}}"#
    );
    let delivery =
        verify_signed(FLEET_CLEARANCE_CHANGED, &body).expect("the status change must be delivered");
    assert_eq!(
        delivery.event,
        Event::FleetClearanceChanged {
            vin: "EXVETESTVIN000001".into(),
            status: ClearanceStatus::Rejected,
            detail: Some(detail.into()),
        }
    );
    assert_eq!(
        delivery.body_as::<Value>().unwrap()["event"]["detail"]["code"],
        "owner_declined"
    );
    // Any other form of reason too.
    for (detail, text) in [
        ("42", "42"),
        ("[\"a\",\"b\"]", "[\"a\",\"b\"]"),
        ("false", "false"),
    ] {
        let body = format!(
            r#"{{"vehicle":{{"vin":"EXVETESTVIN000001"}},"event":{{"action":"revoked","detail":{detail}}}}}"#
        );
        let delivery = verify_signed(FLEET_CLEARANCE_CHANGED, &body).unwrap();
        assert!(
            matches!(&delivery.event, Event::FleetClearanceChanged { status: ClearanceStatus::Revoked, detail: Some(d), .. } if d == text),
            "{:?}",
            delivery.event
        );
    }
}

/// Attack finding (regression): `Delivery::signed` signed empty or blank ids and event names
/// that this crate's own verifier then refused, so a sender retried a delivery that could never
/// arrive. Both sides now follow one rule: whatever `signed` accepts, `verify` accepts.
#[test]
fn whatever_signed_accepts_the_verifier_accepts() {
    let secret = secret(SECRET);
    let verifier = Verifier::new(secret.clone());
    let with = |id: &str, event: &str| Delivery {
        id: id.into(),
        event: Event::Other { name: event.into() },
        body: to_raw_value(&json!({})).unwrap(),
    };
    let longest = "i".repeat(header::MAX_VALUE_BYTES);
    let too_long = "i".repeat(header::MAX_VALUE_BYTES + 1);
    let mut refused_by_signed = 0;
    for delivery in [
        with("", "ping"),
        with("   ", "ping"),
        with(" d-1", "ping"),
        with("d-1 ", "ping"),
        with("d-1", " "),
        with("d-1", ""),
        with("d-1", "\tping"),
        with("line\nbreak", "ping"),
        with(&too_long, "ping"),
        with("d-1", &too_long),
        with("d 1", "an event"),
        with(&longest, &longest),
    ] {
        match delivery.signed(&secret) {
            Ok(request) => {
                let received = verifier
                    .verify(&request.headers, &request.body)
                    .unwrap_or_else(|error| {
                        panic!(
                            "signed() accepted id {:?} / event {:?}, the verifier refused it: {error}",
                            delivery.id,
                            delivery.event.name()
                        )
                    });
                assert_eq!(received, delivery);
            }
            Err(error) => {
                refused_by_signed += 1;
                assert_eq!(error.status(), StatusCode::BAD_REQUEST, "{error}");
            }
        }
    }
    assert_eq!(refused_by_signed, 10);
    assert!(matches!(
        with(&too_long, "ping").signed(&secret),
        Err(Error::HeaderTooLong { header, limit: 256 }) if header == header::DELIVERY
    ));
    assert!(matches!(
        with("d-1", &too_long).signed(&secret),
        Err(Error::HeaderTooLong { header, limit: 256 }) if header == header::EVENT
    ));
}
