//! `create`: merging the image config and the flags into a container record, allocating its
//! ID, name, directory and volumes. Nothing runs yet.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;

use chrono::Utc;
use serde::Deserialize;

use crate::error::{IoContext, Result, RuntimeError};
use crate::record::{Bookkeeping, ContainerConfig, ContainerRecord, ContainerState, HostConfig};
use crate::spec::process::{CommandOverride, MergedCommand, container_env};
use crate::store::ContainerStore;
use crate::volumes::{MountRequest, VolumeStore, resolve_mounts};
use crate::{names, oci, storage};

/// The part of an image's config a container starts from (Docker's field names, so the
/// store's `config.config` JSON deserializes into it).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ImageRuntimeConfig {
    pub user: Option<String>,
    pub env: Option<Vec<String>>,
    pub cmd: Option<Vec<String>>,
    pub entrypoint: Option<Vec<String>>,
    pub working_dir: Option<String>,
    pub volumes: Option<BTreeMap<String, serde_json::Value>>,
    pub labels: Option<BTreeMap<String, String>>,
    pub stop_signal: Option<String>,
}

/// Everything `create`/`run` was told.
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    pub name: Option<String>,
    /// The image as the user named it (`Config.Image`).
    pub image_ref: String,
    /// The image ID, `sha256:…`.
    pub image_id: String,
    pub image_config: ImageRuntimeConfig,
    /// The image's layer directories, bottom first.
    pub layers: Vec<PathBuf>,
    pub command: CommandOverride,
    pub env: Vec<String>,
    pub workdir: Option<String>,
    pub user: Option<String>,
    pub hostname: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub tty: bool,
    pub stdin_open: bool,
    pub attach: bool,
    pub auto_remove: bool,
    pub stop_signal: Option<String>,
    pub stop_timeout: Option<i64>,
    pub mounts: Vec<MountRequest>,
    /// `host` or `none`.
    pub network: String,
    pub privileged: bool,
    pub read_only: bool,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub memory: i64,
    pub nano_cpus: i64,
    pub cpu_shares: i64,
    pub pids_limit: Option<i64>,
    /// Empty for the embedded runtime, else the path of a runc-compatible binary.
    pub runtime: Option<String>,
    pub init: bool,
    /// `overlay` (default) or `vfs`.
    pub storage_driver: Option<String>,
}

pub fn random_hex(bytes: usize) -> Result<String> {
    let mut buf = vec![0u8; bytes];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .at("/dev/urandom")?;
    Ok(hex::encode(buf))
}

fn random_u64() -> Result<u64> {
    let h = random_hex(8)?;
    u64::from_str_radix(&h, 16).map_err(|e| RuntimeError::Other(e.to_string()))
}

