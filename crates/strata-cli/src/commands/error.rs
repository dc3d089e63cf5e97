//! The one error type of the CLI: whatever a library returned, with context, and the exit code
//! Docker uses for that kind of failure.

use std::fmt;

#[derive(Debug)]
pub struct CliError {
    message: String,
    exit_code: u8,
}

impl CliError {
    /// A failure of the command itself (Docker's CLI exits 1).
    pub fn new(message: impl fmt::Display) -> CliError {
        CliError {
            message: message.to_string(),
            exit_code: 1,
        }
    }

    /// A failure before a container's process ran (Docker's 125).
    pub fn engine(message: impl fmt::Display) -> CliError {
        CliError {
            message: message.to_string(),
            exit_code: 125,
        }
    }

    pub fn with_exit_code(mut self, code: u8) -> CliError {
        self.exit_code = code;
        self
    }

    pub fn exit_code(&self) -> u8 {
        self.exit_code
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> CliError {
        CliError::new(e)
    }
}
