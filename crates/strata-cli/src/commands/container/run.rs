//! `run` and `create`: the image from the store, the flags merged into a container record, and
//! for `run` the start and attach.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{ArgAction, Args};
use strata_runtime::create::{AttachStreams, CreateOptions, ImageRuntimeConfig};
use strata_runtime::lifecycle;
use strata_runtime::network::ports;
use strata_runtime::record::RestartPolicy;
use strata_runtime::spec::process::{CommandOverride, parse_env_file};
use strata_runtime::volumes::{parse_mount_flag, parse_volume_flag};
use strata_store::{Store, StoreError};

use super::{attach, engine_error, open_store};
use crate::cli::GlobalOpts;
use crate::commands::CliError;

#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// Print help
    #[arg(long, action = ArgAction::Help)]
    help: Option<bool>,
    /// Run container in background and print container ID
    #[arg(short, long)]
    pub detach: bool,
    /// Attach to STDIN, STDOUT or STDERR
    #[arg(short = 'a', long = "attach")]
    pub attach: Vec<String>,
    /// Keep STDIN open even if not attached
    #[arg(short, long)]
    pub interactive: bool,
    /// Allocate a pseudo-TTY
    #[arg(short, long)]
    pub tty: bool,
    /// Automatically remove the container and its associated anonymous volumes when it exits
    #[arg(long)]
    pub rm: bool,
    /// Assign a name to the container
    #[arg(long)]
    pub name: Option<String>,
    /// Set environment variables
    #[arg(short, long = "env")]
    pub env: Vec<String>,
    /// Read in a file of environment variables
    #[arg(long = "env-file")]
    pub env_file: Vec<PathBuf>,
    /// Working directory inside the container
    #[arg(short, long)]
    pub workdir: Option<String>,
    /// Username or UID (format: "<name|uid>[:<group|gid>]")
    #[arg(short, long)]
    pub user: Option<String>,
    /// Overwrite the default ENTRYPOINT of the image
    #[arg(long)]
    pub entrypoint: Option<String>,
    /// Container host name
    #[arg(short = 'h', long)]
    pub hostname: Option<String>,
    /// Bind mount a volume
    #[arg(short, long = "volume")]
    pub volume: Vec<String>,
    /// Attach a filesystem mount to the container
    #[arg(long = "mount")]
    pub mount: Vec<String>,
    /// Set meta data on a container
    #[arg(short, long = "label")]
    pub label: Vec<String>,
    /// Run an init inside the container that forwards signals and reaps processes
    #[arg(long)]
    pub init: bool,
    /// Signal to stop the container
    #[arg(long = "stop-signal")]
    pub stop_signal: Option<String>,
    /// Timeout (in seconds) to stop a container
    #[arg(long = "stop-timeout")]
    pub stop_timeout: Option<i64>,
    /// Security Options
    #[arg(long = "security-opt")]
    pub security_opt: Vec<String>,
    /// Memory limit
    #[arg(short, long)]
    pub memory: Option<String>,
    /// Swap limit equal to memory plus swap: '-1' to enable unlimited swap
    #[arg(long = "memory-swap", allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// Memory soft limit
    #[arg(long = "memory-reservation")]
    pub memory_reservation: Option<String>,
    /// Number of CPUs
    #[arg(long)]
    pub cpus: Option<f64>,
    /// CPU shares (relative weight)
    #[arg(short = 'c', long = "cpu-shares")]
    pub cpu_shares: Option<i64>,
    /// Tune container pids limit (set -1 for unlimited)
    #[arg(long = "pids-limit")]
    pub pids_limit: Option<i64>,
    /// Give extended privileges to this container
    #[arg(long)]
    pub privileged: bool,
    /// Add Linux capabilities
    #[arg(long = "cap-add")]
    pub cap_add: Vec<String>,
    /// Drop Linux capabilities
    #[arg(long = "cap-drop")]
    pub cap_drop: Vec<String>,
    /// Mount the container's root filesystem as read only
    #[arg(long = "read-only")]
    pub read_only: bool,
    /// Connect a container to a network
    #[arg(long, visible_alias = "net", default_value = "default")]
    pub network: String,
    /// Add network-scoped alias for the container
    #[arg(long = "network-alias", visible_alias = "net-alias")]
    pub network_alias: Vec<String>,
    /// IPv4 address (e.g., 172.30.100.104)
    #[arg(long)]
    pub ip: Option<String>,
    /// Publish a container's port(s) to the host
    #[arg(short = 'p', long = "publish")]
    pub publish: Vec<String>,
    /// Publish all exposed ports to random ports
    #[arg(short = 'P', long = "publish-all")]
    pub publish_all: bool,
    /// Expose a port or a range of ports
    #[arg(long)]
    pub expose: Vec<String>,
    /// Set custom DNS servers
    #[arg(long)]
    pub dns: Vec<String>,
    /// Set custom DNS search domains
    #[arg(long = "dns-search")]
    pub dns_search: Vec<String>,
    /// Set DNS options
    #[arg(long = "dns-option", visible_alias = "dns-opt")]
    pub dns_option: Vec<String>,
    /// Add a custom host-to-IP mapping (host:ip)
    #[arg(long = "add-host")]
    pub add_host: Vec<String>,
    /// Restart policy to apply when a container exits
    #[arg(long, default_value = "no")]
    pub restart: String,
    /// User namespace to use: "host" (default) or "auto" (root maps to an unprivileged range)
    #[arg(long)]
    pub userns: Option<String>,
    /// Runtime to use for this container (path of a runc-compatible binary)
    #[arg(long)]
    pub runtime: Option<String>,
    /// Storage driver for the container's root filesystem (overlay or vfs)
    #[arg(long = "storage-driver", env = "STRATA_STORAGE_DRIVER")]
    pub storage_driver: Option<String>,
    /// Override the key sequence for detaching a container
    #[arg(long = "detach-keys")]
    pub detach_keys: Option<String>,
    /// Proxy received signals to the process
    #[arg(long = "sig-proxy", default_value_t = true, action = ArgAction::Set)]
    pub sig_proxy: bool,
    pub image: String,
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

