//! `strata`: a daemonless container image engine with Docker's command line.
//!
//! This binary only parses flags, calls the library crates and prints; see
//! docs/ARCHITECTURE.md for where the work happens.

mod cli;
mod commands;
mod logging;
mod output;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    logging::init(&cli.global);
    match commands::dispatch(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("Error: {err:#}");
            ExitCode::from(err.exit_code())
        }
    }
}
