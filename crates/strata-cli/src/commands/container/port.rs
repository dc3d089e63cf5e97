//! `port`: the container's published ports, as `docker port` prints them.

use std::process::ExitCode;

use clap::Args;
use strata_runtime::lifecycle;
use strata_runtime::network::ports;

use super::{cli_error, open_store};
use crate::cli::GlobalOpts;
use crate::commands::CliError;

#[derive(Args, Debug)]
pub struct PortArgs {
    pub container: String,
    /// PRIVATE_PORT[/PROTO]
    pub private_port: Option<String>,
}

pub fn run(global: &GlobalOpts, args: PortArgs) -> Result<ExitCode, CliError> {
    let store = open_store(global)?;
    let id = store.resolve(&args.container).map_err(cli_error)?;
    let record = lifecycle::load_checked(&store, &id).map_err(cli_error)?;
    let mut published: Vec<(u16, String, String, String)> = Vec::new();
    for (key, bindings) in &record.network_settings.ports {
        let Some((port, proto)) = ports::split_port_key(key) else {
            continue;
        };
        for b in bindings.iter().flatten() {
            published.push((port, proto.clone(), b.host_ip.clone(), b.host_port.clone()));
        }
    }
    published.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    match &args.private_port {
        None => {
            for (port, proto, ip, host_port) in &published {
                println!("{port}/{proto} -> {ip}:{host_port}");
            }
        }
        Some(wanted) => {
            let (port, proto) = ports::split_port_key(wanted).ok_or_else(|| {
                CliError::new(format!("Error: invalid port ({wanted}): invalid syntax"))
            })?;
            let hits: Vec<_> = published
                .iter()
                .filter(|(p, pr, _, _)| *p == port && *pr == proto)
                .collect();
            if hits.is_empty() {
                return Err(CliError::new(format!(
                    "No public port '{port}/{proto}' published for {}",
                    args.container
                )));
            }
            for (_, _, ip, host_port) in hits {
                println!("{ip}:{host_port}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
