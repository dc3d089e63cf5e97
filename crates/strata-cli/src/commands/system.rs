//! `info`, `system info` and `system df`.

use std::collections::HashSet;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde_json::json;

use crate::cli::GlobalOpts;
use crate::commands::{CliError, container_users, image};
use crate::output::{self, Listing, units};

#[derive(Subcommand, Debug)]
pub enum SystemCommand {
    /// Show strata disk usage
    Df(DfArgs),
    /// Display system-wide information
    Info(InfoArgs),
    /// Start the containers whose restart policy asks for it (run at host boot by
    /// contrib/systemd/strata.service)
    Boot,
}

#[derive(Args, Debug)]
pub struct InfoArgs {
    /// Format output using a custom template
    #[arg(short, long)]
    pub format: Option<String>,
}

#[derive(Args, Debug)]
pub struct DfArgs {
    #[arg(long)]
    pub format: Option<String>,
}

/// What this build can do, so scripts and users can tell before they try.
const FEATURES: &[(&str, bool)] = &[
    ("import", true),
    ("images", true),
    ("tag", true),
    ("rmi", true),
    ("history", true),
    ("inspect", true),
    ("save", true),
    ("load", true),
    ("run", true),
    ("diff", true),
    ("commit", true),
    ("export", true),
    ("build", true),
    ("push", true),
    ("pull", true),
    ("registry-serve", true),
    ("bridge-network", true),
    ("port-publishing", true),
    ("user-networks", true),
    ("restart-policies", true),
];

pub fn run(global: &GlobalOpts, cmd: SystemCommand) -> Result<ExitCode, CliError> {
    match cmd {
        SystemCommand::Df(a) => df(global, a),
        SystemCommand::Info(a) => info(global, a),
        SystemCommand::Boot => boot(global),
    }
}

/// Prints the name of each container it started; an error for one does not stop the others.
fn boot(global: &GlobalOpts) -> Result<ExitCode, CliError> {
    let store = strata_runtime::ContainerStore::open(&global.root).map_err(CliError::new)?;
    let started = strata_runtime::lifecycle::start_on_boot(&store).map_err(CliError::new)?;
    let mut failed = false;
    for (record, result) in started {
        let name = record.name.trim_start_matches('/');
        match result {
            Ok(()) => println!("{name}"),
            Err(e) => {
                eprintln!("Error: {name}: {e}");
                failed = true;
            }
        }
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// `bridge` (Docker's default) when netavark is installed; without it containers need
/// `--network host` or `none`, and `info` says so.
fn default_network_mode() -> &'static str {
    if strata_runtime::network::bridge_available() {
        "bridge"
    } else {
        "bridge (unavailable: netavark not installed)"
    }
}

fn cgroup_version() -> &'static str {
    if std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        "2"
    } else {
        "1"
    }
}

