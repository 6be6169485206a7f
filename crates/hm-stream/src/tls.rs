//! The client certificate and key from the console, the CA roots that verify the broker, and the
//! rustls configuration built from them.

use std::fmt;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use rustls::ClientConfig;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::{CertifiedKey, SingleCertAndKey};

use crate::Error;

const CERT_EXPECTED: &str = "PEM certificates (`-----BEGIN CERTIFICATE-----`), such as the MQTT V2 \
     client certificate downloaded from the High Mobility console";
const KEY_EXPECTED: &str = "a PEM private key (`-----BEGIN PRIVATE KEY-----`, `-----BEGIN EC \
     PRIVATE KEY-----` or `-----BEGIN RSA PRIVATE KEY-----`), such as the key downloaded with the \
     MQTT V2 client certificate";
const CA_EXPECTED: &str = "PEM CA certificates (`-----BEGIN CERTIFICATE-----`)";

/// The application's MQTT client certificate (with any intermediates) and its private key.
///
/// Both are checked when the identity is created: the PEM must parse, the key must be usable for
/// TLS and must belong to the certificate. `Debug` shows neither the key nor the certificate.
///
/// ```no_run
/// use hm_stream::ClientIdentity;
/// let identity = ClientIdentity::from_pem_files("certificate.pem", "private_key.pem")?;
/// # Ok::<(), hm_stream::Error>(())
/// ```
#[derive(Clone)]
pub struct ClientIdentity {
    certified: Arc<CertifiedKey>,
}

impl ClientIdentity {
    /// An identity from PEM text: the certificate chain (end-entity certificate first) and the key.
    pub fn from_pem(cert_pem: impl AsRef<[u8]>, key_pem: impl AsRef<[u8]>) -> Result<Self, Error> {
        Self::parse(
            cert_pem.as_ref(),
            "the client certificate PEM",
            key_pem.as_ref(),
            "the private key PEM",
        )
    }

    /// An identity from two PEM files: the certificate (chain) and the private key.
    pub fn from_pem_files(
        cert_path: impl AsRef<Path>,
        key_path: impl AsRef<Path>,
    ) -> Result<Self, Error> {
        let (cert_path, key_path) = (cert_path.as_ref(), key_path.as_ref());
        let cert = read("client certificate file", cert_path)?;
        let key = read("private key file", key_path)?;
        Self::parse(
            &cert,
            &format!("file {}", cert_path.display()),
            &key,
            &format!("file {}", key_path.display()),
        )
    }

    fn parse(cert: &[u8], cert_origin: &str, key: &[u8], key_origin: &str) -> Result<Self, Error> {
        let certs = certificates(cert, "client certificate", cert_origin, CERT_EXPECTED)?;
        let key = PrivateKeyDer::from_pem_slice(key).map_err(|e| Error::Pem {
            what: "private key",
            origin: key_origin.to_owned(),
            detail: pem_detail(&e),
            expected: KEY_EXPECTED,
        })?;
        let certified =
            CertifiedKey::from_der(certs, key, &provider()).map_err(|e| Error::ClientIdentity {
                detail: e.to_string(),
            })?;
        Ok(ClientIdentity {
            certified: Arc::new(certified),
        })
    }
}

impl fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientIdentity")
            .field("certificates", &self.certified.cert.len())
            .field("private_key", &"[REDACTED]")
            .finish()
    }
}

/// The CA certificates that verify the broker's server certificate.
///
/// The default, [`CaRoots::system`], trusts the operating system's CA store, which is what High
/// Mobility's broker needs. Tests and local brokers (Mosquitto, the emulator) bring their own CA.
#[derive(Clone, Default)]
pub struct CaRoots {
    custom: Option<Arc<Vec<CertificateDer<'static>>>>,
}

impl CaRoots {
    /// The operating system's CA store (loaded when the consumer is created).
    pub fn system() -> Self {
        CaRoots::default()
    }

    /// Trust exactly the CA certificates in this PEM text.
    pub fn from_pem(pem: impl AsRef<[u8]>) -> Result<Self, Error> {
        let certs = certificates(
            pem.as_ref(),
            "CA certificate",
            "the CA certificate PEM",
            CA_EXPECTED,
        )?;
        Ok(CaRoots {
            custom: Some(Arc::new(certs)),
        })
    }

    /// Trust exactly the CA certificates in this PEM file.
    pub fn from_pem_file(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let pem = read("CA certificate file", path)?;
        let certs = certificates(
            &pem,
            "CA certificate",
            &format!("file {}", path.display()),
            CA_EXPECTED,
        )?;
        Ok(CaRoots {
            custom: Some(Arc::new(certs)),
        })
    }

