//! Known answers: signatures computed with `openssl dgst -hmac` (see support.rs) are produced by
//! `sign` and accepted by `Verifier::verify`.

use hm_webhooks::{ClearanceStatus, Event, Signatures, Verifier, header, sign};

use crate::support::*;

#[test]
fn sign_produces_openssl_digests_for_both_headers() {
    for (body, sha256, sha1) in [
        (APPROVED_BODY, APPROVED_SHA256, APPROVED_SHA1),
        (REJECTED_BODY, REJECTED_SHA256, REJECTED_SHA1),
        (PING_BODY, PING_SHA256, PING_SHA1),
    ] {
        assert_eq!(
            sign(&secret(SECRET), body.as_bytes()),
            Signatures {
                sha256: format!("sha256={sha256}"),
                sha1: format!("sha1={sha1}"),
            },
            "{body}"
        );
    }
    assert_eq!(
        sign(&secret(SECRET), b"").sha256,
        format!("sha256={EMPTY_SHA256}")
    );
    assert_eq!(
        sign(&secret(LONG_SECRET), APPROVED_BODY.as_bytes()).sha256,
        format!("sha256={APPROVED_SHA256_LONG_SECRET}")
    );
}

#[test]
fn openssl_signed_deliveries_verify_and_decode() {
    let approved = verifier()
        .verify(
            &signed_headers(APPROVED_SHA256, "d-1", "fleet_clearance_changed"),
            APPROVED_BODY.as_bytes(),
        )
        .unwrap();
    assert_eq!(approved.id, "d-1");
    assert_eq!(
        approved.event,
        Event::FleetClearanceChanged {
            vin: "EXVETESTVIN000001".into(),
            status: ClearanceStatus::Approved,
            detail: None,
        }
    );

    let rejected = verifier()
        .verify(
            &signed_headers(REJECTED_SHA256, "d-2", "fleet_clearance_changed"),
            REJECTED_BODY.as_bytes(),
        )
        .unwrap();
    assert_eq!(
        rejected.event,
        Event::FleetClearanceChanged {
            vin: "1HM62652356323000".into(),
            status: ClearanceStatus::Rejected,
            detail: Some("The owner declined the data access request".into()),
        }
    );

    let ping = verifier()
        .verify(
            &signed_headers(PING_SHA256, "d-3", "ping"),
            PING_BODY.as_bytes(),
        )
        .unwrap();
    assert_eq!(ping.event, Event::Ping);
}

#[test]
fn a_secret_longer_than_the_hash_block_verifies() {
    Verifier::new(secret(LONG_SECRET))
        .verify(
            &signed_headers(
                APPROVED_SHA256_LONG_SECRET,
                "d-1",
                "fleet_clearance_changed",
            ),
            APPROVED_BODY.as_bytes(),
        )
        .unwrap();
}

#[test]
fn upper_case_hex_and_prefix_are_accepted() {
    let headers = headers(&[
        (
            header::SIGNATURE_256,
            &format!("SHA256={}", APPROVED_SHA256.to_uppercase()),
        ),
        (header::DELIVERY, "d-1"),
        (header::EVENT, "fleet_clearance_changed"),
    ]);
    verifier()
        .verify(&headers, APPROVED_BODY.as_bytes())
        .unwrap();
}

#[test]
fn legacy_sha1_vector_verifies_when_opted_in() {
    let headers = headers(&[
        (header::SIGNATURE_SHA1, &format!("sha1={REJECTED_SHA1}")),
        (header::DELIVERY, "d-2"),
        (header::EVENT, "fleet_clearance_changed"),
    ]);
    let delivery = verifier()
        .accept_legacy_sha1(true)
        .verify(&headers, REJECTED_BODY.as_bytes())
        .unwrap();
    assert_eq!(delivery.id, "d-2");
}
