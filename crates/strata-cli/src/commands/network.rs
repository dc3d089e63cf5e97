//! `network create|ls|inspect|rm|prune|connect|disconnect`, with Docker's output.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde_json::json;
use strata_network::NetworkStore;
use strata_network::store::CreateRequest;
use strata_runtime::network::{self as runtime_network, NetworkRequest};
use strata_runtime::{ContainerStore, RuntimeError};

use crate::cli::GlobalOpts;
use crate::commands::{CliError, key_values};
use crate::output::{Listing, print_inspect};

#[derive(Subcommand, Debug)]
pub enum NetworkCommand {
    /// Create a network
    Create(CreateArgs),
    /// List networks
    #[command(visible_alias = "list")]
    Ls(LsArgs),
    /// Display detailed information on one or more networks
    Inspect(InspectArgs),
    /// Remove one or more networks
    #[command(visible_alias = "remove")]
    Rm(RmArgs),
    /// Remove all unused networks
    Prune(PruneArgs),
    /// Connect a container to a network
    Connect(ConnectArgs),
    /// Disconnect a container from a network
    Disconnect(DisconnectArgs),
}

#[derive(Args, Debug)]
pub struct CreateArgs {
    /// Driver to manage the Network
    #[arg(short, long, default_value = "bridge")]
    pub driver: String,
    /// Subnet in CIDR format that represents a network segment
    #[arg(long)]
    pub subnet: Vec<String>,
    /// IPv4 Gateway for the master subnet
    #[arg(long)]
    pub gateway: Vec<String>,
    /// Restrict external access to the network
    #[arg(long)]
    pub internal: bool,
    /// Enable manual container attachment
    #[arg(long)]
    pub attachable: bool,
    /// Set metadata on a network
    #[arg(long)]
    pub label: Vec<String>,
    /// Set driver specific options
    #[arg(short, long = "opt")]
    pub opt: Vec<String>,
    pub name: String,
}

#[derive(Args, Debug)]
pub struct LsArgs {
    /// Only display network IDs
    #[arg(short, long)]
    pub quiet: bool,
    /// Do not truncate the output
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// Provide filter values (e.g. "driver=bridge")
    #[arg(short, long)]
    pub filter: Vec<String>,
    /// Format output using a custom template
    #[arg(long)]
    pub format: Option<String>,
}

#[derive(Args, Debug)]
pub struct InspectArgs {
    /// Format output using a custom template
    #[arg(short, long)]
    pub format: Option<String>,
    #[arg(required = true)]
    pub networks: Vec<String>,
}

#[derive(Args, Debug)]
pub struct RmArgs {
    #[arg(required = true)]
    pub networks: Vec<String>,
}

#[derive(Args, Debug)]
pub struct PruneArgs {
    /// Do not prompt for confirmation
    #[arg(short, long)]
    pub force: bool,
}

#[derive(Args, Debug)]
pub struct ConnectArgs {
    /// IPv4 address (e.g., 172.30.100.104)
    #[arg(long)]
    pub ip: Option<String>,
    /// Add network-scoped alias for the container
    #[arg(long)]
    pub alias: Vec<String>,
    pub network: String,
    pub container: String,
}

#[derive(Args, Debug)]
pub struct DisconnectArgs {
    /// Force the container to disconnect from a network
    #[arg(short, long)]
    pub force: bool,
    pub network: String,
    pub container: String,
}

fn networks(global: &GlobalOpts) -> Result<NetworkStore, CliError> {
    NetworkStore::open(&global.root).map_err(CliError::new)
}

fn containers(global: &GlobalOpts) -> Result<ContainerStore, CliError> {
    ContainerStore::open(&global.root).map_err(CliError::new)
}

fn matches(net: &strata_network::NetworkRecord, filters: &[(String, String)]) -> bool {
    filters.iter().all(|(k, v)| match k.as_str() {
        "driver" => net.driver == *v,
        "name" => net.name.contains(v.as_str()),
        "id" => net.id.starts_with(v.as_str()),
        "scope" => v == "local",
        "type" => match v.as_str() {
            "builtin" => net.is_predefined(),
            "custom" => !net.is_predefined(),
            _ => false,
        },
        "label" => match v.split_once('=') {
            Some((lk, lv)) => net.labels.get(lk).is_some_and(|x| x == lv),
            None => net.labels.contains_key(v.as_str()),
        },
        _ => true,
    })
}

