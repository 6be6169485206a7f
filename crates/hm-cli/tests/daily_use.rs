//! End-to-end tests of `hm` for daily use: failing fast and saying why, scriptable errors, logs,
//! hints, profiles, completions and bulk work. Against the emulator, or a small loopback server
//! where a behaviour (an unknown capability, a 429, a hung endpoint) must be forced.

mod common;

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use common::*;
use hm_emulator::{
    DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_VIN_APPROVED, DEMO_VIN_MERCEDES, DEMO_VIN_REJECTED,
    DEMO_VIN_SLOW, EmulatorConfig,
};
use predicates::prelude::*;
use serde_json::{Value, json};

// ---------------------------------------------------------------- a server that misbehaves on cue

/// VINs the fleet server lists as approved; the last one is always refused with 403.
const FLEET: [&str; 5] = [
    "1HMFLEET000000001",
    "1HMFLEET000000002",
    "1HMFLEET000000003",
    "1HMFLEET000000004",
    "1HMFLEET00000000X",
];

/// A VIN the fleet server answers at once (it is not in the list).
const SINGLE_VIN: &str = "1HMSINGLE00000001";

#[derive(Default)]
struct FleetState {
    hits: Mutex<HashMap<String, u32>>,
}

/// A loopback API: tokens, a list of approved clearances, and vehicle data whose documents carry
/// a capability no spec knows; the first data request of each listed VIN is answered 429
/// (`Retry-After: 0`).
fn fleet_server(fx: &Fixture) -> (String, Arc<FleetState>) {
    async fn token() -> impl IntoResponse {
        axum::Json(json!({
            "access_token": "fleet-token", "expires_in": 300, "token_type": "bearer",
            "scope": "fleet:clearance vehicle:data"
        }))
    }
    async fn list() -> impl IntoResponse {
        let items: Vec<Value> = FLEET
            .iter()
            .map(|vin| json!({"vin": vin, "status": "approved", "brand": "mercedes-benz", "changelog": []}))
            .collect();
        axum::Json(Value::Array(items))
    }
    async fn data(State(state): State<Arc<FleetState>>, Path(vin): Path<String>) -> Response {
        let hit = {
            let mut hits = state.hits.lock().expect("lock");
            let n = hits.entry(vin.clone()).or_default();
            *n += 1;
            *n
        };
        if vin.ends_with('X') {
            let body = json!({"errors": [{"title": "Forbidden", "detail": "Privacy mode is on"}], "request_id": "req-403"});
            return (StatusCode::FORBIDDEN, axum::Json(body)).into_response();
        }
        if hit == 1 && FLEET.contains(&vin.as_str()) {
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", "0")],
                "slow down",
            )
                .into_response();
        }
        // Field order and an unknown capability exactly as a newer API might send them.
        let body = format!(
            "{{\"vin\":\"{vin}\",\"brand\":\"mercedes_benz\",\"request_id\":\"req-{vin}\",\
             \"teleportation\":{{\"jump_state\":{{\"data\":\"ready\",\"timestamp\":\"2024-01-01T00:00:00Z\"}}}},\
             \"diagnostics\":{{\"odometer\":{{\"data\":{{\"value\":12.5,\"unit\":\"kilometers\"}},\
             \"timestamp\":\"2024-01-01T00:00:00Z\"}}}}}}"
        );
        ([("content-type", "application/json")], body).into_response()
    }
    let state = Arc::new(FleetState::default());
    let app = axum::Router::new()
        .route("/v1/access_tokens", post(token))
        .route("/v1/fleets/vehicles", get(list))
        .route("/v1/vehicle-data/autoapi-13/{vin}", get(data))
        .with_state(state.clone());
    let listener = fx
        .runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    fx.runtime
        .spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), state)
}

fn fleet_hm(base: &str) -> assert_cmd::Command {
    let mut cmd = hm_bin();
    cmd.env("HM_ENVIRONMENT", base)
        .env("HM_CLIENT_ID", "fleet-client")
        .env("HM_CLIENT_SECRET", "fleet-secret");
    cmd
}

