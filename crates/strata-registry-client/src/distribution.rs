//! What the store knows about a layer's registry form, kept beside the layer as
//! `layers/sha256/<chain>/distribution.json` (Docker's "v2 metadata"): the compressed blobs
//! it was pulled as or pushed as, with their media type and the repositories that hold them.
//! Push uses it to skip recompressing, to `HEAD` the right digest and to mount across
//! repositories of the same registry.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use strata_reference::Digest;
use strata_store::Store;

use crate::error::{RegistryError, Result};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BlobRecord {
    /// Digest of the compressed blob.
    pub digest: Digest,
    pub media_type: String,
    pub size: u64,
    /// Fully qualified repositories (`localhost:5000/x`) known to hold the blob.
    #[serde(default)]
    pub repositories: Vec<String>,
}

fn path(store: &Store, chain_id: &Digest) -> PathBuf {
    let tar = store.layer_tar_path(chain_id);
    tar.with_file_name("distribution.json")
}

pub fn read(store: &Store, chain_id: &Digest) -> Vec<BlobRecord> {
    std::fs::read(path(store, chain_id))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// Adds (or merges) a record. Best effort by design: losing it costs a recompression, never
/// correctness, so concurrent writers simply replace the file atomically.
pub fn record(
    store: &Store,
    chain_id: &Digest,
    blob: &Digest,
    media_type: &str,
    size: u64,
    repository: Option<&str>,
) -> Result<()> {
    let file = path(store, chain_id);
    let mut records = read(store, chain_id);
    match records.iter_mut().find(|r| &r.digest == blob) {
        Some(r) => {
            if let Some(repo) = repository {
                if !r.repositories.iter().any(|x| x == repo) {
                    r.repositories.push(repo.to_owned());
                }
            }
        }
        None => records.push(BlobRecord {
            digest: blob.clone(),
            media_type: media_type.to_owned(),
            size,
            repositories: repository.into_iter().map(str::to_owned).collect(),
        }),
    }
    let bytes =
        serde_json::to_vec_pretty(&records).map_err(|e| RegistryError::Config(e.to_string()))?;
    let dir = file
        .parent()
        .ok_or_else(|| RegistryError::Config("layer path without parent".into()))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(RegistryError::io(
        "writing layer distribution metadata",
        dir,
    ))?;
    std::io::Write::write_all(&mut tmp, &bytes).map_err(RegistryError::io(
        "writing layer distribution metadata",
        &file,
    ))?;
    tmp.persist(&file).map_err(|e| RegistryError::Io {
        context: "writing layer distribution metadata",
        path: file.clone(),
        source: e.error,
    })?;
    Ok(())
}

/// The registry host of a fully qualified repository name.
pub fn registry_of(repository: &str) -> &str {
    repository.split('/').next().unwrap_or(repository)
}
