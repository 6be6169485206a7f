//! Attack findings on `hm stream` (brief attack-clistream), kept as regression tests. Each test
//! runs a shell reproducer in `tests/attack_stream/` that exits 0 while the weakness stays fixed.
//! Those against Mosquitto (mutual TLS with their own openssl CA, a hostile Python publisher on a
//! plain loopback listener) run with `HM_TEST_MOSQUITTO=1` (`.ci/run` sets it), and then fail
//! naming whatever is missing; without it they print one line saying they were not run.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Once;

/// The variable that turns the Mosquitto tests on, as in hm-stream.
const VARIABLE: &str = "HM_TEST_MOSQUITTO";

/// Runs the reproducer `name`; `broker` says whether it needs Mosquitto, openssl and python3.
fn reproducer(name: &str, broker: bool) {
    let mut command = Command::new("bash");
    if broker {
        let Some(mosquitto) = broker_tools() else {
            return;
        };
        command.env("MOSQUITTO", mosquitto);
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/attack_stream");
    let output = command
        .arg(dir.join(name))
        .env("HM", env!("CARGO_BIN_EXE_hm"))
        .output()
        .expect("run the reproducer with bash");
    assert!(
        output.status.success(),
        "{name} exited with {}: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The Mosquitto binary when the broker tests are on (after checking that openssl and python3
/// are there too); `None`, after one line on stderr, when they are off.
fn broker_tools() -> Option<PathBuf> {
    if std::env::var(VARIABLE).as_deref() != Ok("1") {
        static NOTICE: Once = Once::new();
        NOTICE.call_once(|| {
            // Straight to the file descriptor: the test harness captures eprintln!.
            let _ = writeln!(
                std::io::stderr(),
                "hm-cli: hm stream attack tests against Mosquitto NOT run; to run them: apt-get \
                 install mosquitto openssl python3, then {VARIABLE}=1 cargo test -p hm-cli --test \
                 attack_stream_cli"
            );
        });
        return None;
    }
    let find = |name: &str, extra: &[&str]| {
        let path = std::env::var_os("PATH").unwrap_or_default();
        std::env::split_paths(&path)
            .chain(extra.iter().map(PathBuf::from))
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    };
    let mosquitto = find("mosquitto", &["/usr/sbin", "/usr/local/sbin"]);
    let missing: Vec<&str> = [
        ("mosquitto", mosquitto.is_some()),
        ("openssl", find("openssl", &[]).is_some()),
        ("python3", find("python3", &[]).is_some()),
    ]
    .into_iter()
    .filter(|(_, found)| !found)
    .map(|(name, _)| name)
    .collect();
    assert!(
        missing.is_empty(),
        "{VARIABLE}=1 but {} not on PATH (nor mosquitto in /usr/sbin): install with `apt-get \
         install {}`, or unset {VARIABLE} to skip these tests",
        missing.join(", "),
        missing.join(" ")
    );
    mosquitto
}

#[test]
fn newline_in_vin_or_message_id_forges_output_lines() {
    reproducer("newline_injection.sh", true);
}

#[test]
fn json_lines_stay_json_with_del_and_c1_controls() {
    reproducer("json_c1_controls.sh", true);
}

#[test]
fn key_file_that_is_dev_zero_or_a_fifo_is_a_clear_error() {
    reproducer("key_special_files.sh", false);
}

#[test]
fn tls_dir_never_writes_through_a_symlink() {
    reproducer("tls_dir_symlink.sh", false);
}

#[test]
fn long_message_id_does_not_amplify_json_output() {
    reproducer("message_id_amplification.sh", true);
}
