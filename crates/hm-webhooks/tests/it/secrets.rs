//! The secret stays out of `Debug` output, error messages and logs.

use hm_webhooks::{Error, Verifier, sign};

use crate::support::*;

fn assert_no_secret(text: &str) {
    for secret in [SECRET, ROTATED_SECRET] {
        assert!(!text.contains(secret), "secret leaked:\n{text}");
    }
}

#[test]
fn debug_output_is_redacted() {
    let current = secret(SECRET);
    let verifier = Verifier::new(current.clone()).with_secret(secret(ROTATED_SECRET));
    let text = format!("{current:?} {verifier:?} {verifier:#?}");
    assert_no_secret(&text);
    assert!(text.contains("WebhookSecret([REDACTED])"), "{text}");
    assert!(text.contains("secrets: 2"), "{text}");
}

#[test]
fn errors_never_carry_the_secret_or_a_signature() {
    let verifier = verifier();
    let body = APPROVED_BODY.replace("approved", "rejected");
    // The signature this body would need: an attacker must not learn it from the answer.
    let needed = sign(&secret(SECRET), body.as_bytes()).sha256;
    let error = verifier
        .verify(
            &signed_headers(APPROVED_SHA256, "d-1", "fleet_clearance_changed"),
            body.as_bytes(),
        )
        .unwrap_err();
    let text = format!("{error} {error:?}");
    assert_no_secret(&text);
    assert!(!text.contains(&needed[7..]), "{text}");
    assert!(!text.contains(APPROVED_SHA256), "{text}");
    assert!(matches!(error, Error::SignatureMismatch { .. }));
}

#[cfg(feature = "axum")]
mod logs {
    use std::io::Write;
    use std::sync::{Arc, Mutex, OnceLock};

    use hm_webhooks::axum::WebhookReceiver;
    use hm_webhooks::{ClearanceStatus, Delivery, header, sign};

    use super::assert_no_secret;
    use crate::receiver::{App, approval, deduplicating, send, serve};
    use crate::support::*;

    /// Everything every test of this binary logs, from the first call on.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
        type Writer = Captured;
        fn make_writer(&'a self) -> Captured {
            self.clone()
        }
    }

    fn capture() -> Captured {
        static CAPTURED: OnceLock<Captured> = OnceLock::new();
        CAPTURED
            .get_or_init(|| {
                let captured = Captured::default();
                let subscriber = tracing_subscriber::fmt()
                    .with_env_filter(tracing_subscriber::EnvFilter::new("hm_webhooks=trace"))
                    .with_writer(captured.clone())
                    .with_ansi(false)
                    .finish();
                tracing::subscriber::set_global_default(subscriber).unwrap();
                captured
            })
            .clone()
    }

    #[tokio::test]
    async fn no_log_line_carries_the_secret_or_a_signature() {
        let captured = capture();
        let app = deduplicating(
            hm_webhooks::Verifier::new(secret(SECRET))
                .with_secret(secret(ROTATED_SECRET))
                .max_body_bytes(4096),
        );
        let url = serve(app.clone()).await;

        // Accepted, duplicate, tampered, malformed, missing, SHA-1 only, oversize, failed.
        let accepted = approval("d-1");
        assert_eq!(send(&url, &accepted).await.0, 200);
        assert_eq!(send(&url, &accepted).await.0, 200);
        let mut tampered = approval("d-2");
        tampered.body.extend_from_slice(b" ");
        assert_eq!(send(&url, &tampered).await.0, 401);
        let mut malformed = approval("d-3");
        malformed
            .headers
            .insert(header::SIGNATURE_256, "sha256=00".parse().unwrap());
        assert_eq!(send(&url, &malformed).await.0, 401);
        let mut sha1_only = approval("d-4");
        sha1_only.headers.remove(header::SIGNATURE_256);
        assert_eq!(send(&url, &sha1_only).await.0, 401);
        let mut oversize = approval("d-5");
        oversize.body = vec![b' '; 8192];
        assert_eq!(send(&url, &oversize).await.0, 413);
        let mut no_id = approval("d-6");
        no_id.headers.remove(header::DELIVERY);
        assert_eq!(send(&url, &no_id).await.0, 400);
        let rotated = Delivery::fleet_clearance_changed(
            "d-7",
            "EXVETESTVIN000001",
            ClearanceStatus::Approved,
            None,
        )
        .signed(&secret(ROTATED_SECRET))
        .unwrap();
        assert_eq!(send(&url, &rotated).await.0, 200);
        let plain = App::new(WebhookReceiver::new(hm_webhooks::Verifier::new(secret(
            SECRET,
        ))));
        let plain_url = serve(plain).await;
        assert_eq!(send(&plain_url, &approval("d-8")).await.0, 200);

        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert!(text.contains("webhook request refused"), "{text}");
        assert!(text.contains("status=401"), "{text}");
        assert!(text.contains("status=413"), "{text}");
        assert!(text.contains("status=400"), "{text}");
        assert!(text.contains("duplicate webhook delivery"), "{text}");
        assert!(text.contains("webhook delivery verified"), "{text}");
        assert_no_secret(&text);
        // Neither the signatures received nor the one the tampered body would have needed.
        let needed = sign(&secret(SECRET), &tampered.body).sha256;
        for signature in [
            &needed,
            &accepted.headers[header::SIGNATURE_256]
                .to_str()
                .unwrap()
                .to_owned(),
        ] {
            assert!(!text.contains(&signature[7..]), "signature logged:\n{text}");
        }
    }
}
