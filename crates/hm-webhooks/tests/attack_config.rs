//! Attack findings from a careless user or sender: inputs accepted at one end, refused at the other.
//!
//! Each test passes once the weakness is fixed; until then it is ignored so that CI stays green.

// Helpers outside `#[test]` functions are test code too.
#![allow(clippy::unwrap_used)]

use hm_webhooks::{ClearanceStatus, Delivery, Event, Verifier, WebhookSecret};
use serde_json::json;

/// `Delivery::signed` promises to fail when the id or event name is one receivers refuse, but
/// an empty or all-blank id or event name is signed happily and then refused (400) by this
/// crate's own verifier: an emulator or sender built on `signed` retries a delivery that can
/// never arrive.
#[ignore = "attack finding: Delivery::signed accepts empty/blank ids and event names the verifier refuses"]
#[test]
fn attack_signed_delivery_is_accepted_by_the_verifier() {
    let secret = WebhookSecret::new("attack-secret").unwrap();
    let verifier = Verifier::new(secret.clone());
    let deliveries = [
        Delivery::fleet_clearance_changed("", "EXVETESTVIN000001", ClearanceStatus::Approved, None),
        Delivery::fleet_clearance_changed(
            "   ",
            "EXVETESTVIN000001",
            ClearanceStatus::Approved,
            None,
        ),
        Delivery {
            id: "d-1".into(),
            event: Event::Other { name: " ".into() },
            body: json!({}),
        },
    ];
    for delivery in deliveries {
        if let Ok(request) = delivery.signed(&secret) {
            let received = verifier.verify(&request.headers, &request.body);
            assert!(
                received.is_ok(),
                "signed() accepted id {:?} / event {:?}, the verifier refused it: {}",
                delivery.id,
                delivery.event.name(),
                received.unwrap_err()
            );
        }
    }
}

/// A secret read from a file or a `.env` line (`fs::read_to_string`) usually ends in a newline.
/// It is accepted silently, and then every genuine delivery is refused with "the body was
/// altered, or the secret differs": the user hunts for a wrong secret that looks right. Refuse
/// it at construction, trim it, or say so in the mismatch error.
#[ignore = "attack finding: a secret with a trailing newline is accepted, then every delivery fails as a mismatch"]
#[test]
fn attack_secret_with_trailing_newline_is_caught() {
    let Ok(as_read_from_file) = WebhookSecret::new("my-secret\n") else {
        return; // refused at construction: fixed
    };
    let request = Delivery::fleet_clearance_changed(
        "d-1",
        "EXVETESTVIN000001",
        ClearanceStatus::Approved,
        None,
    )
    .signed(&WebhookSecret::new("my-secret").unwrap())
    .unwrap();
    match Verifier::new(as_read_from_file).verify(&request.headers, &request.body) {
        Ok(_) => {} // trimmed: fixed
        Err(error) => {
            let message = error.to_string();
            assert!(
                message.contains("whitespace") || message.contains("newline"),
                "the error does not point at the stray newline: {message}"
            );
        }
    }
}

/// The empty secret is refused because "every signature would be computable by anyone"; a
/// secret of blanks is just as guessable and is accepted.
#[ignore = "attack finding: a whitespace-only webhook secret is accepted"]
#[test]
fn attack_blank_secret_is_refused() {
    assert!(WebhookSecret::new(" ").is_err());
    assert!(WebhookSecret::new("\n").is_err());
}
