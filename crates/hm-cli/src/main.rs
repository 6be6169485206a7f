//! `hm`: High Mobility's fleet APIs from the command line. See the README for commands,
//! configuration and exit codes.

mod api;
mod bulk;
mod cli;
mod commands;
mod config;
mod error;
mod input;
mod output;
mod profile;
mod scrub;
mod vocab;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

use crate::cli::{Cli, Command, EmulatorCommand};
use crate::commands::Ctx;
use crate::error::{CliError, EXIT_FAILURE, EXIT_USAGE};

fn main() -> ExitCode {
    // A bug must still end in one readable line, not a backtrace.
    std::panic::set_hook(Box::new(|info| {
        eprintln!("error: internal error in hm ({info}); please report it");
    }));
    let json_requested = std::env::args_os().any(|a| a == "--json" || a == "--ndjson");
    let matches = match Cli::command().try_get_matches() {
        Ok(matches) => matches,
        Err(e) => return usage_error(e, json_requested),
    };
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => return usage_error(e, json_requested),
    };
    let json = cli.json || matches!(&cli.command, Command::VehicleData(a) if a.ndjson);
    if let Err(e) = stdin_used_once(&matches) {
        return report(&e, json);
    }
    init_logging(&cli);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    let ctx = Ctx {
        json,
        matches: &matches,
    };
    let result = runtime.block_on(run(&ctx, &cli.command));
    // Dropping the runtime would join blocking threads, among them a DNS lookup that never
    // answers (getaddrinfo cannot be cancelled): hm would outlive its --timeout by minutes.
    runtime.shutdown_background();
    match result {
        Ok(()) => ExitCode::from(error::EXIT_OK),
        // The reader went away: nobody is left to read an error.
        Err(CliError::BrokenPipe) => ExitCode::from(error::EXIT_BROKEN_PIPE),
        Err(error) => report(&error, json),
    }
}

/// Refuses `-` (stdin) for both the vehicle list and the client secret before anything is read:
/// reading one would swallow the other, and a secret read as a list could be quoted as a bad VIN.
fn stdin_used_once(matches: &clap::ArgMatches) -> Result<(), CliError> {
    let dash = |m: &clap::ArgMatches, id: &str| {
        m.try_get_one::<std::path::PathBuf>(id)
            .ok()
            .flatten()
            .is_some_and(|p| p.as_os_str() == "-")
    };
    let mut m = matches;
    while let Some((_, sub)) = m.subcommand() {
        m = sub;
    }
    if dash(m, "from") && dash(m, "client_secret_file") {
        return Err(CliError::Usage(
            "stdin (`-`) cannot be both the vehicle list (--from) and the client secret \
             (--client-secret-file/HM_CLIENT_SECRET_FILE): give one of them as a file"
                .into(),
        ));
    }
    Ok(())
}

/// Reports an error on stderr: one JSON object with `--json`, else text whose escape sequences
/// (error text quotes the server) are shown, not obeyed.
fn report(error: &CliError, json: bool) -> ExitCode {
    if json {
        eprintln!("{}", error.to_json());
    } else {
        eprintln!("{}", scrub::escape_controls(&error.to_text()));
    }
    ExitCode::from(error.exit_code())
}

/// Reports a command-line error: clap's own text, or one JSON object with `--json`.
fn usage_error(error: clap::Error, json: bool) -> ExitCode {
    use clap::error::ErrorKind;
    let informational = matches!(
        error.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    ) || error.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand;
    if informational {
        // Help goes to stdout; a reader that went away gets the shell's SIGPIPE status.
        return match error.print() {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                ExitCode::from(error::EXIT_BROKEN_PIPE)
            }
            _ => ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(EXIT_USAGE)),
        };
    }
    let message = match hidden_unknown_argument(&error) {
        Some(message) => message,
        None => {
            if !json {
                error.exit()
            }
            let rendered = error.render().to_string();
            rendered
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("invalid command line")
                .trim_start_matches("error: ")
                .to_owned()
        }
    };
    if !json {
        eprintln!(
            "error: {message}\n  what to do: run `hm --help` (or `hm COMMAND --help`) for the accepted flags"
        );
        return ExitCode::from(EXIT_USAGE);
    }
    let doc = serde_json::json!({ "error": {
        "kind": "usage",
        "message": message,
        "hint": "run `hm --help` (or `hm COMMAND --help`) for the accepted flags",
        "http_status": null,
        "request_id": null,
        "exit_code": EXIT_USAGE,
    }});
    eprintln!("{doc}");
    ExitCode::from(EXIT_USAGE)
}

/// clap quotes an unknown argument in full, value included: `--key-pem-text=<a private key>` or
/// a mistyped `--client-secet=...` would land on the screen and in logs. Such an argument is named
/// without its value.
fn hidden_unknown_argument(error: &clap::Error) -> Option<String> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if error.kind() != ErrorKind::UnknownArgument {
        return None;
    }
    let Some(ContextValue::String(arg)) = error.get(ContextKind::InvalidArg) else {
        return None;
    };
    let (name, value) = arg.split_once('=').unwrap_or((arg, ""));
    let long = !value.is_empty() || name.chars().count() > 40 || name.contains(char::is_control);
    if !long {
        return None;
    }
    let shown = if name.starts_with('-')
        && name.chars().count() <= 40
        && !name.contains(char::is_control)
    {
        format!("`{name}=...` (value not shown)")
    } else {
        format!("of {} characters (not shown)", arg.chars().count())
    };
    Some(format!("unexpected argument {shown}"))
}

async fn run(ctx: &Ctx<'_>, command: &Command) -> Result<(), CliError> {
    match command {
        Command::Demo(args) => commands::demo::run(args, ctx.json).await,
        Command::Token(args) => commands::token::run(ctx, args).await,
        Command::Eligibility(args) => commands::eligibility::run(ctx, args).await,
        Command::Clearance(command) => commands::clearance::run(ctx, command).await,
        Command::VehicleData(args) => commands::vehicle_data::run(ctx, args).await,
        Command::StaticData(args) => commands::static_data::run(ctx, args).await,
        Command::Stream(args) => commands::stream::run(args, ctx.json).await,
        Command::Emulator(EmulatorCommand::Serve(args)) => {
            commands::emulator::serve(args, ctx.json).await
        }
        Command::Webhooks(command) => commands::webhooks::run(command, ctx.json).await,
        Command::Completions(args) => commands::reference::completions(args),
        Command::Man => commands::reference::man(),
    }
}

/// Logs go to stderr. Nothing by default (an error is reported once, by `main`); `-v` one line
/// per HTTP exchange, `-vv` debug details, `-vvv` everything; `RUST_LOG` overrides. Colours only
/// on a terminal, and never with `NO_COLOR`.
fn init_logging(cli: &Cli) {
    let serving = matches!(cli.command, Command::Emulator(_));
    let base = match cli.verbose {
        0 => "off",
        1 => "hm::http=info,hm_stream=info",
        2 => "hm=debug,hm_auth=debug,hm_stream=debug,reqwest=debug,hyper_util=debug",
        _ => "trace",
    };
    let default = if serving && cli.verbose < 3 {
        format!("{base},hm_emulator=info")
    } else {
        base.to_owned()
    };
    if cli.verbose > 0 || std::env::var_os("RUST_LOG").is_some() {
        output::logging_to_stderr();
    }
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && !no_color)
        .with_target(cli.verbose >= 2)
        .without_time()
        .try_init();
}
