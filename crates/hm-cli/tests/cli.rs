//! End-to-end tests of the `hm` binary against an emulator started in the test process.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;
use hm_emulator::{
    ALL_SCOPES, ApplicationConfig, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_VIN_APPROVED,
    DEMO_VIN_MERCEDES, DEMO_VIN_NOT_ELIGIBLE, EmulatorConfig,
};
use predicates::prelude::*;

#[test]
fn help_documents_configuration_and_exit_codes() {
    hm_bin()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("Exit codes"))
        .stdout(predicate::str::contains("HM_CLIENT_ID"))
        .stdout(predicate::str::contains("3    authentication failure"))
        .stdout(predicate::str::contains(
            "7    --wait: a clearance ended rejected",
        ));
}

#[test]
fn token_prints_expiry_and_scopes_but_not_the_token() {
    let fx = Fixture::new();
    fx.hm()
        .arg("token")
        .assert()
        .success()
        .stdout(predicate::str::contains("expires in"))
        .stdout(predicate::str::contains("fleet:clearance"))
        .stdout(predicate::str::contains("hidden"));
}

#[test]
fn token_json_parses_and_includes_the_token_only_with_show_token() {
    let fx = Fixture::new();
    let out = fx.hm().args(["token", "--json"]).output().expect("runs");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let doc = stdout_json(&out);
    assert_eq!(doc["client_id"], DEMO_CLIENT_ID);
    assert!(
        doc["expires_in_secs"]
            .as_u64()
            .is_some_and(|s| s > 200 && s <= 300)
    );
    assert!(doc["scopes"].as_array().is_some_and(|s| s.len() == 4));
    assert!(doc.get("access_token").is_none());

    let out = fx
        .hm()
        .args(["token", "--json", "--show-token"])
        .output()
        .expect("runs");
    let doc = stdout_json(&out);
    assert!(doc["access_token"].as_str().is_some_and(|t| !t.is_empty()));
}

#[test]
fn token_with_a_wrong_secret_exits_3_with_the_servers_description() {
    let fx = Fixture::new();
    fx.bare()
        .args([
            "token",
            "--client-id",
            DEMO_CLIENT_ID,
            "--client-secret",
            "wrong-secret",
        ])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("client_secret is invalid"))
        .stderr(predicate::str::contains("check the client id"))
        .stderr(predicate::str::contains("wrong-secret").not())
        .stderr(predicate::str::contains("panicked").not());
}

#[test]
fn token_with_the_consoles_key_file_uses_the_jwt_flow() {
    let fx = Fixture::new();
    let (private, public) = key_pair();
    fx.emulator
        .register_key(DEMO_CLIENT_ID, "test-key-1", &public)
        .expect("key registered");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("key.json");
    let json = serde_json::json!({"id": "test-key-1", "private_key": private});
    std::fs::write(&path, json.to_string()).expect("write key file");
    fx.bare()
        .args(["token", "--client-id", DEMO_CLIENT_ID, "--key-file"])
        .arg(&path)
        .assert()
        .success()
        .stdout(predicate::str::contains("vehicle:data"));
}

#[test]
fn a_malformed_key_file_exits_3_with_a_clear_message() {
    let fx = Fixture::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("key.json");
    std::fs::write(&path, "this is not the console's key file").expect("write");
    fx.bare()
        .args(["token", "--client-id", DEMO_CLIENT_ID, "--key-file"])
        .arg(&path)
        .assert()
        .code(3)
        .stderr(predicate::str::contains("not valid JSON"))
        .stderr(predicate::str::contains("panicked").not());

    let pem = dir.path().join("key.pem");
    std::fs::write(
        &pem,
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    )
    .expect("write");
    fx.bare()
        .args([
            "token",
            "--client-id",
            DEMO_CLIENT_ID,
            "--key-id",
            "k",
            "--key-pem",
        ])
        .arg(&pem)
        .assert()
        .code(3)
        .stderr(predicate::str::contains("PEM"));
}

#[test]
fn missing_credentials_are_a_usage_error() {
    let fx = Fixture::new();
    fx.bare()
        .arg("token")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no client id"));
    fx.bare()
        .args(["token", "--client-id", DEMO_CLIENT_ID])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--client-secret"));
}

