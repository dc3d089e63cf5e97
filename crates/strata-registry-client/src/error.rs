use std::path::PathBuf;

use strata_reference::Digest;

/// Registry client errors. Where Docker has a wording, the message follows it.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("{method} {url}: {source}")]
    Http {
        method: &'static str,
        url: String,
        source: reqwest::Error,
    },
    /// A status the registry answered with, and its error body (OCI `errors[]` when present).
    #[error("{message}")]
    Status { status: u16, message: String },
    #[error("unauthorized: authentication required")]
    Unauthorized,
    #[error("unauthorized: incorrect username or password")]
    BadCredentials,
    #[error("authentication with {0} failed repeatedly (401 after a fresh token); giving up")]
    AuthLoop(String),
    #[error("getting a token from {realm}: {message}")]
    Token { realm: String, message: String },
    #[error("manifest unknown: {0}")]
    ManifestUnknown(String),
    #[error("unsupported manifest media type {0:?}")]
    UnsupportedMediaType(String),
    #[error("invalid manifest: {0}")]
    BadManifest(String),
    #[error("no matching manifest for {0} in the manifest list entries")]
    NoMatchingPlatform(String),
    #[error("invalid platform {0:?}: expected os/arch[/variant]")]
    BadPlatform(String),
    #[error("digest mismatch for {what}: expected {expected}, got {actual}")]
    DigestMismatch {
        what: String,
        expected: Digest,
        actual: Digest,
    },
    #[error("size mismatch for {what}: expected {expected} bytes, got {actual}")]
    SizeMismatch {
        what: String,
        expected: u64,
        actual: u64,
    },
    #[error("{0} kept failing after {1} attempts")]
    RetriesExhausted(String, u32),
    #[error("{context} ({path}): {source}")]
    Io {
        context: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Config(String),
    #[error("credential helper docker-credential-{helper}: {message}")]
    CredentialHelper { helper: String, message: String },
    #[error(transparent)]
    Store(#[from] strata_store::StoreError),
    #[error(transparent)]
    Reference(#[from] strata_reference::ReferenceError),
    #[error("search is not supported by registry {0}: {1}")]
    SearchUnsupported(String, String),
}

impl RegistryError {
    pub(crate) fn io(
        context: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> RegistryError {
        let path = path.into();
        move |source| RegistryError::Io {
            context,
            path,
            source,
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            RegistryError::Status { status, .. } => Some(*status),
            RegistryError::Unauthorized | RegistryError::BadCredentials => Some(401),
            _ => None,
        }
    }
}

pub type Result<T, E = RegistryError> = std::result::Result<T, E>;
