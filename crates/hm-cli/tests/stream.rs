//! `hm stream` through the binary against the emulator's MQTT broker (mutual TLS with the
//! certificates the emulator writes), and `hm emulator serve` telling how to consume it.
//!
//! The emulator's clock is frozen: a message is published when the test moves it, after `hm
//! stream` said on stderr that the broker accepted its subscription. Nothing sleeps.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use common::{Fixture, HM_VARS, demo_config, hm_bin, text};
use hm_emulator::mqtt::application_id;
use hm_emulator::{DEMO_CLIENT_ID, DEMO_VIN_APPROVED};
use predicates::prelude::*;
use serde_json::Value;

/// Generous bound on any one wait; a healthy run needs a fraction of a second.
const PATIENCE: Duration = Duration::from_secs(20);

/// hm-stream's variables, which must not come from the developer's shell.
const MQTT_VARS: [&str; 12] = [
    "HM_APPLICATION_ID",
    "HM_MQTT_URL",
    "HM_MQTT_ENVIRONMENT",
    "HM_MQTT_CERT_FILE",
    "HM_MQTT_CERT_PEM",
    "HM_MQTT_KEY_FILE",
    "HM_MQTT_KEY_PEM",
    "HM_MQTT_CA_FILE",
    "HM_MQTT_CA_PEM",
    "HM_MQTT_CLIENT_ID",
    "HM_MQTT_SHARE_GROUP",
    "HM_MQTT_LEAVE_SHARE_GROUPS",
];

/// The emulator with its broker on a frozen clock (a round of messages for each second the test
/// moves it) and the demo's approved vehicle cleared at once, without moving the clock: no message
/// is published before the test says so.
fn streaming() -> Fixture {
    let mut config = demo_config(0);
    config.follow_real_time = false;
    config.mqtt.enabled = true;
    config.mqtt.publish_interval_secs = 1;
    let fixture = Fixture::with(config);
    fixture
        .hm()
        .args([
            "clearance",
            "request",
            DEMO_VIN_APPROVED,
            "--brand",
            "sandbox",
        ])
        .assert()
        .success();
    fixture
}

/// `hm stream` with a clean environment plus the settings of the fixture's broker.
fn stream_env(fixture: &Fixture) -> Vec<(&'static str, String)> {
    let mqtt = fixture.emulator.mqtt().unwrap();
    let tls = mqtt.tls();
    let path = |p: std::path::PathBuf| p.display().to_string();
    vec![
        (
            "HM_APPLICATION_ID",
            application_id(DEMO_CLIENT_ID).to_string(),
        ),
        ("HM_MQTT_URL", mqtt.url().to_owned()),
        ("HM_MQTT_ENVIRONMENT", "live".to_owned()),
        ("HM_MQTT_CERT_FILE", path(tls.client_cert())),
        ("HM_MQTT_KEY_FILE", path(tls.client_key())),
        ("HM_MQTT_CA_FILE", path(tls.ca_cert())),
    ]
}

fn clean(cmd: &mut Command) {
    for var in HM_VARS.iter().chain(&MQTT_VARS) {
        cmd.env_remove(var);
    }
    cmd.env("HM_CONFIG", "/nonexistent/hm-test/config.toml");
}

/// A running `hm`: stderr and stdout lines arrive on channels as they are written.
struct Running {
    child: Child,
    stderr: mpsc::Receiver<String>,
    stdout: mpsc::Receiver<String>,
    stdout_done: JoinHandle<()>,
    seen: Vec<String>,
    printed: Vec<String>,
}

