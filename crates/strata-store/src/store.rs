//! The store's directory layout and the operations every other module builds on.
//!
//! ```text
//! <root>/lock                         flock held while a command commits a change
//! <root>/blobs/sha256/<hex>           content-addressed bytes: image configs (exact bytes)
//! <root>/layers/sha256/<chain-hex>/   diff/ (unpacked, overlay format), layer.tar, meta.json
//! <root>/images/<id-hex>.json         an image exists iff its record exists (parent, tag time)
//! <root>/repositories.json            tags and digests per repository
//! <root>/tmp/<pid>-<random>/          staging; renamed into place when complete
//! ```

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use strata_reference::{Algorithm, Digest, Digester};

use crate::atomic;
use crate::error::{Result, StoreError};
use crate::layer::{self, LayerMeta, unpack};
use crate::lock::StoreLock;

#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

impl Store {
    /// Opens (creating if needed) the store at `root` and removes staging left by dead processes.
    pub fn open(root: impl AsRef<Path>) -> Result<Store> {
        let root = root.as_ref().to_path_buf();
        let store = Store { root };
        for dir in [
            store.blobs_dir(),
            store.layers_dir(),
            store.images_dir(),
            store.tmp_dir(),
        ] {
            fs::create_dir_all(&dir).map_err(StoreError::io("creating store directory", &dir))?;
        }
        store.remove_dead_staging();
        Ok(store)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub(crate) fn blobs_dir(&self) -> PathBuf {
        self.root.join("blobs/sha256")
    }
    pub(crate) fn layers_dir(&self) -> PathBuf {
        self.root.join("layers/sha256")
    }
    pub(crate) fn images_dir(&self) -> PathBuf {
        self.root.join("images")
    }
    pub(crate) fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }
    pub(crate) fn repositories_file(&self) -> PathBuf {
        self.root.join("repositories.json")
    }
    pub(crate) fn blob_path(&self, d: &Digest) -> PathBuf {
        self.root
            .join("blobs")
            .join(d.algorithm().name())
            .join(d.hex())
    }
    pub(crate) fn layer_path(&self, chain_id: &Digest) -> PathBuf {
        self.layers_dir().join(chain_id.hex())
    }

    /// Takes the store-wide write lock. Hold it only while committing, not while staging.
    pub fn lock(&self) -> Result<StoreLock> {
        let path = self.root.join("lock");
        StoreLock::exclusive(&path).map_err(StoreError::io("locking the store", path))
    }

    /// A fresh staging directory that is removed on drop unless renamed away.
    pub(crate) fn staging(&self) -> Result<tempfile::TempDir> {
        tempfile::Builder::new()
            .prefix(&format!("{}-", std::process::id()))
            .tempdir_in(self.tmp_dir())
            .map_err(StoreError::io(
                "creating a staging directory",
                self.tmp_dir(),
            ))
    }