/// A listener that accepts connections and never answers.
fn hung_listener() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream);
        }
    });
    format!("http://{addr}")
}

// ---------------------------------------------------------------- fail fast, and say why

#[test]
fn a_hung_endpoint_fails_within_the_timeout_and_names_the_deadline() {
    let base = hung_listener();
    let started = Instant::now();
    let out = hm_bin()
        .args([
            "token",
            "--env",
            &base,
            "--client-id",
            "a",
            "--client-secret",
            "b",
        ])
        .args(["--timeout", "2s", "--json"])
        .output()
        .expect("runs");
    let elapsed = started.elapsed();
    assert_eq!(out.status.code(), Some(5), "{}", text(&out.stderr));
    assert!(elapsed < Duration::from_secs(3), "took {elapsed:?}");
    let error = &stderr_json(&out)["error"];
    assert_eq!(error["kind"], "deadline");
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("/v1/access_tokens"))
    );

    // The same bound holds for the HM_TIMEOUT variable, in text.
    hm_bin()
        .env("HM_TIMEOUT", "1s")
        .args([
            "clearance",
            "list",
            "--env",
            &base,
            "--client-id",
            "a",
            "--client-secret",
            "b",
        ])
        .assert()
        .code(5)
        .stderr(predicate::str::contains("deadline"))
        .stderr(predicate::str::contains("--timeout"));
}

#[test]
fn an_address_where_nothing_listens_is_named_as_such() {
    let fx = Fixture::new();
    let base = fx.base().to_owned();
    drop(fx);
    let out = hm_bin()
        .env("HM_ENVIRONMENT", &base)
        .args([
            "token",
            "--client-id",
            "a",
            "--client-secret",
            "b",
            "--json",
        ])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(5));
    let error = &stderr_json(&out)["error"];
    assert_eq!(error["kind"], "connection_refused");
    assert!(
        error["hint"]
            .as_str()
            .is_some_and(|h| h.contains("emulator"))
    );
}