impl Running {
    fn spawn(mut cmd: Command) -> Self {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("hm starts");
        let (lines, stderr) = mpsc::channel();
        let err = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                let _ = lines.send(line);
            }
        });
        let (out_lines, stdout) = mpsc::channel();
        let out = child.stdout.take().unwrap();
        let stdout_done = std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let _ = out_lines.send(line);
            }
        });
        Running {
            child,
            stderr,
            stdout,
            stdout_done,
            seen: Vec::new(),
            printed: Vec::new(),
        }
    }

    /// Waits for a stderr line containing `needle`; false when hm exited without writing one.
    fn wait_for_stderr(&mut self, needle: &str) -> bool {
        loop {
            match self.stderr.recv_timeout(PATIENCE) {
                Ok(line) => {
                    let found = line.contains(needle);
                    self.seen.push(line);
                    if found {
                        return true;
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => return false,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    let _ = self.child.kill();
                    panic!("no `{needle}` on stderr; it said: {:?}", self.seen);
                }
            }
        }
    }

    /// Waits for the exit; returns the status code, stdout and the whole of stderr.
    fn finish(mut self) -> (Option<i32>, String, String) {
        let (done, exited) = mpsc::channel();
        let mut child = self.child;
        let id = child.id();
        let waiter = std::thread::spawn(move || {
            let status = child.wait();
            let _ = done.send(());
            status
        });
        if exited.recv_timeout(PATIENCE).is_err() {
            // Still running after PATIENCE: stop it (by its own pid) so the test fails, not hangs.
            let _ = Command::new("kill").arg(id.to_string()).status();
            self.seen.extend(self.stderr.try_iter());
            panic!("hm did not exit; stderr: {:?}", self.seen);
        }
        let status = waiter.join().unwrap().expect("status");
        self.stdout_done.join().unwrap();
        self.printed.extend(self.stdout.try_iter());
        self.seen.extend(self.stderr.try_iter());
        let stdout: String = self.printed.iter().map(|l| format!("{l}\n")).collect();
        (status.code(), stdout, self.seen.join("\n"))
    }
}

/// Starts `hm stream ARGS` against the fixture's broker.
fn spawn_stream(fixture: &Fixture, args: &[&str]) -> Running {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hm"));
    clean(&mut cmd);
    cmd.envs(stream_env(fixture)).arg("stream").args(args);
    Running::spawn(cmd)
}

/// Starts `hm stream ARGS` against the fixture's broker and waits until it is subscribed.
fn start_stream(fixture: &Fixture, args: &[&str]) -> Running {
    let mut running = spawn_stream(fixture, args);
    let subscribed = if args.contains(&"--json") {
        "\"subscribed\""
    } else {
        "receiving live/level13/"
    };
    assert!(
        running.wait_for_stderr(subscribed),
        "hm stream exited before it was subscribed: {:?}",
        running.seen
    );
    running
}

fn publish_rounds(fixture: &Fixture, rounds: usize) {
    for _ in 0..rounds {
        fixture.emulator.advance(Duration::from_secs(1));
    }
}

fn json_lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"))
        })
        .collect()
}

fn message_ids(lines: &[Value]) -> Vec<String> {
    let mut ids: Vec<String> = lines
        .iter()
        .map(|l| l["message_id"].as_str().unwrap().to_owned())
        .collect();
    ids.dedup();
    ids
}

#[test]
fn stream_count_prints_typed_values_one_line_each_and_stops() {
    let fixture = streaming();
    let running = start_stream(&fixture, &["--count", "2"]);
    publish_rounds(&fixture, 3);
    let (code, stdout, stderr) = running.finish();
    assert_eq!(code, Some(0), "{stderr}");
    let odometers: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("  diagnostics.odometer  "))
        .collect();
    assert_eq!(
        odometers.len(),
        2,
        "two messages, one odometer each: {odometers:?}"
    );
    for line in &odometers {
        // VIN, capability.property, the typed value with its unit, the timestamp.
        let fields: Vec<&str> = line.split("  ").collect();
        assert_eq!(fields[0], DEMO_VIN_APPROVED, "{line}");
        assert!(fields[2].ends_with(" kilometers"), "{line}");
        assert!(
            chrono::DateTime::parse_from_rfc3339(fields[3]).is_ok(),
            "{line}"
        );
    }
    assert!(
        stdout.lines().all(|l| l.starts_with(DEMO_VIN_APPROVED)),
        "every line is one value of the vehicle"
    );
}

