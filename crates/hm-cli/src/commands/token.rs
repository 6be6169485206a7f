//! `hm token`: obtain a token and show its expiry and scopes.

use serde_json::json;

use crate::cli::TokenArgs;
use crate::commands::Ctx;
use crate::config::DEFAULT_TIMEOUT;
use crate::error::CliError;
use crate::output::{print_fields, print_json};

/// Runs `hm token`.
pub async fn run(ctx: &Ctx<'_>, args: &TokenArgs) -> Result<(), CliError> {
    let session = ctx.session(
        &args.connection,
        DEFAULT_TIMEOUT,
        hm_auth::RetryPolicy::default(),
    )?;
    let token = session.authenticate().await?;
    let expires_at: chrono::DateTime<chrono::Utc> = token.expires_at_system_time().into();
    let expires_at = expires_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let environment = session.auth.environment().base_url().to_string();
    if ctx.json {
        let mut out = json!({
            "client_id": session.auth.client_id(),
            "environment": environment,
            "expires_in_secs": token.expires_in().as_secs(),
            "expires_at": expires_at,
            "scopes": token.scopes(),
        });
        if args.show_token {
            out["access_token"] = json!(token.expose_secret());
        }
        return print_json(&out);
    }
    let mut fields = vec![
        ("client id", session.auth.client_id().to_owned()),
        ("environment", environment),
        (
            "expires in",
            format!("{} s (at {expires_at})", token.expires_in().as_secs()),
        ),
        ("scopes", token.scopes().join(" ")),
    ];
    if args.show_token {
        fields.push(("access token", token.expose_secret().to_owned()));
    } else {
        fields.push((
            "access token",
            "(hidden; --show-token prints it)".to_owned(),
        ));
    }
    print_fields(&fields)
}
