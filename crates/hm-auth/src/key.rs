//! Decoding a PEM private key into the one form the assertion signer needs (P-256, PKCS#8 DER),
//! with errors that say which kind of key was found when it is the wrong one.

use p256::elliptic_curve::zeroize::Zeroizing;
use p256::pkcs8::der::pem;
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, ObjectIdentifier, PrivateKeyInfoRef};
use secrecy::SecretSlice;

use crate::Error;

const EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
const P256: &str = "1.2.840.10045.3.1.7";

/// The most key text that is looked at. A P-256 key in PEM is about 250 bytes; a console key
/// file with it well under 1 KiB.
pub(crate) const MAX_KEY_TEXT: usize = 64 * 1024;

/// Decodes a PKCS#8 or SEC1 PEM P-256 private key into PKCS#8 DER.
///
/// `origin` says where the key came from and appears in errors (never the key itself).
pub(crate) fn p256_pkcs8_der(pem_text: &str, origin: &str) -> Result<SecretSlice<u8>, Error> {
    let malformed = |detail: String| Error::MalformedKey {
        origin: origin.to_owned(),
        detail,
    };
    let unsupported = |found: String| Error::UnsupportedKey {
        origin: origin.to_owned(),
        found,
    };

    if pem_text.len() > MAX_KEY_TEXT {
        return Err(malformed(format!(
            "it is {} bytes long, far more than a private key (a P-256 key in PEM is about 250 bytes)",
            pem_text.len()
        )));
    }
    let text = Zeroizing::new(normalise(pem_text));
    let block = key_block(&text).map_err(malformed)?;
    let (label, der) = pem::decode_vec(block.as_bytes())
        .map_err(|e| malformed(format!("the PEM block cannot be decoded: {e}")))?;
    let der = Zeroizing::new(der);

    let secret = match label {
        "PRIVATE KEY" => {
            let info = PrivateKeyInfoRef::try_from(der.as_slice())
                .map_err(|e| malformed(format!("not a PKCS#8 private key: {e}")))?;
            let algorithm = info.algorithm.oid.to_string();
            if algorithm != EC_PUBLIC_KEY {
                return Err(unsupported(describe_algorithm(&algorithm)));
            }
            let curve = info.algorithm.parameters_oid().ok();
            check_curve(curve, &unsupported)?;
            p256::SecretKey::from_pkcs8_der(&der)
                .map_err(|e| malformed(format!("invalid P-256 PKCS#8 key: {e}")))?
        }
        "EC PRIVATE KEY" => {
            let sec1_key = sec1::EcPrivateKey::try_from(der.as_slice())
                .map_err(|e| malformed(format!("not a SEC1 EC private key: {e}")))?;
            let curve = sec1_key.parameters.and_then(|p| p.named_curve());
            check_curve(curve, &unsupported)?;
            p256::SecretKey::from_sec1_der(&der)
                .map_err(|e| malformed(format!("invalid P-256 SEC1 key: {e}")))?
        }
        "RSA PRIVATE KEY" => return Err(unsupported("an RSA key".to_owned())),
        "ENCRYPTED PRIVATE KEY" => {
            return Err(malformed(
                "the key is encrypted with a passphrase; decrypt it first, e.g. \
                 `openssl pkcs8 -in key.pem -out plain.pem`"
                    .to_owned(),
            ));
        }
        other if other.contains("PUBLIC KEY") => {
            return Err(malformed(format!(
                "this is a public key (`{other}`); the private key is needed"
            )));
        }
        other => return Err(malformed(format!("unexpected PEM label `{other}`"))),
    };

    let pkcs8 = secret
        .to_pkcs8_der()
        .map_err(|e| malformed(format!("cannot re-encode the key: {e}")))?;
    Ok(SecretSlice::from(pkcs8.as_bytes().to_vec()))
}

/// Undoes what copying a key through environment variables and editors does to it: a leading
/// UTF-8 byte order mark, and line breaks written as the two characters `\n` (PEM never contains
/// a backslash, so the replacement cannot change a key that was fine).
fn normalise(text: &str) -> String {
    text.trim_start_matches('\u{feff}')
        .replace("\\r\\n", "\n")
        .replace("\\n", "\n")
}

/// The first PEM block that is not `EC PARAMETERS`: `openssl ecparam -genkey` writes the curve
/// parameters before the SEC1 key, and such files are still common.
fn key_block(text: &str) -> Result<&str, String> {
    const BEGIN: &str = "-----BEGIN ";
    let mut rest = text;
    while let Some(start) = rest.find(BEGIN) {
        let block = &rest[start..];
        let label = leading_label(&block[BEGIN.len()..])
            .ok_or_else(|| "the `-----BEGIN ...-----` line is malformed".to_owned())?;
        let end_marker = format!("-----END {label}-----");
        let Some(end) = block.find(&end_marker) else {
            let end_label = block
                .find("-----END ")
                .and_then(|at| leading_label(&block[at + "-----END ".len()..]));
            return Err(match end_label {
                Some(other) => format!(
                    "the block begins with `-----BEGIN {label}-----` but ends with \
                     `-----END {other}-----`; the two labels must match (was the file edited, or \
                     two keys pasted together?)"
                ),
                None => format!("the `-----BEGIN {label}-----` block has no `-----END` line"),
            });
        };
        let end = end + end_marker.len();
        if label != "EC PARAMETERS" {
            return Ok(&block[..end]);
        }
        rest = &block[end..];
    }
    Err("no `-----BEGIN ... PRIVATE KEY-----` block found".to_owned())
}

/// The label that `text` starts with, up to the closing `-----`. Only a plausible label (a few
/// capital words) is returned, so that an error quoting it cannot quote key material.
fn leading_label(text: &str) -> Option<&str> {
    let label = &text[..text.find("-----")?];
    let plausible = label.len() <= 40
        && label
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b' ');
    plausible.then_some(label)
}

fn check_curve(
    curve: Option<ObjectIdentifier>,
    unsupported: &dyn Fn(String) -> Error,
) -> Result<(), Error> {
    match curve.map(|oid| oid.to_string()) {
        Some(oid) if oid == P256 => Ok(()),
        // A SEC1 key may omit the curve; p256's decoder then decides.
        None => Ok(()),
        Some(oid) => Err(unsupported(match oid.as_str() {
            "1.3.132.0.34" => "a P-384 (secp384r1) EC key".to_owned(),
            "1.3.132.0.35" => "a P-521 (secp521r1) EC key".to_owned(),
            "1.3.132.0.10" => "a secp256k1 EC key".to_owned(),
            other => format!("an EC key on curve {other}"),
        })),
    }
}

fn describe_algorithm(oid: &str) -> String {
    match oid {
        "1.2.840.113549.1.1.1" | "1.2.840.113549.1.1.10" => "an RSA key".to_owned(),
        "1.3.101.112" => "an Ed25519 key".to_owned(),
        "1.3.101.113" => "an Ed448 key".to_owned(),
        other => format!("a key with algorithm {other}"),
    }
}