#[test]
fn stream_json_lines_parse_with_the_documented_fields() {
    let fixture = streaming();
    let running = start_stream(&fixture, &["--json", "--count", "1"]);
    publish_rounds(&fixture, 1);
    let (code, stdout, stderr) = running.finish();
    assert_eq!(code, Some(0), "{stderr}");
    let lines = json_lines(&stdout);
    assert!(
        lines.len() > 100,
        "a whole document: {} values",
        lines.len()
    );
    assert_eq!(message_ids(&lines).len(), 1);
    for line in &lines {
        let fields: Vec<&str> = line
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            fields,
            [
                "capability",
                "data",
                "failure",
                "message_id",
                "property",
                "timestamp",
                "vin"
            ]
        );
        assert_eq!(line["vin"], DEMO_VIN_APPROVED);
    }
    let odometer = lines
        .iter()
        .find(|l| l["capability"] == "diagnostics" && l["property"] == "odometer")
        .expect("the odometer");
    assert!(odometer["data"]["value"].is_number(), "{odometer}");
    assert_eq!(odometer["data"]["unit"], "kilometers");
}

#[test]
fn stream_acknowledges_exactly_what_it_printed() {
    let fixture = streaming();
    let args = ["--json", "--count", "1", "--mqtt-client-id", "ack-test"];
    let first = start_stream(&fixture, &args);
    publish_rounds(&fixture, 2);
    let (code, stdout, stderr) = first.finish();
    assert_eq!(code, Some(0), "{stderr}");
    let printed = message_ids(&json_lines(&stdout));
    assert_eq!(printed.len(), 1);

    // The second message was not printed, so not acknowledged: the broker delivers it again,
    // intact, to the next run under the same client id (maybe before confirming the
    // subscription: the session kept it), and nothing more is published. The first one was
    // acknowledged and does not come again.
    let second = spawn_stream(&fixture, &args);
    let (code, stdout, stderr) = second.finish();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
    let next = message_ids(&json_lines(&stdout));
    assert_eq!(next.len(), 1);
    assert_ne!(next, printed, "the printed message was acknowledged");
    assert_eq!(
        fixture.emulator.mqtt().unwrap().stats().published,
        2,
        "the second run printed the one message the first left unacknowledged"
    );
}

#[test]
fn members_of_a_share_group_split_the_stream() {
    let fixture = streaming();
    let member = |id| {
        start_stream(
            &fixture,
            &["--json", "--share", "ingest", "--mqtt-client-id", id],
        )
    };
    let mut members = [member("member-a"), member("member-b")];
    publish_rounds(&fixture, 6);
    // The message ids each member printed, in order, each line read once.
    let mut split: [Vec<String>; 2] = Default::default();
    let deadline = std::time::Instant::now() + PATIENCE;
    while split.iter().map(Vec::len).sum::<usize>() < 6 {
        assert!(
            std::time::Instant::now() < deadline,
            "split so far: {split:?}"
        );
        for (member, ids) in members.iter_mut().zip(&mut split) {
            // Blocks briefly for each member in turn rather than spinning.
            let first = member.stdout.recv_timeout(Duration::from_millis(20)).ok();
            for line in first.into_iter().chain(member.stdout.try_iter()) {
                let id = json_lines(&line)[0]["message_id"]
                    .as_str()
                    .unwrap()
                    .to_owned();
                if ids.last() != Some(&id) {
                    ids.push(id);
                }
            }
        }
    }
    assert!(
        split.iter().all(|ids| !ids.is_empty()),
        "both members got a share: {split:?}"
    );
    assert!(
        split[0].iter().all(|id| !split[1].contains(id)),
        "no message went to both: {split:?}"
    );
    for member in members {
        let _ = Command::new("kill")
            .args(["-INT", &member.child.id().to_string()])
            .status();
        let (code, _, stderr) = member.finish();
        assert_eq!(code, Some(0), "{stderr}");
    }
}