#[test]
fn flags_win_over_environment_variables() {
    let fx = Fixture::new();
    // A wrong secret and a key file in the environment; the secret flag wins over both.
    fx.bare()
        .env("HM_CLIENT_SECRET", "from-the-environment")
        .env("HM_PRIVATE_KEY_FILE", "/nonexistent/key.json")
        .env("HM_CLIENT_ID", "someone-else")
        .args(["token", "--client-id", DEMO_CLIENT_ID])
        .args(["--client-secret", DEMO_CLIENT_SECRET])
        .assert()
        .success();
    // Environment only: works as well.
    fx.bare()
        .env("HM_CLIENT_ID", DEMO_CLIENT_ID)
        .env("HM_CLIENT_SECRET", DEMO_CLIENT_SECRET)
        .arg("token")
        .assert()
        .success();
    // Two credentials from the environment: ambiguous.
    fx.bare()
        .env("HM_CLIENT_ID", DEMO_CLIENT_ID)
        .env("HM_CLIENT_SECRET", DEMO_CLIENT_SECRET)
        .env("HM_PRIVATE_KEY_FILE", "/nonexistent/key.json")
        .arg("token")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("more than one credential"));
}

#[test]
fn eligibility_table_and_json() {
    let fx = Fixture::new();
    fx.hm()
        .args(["eligibility", DEMO_VIN_MERCEDES, "--brand", "mercedes-benz"])
        .assert()
        .success()
        .stdout(predicate::str::contains("ELIGIBLE"))
        .stdout(predicate::str::contains("pull, push"));
    let out = fx
        .hm()
        .args([
            "eligibility",
            DEMO_VIN_NOT_ELIGIBLE,
            "--brand",
            "ford",
            "--json",
        ])
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let doc = stdout_json(&out);
    assert_eq!(doc["vin"], DEMO_VIN_NOT_ELIGIBLE);
    assert_eq!(doc["eligible"], false);
}

