//! Preparing a container to start: its root filesystem mounted, the /etc files it gets bound,
//! volumes populated, and `bundle/config.json` written.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{IoContext, Result};
use crate::record::ContainerRecord;
use crate::spec::{self, BundleInputs, process, user};
use crate::storage::{self, RootfsDirs};

/// Where `--init` puts the init binary in the container, as Docker does.
pub const INIT_PATH: &str = "/sbin/docker-init";

/// The static init binary for `--init`: `$STRATA_INIT_PATH`, else tini's static build.
fn init_binary() -> Result<PathBuf> {
    let candidates = std::env::var_os("STRATA_INIT_PATH")
        .map(PathBuf::from)
        .into_iter()
        .chain(
            [
                "/usr/bin/tini-static",
                "/usr/sbin/docker-init",
                "/usr/libexec/docker/docker-init",
            ]
            .map(PathBuf::from),
        );
    for c in candidates {
        if c.is_file() {
            return Ok(c);
        }
    }
    Err(crate::error::RuntimeError::Other(
        "--init needs a static init binary: install tini (apt-get install tini) or set STRATA_INIT_PATH".into(),
    ))
}

/// A fresh volume mounted over image content gets a copy of it, as Docker does.
fn copy_up_volumes(rootfs: &Path, record: &ContainerRecord) -> Result<()> {
    for m in record.mounts.iter().filter(|m| m.kind == "volume") {
        let data = Path::new(&m.source);
        let empty = fs::read_dir(data)
            .map(|mut d| d.next().is_none())
            .unwrap_or(false);
        let image_dir = rootfs.join(m.destination.trim_start_matches('/'));
        if empty && image_dir.is_dir() {
            storage::apply_layer(&image_dir, data)?;
        }
    }
    Ok(())
}

/// Mounts the rootfs and writes the bundle; returns the bundle directory. Updates the record's
/// storage bookkeeping (the caller saves it).
pub fn prepare(root: &Path, container_dir: &Path, record: &mut ContainerRecord) -> Result<PathBuf> {
    let dirs = RootfsDirs::new(container_dir);
    let driver = if record.host_config.userns_mode == "auto" {
        let userns = crate::userns::path_for(&record.id);
        let range = crate::userns::IdRange::for_host();
        storage::prepare_idmapped(
            &record.strata.layers,
            &dirs,
            &userns,
            (range.uid, range.gid),
        )?
    } else {
        storage::prepare(&record.strata.layers, &dirs, &record.strata.storage)?
    };
    record.strata.storage = driver.to_string();
    record.strata.mounted = true;
    record.driver = if driver == storage::OVERLAY {
        "overlay2".into()
    } else {
        "vfs".into()
    };
    let result = write_bundle(root, container_dir, &dirs.merged, record);
    if result.is_err() {
        let _ = storage::release(&dirs, driver);
        record.strata.mounted = false;
    }
    result
}

fn write_bundle(
    root: &Path,
    container_dir: &Path,
    rootfs: &Path,
    record: &ContainerRecord,
) -> Result<PathBuf> {
    crate::network::write_etc_files(root, container_dir, record)?;
    copy_up_volumes(rootfs, record)?;
    let exec_user = user::resolve_user_in(rootfs, &record.config.user)?;
    let workdir = record.config.working_dir.trim_start_matches('/');
    if !workdir.is_empty() {
        let path = rootfs.join(workdir);
        if !path.exists() {
            fs::create_dir_all(&path).at(&path)?;
        }
    }
    let mut argv = vec![record.path.clone()];
    argv.extend(record.args.iter().cloned());
    let mut binds: Vec<(String, String, bool)> = record
        .mounts
        .iter()
        .map(|m| (m.source.clone(), m.destination.clone(), !m.rw))
        .collect();
    if record.host_config.init == Some(true) {
        // Docker's --init: a static tini bound at /sbin/docker-init runs the command as its child.
        let init = init_binary()?;
        binds.push((
            init.to_string_lossy().into_owned(),
            INIT_PATH.to_string(),
            true,
        ));
        let mut with_init = vec![INIT_PATH.to_string(), "--".to_string()];
        with_init.extend(argv);
        argv = with_init;
    }
    let env = process::process_env(
        &record.config.env,
        &record.config.hostname,
        record.config.tty,
        &exec_user.home,
    );
    let inputs = BundleInputs {
        rootfs,
        container_dir,
        user: &exec_user,
        argv: &argv,
        env: &env,
        binds: &binds,
    };
    let config = spec::build_spec(record, &inputs)?;
    let bundle = container_dir.join("bundle");
    fs::create_dir_all(&bundle).at(&bundle)?;
    let path = bundle.join("config.json");
    let bytes = serde_json::to_vec_pretty(&config)
        .map_err(|e| crate::error::RuntimeError::Other(format!("encode config.json: {e}")))?;
    fs::write(&path, bytes).at(&path)?;
    Ok(bundle)
}
