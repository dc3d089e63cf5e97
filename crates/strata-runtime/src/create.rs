//! `create`: merging the image config and the flags into a container record, allocating its
//! ID, name, directory and volumes. Nothing runs yet.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;

use chrono::Utc;
use serde::Deserialize;

use crate::error::{IoContext, Result, RuntimeError};
use crate::network::{self, NetworkRequest};
use crate::record::{
    Bookkeeping, ContainerConfig, ContainerRecord, ContainerState, HostBinding, HostConfig,
    NetworkSettings, RestartPolicy,
};
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
    pub exposed_ports: Option<BTreeMap<String, serde_json::Value>>,
}

/// The streams `run -a` names.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AttachStreams {
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
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
    /// Not detached: the caller attaches to the container's streams.
    pub attach: bool,
    /// `-a`: only the streams named; None is Docker's default (stdout and stderr, and stdin
    /// with `-i`).
    pub attach_streams: Option<AttachStreams>,
    pub auto_remove: bool,
    pub stop_signal: Option<String>,
    pub stop_timeout: Option<i64>,
    pub mounts: Vec<MountRequest>,
    /// `--network`: `bridge` (the default when empty), `host`, `none`, `container:NAME` or a
    /// user network.
    pub network: String,
    /// `--ip` and `--network-alias` on that network.
    pub ip: Option<String>,
    pub network_aliases: Vec<String>,
    /// `-p`, as Docker's `PortBindings`.
    pub port_bindings: BTreeMap<String, Vec<HostBinding>>,
    /// `-P`.
    pub publish_all: bool,
    /// `--expose`, `port[/proto]`.
    pub expose: Vec<String>,
    pub dns: Vec<String>,
    pub dns_search: Vec<String>,
    pub dns_options: Vec<String>,
    pub extra_hosts: Vec<String>,
    pub restart_policy: RestartPolicy,
    /// `--userns`: `auto` for a user namespace of its own, else the host's.
    pub userns: String,
    pub privileged: bool,
    pub read_only: bool,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    /// `--security-opt`; a seccomp profile already read: `seccomp=<JSON>`.
    pub security_opt: Vec<String>,
    pub memory: i64,
    /// `--memory-swap`: 0 when not given, -1 unlimited.
    pub memory_swap: i64,
    pub memory_reservation: i64,
    pub nano_cpus: i64,
    pub cpu_shares: i64,
    pub pids_limit: Option<i64>,
    /// Empty for the embedded runtime, else the path of a runc-compatible binary.
    pub runtime: Option<String>,
    pub init: bool,
    /// `overlay` (default) or `vfs`.
    pub storage_driver: Option<String>,
}

/// Docker's `Config.Attach*`: nothing when detached, else the `-a` streams (`-i` adds
/// stdin), else stdout and stderr.
fn attached_streams(opts: &CreateOptions) -> AttachStreams {
    if !opts.attach {
        return AttachStreams::default();
    }
    let named = opts.attach_streams.unwrap_or(AttachStreams {
        stdin: false,
        stdout: true,
        stderr: true,
    });
    AttachStreams {
        stdin: named.stdin || opts.stdin_open,
        ..named
    }
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
    let attach = attached_streams(&opts);
    crate::spec::seccomp::from_security_opts(&opts.security_opt)?;
    let limits = crate::memory::resolve(
        opts.memory,
        opts.memory_swap,
        opts.memory_reservation,
        crate::memory::swap_limit_supported(),
    )?;
    let merged = MergedCommand::merge(
        image.entrypoint.as_deref().unwrap_or_default(),
        image.cmd.as_deref().unwrap_or_default(),
        &opts.command,
    );
    let argv = merged.argv()?;
    if opts.userns == "auto" {
        if opts.privileged {
            return Err(RuntimeError::Other(
                "privileged mode is incompatible with user namespaces. You must run the container in the host namespace when running privileged mode".into(),
            ));
        }
        if opts.network.starts_with("container:") {
            return Err(RuntimeError::Other(
                "--userns=auto cannot join another container's network namespace".into(),
            ));
        }
    }
    if opts.auto_remove && opts.restart_policy.name != "no" {
        return Err(RuntimeError::Other(
            "Conflicting options: --restart and --rm".into(),
        ));
    }
    let (network, networks) = network::settings_for_create(
        store,
        &NetworkRequest {
            mode: opts.network.clone(),
            ip: opts.ip.clone(),
            aliases: opts.network_aliases.clone(),
        },
    )?;
    if !opts.port_bindings.is_empty()
        && matches!(
            network::Mode::of(&network),
            network::Mode::Host | network::Mode::None
        )
    {
        // Docker ignores -p with host networking (with a warning) and refuses nothing; the
        // ports are simply the host's.
        tracing::warn!("published ports are discarded when using host or none network mode");
    }
    let mut exposed = image.exposed_ports.clone().unwrap_or_default();
    for port in opts.expose.iter().chain(opts.port_bindings.keys()) {
        let key = if port.contains('/') {
            port.clone()
        } else {
            format!("{port}/tcp")
        };
        exposed.insert(key, serde_json::json!({}));
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
            attach_stdin: attach.stdin,
            attach_stdout: attach.stdout,
            attach_stderr: attach.stderr,
            tty: opts.tty,
            open_stdin: opts.stdin_open,
            stdin_once: opts.stdin_open && attach.stdin,
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
            exposed_ports: (!exposed.is_empty()).then_some(exposed),
        },
        host_config: HostConfig {
            binds: (!binds.is_empty()).then_some(binds),
            network_mode: network,
            auto_remove: opts.auto_remove,
            privileged: opts.privileged,
            readonly_rootfs: opts.read_only,
            cap_add: (!opts.cap_add.is_empty()).then(|| opts.cap_add.clone()),
            cap_drop: (!opts.cap_drop.is_empty()).then(|| opts.cap_drop.clone()),
            security_opt: (!opts.security_opt.is_empty()).then(|| opts.security_opt.clone()),
            memory: limits.memory,
            memory_swap: limits.swap,
            memory_reservation: limits.reservation,
            nano_cpus: opts.nano_cpus,
            cpu_shares: opts.cpu_shares,
            pids_limit: opts.pids_limit,
            runtime: opts
                .runtime
                .clone()
                .unwrap_or_else(|| oci::EMBEDDED.to_string()),
            init: opts.init.then_some(true),
            port_bindings: opts.port_bindings.clone(),
            publish_all_ports: opts.publish_all,
            dns: opts.dns.clone(),
            dns_search: opts.dns_search.clone(),
            dns_options: opts.dns_options.clone(),
            extra_hosts: (!opts.extra_hosts.is_empty()).then(|| opts.extra_hosts.clone()),
            restart_policy: opts.restart_policy.clone(),
            userns_mode: opts.userns.clone(),
        },
        mounts,
        network_settings: NetworkSettings {
            networks,
            ..NetworkSettings::default()
        },
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
