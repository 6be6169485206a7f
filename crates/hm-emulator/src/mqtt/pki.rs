//! The emulator's own certificate authority: a CA, the broker's server certificate and one client
//! certificate per application, made fresh with rcgen on every start and written as PEM files.

use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use super::application_id;
use crate::Error;

/// File name of the CA certificate (what clients trust to verify the broker).
pub const CA_CERT_FILE: &str = "ca.pem";
/// File name of the broker's certificate (for `127.0.0.1` and `localhost`).
pub const SERVER_CERT_FILE: &str = "server.pem";
/// File name of the broker's private key.
pub const SERVER_KEY_FILE: &str = "server.key";
/// File name of the first configured application's client certificate (the demo application's in
/// the demo configuration); also written under the application's own name.
pub const CLIENT_CERT_FILE: &str = "client.pem";
/// File name of the first configured application's private key.
pub const CLIENT_KEY_FILE: &str = "client.key";
/// The lock file that keeps two emulators from writing the same directory.
const LOCK_FILE: &str = ".lock";

/// Where the emulator wrote its CA, server certificate and the applications' client certificates
/// (all PEM).
///
/// The private keys are written with mode 0600; they only ever open this emulator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    dir: PathBuf,
    /// The OAuth client ids of the applications, first one first.
    applications: Vec<String>,
}

impl TlsFiles {
    /// The directory holding the files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The CA certificate: trust it to verify the broker (`hm_stream::CaRoots::from_pem_file`).
    pub fn ca_cert(&self) -> PathBuf {
        self.dir.join(CA_CERT_FILE)
    }

    /// The broker's certificate.
    pub fn server_cert(&self) -> PathBuf {
        self.dir.join(SERVER_CERT_FILE)
    }

    /// The broker's private key.
    pub fn server_key(&self) -> PathBuf {
        self.dir.join(SERVER_KEY_FILE)
    }

    /// The first configured application's client certificate (the demo application's in the demo
    /// configuration): what the console hands out per application.
    pub fn client_cert(&self) -> PathBuf {
        self.dir.join(CLIENT_CERT_FILE)
    }

    /// The first configured application's private key.
    pub fn client_key(&self) -> PathBuf {
        self.dir.join(CLIENT_KEY_FILE)
    }

    /// The client certificate of the application with OAuth client id `client_id`, `None` when no
    /// such application is configured. It opens that application's topic only.
    pub fn application_cert(&self, client_id: &str) -> Option<PathBuf> {
        self.knows(client_id).then(|| {
            self.dir
                .join(format!("client-{}.pem", application_id(client_id)))
        })
    }

    /// The private key of the application with OAuth client id `client_id`.
    pub fn application_key(&self, client_id: &str) -> Option<PathBuf> {
        self.knows(client_id).then(|| {
            self.dir
                .join(format!("client-{}.key", application_id(client_id)))
        })
    }

    fn knows(&self, client_id: &str) -> bool {
        self.applications.iter().any(|app| app == client_id)
    }
}

/// What the broker needs from the PKI: its own identity, the CA that signs clients, and which
/// application each issued client certificate belongs to. Kept in memory: the files are for clients.
pub struct BrokerIdentity {
    /// The broker's certificate.
    pub server_cert: CertificateDer<'static>,
    /// The broker's private key.
    pub server_key: PrivateKeyDer<'static>,
    /// The CA certificate.
    pub ca_cert: CertificateDer<'static>,
    /// Each issued client certificate (DER) and the OAuth client id of its application.
    pub clients: HashMap<Vec<u8>, String>,
}

/// The written files, the broker's identity, and the lock that keeps the directory this run's.
pub struct Pki {
    /// Where the files are.
    pub files: TlsFiles,
    /// What the broker serves with.
    pub identity: BrokerIdentity,
    /// Keep it open until the emulator stops: an advisory lock on the directory's `.lock`,
    /// released when closed.
    pub lock: File,
}

