//! `container inspect`, and `inspect_container` for the shared `strata inspect`: Docker's
//! field names and order.

use std::process::ExitCode;

use clap::Args;
use serde_json::{Value as Json, json};
use strata_runtime::logs::{log_path, rfc3339_nano};
use strata_runtime::{ContainerStore, RuntimeError, lifecycle};

use super::{cli_error, open_store};
use crate::cli::GlobalOpts;
use crate::commands::CliError;
use crate::output::print_inspect;

#[derive(Args, Debug)]
pub struct InspectArgs {
    /// Format output using a custom template
    #[arg(short, long)]
    pub format: Option<String>,
    /// Display total file sizes
    #[arg(short, long)]
    pub size: bool,
    #[arg(required = true)]
    pub containers: Vec<String>,
}

fn render(store: &ContainerStore, id: &str) -> Result<Json, RuntimeError> {
    let r = lifecycle::load_checked(store, id)?;
    let dir = store.container_dir(&r.id);
    let path = |name: &str| dir.join(name).to_string_lossy().into_owned();
    let graph = if r.strata.storage == "vfs" {
        json!({"Data": null, "Name": "vfs"})
    } else {
        let lower: Vec<String> = r
            .strata
            .layers
            .iter()
            .rev()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        json!({
            "Data": {
                "LowerDir": lower.join(":"),
                "MergedDir": path("merged"),
                "UpperDir": path("diff"),
                "WorkDir": path("work"),
            },
            "Name": "overlay2",
        })
    };
    let mut host = serde_json::to_value(&r.host_config).unwrap_or(Json::Null);
    if let Some(obj) = host.as_object_mut() {
        obj.insert("NanoCpus".into(), json!(r.host_config.nano_cpus));
        obj.insert("CpuShares".into(), json!(r.host_config.cpu_shares));
    }
    let state = &r.state;
    Ok(json!({
        "Id": r.id,
        "Created": rfc3339_nano(r.created),
        "Path": r.path,
        "Args": r.args,
        "State": {
            "Status": state.status.as_str(),
            "Running": state.running,
            "Paused": state.paused,
            "Restarting": state.restarting,
            "OOMKilled": state.oom_killed,
            "Dead": state.dead,
            "Pid": state.pid,
            "ExitCode": state.exit_code,
            "Error": state.error,
            "StartedAt": state.started_at,
            "FinishedAt": state.finished_at,
        },
        "Image": r.image,
        "ResolvConfPath": path("resolv.conf"),
        "HostnamePath": path("hostname"),
        "HostsPath": path("hosts"),
        "LogPath": log_path(&dir, &r.id).to_string_lossy(),
        "Name": r.name,
        "RestartCount": r.restart_count,
        "Driver": r.driver,
        "Platform": "linux",
        "MountLabel": "",
        "ProcessLabel": "",
        "AppArmorProfile": "",
        "ExecIDs": null,
        "HostConfig": host,
        "GraphDriver": graph,
        "Mounts": r.mounts,
        "Config": r.config,
        "NetworkSettings": r.network_settings,
    }))
}

/// The inspect JSON of the container named by `key` (name, ID or ID prefix), or None when no
/// container matches — for the shared `strata inspect`.
pub fn inspect_container(global: &GlobalOpts, key: &str) -> Result<Option<Json>, CliError> {
    let store = open_store(global)?;
    let id = match store.resolve(key) {
        Ok(id) => id,
        Err(RuntimeError::NoSuchContainer(_)) => return Ok(None),
        Err(e) => return Err(cli_error(e)),
    };
    match render(&store, &id) {
        Ok(j) => Ok(Some(j)),
        Err(RuntimeError::NoSuchContainer(_)) => Ok(None),
        Err(e) => Err(cli_error(e)),
    }
}

pub fn run(global: &GlobalOpts, args: InspectArgs) -> Result<ExitCode, CliError> {
    let mut objects = Vec::new();
    let mut missing = false;
    for name in &args.containers {
        match inspect_container(global, name)? {
            Some(j) => objects.push(j),
            None => {
                eprintln!("Error: No such container: {name}");
                missing = true;
            }
        }
    }
    if !objects.is_empty() || args.format.is_none() {
        print_inspect(args.format.as_deref(), &objects)?;
    }
    Ok(if missing {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
