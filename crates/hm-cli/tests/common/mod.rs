//! The fixture shared by the end-to-end tests: an emulator on its own runtime, and `hm` commands
//! with a clean environment pointed at it.

#![allow(dead_code)]

use std::time::Duration;

use assert_cmd::Command;
use hm_emulator::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Emulator, EmulatorConfig, EmulatorHandle};
use p256::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use serde_json::Value;

/// Environment variables that would leak the developer's own configuration into a test.
pub const HM_VARS: [&str; 14] = [
    "HM_CLIENT_ID",
    "HM_CLIENT_SECRET",
    "HM_CLIENT_SECRET_FILE",
    "HM_PRIVATE_KEY_FILE",
    "HM_PRIVATE_KEY_PEM_FILE",
    "HM_PRIVATE_KEY_PEM",
    "HM_KEY_ID",
    "HM_ENVIRONMENT",
    "HM_PROFILE",
    "HM_TIMEOUT",
    "XDG_CONFIG_HOME",
    "RUST_LOG",
    "NO_COLOR",
    "COLUMNS",
];

/// A VIN that is not in the demo configuration: not eligible, clearance rejected.
pub const UNCONFIGURED_VIN: &str = "1HMTEST0000000009";

/// `hm` with a clean environment and no config file.
pub fn hm_bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hm"));
    for var in HM_VARS {
        cmd.env_remove(var);
    }
    cmd.env("HM_CONFIG", "/nonexistent/hm-test/config.toml");
    cmd.timeout(Duration::from_secs(60));
    cmd
}

/// An emulator serving on the fixture's own runtime while the test thread runs the binary.
pub struct Fixture {
    // Dropped first: stops the server while the runtime is still there.
    pub emulator: EmulatorHandle,
    pub runtime: tokio::runtime::Runtime,
}

impl Fixture {
    pub fn new() -> Self {
        Self::with(demo_config(1))
    }

    pub fn with(config: EmulatorConfig) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let emulator = runtime
            .block_on(Emulator::start(config))
            .expect("emulator starts");
        Fixture { emulator, runtime }
    }

    pub fn base(&self) -> &str {
        self.emulator.base_url()
    }

    /// `hm` pointed at the emulator (HM_ENVIRONMENT), without credentials.
    pub fn bare(&self) -> Command {
        let mut cmd = hm_bin();
        cmd.env("HM_ENVIRONMENT", self.base());
        cmd
    }

    /// `hm` with the demo application's client id and secret in the environment.
    pub fn hm(&self) -> Command {
        let mut cmd = self.bare();
        cmd.env("HM_CLIENT_ID", DEMO_CLIENT_ID)
            .env("HM_CLIENT_SECRET", DEMO_CLIENT_SECRET);
        cmd
    }

    /// Requests clearance for `vin` through the CLI and moves the emulator's clock past the decision.
    pub fn cleared(&self, vin: &str, brand: &str) {
        self.hm()
            .args(["clearance", "request", vin, "--brand", brand])
            .assert()
            .success();
        self.emulator.advance(Duration::from_secs(5));
    }
}

pub fn demo_config(delay_secs: u64) -> EmulatorConfig {
    let mut config = EmulatorConfig::demo();
    for vehicle in &mut config.vehicles {
        vehicle.clearance_delay_secs = delay_secs;
    }
    config
}

pub fn stdout_json(output: &std::process::Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON document ({e}): {}",
            text(&output.stdout)
        )
    })
}

/// The last line of stderr as JSON (the error object of `--json`).
pub fn stderr_json(output: &std::process::Output) -> Value {
    let stderr = text(&output.stderr);
    let last = stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    serde_json::from_str(last).unwrap_or_else(|e| panic!("stderr is not JSON ({e}): {stderr}"))
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub fn key_pair() -> (String, String) {
    let secret =
        <p256::SecretKey as p256::elliptic_curve::Generate>::generate_from_rng(&mut rand::rng());
    let private = secret
        .to_pkcs8_pem(LineEnding::LF)
        .expect("pkcs8 pem")
        .to_string();
    let public = secret
        .public_key()
        .to_public_key_pem(LineEnding::LF)
        .expect("public pem");
    (private, public)
}
