//! The attacker's own harness: a PKI made with rcgen, Eclipse Mosquitto with mutual TLS on a free
//! loopback port, a rumqttc publisher, and a hostile fake broker that speaks raw MQTT 3.1.1 over TLS.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use hm_stream::{CaRoots, ClientIdentity, StreamConfig};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use uuid::Uuid;

pub const APP: &str = "48aa1779-91c2-468e-97e9-ab112efd53b9";

pub fn app() -> Uuid {
    APP.parse().expect("uuid")
}

/// A CA, a server certificate for 127.0.0.1 / localhost and a client certificate.
pub struct Pki {
    pub ca_pem: String,
    pub server_cert: String,
    pub server_key: String,
    pub client_cert: String,
    pub client_key: String,
}

impl Pki {
    pub fn new() -> Pki {
        Pki::build(&["127.0.0.1", "localhost"], false)
    }

    /// A PKI whose server certificate names `server_names` and has expired when `expired`.
    pub fn build(server_names: &[&str], expired: bool) -> Pki {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "attack test CA");
        let ca =
            CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("key")).expect("ca");
        let server_key = KeyPair::generate().expect("key");
        let mut server_params = CertificateParams::new(
            server_names
                .iter()
                .map(|n| (*n).to_owned())
                .collect::<Vec<_>>(),
        )
        .expect("params");
        if expired {
            server_params.not_before = rcgen::date_time_ymd(2000, 1, 1);
            server_params.not_after = rcgen::date_time_ymd(2001, 1, 1);
        }
        let server = server_params
            .signed_by(&server_key, &ca)
            .expect("server cert");
        let client_key = KeyPair::generate().expect("key");
        let mut client_params = CertificateParams::new(Vec::<String>::new()).expect("params");
        client_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "attack-client");
        let client = client_params
            .signed_by(&client_key, &ca)
            .expect("client cert");
        Pki {
            ca_pem: ca.pem(),
            server_cert: server.pem(),
            server_key: server_key.serialize_pem(),
            client_cert: client.pem(),
            client_key: client_key.serialize_pem(),
        }
    }

    pub fn identity(&self) -> ClientIdentity {
        ClientIdentity::from_pem(&self.client_cert, &self.client_key).expect("identity")
    }

    /// A consumer configuration for the broker on `port`, with short backoffs.
    pub fn config(&self, port: u16) -> StreamConfig {
        StreamConfig::new(app(), self.identity())
            .broker_url(format!("mqtts://127.0.0.1:{port}"))
            .ca_roots(CaRoots::from_pem(&self.ca_pem).expect("ca"))
            .reconnect_backoff(Duration::from_millis(50), Duration::from_millis(200))
    }

    /// rustls client configuration for a publisher (same CA, same client certificate).
    pub fn client_tls(&self) -> Arc<rustls::ClientConfig> {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from_pem_slice(self.ca_pem.as_bytes()).expect("ca der"))
            .expect("root");
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(roots)
            .with_client_auth_cert(
                vec![CertificateDer::from_pem_slice(self.client_cert.as_bytes()).expect("cert")],
                PrivateKeyDer::from_pem_slice(self.client_key.as_bytes()).expect("key"),
            )
            .expect("client auth");
        Arc::new(config)
    }

    /// rustls server configuration that requires a client certificate issued by `client_ca_pem`
    /// (a broker that no longer accepts this PKI's client certificate when it is another CA).
    pub fn server_tls_requiring(&self, client_ca_pem: &str) -> Arc<rustls::ServerConfig> {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from_pem_slice(client_ca_pem.as_bytes()).expect("ca der"))
            .expect("root");
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            Arc::new(roots),
            provider.clone(),
        )
        .build()
        .expect("verifier");
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_client_cert_verifier(verifier)
            .with_single_cert(
                vec![CertificateDer::from_pem_slice(self.server_cert.as_bytes()).expect("cert")],
                PrivateKeyDer::from_pem_slice(self.server_key.as_bytes()).expect("key"),
            )
            .expect("server config");
        Arc::new(config)
    }

    /// rustls server configuration for the fake broker (no client authentication).
    pub fn server_tls(&self) -> Arc<rustls::ServerConfig> {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_no_client_auth()
            .with_single_cert(
                vec![CertificateDer::from_pem_slice(self.server_cert.as_bytes()).expect("cert")],
                PrivateKeyDer::from_pem_slice(self.server_key.as_bytes()).expect("key"),
            )
            .expect("server config");
        Arc::new(config)
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// Eclipse Mosquitto with mutual TLS on a free loopback port; killed on drop.
pub struct Mosquitto {
    pub port: u16,
    child: Child,
    _dir: tempfile::TempDir,
    pub log: PathBuf,
}

impl Mosquitto {
    pub fn start(pki: &Pki, extra_conf: &str) -> Mosquitto {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = |name: &str| dir.path().join(name);
        std::fs::write(path("ca.pem"), &pki.ca_pem).expect("write");
        std::fs::write(path("server.pem"), &pki.server_cert).expect("write");
        std::fs::write(path("server.key"), &pki.server_key).expect("write");
        let port = free_port();
        let log = path("mosquitto.log");
        let conf = format!(
            "user root\nper_listener_settings false\nallow_anonymous true\npersistence false\n\
             log_dest file {log}\nlog_type all\nlistener {port} 127.0.0.1\ncafile {ca}\n\
             certfile {cert}\nkeyfile {key}\nrequire_certificate true\n\
             use_identity_as_username true\n{extra_conf}\n",
            log = log.display(),
            ca = path("ca.pem").display(),
            cert = path("server.pem").display(),
            key = path("server.key").display(),
        );
        std::fs::write(path("mosquitto.conf"), conf).expect("write");
        let binary = if std::path::Path::new("/usr/sbin/mosquitto").exists() {
            "/usr/sbin/mosquitto"
        } else {
            "mosquitto"
        };
        let child = Command::new(binary)
            .arg("-c")
            .arg(path("mosquitto.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mosquitto runs (apt-get install mosquitto)");
        for _ in 0..200 {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Mosquitto {
                    port,
                    child,
                    _dir: dir,
                    log,
                };
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        let mut child = child;
        let _ = child.kill();
        let _ = child.wait();
        panic!("mosquitto did not start listening on {port}");
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A rumqttc publisher on the broker at `port`, its event loop driven by a task.
pub async fn publisher(pki: &Pki, port: u16, id: &str) -> rumqttc::AsyncClient {
    let mut options = rumqttc::MqttOptions::new(id, "127.0.0.1", port);
    options.set_transport(rumqttc::Transport::tls_with_config(
        rumqttc::TlsConfiguration::Rustls(pki.client_tls()),
    ));
    let (client, mut eventloop) = rumqttc::AsyncClient::new(options, 1000);
    tokio::spawn(async move {
        loop {
            if eventloop.poll().await.is_err() {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    });
    client
}

/// A valid MQTT V2 message with `message_id`.
pub fn message(message_id: &str) -> String {
    format!(
        r#"{{"version":2,"application_id":"{APP}","message_id":"{message_id}","vin":"VIN0000000000001","data":{{"diagnostics":{{"odometer":[{{"data":{{"value":2050,"unit":"kilometers"}},"timestamp":"2021-10-06T13:59:25.648943Z"}}]}}}}}}"#
    )
}

// ---- raw MQTT 3.1.1 over TLS: a hostile fake broker -----------------------------------------

/// One MQTT packet: the first byte (type and flags) and the body after the remaining length.
#[derive(Debug, Clone)]
pub struct Packet {
    pub header: u8,
    pub body: Vec<u8>,
}

impl Packet {
    pub fn kind(&self) -> u8 {
        self.header >> 4
    }

    /// The packet id at the start of the body (PUBACK, PUBREC, SUBSCRIBE, ...).
    pub fn pkid(&self) -> u16 {
        u16::from_be_bytes([self.body[0], self.body[1]])
    }
}

pub const CONNECT: u8 = 1;
pub const PUBACK: u8 = 4;
pub const PUBREC: u8 = 5;
pub const PUBCOMP: u8 = 7;
pub const SUBSCRIBE: u8 = 8;
pub const PINGREQ: u8 = 12;
pub const DISCONNECT: u8 = 14;

/// One accepted TLS connection of the fake broker.
pub struct Conn {
    tls: rustls::StreamOwned<rustls::ServerConnection, TcpStream>,
}

impl Conn {
    pub fn read(&mut self) -> std::io::Result<Packet> {
        let mut byte = [0u8; 1];
        self.tls.read_exact(&mut byte)?;
        let header = byte[0];
        let mut len = 0usize;
        let mut shift = 0;
        loop {
            self.tls.read_exact(&mut byte)?;
            len |= usize::from(byte[0] & 0x7f) << shift;
            shift += 7;
            if byte[0] & 0x80 == 0 {
                break;
            }
        }
        let mut body = vec![0u8; len];
        self.tls.read_exact(&mut body)?;
        Ok(Packet { header, body })
    }

    pub fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.tls.write_all(bytes)?;
        self.tls.flush()
    }

    pub fn connack(&mut self, session_present: bool) -> std::io::Result<()> {
        self.write(&[0x20, 0x02, u8::from(session_present), 0x00])
    }

    pub fn suback(&mut self, pkid: u16, granted: u8) -> std::io::Result<()> {
        let [hi, lo] = pkid.to_be_bytes();
        self.write(&[0x90, 0x03, hi, lo, granted])
    }

    pub fn publish(
        &mut self,
        qos: u8,
        pkid: u16,
        topic: &str,
        payload: &[u8],
    ) -> std::io::Result<()> {
        let mut body = Vec::new();
        body.extend_from_slice(&(topic.len() as u16).to_be_bytes());
        body.extend_from_slice(topic.as_bytes());
        if qos > 0 {
            body.extend_from_slice(&pkid.to_be_bytes());
        }
        body.extend_from_slice(payload);
        let mut packet = vec![0x30 | (qos << 1)];
        let mut len = body.len();
        loop {
            let mut b = (len % 128) as u8;
            len /= 128;
            if len > 0 {
                b |= 0x80;
            }
            packet.push(b);
            if len == 0 {
                break;
            }
        }
        packet.extend_from_slice(&body);
        self.write(&packet)
    }

    /// A PUBLISH whose payload is `prefix`, then `x` repeated, then `suffix`, `total` bytes in
    /// all, written in chunks so that the fake broker itself holds little memory.
    pub fn publish_streamed(
        &mut self,
        qos: u8,
        pkid: u16,
        topic: &str,
        prefix: &[u8],
        suffix: &[u8],
        total: usize,
    ) -> std::io::Result<()> {
        let mut head = Vec::new();
        head.extend_from_slice(&(topic.len() as u16).to_be_bytes());
        head.extend_from_slice(topic.as_bytes());
        if qos > 0 {
            head.extend_from_slice(&pkid.to_be_bytes());
        }
        let mut packet = vec![0x30 | (qos << 1)];
        let mut len = head.len() + total;
        loop {
            let mut b = (len % 128) as u8;
            len /= 128;
            if len > 0 {
                b |= 0x80;
            }
            packet.push(b);
            if len == 0 {
                break;
            }
        }
        packet.extend_from_slice(&head);
        packet.extend_from_slice(prefix);
        self.tls.write_all(&packet)?;
        let chunk = vec![b'x'; 64 * 1024];
        let mut left = total - prefix.len() - suffix.len();
        while left > 0 {
            let n = left.min(chunk.len());
            self.tls.write_all(&chunk[..n])?;
            left -= n;
        }
        self.tls.write_all(suffix)?;
        self.tls.flush()
    }

    /// Reads packets, answering PINGREQ, until one of `kind` arrives.
    pub fn expect(&mut self, kind: u8) -> std::io::Result<Packet> {
        loop {
            let packet = self.read()?;
            if packet.kind() == PINGREQ {
                self.write(&[0xD0, 0x00])?;
                continue;
            }
            if packet.kind() == kind {
                return Ok(packet);
            }
        }
    }
}

/// A fake broker on a free loopback port: every accepted connection is handed, after the TLS
/// handshake, to `script` (with its 0-based connection number) on its own thread.
pub fn fake_broker<F>(pki: &Pki, script: F) -> u16
where
    F: Fn(Conn, usize) + Send + Sync + 'static,
{
    let config = pki.server_tls();
    fake_broker_with(move |_| config.clone(), script)
}

/// Like [`fake_broker`], with the TLS configuration of each connection chosen by its number.
pub fn fake_broker_with<C, F>(tls: C, script: F) -> u16
where
    C: Fn(usize) -> Arc<rustls::ServerConfig> + Send + 'static,
    F: Fn(Conn, usize) + Send + Sync + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let script = Arc::new(script);
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().enumerate() {
            let Ok(stream) = stream else { continue };
            let config = tls(n);
            let script = script.clone();
            std::thread::spawn(move || {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(120)));
                let Ok(server) = rustls::ServerConnection::new(config) else {
                    return;
                };
                let conn = Conn {
                    tls: rustls::StreamOwned::new(server, stream),
                };
                script(conn, n);
            });
        }
    });
    port
}
