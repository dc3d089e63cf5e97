//! `volume create|ls|inspect|rm|prune`.

use std::collections::BTreeMap;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde_json::json;
use strata_runtime::lifecycle;
use strata_runtime::volumes::VolumeStore;

use super::{cli_error, open_store};
use crate::cli::GlobalOpts;
use crate::commands::CliError;
use crate::output::{Listing, print_inspect};

#[derive(Subcommand, Debug)]
pub enum VolumeCommand {
    /// Create a volume
    Create(CreateArgs),
    /// List volumes
    #[command(visible_alias = "list")]
    Ls(LsArgs),
    /// Display detailed information on one or more volumes
    Inspect(InspectArgs),
    /// Remove one or more volumes
    #[command(visible_alias = "remove")]
    Rm(RmArgs),
    /// Remove unused local volumes
    Prune(PruneArgs),
}

#[derive(Args, Debug)]
pub struct CreateArgs {
    /// Set metadata for a volume
    #[arg(long = "label")]
    pub label: Vec<String>,
    pub name: Option<String>,
}

#[derive(Args, Debug)]
pub struct LsArgs {
    /// Only display volume names
    #[arg(short, long)]
    pub quiet: bool,
    /// Format output using a custom template
    #[arg(long)]
    pub format: Option<String>,
}

#[derive(Args, Debug)]
pub struct InspectArgs {
    #[arg(short, long)]
    pub format: Option<String>,
    #[arg(required = true)]
    pub volumes: Vec<String>,
}

#[derive(Args, Debug)]
pub struct RmArgs {
    /// Force the removal of one or more volumes
    #[arg(short, long)]
    pub force: bool,
    #[arg(required = true)]
    pub volumes: Vec<String>,
}

#[derive(Args, Debug)]
pub struct PruneArgs {
    /// Remove all unused volumes, not just anonymous ones
    #[arg(short, long)]
    pub all: bool,
    /// Do not prompt for confirmation
    #[arg(short, long)]
    pub force: bool,
}

fn store(global: &GlobalOpts) -> Result<VolumeStore, CliError> {
    VolumeStore::open(&global.root).map_err(cli_error)
}

/// Volume name → the containers using it.
fn users(global: &GlobalOpts) -> Result<BTreeMap<String, Vec<String>>, CliError> {
    let containers = open_store(global)?;
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in lifecycle::list(&containers).map_err(cli_error)? {
        for m in r.mounts.iter().filter(|m| m.kind == "volume") {
            if let Some(n) = &m.name {
                out.entry(n.clone()).or_default().push(r.id.clone());
            }
        }
    }
    Ok(out)
}

pub fn run(global: &GlobalOpts, cmd: VolumeCommand) -> Result<ExitCode, CliError> {
    let volumes = store(global)?;
    match cmd {
        VolumeCommand::Create(a) => {
            let name = match a.name {
                Some(n) => n,
                None => strata_runtime::create::random_hex(32).map_err(cli_error)?,
            };
            volumes
                .ensure(
                    &name,
                    crate::commands::key_values(&a.label).into_iter().collect(),
                )
                .map_err(cli_error)?;
            println!("{name}");
        }
        VolumeCommand::Ls(a) => {
            let rows: Vec<_> = volumes
                .list()
                .map_err(cli_error)?
                .iter()
                .map(|v| json!({"Driver": v.driver, "Name": v.name, "Mountpoint": v.mountpoint, "Scope": v.scope, "Labels": ""}))
                .collect();
            let listing = Listing {
                default_table: "{{.Driver}}\t{{.Name}}",
                headers: &[
                    ("Driver", "DRIVER"),
                    ("Name", "VOLUME NAME"),
                    ("Mountpoint", "MOUNTPOINT"),
                    ("Scope", "SCOPE"),
                ],
            };
            listing.print(a.format.as_deref(), a.quiet.then_some("{{.Name}}"), &rows)?;
        }
        VolumeCommand::Inspect(a) => {
            let mut objects = Vec::new();
            let mut missing = false;
            for name in &a.volumes {
                match volumes.get(name) {
                    Ok(v) => objects.push(serde_json::to_value(v).map_err(CliError::new)?),
                    Err(e) => {
                        eprintln!("Error: {e}");
                        missing = true;
                    }
                }
            }
            print_inspect(a.format.as_deref(), &objects)?;
            if missing {
                return Ok(ExitCode::from(1));
            }
        }
        VolumeCommand::Rm(a) => {
            let users = users(global)?;
            let mut failed = false;
            for name in &a.volumes {
                let result = match users.get(name) {
                    Some(ids) => Err(strata_runtime::RuntimeError::VolumeInUse(
                        name.clone(),
                        ids.join(", "),
                    )),
                    None => volumes.remove(name),
                };
                match result {
                    Ok(()) => println!("{name}"),
                    Err(strata_runtime::RuntimeError::NoSuchVolume(_)) if a.force => {}
                    Err(e) => {
                        eprintln!("Error: {e}");
                        failed = true;
                    }
                }
            }
            if failed {
                return Ok(ExitCode::from(1));
            }
        }
        VolumeCommand::Prune(a) => {
            if !a.force {
                return Err(CliError::new(
                    "WARNING! This will remove anonymous local volumes not used by at least one container. Pass -f/--force: strata does not prompt",
                ));
            }
            let users = users(global)?;
            let mut deleted = Vec::new();
            for v in volumes.list().map_err(cli_error)? {
                let anonymous = v.name.len() == 64 && v.name.chars().all(|c| c.is_ascii_hexdigit());
                if users.contains_key(&v.name) || (!a.all && !anonymous) {
                    continue;
                }
                volumes.remove(&v.name).map_err(cli_error)?;
                deleted.push(v.name);
            }
            if !deleted.is_empty() {
                println!("Deleted Volumes:");
                for n in &deleted {
                    println!("{n}");
                }
                println!();
            }
            println!("Total reclaimed space: 0B");
        }
    }
    Ok(ExitCode::SUCCESS)
}
