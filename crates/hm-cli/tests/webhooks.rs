//! `hm webhooks listen`, `hm emulator serve --webhook`, `hm clearance request --wait
//! --webhook-port` and the demo's webhooks, end to end: real processes, the emulator's signed
//! deliveries on loopback.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::*;
use hm_emulator::webhooks::WebhookConfig;
use hm_emulator::{DEMO_VIN_APPROVED, EmulatorConfig};
use predicates::prelude::*;
use serde_json::Value;

const SECRET: &str = "cli-webhook-test-secret";
/// Bound of every wait for a line; a hang fails the test instead of blocking it.
const PATIENCE: Duration = Duration::from_secs(30);

/// A running `hm` process whose stdout and stderr lines arrive on channels.
struct Running {
    child: Child,
    stdout: mpsc::Receiver<String>,
    stderr: mpsc::Receiver<String>,
}

impl Running {
    fn spawn(args: &[&str], stdin: Option<&str>) -> Self {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_hm"));
        for var in HM_VARS {
            command.env_remove(var);
        }
        command.env_remove("HM_WEBHOOK_SECRET");
        let mut child = command
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("hm starts");
        let mut input = child.stdin.take().expect("stdin");
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).expect("stdin written");
        }
        drop(input);
        let stdout = lines(child.stdout.take().expect("stdout"));
        let stderr = lines(child.stderr.take().expect("stderr"));
        Running {
            child,
            stdout,
            stderr,
        }
    }

    fn next_stdout(&self) -> String {
        self.stdout
            .recv_timeout(PATIENCE)
            .unwrap_or_else(|e| panic!("no line on stdout ({e}); stderr: {:?}", self.stderr_now()))
    }

    fn next_stderr(&self) -> String {
        self.stderr
            .recv_timeout(PATIENCE)
            .unwrap_or_else(|e| panic!("no line on stderr ({e})"))
    }

    fn stderr_now(&self) -> Vec<String> {
        self.stderr.try_iter().collect()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn lines(stream: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    receiver
}

/// `hm webhooks listen --json` on a free port, the secret read from stdin; returns its URL.
fn listen() -> (Running, String) {
    let listener = Running::spawn(
        &[
            "webhooks",
            "listen",
            "--port",
            "0",
            "--secret-file",
            "-",
            "--json",
        ],
        Some(&format!("{SECRET}\n")),
    );
    let first: Value = serde_json::from_str(&listener.next_stderr()).expect("a JSON line");
    let url = first["listening"].as_str().expect("listening").to_owned();
    (listener, url)
}

fn with_webhook(url: &str, delay_secs: u64) -> EmulatorConfig {
    EmulatorConfig {
        webhooks: vec![WebhookConfig::new(url, SECRET)],
        ..demo_config(delay_secs)
    }
}

fn json_line(line: &str) -> Value {
    serde_json::from_str(line).unwrap_or_else(|e| panic!("not one JSON line ({e}): {line}"))
}

#[test]
fn webhooks_listen_prints_the_emulators_deliveries_and_refuses_bad_signatures() {
    let (listener, url) = listen();
    let fx = Fixture::with(with_webhook(&url, 1));

    let ping = json_line(&listener.next_stdout());
    assert_eq!(ping["event"], "ping");
    uuid_like(&ping["id"]);

    fx.cleared(DEMO_VIN_APPROVED, "sandbox");
    let change = json_line(&listener.next_stdout());
    assert_eq!(change["event"], "fleet_clearance_changed");
    assert_eq!(change["vin"], DEMO_VIN_APPROVED);
    assert_eq!(change["status"], "approved");
    assert_eq!(change["body"]["vehicle"]["vin"], DEMO_VIN_APPROVED);
    assert_eq!(change["body"]["event"]["action"], "approved");

    // A forged delivery: 401, said on stderr, nothing printed on stdout.
    let status = fx.runtime.block_on(async {
        reqwest::Client::new()
            .post(&url)
            .header("X-HM-Signature-256", format!("sha256={}", "0".repeat(64)))
            .header("X-HM-Delivery", "forged-1")
            .header("X-HM-Event", "fleet_clearance_changed")
            .header("Content-Type", "application/json")
            .body(r#"{"vehicle":{"vin":"1HMTEST0000000009"},"event":{"action":"approved"}}"#)
            .send()
            .await
            .expect("the listener answers")
            .status()
    });
    assert_eq!(status, 401);
    let refused = json_line(&listener.next_stderr());
    assert_eq!(refused["refused"]["status"], 401, "{refused}");
    assert!(
        listener.stdout.try_recv().is_err(),
        "nothing printed for it"
    );
}

fn uuid_like(id: &Value) {
    let id = id.as_str().expect("an id");
    assert_eq!(id.len(), 36, "{id}");
}

#[test]
fn emulator_serve_delivers_to_webhooks_listen_from_its_flags() {
    let (listener, url) = listen();
    let _emulator = Running::spawn(
        &[
            "emulator",
            "serve",
            "--port",
            "0",
            "--webhook",
            &url,
            "--webhook-secret",
            SECRET,
            "--webhook-events",
            "fleet_clearance_changed",
        ],
        None,
    );
    // The ping on registration goes out whatever the events say.
    let ping = json_line(&listener.next_stdout());
    assert_eq!(ping["event"], "ping");
}

/// The secret kept out of argv (and `ps`): from stdin here, from a file or HM_WEBHOOK_SECRET alike.
#[test]
fn emulator_serve_reads_the_webhook_secret_from_stdin_or_a_file() {
    let (listener, url) = listen();
    let _emulator = Running::spawn(
        &[
            "emulator",
            "serve",
            "--port",
            "0",
            "--webhook",
            &url,
            "--webhook-secret-file",
            "-",
        ],
        Some(&format!("{SECRET}\n")),
    );
    // Signed with the secret read from stdin, or the listener would have refused it.
    let ping = json_line(&listener.next_stdout());
    assert_eq!(ping["event"], "ping");

    hm_bin()
        .args(["emulator", "serve", "--port", "0"])
        .args(["--webhook", "http://127.0.0.1:1/"])
        .args(["--webhook-secret-file", "/nonexistent/hm-webhook-secret"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "cannot read the webhook secret file /nonexistent/hm-webhook-secret",
        ));
    // HM_WEBHOOK_SECRET is read when no flag gives the secret: a blank one is refused.
    hm_bin()
        .env("HM_WEBHOOK_SECRET", " ")
        .args(["emulator", "serve", "--port", "0"])
        .args(["--webhook", "http://127.0.0.1:1/"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("secret").and(predicate::str::contains("missing").not()));
}

#[test]
fn emulator_serve_refuses_unusable_webhooks() {
    hm_bin()
        .args(["emulator", "serve", "--port", "0"])
        .args([
            "--webhook",
            "http://example.com/hooks",
            "--webhook-secret",
            "s",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("use https"));
    hm_bin()
        .args(["emulator", "serve", "--port", "0"])
        .args([
            "--webhook",
            "http://127.0.0.1:1/",
            "--webhook",
            "http://127.0.0.1:2/",
        ])
        .args([
            "--webhook-secret",
            "a",
            "--webhook-secret",
            "b",
            "--webhook-secret",
            "c",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "2 --webhook URL(s) but 3 --webhook-secret(s)",
        ));
}

#[test]
fn webhooks_listen_needs_a_usable_secret() {
    hm_bin()
        .args(["webhooks", "listen", "--port", "0"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("the webhook secret is missing"));
    hm_bin()
        .args(["webhooks", "listen", "--port", "0", "--secret", " "])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "the webhook secret cannot be used",
        ));
}

/// A port nothing listens on right now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

#[test]
fn clearance_request_wait_learns_the_decision_from_the_emulators_webhook() {
    let port = free_port();
    let fx = Fixture::with(with_webhook(&format!("http://127.0.0.1:{port}/"), 1));
    // Polls only after an hour without a delivery, but gives up after 30 s: only the webhook
    // can end this wait in time.
    let out = fx
        .hm()
        .args([
            "clearance",
            "request",
            DEMO_VIN_APPROVED,
            "--brand",
            "sandbox",
        ])
        .args(["--wait", "--interval", "1h", "--timeout", "30s", "--json"])
        .args(["--webhook-port", &port.to_string()])
        .env("HM_WEBHOOK_SECRET", SECRET)
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let doc = stdout_json(&out);
    assert_eq!(doc["clearances"][0]["status"], "approved", "{doc}");
    assert_eq!(doc["timed_out"], false);
}

#[test]
fn clearance_request_wait_polls_when_no_webhook_arrives() {
    let fx = Fixture::new(); // no webhook configured: nothing will arrive
    let out = fx
        .hm()
        .args([
            "clearance",
            "request",
            DEMO_VIN_APPROVED,
            "--brand",
            "sandbox",
        ])
        .args(["--wait", "--interval", "0.3", "--json"])
        .args(["--webhook-port", &free_port().to_string()])
        .args(["--webhook-secret", SECRET])
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(stdout_json(&out)["clearances"][0]["status"], "approved");
}

#[test]
fn clearance_request_webhook_port_needs_wait() {
    hm_bin()
        .args([
            "clearance",
            "request",
            DEMO_VIN_APPROVED,
            "--brand",
            "sandbox",
        ])
        .args(["--webhook-port", "9000"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--wait"));
}

#[test]
fn the_demo_learns_its_decisions_from_webhooks() {
    let out = hm_bin()
        .args(["demo", "--json"])
        .timeout(Duration::from_secs(60))
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let doc = stdout_json(&out);
    let decided = doc["clearances"].as_array().expect("clearances").len() as u64;
    assert!(decided >= 2, "{doc}");
    assert_eq!(doc["learned"]["from_webhooks"], decided, "{doc}");
    // One poll, for the documents, after the webhooks said everything was decided.
    assert_eq!(doc["learned"]["polls"], 1, "{doc}");
}
