//! The command line: clap definitions only.

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Args, Parser, Subcommand};

use crate::input::{parse_positive_duration, parse_tag, parse_vin};
use crate::vocab::Choice;

const AFTER_HELP: &str = "\
Configuration (flags win over environment variables, which win over the profile; a profile named
with --profile/HM_PROFILE takes no HM_* variables, and its credential goes only to its environment):
  HM_PROFILE, HM_CONFIG (config file; default $XDG_CONFIG_HOME/hm/config.toml),
  HM_CLIENT_ID, HM_CLIENT_SECRET, HM_CLIENT_SECRET_FILE, HM_PRIVATE_KEY_FILE, HM_PRIVATE_KEY_PEM_FILE,
  HM_PRIVATE_KEY_PEM, HM_KEY_ID, HM_ENVIRONMENT (sandbox | production | base URL, default sandbox),
  HM_TIMEOUT, NO_COLOR, RUST_LOG
  A profile names its secret by file (client_secret_file, key_file, key_pem_file) or by variable
  (client_secret_env), never in clear text; the OS keyring is not supported (it needs D-Bus on Linux).

Exit codes:
  0    success
  1    unexpected failure (I/O, the embedded emulator could not start)
  2    usage error: bad or missing flag, malformed VIN, unknown brand, incomplete credentials
  3    authentication failure: unreadable or malformed key, credentials refused, HTTP 401
  4    the API answered with an error (unknown VIN, no consent, malformed reply, ...)
  5    the API could not be reached, did not answer within --timeout, or answered 5xx/429 after retries
  6    --wait reached --timeout before every clearance was decided
  7    --wait: a clearance ended rejected
  141  stdout was closed by the reader (e.g. `| head`)

Start here: `hm demo` runs the whole flow against an embedded emulator, no account needed.";

/// `hm`: High Mobility's fleet APIs from the command line.
#[derive(Debug, Parser)]
#[command(name = "hm", version, about, after_help = AFTER_HELP)]
pub struct Cli {
    /// Print JSON instead of tables, and errors as one JSON object on stderr (for scripts).
    #[arg(long, global = true, help_heading = "Output")]
    pub json: bool,