pub fn run(global: &GlobalOpts, cmd: NetworkCommand) -> Result<ExitCode, CliError> {
    let store = networks(global)?;
    match cmd {
        NetworkCommand::Create(a) => {
            if a.subnet.len() > 1 || a.gateway.len() > 1 {
                return Err(CliError::new(
                    "strata networks have one IPv4 subnet: give --subnet and --gateway at most once",
                ));
            }
            let record = store
                .create(&CreateRequest {
                    name: a.name,
                    driver: Some(a.driver),
                    subnet: a.subnet.into_iter().next(),
                    gateway: a.gateway.into_iter().next(),
                    internal: a.internal,
                    attachable: a.attachable,
                    labels: key_values(&a.label),
                    options: key_values(&a.opt),
                })
                .map_err(CliError::new)?;
            println!("{}", record.id);
        }
        NetworkCommand::Ls(a) => {
            let mut filters = Vec::new();
            for f in &a.filter {
                let (k, v) = f.split_once('=').ok_or_else(|| {
                    CliError::new(format!("bad format of filter (expected name=value): {f}"))
                })?;
                if !["driver", "name", "id", "scope", "type", "label", "dangling"].contains(&k) {
                    return Err(CliError::new(format!("invalid filter '{k}'")));
                }
                filters.push((k.to_string(), v.to_string()));
            }
            let rows: Vec<_> = store
                .list()
                .map_err(CliError::new)?
                .iter()
                .filter(|n| matches(n, &filters))
                .map(|n| {
                    json!({
                        "ID": if a.no_trunc { n.id.as_str() } else { n.short_id() },
                        "Name": n.name,
                        "Driver": n.driver,
                        "Scope": "local",
                        "IPv6": "false",
                        "Internal": n.internal.to_string(),
                        "CreatedAt": n.created.format("%Y-%m-%d %H:%M:%S%.f %z UTC").to_string(),
                        "Labels": n.labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(","),
                    })
                })
                .collect();
            let listing = Listing {
                default_table: "{{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}",
                headers: &[
                    ("ID", "NETWORK ID"),
                    ("Name", "NAME"),
                    ("Driver", "DRIVER"),
                    ("Scope", "SCOPE"),
                    ("IPv6", "IPV6"),
                    ("Internal", "INTERNAL"),
                    ("CreatedAt", "CREATED"),
                    ("Labels", "LABELS"),
                ],
            };
            listing.print(a.format.as_deref(), a.quiet.then_some("{{.ID}}"), &rows)?;
        }
        NetworkCommand::Inspect(a) => {
            let mut objects = Vec::new();
            let mut missing = false;
            for key in &a.networks {
                match store.resolve(key) {
                    Ok(net) => {
                        let endpoints = runtime_network::network_endpoints(&global.root, &net)
                            .map_err(CliError::new)?;
                        objects.push(net.inspect(&endpoints));
                    }
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
        NetworkCommand::Rm(a) => {
            let mut failed = false;
            for key in &a.networks {
                match runtime_network::remove_network(&global.root, key) {
                    Ok(_) => println!("{key}"),
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
        NetworkCommand::Prune(a) => {
            if !a.force {
                return Err(CliError::new(
                    "WARNING! This will remove all custom networks not used by at least one container. Pass -f/--force: strata does not prompt",
                ));
            }
            let mut deleted = Vec::new();
            for net in store.list().map_err(CliError::new)? {
                if net.is_predefined() {
                    continue;
                }
                match runtime_network::remove_network(&global.root, &net.id) {
                    Ok(_) => deleted.push(net.name),
                    Err(RuntimeError::Network(strata_network::NetworkError::InUse { .. })) => {}
                    Err(e) => return Err(CliError::new(e)),
                }
            }
            if !deleted.is_empty() {
                println!("Deleted Networks:");
                for n in &deleted {
                    println!("{n}");
                }
            }
        }
        NetworkCommand::Connect(a) => {
            let request = NetworkRequest {
                mode: a.network.clone(),
                ip: a.ip,
                aliases: a.alias,
            };
            runtime_network::connect(&containers(global)?, &a.container, &a.network, &request)
                .map_err(CliError::new)?;
        }
        NetworkCommand::Disconnect(a) => {
            let _ = a.force;
            runtime_network::disconnect(&containers(global)?, &a.container, &a.network)
                .map_err(CliError::new)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
