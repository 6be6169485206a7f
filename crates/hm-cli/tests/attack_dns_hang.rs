//! Attack: a DNS server that never answers. `--timeout` fires and the error is printed, but the
//! process then waits for the blocked `getaddrinfo` thread when the tokio runtime is dropped
//! (`Runtime` drop joins blocking tasks), so `hm` exits only when the resolver gives up:
//! `timeout × attempts` of resolv.conf, 20 s here for `--timeout 2s`.
//!
//! Needs root, `unshare` and `python3`: the test runs `hm` in private mount and network
//! namespaces whose resolv.conf names a black-hole server on the namespace's own loopback.

use std::process::Command;
use std::time::Duration;

const SCRIPT: &str = r#"
set -e
ip link set lo up
python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 53))
t = socket.socket(); t.bind(("127.0.0.1", 53)); t.listen(5)
while True: s.recvfrom(4096)
' </dev/null >/dev/null 2>&1 &
dns=$!
dir=$(mktemp -d)
printf 'nameserver 127.0.0.1\noptions timeout:30 attempts:2\n' > "$dir/resolv.conf"
mount --bind "$dir/resolv.conf" /etc/resolv.conf
sleep 0.5
env -i PATH="$PATH" HM_CONFIG=/nonexistent HM_CLIENT_ID=c HM_CLIENT_SECRET=s \
  "$HM" token --env production --timeout 2s --json &
hm=$!
# --timeout 2s: 15 s is plenty; the resolver would hold hm for 60 s.
(sleep 15; kill -9 $hm) </dev/null >/dev/null 2>&1 &
watchdog=$!
set +e
wait $hm
rc=$?
kill $dns $watchdog
exit $rc
"#;

#[test]
fn a_hung_dns_lookup_does_not_outlive_the_timeout() {
    let usable = Command::new("unshare")
        .args(["-mn", "true"])
        .status()
        .is_ok_and(|s| s.success())
        && Command::new("python3").arg("-V").output().is_ok();
    if !usable {
        eprintln!("skipped: needs root, unshare and python3");
        return;
    }
    let mut cmd = assert_cmd::Command::new("unshare");
    cmd.args(["-mn", "sh", "-c", SCRIPT])
        .env("HM", env!("CARGO_BIN_EXE_hm"))
        .timeout(Duration::from_secs(90));
    let out = cmd.output().expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("\"kind\":\"deadline\"") || stderr.contains("\"kind\":\"dns\""),
        "{stderr}"
    );
    assert_eq!(
        out.status.code(),
        Some(5),
        "hm was killed 15 s into the run, 13 s after its --timeout 2s had fired: {out:?}"
    );
}