/// Docker's RAMInBytes: `64m`, `1g`, `512k`, `100b`, `1.5g`.
pub fn parse_memory(text: &str) -> Result<i64, CliError> {
    let lower = text.trim().to_ascii_lowercase();
    let trimmed = lower.strip_suffix('b').unwrap_or(&lower);
    let (number, unit) = match trimmed
        .char_indices()
        .find(|(_, c)| c.is_ascii_alphabetic())
    {
        Some((i, _)) => (&trimmed[..i], &trimmed[i..]),
        None => (trimmed, ""),
    };
    let factor: f64 = match unit {
        "" => 1.0,
        "k" => 1024.0,
        "m" => 1024.0 * 1024.0,
        "g" => 1024.0 * 1024.0 * 1024.0,
        "t" => 1024f64.powi(4),
        _ => return Err(CliError::engine(format!("invalid size: '{text}'"))),
    };
    let value: f64 = number
        .parse()
        .map_err(|_| CliError::engine(format!("invalid size: '{text}'")))?;
    Ok((value * factor) as i64)
}

/// `--security-opt` as Docker's CLI passes it on: a seccomp profile path is replaced by the
/// file's compacted JSON, so the container keeps the profile it was created with.
fn security_opts(opts: &[String]) -> Result<Vec<String>, CliError> {
    let mut out = Vec::new();
    for opt in opts {
        let (key, value) = match opt.split_once('=').or_else(|| opt.split_once(':')) {
            Some(kv) => kv,
            None if opt == "no-new-privileges" => (opt.as_str(), ""),
            None => {
                return Err(CliError::engine(format!("Invalid --security-opt: {opt:?}")));
            }
        };
        if key != "seccomp" || value == "unconfined" {
            out.push(opt.clone());
            continue;
        }
        let text = std::fs::read_to_string(value).map_err(|e| {
            CliError::engine(format!(
                "opening seccomp profile ({value}) failed: open {value}: {}",
                go_io_error(&e)
            ))
        })?;
        let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            CliError::engine(format!(
                "compacting json for seccomp profile ({value}) failed: {e}"
            ))
        })?;
        out.push(format!("seccomp={json}"));
    }
    Ok(out)
}

/// An I/O error in Go's words ("no such file or directory").
fn go_io_error(e: &std::io::Error) -> String {
    let text = e.to_string();
    let text = text.split(" (os error").next().unwrap_or(&text);
    text.to_lowercase()
}

