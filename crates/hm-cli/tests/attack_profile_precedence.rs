//! Attack: a careless (or tricked) user. `--profile production` on the command line names the
//! environment its secret belongs to, yet a stale `HM_ENVIRONMENT` in the shell (the README's own
//! example session exports one) silently replaces the profile's environment, and the profile's
//! client secret is posted to whatever listens there.

mod attack_support;

use attack_support::{hm, serve};
use axum::Router;

const PROFILE_SECRET: &str = "production-secret-never-elsewhere";

#[test]
fn an_explicit_profile_secret_is_not_sent_to_the_environment_variables_origin() {
    let genuine = serve(Router::new());
    let stray = serve(Router::new());
    let dir = tempfile::tempdir().expect("dir");
    let secret = dir.path().join("production.secret");
    std::fs::write(&secret, PROFILE_SECRET).expect("secret");
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[profiles.production]\nenvironment = \"{}\"\nclient_id = \"prod-client\"\nclient_secret_file = \"{}\"\n",
            genuine.url,
            secret.display()
        ),
    )
    .expect("config");
    let out = hm(&stray.url)
        .env_remove("HM_CLIENT_ID")
        .env_remove("HM_CLIENT_SECRET")
        .env("HM_CONFIG", &config)
        .args(["token", "--profile", "production"])
        .output()
        .expect("runs");
    let leaked = stray.token_requests.lock().expect("lock").clone();
    assert!(
        leaked.iter().all(|body| !body.contains(PROFILE_SECRET)),
        "the production profile's secret was posted to HM_ENVIRONMENT's origin {}: {leaked:?}; \
         hm said {out:?}",
        stray.url
    );
    assert!(
        out.status.success(),
        "the profile is used as a whole: {out:?}"
    );
    assert_eq!(genuine.token_requests.lock().expect("lock").len(), 1);
}

/// Writes a config file whose profile `production` points at `url` with a secret file.
fn production_profile(dir: &std::path::Path, url: &str, default: bool) -> std::path::PathBuf {
    let secret = dir.join("production.secret");
    std::fs::write(&secret, PROFILE_SECRET).expect("secret");
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "{}[profiles.production]\nenvironment = \"{url}\"\nclient_id = \"prod-client\"\nclient_secret_file = \"{}\"\n",
            if default { "default_profile = \"production\"\n" } else { "" },
            secret.display()
        ),
    )
    .expect("config");
    config
}

#[test]
fn a_profiles_secret_never_follows_another_environment() {
    let genuine = serve(Router::new());
    let stray = serve(Router::new());
    let dir = tempfile::tempdir().expect("dir");
    // The default profile's secret and an exported HM_ENVIRONMENT: refused, nothing sent.
    let config = production_profile(dir.path(), &genuine.url, true);
    let out = hm(&stray.url)
        .env_remove("HM_CLIENT_ID")
        .env_remove("HM_CLIENT_SECRET")
        .env("HM_CONFIG", &config)
        .args(["token", "--json"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("HM_ENVIRONMENT"));
    // --profile with --env on the command line naming another origin: refused too.
    let out = hm(&genuine.url)
        .env_remove("HM_CLIENT_ID")
        .env_remove("HM_CLIENT_SECRET")
        .env("HM_CONFIG", &config)
        .args(["token", "--profile", "production", "--env", &stray.url])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    // An explicit profile is not mixed with HM_CLIENT_SECRET either: its own secret is used.
    let out = hm(&stray.url)
        .env("HM_CONFIG", &config)
        .args(["token", "--profile", "production"])
        .output()
        .expect("runs");
    assert!(out.status.success(), "{out:?}");
    let sent = genuine.token_requests.lock().expect("lock").clone();
    assert!(
        sent.len() == 1 && sent[0].contains(PROFILE_SECRET) && sent[0].contains("prod-client"),
        "{sent:?}"
    );
    assert!(stray.token_requests.lock().expect("lock").is_empty());
}
