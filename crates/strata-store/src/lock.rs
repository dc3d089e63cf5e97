//! The store lock: one `flock` on `<root>/lock`. Commands that change the store hold it
//! exclusively while they commit; readers need no lock because every visible file is
//! complete (see `atomic`).

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

use rustix::fs::{FlockOperation, flock};

/// Held while alive; dropping the file releases the lock.
#[derive(Debug)]
pub struct StoreLock {
    _file: File,
}

impl StoreLock {
    pub(crate) fn exclusive(path: &Path) -> io::Result<StoreLock> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)?;
        flock(&file, FlockOperation::LockExclusive)?;
        Ok(StoreLock { _file: file })
    }
}
