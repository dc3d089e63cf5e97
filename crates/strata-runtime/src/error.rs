//! The runtime's error type. Messages follow Docker's wording where Docker has one, since the
//! CLI prints them as they are.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("No such container: {0}")]
    NoSuchContainer(String),
    #[error(
        "Conflict. The container name \"/{name}\" is already in use by container \"{id}\". You have to remove (or rename) that container to be able to reuse that name."
    )]
    NameInUse { name: String, id: String },
    #[error("Invalid container name ({0}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")]
    InvalidName(String),
    #[error("No command specified")]
    NoCommand,
    #[error("unable to find user {0}: no matching entries in passwd file")]
    UnknownUser(String),
    #[error("unable to find group {0}: no matching entries in group file")]
    UnknownGroup(String),
    #[error("invalid mount config: {0}")]
    InvalidMount(String),
    #[error("Container {0} is not running")]
    NotRunning(String),
    #[error("container {0} is already running")]
    AlreadyRunning(String),
    #[error(
        "cannot remove container \"/{name}\": container is running: stop the container before removing or force remove"
    )]
    RemoveRunning { name: String },
    #[error("Invalid signal: {0}")]
    InvalidSignal(String),
    /// The container's process could not be started: `code` is Docker's 126 or 127.
    #[error("failed to create task for container: {message}")]
    StartFailed { message: String, code: u8 },
    #[error("error mounting the container's root filesystem: {0}")]
    Mount(String),
    #[error("the container monitor failed: {0}")]
    Monitor(String),
    #[error("the embedded runtime failed: {0}")]
    Libcontainer(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Other(String),
    #[error(transparent)]
    Network(#[from] strata_network::NetworkError),
    #[error("corrupt container state {path}: {source}")]
    CorruptState {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    /// A `--security-opt` (or the seccomp profile it names) the daemon would refuse.
    #[error("{0}")]
    InvalidSecurityOpt(String),
    /// Resource flags the daemon refuses (`--memory-swap` below `--memory`, …): Docker's words.
    #[error("{0}")]
    InvalidResources(String),
    /// `cp - CONTAINER:DEST` where DEST is missing or not a directory; the CLI words it
    /// with the argument as the user typed it.
    #[error("destination {0:?} must be a directory")]
    CopyDestinationNotDirectory(String),
    #[error("No such volume: {0}")]
    NoSuchVolume(String),
    #[error("remove {0}: volume is in use - [{1}]")]
    VolumeInUse(String, String),
}

impl RuntimeError {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> RuntimeError {
        RuntimeError::Io {
            path: path.into(),
            source,
        }
    }
}

pub type Result<T, E = RuntimeError> = std::result::Result<T, E>;

/// Adds the path to an `io::Error`.
pub(crate) trait IoContext<T> {
    fn at(self, path: impl Into<PathBuf>) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn at(self, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|e| RuntimeError::io(path, e))
    }
}
