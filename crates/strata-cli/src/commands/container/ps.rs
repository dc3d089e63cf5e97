//! `ps` / `container ls`: Docker's columns, statuses and filters.

use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::Args;
use serde_json::{Value as Json, json};
use strata_runtime::ContainerRecord;
use strata_runtime::lifecycle;
use strata_runtime::network::ports;
use strata_runtime::record::Status;

use super::{cli_error, open_store};
use crate::cli::GlobalOpts;
use crate::commands::CliError;
use crate::output::{Listing, units};

#[derive(Args, Debug)]
pub struct PsArgs {
    /// Show all containers (default shows just running)
    #[arg(short, long)]
    pub all: bool,
    /// Only display container IDs
    #[arg(short, long)]
    pub quiet: bool,
    /// Show the latest created container (includes all states)
    #[arg(short, long)]
    pub latest: bool,
    /// Show n last created containers (includes all states)
    #[arg(short = 'n', long = "last", default_value_t = -1)]
    pub last: i64,
    /// Display total file sizes
    #[arg(short, long)]
    pub size: bool,
    /// Don't truncate output
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// Filter output based on conditions provided
    #[arg(short, long)]
    pub filter: Vec<String>,
    /// Format output using a custom template
    #[arg(long)]
    pub format: Option<String>,
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Docker's STATUS column.
pub fn status_text(r: &ContainerRecord) -> String {
    let ago = |t: &str| {
        parse_time(t)
            .map(|t| units::human_duration((Utc::now() - t).num_seconds()))
            .unwrap_or_default()
    };
    match r.state.status {
        Status::Running => format!("Up {}", ago(&r.state.started_at)),
        Status::Paused => format!("Up {} (Paused)", ago(&r.state.started_at)),
        Status::Restarting => format!(
            "Restarting ({}) {} ago",
            r.state.exit_code,
            ago(&r.state.finished_at)
        ),
        Status::Removing => "Removal In Progress".into(),
        Status::Dead => "Dead".into(),
        Status::Created => "Created".into(),
        Status::Exited => format!(
            "Exited ({}) {} ago",
            r.state.exit_code,
            ago(&r.state.finished_at)
        ),
    }
}

/// Docker's PORTS column: what is published (and exposed) while the container runs.
pub fn ports_text(r: &ContainerRecord) -> String {
    let mut ports = Vec::new();
    for (key, bindings) in &r.network_settings.ports {
        let Some((port, proto)) = ports::split_port_key(key) else {
            continue;
        };
        match bindings {
            Some(list) => {
                for b in list {
                    let public = b.host_port.parse().unwrap_or(0);
                    ports.push((Some(b.host_ip.clone()), public, port, proto.clone()));
                }
            }
            None => ports.push((None, 0, port, proto)),
        }
    }
    ports::display(&ports)
}

fn command_text(r: &ContainerRecord, trunc: bool) -> String {
    let mut parts = vec![r.path.clone()];
    parts.extend(r.args.iter().cloned());
    let mut cmd = parts.join(" ");
    if trunc && cmd.chars().count() > 20 {
        cmd = cmd.chars().take(19).collect::<String>() + "…";
    }
    format!("\"{cmd}\"")
}

fn dir_size(path: &std::path::Path) -> u64 {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return 0;
    };
    if !meta.is_dir() {
        return meta.len();
    }
    std::fs::read_dir(path)
        .map(|d| d.flatten().map(|e| dir_size(&e.path())).sum())
        .unwrap_or(0)
}

fn matches(r: &ContainerRecord, filters: &[(String, String)]) -> bool {
    filters.iter().all(|(key, value)| match key.as_str() {
        "id" => r.id.starts_with(value.as_str()),
        "name" => r.name.trim_start_matches('/').contains(value.as_str()),
        "status" => r.state.status.as_str() == value,
        "exited" => r.state.status == Status::Exited && r.state.exit_code.to_string() == *value,
        "label" => match value.split_once('=') {
            Some((k, v)) => r.config.labels.get(k).is_some_and(|x| x == v),
            None => r.config.labels.contains_key(value.as_str()),
        },
        "ancestor" => r.config.image == *value || r.image.contains(value.as_str()),
        _ => true,
    })
}

pub fn run(global: &GlobalOpts, args: PsArgs) -> Result<ExitCode, CliError> {
    let store = open_store(global)?;
    let mut filters = Vec::new();
    for f in &args.filter {
        let (k, v) = f.split_once('=').ok_or_else(|| {
            CliError::new(format!("bad format of filter (expected name=value): {f}"))
        })?;
        if !["id", "name", "status", "exited", "label", "ancestor"].contains(&k) {
            return Err(CliError::new(format!("invalid filter '{k}'")));
        }
        filters.push((k.to_string(), v.to_string()));
    }
    let mut records = lifecycle::list(&store).map_err(cli_error)?;
    let show_all = args.all
        || args.latest
        || args.last > 0
        || filters.iter().any(|(k, _)| k == "status" || k == "exited");
    if !show_all {
        records.retain(|r| r.state.running);
    }
    records.retain(|r| matches(r, &filters));
    if args.latest {
        records.truncate(1);
    } else if args.last > 0 {
        records.truncate(args.last as usize);
    }
    let trunc = !args.no_trunc;
    let rows: Vec<Json> = records
        .iter()
        .map(|r| {
            let size = if args.size {
                let upper = dir_size(&store.container_dir(&r.id).join("diff"));
                format!("{} (virtual {})", units::human_size(upper), units::human_size(upper))
            } else {
                String::new()
            };
            json!({
                "ID": if trunc { r.id[..12].to_string() } else { r.id.clone() },
                "Image": r.config.image,
                "Command": command_text(r, trunc),
                "CreatedAt": r.created.format("%Y-%m-%d %H:%M:%S %z UTC").to_string(),
                "RunningFor": units::since(Some(r.created)),
                "Ports": ports_text(r),
                "Status": status_text(r),
                "State": r.state.status.as_str(),
                "Size": size,
                "Names": r.name.trim_start_matches('/'),
                "Labels": r.config.labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(","),
                "Mounts": r.mounts.iter().map(|m| m.name.clone().unwrap_or_else(|| m.source.clone())).collect::<Vec<_>>().join(","),
                "Networks": r.network_settings.networks.keys().cloned().collect::<Vec<_>>().join(","),
            })
        })
        .collect();
    let mut table = String::from(
        "{{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}",
    );
    if args.size {
        table.push_str("\t{{.Size}}");
    }
    let listing = Listing {
        default_table: &table,
        headers: &[
            ("ID", "CONTAINER ID"),
            ("Image", "IMAGE"),
            ("Command", "COMMAND"),
            ("RunningFor", "CREATED"),
            ("Status", "STATUS"),
            ("Ports", "PORTS"),
            ("Names", "NAMES"),
            ("Size", "SIZE"),
            ("CreatedAt", "CREATED AT"),
            ("State", "STATE"),
            ("Labels", "LABELS"),
            ("Mounts", "MOUNTS"),
            ("Networks", "NETWORKS"),
        ],
    };
    let quiet = args.quiet.then_some("{{.ID}}");
    listing.print(args.format.as_deref(), quiet, &rows)?;
    Ok(ExitCode::SUCCESS)
}