    fn root_store(&self) -> Result<rustls::RootCertStore, Error> {
        let mut store = rustls::RootCertStore::empty();
        let (added, detail) = match &self.custom {
            Some(certs) => {
                let (added, ignored) = store.add_parsable_certificates(certs.iter().cloned());
                (
                    added,
                    format!("{ignored} given certificate(s) could not be parsed"),
                )
            }
            None => {
                let loaded = rustls_native_certs::load_native_certs();
                let errors = loaded.errors.len();
                let (added, _) = store.add_parsable_certificates(loaded.certs);
                (
                    added,
                    format!("the system CA store is empty or unreadable ({errors} error(s))"),
                )
            }
        };
        if added == 0 {
            return Err(Error::NoCaRoots { detail });
        }
        Ok(store)
    }
}

impl fmt::Debug for CaRoots {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.custom {
            None => f.write_str("CaRoots(system)"),
            Some(certs) => write!(f, "CaRoots({} certificate(s))", certs.len()),
        }
    }
}

/// The crypto provider of every TLS connection: aws-lc-rs, chosen explicitly so that the process-wide
/// default does not matter (it is ambiguous when several providers are linked in).
fn provider() -> CryptoProvider {
    rustls::crypto::aws_lc_rs::default_provider()
}

/// The rustls configuration for the broker connection: the given roots and the client identity.
pub(crate) fn client_config(
    identity: &ClientIdentity,
    ca: &CaRoots,
) -> Result<Arc<ClientConfig>, Error> {
    let roots = ca.root_store()?;
    let config = ClientConfig::builder_with_provider(Arc::new(provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::ClientIdentity {
            detail: e.to_string(),
        })?
        .with_root_certificates(roots)
        .with_client_cert_resolver(Arc::new(SingleCertAndKey::from(identity.certified.clone())));
    Ok(Arc::new(config))
}

fn certificates(
    pem: &[u8],
    what: &'static str,
    origin: &str,
    expected: &'static str,
) -> Result<Vec<CertificateDer<'static>>, Error> {
    let refuse = |detail: String| Error::Pem {
        what,
        origin: origin.to_owned(),
        detail,
        expected,
    };
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| refuse(pem_detail(&e)))?;
    if certs.is_empty() {
        return Err(refuse("no PEM certificate found".to_owned()));
    }
    Ok(certs)
}

/// Describes a PEM error without quoting the input (which may be key material).
fn pem_detail(error: &pem::Error) -> String {
    match error {
        pem::Error::NoItemsFound => "no PEM block of the right kind found".to_owned(),
        pem::Error::MissingSectionEnd { .. } => "a PEM section has no END line".to_owned(),
        pem::Error::IllegalSectionStart { .. } => "a PEM BEGIN line is malformed".to_owned(),
        pem::Error::Base64Decode(_) => "the base64 body of a PEM section is invalid".to_owned(),
        _ => "the PEM text cannot be parsed".to_owned(),
    }
}

/// The most a certificate, key or CA file is read: a client certificate and its key are a few
/// KiB, a CA bundle of the whole system store a few hundred.
pub const MAX_PEM_FILE_BYTES: usize = 1024 * 1024;

/// Reads a certificate or key file: at most [`MAX_PEM_FILE_BYTES`] (so `/dev/zero` fails at once
/// instead of filling memory), refusing directories and devices, and without waiting for the
/// writer of a named pipe that nothing has opened.
pub(crate) fn read(what: &'static str, path: &Path) -> Result<Vec<u8>, Error> {
    let read_error = |source: std::io::Error| Error::ReadFile {
        what,
        path: path.to_owned(),
        source,
    };
    let refused = |reason: &str| {
        read_error(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            reason,
        ))
    };
    let file = open_without_waiting(path).map_err(|source| {
        if looks_like_pem(&path.as_os_str().to_string_lossy()) {
            let remedy = match what {
                "private key file" => "HM_MQTT_KEY_PEM or ClientIdentity::from_pem",
                "CA certificate file" => "HM_MQTT_CA_PEM or CaRoots::from_pem",
                _ => "HM_MQTT_CERT_PEM or ClientIdentity::from_pem",
            };
            return Error::PemAsPath { what, remedy };
        }
        read_error(source)
    })?;
    let kind = file.metadata().map_err(read_error)?.file_type();
    let pipe = is_pipe(&kind);
    if kind.is_dir() {
        return Err(refused("it is a directory"));
    }
    if !kind.is_file() && !pipe {
        return Err(refused("it is a device or socket, not a file"));
    }
    let mut bytes = Vec::new();
    file.take(MAX_PEM_FILE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.is_empty() && pipe {
        return Err(refused(
            "it is a named pipe and nothing wrote to it (was the process that provides it started?)",
        ));
    }
    if bytes.len() > MAX_PEM_FILE_BYTES {
        return Err(Error::FileTooLarge {
            what,
            path: path.to_owned(),
            limit: MAX_PEM_FILE_BYTES,
        });
    }
    Ok(bytes)
}

