//! `strata`: a daemonless container image engine with Docker's command line.
//!
//! This binary only parses flags, calls the library crates and prints; see
//! docs/ARCHITECTURE.md for where the work happens.

mod cli;
mod commands;
mod output;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    init_logging(&cli.global);
    match commands::dispatch(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("Error: {err:#}");
            ExitCode::from(err.exit_code())
        }
    }
}

fn init_logging(global: &cli::GlobalOpts) {
    let level = if global.debug {
        "debug"
    } else {
        global.log_level.as_str()
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("STRATA_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("strata={level},warn")));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .without_time()
        .init();
}
