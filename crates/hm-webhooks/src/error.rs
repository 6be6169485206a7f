//! The crate's single error type.

use std::fmt;

use http::StatusCode;

use crate::header;

/// Everything that can go wrong while configuring a verifier or receiving a delivery.
///
/// Each message says what was wrong and what to do. No variant carries a secret, a received
/// signature or an expected signature: errors can be logged and answered to the sender as they are.
/// [`Error::status`] gives the HTTP status a receiver should answer with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A verifier was built without any secret.
    #[error(
        "no webhook secret given: pass the secret set for the webhook in the High Mobility \
         console (during a rotation, both the old and the new one)"
    )]
    NoSecret,

    /// A secret is the empty string.
    #[error(
        "the webhook secret is empty: copy the secret set for the webhook in the High Mobility console"
    )]
    EmptySecret,

    /// The body is larger than the verifier's limit.
    #[error(
        "the request body is larger than the limit of {limit} bytes: refused before verification; \
         raise the limit with `Verifier::max_body_bytes` if deliveries this large are expected"
    )]
    BodyTooLarge {
        /// The configured limit in bytes.
        limit: usize,
    },

    /// Neither signature header is present.
    #[error(
        "the request has no {} header: it was not sent by High Mobility's webhooks, or it was \
         altered on the way",
        header::SIGNATURE_256
    )]
    MissingSignature,

    /// Only the deprecated HMAC-SHA1 header is present, and the verifier does not accept it.
    #[error(
        "the request carries only the deprecated {} (HMAC-SHA1) header and no {}: SHA-1 \
         signatures are refused unless `Verifier::accept_legacy_sha1(true)` is set",
        header::SIGNATURE_SHA1,
        header::SIGNATURE_256
    )]
    LegacySignatureOnly,

    /// A signature header is present but not of the form `sha256=<64 hex digits>` (or `sha1=<40>`).
    #[error("the {header} header is malformed: {problem}")]
    MalformedSignature {
        /// The header's name.
        header: &'static str,
        /// What is wrong with its value.
        problem: SignatureProblem,
    },

    /// The signature is well formed but matches the body under none of the configured secrets.
    #[error(
        "the {header} header does not match the body under any configured secret: the body was \
         altered, or the secret differs from the one set in the High Mobility console"
    )]
    SignatureMismatch {
        /// The header that was checked.
        header: &'static str,
    },

    /// A header every delivery carries is missing.
    #[error("the {header} header is missing: High Mobility sends it with every delivery")]
    MissingHeader {
        /// The header's name.
        header: &'static str,
    },

    /// A header is present but unusable.
    #[error("the {header} header is invalid: {problem}")]
    InvalidHeader {
        /// The header's name.
        header: &'static str,
        /// What is wrong with it.
        problem: &'static str,
    },

    /// The body (with a valid signature) is not what High Mobility sends for this event.
    #[error("the body of this `{event}` delivery is not what High Mobility sends: {detail}")]
    MalformedBody {
        /// The event name from the `X-HM-Event` header.
        event: String,
        /// What is wrong with the body.
        detail: String,
    },

    /// The store of seen delivery ids failed.
    #[error(
        "the store of seen delivery ids failed: {source}; the delivery was not processed and \
         the sender will retry it"
    )]
    Store {
        /// What the store reported.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl Error {
    /// Wraps the failure of a [`SeenStore`](crate::SeenStore) implementation (e.g. a Redis error).
    pub fn store(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Error::Store {
            source: source.into(),
        }
    }

    /// The status a receiver answers with: 413 for an oversize body, 401 for any signature
    /// problem, 400 for missing headers or a malformed body, 503 when the seen-id store failed
    /// (the sender retries), 500 for a misconfigured verifier.
    pub fn status(&self) -> StatusCode {
        match self {
            Error::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Error::MissingSignature
            | Error::LegacySignatureOnly
            | Error::MalformedSignature { .. }
            | Error::SignatureMismatch { .. } => StatusCode::UNAUTHORIZED,
            Error::MissingHeader { .. }
            | Error::InvalidHeader { .. }
            | Error::MalformedBody { .. } => StatusCode::BAD_REQUEST,
            Error::Store { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Error::NoSecret | Error::EmptySecret => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// What is wrong with a malformed signature header.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureProblem {
    /// The header was sent more than once.
    Repeated,
    /// The value does not start with the algorithm prefix (`sha256=` or `sha1=`).
    MissingPrefix {
        /// The expected prefix, e.g. `sha256=`.
        expected: &'static str,
    },
    /// After the prefix there is something other than hex digits.
    NotHex,
    /// The hex digest has the wrong number of digits.
    WrongLength {
        /// The number of hex digits the algorithm produces (64 for SHA-256, 40 for SHA-1).
        expected: usize,
        /// The number of hex digits received.
        found: usize,
    },
}

impl fmt::Display for SignatureProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignatureProblem::Repeated => f.write_str("it was sent more than once"),
            SignatureProblem::MissingPrefix { expected } => {
                write!(f, "the value does not start with `{expected}`")
            }
            SignatureProblem::NotHex => {
                f.write_str("the digest after the prefix is not hexadecimal")
            }
            SignatureProblem::WrongLength { expected, found } => write!(
                f,
                "the digest has {found} hex digits where {expected} were expected"
            ),
        }
    }
}