#[test]
fn ctrl_c_stops_the_stream_cleanly() {
    let fixture = streaming();
    let running = start_stream(&fixture, &[]);
    publish_rounds(&fixture, 1);
    let interrupted = Command::new("kill")
        .args(["-INT", &running.child.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    let (code, _, stderr) = running.finish();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stderr.contains("error"), "{stderr}");
}

#[test]
fn stream_errors_are_one_clear_line_without_key_material() {
    let fixture = streaming();
    let tls = fixture.emulator.mqtt().unwrap().tls();
    let key = std::fs::read_to_string(tls.client_key()).unwrap();
    let key_body = key.lines().nth(1).unwrap().to_owned();
    let client_cert = tls.client_cert().display().to_string();
    let free_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let refused = format!("mqtts://127.0.0.1:{free_port}");
    // A client certificate of another CA, which the broker does not accept.
    let other_dir = tempfile::tempdir().unwrap();
    let other = hm_emulator::mqtt::pki::create(other_dir.path(), &["stranger".to_owned()]).unwrap();
    let (other_cert, other_key) = (
        other.files.client_cert().display().to_string(),
        other.files.client_key().display().to_string(),
    );
    let other_key_body = std::fs::read_to_string(&other_key)
        .unwrap()
        .lines()
        .nth(1)
        .unwrap()
        .to_owned();
    // (environment, arguments, exit code, part of the message)
    type Case<'a> = (Vec<(&'a str, &'a str)>, Vec<&'a str>, i32, &'a str);
    let cases: Vec<Case<'_>> = vec![
        (
            vec![("HM_APPLICATION_ID", "")],
            vec![],
            2,
            "give --application-id UUID or set HM_APPLICATION_ID",
        ),
        (
            vec![],
            vec!["--application-id", "not-a-uuid"],
            2,
            "invalid application id",
        ),
        (
            vec![],
            vec!["--cert", "/nonexistent/client.pem"],
            3,
            "cannot read client certificate file /nonexistent/client.pem",
        ),
        (
            vec![("HM_MQTT_KEY_FILE", &key)],
            vec![],
            3,
            "looks like PEM text, not a path (not shown",
        ),
        (vec![], vec!["--key", &client_cert], 3, "private key"),
        (
            vec![],
            vec!["--mqtt-url", "mqtt://127.0.0.1:1883"],
            2,
            "use mqtts://",
        ),
        (
            vec![],
            vec!["--mqtt-url", &refused],
            5,
            "connection refused",
        ),
        (
            vec![],
            vec!["--ca", &client_cert],
            5,
            "certificate is not trusted",
        ),
        (
            vec![],
            vec!["--cert", &other_cert, "--key", &other_key],
            3,
            "the broker rejected the client certificate",
        ),
        (
            vec![],
            vec!["--share", "ingest"],
            2,
            "--share needs --mqtt-client-id",
        ),
        (vec![], vec!["--count", "0"], 2, "--count"),
    ];
    for (env, args, code, message) in cases {
        let mut cmd = hm_bin();
        for var in MQTT_VARS {
            cmd.env_remove(var);
        }
        cmd.envs(stream_env(&fixture))
            .envs(env)
            .arg("stream")
            .args(&args);
        let output = cmd.output().unwrap();
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(code), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(
            stderr.starts_with("error: ")
                && stderr.lines().filter(|l| !l.trim().is_empty()).count() <= 2,
            "one error and what to do: {stderr}"
        );
        assert!(
            !stderr.contains(&key_body) && !stderr.contains(&other_key_body),
            "key material in {stderr}"
        );
        assert!(output.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn stream_errors_as_json_name_their_kind() {
    let fixture = streaming();
    let free_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let output = hm_bin()
        .envs(stream_env(&fixture))
        .args(["stream", "--json", "--mqtt-url"])
        .arg(format!("mqtts://127.0.0.1:{free_port}"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(5));
    let error = common::stderr_json(&output);
    assert_eq!(error["error"]["kind"], "connection_refused");
    assert!(
        error["error"]["hint"]
            .as_str()
            .unwrap()
            .contains("--mqtt-url")
    );
}

#[test]
fn emulator_serve_prints_the_settings_hm_stream_consumes() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("emulator.toml");
    std::fs::write(
        &config,
        format!(
            "[mqtt]\npublish_interval_secs = 1\n\n\
             [[applications]]\nclient_id = \"first-app\"\nclient_secret = \"first-app-secret-0123456\"\n\n\
             [[applications]]\nclient_id = \"stream-test\"\nclient_secret = \"stream-test-secret-0123\"\n\n\
             [[vehicles]]\nvin = \"{DEMO_VIN_APPROVED}\"\nbrand = \"sandbox\"\nclearance_delay_secs = 0\n"
        ),
    )
    .unwrap();
    let tls_dir = dir.path().join("tls");
    let mut serve = Command::new(env!("CARGO_BIN_EXE_hm"));
    clean(&mut serve);
    serve
        .args(["emulator", "serve", "--port", "0", "--config"])
        .arg(&config)
        .arg("--tls-dir")
        .arg(&tls_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut server = serve.spawn().unwrap();
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let mut printed: Vec<String> = Vec::new();
    // Two applications, each with its own lines; stream-test's come second, and its own certificate
    // is the only one that opens its topic.
    while printed.iter().filter(|l| l.trim() == "hm stream").count() < 2 {
        match lines.next() {
            Some(Ok(line)) => printed.push(line),
            _ => break,
        }
    }
    let base = printed[0]
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap()
        .to_owned();
    let exports: Vec<(String, String)> = printed
        .iter()
        .filter_map(|l| l.trim().strip_prefix("export "))
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    assert_eq!(exports.len(), 12, "{printed:#?}");
    assert_ne!(exports[3], exports[9], "one certificate per application");
    let exports = exports[6..].to_vec();
    let names: Vec<&str> = exports.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "HM_APPLICATION_ID",
            "HM_MQTT_URL",
            "HM_MQTT_ENVIRONMENT",
            "HM_MQTT_CERT_FILE",
            "HM_MQTT_KEY_FILE",
            "HM_MQTT_CA_FILE"
        ],
        "{printed:#?}"
    );
    assert!(
        printed
            .iter()
            .any(|l| l.contains(&tls_dir.display().to_string())),
        "{printed:#?}"
    );
    for (_, value) in exports.iter().filter(|(k, _)| k.ends_with("_FILE")) {
        assert!(std::path::Path::new(value).starts_with(&tls_dir), "{value}");
    }
    assert!(!printed.iter().any(|l| l.contains("PRIVATE KEY")));

    hm_bin()
        .env("HM_ENVIRONMENT", &base)
        .env("HM_CLIENT_ID", "stream-test")
        .env("HM_CLIENT_SECRET", "stream-test-secret-0123")
        .args([
            "clearance",
            "request",
            DEMO_VIN_APPROVED,
            "--brand",
            "sandbox",
        ])
        .args(["--wait", "--interval", "1s"])
        .assert()
        .success();
    // The printed lines are all `hm stream` needs; the emulator publishes in real time here.
    let streamed = hm_bin()
        .envs(exports)
        .args(["stream", "--count", "1"])
        .timeout(PATIENCE)
        .output()
        .unwrap();
    let _ = server.kill();
    let _ = server.wait();
    assert!(streamed.status.success(), "{}", text(&streamed.stderr));
    assert!(
        text(&streamed.stdout).contains(&format!("{DEMO_VIN_APPROVED}  diagnostics.odometer  ")),
        "{}",
        text(&streamed.stdout)
    );
}

#[test]
fn emulator_serve_without_mqtt_prints_no_broker() {
    let mut serve = Command::new(env!("CARGO_BIN_EXE_hm"));
    clean(&mut serve);
    let mut server = serve
        .args(["emulator", "serve", "--port", "0", "--no-mqtt", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The JSON document is pretty-printed: read up to its closing brace.
    let mut doc = String::new();
    for line in BufReader::new(server.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        let end = line == "}";
        doc.push_str(&line);
        if end {
            break;
        }
    }
    let _ = server.kill();
    let _ = server.wait();
    let doc: Value = serde_json::from_str(&doc).unwrap();
    assert!(doc["base_url"].is_string());
    assert!(doc.get("mqtt").is_none(), "{doc}");
    hm_bin()
        .args(["emulator", "serve", "--no-mqtt", "--tls-dir", "/tmp/x"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--tls-dir"));
}
