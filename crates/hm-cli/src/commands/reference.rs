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

/// Prints the man page hm(1) in roff: one page for the whole tool, each command with its synopsis
/// and flags in COMMANDS (clap_mangen alone would point at hm-COMMAND(1) pages nobody installs).
pub fn man() -> Result<(), CliError> {
    man_page()
        .map_err(|e| CliError::Other(format!("cannot render the man page: {e}")))
        .and_then(|page| out(&page))
}

fn man_page() -> std::io::Result<String> {
    let mut cmd = Cli::command();
    cmd.build();
    let man = clap_mangen::Man::new(cmd.clone());
    let mut page = Vec::new();
    man.render_title(&mut page)?;
    man.render_name_section(&mut page)?;
    man.render_synopsis_section(&mut page)?;
    man.render_description_section(&mut page)?;
    man.render_options_section(&mut page)?;
    page.extend_from_slice(b".SH COMMANDS\n");
    for (name, leaf) in leaves(&cmd, "hm") {
        command_section(&mut page, &name, leaf)?;
    }
    man.render_extra_section(&mut page)?;
    man.render_version_section(&mut page)?;
    Ok(String::from_utf8_lossy(&page).into_owned())
}

/// The commands that run something (`hm clearance request`, not `hm clearance`), with their full
/// names, in the order of `hm --help`.
fn leaves<'a>(cmd: &'a clap::Command, name: &str) -> Vec<(String, &'a clap::Command)> {
    let mut found = Vec::new();
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        let full = format!("{name} {}", sub.get_name());
        if sub.has_subcommands() {
            found.extend(leaves(sub, &full));
        } else {
            found.push((full, sub));
        }
    }
    found
}

/// One command of COMMANDS: a subsection with its description, synopsis and flags (each help
/// heading of the command becomes a bold paragraph title instead of a section of its own).
fn command_section(page: &mut Vec<u8>, name: &str, cmd: &clap::Command) -> std::io::Result<()> {
    let man = clap_mangen::Man::new(cmd.clone().bin_name(name.to_owned()));
    page.extend_from_slice(format!(".SS \"{}\"\n", name.replace('-', "\\-")).as_bytes());
    let mut parts = Vec::new();
    man.render_description_section(&mut parts)?;
    man.render_synopsis_section(&mut parts)?;
    man.render_options_section(&mut parts)?;
    for line in String::from_utf8_lossy(&parts).lines() {
        match line.strip_prefix(".SH ") {
            Some("DESCRIPTION" | "SYNOPSIS") => page.extend_from_slice(b".PP\n"),
            Some(heading) => page.extend_from_slice(format!(".PP\n.B {heading}\n").as_bytes()),
            None => page.extend_from_slice(format!("{line}\n").as_bytes()),
        }
    }
    Ok(())
}
