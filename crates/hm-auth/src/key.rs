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
    match block.label {
        "RSA PRIVATE KEY" => return Err(unsupported("an RSA key".to_owned())),
        "ENCRYPTED PRIVATE KEY" => {
            return Err(malformed(
                "the key is encrypted with a passphrase; decrypt it first, e.g. \
                 `openssl pkcs8 -in key.pem -out plain.pem`"
                    .to_owned(),
            ));
        }
        _ => {}
    }
    // RFC 1421 headers: OpenSSL's legacy encrypted form (`Proc-Type: 4,ENCRYPTED`, `DEK-Info:`).
    if block.body.contains(':') {
        return Err(malformed(if block.body.contains("ENCRYPTED") {
            "the key is encrypted with a passphrase (`Proc-Type: 4,ENCRYPTED`); decrypt it \
             first, e.g. `openssl ec -in key.pem -out plain.pem`"
                .to_owned()
        } else {
            "the PEM block has header lines (`Name: value`), which a private key does not have"
                .to_owned()
        }));
    }
    let canonical = canonical_pem(&block).map_err(malformed)?;
    let (label, der) = pem::decode_vec(canonical.as_bytes())
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

/// One PEM block as found: its label and the text between its `BEGIN` and `END` lines.
struct Block<'a> {
    label: &'a str,
    body: &'a str,
}

/// The first block whose label ends in `PRIVATE KEY`. Other blocks before it are skipped: `openssl
/// ecparam -genkey` writes the curve parameters first, and some tools write the public key first.
///
/// The markers are found anywhere, not only at the start of a line, so that a key whose lines were
/// indented, padded or joined with spaces (YAML, `.env` files, CI secret fields) is still found.
fn key_block(text: &str) -> Result<Block<'_>, String> {
    const BEGIN: &str = "-----BEGIN ";
    let mut rest = text;
    let mut skipped: Option<&str> = None;
    while let Some(start) = rest.find(BEGIN) {
        let after_begin = &rest[start + BEGIN.len()..];
        let label = leading_label(after_begin)
            .ok_or_else(|| "the `-----BEGIN ...-----` line is malformed".to_owned())?;
        let contents = &after_begin[label.len() + "-----".len()..];
        let end_marker = format!("-----END {label}-----");
        let Some(end) = contents.find(&end_marker) else {
            let end_label = contents
                .find("-----END ")
                .and_then(|at| leading_label(&contents[at + "-----END ".len()..]));
            return Err(match end_label {
                Some(other) => format!(
                    "the block begins with `-----BEGIN {label}-----` but ends with \
                     `-----END {other}-----`; the two labels must match (was the file edited, or \
                     two keys pasted together?)"
                ),
                None => format!("the `-----BEGIN {label}-----` block has no `-----END` line"),
            });
        };
        if label.ends_with("PRIVATE KEY") {
            return Ok(Block {
                label,
                body: &contents[..end],
            });
        }
        // A public key is the likelier mistake to report than curve parameters.
        if skipped.is_none_or(|s| !s.contains("PUBLIC KEY")) {
            skipped = Some(label);
        }
        rest = &contents[end + end_marker.len()..];
    }
    Err(match skipped {
        Some(label) if label.contains("PUBLIC KEY") => {
            format!("this is a public key (`{label}`); the private key is needed")
        }
        Some(label) => format!("it holds a `{label}` block but no private key"),
        None => "no `-----BEGIN ... PRIVATE KEY-----` block found".to_owned(),
    })
}

/// The block as strict PEM: its base64 without any whitespace, in lines of 64 characters.
fn canonical_pem(block: &Block<'_>) -> Result<Zeroizing<String>, String> {
    if !block.body.is_ascii() {
        return Err("the key contains characters that are not base64".to_owned());
    }
    let base64: Zeroizing<Vec<u8>> = Zeroizing::new(
        block
            .body
            .bytes()
            .filter(|b| !b.is_ascii_whitespace())
            .collect(),
    );
    let label = block.label;
    // Sized up front: growing would leave copies of the key behind.
    let mut pem = Zeroizing::new(String::with_capacity(
        2 * label.len() + 40 + base64.len() + base64.len() / 64 + 1,
    ));
    pem.push_str(&format!("-----BEGIN {label}-----\n"));
    for line in base64.chunks(64) {
        // ASCII, checked above.
        pem.push_str(std::str::from_utf8(line).unwrap_or_default());
        pem.push('\n');
    }
    pem.push_str(&format!("-----END {label}-----\n"));
    Ok(pem)
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
