//! HMAC signatures over the raw body: computing them (senders) and checking them (receivers).

use hmac::{Hmac, KeyInit, Mac};
use http::HeaderValue;
use sha1::Sha1;
use sha2::Sha256;

use crate::error::SignatureProblem;
use crate::{Error, WebhookSecret, header};

/// The values of both signature headers for one body, as a sender puts them on the request.
///
/// Signatures are not secret (anyone who sees the request sees them), so this type prints them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signatures {
    /// The value of `X-HM-Signature-256`: `sha256=<64 lowercase hex digits>`.
    pub sha256: String,
    /// The value of the deprecated `X-HM-Signature`: `sha1=<40 lowercase hex digits>`.
    pub sha1: String,
}

/// Signs a raw body the way High Mobility does: HMAC-SHA256 and HMAC-SHA1 keyed with the secret.
///
/// ```
/// let secret = hm_webhooks::WebhookSecret::new("my-secret")?;
/// let signatures = hm_webhooks::sign(&secret, br#"{"ping":true}"#);
/// assert!(signatures.sha256.starts_with("sha256="));
/// assert!(signatures.sha1.starts_with("sha1="));
/// # Ok::<(), hm_webhooks::Error>(())
/// ```
pub fn sign(secret: &WebhookSecret, body: &[u8]) -> Signatures {
    Signatures {
        sha256: Algorithm::Sha256.sign(secret, body),
        sha1: Algorithm::Sha1.sign(secret, body),
    }
}

/// The two signature schemes High Mobility sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Algorithm {
    Sha256,
    Sha1,
}

impl Algorithm {
    pub(crate) fn header(self) -> &'static str {
        match self {
            Algorithm::Sha256 => header::SIGNATURE_256,
            Algorithm::Sha1 => header::SIGNATURE_SHA1,
        }
    }

    fn prefix(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256=",
            Algorithm::Sha1 => "sha1=",
        }
    }

    fn hex_digits(self) -> usize {
        match self {
            Algorithm::Sha256 => 64,
            Algorithm::Sha1 => 40,
        }
    }

    fn sign(self, secret: &WebhookSecret, body: &[u8]) -> String {
        let digest = match self {
            Algorithm::Sha256 => {
                hex::encode(keyed::<Hmac<Sha256>>(secret, body).finalize().into_bytes())
            }
            Algorithm::Sha1 => {
                hex::encode(keyed::<Hmac<Sha1>>(secret, body).finalize().into_bytes())
            }
        };
        format!("{}{digest}", self.prefix())
    }

    /// Decodes a header value of the form `<prefix><hex digest>` into the digest bytes.
    ///
    /// The prefix is matched without regard to case, and so are the hex digits.
    pub(crate) fn parse(self, value: &HeaderValue) -> Result<Vec<u8>, Error> {
        let malformed = |problem| Error::MalformedSignature {
            header: self.header(),
            problem,
        };
        let value = value.as_bytes();
        let prefix = self.prefix();
        let digest = match value.get(..prefix.len()) {
            Some(start) if start.eq_ignore_ascii_case(prefix.as_bytes()) => &value[prefix.len()..],
            _ => {
                return Err(malformed(SignatureProblem::MissingPrefix {
                    expected: prefix,
                }));
            }
        };
        if !digest.iter().all(u8::is_ascii_hexdigit) {
            return Err(malformed(SignatureProblem::NotHex));
        }
        if digest.len() != self.hex_digits() {
            return Err(malformed(SignatureProblem::WrongLength {
                expected: self.hex_digits(),
                found: digest.len(),
            }));
        }
        hex::decode(digest).map_err(|_| malformed(SignatureProblem::NotHex))
    }

    /// Whether `tag` is this algorithm's HMAC of `body` under any of `secrets`.
    ///
    /// Each comparison is constant-time (`verify_slice`), and every secret is tried even after a
    /// match, so the time taken does not tell which secret matched.
    pub(crate) fn matches_any(self, secrets: &[WebhookSecret], body: &[u8], tag: &[u8]) -> bool {
        let mut matched = false;
        for secret in secrets {
            let ok = match self {
                Algorithm::Sha256 => keyed::<Hmac<Sha256>>(secret, body).verify_slice(tag),
                Algorithm::Sha1 => keyed::<Hmac<Sha1>>(secret, body).verify_slice(tag),
            }
            .is_ok();
            matched |= ok;
        }
        matched
    }
}

/// An HMAC keyed with the secret that has consumed the body.
fn keyed<M: Mac + KeyInit>(secret: &WebhookSecret, body: &[u8]) -> M {
    <M as KeyInit>::new_from_slice(secret.key())
        .expect("HMAC accepts keys of any length")
        .chain_update(body)
}
