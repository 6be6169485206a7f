//! Hand-made JWTs, for assertions no well-behaved library would produce.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::DecodePrivateKey;

/// Base64url without padding, as JWTs use.
pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The ES256 signature of `message` by the PKCS#8 PEM `private_key`.
pub fn es256(message: &str, private_key: &str) -> Signature {
    let key = SigningKey::from_pkcs8_pem(private_key).unwrap();
    key.sign(message.as_bytes())
}

/// `header.claims.signature` from raw JSON texts, signed ES256 (64-byte JOSE form).
pub fn sign_raw(header: &str, claims: &str, private_key: &str) -> String {
    let input = format!("{}.{}", b64(header.as_bytes()), b64(claims.as_bytes()));
    let signature = es256(&input, private_key);
    format!("{input}.{}", b64(&signature.to_bytes()))
}

/// The same, with the signature DER-encoded (what OpenSSL produces, and JOSE forbids).
pub fn sign_raw_der(header: &str, claims: &str, private_key: &str) -> String {
    let input = format!("{}.{}", b64(header.as_bytes()), b64(claims.as_bytes()));
    let signature = es256(&input, private_key);
    format!("{input}.{}", b64(signature.to_der().as_bytes()))
}

/// The exact header High Mobility expects.
pub const HEADER: &str = r#"{"alg":"ES256","typ":"JWT"}"#;
