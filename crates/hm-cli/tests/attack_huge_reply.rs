//! Attack: a server answers with a reply far larger than any vehicle document. `hm` buffers the
//! whole body in memory with no limit: an endless body grows until `--timeout` (1.9 GB in 8 s
//! from a slow Python server on loopback; a fast server fills RAM long before 30 s).

mod attack_support;

use attack_support::{hm, serve};
use axum::Router;
use axum::body::Body;
use axum::routing::get;
use futures::StreamExt;

const MIB: usize = 1 << 20;

#[test]
fn a_reply_of_hundreds_of_megabytes_is_refused_not_buffered() {
    let server = serve(Router::new().route(
        "/v1/vehicle-data/autoapi-13/{vin}",
        get(|| async {
            let head = futures::stream::once(async {
                bytes::Bytes::from_static(br#"{"vin":"1HMDEM0CAR0000001","brand":"bmw","x":""#)
            });
            let filler = futures::stream::iter(0..256).map(|_| bytes::Bytes::from(vec![b'a'; MIB]));
            let tail = futures::stream::once(async { bytes::Bytes::from_static(br#""}"#) });
            Body::from_stream(head.chain(filler).chain(tail).map(Ok::<_, std::io::Error>))
        }),
    ));
    let out = hm(&server.url)
        .args([
            "vehicle-data",
            "1HMDEM0CAR0000001",
            "--json",
            "--timeout",
            "60s",
        ])
        .output()
        .expect("runs");
    assert!(
        !out.status.success(),
        "a 256 MiB vehicle document was buffered and printed ({} bytes on stdout)",
        out.stdout.len()
    );
    let error: serde_json::Value = serde_json::from_slice(&out.stderr).expect("one JSON error");
    assert_ne!(
        error["error"]["kind"], "deadline",
        "an oversized reply must be named as such: {error}"
    );
    assert_eq!(error["error"]["kind"], "reply_too_large", "{error}");
    assert_eq!(out.status.code(), Some(4), "{error}");
}