/// Creates the container: its record and directory. Errors leave nothing behind.
pub fn create(store: &ContainerStore, opts: CreateOptions) -> Result<ContainerRecord> {
    let image = &opts.image_config;
    let merged = MergedCommand::merge(
        image.entrypoint.as_deref().unwrap_or_default(),
        image.cmd.as_deref().unwrap_or_default(),
        &opts.command,
    );
    let argv = merged.argv()?;
    let network = if opts.network.is_empty() {
        "host".to_string()
    } else {
        opts.network.clone()
    };
    if network != "host" && network != "none" {
        return Err(RuntimeError::Other(format!(
            "network {network} not found: only \"host\" and \"none\" are supported until networking lands"
        )));
    }
    let id = random_hex(32)?;
    let _all = store.lock_all()?;
    let name = match &opts.name {
        Some(n) => {
            let n = n.trim_start_matches('/').to_string();
            if !names::is_valid(&n) {
                return Err(RuntimeError::InvalidName(n));
            }
            if let Some(other) = store.id_by_name(&n)? {
                return Err(RuntimeError::NameInUse { name: n, id: other });
            }
            n
        }
        None => {
            let mut retry = 0;
            loop {
                let candidate = names::generate(random_u64()?, retry);
                if store.id_by_name(&candidate)?.is_none() {
                    break candidate;
                }
                retry += 1;
            }
        }
    };
    let mut labels = image.labels.clone().unwrap_or_default();
    labels.extend(opts.labels.clone());
    let hostname = opts
        .hostname
        .clone()
        .unwrap_or_else(|| id[..12].to_string());
    let image_volumes: Vec<String> = image
        .volumes
        .as_ref()
        .map(|v| v.keys().cloned().collect())
        .unwrap_or_default();
    let volumes = VolumeStore::open(store.root())?;
    let (mounts, anonymous_volumes) =
        resolve_mounts(&volumes, &opts.mounts, &image_volumes, &mut || {
            random_hex(32).unwrap_or_default()
        })?;
    let binds: Vec<String> = opts
        .mounts
        .iter()
        .filter_map(|m| match m {
            MountRequest::Bind {
                source,
                target,
                read_only,
            } => Some(format!(
                "{source}:{target}{}",
                if *read_only { ":ro" } else { "" }
            )),
            MountRequest::Volume {
                name: Some(n),
                target,
                read_only,
            } => Some(format!(
                "{n}:{target}{}",
                if *read_only { ":ro" } else { "" }
            )),
            _ => None,
        })
        .collect();
    let record = ContainerRecord {
        id: id.clone(),
        created: Utc::now(),
        path: argv[0].clone(),
        args: argv[1..].to_vec(),
        state: ContainerState::default(),
        image: opts.image_id.clone(),
        name: format!("/{name}"),
        restart_count: 0,
        driver: if opts.storage_driver.as_deref() == Some(storage::VFS) {
            "vfs".into()
        } else {
            "overlay2".into()
        },
        config: ContainerConfig {
            hostname,
            domainname: String::new(),
            user: opts
                .user
                .clone()
                .or_else(|| image.user.clone())
                .unwrap_or_default(),
            attach_stdin: opts.attach && opts.stdin_open,
            attach_stdout: opts.attach,
            attach_stderr: opts.attach,
            tty: opts.tty,
            open_stdin: opts.stdin_open,
            stdin_once: opts.stdin_open && opts.attach,
            env: container_env(image.env.as_deref().unwrap_or_default(), &opts.env),
            cmd: merged.cmd.clone(),
            image: opts.image_ref.clone(),
            volumes: image.volumes.clone(),
            working_dir: opts
                .workdir
                .clone()
                .or_else(|| image.working_dir.clone())
                .unwrap_or_default(),
            entrypoint: (!merged.entrypoint.is_empty()).then(|| merged.entrypoint.clone()),
            labels,
            stop_signal: opts
                .stop_signal
                .clone()
                .or_else(|| image.stop_signal.clone()),
            stop_timeout: opts.stop_timeout,
        },
        host_config: HostConfig {
            binds: (!binds.is_empty()).then_some(binds),
            network_mode: network,
            auto_remove: opts.auto_remove,
            privileged: opts.privileged,
            readonly_rootfs: opts.read_only,
            cap_add: (!opts.cap_add.is_empty()).then(|| opts.cap_add.clone()),
            cap_drop: (!opts.cap_drop.is_empty()).then(|| opts.cap_drop.clone()),
            memory: opts.memory,
            nano_cpus: opts.nano_cpus,
            cpu_shares: opts.cpu_shares,
            pids_limit: opts.pids_limit,
            runtime: opts
                .runtime
                .clone()
                .unwrap_or_else(|| oci::EMBEDDED.to_string()),
            init: opts.init.then_some(true),
        },
        mounts,
        strata: Bookkeeping {
            storage: opts
                .storage_driver
                .clone()
                .unwrap_or_else(|| storage::OVERLAY.to_string()),
            layers: opts.layers.clone(),
            anonymous_volumes,
            stdin_open: opts.stdin_open,
            ..Bookkeeping::default()
        },
    };
    let dir = store.container_dir(&id);
    std::fs::create_dir_all(&dir).at(&dir)?;
    if let Err(e) = store.save(&record) {
        let _ = std::fs::remove_dir_all(&dir);
        return Err(e);
    }
    Ok(record)
}
