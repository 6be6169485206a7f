//! The emulator's own certificate authority: a CA, the broker's server certificate and a demo
//! client certificate, made fresh with rcgen on every start and written as PEM files.

use std::io::Write;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

use crate::Error;

/// File name of the CA certificate (what clients trust to verify the broker).
pub const CA_CERT_FILE: &str = "ca.pem";
/// File name of the broker's certificate (for `127.0.0.1` and `localhost`).
pub const SERVER_CERT_FILE: &str = "server.pem";
/// File name of the broker's private key.
pub const SERVER_KEY_FILE: &str = "server.key";
/// File name of the demo application's client certificate.
pub const CLIENT_CERT_FILE: &str = "client.pem";
/// File name of the demo application's private key.
pub const CLIENT_KEY_FILE: &str = "client.key";

/// Where the emulator wrote its CA, server and demo client certificates (all PEM).
///
/// The private keys are written with mode 0600; they only ever open this emulator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    dir: PathBuf,
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

    /// The demo application's client certificate (what the console hands out per application).
    pub fn client_cert(&self) -> PathBuf {
        self.dir.join(CLIENT_CERT_FILE)
    }

    /// The demo application's private key.
    pub fn client_key(&self) -> PathBuf {
        self.dir.join(CLIENT_KEY_FILE)
    }
}

/// Creates a CA, a server certificate for `127.0.0.1` / `localhost` and a demo client
/// certificate, and writes them into `dir` (created if missing; files there are replaced).
pub fn create(dir: &Path) -> Result<TlsFiles, Error> {
    std::fs::create_dir_all(dir).map_err(|source| Error::TlsFiles {
        path: dir.to_path_buf(),
        source,
    })?;
    let (ca_pem, issuer) = ca()?;
    let (server_pem, server_key) = leaf(
        &issuer,
        "hm-emulator MQTT broker",
        &["127.0.0.1", "localhost"],
        ExtendedKeyUsagePurpose::ServerAuth,
    )?;
    let (client_pem, client_key) = leaf(
        &issuer,
        "hm-emulator demo application",
        &[],
        ExtendedKeyUsagePurpose::ClientAuth,
    )?;
    let files = TlsFiles {
        dir: dir.to_path_buf(),
    };
    write_public(&files.ca_cert(), &ca_pem)?;
    write_public(&files.server_cert(), &server_pem)?;
    write_private(&files.server_key(), &server_key)?;
    write_public(&files.client_cert(), &client_pem)?;
    write_private(&files.client_key(), &client_key)?;
    Ok(files)
}

fn pki_error(what: &str) -> impl Fn(rcgen::Error) -> Error + '_ {
    move |e| Error::Pki(format!("{what}: {e}"))
}

fn ca() -> Result<(String, Issuer<'static, KeyPair>), Error> {
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
    Ok((cert.pem(), Issuer::new(params, key)))
}

/// A certificate signed by `issuer` and its private key, both PEM.
fn leaf(
    issuer: &Issuer<'static, KeyPair>,
    name: &str,
    sans: &[&str],
    usage: ExtendedKeyUsagePurpose,
) -> Result<(String, String), Error> {
    let names = sans.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let mut params = CertificateParams::new(names).map_err(pki_error(name))?;
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![usage];
    let key = KeyPair::generate().map_err(pki_error(name))?;
    let cert = params.signed_by(&key, issuer).map_err(pki_error(name))?;
    Ok((cert.pem(), key.serialize_pem()))
}

fn write_public(path: &Path, pem: &str) -> Result<(), Error> {
    std::fs::write(path, pem).map_err(|source| Error::TlsFiles {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes a private key readable by the owner only. The file is created afresh, so a key never
/// sits, even briefly, in a file that an earlier run left with wider permissions.
fn write_private(path: &Path, pem: &str) -> Result<(), Error> {
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
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(fail)?;
    file.write_all(pem.as_bytes()).map_err(fail)
}