/// Opens `path` for reading without waiting for a writer: `open` on a named pipe that nothing has
/// opened for writing would block forever. Reads block as usual afterwards, so a pipe with a
/// writer (`--key <(vault read ...)`) is read whole, and one without reads as empty.
#[cfg(unix)]
fn open_without_waiting(path: &Path) -> std::io::Result<std::fs::File> {
    use rustix::fs::OFlags;
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(OFlags::NONBLOCK.bits() as i32)
        .open(path)?;
    let flags = rustix::fs::fcntl_getfl(&file)?;
    rustix::fs::fcntl_setfl(&file, flags - OFlags::NONBLOCK)?;
    Ok(file)
}

#[cfg(not(unix))]
fn open_without_waiting(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::File::open(path)
}

#[cfg(unix)]
fn is_pipe(kind: &std::fs::FileType) -> bool {
    std::os::unix::fs::FileTypeExt::is_fifo(kind)
}

#[cfg(not(unix))]
fn is_pipe(_kind: &std::fs::FileType) -> bool {
    false
}

/// PEM text or a bare base64 body, rather than a file name: PEM markers, line breaks, or a long
/// run of nothing but base64 characters.
fn looks_like_pem(text: &str) -> bool {
    let base64 = |c: char| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=');
    text.contains("-----")
        || text.contains(['\n', '\r'])
        || (text.len() >= 40 && text.chars().all(base64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_text_is_not_taken_for_a_path() {
        for pem in [
            "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49\n-----END PRIVATE KEY-----\n",
            "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgs3cr3t",
            "MIGHAgEAMBMGByqGSM49\nAgEGCCqGSM49AwEHBG0w",
        ] {
            let error = read("private key file", Path::new(pem)).expect_err("not a file");
            let shown = format!("{error} {error:?}");
            assert!(matches!(error, Error::PemAsPath { .. }), "{shown}");
            assert!(!shown.contains("MIGHAgEAMBMGByqGSM49"), "{shown}");
            assert!(shown.contains("HM_MQTT_KEY_PEM"), "{shown}");
        }
        let missing =
            read("private key file", Path::new("/etc/hm/missing-key.pem")).expect_err("missing");
        assert!(
            missing.to_string().contains("/etc/hm/missing-key.pem"),
            "an ordinary path is shown: {missing}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn devices_directories_and_silent_pipes_are_clear_errors_at_once() {
        let device = read("private key file", Path::new("/dev/zero")).expect_err("a device");
        assert!(matches!(device, Error::ReadFile { .. }), "{device}");
        assert!(
            device
                .to_string()
                .contains("/dev/zero: it is a device or socket, not a file"),
            "{device}"
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let error = read("CA certificate file", dir.path()).expect_err("a directory");
        assert!(error.to_string().contains("it is a directory"), "{error}");

        // A named pipe nothing writes to: an error now, not a wait for a writer.
        let fifo = dir.path().join("key.fifo");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .expect("mkfifo")
                .success()
        );
        let error = read("private key file", &fifo).expect_err("a silent pipe");
        assert!(
            error
                .to_string()
                .contains("named pipe and nothing wrote to it"),
            "{error}"
        );

        let large = dir.path().join("huge.pem");
        std::fs::write(&large, vec![b'A'; MAX_PEM_FILE_BYTES + 1]).expect("write");
        let error = read("client certificate file", &large).expect_err("too large");
        assert!(matches!(error, Error::FileTooLarge { .. }), "{error}");
        assert!(
            error.to_string().contains("larger than 1024 KiB"),
            "{error}"
        );
        std::fs::write(&large, vec![b'A'; MAX_PEM_FILE_BYTES]).expect("write");
        assert_eq!(
            read("client certificate file", &large)
                .expect("at the limit")
                .len(),
            MAX_PEM_FILE_BYTES
        );
    }
}
