//! One module per command family. Each command returns an exit code or a `CliError`.

use std::process::ExitCode;

use crate::cli::{Cli, Command};

mod error;
mod version;

pub use error::CliError;

pub fn dispatch(cli: Cli) -> Result<ExitCode, CliError> {
    match cli.command {
        Command::Version => version::run(),
    }
}
