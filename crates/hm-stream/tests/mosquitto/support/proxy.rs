//! A loopback TCP proxy between a consumer and the broker that can cut every connection and refuse
//! new ones: the network failure, on demand.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::{AbortHandle, JoinHandle};

pub struct ChaosProxy {
    port: u16,
    shared: Arc<Shared>,
    accept: JoinHandle<()>,
}

#[derive(Default)]
struct Shared {
    connections: Mutex<Vec<AbortHandle>>,
    refusing: AtomicBool,
    accepted: AtomicU64,
}

impl ChaosProxy {
    pub async fn start(upstream_port: u16) -> ChaosProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared::default());
        let state = shared.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if state.refusing.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                state.accepted.fetch_add(1, Ordering::SeqCst);
                let relay = tokio::spawn(async move {
                    if let Ok(mut upstream) = TcpStream::connect(("127.0.0.1", upstream_port)).await
                    {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut upstream).await;
                    }
                });
                let mut connections = state.connections.lock().unwrap();
                connections.retain(|c| !c.is_finished());
                connections.push(relay.abort_handle());
            }
        });
        ChaosProxy {
            port,
            shared,
            accept,
        }
    }

    pub fn url(&self) -> String {
        format!("mqtts://127.0.0.1:{}", self.port)
    }

    /// Drops every open connection (both sides see it closed).
    pub fn cut(&self) {
        for connection in self.shared.connections.lock().unwrap().drain(..) {
            connection.abort();
        }
    }

    /// While refusing, new connections are closed as soon as they are accepted.
    pub fn refuse(&self, refusing: bool) {
        self.shared.refusing.store(refusing, Ordering::SeqCst);
    }

    /// Connections relayed so far.
    #[allow(dead_code)]
    pub fn accepted(&self) -> u64 {
        self.shared.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for ChaosProxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}
