//! Refusals: every way a request can be wrong gets its own error and status.

use hm_webhooks::{Error, SignatureProblem, Verifier, WebhookSecret, header};
use http::{HeaderMap, HeaderValue, StatusCode};

use crate::support::*;

/// Header names and values.
type Pairs = &'static [(&'static str, &'static str)];

fn approved_headers() -> HeaderMap {
    signed_headers(APPROVED_SHA256, "d-1", "fleet_clearance_changed")
}

fn malformed_256(value: &str) -> SignatureProblem {
    let headers = headers(&[
        (header::SIGNATURE_256, value),
        (header::DELIVERY, "d-1"),
        (header::EVENT, "fleet_clearance_changed"),
    ]);
    match verifier().verify(&headers, APPROVED_BODY.as_bytes()) {
        Err(Error::MalformedSignature { header, problem }) => {
            assert_eq!(header, header::SIGNATURE_256);
            problem
        }
        other => panic!("{value:?}: expected a malformed signature, got {other:?}"),
    }
}

#[test]
fn a_tampered_body_is_refused() {
    let mut body = APPROVED_BODY.as_bytes().to_vec();
    body[25] ^= 0x01; // one bit of the VIN
    for tampered in [
        body,
        format!("{APPROVED_BODY} ").into_bytes(),
        APPROVED_BODY.replace("approved", "rejected").into_bytes(),
        // The same JSON, re-serialised with other whitespace: the signature covers bytes.
        APPROVED_BODY.replace(',', ", ").into_bytes(),
    ] {
        let error = verifier()
            .verify(&approved_headers(), &tampered)
            .unwrap_err();
        assert!(
            matches!(error, Error::SignatureMismatch { header } if header == header::SIGNATURE_256),
            "{error:?}"
        );
        assert_eq!(error.status(), StatusCode::UNAUTHORIZED);
    }
}

