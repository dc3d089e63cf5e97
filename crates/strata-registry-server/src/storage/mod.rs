//! The storage driver: a small set of path-addressed operations (like distribution's
//! storagedriver) that the registry layout in `crate::store` is built on. The filesystem driver
//! is the default; an object-store driver implements the same trait.
//!
//! Paths are relative, `/`-separated keys made only by `crate::store` from validated names and
//! digests; a driver still refuses `..` and absolute keys as a second line of defence.

use std::pin::Pin;

use bytes::Bytes;
use futures_util::Stream;

mod fs;
mod s3;

pub use fs::FsDriver;
pub use s3::S3Driver;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("storage I/O error on {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid storage path {0:?}")]
    InvalidPath(String),
    #[error("storage path not found: {0}")]
    NotFound(String),
    #[error("{0}")]
    Other(String),
}

pub type StorageResult<T> = Result<T, StorageError>;

pub type ByteStream = Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>>;

/// An open append handle on an upload's data. Bytes written are durable after `finish`.
#[async_trait::async_trait]
pub trait Appender: Send {
    async fn write(&mut self, chunk: &[u8]) -> StorageResult<()>;
    /// Flush and fsync; returns the total size of the object.
    async fn finish(self: Box<Self>) -> StorageResult<u64>;
}

#[derive(Debug, Clone, Copy)]
pub struct Stat {
    pub size: u64,
    pub modified: std::time::SystemTime,
}

#[async_trait::async_trait]
pub trait Driver: Send + Sync + 'static {
    /// The whole content of a small object, or None when it does not exist.
    async fn get(&self, path: &str) -> StorageResult<Option<Bytes>>;
    /// Atomically replace an object (temp file, fsync, rename).
    async fn put(&self, path: &str, content: &[u8]) -> StorageResult<()>;
    async fn stat(&self, path: &str) -> StorageResult<Option<Stat>>;
    /// `len` bytes from `offset`, streamed.
    async fn read_range(&self, path: &str, offset: u64, len: u64) -> StorageResult<ByteStream>;
    /// Names of the direct children of a directory-like prefix, sorted; empty if absent.
    async fn list(&self, dir: &str) -> StorageResult<Vec<String>>;
    /// Delete an object or a whole prefix; absent is not an error.
    async fn delete(&self, path: &str) -> StorageResult<()>;
    /// Open an object for appending, creating it if needed.
    async fn append(&self, path: &str) -> StorageResult<Box<dyn Appender>>;
    /// Cut an object back to `size` bytes (undo a chunk that failed validation).
    async fn truncate(&self, path: &str, size: u64) -> StorageResult<()>;
    /// Move an object to a new path atomically, replacing what is there; the moved object's
    /// modification time is set to now (GC's grace period relies on that).
    async fn rename(&self, from: &str, to: &str) -> StorageResult<()>;
    /// Set an object's modification time to now.
    async fn touch(&self, path: &str) -> StorageResult<()>;
}

/// Reject keys that could escape the storage root.
pub(crate) fn check_path(path: &str) -> StorageResult<()> {
    if path.is_empty()
        || path.starts_with('/')
        || path.contains('\\')
        || path.contains('\0')
        || path
            .split('/')
            .any(|c| c.is_empty() || c == "." || c == "..")
    {
        return Err(StorageError::InvalidPath(path.to_owned()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_path;

    #[test]
    fn path_checks() {
        assert!(check_path("blobs/sha256/ab/abc/data").is_ok());
        for bad in ["", "/etc", "a/../b", "a//b", "./a", "a\\b"] {
            assert!(check_path(bad).is_err(), "{bad}");
        }
    }
}