/// Creates a CA, a server certificate for `127.0.0.1` / `localhost` and a client certificate for
/// each of `applications` (OAuth client ids), and writes them into `dir` (created if missing; files
/// there are replaced, never written through). Refused while another emulator uses `dir`.
pub fn create(dir: &Path, applications: &[String]) -> Result<Pki, Error> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::TlsFiles { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let lock = lock(dir)?;
    let (ca, issuer) = ca()?;
    let server = leaf(
        &issuer,
        "hm-emulator MQTT broker",
        &["127.0.0.1", "localhost"],
        ExtendedKeyUsagePurpose::ServerAuth,
    )?;
    let files = TlsFiles {
        dir: dir.to_path_buf(),
        applications: applications.to_vec(),
    };
    write_file(&files.ca_cert(), ca.pem().as_bytes(), false)?;
    write_file(&files.server_cert(), server.cert.pem().as_bytes(), false)?;
    write_file(
        &files.server_key(),
        server.key.serialize_pem().as_bytes(),
        true,
    )?;
    let mut clients = HashMap::new();
    for (i, app) in applications.iter().enumerate() {
        let client = leaf(
            &issuer,
            &format!("hm-emulator application {}", application_id(app)),
            &[],
            ExtendedKeyUsagePurpose::ClientAuth,
        )?;
        let (cert, key) = (client.cert.pem(), client.key.serialize_pem());
        let (cert_file, key_file) = (
            files.application_cert(app).unwrap_or_default(),
            files.application_key(app).unwrap_or_default(),
        );
        write_file(&cert_file, cert.as_bytes(), false)?;
        write_file(&key_file, key.as_bytes(), true)?;
        if i == 0 {
            write_file(&files.client_cert(), cert.as_bytes(), false)?;
            write_file(&files.client_key(), key.as_bytes(), true)?;
        }
        clients.insert(client.cert.der().to_vec(), app.clone());
    }
    let identity = BrokerIdentity {
        server_cert: server.cert.der().clone(),
        server_key: PrivatePkcs8KeyDer::from(server.key.serialize_der()).into(),
        ca_cert: ca.der().clone(),
        clients,
    };
    Ok(Pki {
        files,
        identity,
        lock,
    })
}

/// Takes the directory's lock file, or says which directory another emulator is using.
fn lock(dir: &Path) -> Result<File, Error> {
    let path = dir.join(LOCK_FILE);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Never through a link planted in a shared directory, and never waiting for a reader of
        // a planted FIFO.
        options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    let not_a_file = |path: &Path| Error::TlsFiles {
        path: path.to_path_buf(),
        source: std::io::Error::other(
            "it is not a regular file (a link, pipe or device?); remove it or choose another tls_dir",
        ),
    };
    if std::fs::symlink_metadata(&path).is_ok_and(|meta| !meta.is_file()) {
        return Err(not_a_file(&path));
    }
    let file = options.open(&path).map_err(|source| Error::TlsFiles {
        path: path.clone(),
        source,
    })?;
    if !file.metadata().is_ok_and(|meta| meta.is_file()) {
        return Err(not_a_file(&path));
    }
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            return Err(Error::TlsDirInUse {
                path: dir.to_path_buf(),
            });
        }
        Err(std::fs::TryLockError::Error(source)) => return Err(Error::TlsFiles { path, source }),
    }
    Ok(file)
}

fn pki_error(what: &str) -> impl Fn(rcgen::Error) -> Error + '_ {
    move |e| Error::Pki(format!("{what}: {e}"))
}

fn ca() -> Result<(rcgen::Certificate, Issuer<'static, KeyPair>), Error> {
    let mut params = CertificateParams::new(Vec::new()).map_err(pki_error("CA parameters"))?;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params
        .distinguished_name
        .push(DnType::CommonName, "hm-emulator MQTT CA");
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let key = KeyPair::generate().map_err(pki_error("CA key"))?;
    let cert = params
        .self_signed(&key)
        .map_err(pki_error("CA certificate"))?;
    Ok((cert, Issuer::new(params, key)))
}

/// A certificate and its key pair.
struct Leaf {
    cert: rcgen::Certificate,
    key: KeyPair,
}

/// A certificate signed by `issuer`.
fn leaf(
    issuer: &Issuer<'static, KeyPair>,
    name: &str,
    sans: &[&str],
    usage: ExtendedKeyUsagePurpose,
) -> Result<Leaf, Error> {
    let names = sans.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let mut params = CertificateParams::new(names).map_err(pki_error(name))?;
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![usage];
    let key = KeyPair::generate().map_err(pki_error(name))?;
    let cert = params.signed_by(&key, issuer).map_err(pki_error(name))?;
    Ok(Leaf { cert, key })
}

/// Writes a file afresh: whatever sat at `path` (an earlier run's file, or a symlink planted
/// there) is removed first and the new file created exclusively, so nothing is written through a
/// link and a key never sits, even briefly, in a file with wider permissions. Keys (`private`) are
/// readable by the owner only.
fn write_file(path: &Path, contents: &[u8], private: bool) -> Result<(), Error> {
    let fail = |source| Error::TlsFiles {
        path: path.to_path_buf(),
        source,
    };
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(fail(e)),
        _ => {}
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, if private { 0o600 } else { 0o644 });
    let mut file = options.open(path).map_err(fail)?;
    file.write_all(contents).map_err(fail)
}
