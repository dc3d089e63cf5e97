//! `diff`, `commit` and `export`: a container's changes as Docker shows them, frozen into a
//! new image layer, or its whole root filesystem as one tar.

use std::collections::BTreeMap;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use strata_reference::{Digest, Reference};
use strata_runtime::storage::{self, RootfsDirs};
use strata_runtime::{ContainerRecord, ContainerStore};
use strata_store::config::{ContainerConfig, Empty};
use strata_store::layer::changes::{self, Change};
use strata_store::{ChangeSource, CommitOptions, Store};

use crate::cli::GlobalOpts;
use crate::commands::{CliError, image};

#[derive(Args, Debug)]
pub struct DiffArgs {
    pub container: String,
}

#[derive(Args, Debug)]
pub struct CommitArgs {
    /// Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")
    #[arg(short, long, default_value = "")]
    pub author: String,
    /// Apply Dockerfile instruction to the created image
    #[arg(short, long = "change")]
    pub change: Vec<String>,
    /// Commit message
    #[arg(short, long, default_value = "")]
    pub message: String,
    /// Pause container during commit
    #[arg(short, long, default_value_t = true, num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub pause: bool,
    pub container: String,
    /// REPOSITORY[:TAG]
    pub reference: Option<String>,
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Write to a file, instead of STDOUT
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    pub container: String,
}

/// A container with everything these commands need to read its changes.
struct Target {
    record: ContainerRecord,
    image_id: Digest,
    dirs: RootfsDirs,
    lowers: Vec<PathBuf>,
}

fn target(global: &GlobalOpts, store: &Store, name: &str) -> Result<Target, CliError> {
    let containers = ContainerStore::open(&global.root).map_err(CliError::new)?;
    let id = containers.resolve(name).map_err(CliError::new)?;
    let record =
        strata_runtime::lifecycle::load_checked(&containers, &id).map_err(CliError::new)?;
    let image_id = Digest::parse(&record.image).map_err(|e| {
        CliError::new(format!(
            "container {id} names an invalid image {}: {e}",
            record.image
        ))
    })?;
    let lowers = store.layer_dirs(&image_id).map_err(CliError::new)?;
    let dirs = RootfsDirs::new(&containers.container_dir(&id));
    Ok(Target {
        record,
        image_id,
        dirs,
        lowers,
    })
}

impl Target {
    fn is_vfs(&self) -> bool {
        self.record.driver == storage::VFS
    }

    /// The image's root filesystem rebuilt in staging, for comparing a vfs container with it.
    fn image_tree(&self, store: &Store) -> Result<tempfile::TempDir, CliError> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("{}-image-", std::process::id()))
            .tempdir_in(store.root().join("tmp"))
            .map_err(CliError::new)?;
        for layer in &self.lowers {
            storage::apply_layer(layer, dir.path()).map_err(CliError::new)?;
        }
        Ok(dir)
    }

    fn changes(&self, store: &Store) -> Result<Vec<Change>, CliError> {
        if self.is_vfs() {
            let image = self.image_tree(store)?;
            {
                let mut runtime_files = storage::MOUNT_POINT_FILES.to_vec();
                runtime_files.push(storage::VFS_MARKER);
                changes::tree_changes(&self.dirs.merged, image.path(), &runtime_files)
            }
            .map_err(CliError::new)
        } else {
            changes::overlay_changes(&self.dirs.upper, &self.lowers, storage::MOUNT_POINT_FILES)
                .map_err(CliError::new)
        }
    }
}

