//! Attack: secrets where other local users (or logs) can read them: argv, loose file modes, a
//! config file holding a secret in clear text.

mod attack_support;

use std::os::unix::fs::PermissionsExt;

use attack_support::{hm, serve};
use axum::Router;

const PEM: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg8RHO/2IlwAjW425H
9QandwtByfbcSLK/lhPiS2G4OxuhRANCAAQJPdp+dn5Xfl3PBfx/ygg2gEeC/ra8
wF7ILeYO9InmeHGcK0yLNV2x3oFDjxApcXcWDXEfyhr5Xr9E8VFbchC9
-----END PRIVATE KEY-----
";

#[test]
#[ignore = "attack finding: the 'environment only' PEM private key is accepted on the command line (--key-pem-text=..., visible in ps)"]
fn a_private_key_is_not_accepted_in_argv() {
    let server = serve(Router::new());
    let out = hm(&server.url)
        .env_remove("HM_CLIENT_SECRET")
        .arg("token")
        .arg(format!("--key-pem-text={PEM}"))
        .args(["--key-id", "attack-key"])
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(2),
        "a private key in argv (readable by every local user in ps and /proc) was used: {out:?}"
    );
    assert!(server.token_requests.lock().expect("lock").is_empty());
}

#[test]
#[ignore = "attack finding: a client secret file readable by every local user is used without a word"]
fn a_world_readable_secret_file_is_flagged() {
    let server = serve(Router::new());
    let dir = tempfile::tempdir().expect("dir");
    let secret = dir.path().join("client.secret");
    std::fs::write(&secret, "attack-secret-in-a-loose-file").expect("secret");
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let out = hm(&server.url)
        .env_remove("HM_CLIENT_SECRET")
        .args(["token", "--client-secret-file"])
        .arg(&secret)
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr).to_lowercase();
    assert!(
        stderr.contains("readable") || stderr.contains("permission") || stderr.contains("chmod"),
        "a mode-0644 secret file got no warning (README: 'a file readable only by you'): {out:?}"
    );
}

#[test]
#[ignore = "attack finding: a clear-text secret in a profile other than the one in use is accepted silently"]
fn a_clear_text_secret_anywhere_in_the_config_file_is_refused() {
    let server = serve(Router::new());
    let dir = tempfile::tempdir().expect("dir");
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "default_profile = \"local\"\n\n[profiles.local]\nenvironment = \"{}\"\nclient_id = \"c\"\n\
             client_secret_env = \"ATTACK_SECRET\"\n\n[profiles.production]\nclient_id = \"p\"\n\
             client_secret = \"production-secret-in-clear\"\n",
            server.url
        ),
    )
    .expect("config");
    let out = hm(&server.url)
        .env_remove("HM_CLIENT_SECRET")
        .env_remove("HM_CLIENT_ID")
        .env_remove("HM_ENVIRONMENT")
        .env("ATTACK_SECRET", "local-secret")
        .env("HM_CONFIG", &config)
        .arg("token")
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(2),
        "README: 'A secret written into the file is refused'; it was read and kept: {out:?}"
    );
}
