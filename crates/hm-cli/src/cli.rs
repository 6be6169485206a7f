//! The command line: clap definitions only.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

const AFTER_HELP: &str = "\
Configuration (flags win over environment variables):
  HM_CLIENT_ID, HM_CLIENT_SECRET, HM_PRIVATE_KEY_FILE, HM_PRIVATE_KEY_PEM_FILE, HM_PRIVATE_KEY_PEM,
  HM_KEY_ID, HM_ENVIRONMENT (sandbox | production | base URL, default sandbox)

Exit codes:
  0  success
  1  unexpected failure (I/O, the embedded emulator could not start)
  2  usage error: bad or missing flag, malformed VIN, unknown brand, incomplete credentials
  3  authentication failure: unreadable or malformed key, credentials refused, HTTP 401
  4  the API answered with an error (unknown VIN, no consent, rate limit, ...)
  5  the API could not be reached
  6  `clearance request --wait` gave up before every clearance was decided

Start here: `hm demo` runs the whole flow against an embedded emulator, no account needed.";

/// `hm`: High Mobility's fleet APIs from the command line.
#[derive(Debug, Parser)]
#[command(name = "hm", version, about, after_help = AFTER_HELP)]
pub struct Cli {
    /// Connection and credentials.
    #[command(flatten)]
    pub connection: ConnectionArgs,

    /// Print JSON instead of tables (for scripts).
    #[arg(long, global = true, help_heading = "Output")]
    pub json: bool,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Where the API is and who is calling it.
#[derive(Debug, Args)]
#[command(next_help_heading = "Connection (flags win over environment variables)")]
pub struct ConnectionArgs {
    /// OAuth client id of the application.
    #[arg(long, env = "HM_CLIENT_ID", global = true)]
    pub client_id: Option<String>,

    /// Client secret (client-secret flow).
    #[arg(long, env = "HM_CLIENT_SECRET", hide_env_values = true, global = true)]
    pub client_secret: Option<String>,

    /// The JSON key file downloaded from the console (fields `id` and `private_key`; JWT flow).
    #[arg(long, env = "HM_PRIVATE_KEY_FILE", global = true, value_name = "FILE")]
    pub key_file: Option<PathBuf>,

    /// A PEM private key file, PKCS#8 or SEC1 (JWT flow; needs --key-id).
    #[arg(
        long,
        env = "HM_PRIVATE_KEY_PEM_FILE",
        global = true,
        value_name = "FILE"
    )]
    pub key_pem: Option<PathBuf>,

    /// A PEM private key itself (JWT flow; needs --key-id). Environment only.
    #[arg(
        long,
        env = "HM_PRIVATE_KEY_PEM",
        hide = true,
        hide_env_values = true,
        global = true
    )]
    pub key_pem_text: Option<String>,

    /// The private key's id (the assertion's `iss`; not the client id).
    #[arg(long, env = "HM_KEY_ID", global = true)]
    pub key_id: Option<String>,

    /// `sandbox`, `production` or a base URL such as http://127.0.0.1:4000 (a running emulator).
    #[arg(
        long = "env",
        env = "HM_ENVIRONMENT",
        global = true,
        value_name = "ENV"
    )]
    pub environment: Option<String>,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the whole flow against an embedded emulator: key pair, token, eligibility, clearance, data.
    Demo(DemoArgs),
    /// Obtain an access token and print its expiry and scopes.
    Token(TokenArgs),
    /// Check whether a vehicle can be connected.
    Eligibility(EligibilityArgs),
    /// Request, list, inspect and revoke data-access clearances.
    #[command(subcommand)]
    Clearance(ClearanceCommand),
    /// The latest data of a cleared vehicle, by capability.
    VehicleData(VinArgs),
    /// Static data of a vehicle: manufacturer, model, equipment (production only at High Mobility).
    StaticData(VinArgs),
    /// Run the local emulator.
    #[command(subcommand)]
    Emulator(EmulatorCommand),
}

/// Flags of `hm demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {}

/// Flags of `hm token`.
#[derive(Debug, Args)]
pub struct TokenArgs {
    /// Also print the access token itself (it grants access to your fleet: keep it secret).
    #[arg(long)]
    pub show_token: bool,
}

