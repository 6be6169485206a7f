//! `cargo xtask`: fetch the pinned High Mobility specs and generate the typed client from them.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand};
use xtask::{codegen, error::Error, fetch};

#[derive(Parser)]
#[command(about = "Project automation for the High Mobility workspace")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Put the pinned spec files into openapi/fetched/, verified by sha256.
    Fetch {
        /// Copy the files from this folder instead of downloading them.
        #[arg(long, env = fetch::SOURCE_DIR_ENV)]
        from: Option<PathBuf>,
    },
    /// Generate crates/hm-api and crates/hm-api-httpmock sources (and the emulator's vehicle data
    /// shape) from the fetched specs.
    Codegen {
        /// Write nothing; print a diff of stale files and fail if there are any.
        #[arg(long)]
        check: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> Result<(), Error> {
    let root = xtask::root();
    let manifest = xtask::manifest(&root)?;
    match command {
        Command::Fetch { from } => fetch::fetch(&root, &manifest, from.as_deref()),
        Command::Codegen { check } => {
            let started = Instant::now();
            let files = codegen::render_all(&root, &manifest)?;
            if check {
                let stale = codegen::stale_files(&root, &files);
                for file in &stale {
                    print!("{}", file.diff);
                }
                if !stale.is_empty() {
                    return Err(Error::Stale { count: stale.len() });
                }
                println!("generated code is up to date ({} files)", files.len());
            } else {
                let changed = codegen::write_all(&root, &files)?;
                println!(
                    "generated {} files ({changed} changed) in {:.1} s",
                    files.len(),
                    started.elapsed().as_secs_f64()
                );
            }
            Ok(())
        }
    }
}
