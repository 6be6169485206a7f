//! `hm completions SHELL` and `hm man`: generated from the clap definitions, so they never drift.

use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs};
use crate::error::CliError;
use crate::output::out;

/// Prints the completion script for a shell.
pub fn completions(args: &CompletionsArgs) -> Result<(), CliError> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "hm", &mut script);
    out(&String::from_utf8_lossy(&script))
}

/// Prints the man page hm(1) in roff.
pub fn man() -> Result<(), CliError> {
    let mut page = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut page)
        .map_err(|e| CliError::Other(format!("cannot render the man page: {e}")))?;
    out(&String::from_utf8_lossy(&page))
}
