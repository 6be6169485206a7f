//! Typed deliveries: known events decoded, unknown ones and unknown fields kept, malformed bodies
//! refused clearly, and the sender side (`Delivery::signed`) round-tripping through `verify`.

use hm_webhooks::{
    ClearanceStatus, Delivery, Error, Event, FLEET_CLEARANCE_CHANGED, PING, header, sign,
};
use http::StatusCode;
use serde_json::json;

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
    assert_eq!(delivery.body["application_id"], "5c4e8a2d");
    assert_eq!(delivery.body["sent_at"], "2026-11-28T10:15:00Z");
    assert_eq!(delivery.body["vehicle"]["brand"], "sandbox");
    // Nothing lost: the body is the received JSON, field for field.
    assert_eq!(
        delivery.body,
        serde_json::from_str::<serde_json::Value>(REJECTED_BODY).unwrap()
    );
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
    assert_eq!(delivery.body["data"]["odometer"]["value"], 1234);
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
            status: ClearanceStatus::UnknownValue("suspended_by_oem".into()),
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
    assert_eq!(delivery.body, serde_json::Value::Null);
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
            r#"{"vehicle":{"vin":"EXVETESTVIN000001"},"event":{"action":"approved","detail":{"code":1}}}"#,
            "`event.detail` is an object",
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
        sent.body,
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
            body: json!({}),
        },
        Delivery {
            id: "o-1".into(),
            event: Event::Other {
                name: "vehicle_data_changed".into(),
            },
            body: json!({"data": [1, 2, 3]}),
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
        body: json!({}),
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
    assert_eq!(serde_json::from_value::<Delivery>(json).unwrap(), delivery);

    for event in [
        Event::Ping,
        Event::Other { name: "x".into() },
        Event::FleetClearanceChanged {
            vin: "EXVETESTVIN000001".into(),
            status: ClearanceStatus::UnknownValue("paused".into()),
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