#[test]
fn bad_arguments_are_usage_errors_with_clear_messages() {
    let fx = Fixture::new();
    // Missing --brand.
    fx.hm()
        .args(["eligibility", DEMO_VIN_APPROVED])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--brand"));
    // A VIN of the wrong length and one with a forbidden letter.
    fx.hm()
        .args(["eligibility", "1HMSHORT", "--brand", "sandbox"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("17 characters"));
    fx.hm()
        .args(["clearance", "get", "1HMDEM0CAR000000-"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("`-` cannot appear"));
    // An unknown brand names the accepted ones.
    fx.hm()
        .args([
            "clearance",
            "request",
            DEMO_VIN_APPROVED,
            "--brand",
            "trabant",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown brand `trabant`"))
        .stderr(predicate::str::contains("mercedes-benz"));
    fx.hm()
        .args([
            "clearance",
            "request",
            DEMO_VIN_APPROVED,
            "--brand",
            "mercedez-benz",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("did you mean `mercedes-benz`?"));
    // A malformed tag and an unknown status.
    fx.hm()
        .args([
            "clearance",
            "request",
            DEMO_VIN_APPROVED,
            "--brand",
            "sandbox",
            "--tag",
            "novalue",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("key=value"));
    fx.hm()
        .args(["clearance", "list", "--status", "sleeping"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown status"));
    // A bad environment.
    fx.bare()
        .args([
            "token",
            "--env",
            "not a url",
            "--client-id",
            "x",
            "--client-secret",
            "y",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--env"));
}

#[test]
fn clearance_request_waits_until_every_vin_is_decided() {
    let fx = Fixture::new();
    let started = Instant::now();
    let out = fx
        .hm()
        .args([
            "clearance",
            "request",
            DEMO_VIN_APPROVED,
            UNCONFIGURED_VIN,
            "--brand",
            "sandbox",
        ])
        .args([
            "--tag",
            "fleet=test",
            "--wait",
            "--interval",
            "0.2",
            "--json",
        ])
        .output()
        .expect("runs");
    // One VIN ends rejected: exit code 7, with the whole outcome on stdout.
    assert_eq!(out.status.code(), Some(7), "{}", text(&out.stderr));
    assert!(started.elapsed() < Duration::from_secs(20));
    let doc = stdout_json(&out);
    // The POST reply as the API sent it.
    let requested = doc["requested"]["vehicles"].as_array().expect("requested");
    assert_eq!(requested.len(), 2);
    assert!(requested.iter().all(|r| r["status"] == "pending"));
    let decided = doc["clearances"].as_array().expect("clearances");
    let status = |vin: &str| {
        decided
            .iter()
            .find(|c| c["vin"] == vin)
            .map(|c| c["status"].clone())
    };
    assert_eq!(status(DEMO_VIN_APPROVED), Some("approved".into()));
    // A VIN the emulator does not know is rejected.
    assert_eq!(status(UNCONFIGURED_VIN), Some("rejected".into()));
    assert!(decided.iter().all(|c| c["tags"]["fleet"] == "test"));
    assert_eq!(doc["pending"].as_array().map(Vec::len), Some(0));
    assert_eq!(doc["timed_out"], false);
}

#[test]
fn clearance_list_get_and_revoke() {
    let fx = Fixture::new();
    fx.cleared(DEMO_VIN_APPROVED, "sandbox");
    fx.cleared(DEMO_VIN_MERCEDES, "mercedes-benz");

    let out = fx
        .hm()
        .args([
            "clearance",
            "list",
            "--status",
            "approved",
            "--brand",
            "sandbox",
            "--json",
        ])
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let items = stdout_json(&out);
    let items = items.as_array().expect("a list");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["vin"], DEMO_VIN_APPROVED);

    fx.hm()
        .args([
            "clearance",
            "list",
            "--vin",
            DEMO_VIN_MERCEDES,
            "--vin",
            DEMO_VIN_APPROVED,
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("STATUS"))
        .stdout(predicate::str::contains(DEMO_VIN_MERCEDES))
        .stdout(predicate::str::contains("approved"));

    fx.hm()
        .args(["clearance", "get", DEMO_VIN_APPROVED])
        .assert()
        .success()
        .stdout(predicate::str::contains("approved"))
        .stdout(predicate::str::contains("pending"));

    let out = fx
        .hm()
        .args(["clearance", "revoke", DEMO_VIN_APPROVED, "--json"])
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(stdout_json(&out)["status"], "revoking");

    // Revoking again while in transition: the API's 409 with its title and what to do.
    fx.hm()
        .args(["clearance", "revoke", DEMO_VIN_APPROVED])
        .assert()
        .code(4)
        .stderr(predicate::str::contains("HTTP 409"))
        .stderr(predicate::str::contains("what to do"))
        .stderr(predicate::str::contains("HTTP 200").not());
}

#[test]
fn clearance_request_with_the_wrong_brand_exits_4_with_the_description() {
    let fx = Fixture::new();
    fx.hm()
        .args(["clearance", "request", DEMO_VIN_MERCEDES, "--brand", "bmw"])
        .assert()
        .code(4)
        .stdout(predicate::str::contains("error"))
        .stderr(predicate::str::contains(
            "The brand does not match the vehicle",
        ));
}

#[test]
fn clearance_of_an_unknown_vin_exits_4_with_title_and_detail() {
    let fx = Fixture::new();
    fx.hm()
        .args(["clearance", "get", "WBA00000000000000"])
        .assert()
        .code(4)
        .stderr(predicate::str::contains("Not found"))
        .stderr(predicate::str::contains(
            "No clearance for VIN WBA00000000000000",
        ))
        .stderr(predicate::str::contains("hm clearance request"));
}

#[test]
fn vehicle_data_summary_and_raw_json() {
    let fx = Fixture::new();
    fx.cleared(DEMO_VIN_APPROVED, "sandbox");
    fx.hm()
        .args(["vehicle-data", DEMO_VIN_APPROVED])
        .assert()
        .success()
        .stdout(predicate::str::contains("odometer:"))
        .stdout(predicate::str::contains("kilometers"))
        .stdout(predicate::str::contains("[diagnostics]"))
        .stdout(predicate::str::contains("location:"));
    let out = fx
        .hm()
        .args(["vehicle-data", DEMO_VIN_APPROVED, "--json"])
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let doc = stdout_json(&out);
    assert_eq!(doc["vin"], DEMO_VIN_APPROVED);
    assert_eq!(doc["diagnostics"]["odometer"]["data"]["unit"], "kilometers");
    assert!(doc["vehicle_location"]["coordinates"]["data"]["latitude"].is_number());
}

#[test]
fn vehicle_data_without_clearance_exits_4() {
    let fx = Fixture::new();
    fx.hm()
        .args(["vehicle-data", DEMO_VIN_MERCEDES])
        .assert()
        .code(4)
        .stderr(predicate::str::contains("HTTP 403"))
        .stderr(predicate::str::contains("hm clearance request"));
}

#[test]
fn static_data_prints_the_manufacturer() {
    let fx = Fixture::new();
    fx.cleared(DEMO_VIN_MERCEDES, "mercedes-benz");
    fx.hm()
        .args(["static-data", DEMO_VIN_MERCEDES])
        .assert()
        .success()
        .stdout(predicate::str::contains("brand: mercedes-benz"));
    let out = fx
        .hm()
        .args(["static-data", DEMO_VIN_MERCEDES, "--json"])
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(stdout_json(&out).is_object());
}

#[test]
fn no_secret_appears_in_any_output() {
    const SECRET: &str = "s3cr3t-that-must-never-be-printed";
    let mut config = demo_config(1);
    config.applications.push(ApplicationConfig {
        client_id: "secret-test-client".into(),
        client_secret: Some(SECRET.into()),
        public_keys: Default::default(),
        scopes: ALL_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
    });
    let fx = Fixture::with(config);
    let with_secret = |secret: &str| {
        let mut cmd = fx.bare();
        cmd.env("HM_CLIENT_ID", "secret-test-client")
            .env("HM_CLIENT_SECRET", secret);
        cmd
    };
    let token = stdout_json(
        &with_secret(SECRET)
            .args(["token", "--json", "--show-token"])
            .output()
            .expect("runs"),
    )["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let runs: Vec<Vec<&str>> = vec![
        vec!["token"],
        vec!["token", "--json"],
        vec!["token", "-vv"],
        vec!["clearance", "list", "-vvv"],
        vec!["eligibility", DEMO_VIN_APPROVED, "--brand", "sandbox"],
        vec!["clearance", "list", "--json"],
        vec!["clearance", "get", "WBA00000000000000"],
        vec!["vehicle-data", DEMO_VIN_APPROVED],
        vec!["eligibility", "BAD", "--brand", "sandbox"],
    ];
    for args in runs {
        let out = with_secret(SECRET).args(&args).output().expect("runs");
        for stream in [text(&out.stdout), text(&out.stderr)] {
            assert!(
                !stream.contains(SECRET),
                "{args:?} printed the secret: {stream}"
            );
            assert!(
                !stream.contains(&token),
                "{args:?} printed a token: {stream}"
            );
        }
    }
    // A refused secret is not echoed either, nor is one given only through the environment.
    let out = with_secret("refused-secret-value")
        .arg("token")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(3));
    assert!(!text(&out.stderr).contains("refused-secret-value"));
    let out = fx
        .bare()
        .env("HM_CLIENT_SECRET", SECRET)
        .args(["--help"])
        .output()
        .expect("runs");
    assert!(!text(&out.stdout).contains(SECRET));
}

#[test]
fn demo_runs_end_to_end_in_under_a_minute() {
    let started = Instant::now();
    hm_bin()
        .arg("demo")
        .timeout(Duration::from_secs(60))
        .assert()
        .success()
        .stdout(predicate::str::contains("odometer:"))
        .stdout(predicate::str::contains("approved"))
        .stdout(predicate::str::contains("rejected"))
        .stdout(predicate::str::contains("JWT client assertion"))
        .stdout(predicate::str::contains("pushed over MQTT"))
        .stdout(
            predicate::str::is_match(r"message [0-9a-f-]{36} for 1HMDEM0CAR0000001: \d+ values")
                .unwrap(),
        )
        .stdout(predicate::str::contains(
            "1HMDEM0CAR0000001  diagnostics.odometer  ",
        ));
    assert!(started.elapsed() < Duration::from_secs(60));
}

#[test]
fn demo_json_is_one_document() {
    let out = hm_bin()
        .args(["demo", "--json"])
        .timeout(Duration::from_secs(60))
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let doc = stdout_json(&out);
    assert_eq!(doc["eligibility"].as_array().map(Vec::len), Some(4));
    let data = doc["vehicle_data"].as_array().expect("vehicle data");
    assert!(!data.is_empty());
    assert!(
        data.iter()
            .all(|d| d["diagnostics"]["odometer"].is_object())
    );
    // Each approved vehicle's data also arrived over MQTT.
    let streamed = doc["streamed"].as_array().expect("streamed messages");
    assert_eq!(streamed.len(), data.len());
    for message in streamed {
        assert!(data.iter().any(|d| d["vin"] == message["vin"]), "{message}");
        assert!(message["values"].as_u64().unwrap_or(0) > 100, "{message}");
        assert!(message["message_id"].is_string());
    }
}

#[test]
fn emulator_serve_listens_and_prints_how_to_connect() {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_hm"))
        .args(["emulator", "serve", "--port", "0"])
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawns");
    let stdout = child.stdout.take().expect("stdout");
    let mut first = String::new();
    let read = BufReader::new(stdout).read_line(&mut first);
    let _ = child.kill();
    let _ = child.wait();
    read.expect("a line");
    assert!(
        first.contains("listening on http://127.0.0.1:"),
        "unexpected first line: {first}"
    );
}

#[test]
fn emulator_serve_with_a_broken_config_is_a_usage_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("emulator.toml");
    std::fs::write(&path, "token_lifetime_secs = \"soon\"\n").expect("write");
    hm_bin()
        .args(["emulator", "serve", "--port", "0", "--config"])
        .arg(&path)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("emulator.toml"));
}

#[test]
fn clearance_wait_gives_up_after_the_timeout_with_exit_6() {
    let fx = Fixture::with(EmulatorConfig::demo());
    fx.hm()
        .args([
            "clearance",
            "request",
            hm_emulator::DEMO_VIN_SLOW,
            "--brand",
            "sandbox",
        ])
        .args(["--wait", "--interval", "0.2", "--timeout", "1s"])
        .assert()
        .code(6)
        .stderr(predicate::str::contains("still pending"));
}

#[test]
fn an_unreachable_api_exits_5() {
    let fx = Fixture::new();
    // A port nobody listens on: the emulator's port after it has stopped.
    let base = fx.base().to_owned();
    drop(fx);
    hm_bin()
        .args(["token", "--env", &base])
        .args([
            "--client-id",
            DEMO_CLIENT_ID,
            "--client-secret",
            DEMO_CLIENT_SECRET,
        ])
        .assert()
        .code(5)
        .stderr(predicate::str::contains("connection refused"))
        .stderr(predicate::str::contains(DEMO_CLIENT_SECRET).not());
}

#[test]
fn the_spec_decides_which_brands_and_statuses_are_accepted() {
    use hm_api::eligibility::types::Brand as EligibilityBrand;
    use hm_api::fleet_clearance::types::{Brand, ClearanceStatus};

    let fx = Fixture::new();
    fx.cleared(DEMO_VIN_MERCEDES, "mercedes-benz");
    // Every value the spec lists is accepted and reaches the API in its spelling.
    for status in ClearanceStatus::KNOWN {
        let out = fx
            .hm()
            .args(["clearance", "list", "--json", "--status", status.as_str()])
            .output()
            .expect("runs");
        assert!(out.status.success(), "{status:?}: {}", text(&out.stderr));
    }
    for brand in Brand::KNOWN {
        let out = fx
            .hm()
            .args(["clearance", "list", "--json", "--brand", brand.as_str()])
            .output()
            .expect("runs");
        assert!(out.status.success(), "{brand:?}: {}", text(&out.stderr));
        let vins: Vec<serde_json::Value> = stdout_json(&out)
            .as_array()
            .expect("a list")
            .iter()
            .map(|c| c["vin"].clone())
            .collect();
        let expected: Vec<serde_json::Value> = if *brand == Brand::MercedesBenz {
            vec![DEMO_VIN_MERCEDES.into()]
        } else {
            vec![]
        };
        assert_eq!(vins, expected, "{brand:?}");
    }
    // Another API's spelling is taken and sent as the clearance API spells it.
    let out = fx
        .hm()
        .args(["clearance", "list", "--json", "--brand", "MERCEDES_BENZ"])
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(stdout_json(&out)[0]["vin"], DEMO_VIN_MERCEDES);

    // A value the spec does not list is refused before anything is sent, with a suggestion.
    fx.hm()
        .args(["clearance", "list", "--status", "cancelled"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown status `cancelled`"))
        .stderr(predicate::str::contains("did you mean `canceled`?"));
    // A clearance brand the eligibility API does not list is refused by `hm eligibility`.
    let clearance_only = Brand::KNOWN
        .iter()
        .find(|b| {
            !EligibilityBrand::KNOWN
                .iter()
                .any(|e| e.as_str() == b.as_str())
        })
        .expect("the clearance API lists brands the eligibility API does not");
    fx.hm()
        .args([
            "eligibility",
            DEMO_VIN_APPROVED,
            "--brand",
            clearance_only.as_str(),
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!(
            "unknown brand `{}`",
            clearance_only.as_str()
        )))
        .stderr(predicate::str::contains(
            EligibilityBrand::MercedesBenz.as_str(),
        ));
    fx.hm()
        .args(["eligibility", DEMO_VIN_APPROVED, "--brand", "volvo"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("did you mean `volvo-cars`?"));
}
