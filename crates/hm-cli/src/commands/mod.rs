//! One module per command; each prints its result and returns an error for `main` to report.

pub mod clearance;
pub mod demo;
pub mod eligibility;
pub mod emulator;
pub mod static_data;
pub mod token;
pub mod vehicle_data;

use std::fmt::Display;
use std::str::FromStr;

use crate::error::CliError;

/// Brands the clearance API knows (its `Brand` enum).
pub const CLEARANCE_BRANDS: &[&str] = &[
    "alfaromeo",
    "audi",
    "bmw",
    "citroen",
    "cupra",
    "dacia",
    "ds",
    "fiat",
    "ford",
    "jeep",
    "kia",
    "lexus",
    "maserati",
    "mercedes-benz",
    "mini",
    "opel",
    "peugeot",
    "polestar",
    "porsche",
    "renault",
    "sandbox",
    "seat",
    "skoda",
    "tesla",
    "toyota",
    "vauxhall",
    "volkswagen",
    "volvo-cars",
];

/// Brands the eligibility API knows (fewer than clearance).
pub const ELIGIBILITY_BRANDS: &[&str] = &[
    "alfaromeo",
    "bmw",
    "citroen",
    "ds",
    "fiat",
    "ford",
    "jeep",
    "lexus",
    "mercedes-benz",
    "mini",
    "opel",
    "peugeot",
    "renault",
    "sandbox",
    "toyota",
    "vauxhall",
    "volvo-cars",
];

/// Parses a brand given on the command line; `mercedes_benz` and `Mercedes-Benz` are accepted too.
/// A brand outside `known` is a usage error naming the accepted ones.
pub fn parse_brand<B>(text: &str, known: &[&str], api: &str) -> Result<B, CliError>
where
    B: FromStr,
    B::Err: Display,
{
    let normal = text.trim().to_ascii_lowercase().replace('_', "-");
    if !known.contains(&normal.as_str()) {
        return Err(CliError::Usage(format!(
            "unknown brand `{text}` for the {api} API; use one of: {}",
            known.join(", ")
        )));
    }
    normal
        .parse()
        .map_err(|e| CliError::Usage(format!("brand `{text}`: {e}")))
}

/// What every command gets: output mode and the connection settings, turned into a session on demand
/// (so that a bad argument is reported before credentials are looked at).
pub struct Ctx<'a> {
    /// Print JSON instead of tables.
    pub json: bool,
    /// Connection flags and environment variables.
    pub connection: &'a crate::cli::ConnectionArgs,
    /// The parsed command line, to tell flags from environment variables.
    pub matches: &'a clap::ArgMatches,
}

impl Ctx<'_> {
    /// Builds the authenticated session and obtains a first token.
    pub async fn session(&self) -> Result<crate::config::Session, CliError> {
        let session = crate::config::Session::from_args(self.connection, self.matches)?;
        session.authenticate().await?;
        Ok(session)
    }
}
