//! The ES256 JWT client assertion that proves possession of the private key.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::{ExposeSecret, SecretSlice, SecretString};
use serde::Serialize;

use crate::Error;

/// The claims High Mobility expects, exactly these five (no `sub`, no `exp`).
#[derive(Serialize)]
struct Claims<'a> {
    ver: u8,
    iss: &'a str,
    aud: &'a str,
    iat: u64,
    jti: String,
}

/// Signs assertions with one P-256 key.
#[derive(Clone)]
pub(crate) struct AssertionSigner {
    key_id: String,
    /// PKCS#8 DER. Kept in a secret container; jsonwebtoken's `EncodingKey` is made per signature
    /// so that no unredacted copy of the key lives for long.
    pkcs8_der: Arc<SecretSlice<u8>>,
}

impl AssertionSigner {
    /// Takes the key and proves it signs, so a bad key fails at construction, not at the first request.
    pub(crate) fn new(key_id: String, pkcs8_der: SecretSlice<u8>) -> Result<Self, Error> {
        let signer = AssertionSigner {
            key_id,
            pkcs8_der: Arc::new(pkcs8_der),
        };
        signer.sign("https://validation.invalid/v1")?;
        Ok(signer)
    }

    pub(crate) fn key_id(&self) -> &str {
        &self.key_id
    }

    /// A fresh assertion for `audience` (`{base}/v1`): new `iat` and `jti` every call.
    pub(crate) fn sign(&self, audience: &str) -> Result<SecretString, Error> {
        self.sign_with_clock_offset(audience, 0)
    }

    /// Like [`sign`](Self::sign), with `iat` moved by `clock_offset` seconds: the difference
    /// between the server's clock and ours, learnt from its `Date` header.
    pub(crate) fn sign_with_clock_offset(
        &self,
        audience: &str,
        clock_offset: i64,
    ) -> Result<SecretString, Error> {
        // Wall-clock time on purpose: `iat` is compared with the server's clock.
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(|_| Error::Signing {
                detail: "the system clock is before 1970".to_owned(),
            })?
            .as_secs();
        let iat = now.saturating_add_signed(clock_offset);
        let claims = Claims {
            ver: 2,
            iss: &self.key_id,
            aud: audience,
            iat,
            jti: uuid::Uuid::new_v4().to_string(),
        };
        // `Header::new` sets `typ: "JWT"` and leaves `kid` unset, as the API requires.
        let header = Header::new(Algorithm::ES256);
        let key = EncodingKey::from_ec_der(self.pkcs8_der.expose_secret());
        jsonwebtoken::encode(&header, &claims, &key)
            .map(SecretString::from)
            .map_err(|e| Error::Signing {
                detail: e.to_string(),
            })
    }
}
