use std::io;
use std::path::PathBuf;

use strata_reference::{Digest, ReferenceError};

use crate::layer::unpack::UnpackError;

/// Store errors. Messages follow the daemon's wording, which the CLI prints after `Error: `.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("No such image: {0}")]
    ImageNotFound(String),
    #[error(transparent)]
    Reference(#[from] ReferenceError),
    #[error("{0}")]
    Conflict(String),
    #[error("unpacking layer: {0}")]
    Unpack(#[from] UnpackError),
    #[error("invalid diffID for layer {index}: expected {expected}, got {actual}")]
    DiffIdMismatch {
        index: usize,
        expected: Digest,
        actual: Digest,
    },
    #[error("digest mismatch for {path}: expected {expected}, got {actual}")]
    DigestMismatch {
        path: String,
        expected: Digest,
        actual: Digest,
    },
    #[error("invalid archive: {0}")]
    InvalidArchive(String),
    #[error("invalid image config {id}: {source}")]
    BadConfig {
        id: String,
        source: serde_json::Error,
    },
    #[error("{0}")]
    InvalidChange(String),
    #[error("{context} ({path}): {source}")]
    Io {
        context: &'static str,
        path: PathBuf,
        source: io::Error,
    },
}

impl StoreError {
    pub(crate) fn io(
        context: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(io::Error) -> StoreError {
        let path = path.into();
        move |source| StoreError::Io {
            context,
            path,
            source,
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
