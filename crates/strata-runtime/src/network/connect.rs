//! `network connect` and `network disconnect`, also on running containers: netavark plumbs
//! or removes the one network's interface and the saved request is kept in step for teardown.

use std::fs;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use strata_network::netavark::{self, Attachment, SetupRequest};
use strata_network::{NetworkRecord, NetworkStore, ipam};

use super::{Mode, NetworkRequest, REQUEST_FILE, endpoint_live, endpoint_settings, fill_top_level};
use crate::error::{IoContext, Result, RuntimeError};
use crate::lifecycle;
use crate::record::{ContainerRecord, EndpointSettings};
use crate::store::ContainerStore;

fn read_request(path: &Path) -> Option<SetupRequest> {
    fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
}

fn write_request(path: &Path, request: &SetupRequest) -> Result<()> {
    let bytes = serde_json::to_vec_pretty(request)
        .map_err(|e| RuntimeError::Other(format!("encode network request: {e}")))?;
    fs::write(path, bytes).at(path)
}

/// `network connect`: puts the container on one more network; a running container gets the
/// interface at once.
pub fn connect(
    store: &ContainerStore,
    container: &str,
    network: &str,
    request: &NetworkRequest,
) -> Result<()> {
    let id = store.resolve(container)?;
    let net = NetworkStore::open(store.root())?.resolve(network)?;
    let _ = lifecycle::load_checked(store, &id)?;
    store.update(&id, |r| {
        match Mode::of(&r.host_config.network_mode) {
            Mode::Networks => {}
            Mode::None => {
                return Err(RuntimeError::Other(
                    "container cannot be connected to multiple networks with one of the networks in private (none) mode".into(),
                ));
            }
            _ => {
                return Err(RuntimeError::Other(
                    "container cannot be disconnected from host network or connected to host network".into(),
                ));
            }
        }
        if !net.is_bridge() {
            return Err(RuntimeError::Other(
                "container cannot be disconnected from host network or connected to host network".into(),
            ));
        }
        let name = r.name.trim_start_matches('/').to_string();
        if r.network_settings.networks.contains_key(&net.name) {
            return Err(RuntimeError::Other(format!(
                "endpoint with name {name} already exists in network {}",
                net.name
            )));
        }
        let settings = endpoint_settings(&net, request)?;
        r.network_settings.networks.insert(net.name.clone(), settings.clone());
        if r.state.running
            && let Err(e) = join_live(store, r, &net, &settings)
        {
            r.network_settings.networks.remove(&net.name);
            return Err(e);
        }
        Ok(())
    })?;
    Ok(())
}

/// Connects a running container: an address held by its monitor, an interface `ethN`.
fn join_live(
    store: &ContainerStore,
    r: &mut ContainerRecord,
    net: &NetworkRecord,
    settings: &EndpointSettings,
) -> Result<()> {
    let nets = NetworkStore::open(store.root())?;
    let name = r.name.trim_start_matches('/').to_string();
    let requested = settings
        .ipam_config
        .as_ref()
        .and_then(|c| c.ipv4_address.parse::<Ipv4Addr>().ok());
    let holder = (r.strata.monitor_pid, r.strata.monitor_start_time);
    let endpoint = ipam::allocate(&nets, net, &r.id, &name, requested, holder, &endpoint_live)?;
    let mut aliases = vec![name.clone(), r.id[..12].to_string()];
    aliases.extend(settings.aliases.clone().unwrap_or_default());
    let attachment = Attachment {
        network: net,
        endpoint: &endpoint,
        aliases,
        interface: format!("eth{}", r.network_settings.networks.len() - 1),
    };
    let single = SetupRequest::new(&r.id, &name, &[attachment], &[], &r.host_config.dns)?;
    let netns_path = PathBuf::from(&r.network_settings.sandbox_key);
    let status = match netavark::setup(&netns_path, &single) {
        Ok(s) => s,
        Err(e) => {
            let _ = ipam::release(&nets, net, &r.id);
            return Err(e.into());
        }
    };
    let request_path = store.container_dir(&r.id).join(REQUEST_FILE);
    if let Some(mut saved) = read_request(&request_path) {
        saved.networks.extend(single.networks);
        saved.network_info.extend(single.network_info);
        write_request(&request_path, &saved)?;
    }
    let mac = status
        .get(&net.name)
        .map(|s| s.mac_address.clone())
        .unwrap_or_default();
    let _ = ipam::set_mac(&nets, net, &r.id, &mac);
    if let Some(s) = r.network_settings.networks.get_mut(&net.name) {
        s.endpoint_id = endpoint.endpoint_id;
        s.ip_address = endpoint.ipv4.to_string();
        s.ip_prefix_len = u32::from(net.prefix_len());
        s.gateway = net.gateway.map(|g| g.to_string()).unwrap_or_default();
        s.mac_address = mac;
    }
    Ok(())
}

/// `network disconnect`: takes the container off a network (and the interface away while it
/// runs).
pub fn disconnect(store: &ContainerStore, container: &str, network: &str) -> Result<()> {
    let id = store.resolve(container)?;
    let net = NetworkStore::open(store.root())?.resolve(network)?;
    let _ = lifecycle::load_checked(store, &id)?;
    store.update(&id, |r| {
        if !r.network_settings.networks.contains_key(&net.name) {
            return Err(RuntimeError::Other(format!(
                "container {} is not connected to network {}",
                r.id, net.name
            )));
        }
        if !net.is_bridge() {
            return Err(RuntimeError::Other(
                "container cannot be disconnected from host network or connected to host network"
                    .into(),
            ));
        }
        if r.state.running {
            let request_path = store.container_dir(&r.id).join(REQUEST_FILE);
            if let Some(mut saved) = read_request(&request_path) {
                let mut single = saved.clone();
                single.networks.retain(|k, _| *k == net.name);
                single.network_info.retain(|k, _| *k == net.name);
                let netns_path = PathBuf::from(&r.network_settings.sandbox_key);
                netavark::teardown(&netns_path, &single)?;
                saved.networks.remove(&net.name);
                saved.network_info.remove(&net.name);
                write_request(&request_path, &saved)?;
            }
            let nets = NetworkStore::open(store.root())?;
            ipam::release(&nets, &net, &r.id)?;
        }
        r.network_settings.networks.remove(&net.name);
        if r.host_config.network_mode == net.name {
            // Docker keeps the mode; a later start joins the remaining networks.
            if let Some(first) = r.network_settings.networks.keys().next() {
                r.host_config.network_mode = first.clone();
            }
        }
        fill_top_level(&mut r.network_settings);
        Ok(())
    })?;
    Ok(())
}