pub fn diff(global: &GlobalOpts, args: DiffArgs) -> Result<ExitCode, CliError> {
    let store = image::open_store(global)?;
    let t = target(global, &store, &args.container)?;
    let out = io::stdout();
    let mut out = BufWriter::new(out.lock());
    for c in t.changes(&store)? {
        writeln!(out, "{} {}", c.kind.letter(), c.path)?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// The container's config in the image config's terms.
fn image_side_config(r: &ContainerRecord) -> ContainerConfig {
    let c = &r.config;
    ContainerConfig {
        hostname: c.hostname.clone(),
        domainname: c.domainname.clone(),
        user: c.user.clone(),
        attach_stdin: c.attach_stdin,
        attach_stdout: c.attach_stdout,
        attach_stderr: c.attach_stderr,
        tty: c.tty,
        open_stdin: c.open_stdin,
        stdin_once: c.stdin_once,
        env: Some(c.env.clone()),
        cmd: Some(c.cmd.clone()),
        image: c.image.clone(),
        volumes: c.volumes.as_ref().map(|v| {
            v.keys()
                .map(|k| (k.clone(), Empty {}))
                .collect::<BTreeMap<_, _>>()
        }),
        working_dir: c.working_dir.clone(),
        entrypoint: c.entrypoint.clone(),
        labels: Some(c.labels.clone()),
        stop_signal: c.stop_signal.clone().unwrap_or_default(),
        ..ContainerConfig::default()
    }
}

/// Thaws the container again however commit ends.
struct Frozen<'a>(Option<&'a str>);
impl Drop for Frozen<'_> {
    fn drop(&mut self) {
        if let Some(id) = self.0 {
            if let Err(e) = strata_runtime::cgroups::set_frozen(id, false) {
                tracing::warn!("could not unpause container {id}: {e}");
            }
        }
    }
}

pub fn commit(global: &GlobalOpts, args: CommitArgs) -> Result<ExitCode, CliError> {
    let reference = args
        .reference
        .as_deref()
        .map(|r| Reference::parse_normalized(r).map(Reference::with_default_tag))
        .transpose()
        .map_err(CliError::new)?;
    let store = image::open_store(global)?;
    let t = target(global, &store, &args.container)?;
    let id = t.record.id.clone();
    let _thaw = if args.pause && t.record.state.running && !t.record.state.paused {
        strata_runtime::cgroups::set_frozen(&id, true)
            .map_err(|e| CliError::new(format!("pausing container {id}: {e}")))?;
        Frozen(Some(id.as_str()))
    } else {
        Frozen(None)
    };
    let opts = CommitOptions {
        author: args.author,
        message: args.message,
        changes: args.change,
        reference,
        container_id: id.clone(),
        container_config: image_side_config(&t.record),
    };
    let new_id = if t.is_vfs() {
        let changes = t.changes(&store)?;
        store.commit(
            &t.image_id,
            &ChangeSource::Tree {
                root: &t.dirs.merged,
                changes: &changes,
            },
            &opts,
        )
    } else {
        store.commit(
            &t.image_id,
            &ChangeSource::OverlayUpper(
                &t.dirs.upper,
                storage::MOUNT_POINT_FILES,
                id_shift(&t.record),
            ),
            &opts,
        )
    }
    .map_err(CliError::new)?;
    println!("{new_id}");
    Ok(ExitCode::SUCCESS)
}

/// A `--userns=auto` container's files carry host ids on disk: layer tars get its own ids.
fn id_shift(
    record: &strata_runtime::ContainerRecord,
) -> Option<strata_store::layer::pack::IdShift> {
    (record.host_config.userns_mode == "auto").then(|| {
        let r = strata_runtime::userns::IdRange::for_host();
        strata_store::layer::pack::IdShift {
            uid: r.uid,
            gid: r.gid,
            size: r.size,
        }
    })
}

pub fn export(global: &GlobalOpts, args: ExportArgs) -> Result<ExitCode, CliError> {
    let store = image::open_store(global)?;
    let t = target(global, &store, &args.container)?;
    // Top layer first: the container's own changes, then the image's layers from the top down.
    let layers: Vec<PathBuf> = if t.is_vfs() {
        vec![t.dirs.merged.clone()]
    } else {
        std::iter::once(t.dirs.upper.clone())
            .chain(t.lowers.iter().rev().cloned())
            .collect()
    };
    crate::output::write_archive(args.output.as_deref(), |out| {
        strata_store::layer::pack::tar_merged_shifted(&layers, id_shift(&t.record), out)
            .map(|_| ())
            .map_err(|e| CliError::new(format!("exporting: {e}")))
    })?;
    Ok(ExitCode::SUCCESS)
}
