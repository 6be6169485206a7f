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
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("MIGHAgEAMBMGByqGSM49"),
        "the usage error quoted the private key: {stderr}"
    );
}

#[test]
fn a_private_key_in_the_environment_is_still_used() {
    let server = serve(Router::new());
    let out = hm(&server.url)
        .env_remove("HM_CLIENT_SECRET")
        .env("HM_PRIVATE_KEY_PEM", PEM)
        .env("HM_KEY_ID", "attack-key")
        .arg("token")
        .output()
        .expect("runs");
    assert!(out.status.success(), "{out:?}");
    let sent = server.token_requests.lock().expect("lock").clone();
    assert!(
        sent.len() == 1 && sent[0].contains("client_assertion"),
        "{sent:?}"
    );
}

#[test]
fn an_unknown_flag_with_a_value_is_named_without_the_value() {
    for json in [false, true] {
        let mut cmd = hm("http://127.0.0.1:9");
        cmd.args(["token", "--client-secet=typed-secret-value"]);
        if json {
            cmd.arg("--json");
        }
        let out = cmd.output().expect("runs");
        assert_eq!(out.status.code(), Some(2), "{out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("--client-secet"), "{stderr}");
        assert!(!stderr.contains("typed-secret-value"), "{stderr}");
    }
}

#[test]
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
    assert!(out.status.success(), "a warning, not a refusal: {out:?}");
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let out = hm(&server.url)
        .env_remove("HM_CLIENT_SECRET")
        .args(["token", "--client-secret-file"])
        .arg(&secret)
        .output()
        .expect("runs");
    assert!(out.status.success() && out.stderr.is_empty(), "{out:?}");
}

#[test]
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