    fn remove_dead_staging(&self) {
        let Ok(entries) = fs::read_dir(self.tmp_dir()) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let pid = name
                .to_str()
                .and_then(|n| n.split('-').next())
                .and_then(|p| p.parse::<u32>().ok());
            if let Some(pid) = pid
                && !Path::new(&format!("/proc/{pid}")).exists()
            {
                tracing::debug!(path = %entry.path().display(), "removing staging of a dead process");
                let _ = fs::remove_dir_all(entry.path());
            }
        }
    }

    /// Stores bytes under their sha256 digest (idempotent) and returns the digest.
    pub fn put_blob(&self, bytes: &[u8]) -> Result<Digest> {
        let digest = Digest::sha256_of(bytes);
        let path = self.blob_path(&digest);
        if !path.exists() {
            atomic::write_file(&path, bytes).map_err(StoreError::io("writing blob", &path))?;
        }
        Ok(digest)
    }

    /// Reads a blob and verifies it still matches its digest.
    pub fn get_blob(&self, digest: &Digest) -> Result<Vec<u8>> {
        let path = self.blob_path(digest);
        let bytes = fs::read(&path).map_err(StoreError::io("reading blob", &path))?;
        let mut d = Digester::new(digest.algorithm());
        d.update(&bytes);
        let actual = d.finish();
        if &actual != digest {
            return Err(StoreError::DigestMismatch {
                path: path.display().to_string(),
                expected: digest.clone(),
                actual,
            });
        }
        Ok(bytes)
    }

    pub fn layer_meta(&self, chain_id: &Digest) -> Result<LayerMeta> {
        let path = self.layer_path(chain_id).join("meta.json");
        let bytes = fs::read(&path).map_err(StoreError::io("reading layer metadata", &path))?;
        serde_json::from_slice(&bytes).map_err(|e| {
            StoreError::InvalidArchive(format!("corrupt layer metadata {}: {e}", path.display()))
        })
    }

    pub fn layer_exists(&self, chain_id: &Digest) -> bool {
        self.layer_path(chain_id).join("meta.json").exists()
    }

    /// The unpacked directory of a layer (overlay format).
    pub fn layer_diff_dir(&self, chain_id: &Digest) -> PathBuf {
        self.layer_path(chain_id).join("diff")
    }

    /// The exact uncompressed tar of a layer, whose sha256 is its diff ID.
    pub fn layer_tar_path(&self, chain_id: &Digest) -> PathBuf {
        self.layer_path(chain_id).join("layer.tar")
    }

    /// Reads one uncompressed layer tar from `reader`, keeps its bytes, unpacks it, and registers
    /// it on top of `parent` (a chain ID). With `expected`, the diff ID must match or nothing is
    /// kept. Registering a layer that already exists is cheap and returns the existing one.
    pub fn register_layer(
        &self,
        parent: Option<&Digest>,
        reader: impl Read,
        expected: Option<&Digest>,
    ) -> Result<LayerMeta> {
        let staged = self.stage_layer(parent, reader, expected)?;
        self.commit_layer(staged)
    }

    /// The first half of [`Store::register_layer`]: unpacks, hashes and syncs the layer in
    /// staging, invisible to readers. Several layers may be staged at once (pull does, one per
    /// download); [`Store::commit_layer`] then makes them visible, parents first.
    pub fn stage_layer(
        &self,
        parent: Option<&Digest>,
        reader: impl Read,
        expected: Option<&Digest>,
    ) -> Result<StagedLayer> {
        let staging = self.staging()?;
        let diff = staging.path().join("diff");
        fs::create_dir(&diff).map_err(StoreError::io("creating layer directory", &diff))?;
        let tar_path = staging.path().join("layer.tar");
        let file =
            fs::File::create(&tar_path).map_err(StoreError::io("creating layer tar", &tar_path))?;
        let mut tee = HashingTee {
            inner: reader,
            digester: Some(Digester::new(Algorithm::Sha256)),
            copy: io::BufWriter::with_capacity(1 << 20, file),
            bytes: 0,
        };
        unpack::unpack_layer(&mut tee, &diff)?;
        // The diff ID covers the whole stream, including the zero blocks after the last entry.
        io::copy(&mut tee, &mut io::sink()).map_err(StoreError::io("reading layer", &tar_path))?;
        let tar_size = tee.bytes;
        let diff_id = tee
            .digester
            .take()
            .map(Digester::finish)
            .ok_or_else(|| StoreError::InvalidArchive("layer digest lost".into()))?;
        tee.copy.into_inner().map_err(|e| StoreError::Io {
            context: "writing layer tar",
            path: tar_path.clone(),
            source: e.into_error(),
        })?;
        if let Some(expected) = expected
            && expected != &diff_id
        {
            return Err(StoreError::DiffIdMismatch {
                index: 0,
                expected: expected.clone(),
                actual: diff_id,
            });
        }
        self.finish_staging(staging, parent, diff_id, tar_size)
    }

    /// Registers a layer whose uncompressed tar is already a file in this store's `tmp/`
    /// (commit writes one): the file is unpacked and then moved, not copied.
    pub fn register_layer_file(
        &self,
        parent: Option<&Digest>,
        tar_file: &Path,
    ) -> Result<LayerMeta> {
        let staging = self.staging()?;
        let diff = staging.path().join("diff");
        fs::create_dir(&diff).map_err(StoreError::io("creating layer directory", &diff))?;
        let file =
            fs::File::open(tar_file).map_err(StoreError::io("opening layer tar", tar_file))?;
        let mut reader = HashingTee {
            inner: io::BufReader::with_capacity(1 << 20, file),
            digester: Some(Digester::new(Algorithm::Sha256)),
            copy: io::sink(),
            bytes: 0,
        };
        unpack::unpack_layer(&mut reader, &diff)?;
        io::copy(&mut reader, &mut io::sink())
            .map_err(StoreError::io("reading layer", tar_file))?;
        let tar_size = reader.bytes;
        let diff_id = reader
            .digester
            .take()
            .map(Digester::finish)
            .ok_or_else(|| StoreError::InvalidArchive("layer digest lost".into()))?;
        let dest_tar = staging.path().join("layer.tar");
        fs::rename(tar_file, &dest_tar).map_err(StoreError::io("moving layer tar", tar_file))?;
        let staged = self.finish_staging(staging, parent, diff_id, tar_size)?;
        self.commit_layer(staged)
    }

    /// Registers a layer from an overlay-format tree that the caller staged in this store's
    /// `tmp/` together with the exact tar it made from that tree (`diff_id` and `tar_size` are
    /// the tar's): the tree is moved into the layer instead of being unpacked again from the
    /// tar, which saves writing every file a second time. Only for trees strata wrote itself
    /// (build's COPY staging), since the tar stays the layer's content of record.
    pub fn register_layer_tree(
        &self,
        parent: Option<&Digest>,
        tree: &Path,
        tar_file: &Path,
        diff_id: Digest,
        tar_size: u64,
    ) -> Result<LayerMeta> {
        if !tree.starts_with(self.tmp_dir()) || !tar_file.starts_with(self.tmp_dir()) {
            return Err(StoreError::InvalidArchive(format!(
                "{} is not staged in this store",
                tree.display()
            )));
        }
        let staging = self.staging()?;
        let diff = staging.path().join("diff");
        if fs::rename(tree, &diff).is_err() {
            drop(staging);
            return self.register_layer_file(parent, tar_file);
        }
        let dest_tar = staging.path().join("layer.tar");
        fs::rename(tar_file, &dest_tar).map_err(StoreError::io("moving layer tar", tar_file))?;
        let staged = self.finish_staging(staging, parent, diff_id, tar_size)?;
        self.commit_layer(staged)
    }

    /// Completes a staged layer (`diff/` and `layer.tar` in `staging`): measures it, writes
    /// `meta.json` and makes it all durable, so that committing is only a rename.
    fn finish_staging(
        &self,
        staging: tempfile::TempDir,
        parent: Option<&Digest>,
        diff_id: Digest,
        tar_size: u64,
    ) -> Result<StagedLayer> {
        let diff = staging.path().join("diff");
        let chain_id = layer::chain_id(parent, &diff_id);
        let size =
            layer::directory_size(&diff).map_err(StoreError::io("measuring layer", &diff))?;
        let meta = LayerMeta {
            diff_id,
            chain_id,
            parent: parent.cloned(),
            size,
            tar_size,
        };
        let meta_bytes =
            serde_json::to_vec(&meta).map_err(|e| StoreError::InvalidArchive(e.to_string()))?;
        fs::write(staging.path().join("meta.json"), meta_bytes)
            .map_err(StoreError::io("writing layer metadata", staging.path()))?;
        sync_filesystem(staging.path())?;
        Ok(StagedLayer { staging, meta })
    }

    /// Moves a staged layer into place under its chain ID. Its parent must already be
    /// registered; a layer that exists already (another process won the race) is kept as is.
    pub fn commit_layer(&self, staged: StagedLayer) -> Result<LayerMeta> {
        let StagedLayer { staging, meta } = staged;
        let chain_id = meta.chain_id.clone();
        if self.layer_exists(&chain_id) {
            return self.layer_meta(&chain_id);
        }
        if let Some(parent) = &meta.parent
            && !self.layer_exists(parent)
        {
            return Err(StoreError::InvalidArchive(format!(
                "layer {chain_id} committed before its parent {parent}"
            )));
        }
        let dest = self.layer_path(&chain_id);
        let staged = staging.keep();
        match atomic::rename_into_place(&staged, &dest) {
            Ok(()) => Ok(meta),
            // Another process registered the same layer first: theirs is identical.
            Err(_) if self.layer_exists(&chain_id) => {
                let _ = fs::remove_dir_all(&staged);
                self.layer_meta(&chain_id)
            }
            Err(e) => {
                let _ = fs::remove_dir_all(&staged);
                Err(StoreError::Io {
                    context: "committing layer",
                    path: dest,
                    source: e,
                })
            }
        }
    }
}

/// A layer unpacked, hashed and synced in staging; removed when dropped uncommitted.
#[derive(Debug)]
pub struct StagedLayer {
    staging: tempfile::TempDir,
    meta: LayerMeta,
}

impl StagedLayer {
    pub fn meta(&self) -> &LayerMeta {
        &self.meta
    }
}

/// One `syncfs` makes every file just unpacked durable, far cheaper than an fsync per file.
fn sync_filesystem(path: &Path) -> Result<()> {
    let dir = fs::File::open(path).map_err(StoreError::io("opening for sync", path))?;
    rustix::fs::syncfs(&dir).map_err(|e| StoreError::Io {
        context: "syncing filesystem",
        path: path.to_path_buf(),
        source: e.into(),
    })
}

/// Passes bytes through while hashing them and keeping a copy.
struct HashingTee<R, W> {
    inner: R,
    digester: Option<Digester>,
    copy: W,
    bytes: u64,
}

impl<R: Read, W: Write> Read for HashingTee<R, W> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(d) = self.digester.as_mut() {
            d.update(&buf[..n]);
        }
        self.copy.write_all(&buf[..n])?;
        self.bytes += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