/// Flags of `hm eligibility`.
#[derive(Debug, Args)]
pub struct EligibilityArgs {
    /// Vehicle identification number (17 characters).
    #[arg(value_parser = parse_vin)]
    pub vin: String,
    /// The vehicle's brand, e.g. bmw, mercedes-benz, sandbox.
    #[arg(long)]
    pub brand: String,
}

/// A single VIN.
#[derive(Debug, Args)]
pub struct VinArgs {
    /// Vehicle identification number (17 characters).
    #[arg(value_parser = parse_vin)]
    pub vin: String,
}

/// `hm clearance ...`
#[derive(Debug, Subcommand)]
pub enum ClearanceCommand {
    /// Ask for data access to one or more vehicles.
    Request(ClearanceRequestArgs),
    /// List clearances, optionally filtered.
    List(ClearanceListArgs),
    /// Show one clearance and its history.
    Get(VinArgs),
    /// Remove a clearance (approved: revoke; pending: cancel, where the brand supports it).
    Revoke(VinArgs),
}

/// Flags of `hm clearance request`.
#[derive(Debug, Args)]
pub struct ClearanceRequestArgs {
    /// Vehicle identification numbers.
    #[arg(required = true, value_parser = parse_vin)]
    pub vins: Vec<String>,
    /// The vehicles' brand, e.g. bmw, mercedes-benz, sandbox.
    #[arg(long)]
    pub brand: String,
    /// A tag to attach, as key=value (repeatable).
    #[arg(long = "tag", value_parser = parse_tag, value_name = "KEY=VALUE")]
    pub tags: Vec<(String, String)>,
    /// Wait until every VIN is approved or rejected, polling the list endpoint.
    #[arg(long)]
    pub wait: bool,
    /// Seconds between polls with --wait.
    #[arg(long, default_value_t = 5.0, value_name = "SECS")]
    pub interval: f64,
    /// Give up waiting after this many seconds (exit code 6).
    #[arg(long, default_value_t = 3600, value_name = "SECS")]
    pub timeout: u64,
}

/// Flags of `hm clearance list`.
#[derive(Debug, Args)]
pub struct ClearanceListArgs {
    /// Only this status: pending, approved, rejected, revoking, revoked, canceling, canceled.
    #[arg(long)]
    pub status: Option<String>,
    /// Only this brand.
    #[arg(long)]
    pub brand: Option<String>,
    /// Only these VINs (repeatable).
    #[arg(long = "vin", value_parser = parse_vin)]
    pub vins: Vec<String>,
}

/// `hm emulator ...`
#[derive(Debug, Subcommand)]
pub enum EmulatorCommand {
    /// Serve the emulator until ctrl-c.
    Serve(EmulatorServeArgs),
}

/// Flags of `hm emulator serve`.
#[derive(Debug, Args)]
pub struct EmulatorServeArgs {
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 4000)]
    pub port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: std::net::IpAddr,
    /// TOML configuration (see hm-emulator's emulator.example.toml); the demo configuration without it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// Checks and normalises a VIN: 17 characters of A-Z (no I, O, Q) and 0-9; lower case is accepted.
pub fn parse_vin(text: &str) -> Result<String, String> {
    let vin = text.trim().to_ascii_uppercase();
    let len = vin.chars().count();
    if len != 17 {
        return Err(format!(
            "a VIN has 17 characters, `{text}` has {len}; check for a missing or extra character"
        ));
    }
    if let Some(bad) = vin
        .chars()
        .find(|c| !(c.is_ascii_digit() || c.is_ascii_uppercase()) || matches!(c, 'I' | 'O' | 'Q'))
    {
        return Err(format!(
            "`{text}` is not a VIN: `{bad}` cannot appear in a VIN (allowed: digits and letters except I, O, Q)"
        ));
    }
    Ok(vin)
}

/// Parses `key=value`.
pub fn parse_tag(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => {
            Ok((key.trim().to_owned(), value.trim().to_owned()))
        }
        _ => Err(format!("expected a tag as key=value, got `{text}`")),
    }
}
