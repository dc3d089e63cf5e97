//! Writing build steps as images: a config-only step or a layer staged in an overlay-style
//! directory, on top of the previous step's image, with the history entry Docker's classic
//! builder writes. Also a read-only view of an image's root filesystem (for `--chown` names,
//! `COPY --from` and WORKDIR checks).

use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use strata_reference::Digest;
use strata_store::config::{
    ContainerConfig, History, ImageConfig, RootFs, go_rfc3339_nano, host_architecture,
};
use strata_store::{EMPTY_LAYER_DIFF_ID, HashingWriter, Image, Store};

use crate::error::{BuildError, Result};

/// A staging directory in the store's `tmp/` (removed with the process if it dies).
pub fn staging_dir(store: &Store, what: &str) -> Result<tempfile::TempDir> {
    let parent = store.root().join("tmp");
    fs::create_dir_all(&parent).map_err(BuildError::io("creating", &parent))?;
    tempfile::Builder::new()
        .prefix(&format!("{}-{what}-", std::process::id()))
        .tempdir_in(&parent)
        .map_err(BuildError::io("creating staging directory in", parent))
}

/// The config a `FROM scratch` stage starts from.
pub fn scratch_config() -> ImageConfig {
    ImageConfig {
        architecture: host_architecture().to_string(),
        os: "linux".to_string(),
        rootfs: RootFs::default(),
        ..ImageConfig::default()
    }
}

/// What a step commits.
pub struct StepCommit<'a> {
    /// The previous image (`None`: scratch, nothing yet).
    pub parent: Option<&'a Image>,
    /// The image's `config`.
    pub config: &'a ContainerConfig,
    /// The image's `container_config` (its Cmd is the history text).
    pub container_config: &'a ContainerConfig,
    /// An overlay-format directory of changes, or `None` for a config-only step.
    pub changes: Option<&'a dyn ChangeDir>,
    pub author: &'a str,
    /// Go RFC 3339 creation time.
    pub created: &'a str,
}

/// Tars an overlay-format directory into the store and registers it on `parent_chain`.
/// Returns the diff ID, or `None` when there were no changes (Docker's empty layer).
pub fn register_changes(
    store: &Store,
    parent_chain: Option<&Digest>,
    changes: &Path,
    mount_points: &[&str],
) -> Result<Option<Digest>> {
    let staging = staging_dir(store, "layer")?;
    let tar_path = staging.path().join("layer.tar");
    let file = fs::File::create(&tar_path).map_err(BuildError::io("creating", &tar_path))?;
    let writer = HashingWriter::new(io::BufWriter::with_capacity(1 << 20, file));
    let writer = strata_store::layer::pack::tar_upper_dir(changes, mount_points, writer)
        .map_err(BuildError::io("writing layer from", changes))?;
    let HashingWriter {
        inner,
        digester,
        bytes,
    } = writer;
    inner.into_inner().map_err(|e| BuildError::Io {
        context: "writing",
        path: tar_path.clone(),
        source: e.into_error(),
    })?;
    let diff_id = digester.finish();
    if diff_id.to_string() == EMPTY_LAYER_DIFF_ID {
        return Ok(None);
    }
    // A tree staged by COPY is moved into the layer; a container's upper dir (which holds
    // overlayfs's own xattrs and the runtime's mount points) is unpacked from the tar.
    let meta = if mount_points.is_empty() && changes.starts_with(store.root().join("tmp")) {
        store.register_layer_tree(parent_chain, changes, &tar_path, diff_id, bytes)?
    } else {
        store.register_layer_file(parent_chain, &tar_path)?
    };
    Ok(Some(meta.diff_id))
}

/// Creates the image of one step and returns its ID.
pub fn commit_step(store: &Store, step: &StepCommit<'_>) -> Result<Digest> {
    let mut config = match step.parent {
        Some(p) => p.config.clone(),
        None => scratch_config(),
    };
    let mut empty = true;
    if let Some(dir) = step.changes {
        let parent_chain = step.parent.and_then(|p| p.chain_ids().last().cloned());
        if let Some(diff_id) =
            register_changes(store, parent_chain.as_ref(), dir.dir(), dir.mount_points())?
        {
            config.rootfs.diff_ids.push(diff_id);
            empty = false;
        }
    }
    config.history.push(History {
        created: Some(step.created.to_string()),
        author: step.author.to_string(),
        created_by: step
            .container_config
            .cmd
            .clone()
            .unwrap_or_default()
            .join(" "),
        comment: String::new(),
        empty_layer: empty,
    });
    config.created = Some(step.created.to_string());
    config.author = step.author.to_string();
    config.comment = String::new();
    config.container = String::new();
    config.docker_version = String::new();
    config.container_config = Some(step.container_config.clone());
    config.config = Some(step.config.clone());
    let raw = serde_json::to_vec(&config)
        .map_err(|e| BuildError::Other(format!("encoding image config: {e}")))?;
    Ok(store.create_image(&raw, step.parent.map(|p| p.id.clone()))?)
}