/// `-a`, case-insensitive as in Docker; None when not given.
fn attach_streams(names: &[String]) -> Result<Option<AttachStreams>, CliError> {
    if names.is_empty() {
        return Ok(None);
    }
    let mut streams = AttachStreams::default();
    for name in names {
        match name.to_ascii_lowercase().as_str() {
            "stdin" => streams.stdin = true,
            "stdout" => streams.stdout = true,
            "stderr" => streams.stderr = true,
            _ => {
                return Err(CliError::engine(format!(
                    "invalid argument \"{name}\" for \"-a, --attach\" flag: valid streams are STDIN, STDOUT and STDERR"
                )));
            }
        }
    }
    Ok(Some(streams))
}

/// Pulls an image `run`/`create` did not find, as docker does, with its progress on standard
/// error so the container's output stays alone on standard output.
fn pull_missing(global: &GlobalOpts, image: &str) -> Result<(), CliError> {
    use crate::commands::remote::{self, PullOutput};
    let store = Store::open(&global.root).map_err(CliError::engine)?;
    remote::pull_missing(global, &store, image, PullOutput::Stderr)
        .map(drop)
        .map_err(CliError::engine)
}

/// Resolves the image and merges everything into the runtime's create options.
fn options(global: &GlobalOpts, args: &RunArgs) -> Result<CreateOptions, CliError> {
    let store = Store::open(&global.root).map_err(CliError::engine)?;
    let id = match store.resolve_image(&args.image) {
        Ok(id) => id,
        Err(StoreError::ImageNotFound(name)) => {
            eprintln!("Unable to find image '{name}' locally");
            pull_missing(global, &args.image)?;
            store.resolve_image(&args.image).map_err(CliError::engine)?
        }
        Err(e) => return Err(CliError::engine(e)),
    };
    let image = store.image(&id).map_err(CliError::engine)?;
    let image_config: ImageRuntimeConfig = match &image.config.config {
        Some(c) => serde_json::to_value(c)
            .and_then(serde_json::from_value)
            .map_err(|e| CliError::engine(format!("image config: {e}")))?,
        None => ImageRuntimeConfig::default(),
    };
    let layers = store.layer_dirs(&id).map_err(CliError::engine)?;
    let mut env = Vec::new();
    for file in &args.env_file {
        let text = std::fs::read_to_string(file)
            .map_err(|e| CliError::engine(format!("open {}: {e}", file.display())))?;
        env.extend(parse_env_file(&text, |k| std::env::var(k).ok()));
    }
    for e in &args.env {
        if e.contains('=') {
            env.push(e.clone());
        } else if let Ok(v) = std::env::var(e) {
            env.push(format!("{e}={v}"));
        }
    }
    let mut mounts = Vec::new();
    for v in &args.volume {
        mounts.push(parse_volume_flag(v).map_err(CliError::engine)?);
    }
    for m in &args.mount {
        mounts.push(parse_mount_flag(m).map_err(CliError::engine)?);
    }
    let userns = match args.userns.as_deref() {
        None | Some("") | Some("host") => String::new(),
        Some("auto") => "auto".to_string(),
        Some(mode) => {
            return Err(CliError::engine(format!(
                "invalid --userns {mode:?}: strata knows \"host\" (the default) and \"auto\" (the container's root is an unprivileged host id range)"
            )));
        }
    };
    let mut specs = Vec::new();
    for p in &args.publish {
        specs.push(ports::parse_spec(p).map_err(CliError::engine)?);
    }
    let mut expose = Vec::new();
    for e in &args.expose {
        // `--expose 8000-8002/udp` exposes the range.
        let (range, proto) = e.split_once('/').unwrap_or((e, "tcp"));
        let spec = ports::parse_spec(&format!("{range}/{proto}")).map_err(CliError::engine)?;
        for port in spec.container_ports.0..=spec.container_ports.1 {
            expose.push(format!("{port}/{}", spec.proto));
        }
    }
    Ok(CreateOptions {
        name: args.name.clone(),
        image_ref: args.image.clone(),
        image_id: id.to_string(),
        image_config,
        layers,
        command: CommandOverride {
            entrypoint: args.entrypoint.clone(),
            args: args.command.clone(),
        },
        env,
        workdir: args.workdir.clone(),
        user: args.user.clone(),
        hostname: args.hostname.clone(),
        labels: crate::commands::key_values(&args.label),
        tty: args.tty,
        stdin_open: args.interactive,
        attach: !args.detach,
        attach_streams: attach_streams(&args.attach)?,
        auto_remove: args.rm,
        stop_signal: args.stop_signal.clone(),
        stop_timeout: args.stop_timeout,
        mounts,
        network: args.network.clone(),
        ip: args.ip.clone(),
        network_aliases: args.network_alias.clone(),
        port_bindings: ports::bindings(&specs),
        publish_all: args.publish_all,
        expose,
        dns: args.dns.clone(),
        dns_search: args.dns_search.clone(),
        dns_options: args.dns_option.clone(),
        extra_hosts: args.add_host.clone(),
        restart_policy: RestartPolicy::parse(&args.restart).map_err(CliError::engine)?,
        userns,
        privileged: args.privileged,
        read_only: args.read_only,
        cap_add: args.cap_add.clone(),
        cap_drop: args.cap_drop.clone(),
        security_opt: security_opts(&args.security_opt)?,
        memory: args
            .memory
            .as_deref()
            .map(parse_memory)
            .transpose()?
            .unwrap_or(0),
        memory_swap: match args.memory_swap.as_deref() {
            Some("-1") => -1,
            Some(text) => parse_memory(text).map_err(|e| {
                CliError::engine(format!(
                    "invalid argument \"{text}\" for \"--memory-swap\" flag: {e}"
                ))
            })?,
            None => 0,
        },
        memory_reservation: args
            .memory_reservation
            .as_deref()
            .map(|text| {
                parse_memory(text).map_err(|e| {
                    CliError::engine(format!(
                        "invalid argument \"{text}\" for \"--memory-reservation\" flag: {e}"
                    ))
                })
            })
            .transpose()?
            .unwrap_or(0),
        nano_cpus: args.cpus.map(|c| (c * 1e9) as i64).unwrap_or(0),
        cpu_shares: args.cpu_shares.unwrap_or(0),
        pids_limit: args.pids_limit,
        runtime: args.runtime.clone(),
        init: args.init,
        storage_driver: args.storage_driver.clone(),
    })
}

