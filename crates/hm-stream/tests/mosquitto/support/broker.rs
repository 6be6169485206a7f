//! A Mosquitto broker for one test: mutual TLS on a free loopback port, persistence on, started and
//! stopped by the test.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::common::pki::TestPki;
use crate::support::wait_for;

pub struct Mosquitto {
    binary: PathBuf,
    dir: PathBuf,
    port: u16,
    child: Option<Child>,
}

impl Mosquitto {
    /// Writes the certificates and a configuration into `dir` and starts the broker.
    pub async fn start(binary: &Path, pki: &TestPki, dir: &Path) -> Mosquitto {
        pki.write_broker_files(dir);
        std::fs::create_dir_all(dir.join("data")).unwrap();
        let mut broker = Mosquitto {
            binary: binary.to_owned(),
            dir: dir.to_owned(),
            port: free_port(),
            child: None,
        };
        broker.write_config();
        broker.launch().await;
        broker
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `mqtts://127.0.0.1:{port}`.
    pub fn url(&self) -> String {
        format!("mqtts://127.0.0.1:{}", self.port)
    }

    fn write_config(&self) {
        let dir = self.dir.display();
        let config = format!(
            "# written by hm-stream's tests\n\
             per_listener_settings false\n\
             user root\n\
             listener {port} 127.0.0.1\n\
             cafile {dir}/ca.pem\n\
             certfile {dir}/server.pem\n\
             keyfile {dir}/server.key\n\
             require_certificate true\n\
             use_identity_as_username true\n\
             allow_anonymous true\n\
             persistence true\n\
             persistence_location {dir}/data/\n\
             autosave_interval 0\n\
             max_queued_messages 0\n\
             max_inflight_messages 20\n\
             log_dest file {dir}/mosquitto.log\n\
             log_type error\n\
             log_type warning\n\
             log_type notice\n\
             log_type information\n",
            port = self.port,
        );
        std::fs::write(self.dir.join("mosquitto.conf"), config).unwrap();
    }

    async fn launch(&mut self) {
        let mut child = Command::new(&self.binary)
            .arg("-c")
            .arg(self.dir.join("mosquitto.conf"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.binary.display()));
        let port = self.port;
        let accepting = wait_for(Duration::from_secs(20), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        let exited = child.try_wait().unwrap();
        if !accepting.await || exited.is_some() {
            let _ = child.kill();
            panic!(
                "mosquitto did not start on port {port} (exit: {exited:?}); its log:\n{}",
                self.log()
            );
        }
        self.child = Some(child);
    }

    /// Stops the broker the way a service manager does (SIGTERM: it saves its state), then starts
    /// it again on the same port with the same data.
    pub async fn restart(&mut self) {
        self.stop().await;
        self.launch().await;
    }

    pub async fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success(), "kill -TERM failed");
        let mut exited = false;
        for _ in 0..2000 {
            if child.try_wait().unwrap().is_some() {
                exited = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(
            exited,
            "mosquitto did not stop within 20 s; log:\n{}",
            self.log()
        );
    }

    /// The broker's process id while it runs (the throughput benchmark reads its CPU time).
    #[allow(dead_code)]
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("mosquitto.log")).unwrap_or_default()
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
