//! Framework-neutral verification of a received request.

use http::{HeaderMap, HeaderValue};

use crate::error::SignatureProblem;
use crate::signature::Algorithm;
use crate::{Delivery, Error, WebhookSecret};

/// Checks that a request was signed by High Mobility and turns it into a typed [`Delivery`].
///
/// Built once at start-up and shared (it is cheap to clone). Its `Debug` output shows the
/// settings and how many secrets it holds, never the secrets.
///
/// ```
/// use hm_webhooks::{Verifier, WebhookSecret};
///
/// let verifier = Verifier::new(WebhookSecret::new("new-secret")?)
///     // During a rotation, accept the old secret too until the console sends the new one.
///     .with_secret(WebhookSecret::new("old-secret")?)
///     .max_body_bytes(256 * 1024);
/// # Ok::<(), hm_webhooks::Error>(())
/// ```
#[derive(Clone)]
pub struct Verifier {
    secrets: Vec<WebhookSecret>,
    max_body_bytes: usize,
    accept_legacy_sha1: bool,
}

impl Verifier {
    /// The default body limit: 1 MiB, far above any clearance event.
    pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

    /// A verifier for one secret, with a 1 MiB body limit, refusing SHA-1-only requests.
    pub fn new(secret: WebhookSecret) -> Self {
        Verifier {
            secrets: vec![secret],
            max_body_bytes: Self::DEFAULT_MAX_BODY_BYTES,
            accept_legacy_sha1: false,
        }
    }

    /// A verifier accepting a signature made with any of `secrets` (for rotation).
    /// Fails with [`Error::NoSecret`] when there is none.
    pub fn with_secrets(secrets: impl IntoIterator<Item = WebhookSecret>) -> Result<Self, Error> {
        let mut secrets = secrets.into_iter();
        let first = secrets.next().ok_or(Error::NoSecret)?;
        Ok(secrets.fold(Verifier::new(first), Verifier::with_secret))
    }

    /// Also accepts signatures made with `secret`: during a rotation, configure the old and the
    /// new secret, then drop the old one once the console sends the new one.
    pub fn with_secret(mut self, secret: WebhookSecret) -> Self {
        self.secrets.push(secret);
        self
    }

    /// Refuses bodies larger than `limit` bytes with [`Error::BodyTooLarge`], before computing
    /// anything over them.
    pub fn max_body_bytes(mut self, limit: usize) -> Self {
        self.max_body_bytes = limit;
        self
    }

    /// Whether a request that carries only the deprecated `X-HM-Signature` (HMAC-SHA1) header is
    /// accepted. Off by default. When `X-HM-Signature-256` is present, it alone decides, whatever
    /// this setting says.
    pub fn accept_legacy_sha1(mut self, accept: bool) -> Self {
        self.accept_legacy_sha1 = accept;
        self
    }

    /// The body limit in bytes.
    pub fn body_limit(&self) -> usize {
        self.max_body_bytes
    }

    /// Verifies a request (its headers and the raw body bytes, exactly as received) and reads the
    /// delivery: size, then signature, then the id and event headers and the JSON body.
    pub fn verify(&self, headers: &HeaderMap, body: &[u8]) -> Result<Delivery, Error> {
        self.verify_signature(headers, body)?;
        Delivery::from_verified(headers, body)
    }

    /// Only the size and signature checks of [`Verifier::verify`], for callers that read the
    /// body themselves.
    pub fn verify_signature(&self, headers: &HeaderMap, body: &[u8]) -> Result<(), Error> {
        if body.len() > self.max_body_bytes {
            return Err(Error::BodyTooLarge {
                limit: self.max_body_bytes,
            });
        }
        let (algorithm, value) = match single(headers, Algorithm::Sha256)? {
            Some(value) => (Algorithm::Sha256, value),
            None => match single(headers, Algorithm::Sha1)? {
                None => return Err(Error::MissingSignature),
                Some(_) if !self.accept_legacy_sha1 => return Err(Error::LegacySignatureOnly),
                Some(value) => (Algorithm::Sha1, value),
            },
        };
        let tag = algorithm.parse(value)?;
        if algorithm.matches_any(&self.secrets, body, &tag) {
            Ok(())
        } else {
            Err(Error::SignatureMismatch {
                header: algorithm.header(),
            })
        }
    }
}

/// The algorithm's signature header, if present exactly once.
fn single(headers: &HeaderMap, algorithm: Algorithm) -> Result<Option<&HeaderValue>, Error> {
    let mut values = headers.get_all(algorithm.header()).iter();
    let first = values.next();
    if values.next().is_some() {
        return Err(Error::MalformedSignature {
            header: algorithm.header(),
            problem: SignatureProblem::Repeated,
        });
    }
    Ok(first)
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("secrets", &self.secrets.len())
            .field("max_body_bytes", &self.max_body_bytes)
            .field("accept_legacy_sha1", &self.accept_legacy_sha1)
            .finish()
    }
}