#[test]
fn wait_timeout_reports_decided_and_pending_vins_then_exits_6() {
    let fx = Fixture::with(EmulatorConfig::demo());
    // Approved already; the slow one stays pending for days.
    fx.hm()
        .args([
            "clearance",
            "request",
            DEMO_VIN_APPROVED,
            "--brand",
            "sandbox",
        ])
        .assert()
        .success();
    fx.emulator.advance(Duration::from_secs(5));
    let out = fx
        .hm()
        .args(["clearance", "wait", DEMO_VIN_APPROVED, DEMO_VIN_SLOW])
        .assert()
        .code(4)
        .get_output()
        .clone();
    // The slow VIN was never requested: nothing to wait for.
    assert!(
        text(&out.stderr).contains("nothing to wait for"),
        "{}",
        text(&out.stderr)
    );

    let out = fx
        .hm()
        .args([
            "clearance",
            "request",
            DEMO_VIN_SLOW,
            "--brand",
            "sandbox",
            "--wait",
        ])
        .args(["--interval", "200ms", "--timeout", "1s", "--json"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(6), "{}", text(&out.stderr));
    let doc = stdout_json(&out);
    assert_eq!(doc["timed_out"], true);
    assert_eq!(doc["pending"], json!([DEMO_VIN_SLOW]));
    assert_eq!(doc["clearances"][0]["status"], "pending");
    let error = &stderr_json(&out)["error"];
    assert_eq!(error["kind"], "wait_timeout");
    assert!(
        error["hint"]
            .as_str()
            .is_some_and(|h| h.contains("hm clearance wait"))
    );

    // Resuming without requesting again: decided and pending, in text.
    fx.hm()
        .args(["clearance", "wait", DEMO_VIN_APPROVED, DEMO_VIN_SLOW])
        .args(["--interval", "200ms", "--timeout", "1s"])
        .assert()
        .code(6)
        .stdout(
            predicate::str::contains(DEMO_VIN_APPROVED).and(predicate::str::contains("approved")),
        )
        .stdout(predicate::str::contains("pending"))
        .stderr(predicate::str::contains(format!(
            "still pending ({DEMO_VIN_SLOW})"
        )));
}

#[test]
fn on_a_terminal_the_progress_bar_is_cleared_and_colours_follow_no_color() {
    let fx = Fixture::with(EmulatorConfig::demo());
    fx.hm()
        .args(["clearance", "request", DEMO_VIN_SLOW, "--brand", "sandbox"])
        .assert()
        .success();
    // `script` (util-linux) gives hm a pseudo-terminal and copies what it shows.
    let run = |extra: &str, no_color: bool| -> String {
        let line = format!(
            "{} clearance wait {DEMO_VIN_SLOW} --interval 100ms --timeout 1s {extra}",
            env!("CARGO_BIN_EXE_hm")
        );
        let mut cmd = std::process::Command::new("script");
        cmd.args(["-qec", &line, "/dev/null"])
            .env("TERM", "xterm")
            .env("HM_CONFIG", "/nonexistent/config.toml")
            .env("HM_ENVIRONMENT", fx.base())
            .env("HM_CLIENT_ID", DEMO_CLIENT_ID)
            .env("HM_CLIENT_SECRET", DEMO_CLIENT_SECRET)
            .env_remove("RUST_LOG")
            .env_remove("NO_COLOR");
        if no_color {
            cmd.env("NO_COLOR", "1");
        }
        let out = cmd.output().expect("script (util-linux) runs");
        assert_eq!(out.status.code(), Some(6), "{}", text(&out.stdout));
        text(&out.stdout)
    };
    let screen = run("", false);
    let bar = screen
        .rfind("decided")
        .expect("a progress bar on a terminal");
    assert!(
        screen[bar..].contains("\r\u{1b}[2K"),
        "the bar is cleared: {screen:?}"
    );
    assert!(screen[bar..].contains("still pending"));
    let logged = run("-v", false);
    assert!(logged.contains("\u{1b}["), "colours on a terminal");
    assert!(!logged.contains("decided"), "no bar torn by log lines");
    let plain = run("-v", true);
    assert!(
        plain.contains("INFO") && !plain.contains("\u{1b}[3"),
        "NO_COLOR: {plain:?}"
    );
}

#[test]
fn clearance_wait_resumes_and_a_rejection_has_its_own_exit_code() {
    let fx = Fixture::new();
    fx.hm()
        .args([
            "clearance",
            "request",
            DEMO_VIN_APPROVED,
            DEMO_VIN_REJECTED,
            "--brand",
            "bmw",
        ])
        .assert()
        .code(4); // the approved VIN is a sandbox car: refused for brand bmw
    fx.hm()
        .args([
            "clearance",
            "request",
            DEMO_VIN_APPROVED,
            "--brand",
            "sandbox",
        ])
        .assert()
        .success();
    fx.emulator.advance(Duration::from_secs(5));
    fx.hm()
        .args(["clearance", "wait", DEMO_VIN_APPROVED, "--json"])
        .assert()
        .success()
        .stdout(predicate::str::contains("\"approved\""));
    fx.hm()
        .args(["clearance", "wait", DEMO_VIN_REJECTED, DEMO_VIN_APPROVED])
        .assert()
        .code(7)
        .stdout(predicate::str::contains("rejected"))
        .stderr(predicate::str::contains(format!(
            "ended rejected: {DEMO_VIN_REJECTED}"
        )));
}

#[test]
fn a_closed_pipe_ends_quietly_with_the_conventional_status() {
    let fx = Fixture::new();
    fx.cleared(DEMO_VIN_APPROVED, "sandbox");
    for args in [
        vec!["vehicle-data", DEMO_VIN_APPROVED],
        vec!["vehicle-data", DEMO_VIN_APPROVED, "--json"],
        vec!["vehicle-data", "--all-approved", "--ndjson"],
        vec!["clearance", "list"],
    ] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_hm"))
            .args(&args)
            .env_remove("RUST_LOG")
            .env("HM_CONFIG", "/nonexistent/config.toml")
            .env("HM_ENVIRONMENT", fx.base())
            .env("HM_CLIENT_ID", DEMO_CLIENT_ID)
            .env("HM_CLIENT_SECRET", DEMO_CLIENT_SECRET)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawns");
        // The reader goes away before anything is written, like `| head -0`.
        drop(child.stdout.take());
        let out = child.wait_with_output().expect("ends");
        assert_eq!(
            out.status.code(),
            Some(141),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert_eq!(text(&out.stderr), "", "{args:?}");
    }
}

// ---------------------------------------------------------------- output scripts and people can trust

#[test]
fn json_errors_are_one_object_on_stderr_with_the_same_exit_code() {
    let fx = Fixture::new();
    let out = fx
        .hm()
        .args(["clearance", "get", "WBA00000000000000", "--json"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(4));
    assert!(out.stdout.is_empty());
    let stderr = text(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    let error = &stderr_json(&out)["error"];
    assert_eq!(error["kind"], "api");
    assert_eq!(error["http_status"], 404);
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("Not found"))
    );
    assert!(
        error["hint"]
            .as_str()
            .is_some_and(|h| h.contains("hm clearance request"))
    );
    assert!(error.get("request_id").is_some());

    // Usage errors too, whether clap or hm finds them.
    let out = fx
        .hm()
        .args(["clearance", "get", "SHORT", "--json"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stderr_json(&out)["error"]["kind"], "usage");
    let out = fx
        .hm()
        .args(["token", "--env", "sandbx", "--json"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr_json(&out)["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("did you mean `sandbox`?"))
    );

    // Without --json: one message, said once, and no log lines before it.
    let out = fx
        .hm()
        .args(["clearance", "get", "WBA00000000000000"])
        .output()
        .expect("runs");
    let stderr = text(&out.stderr);
    assert_eq!(
        stderr.matches("No clearance for VIN").count(),
        1,
        "{stderr}"
    );
    assert_eq!(stderr.matches("error:").count(), 1, "{stderr}");
}

#[test]
fn failures_print_no_warnings_by_default_and_v_logs_each_exchange() {
    let fx = Fixture::new();
    let out = fx
        .bare()
        .args([
            "token",
            "--client-id",
            DEMO_CLIENT_ID,
            "--client-secret",
            "wrong",
        ])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(3));
    let stderr = text(&out.stderr);
    assert!(!stderr.contains("WARN"), "{stderr}");
    assert_eq!(stderr.matches("error:").count(), 1, "{stderr}");

    let out = fx
        .hm()
        .args(["clearance", "list", "--status", "approved", "-v"])
        .env("NO_COLOR", "1")
        .output()
        .expect("runs");
    assert!(out.status.success());
    let stderr = text(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    assert!(lines[0].contains("POST http://") && lines[0].contains("/v1/access_tokens"));
    assert!(lines[1].contains("GET http://") && lines[1].contains("/v1/fleets/vehicles?filter="));
    assert!(lines[1].contains("-> 200") && lines[1].contains(" ms)"));
    assert!(
        !stderr.contains('\u{1b}'),
        "no ANSI codes when stderr is not a terminal"
    );
    assert!(!stderr.contains(DEMO_CLIENT_SECRET));

    let out = fx
        .hm()
        .args(["clearance", "list", "-vv"])
        .output()
        .expect("runs");
    assert!(text(&out.stderr).lines().count() > 2);
}

#[test]
fn hints_fit_the_command_and_no_success_status_is_called_a_failure() {
    let fx = Fixture::new();
    fx.hm()
        .args(["static-data", UNCONFIGURED_VIN])
        .assert()
        .code(4)
        .stderr(predicate::str::contains("HTTP 404"))
        .stderr(predicate::str::contains("production"))
        .stderr(predicate::str::contains("clearance request").not());
    // Canceling a pending clearance is possible only after a day: the hint must not say "later".
    fx.hm()
        .args([
            "clearance",
            "request",
            DEMO_VIN_APPROVED,
            "--brand",
            "sandbox",
        ])
        .assert()
        .success();
    fx.hm()
        .args(["clearance", "revoke", DEMO_VIN_APPROVED])
        .assert()
        .code(4)
        .stderr(predicate::str::contains("HTTP 422"))
        .stderr(predicate::str::contains("1 day"))
        .stderr(predicate::str::contains("try again later").not());
    // A VIN refused inside a successful reply.
    fx.hm()
        .args(["clearance", "request", DEMO_VIN_MERCEDES, "--brand", "bmw"])
        .assert()
        .code(4)
        .stderr(predicate::str::contains("refused for 1 of 1"))
        .stderr(predicate::str::contains("HTTP 200").not())
        .stderr(predicate::str::contains("failed (HTTP").not());
}

#[test]
fn vehicle_data_shows_ages_one_brand_spelling_and_one_location_format() {
    let fx = Fixture::new();
    fx.cleared(DEMO_VIN_MERCEDES, "mercedes-benz");
    let out = fx
        .hm()
        .args(["vehicle-data", DEMO_VIN_MERCEDES])
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(&format!("Vehicle {DEMO_VIN_MERCEDES} (mercedes-benz)")),
        "{stdout}"
    );
    assert!(!stdout.contains("mercedes_benz"));
    assert!(
        stdout
            .lines()
            .any(|l| l.contains("odometer:") && l.ends_with("ago)")),
        "{stdout}"
    );
    let locations: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("latitude") || l.contains("(lat, lon)"))
        .collect();
    assert!(
        locations.iter().all(|l| l.contains("(lat, lon)")),
        "{locations:?}"
    );
    // --json keeps the API's own spelling.
    let out = fx
        .hm()
        .args(["vehicle-data", DEMO_VIN_MERCEDES, "--json"])
        .output()
        .expect("runs");
    assert_eq!(stdout_json(&out)["brand"], "mercedes_benz");
    // Static data's `Mercedes-Benz` reads as the clearance API spells it.
    fx.hm()
        .args(["static-data", DEMO_VIN_MERCEDES])
        .assert()
        .success()
        .stdout(predicate::str::contains("brand: mercedes-benz"));
}

#[test]
fn sandbox_style_vins_are_accepted() {
    let fx = Fixture::new();
    // The VIN of the published examples reaches the API (which knows no clearance for it).
    let out = fx
        .hm()
        .args(["clearance", "get", "exvetestvin000001", "--json"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("EXVETESTVIN000001"));
    // ISO 3779's I/O/Q rule is only a warning, and only for production (no credentials here, so
    // nothing is sent there).
    hm_bin()
        .args([
            "clearance",
            "get",
            "EXVETESTVIN000001",
            "--env",
            "production",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "warning: VIN EXVETESTVIN000001 contains `I`",
        ))
        .stderr(predicate::str::contains("no client id"));
}

#[test]
fn json_prints_the_document_as_received_with_unknown_capabilities() {
    let fx = Fixture::new();
    let (base, _) = fleet_server(&fx);
    let out = fleet_hm(&base)
        .args(["vehicle-data", SINGLE_VIN, "--json"])
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with(&format!(
            "{{\"vin\":\"{SINGLE_VIN}\",\"brand\":\"mercedes_benz\""
        )),
        "{stdout}"
    );
    assert!(stdout.contains("\"teleportation\""));
    // A single fetch rides out a 429 too (hm-auth's retry middleware honours Retry-After).
    fleet_hm(&base)
        .args(["vehicle-data", FLEET[2], "--json"])
        .assert()
        .success()
        .stdout(predicate::str::contains("teleportation"));
    // The human view is the typed model's: known capabilities only, brand in one spelling.
    let out = fleet_hm(&base)
        .args(["vehicle-data", SINGLE_VIN])
        .output()
        .expect("runs");
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("(mercedes-benz)") && stdout.contains("12.5 kilometers"),
        "{stdout}"
    );
}

#[test]
fn connection_flags_appear_only_on_commands_that_use_them() {
    hm_bin().args(["demo", "--env", "sandbox"]).assert().code(2);
    hm_bin()
        .args(["emulator", "serve", "--client-id", "x"])
        .assert()
        .code(2);
    hm_bin()
        .args(["completions", "bash", "--timeout", "1s"])
        .assert()
        .code(2);
    hm_bin()
        .args(["token", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("--client-secret-file"))
        .stdout(predicate::str::contains("--profile"));
    hm_bin()
        .args(["demo", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("--client-id").not());
}

// ---------------------------------------------------------------- what users of such tools expect

#[test]
fn completions_for_every_shell_and_a_man_page() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef hm"),
        ("fish", "complete -c hm"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let out = hm_bin()
            .args(["completions", shell])
            .output()
            .expect("runs");
        assert!(out.status.success());
        let script = text(&out.stdout);
        assert!(script.contains(marker), "{shell}");
        assert!(script.contains("all-approved"), "{shell}");
    }
    // Statuses are offered as possible values.
    let zsh = text(
        &hm_bin()
            .args(["completions", "zsh"])
            .output()
            .expect("runs")
            .stdout,
    );
    assert!(zsh.contains("canceling"));
    let man = text(&hm_bin().arg("man").output().expect("runs").stdout);
    assert!(
        man.starts_with(".ie") || man.starts_with(".TH"),
        "{}",
        &man[..80.min(man.len())]
    );
    assert!(man.contains(".TH hm 1"));
    assert!(man.contains("vehicle\\-data"));
}

#[test]
fn profiles_name_where_the_secret_is_never_the_secret_itself() {
    const SECRET_VAR: &str = "HM_CLI_TEST_DEMO_SECRET";
    let fx = Fixture::new();
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("secret.txt"),
        format!("{DEMO_CLIENT_SECRET}\n"),
    )
    .expect("write");
    let config = format!(
        "default_profile = \"emu\"\n\
         [profiles.emu]\nenvironment = \"{base}\"\nclient_id = \"{DEMO_CLIENT_ID}\"\nclient_secret_env = \"{SECRET_VAR}\"\n\
         [profiles.file]\nenvironment = \"{base}\"\nclient_id = \"{DEMO_CLIENT_ID}\"\nclient_secret_file = \"secret.txt\"\n",
        base = fx.base()
    );
    let path = dir.path().join("config.toml");
    std::fs::write(&path, config).expect("write config");
    let hm = || {
        let mut cmd = hm_bin();
        cmd.env("HM_CONFIG", &path);
        cmd
    };
    // The default profile, its secret from the variable it names.
    hm().env(SECRET_VAR, DEMO_CLIENT_SECRET)
        .arg("token")
        .assert()
        .success();
    hm().arg("token")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(SECRET_VAR));
    // --profile and HM_PROFILE; the secret file is found next to the config file.
    hm().args(["token", "--profile", "file"]).assert().success();
    hm().env("HM_PROFILE", "file")
        .args(["clearance", "list"])
        .assert()
        .success();
    // A typo gets a suggestion; a secret in clear text is refused and not echoed.
    hm().args(["token", "--profile", "fiel"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("did you mean `file`?"));
    let leaky = dir.path().join("leaky.toml");
    std::fs::write(
        &leaky,
        format!(
            "[profiles.leaky]\nenvironment = \"{}\"\nclient_id = \"{DEMO_CLIENT_ID}\"\nclient_secret = \"plain-text-secret\"\n",
            fx.base()
        ),
    )
    .expect("write config");
    hm().env("HM_CONFIG", &leaky)
        .args(["token", "--profile", "leaky"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("clear text"))
        .stderr(predicate::str::contains("plain-text-secret").not());
    // Flags win over the profile.
    hm().args(["token", "--profile", "file", "--client-secret", "wrong"])
        .assert()
        .code(3);
}

#[test]
fn a_secret_can_come_from_a_file_or_stdin_instead_of_the_command_line() {
    let fx = Fixture::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("secret");
    std::fs::write(&file, DEMO_CLIENT_SECRET).expect("write");
    fx.bare()
        .args([
            "token",
            "--client-id",
            DEMO_CLIENT_ID,
            "--client-secret-file",
        ])
        .arg(&file)
        .assert()
        .success();
    fx.bare()
        .args([
            "token",
            "--client-id",
            DEMO_CLIENT_ID,
            "--client-secret-file",
            "-",
        ])
        .write_stdin(format!("{DEMO_CLIENT_SECRET}\n"))
        .assert()
        .success();
    // Stdin cannot serve both the secret and a vehicle list.
    fx.bare()
        .args(["clearance", "request", "--from", "-", "--brand", "sandbox"])
        .args(["--client-id", DEMO_CLIENT_ID, "--client-secret-file", "-"])
        .write_stdin(format!("{DEMO_CLIENT_SECRET}\n"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("stdin"));
}

#[test]
fn clearance_request_and_eligibility_take_vins_from_csv_or_stdin() {
    let fx = Fixture::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("fleet.csv");
    std::fs::write(
        &csv,
        format!("vin,brand\n{DEMO_VIN_APPROVED},sandbox\n{DEMO_VIN_MERCEDES},mercedes-benz\n"),
    )
    .expect("write");
    let out = fx
        .hm()
        .args(["clearance", "request", "--from"])
        .arg(&csv)
        .arg("--json")
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let vehicles = stdout_json(&out)["vehicles"]
        .as_array()
        .cloned()
        .expect("vehicles");
    assert_eq!(vehicles.len(), 2);
    assert!(vehicles.iter().all(|v| v["status"] == "pending"));

    let out = fx
        .hm()
        .args(["eligibility", "--from", "-", "--json"])
        .write_stdin(format!(
            "{DEMO_VIN_APPROVED},sandbox\n{DEMO_VIN_MERCEDES},mercedes-benz\n"
        ))
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let checks = stdout_json(&out);
    assert_eq!(checks.as_array().map(Vec::len), Some(2));
    assert_eq!(checks[1]["vin"], DEMO_VIN_MERCEDES);

    // Plain VINs on stdin with --brand; a bad line stops everything before anything is sent.
    fx.hm()
        .args(["eligibility", "--from", "-", "--brand", "sandbox"])
        .write_stdin(format!("{DEMO_VIN_APPROVED}\n"))
        .assert()
        .success()
        .stdout(predicate::str::contains("ELIGIBLE"));
    fx.hm()
        .args(["clearance", "request", "--from", "-", "--brand", "sandbox"])
        .write_stdin(format!("{DEMO_VIN_APPROVED}\nnot-a-vin\n"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("line 2"))
        .stderr(predicate::str::contains("nothing was sent"));
}

#[test]
fn all_approved_streams_every_vehicle_as_ndjson() {
    let fx = Fixture::new();
    fx.cleared(DEMO_VIN_APPROVED, "sandbox");
    fx.cleared(DEMO_VIN_MERCEDES, "mercedes-benz");
    let out = fx
        .hm()
        .args([
            "vehicle-data",
            "--all-approved",
            "--ndjson",
            "--concurrency",
            "2",
        ])
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines: Vec<Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is a JSON document"))
        .collect();
    let mut vins: Vec<&str> = lines.iter().filter_map(|d| d["vin"].as_str()).collect();
    vins.sort();
    assert_eq!(vins, [DEMO_VIN_APPROVED, DEMO_VIN_MERCEDES]);
    hm_bin()
        .args(["vehicle-data", "--all-approved"])
        .assert()
        .code(2);
}

#[test]
fn all_approved_honours_429_and_reports_a_failed_vehicle_without_stopping() {
    let fx = Fixture::new();
    let (base, state) = fleet_server(&fx);
    let out = fleet_hm(&base)
        .args(["vehicle-data", "--all-approved", "--ndjson"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    let lines: Vec<String> = text(&out.stdout).lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert!(
        lines.iter().all(|l| l.contains("\"teleportation\"")),
        "documents as received"
    );
    // Each of the four was asked twice: the 429, then the answer.
    let hits = state.hits.lock().expect("lock");
    assert!(
        FLEET[..4].iter().all(|vin| hits.get(*vin) == Some(&2)),
        "{hits:?}"
    );
    // The failure: one JSON line naming the VIN, then the summary.
    let stderr = text(&out.stderr);
    let failure: Value =
        serde_json::from_str(stderr.lines().next().expect("a line")).expect("JSON");
    assert_eq!(failure["vin"], FLEET[4]);
    assert_eq!(failure["error"]["http_status"], 403);
    assert_eq!(failure["error"]["request_id"], "req-403");
    assert_eq!(stderr_json(&out)["error"]["kind"], "partial_failure");
}
