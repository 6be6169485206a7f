//! Whether the Mosquitto tests run: only with `HM_TEST_MOSQUITTO=1`, and then loudly.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Once;

/// The variable that turns the Mosquitto interoperability tests on (`.ci/run` sets it).
pub const VARIABLE: &str = "HM_TEST_MOSQUITTO";

/// The Mosquitto binary when the tests are on; `None` (after one line on stderr per test binary)
/// when they are off. Panics, naming the install command, when they are on but it is missing.
pub fn mosquitto() -> Option<PathBuf> {
    if std::env::var(VARIABLE).as_deref() != Ok("1") {
        static NOTICE: Once = Once::new();
        NOTICE.call_once(|| {
            // Straight to the file descriptor: the test harness captures eprintln!.
            let _ = writeln!(
                std::io::stderr(),
                "hm-stream: Mosquitto interoperability tests NOT run; to run them: \
                 apt-get install mosquitto, then {VARIABLE}=1 cargo test -p hm-stream"
            );
        });
        return None;
    }
    Some(binary().unwrap_or_else(|| {
        panic!(
            "{VARIABLE}=1 but the `mosquitto` binary is not on PATH nor in /usr/sbin: install it \
             with `apt-get install mosquitto` (Debian/Ubuntu), or unset {VARIABLE} to skip these tests"
        )
    }))
}

/// The Mosquitto binary, if installed.
pub fn binary() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/local/sbin")])
        .map(|dir| dir.join("mosquitto"))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Skips the calling test (returns from it) unless the Mosquitto tests are on.
#[macro_export]
macro_rules! require_mosquitto {
    () => {
        match $crate::support::gate::mosquitto() {
            Some(binary) => binary,
            None => return,
        }
    };
}
