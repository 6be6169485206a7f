//! `hm-emulator [--port N] [--config FILE]`: serves the emulator on 127.0.0.1 until ctrl-c.
//! Prints the base URL on stdout once it listens (useful with `--port 0`).

use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use std::io::Write;

use hm_emulator::{Emulator, EmulatorConfig, Error};

const USAGE: &str = "usage: hm-emulator [--port N] [--config FILE]\n\
    Serves High Mobility's APIs on http://127.0.0.1:N (default 4000; 0 picks a free port) until\n\
    ctrl-c, and prints the base URL on stdout once it listens.\n\
    Without --config the built-in demo configuration is used.";

struct Args {
    port: u16,
    config: Option<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        port: 4000,
        config: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--port" => {
                let value = it.next().ok_or("--port needs a number")?;
                args.port = value
                    .parse()
                    .map_err(|_| format!("--port {value:?} is not a port number"))?;
            }
            "--config" => args.config = Some(it.next().ok_or("--config needs a file name")?),
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(args)
}

#[tokio::main]
async fn main() -> ExitCode {
    // Logs go to stderr: stdout carries only the base URL, so `URL=$(hm-emulator --port 0 | head -1)` works.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                // mqtt5 logs what clients send (refused topics, client ids) verbatim and per packet;
                // the emulator logs refusals itself, escaped and once per connection.
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,mqtt5=error")),
        )
        .init();
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("error: {message}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let config = match &args.config {
        Some(path) => EmulatorConfig::from_toml_file(path),
        None => Ok(EmulatorConfig::demo()),
    };
    let result = match config {
        Ok(config) => run(config, SocketAddr::from((Ipv4Addr::LOCALHOST, args.port))).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(config: EmulatorConfig, addr: SocketAddr) -> Result<(), Error> {
    let handle = Emulator::start_on(config, addr).await?;
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "{}", handle.base_url());
    let _ = stdout.flush();
    if let Err(e) = tokio::signal::ctrl_c().await {
        eprintln!("error: cannot wait for ctrl-c ({e}); stopping");
    }
    handle.shutdown().await
}
