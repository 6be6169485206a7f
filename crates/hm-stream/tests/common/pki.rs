//! Certificates for tests, made fresh with rcgen: a CA, a broker certificate for 127.0.0.1 (only:
//! `localhost` is the wrong name), a client certificate, and a second CA with its own client (for refusal tests).

use std::path::Path;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

/// A certificate and its private key, both PEM.
#[derive(Clone)]
pub struct Pair {
    pub cert_pem: String,
    pub key_pem: String,
}

impl Pair {
    pub fn identity(&self) -> hm_stream::ClientIdentity {
        hm_stream::ClientIdentity::from_pem(&self.cert_pem, &self.key_pem).unwrap()
    }
}

/// A test CA with one broker and one client certificate.
pub struct TestPki {
    pub ca_pem: String,
    pub server: Pair,
    pub client: Pair,
    /// A client certificate from a CA the broker does not trust.
    pub stranger: Pair,
    /// That other CA: a consumer that trusts only it must refuse the broker.
    pub stranger_ca_pem: String,
}

fn ca(name: &str) -> (String, Issuer<'static, KeyPair>) {
    let mut params = CertificateParams::new(Vec::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let key = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), Issuer::new(params, key))
}

fn leaf(
    issuer: &Issuer<'static, KeyPair>,
    name: &str,
    sans: &[&str],
    usage: ExtendedKeyUsagePurpose,
) -> Pair {
    let mut params =
        CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    params.extended_key_usages = vec![usage];
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, issuer).unwrap();
    Pair {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    }
}

impl TestPki {
    pub fn new() -> Self {
        let (ca_pem, issuer) = ca("hm-stream test CA");
        let server = leaf(
            &issuer,
            "broker",
            &["127.0.0.1"],
            ExtendedKeyUsagePurpose::ServerAuth,
        );
        let client = leaf(
            &issuer,
            "hm-stream-client",
            &[],
            ExtendedKeyUsagePurpose::ClientAuth,
        );
        let (stranger_ca_pem, stranger_issuer) = ca("some other CA");
        let stranger = leaf(
            &stranger_issuer,
            "stranger",
            &[],
            ExtendedKeyUsagePurpose::ClientAuth,
        );
        TestPki {
            ca_pem,
            server,
            client,
            stranger,
            stranger_ca_pem,
        }
    }

    /// Writes `ca.pem`, `server.pem`, `server.key` into `dir` (what a broker needs).
    #[allow(dead_code)]
    pub fn write_broker_files(&self, dir: &Path) {
        std::fs::write(dir.join("ca.pem"), &self.ca_pem).unwrap();
        std::fs::write(dir.join("server.pem"), &self.server.cert_pem).unwrap();
        std::fs::write(dir.join("server.key"), &self.server.key_pem).unwrap();
    }
}
