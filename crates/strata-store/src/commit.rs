//! `commit`: a container's changes (its overlay upper directory) become a new layer on top of
//! its image, with a config that keeps the parent's plus the `--change`s, and a history entry.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use strata_reference::{Algorithm, Digest, Digester, Reference};

use crate::changes::apply_changes;
use crate::config::{ContainerConfig, History, go_rfc3339_nano};
use crate::error::{Result, StoreError};
use crate::layer;
use crate::store::Store;

/// sha256 of an empty tar (two zero blocks): Docker's "empty layer".
pub const EMPTY_LAYER_DIFF_ID: &str =
    "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef";

#[derive(Debug, Clone, Default)]
pub struct CommitOptions {
    pub author: String,
    pub message: String,
    /// `-c/--change` instructions, applied on top of the container's config.
    pub changes: Vec<String>,
    pub reference: Option<Reference>,
    pub container_id: String,
    /// The container's effective config (image config plus its run flags).
    pub container_config: ContainerConfig,
}

/// Where a container's changes are read from.
pub enum ChangeSource<'a> {
    /// The overlay driver's upper directory, the runtime's bind-mount destinations whose
    /// empty placeholders are not changes, and for a container in its own user namespace the
    /// host ids to shift its files' owners back from.
    OverlayUpper(&'a Path, &'a [&'a str], Option<layer::pack::IdShift>),
    /// The vfs driver: the container's full root and its changes against the image.
    Tree {
        root: &'a Path,
        changes: &'a [layer::changes::Change],
    },
}

impl ChangeSource<'_> {
    fn path(&self) -> &Path {
        match self {
            ChangeSource::OverlayUpper(p, _, _) => p,
            ChangeSource::Tree { root, .. } => root,
        }
    }
}

/// Hashes (sha256: a diff ID) and counts what passes through to the inner writer; commit and
/// the builder write layer tars through it.
pub struct HashingWriter<W> {
    pub inner: W,
    pub digester: Digester,
    pub bytes: u64,
}

impl<W> HashingWriter<W> {
    pub fn new(inner: W) -> HashingWriter<W> {
        HashingWriter {
            inner,
            digester: Digester::new(strata_reference::Algorithm::Sha256),
            bytes: 0,
        }
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.digester.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl Store {
    /// Writes a container's changes as a layer tar in staging; returns its path and diff ID.
    fn stage_layer_tar(
        &self,
        source: &ChangeSource<'_>,
        staging: &Path,
    ) -> Result<(PathBuf, Digest)> {
        let tar_path = staging.join("changes.tar");
        let file =
            fs::File::create(&tar_path).map_err(StoreError::io("creating layer tar", &tar_path))?;
        let writer = HashingWriter {
            inner: io::BufWriter::with_capacity(1 << 20, file),
            digester: Digester::new(Algorithm::Sha256),
            bytes: 0,
        };
        let writer = match source {
            ChangeSource::OverlayUpper(upper, mount_points, shift) => {
                layer::pack::tar_upper_dir_shifted(upper, mount_points, *shift, writer)
            }
            ChangeSource::Tree { root, changes } => layer::pack::tar_changes(root, changes, writer),
        }
        .map_err(StoreError::io(
            "reading the container's changes",
            source.path(),
        ))?;
        let HashingWriter {
            inner, digester, ..
        } = writer;
        let file = inner.into_inner().map_err(|e| StoreError::Io {
            context: "writing layer tar",
            path: tar_path.clone(),
            source: e.into_error(),
        })?;
        file.sync_all()
            .map_err(StoreError::io("syncing layer tar", &tar_path))?;
        Ok((tar_path, digester.finish()))
    }

    /// Commits a container's changes on top of image `parent`. Returns the new image ID.
    pub fn commit(
        &self,
        parent: &Digest,
        source: &ChangeSource<'_>,
        opts: &CommitOptions,
    ) -> Result<Digest> {
        let mut new_config = opts.container_config.clone();
        apply_changes(&mut new_config, &opts.changes)?;
        let base = self.image(parent)?;
        let _lock = self.lock()?;
        let staging = self.staging()?;
        let (tar_path, diff_id) = self.stage_layer_tar(source, staging.path())?;
        let empty = diff_id.to_string() == EMPTY_LAYER_DIFF_ID;
        let mut config = base.config.clone();
        if !empty {
            let parent_chain = base.chain_ids().last().cloned();
            self.register_layer_file(parent_chain.as_ref(), &tar_path)?;
            config.rootfs.diff_ids.push(diff_id);
        }
        let created = go_rfc3339_nano(chrono::Utc::now());
        config.history.push(History {
            created: Some(created.clone()),
            author: opts.author.clone(),
            created_by: opts
                .container_config
                .cmd
                .clone()
                .unwrap_or_default()
                .join(" "),
            comment: opts.message.clone(),
            empty_layer: empty,
        });
        config.created = Some(created);
        config.author = opts.author.clone();
        config.comment = opts.message.clone();
        config.container = opts.container_id.clone();
        config.container_config = Some(opts.container_config.clone());
        config.config = Some(new_config);
        let raw =
            serde_json::to_vec(&config).map_err(|e| StoreError::InvalidArchive(e.to_string()))?;
        let id = self.create_image(&raw, Some(parent.clone()))?;
        if let Some(r) = &opts.reference {
            let mut repos = self.read_repositories()?;
            repos.insert(r, &id);
            self.write_repositories(&repos)?;
            self.touch_tag_time(&id)?;
        }
        Ok(id)
    }
}
