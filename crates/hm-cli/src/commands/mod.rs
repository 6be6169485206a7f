//! One module per command; each prints its result and returns an error for `main` to report.

pub mod clearance;
pub mod demo;
pub mod eligibility;
pub mod emulator;
pub mod reference;
pub mod static_data;
pub mod stream;
pub mod token;
pub mod vehicle_data;
pub mod webhooks;

use std::time::Duration;

use hm_auth::{Environment, RetryPolicy};
use secrecy::ExposeSecret;

use crate::api::Session;
use crate::cli::ConnectionArgs;
use crate::error::CliError;

/// What every command gets: the output mode and the parsed command line.
pub struct Ctx<'a> {
    /// Print JSON instead of tables.
    pub json: bool,
    /// The parsed command line, to tell flags from environment variables.
    pub matches: &'a clap::ArgMatches,
}

impl Ctx<'_> {
    /// Builds the session of a command (settings merged, network work bounded by `--timeout`
    /// or `default_limit`) without contacting the API yet.
    pub fn session(
        &self,
        connection: &ConnectionArgs,
        default_limit: Duration,
        api_retry: RetryPolicy,
    ) -> Result<Session, CliError> {
        let limit = connection.timeout.unwrap_or(default_limit);
        let resolved = crate::config::resolve(connection, self.matches)?;
        for warning in &resolved.warnings {
            self.warn(warning);
        }
        let session = Session::new(resolved.credentials, resolved.environment, limit, api_retry)?;
        if let Some(secret) = &resolved.secret {
            session.secrets.add(secret.expose_secret());
        }
        Ok(session)
    }

    /// Builds the session and obtains a first token, so that a credential problem is reported
    /// as one; VINs of a production run are checked against ISO 3779 first.
    pub async fn connect(
        &self,
        connection: &ConnectionArgs,
        default_limit: Duration,
        vins: &[&str],
    ) -> Result<Session, CliError> {
        self.check_vins(connection, vins)?;
        let session = self.session(connection, default_limit, RetryPolicy::default())?;
        session.authenticate().await?;
        Ok(session)
    }

    /// Warns about production VINs with I, O or Q (sandbox VINs may have them).
    pub fn check_vins(&self, connection: &ConnectionArgs, vins: &[&str]) -> Result<(), CliError> {
        if crate::config::environment(connection, self.matches)? == Environment::Production {
            for vin in vins {
                if let Some(warning) = crate::input::iso_3779_warning(vin) {
                    self.warn(&warning);
                }
            }
        }
        Ok(())
    }

    /// A warning on stderr (a JSON line with `--json`).
    pub fn warn(&self, message: &str) {
        if self.json {
            eprintln!(
                "{}",
                serde_json::json!({ "warning": { "message": message } })
            );
        } else {
            eprintln!("warning: {}", crate::scrub::escape_controls(message));
        }
    }
}
