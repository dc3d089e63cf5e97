//! The `/etc/hostname`, `/etc/hosts` and `/etc/resolv.conf` a container sees, written into its
//! directory and bound over the image's files.

use std::fs;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use strata_network::{NetworkStore, etc_files};

use super::{Mode, joined_names};
use crate::error::{IoContext, Result};
use crate::record::ContainerRecord;
use crate::store::ContainerStore;

/// The default bridge's gateway, for `--add-host NAME:host-gateway`.
fn host_gateway(root: &Path) -> Ipv4Addr {
    NetworkStore::open(root)
        .and_then(|s| s.resolve("bridge"))
        .ok()
        .and_then(|b| b.gateway)
        .unwrap_or(Ipv4Addr::new(172, 30, 0, 1))
}

/// Writes `hostname`, `hosts` and `resolv.conf` into the container's directory (bound over
/// the image's files).
pub fn write_etc_files(root: &Path, dir: &Path, record: &ContainerRecord) -> Result<()> {
    let mode = Mode::of(&record.host_config.network_mode);
    if let Mode::Container(other) = &mode {
        // Docker shares the other container's files with it.
        let other_dir: PathBuf = ContainerStore::open(root)?.container_dir(other);
        for name in ["hostname", "hosts", "resolv.conf"] {
            let (from, to) = (other_dir.join(name), dir.join(name));
            fs::copy(&from, &to).at(&from)?;
        }
        return Ok(());
    }
    let host_resolv = fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let hc = &record.host_config;
    let gateway = match &hc.extra_hosts {
        Some(hosts) if !hosts.is_empty() => host_gateway(root),
        _ => Ipv4Addr::UNSPECIFIED,
    };
    let extra: Vec<(String, String)> = hc
        .extra_hosts
        .iter()
        .flatten()
        .map(|h| etc_files::parse_extra_host(h, gateway))
        .collect::<std::result::Result<_, _>>()?;
    let hostname = &record.config.hostname;
    let own_names = vec![hostname.clone()];
    let (hosts, resolv) = match mode {
        Mode::Host => {
            let mut hosts = fs::read_to_string("/etc/hosts").unwrap_or_default();
            for (name, ip) in &extra {
                hosts.push_str(&format!("{ip}\t{name}\n"));
            }
            // Host networking shares the host's resolvers, loopback ones included.
            let resolv =
                if hc.dns.is_empty() && hc.dns_search.is_empty() && hc.dns_options.is_empty() {
                    host_resolv
                } else {
                    etc_files::resolv_conf(&host_resolv, &hc.dns, &hc.dns_search, &hc.dns_options)
                };
            (hosts, resolv)
        }
        _ => {
            let first = joined_names(record)
                .first()
                .and_then(|n| record.network_settings.networks.get(n))
                .and_then(|s| s.ip_address.parse::<Ipv4Addr>().ok());
            let hosts = match first {
                Some(ip) => etc_files::hosts(&extra, Some((ip, &own_names))),
                None => {
                    let mut h = etc_files::hosts(&extra, None);
                    h.push_str(&format!("127.0.0.1\t{hostname}\n"));
                    h
                }
            };
            // On user networks the name server is aardvark-dns at the gateway (Docker's
            // embedded DNS); `--dns` servers become its upstreams.
            let user_net_gateway = record
                .network_settings
                .networks
                .iter()
                .find(|(name, s)| *name != "bridge" && !s.gateway.is_empty())
                .map(|(_, s)| s.gateway.clone());
            let servers = match user_net_gateway {
                Some(gw) => vec![gw],
                None => hc.dns.clone(),
            };
            let resolv =
                etc_files::resolv_conf(&host_resolv, &servers, &hc.dns_search, &hc.dns_options);
            (hosts, resolv)
        }
    };
    let owner = (record.host_config.userns_mode == "auto").then(crate::userns::IdRange::for_host);
    for (name, content) in [
        ("hostname", format!("{hostname}\n")),
        ("hosts", hosts),
        ("resolv.conf", resolv),
    ] {
        let path = dir.join(name);
        fs::write(&path, content).at(&path)?;
        // The container's root owns them, as Docker chowns them for userns-remap.
        if let Some(range) = owner {
            std::os::unix::fs::chown(&path, Some(range.uid), Some(range.gid)).at(&path)?;
        }
    }
    Ok(())
}
