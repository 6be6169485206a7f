//! Attack finding (issue 9): a hostile or broken server sends an endless response body.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// The client's limit in this test (the default, 16 MiB, works the same; a small one keeps the test cheap).
const LIMIT: usize = 1 << 20;
/// What the server sends at most; the client should give up long before.
const SERVER_CAP: usize = 32 << 20;
/// What the server may have written by then: the limit plus the loopback socket buffers.
const REASONABLE: usize = 16 << 20;

/// The generated client reads a response body into memory without any bound (progenitor's
/// `ResponseValue::from_response` takes the whole body), so one endless or huge reply from the API
/// origin, a proxy or an emulator grows the service's memory until the request timeout (60 s by
/// default) or the OOM killer ends it. The client stops reading past a documented, configurable limit.
#[tokio::test]
async fn attack_an_endless_body_is_cut_off() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let sent = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&sent);
    let server = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = Vec::new();
        let mut buf = [0u8; 4096];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = socket.read(&mut buf).await.unwrap();
            if n == 0 {
                return;
            }
            request.extend_from_slice(&buf[..n]);
        }
        let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
        if socket.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        let chunk = vec![b' '; 1 << 20];
        let framed = [
            format!("{:x}\r\n", chunk.len()).into_bytes(),
            chunk,
            b"\r\n".to_vec(),
        ]
        .concat();
        while counter.load(Ordering::SeqCst) < SERVER_CAP {
            if socket.write_all(&framed).await.is_err() {
                return;
            }
            counter.fetch_add(1 << 20, Ordering::SeqCst);
        }
        let _ = socket.write_all(b"0\r\n\r\n").await;
    });
    let hm = hm_api::HighMobility::unauthenticated(&base, reqwest::Client::new())
        .with_max_response_bytes(LIMIT);
    let result = hm
        .fleet_clearance()
        .get_clearance()
        .vin("1HMTEST0000000001")
        .send()
        .await;
    let err = result.expect_err("an endless body fails the call");
    let chain = std::iter::successors(Some(&err as &dyn std::error::Error), |e| e.source())
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(": ");
    assert!(
        chain.contains("exceeds 1048576 bytes") && chain.contains("with_max_response_bytes"),
        "{chain}"
    );
    drop(hm);
    let _ = server.await;
    let sent = sent.load(Ordering::SeqCst);
    assert!(
        sent < REASONABLE,
        "the client read {} MiB of one response before giving up",
        sent >> 20
    );
}
