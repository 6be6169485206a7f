//! `hm`: High Mobility's fleet APIs from the command line. See the README for commands,
//! configuration and exit codes.

mod cli;
mod commands;
mod config;
mod error;
mod output;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

use crate::cli::{Cli, Command, EmulatorCommand};
use crate::commands::Ctx;
use crate::error::{CliError, EXIT_FAILURE};

fn main() -> ExitCode {
    // A bug must still end in one readable line, not a backtrace.
    std::panic::set_hook(Box::new(|info| {
        eprintln!("error: internal error in hm ({info}); please report it");
    }));
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    init_tracing(&cli.command);
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
        json: cli.json,
        connection: &cli.connection,
        matches: &matches,
    };
    match runtime.block_on(run(&ctx, &cli.command)) {
        Ok(()) => ExitCode::from(error::EXIT_OK),
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}

async fn run(ctx: &Ctx<'_>, command: &Command) -> Result<(), CliError> {
    match command {
        Command::Demo(_) => commands::demo::run(ctx.json).await,
        Command::Token(args) => commands::token::run(ctx, args).await,
        Command::Eligibility(args) => commands::eligibility::run(ctx, args).await,
        Command::Clearance(command) => commands::clearance::run(ctx, command).await,
        Command::VehicleData(args) => commands::vehicle_data::run(ctx, args).await,
        Command::StaticData(args) => commands::static_data::run(ctx, args).await,
        Command::Emulator(EmulatorCommand::Serve(args)) => {
            commands::emulator::serve(args, ctx.json).await
        }
    }
}

/// Logs go to stderr, warnings only unless RUST_LOG says otherwise; the emulator reports its requests.
fn init_tracing(command: &Command) {
    let default = match command {
        Command::Emulator(_) => "warn,hm_emulator=info",
        _ => "warn",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
