//! Build failures, worded like Docker's classic builder.

use std::path::PathBuf;

/// Why a build failed. `Display` gives the message `docker build` prints after
/// `Error response from daemon: ` (the CLI adds no prefix of its own for most of them).
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The Dockerfile does not parse: `dockerfile parse error line 3: unknown instruction: FOO`.
    #[error("dockerfile parse error line {line}: {message}")]
    Parse { line: usize, message: String },
    /// A step failed; `line` is the Dockerfile line of the instruction.
    #[error("{message}")]
    Step { line: usize, message: String },
    /// A RUN exited non-zero: `The command '/bin/sh -c false' returned a non-zero code: 1`.
    #[error("The command '{command}' returned a non-zero code: {code}")]
    RunFailed {
        command: String,
        code: i32,
        line: usize,
    },
    /// The context or Dockerfile could not be read.
    #[error("{context} {}: {source}", path.display())]
    Io {
        context: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Store(#[from] strata_store::StoreError),
    #[error("{0}")]
    Runtime(#[from] strata_runtime::RuntimeError),
    /// Anything else, already worded for the user.
    #[error("{0}")]
    Other(String),
}

impl BuildError {
    pub fn io(
        context: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> BuildError {
        let path = path.into();
        move |source| BuildError::Io {
            context,
            path,
            source,
        }
    }

    /// A failure of the instruction on `line`.
    pub fn step(line: usize, message: impl Into<String>) -> BuildError {
        BuildError::Step {
            line,
            message: message.into(),
        }
    }

    /// The Dockerfile line the error concerns, when it concerns one.
    pub fn line(&self) -> Option<usize> {
        match self {
            BuildError::Parse { line, .. }
            | BuildError::Step { line, .. }
            | BuildError::RunFailed { line, .. } => Some(*line),
            _ => None,
        }
    }

    /// Attaches a Dockerfile line to an error that has none.
    pub fn at_line(self, line: usize) -> BuildError {
        match self {
            e @ (BuildError::Parse { .. }
            | BuildError::Step { .. }
            | BuildError::RunFailed { .. }) => e,
            other => BuildError::Step {
                line,
                message: other.to_string(),
            },
        }
    }
}

pub type Result<T, E = BuildError> = std::result::Result<T, E>;