pub fn info(global: &GlobalOpts, args: InfoArgs) -> Result<ExitCode, CliError> {
    let store = image::open_store(global)?;
    let images = store.image_ids().map_err(CliError::new)?.len();
    let containers = container_users(global)?;
    let running = containers.iter().filter(|c| c.running).count();
    let features: serde_json::Map<String, serde_json::Value> = FEATURES
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    let data = json!({
        "ID": "",
        "Containers": containers.len(),
        "ContainersRunning": running,
        "ContainersStopped": containers.len() - running,
        "Images": images,
        "Driver": "overlay",
        "DriverStatus": [["Backing Filesystem", "extfs"], ["Fallback", "vfs"]],
        "StrataRootDir": global.root.display().to_string(),
        "CgroupDriver": "cgroupfs",
        "CgroupVersion": cgroup_version(),
        "DefaultNetworkMode": default_network_mode(),
        "OperatingSystem": os_name(),
        "OSType": "linux",
        "Architecture": std::env::consts::ARCH,
        "KernelVersion": rustix::system::uname().release().to_string_lossy(),
        "NCPU": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "ServerVersion": env!("CARGO_PKG_VERSION"),
        "Features": features,
    });
    if let Some(f) = args.format.as_deref() {
        output::print_inspect(Some(f), &[data])?;
        return Ok(ExitCode::SUCCESS);
    }
    println!("Client: strata {}", env!("CARGO_PKG_VERSION"));
    println!();
    println!("Server: (none; strata is daemonless)");
    println!(" Containers: {}", containers.len());
    println!("  Running: {running}");
    println!("  Stopped: {}", containers.len() - running);
    println!(" Images: {images}");
    println!(" Storage Driver: overlay");
    println!("  Fallback: vfs");
    println!(" Strata Root Dir: {}", global.root.display());
    println!(" Cgroup Driver: cgroupfs");
    println!(" Cgroup Version: {}", cgroup_version());
    println!(" Default Network Mode: {}", default_network_mode());
    println!(
        " Kernel Version: {}",
        data["KernelVersion"].as_str().unwrap_or("")
    );
    println!(
        " Operating System: {}",
        data["OperatingSystem"].as_str().unwrap_or("")
    );
    println!(" Architecture: {}", std::env::consts::ARCH);
    println!(" CPUs: {}", data["NCPU"]);
    let on: Vec<&str> = FEATURES.iter().filter(|f| f.1).map(|f| f.0).collect();
    let off: Vec<&str> = FEATURES.iter().filter(|f| !f.1).map(|f| f.0).collect();
    println!(" Features: {}", on.join(" "));
    println!(" Not yet implemented: {}", off.join(" "));
    Ok(ExitCode::SUCCESS)
}

fn os_name() -> String {
    std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("PRETTY_NAME=")
                    .map(|v| v.trim_matches('"').to_owned())
            })
        })
        .unwrap_or_else(|| "Linux".into())
}

fn df(global: &GlobalOpts, args: DfArgs) -> Result<ExitCode, CliError> {
    let store = image::open_store(global)?;
    let users = container_users(global)?;
    let in_use: HashSet<_> = users.iter().map(|u| u.image_id.clone()).collect();
    let images = store.list_images().map_err(CliError::new)?;
    let mut all_layers = HashSet::new();
    let mut used_layers = HashSet::new();
    let mut active = 0;
    for (img, _) in &images {
        let chains = img.chain_ids();
        if in_use.contains(&img.id) {
            active += 1;
            used_layers.extend(chains.iter().cloned());
        }
        all_layers.extend(chains);
    }
    let size_of = |set: &HashSet<strata_reference::Digest>| -> u64 {
        set.iter()
            .filter_map(|c| store.layer_meta(c).ok())
            .map(|m| m.size)
            .sum()
    };
    let total = size_of(&all_layers);
    let reclaimable = total - size_of(&used_layers).min(total);
    let pct = if total == 0 {
        0
    } else {
        reclaimable * 100 / total
    };
    let row = |t: &str, n: usize, a: usize, size: u64, rec: String| json!({"Type": t, "TotalCount": n.to_string(), "Active": a.to_string(), "Size": units::human_size(size), "Reclaimable": rec});
    let rows = vec![
        row(
            "Images",
            images.len(),
            active,
            total,
            format!("{} ({pct}%)", units::human_size(reclaimable)),
        ),
        row(
            "Containers",
            users.len(),
            users.iter().filter(|u| u.running).count(),
            0,
            "0B".into(),
        ),
        row("Local Volumes", 0, 0, 0, "0B".into()),
        row("Build Cache", 0, 0, 0, "0B".into()),
    ];
    let headers = [
        ("Type", "TYPE"),
        ("TotalCount", "TOTAL"),
        ("Active", "ACTIVE"),
        ("Size", "SIZE"),
        ("Reclaimable", "RECLAIMABLE"),
    ];
    Listing {
        default_table: "{{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}",
        headers: &headers,
    }
    .print(args.format.as_deref(), None, &rows)?;
    Ok(ExitCode::SUCCESS)
}
