//! Attack reproducers for webhook delivery and `hm webhooks listen` (issue 10, part 2).
//! Each test passes once its weakness is fixed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;

use hm_webhooks::{ClearanceStatus, Delivery, WebhookSecret};

fn hm() -> Command {
    Command::new(env!("CARGO_BIN_EXE_hm"))
}

/// A URL that does not parse is echoed whole in the error, password included.
#[test]
fn unparsable_webhook_url_does_not_print_its_password() {
    for url in [
        "https://user:s3cretpw@exa mple.com/",
        "http://user:s3cretpw@[::1/",
    ] {
        let out = hm()
            .args(["emulator", "serve", "--port", "0", "--webhook", url])
            .args(["--webhook-secret", "whsecret-value"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success());
        assert!(!stderr.contains("s3cretpw"), "password printed: {stderr}");
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `hm webhooks listen` answers 200 as soon as a delivery is queued for printing, not once it
/// was printed: with a slow (or blocked) stdout up to 256 deliveries are acknowledged, so the
/// sender never retries them, and they are lost when the command ends.
#[test]
fn listen_acknowledges_only_what_it_printed() {
    let port = free_port();
    let secret = "listen-ack-secret";
    let mut child = hm()
        .args(["webhooks", "listen", "--json", "--port", &port.to_string()])
        .args(["--secret", secret])
        .stdin(Stdio::null())
        .stdout(Stdio::piped()) // never read until the end: a consumer that is slow
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let acked = flood(port, secret);
    // The operator stops it (a crash or a kill alike). Reaped before the pipe is read: reading
    // first could let a write blocked on the full pipe finish before the kill lands, printing
    // a delivery already answered 503 (retried, so printed twice: not lost).
    child.kill().unwrap();
    let _ = child.wait();
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let printed = out.lines().count();
    assert!(acked > 0);
    assert_eq!(
        printed, acked,
        "{acked} deliveries answered 200 (the sender will not retry them), only {printed} printed"
    );
}

/// Sends signed deliveries until one is not answered 200 within 2 s; returns how many were.
fn flood(port: u16, secret: &str) -> usize {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let client = reqwest::Client::new();
        let secret = WebhookSecret::new(secret).unwrap();
        // Wait for the listener.
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let mut acked = 0;
        for i in 0..2000 {
            // A long reason, as a rejection may carry, fills the pipe sooner.
            let d = Delivery::fleet_clearance_changed(
                format!("00000000-0000-4000-8000-{i:012}"),
                "WBA00000000000001",
                ClearanceStatus::Approved,
                Some("x".repeat(1000)),
            );
            let signed = d.signed(&secret).unwrap();
            let sent = client
                .post(format!("http://127.0.0.1:{port}/"))
                .headers(signed.headers)
                .body(signed.body)
                .timeout(Duration::from_secs(2))
                .send()
                .await;
            match sent {
                Ok(r) if r.status().is_success() => acked += 1,
                _ => break,
            }
        }
        acked
    })
}

/// `hm webhooks listen | less`: the pager fills, the user presses ctrl-c. The SIGINT arrives
/// while the listener is blocked writing a line, outside the `select!` that waits for ctrl-c
/// (each turn of the loop makes a new `ctrl_c()` future, which misses signals that came before
/// it): the signal is lost (tokio's handler replaced the default one), and the listener runs on
/// until the next ctrl-c.
#[test]
fn listen_stops_on_ctrl_c_even_when_stdout_was_blocked() {
    let port = free_port();
    let secret = "listen-sigint-secret";
    let mut child = hm()
        .args(["webhooks", "listen", "--json", "--port", &port.to_string()])
        .args(["--secret", secret])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    assert!(flood(port, secret) > 0);
    let pid = child.id().to_string();
    let sigint = || Command::new("kill").args(["-INT", &pid]).status().unwrap();
    sigint();
    // The pager reads on (or quits): stdout is no longer blocked.
    let mut stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        let mut sink = Vec::new();
        let _ = stdout.read_to_end(&mut sink);
    });
    // Wait for the exit itself (no polling), bounded so that a regression fails instead of hanging.
    let (exited, exit) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = exited.send(child.wait());
    });
    let status = exit.recv_timeout(Duration::from_secs(10));
    if status.is_err() {
        let _ = Command::new("kill").args(["-KILL", &pid]).status();
    }
    assert!(
        status.is_ok(),
        "still running 10 s after ctrl-c, stdout drained"
    );
}

/// `hm webhooks listen` and `hm clearance request` take the webhook secret from a file or
/// HM_WEBHOOK_SECRET, but `hm emulator serve` only from `--webhook-secret SECRET`: the secret
/// is in `ps` and the shell history of anyone who runs the emulator with a real webhook.
#[test]
fn emulator_serve_takes_the_webhook_secret_from_a_file_or_the_environment() {
    let out = hm().args(["emulator", "serve", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains("--webhook-secret-file") || help.contains("HM_WEBHOOK_SECRET"),
        "{help}"
    );
}

/// The listener has no limit on connections and no read timeout: connections that never send
/// a byte (or never finish their headers, or trickle a body) are held for ever, so a local
/// process that opens a few hundred of them takes every file descriptor and genuine deliveries
/// are no longer accepted. (Run under `prlimit --nofile=128` so that it is quick; the default
/// 1,024 falls the same way to 1,100 idle connections.)
#[test]
fn listen_still_accepts_deliveries_after_idle_connections() {
    if Command::new("prlimit").arg("--version").output().is_err() {
        println!("skipped: prlimit (util-linux) is not installed");
        return;
    }
    let port = free_port();
    let secret = "listen-idle-secret";
    let mut child = Command::new("prlimit")
        .arg("--nofile=128:128")
        .arg(env!("CARGO_BIN_EXE_hm"))
        .args(["webhooks", "listen", "--json", "--port", &port.to_string()])
        .args(["--secret", secret])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The listener says on stderr when it listens: wait for that line instead of retrying.
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut ready = String::new();
    std::io::BufRead::read_line(&mut stderr, &mut ready).unwrap();
    assert!(ready.contains("listening"), "{ready}");
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    let idle: Vec<_> = (0..200)
        .filter_map(|_| std::net::TcpStream::connect(("127.0.0.1", port)).ok())
        .collect();
    let delivered = deliver_one(port, secret);
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        delivered,
        "a genuine delivery was not answered while {} idle connections were open",
        idle.len()
    );
}

/// Sends one signed delivery; whether it was answered 200 within 120 s: the listener frees the
/// descriptors the idle connections hold in rounds of its 10 s head timeout (about 20 s here), and
/// a loaded CI machine must not turn that into a failure.
fn deliver_one(port: u16, secret: &str) -> bool {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let secret = WebhookSecret::new(secret).unwrap();
        let signed = Delivery::fleet_clearance_changed(
            "00000000-0000-4000-8000-000000000001",
            "WBA00000000000001",
            ClearanceStatus::Approved,
            None,
        )
        .signed(&secret)
        .unwrap();
        reqwest::Client::new()
            .post(format!("http://127.0.0.1:{port}/"))
            .headers(signed.headers)
            .body(signed.body)
            .timeout(Duration::from_secs(120))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
    })
}