    /// Log to stderr: -v one line per HTTP exchange, -vv details, -vvv everything.
    #[arg(short, long, action = ArgAction::Count, global = true, help_heading = "Output")]
    pub verbose: u8,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Where the API is, who is calling it, and how long to wait. (`HM_PRIVATE_KEY_PEM` is read from
/// the environment directly: a flag would put the key in `ps`.)
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Connection (flags win over environment variables and the profile)")]
pub struct ConnectionArgs {
    /// A profile of the config file ($XDG_CONFIG_HOME/hm/config.toml or HM_CONFIG).
    #[arg(long, env = "HM_PROFILE", value_name = "NAME")]
    pub profile: Option<String>,

    /// `sandbox`, `production` or a base URL such as http://127.0.0.1:4000 (a running emulator).
    #[arg(long = "env", env = "HM_ENVIRONMENT", value_name = "ENV")]
    pub environment: Option<String>,

    /// OAuth client id of the application.
    #[arg(long, env = "HM_CLIENT_ID")]
    pub client_id: Option<String>,

    /// Client secret (visible to other users in `ps`: prefer --client-secret-file or HM_CLIENT_SECRET).
    #[arg(long, env = "HM_CLIENT_SECRET", hide_env_values = true)]
    pub client_secret: Option<String>,

    /// File holding the client secret; `-` reads it from stdin.
    #[arg(long, env = "HM_CLIENT_SECRET_FILE", value_name = "FILE")]
    pub client_secret_file: Option<PathBuf>,

    /// The JSON key file downloaded from the console (fields `id` and `private_key`; JWT flow).
    #[arg(long, env = "HM_PRIVATE_KEY_FILE", value_name = "FILE")]
    pub key_file: Option<PathBuf>,

    /// A PEM private key file, PKCS#8 or SEC1 (JWT flow; needs --key-id).
    #[arg(long, env = "HM_PRIVATE_KEY_PEM_FILE", value_name = "FILE")]
    pub key_pem: Option<PathBuf>,

    /// The private key's id (the assertion's `iss`; not the client id).
    #[arg(long, env = "HM_KEY_ID")]
    pub key_id: Option<String>,

    /// Bound of the command's network work, e.g. 30s, 2m [default: 30s; 1h with --wait and for
    /// `clearance wait`; with --all-approved and --from it bounds each vehicle, or batch of 100].
    #[arg(long, env = "HM_TIMEOUT", value_name = "DURATION", value_parser = parse_positive_duration)]
    pub timeout: Option<Duration>,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the whole flow against an embedded emulator: key pair, token, eligibility, clearance, data.
    Demo(DemoArgs),
    /// Obtain an access token and print its expiry and scopes.
    Token(TokenArgs),
    /// Check whether vehicles can be connected (one VIN, or a list with --from).
    Eligibility(EligibilityArgs),
    /// Request, wait for, list, inspect and revoke data-access clearances.
    #[command(subcommand)]
    Clearance(ClearanceCommand),
    /// The latest data of a cleared vehicle, by capability (or of every approved one).
    VehicleData(VehicleDataArgs),
    /// Static data of a vehicle: manufacturer, model, equipment (production only at High Mobility).
    StaticData(VinArgs),
    /// Print the application's MQTT V2 vehicle-data stream as it arrives, one line per value.
    Stream(StreamArgs),
    /// Run the local emulator.
    #[command(subcommand)]
    Emulator(EmulatorCommand),
    /// Receive High Mobility's webhooks: verify each delivery and print it.
    #[command(subcommand)]
    Webhooks(WebhooksCommand),
    /// Print a shell completion script: `hm completions bash > ~/.local/share/bash-completion/completions/hm`.
    Completions(CompletionsArgs),
    /// Print the man page (roff): `hm man > ~/.local/share/man/man1/hm.1`.
    Man,
}

/// Flags of `hm demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Bound of the demo's network work (all on loopback).
    #[arg(long, default_value = "60s", value_name = "DURATION", value_parser = parse_positive_duration)]
    pub timeout: Duration,
}

/// Flags of `hm token`.
#[derive(Debug, Args)]
pub struct TokenArgs {
    /// Also print the access token itself (it grants access to your fleet: keep it secret).
    #[arg(long)]
    pub show_token: bool,
    /// Connection.
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// Flags of `hm eligibility`.
#[derive(Debug, Args)]
pub struct EligibilityArgs {
    /// Vehicle identification number (17 characters).
    #[arg(value_parser = parse_vin, required_unless_present = "from", conflicts_with = "from")]
    pub vin: Option<String>,
    /// The vehicle's brand; with --from, the brand of rows that have none.
    #[arg(long, value_parser = Choice::eligibility_brand(), hide_possible_values = true)]
    pub brand: Option<String>,
    /// Read VINs from a CSV file (`vin` or `vin,brand` per line; a header row is optional); `-` is stdin.
    #[arg(long, value_name = "FILE")]
    pub from: Option<PathBuf>,
    /// How many checks run at once with --from.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
    /// Connection.
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// A single VIN.
#[derive(Debug, Args)]
pub struct VinArgs {
    /// Vehicle identification number (17 characters).
    #[arg(value_parser = parse_vin)]
    pub vin: String,
    /// Connection.
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// Flags of `hm vehicle-data`.
#[derive(Debug, Args)]
pub struct VehicleDataArgs {
    /// Vehicle identification number (17 characters).
    #[arg(value_parser = parse_vin, required_unless_present = "all_approved", conflicts_with = "all_approved")]
    pub vin: Option<String>,
    /// Fetch every vehicle whose clearance is approved (needs --ndjson).
    #[arg(long, requires = "ndjson")]
    pub all_approved: bool,
    /// Stream one JSON document per line, each vehicle's as it arrives (with --all-approved).
    #[arg(long, requires = "all_approved", conflicts_with = "json")]
    pub ndjson: bool,
    /// How many vehicles are fetched at once with --all-approved.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
    /// Connection.
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// `hm clearance ...`
#[derive(Debug, Subcommand)]
pub enum ClearanceCommand {
    /// Ask for data access to one or more vehicles (VINs as arguments or a list with --from).
    Request(ClearanceRequestArgs),
    /// Wait until clearances already requested are approved or rejected (without requesting again).
    Wait(ClearanceWaitArgs),
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
    #[arg(value_parser = parse_vin, required_unless_present = "from")]
    pub vins: Vec<String>,
    /// The vehicles' brand; with --from, the brand of rows that have none.
    #[arg(long, value_parser = Choice::clearance_brand(), hide_possible_values = true)]
    pub brand: Option<String>,
    /// Read VINs from a CSV file (`vin` or `vin,brand` per line; a header row is optional); `-` is stdin.
    #[arg(long, value_name = "FILE")]
    pub from: Option<PathBuf>,
    /// A tag to attach, as key=value (repeatable).
    #[arg(long = "tag", value_parser = parse_tag, value_name = "KEY=VALUE")]
    pub tags: Vec<(String, String)>,
    /// Wait until every VIN is approved or rejected (exit 6 at --timeout, 7 if one is rejected).
    #[arg(long)]
    pub wait: bool,
    /// Time between polls with --wait, e.g. 5s; with --webhook-port, the time without a delivery
    /// after which it polls.
    #[arg(long, default_value = "5s", value_name = "DURATION", value_parser = parse_positive_duration)]
    pub interval: Duration,
    /// With --wait: learn the decisions from webhook deliveries received on this local port
    /// (e.g. from `hm emulator serve --webhook http://127.0.0.1:PORT/`), polling only when none arrives.
    #[arg(long, requires = "wait", value_name = "PORT")]
    pub webhook_port: Option<u16>,
    /// The webhook's secret (visible in `ps`: prefer --webhook-secret-file or HM_WEBHOOK_SECRET).
    #[arg(
        long,
        env = "HM_WEBHOOK_SECRET",
        hide_env_values = true,
        requires = "webhook_port"
    )]
    pub webhook_secret: Option<String>,
    /// File holding the webhook's secret; `-` reads it from stdin.
    #[arg(long, value_name = "FILE", requires = "webhook_port")]
    pub webhook_secret_file: Option<PathBuf>,
    /// Connection.
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// Flags of `hm clearance wait`.
#[derive(Debug, Args)]
pub struct ClearanceWaitArgs {
    /// The VINs to wait for.
    #[arg(required = true, value_parser = parse_vin)]
    pub vins: Vec<String>,
    /// Time between polls, e.g. 5s.
    #[arg(long, default_value = "5s", value_name = "DURATION", value_parser = parse_positive_duration)]
    pub interval: Duration,
    /// Connection.
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// Flags of `hm clearance list`.
#[derive(Debug, Args)]
pub struct ClearanceListArgs {
    /// Only this status.
    #[arg(long, value_parser = Choice::clearance_status())]
    pub status: Option<String>,
    /// Only this brand.
    #[arg(long, value_parser = Choice::clearance_brand(), hide_possible_values = true)]
    pub brand: Option<String>,
    /// Only these VINs (repeatable).
    #[arg(long = "vin", value_parser = parse_vin)]
    pub vins: Vec<String>,
    /// Connection.
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// Flags of `hm stream`. Each flag falls back to hm-stream's environment variable (named in its
/// help), so the lines `hm emulator serve` prints are enough.
#[derive(Debug, Args)]
#[command(after_help = STREAM_AFTER_HELP)]
pub struct StreamArgs {
    /// Stop after this many messages; exactly those are acknowledged to the broker, later ones
    /// stay queued for the next run with the same --mqtt-client-id.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,
    /// The application's UUID, which names the topic [env: HM_APPLICATION_ID].
    #[arg(long, value_name = "UUID")]
    pub application_id: Option<String>,
    /// The MQTT V2 client certificate from the console, PEM [env: HM_MQTT_CERT_FILE; or the PEM
    /// itself in HM_MQTT_CERT_PEM].
    #[arg(long, value_name = "FILE")]
    pub cert: Option<String>,
    /// The certificate's private key, PEM [env: HM_MQTT_KEY_FILE; or the PEM itself in HM_MQTT_KEY_PEM].
    #[arg(long, value_name = "FILE")]
    pub key: Option<String>,
    /// CA certificates that verify the broker instead of the system's, PEM [env: HM_MQTT_CA_FILE
    /// or HM_MQTT_CA_PEM].
    #[arg(long, value_name = "FILE")]
    pub ca: Option<String>,
    /// The broker [env: HM_MQTT_URL; default mqtts://mqtt-v2.high-mobility.com:8883].
    #[arg(long, value_name = "URL")]
    pub mqtt_url: Option<String>,
    /// Live or sandbox data [env: HM_MQTT_ENVIRONMENT; else `production` in HM_ENVIRONMENT means
    /// live; default sandbox].
    #[arg(long, value_name = "ENV", value_parser = ["live", "sandbox"])]
    pub mqtt_env: Option<String>,
    /// The MQTT client id; the broker keeps the session (unacknowledged and queued messages) under
    /// it [env: HM_MQTT_CLIENT_ID; default hm-cli-{application id}, apart from a service's sessions].
    #[arg(long, value_name = "ID")]
    pub mqtt_client_id: Option<String>,
    /// Join this shared-subscription group, splitting the stream with its other members; needs
    /// --mqtt-client-id [env: HM_MQTT_SHARE_GROUP].
    #[arg(long, value_name = "GROUP")]
    pub share: Option<String>,
    /// How long to wait for the broker to accept the subscription, e.g. 30s.
    #[arg(long, default_value = "30s", value_name = "DURATION", value_parser = parse_positive_duration)]
    pub timeout: Duration,
}

const STREAM_AFTER_HELP: &str = "\
Output: one line per property value, `VIN  capability.property  value  timestamp`; with --json one
object per line: {\"message_id\", \"vin\", \"capability\", \"property\", \"data\", \"timestamp\", \"failure\"}.
A message that is not JSON, does not match the schema or is larger than 1 MiB is reported on stderr
with its message_id, acknowledged and skipped. Ctrl-c stops after the message being printed.

Against `hm emulator serve`: run the `export HM_...` lines it prints, then `hm stream`.";

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
    /// Deliver signed webhooks to this URL: https, or http to loopback (repeatable).
    #[arg(long = "webhook", value_name = "URL")]
    pub webhooks: Vec<String>,
    /// The secret signing the deliveries of each --webhook, in the same order; one secret serves
    /// all (visible in `ps`: prefer --webhook-secret-file or HM_WEBHOOK_SECRET).
    #[arg(long = "webhook-secret", value_name = "SECRET", requires = "webhooks")]
    pub webhook_secrets: Vec<String>,
    /// File holding the one secret signing every --webhook's deliveries; `-` reads it from stdin.
    /// Without it or --webhook-secret, HM_WEBHOOK_SECRET is used.
    #[arg(
        long,
        value_name = "FILE",
        requires = "webhooks",
        conflicts_with = "webhook_secrets"
    )]
    pub webhook_secret_file: Option<PathBuf>,
    /// Only these events to the --webhook URLs, comma separated (fleet_clearance_changed, ping).
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "EVENTS",
        requires = "webhooks"
    )]
    pub webhook_events: Vec<String>,
    /// Do not run the MQTT broker that streams the approved vehicles' data.
    #[arg(long, conflicts_with = "tls_dir")]
    pub no_mqtt: bool,
    /// Write the MQTT broker's CA, server and client certificates (PEM) to this directory
    /// [default: a temporary directory, removed on exit].
    #[arg(long, value_name = "DIR")]
    pub tls_dir: Option<PathBuf>,
}

/// `hm webhooks ...`
#[derive(Debug, Subcommand)]
pub enum WebhooksCommand {
    /// Receive webhooks on a local port; verify each and print it (one JSON line with --json).
    Listen(WebhooksListenArgs),
}

/// Flags of `hm webhooks listen`.
#[derive(Debug, Args)]
pub struct WebhooksListenArgs {
    /// Port to listen on (0 picks a free one).
    #[arg(long)]
    pub port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: std::net::IpAddr,
    /// The webhook's secret (visible in `ps`: prefer --secret-file or HM_WEBHOOK_SECRET).
    #[arg(long, env = "HM_WEBHOOK_SECRET", hide_env_values = true)]
    pub secret: Option<String>,
    /// File holding the webhook's secret; `-` reads it from stdin.
    #[arg(long, value_name = "FILE")]
    pub secret_file: Option<PathBuf>,
}

/// Flags of `hm completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    pub shell: clap_complete::Shell,
}