#[test]
fn a_wrong_secret_is_refused_with_a_message_naming_the_remedy() {
    let error = Verifier::new(secret("not-the-secret"))
        .verify(&approved_headers(), APPROVED_BODY.as_bytes())
        .unwrap_err();
    assert!(
        matches!(error, Error::SignatureMismatch { .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.contains("X-HM-Signature-256") && message.contains("console"),
        "{message}"
    );
}

#[test]
fn rotation_accepts_any_configured_secret() {
    let old_signed = approved_headers();
    let new_signed = signed_headers(APPROVED_SHA256_ROTATED, "d-1", "fleet_clearance_changed");
    let body = APPROVED_BODY.as_bytes();

    let both = Verifier::with_secrets([secret(ROTATED_SECRET), secret(SECRET)]).unwrap();
    both.verify(&old_signed, body).unwrap();
    both.verify(&new_signed, body).unwrap();
    let chained = Verifier::new(secret(SECRET)).with_secret(secret(ROTATED_SECRET));
    chained.verify(&old_signed, body).unwrap();
    chained.verify(&new_signed, body).unwrap();

    // Once the old secret is dropped, its signatures are refused.
    let new_only = Verifier::new(secret(ROTATED_SECRET));
    new_only.verify(&new_signed, body).unwrap();
    assert!(matches!(
        new_only.verify(&old_signed, body),
        Err(Error::SignatureMismatch { .. })
    ));
    // Neither matches a third secret.
    let other = Verifier::with_secrets([secret("a"), secret("b"), secret("c")]).unwrap();
    assert!(matches!(
        other.verify(&new_signed, body),
        Err(Error::SignatureMismatch { .. })
    ));
}

#[test]
fn no_secret_and_empty_secret_are_configuration_errors() {
    assert!(matches!(
        Verifier::with_secrets(Vec::<WebhookSecret>::new()),
        Err(Error::NoSecret)
    ));
    let error = WebhookSecret::new("").unwrap_err();
    assert!(matches!(error, Error::EmptySecret), "{error:?}");
    assert!(error.to_string().contains("console"), "{error}");
}

#[test]
fn a_missing_signature_is_refused() {
    let headers = headers(&[
        (header::DELIVERY, "d-1"),
        (header::EVENT, "fleet_clearance_changed"),
    ]);
    let error = verifier()
        .verify(&headers, APPROVED_BODY.as_bytes())
        .unwrap_err();
    assert!(matches!(error, Error::MissingSignature), "{error:?}");
    assert_eq!(error.status(), StatusCode::UNAUTHORIZED);
}

#[test]
fn malformed_signatures_are_refused_with_distinct_problems() {
    let prefix = SignatureProblem::MissingPrefix {
        expected: "sha256=",
    };
    assert_eq!(malformed_256(APPROVED_SHA256), prefix, "bare hex");
    assert_eq!(
        malformed_256(&format!("sha1={APPROVED_SHA1}")),
        prefix,
        "another algorithm"
    );
    assert_eq!(malformed_256("sha256"), prefix, "prefix without `=`");
    assert_eq!(malformed_256(""), prefix, "empty value");
    assert_eq!(
        malformed_256(&format!("sha256={}", "g".repeat(64))),
        SignatureProblem::NotHex
    );
    assert_eq!(
        malformed_256(&format!("sha256= {APPROVED_SHA256}")),
        SignatureProblem::NotHex
    );
    for digits in [0, 63, 66, 128] {
        assert_eq!(
            malformed_256(&format!("sha256={}", "a".repeat(digits))),
            SignatureProblem::WrongLength {
                expected: 64,
                found: digits
            }
        );
    }
}

#[test]
fn a_signature_header_that_is_not_ascii_is_malformed() {
    let mut headers = approved_headers();
    headers.insert(
        header::SIGNATURE_256,
        HeaderValue::from_bytes(b"sha256=\xff\xfe").unwrap(),
    );
    assert!(matches!(
        verifier().verify(&headers, APPROVED_BODY.as_bytes()),
        Err(Error::MalformedSignature {
            problem: SignatureProblem::NotHex,
            ..
        })
    ));
}

#[test]
fn a_repeated_signature_header_is_refused_even_if_one_matches() {
    let headers = headers(&[
        (header::SIGNATURE_256, &format!("sha256={APPROVED_SHA256}")),
        (header::SIGNATURE_256, &format!("sha256={}", "0".repeat(64))),
        (header::DELIVERY, "d-1"),
        (header::EVENT, "fleet_clearance_changed"),
    ]);
    assert_eq!(
        malformed_signature_problem(&headers),
        SignatureProblem::Repeated
    );
}

fn malformed_signature_problem(headers: &HeaderMap) -> SignatureProblem {
    match verifier().verify(headers, APPROVED_BODY.as_bytes()) {
        Err(Error::MalformedSignature { problem, .. }) => problem,
        other => panic!("{other:?}"),
    }
}

#[test]
fn sha1_only_is_refused_unless_opted_in() {
    let sha1_only = headers(&[
        (header::SIGNATURE_SHA1, &format!("sha1={APPROVED_SHA1}")),
        (header::DELIVERY, "d-1"),
        (header::EVENT, "fleet_clearance_changed"),
    ]);
    let body = APPROVED_BODY.as_bytes();
    let error = verifier().verify(&sha1_only, body).unwrap_err();
    assert!(matches!(error, Error::LegacySignatureOnly), "{error:?}");
    assert_eq!(error.status(), StatusCode::UNAUTHORIZED);
    assert!(error.to_string().contains("accept_legacy_sha1"), "{error}");

    let legacy = verifier().accept_legacy_sha1(true);
    legacy.verify(&sha1_only, body).unwrap();
    // Opting in does not weaken the check itself.
    let error = legacy
        .verify(
            &sha1_only,
            APPROVED_BODY.replace("approved", "rejected").as_bytes(),
        )
        .unwrap_err();
    assert!(
        matches!(error, Error::SignatureMismatch { header } if header == header::SIGNATURE_SHA1),
        "{error:?}"
    );
    let short = headers(&[
        (
            header::SIGNATURE_SHA1,
            &format!("sha1={}", &APPROVED_SHA1[..39]),
        ),
        (header::DELIVERY, "d-1"),
        (header::EVENT, "fleet_clearance_changed"),
    ]);
    assert!(matches!(
        legacy.verify(&short, body),
        Err(Error::MalformedSignature {
            problem: SignatureProblem::WrongLength {
                expected: 40,
                found: 39
            },
            ..
        })
    ));
}

#[test]
fn sha256_decides_when_present_so_sha1_cannot_downgrade() {
    // A correct SHA-1 beside a wrong SHA-256 is refused, even with SHA-1 accepted.
    let headers = headers(&[
        (header::SIGNATURE_256, &format!("sha256={}", "0".repeat(64))),
        (header::SIGNATURE_SHA1, &format!("sha1={APPROVED_SHA1}")),
        (header::DELIVERY, "d-1"),
        (header::EVENT, "fleet_clearance_changed"),
    ]);
    let error = verifier()
        .accept_legacy_sha1(true)
        .verify(&headers, APPROVED_BODY.as_bytes())
        .unwrap_err();
    assert!(
        matches!(error, Error::SignatureMismatch { header } if header == header::SIGNATURE_256),
        "{error:?}"
    );
}

#[test]
fn an_oversize_body_is_refused_before_its_signature_is_looked_at() {
    let body = APPROVED_BODY.as_bytes();
    let limit = body.len() - 1;
    // Even correctly signed.
    let error = verifier()
        .max_body_bytes(limit)
        .verify(&approved_headers(), body)
        .unwrap_err();
    assert!(
        matches!(error, Error::BodyTooLarge { limit: l } if l == limit),
        "{error:?}"
    );
    assert_eq!(error.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // And without any signature: size comes first.
    assert!(matches!(
        verifier()
            .max_body_bytes(limit)
            .verify(&HeaderMap::new(), body),
        Err(Error::BodyTooLarge { .. })
    ));
    // Exactly at the limit is fine.
    verifier()
        .max_body_bytes(body.len())
        .verify(&approved_headers(), body)
        .unwrap();
    // The default limit is 1 MiB.
    assert_eq!(verifier().body_limit(), 1024 * 1024);
    let huge = vec![b' '; 1024 * 1024 + 1];
    assert!(matches!(
        verifier().verify(&HeaderMap::new(), &huge),
        Err(Error::BodyTooLarge { limit: 1_048_576 })
    ));
}

#[test]
fn delivery_and_event_headers_are_required_once_and_non_empty() {
    let body = APPROVED_BODY.as_bytes();
    let signature = format!("sha256={APPROVED_SHA256}");
    // (headers besides the signature, the header at fault, what is said about it; None: missing)
    let cases: [(Pairs, &str, Option<&str>); 5] = [
        (
            &[(header::EVENT, "fleet_clearance_changed")],
            header::DELIVERY,
            None,
        ),
        (&[(header::DELIVERY, "d-1")], header::EVENT, None),
        (
            &[(header::DELIVERY, " "), (header::EVENT, "ping")],
            header::DELIVERY,
            Some("empty"),
        ),
        (
            &[
                (header::DELIVERY, "d-1"),
                (header::DELIVERY, "d-2"),
                (header::EVENT, "ping"),
            ],
            header::DELIVERY,
            Some("more than once"),
        ),
        (
            &[(header::DELIVERY, "d-1"), (header::EVENT, "")],
            header::EVENT,
            Some("empty"),
        ),
    ];
    for (pairs, at_fault, said) in cases {
        let mut headers = headers(pairs);
        headers.insert(header::SIGNATURE_256, signature.parse().unwrap());
        let error = verifier().verify(&headers, body).unwrap_err();
        match (&error, said) {
            (Error::MissingHeader { header }, None) => assert_eq!(*header, at_fault),
            (Error::InvalidHeader { header, problem }, Some(said)) => {
                assert_eq!(*header, at_fault);
                assert!(problem.contains(said), "{pairs:?}: {error}");
            }
            _ => panic!("{pairs:?}: {error:?}"),
        }
        assert!(error.to_string().contains(at_fault), "{error}");
        assert_eq!(error.status(), StatusCode::BAD_REQUEST);
    }
}

#[test]
fn header_names_match_whatever_their_case() {
    let headers = headers(&[
        ("x-hm-signature-256", &format!("sha256={APPROVED_SHA256}")),
        ("X-HM-DELIVERY", "d-1"),
        ("x-Hm-Event", "fleet_clearance_changed"),
    ]);
    verifier()
        .verify(&headers, APPROVED_BODY.as_bytes())
        .unwrap();
}
