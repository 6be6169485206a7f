//! Attack finding against the `hm-emulator` binary: what it prints where.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[test]
fn attack_stdout_carries_only_the_base_url() {
    // The README: "Logs go to stderr"; main.rs: "Prints the base URL on stdout once it listens
    // (useful with --port 0)". A script does `URL=$(hm-emulator --port 0 | head -1)`.
    let mut child = Command::new(env!("CARGO_BIN_EXE_hm-emulator"))
        .args(["--port", "0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    let read = BufReader::new(child.stdout.take().unwrap()).read_line(&mut first);
    let _ = child.kill();
    let _ = child.wait();
    read.unwrap();
    assert!(
        first
            .trim_end()
            .strip_prefix("http://127.0.0.1:")
            .is_some_and(|port| port.parse::<u16>().is_ok()),
        "the first line on stdout is {first:?}"
    );
}