/// Whether the daemon would drop the swap limit, with the warning it then returns.
fn swap_warning(opts: &CreateOptions) -> Option<&'static str> {
    (opts.memory > 0 && opts.memory_swap != -1 && !strata_runtime::memory::swap_limit_supported())
        .then_some("WARNING: Your kernel does not support swap limit capabilities or the cgroup is not mounted. Memory limited without swap.")
}

pub fn create(global: &GlobalOpts, args: RunArgs) -> Result<ExitCode, CliError> {
    let opts = options(global, &args)?;
    let warning = swap_warning(&opts);
    let store = open_store(global)?;
    let record = strata_runtime::create(&store, opts).map_err(engine_error)?;
    warning.into_iter().for_each(|w| eprintln!("{w}"));
    println!("{}", record.id);
    Ok(ExitCode::SUCCESS)
}

pub fn run(global: &GlobalOpts, args: RunArgs) -> Result<ExitCode, CliError> {
    if args.detach && !args.attach.is_empty() {
        return Err(CliError::new(
            "conflicting options: cannot specify both --attach and --detach",
        ));
    }
    let opts = options(global, &args)?;
    let warning = swap_warning(&opts);
    let streams = opts.attach_streams;
    let store = open_store(global)?;
    let record = strata_runtime::create(&store, opts).map_err(engine_error)?;
    warning.into_iter().for_each(|w| eprintln!("{w}"));
    let id = record.id.clone();
    let mut handle = lifecycle::start(&store, &id, !args.detach).map_err(engine_error)?;
    if args.detach {
        handle.wait_created().map_err(engine_error)?;
        handle.wait_started().map_err(engine_error)?;
        println!("{id}");
        return Ok(ExitCode::SUCCESS);
    }
    handle.wait_created().map_err(engine_error)?;
    let session = attach::Session::connect(
        &store,
        &id,
        attach::Options {
            stdin: args.interactive,
            stdout: streams.is_none_or(|s| s.stdout),
            stderr: streams.is_none_or(|s| s.stderr),
            tty: args.tty,
            detach_keys: args.detach_keys.clone(),
            sig_proxy: args.sig_proxy && !args.tty,
        },
    )?;
    handle.wait_started().map_err(engine_error)?;
    session.run()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_sizes() {
        assert_eq!(parse_memory("64m").unwrap(), 64 << 20);
        assert_eq!(parse_memory("1g").unwrap(), 1 << 30);
        assert_eq!(parse_memory("512KB").unwrap(), 512 << 10);
        assert_eq!(parse_memory("1000").unwrap(), 1000);
        assert!(parse_memory("12x").is_err());
    }
}