/// The creation time of every step: `SOURCE_DATE_EPOCH` when given, else now.
pub fn created_time(source_date_epoch: Option<i64>) -> String {
    let t = source_date_epoch
        .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
        .unwrap_or_else(chrono::Utc::now);
    go_rfc3339_nano(t)
}

/// Sets every mtime later than `epoch` in `dir` to `epoch` (reproducible layers).
pub fn clamp_mtimes(dir: &Path, epoch: i64) -> io::Result<()> {
    let ts = rustix::fs::Timestamps {
        last_access: rustix::fs::Timespec {
            tv_sec: epoch,
            tv_nsec: 0,
        },
        last_modification: rustix::fs::Timespec {
            tv_sec: epoch,
            tv_nsec: 0,
        },
    };
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d)? {
            let entry = entry?;
            let meta = entry.metadata()?;
            if meta.is_dir() {
                stack.push(entry.path());
            }
            if meta.mtime() > epoch {
                rustix::fs::utimensat(
                    rustix::fs::CWD,
                    entry.path(),
                    &ts,
                    rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
                )?;
            }
        }
    }
    let meta = fs::metadata(dir)?;
    if meta.mtime() > epoch {
        rustix::fs::utimensat(rustix::fs::CWD, dir, &ts, rustix::fs::AtFlags::empty())?;
    }
    Ok(())
}

/// A read-only view of an image's root filesystem: the layer itself for one layer, an
/// overlay of the layers otherwise, unmounted when dropped.
pub struct ImageRoot {
    path: PathBuf,
    mounted: bool,
    _dir: Option<tempfile::TempDir>,
}

impl ImageRoot {
    pub fn open(store: &Store, image: Option<&Image>) -> Result<ImageRoot> {
        let layers = match image {
            Some(img) => store.layer_dirs(&img.id)?,
            None => Vec::new(),
        };
        match layers.len() {
            0 => {
                let dir = staging_dir(store, "emptyroot")?;
                Ok(ImageRoot {
                    path: dir.path().to_path_buf(),
                    mounted: false,
                    _dir: Some(dir),
                })
            }
            1 => Ok(ImageRoot {
                path: layers[0].clone(),
                mounted: false,
                _dir: None,
            }),
            _ => {
                let dir = staging_dir(store, "root")?;
                let lower: Vec<String> = layers
                    .iter()
                    .rev()
                    .map(|p| p.display().to_string())
                    .collect();
                let data = std::ffi::CString::new(format!("lowerdir={}", lower.join(":")))
                    .map_err(|_| BuildError::Other("layer path contains a NUL byte".into()))?;
                rustix::mount::mount(
                    "overlay",
                    dir.path(),
                    "overlay",
                    rustix::mount::MountFlags::RDONLY,
                    Some(data.as_c_str()),
                )
                .map_err(|e| {
                    BuildError::Other(format!(
                        "mounting the image's layers on {}: {e}",
                        dir.path().display()
                    ))
                })?;
                Ok(ImageRoot {
                    path: dir.path().to_path_buf(),
                    mounted: true,
                    _dir: Some(dir),
                })
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `path` inside the root, not following a final symlink out of it.
    pub fn join(&self, abs: &str) -> PathBuf {
        self.path.join(abs.trim_start_matches('/'))
    }
}

impl Drop for ImageRoot {
    fn drop(&mut self) {
        if self.mounted {
            let _ = rustix::mount::unmount(&self.path, rustix::mount::UnmountFlags::DETACH);
        }
    }
}

/// A directory of changes in overlay format, kept until the step is committed.
pub trait ChangeDir {
    fn dir(&self) -> &Path;
    /// Paths (`/etc/hosts`) whose empty placeholder files the runtime made: not changes.
    fn mount_points(&self) -> &[&str] {
        &[]
    }
}

impl ChangeDir for tempfile::TempDir {
    fn dir(&self) -> &Path {
        self.path()
    }
}
