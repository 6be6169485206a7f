//! Attack: a careless (or tricked) user. `--profile production` on the command line names the
//! environment its secret belongs to, yet a stale `HM_ENVIRONMENT` in the shell (the README's own
//! example session exports one) silently replaces the profile's environment, and the profile's
//! client secret is posted to whatever listens there.

mod attack_support;

use attack_support::{hm, serve};
use axum::Router;

const PROFILE_SECRET: &str = "production-secret-never-elsewhere";

#[test]
#[ignore = "attack finding: HM_ENVIRONMENT overrides an explicit --profile's environment and its secret goes there"]
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
}
