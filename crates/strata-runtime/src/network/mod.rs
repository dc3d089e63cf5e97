//! A container's networking, from the runtime's side: which networks `create` puts it on,
//! joining them when it starts (a namespace of its own, an address on each network, its
//! published ports held, netavark's plumbing) and leaving them when it exits, and the
//! `/etc/hosts`, `/etc/hostname` and `/etc/resolv.conf` it sees.

use std::collections::BTreeMap;
use std::fs;
use std::net::Ipv4Addr;
use std::path::Path;

use strata_network::netavark::{self, Attachment, SetupRequest};
pub use strata_network::ports;
use strata_network::ports::{HostBinding, Reservation};
use strata_network::{Endpoint, NetworkError, NetworkRecord, NetworkStore, ipam, netns};

use crate::error::{IoContext, Result, RuntimeError};
use crate::record::{ContainerRecord, EndpointSettings, IpamConfig, NetworkSettings};
use crate::store::ContainerStore;
use crate::{lifecycle, procinfo};

mod connect;
mod etc;

pub use connect::{connect, disconnect};
pub use etc::write_etc_files;

/// Where a container's network request to netavark is kept for its teardown.
const REQUEST_FILE: &str = "netavark.json";

/// How a container is networked, from `HostConfig.NetworkMode`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Host,
    None,
    /// `container:NAME`: the other container's namespace.
    Container(String),
    /// `bridge` or a user network (and whatever was connected since).
    Networks,
}

impl Mode {
    pub fn of(network_mode: &str) -> Mode {
        match network_mode {
            "host" => Mode::Host,
            "none" => Mode::None,
            m => match m.strip_prefix("container:") {
                Some(other) => Mode::Container(other.to_string()),
                None => Mode::Networks,
            },
        }
    }
}

/// What `create` was told about networking.
#[derive(Debug, Clone, Default)]
pub struct NetworkRequest {
    /// `--network`: empty means Docker's default, `bridge`.
    pub mode: String,
    pub ip: Option<String>,
    pub aliases: Vec<String>,
}

/// Resolves `--network` at create time: the mode to record and the initial
/// `NetworkSettings.Networks`. Unknown networks fail here, as in Docker.
pub fn settings_for_create(
    store: &ContainerStore,
    request: &NetworkRequest,
) -> Result<(String, BTreeMap<String, EndpointSettings>)> {
    let mode = if request.mode.is_empty() || request.mode == "default" {
        "bridge".to_string()
    } else {
        request.mode.clone()
    };
    let mut networks = BTreeMap::new();
    match Mode::of(&mode) {
        Mode::Container(other) => {
            let id = store.resolve(&other)?;
            if request.ip.is_some() || !request.aliases.is_empty() {
                return Err(RuntimeError::Other(
                    "conflicting options: network-scoped alias or IP with container network mode"
                        .into(),
                ));
            }
            return Ok((format!("container:{id}"), networks));
        }
        Mode::Host | Mode::None => {
            if request.ip.is_some() || !request.aliases.is_empty() {
                return Err(RuntimeError::Other(
                    "user specified IP address or alias is supported on user defined networks only"
                        .into(),
                ));
            }
            // Docker lists the mode's network even for host and none.
            let net = NetworkStore::open(store.root())?.resolve(&mode)?;
            networks.insert(
                net.name.clone(),
                EndpointSettings {
                    network_id: net.id,
                    ..EndpointSettings::default()
                },
            );
        }
        Mode::Networks => {
            let net = NetworkStore::open(store.root())?.resolve(&mode)?;
            networks.insert(net.name.clone(), endpoint_settings(&net, request)?);
            return Ok((net.name, networks));
        }
    }
    Ok((mode, networks))
}

/// The `Networks` entry for joining `net` with `--ip`/`--network-alias`.
pub fn endpoint_settings(
    net: &NetworkRecord,
    request: &NetworkRequest,
) -> Result<EndpointSettings> {
    if net.is_default_bridge() {
        if request.ip.is_some() {
            return Err(NetworkError::StaticIpOnDefaultBridge.into());
        }
        if !request.aliases.is_empty() {
            return Err(NetworkError::AliasOnDefaultBridge.into());
        }
    }
    if let Some(ip) = &request.ip {
        let addr: Ipv4Addr = ip
            .parse()
            .map_err(|_| RuntimeError::Other(format!("invalid IPv4 address: {ip}")))?;
        if !net.subnet.is_some_and(|s| s.contains(&addr)) {
            return Err(NetworkError::AddressOutsideSubnet(ip.clone()).into());
        }
    }
    Ok(EndpointSettings {
        ipam_config: request.ip.as_ref().map(|ip| IpamConfig {
            ipv4_address: ip.clone(),
        }),
        aliases: (!request.aliases.is_empty()).then(|| request.aliases.clone()),
        network_id: net.id.clone(),
        ..EndpointSettings::default()
    })
}

/// An endpoint is live while the monitor that took it runs.
fn endpoint_live(e: &Endpoint) -> bool {
    procinfo::is_same_process(e.holder_pid, e.holder_start)
}

/// `network rm`, with liveness judged by the holders of addresses; the bridge and its rules
/// go with it.
pub fn remove_network(root: &Path, key: &str) -> Result<NetworkRecord> {
    let record = NetworkStore::open(root)?.remove(key, &endpoint_live)?;
    if record.is_bridge()
        && netavark::available()
        && let Err(e) = netavark::forget(&record)
    {
        tracing::warn!("removing the bridge of network {}: {e}", record.name);
    }
    Ok(record)
}

/// The endpoints on a network now (for `network inspect`).
pub fn network_endpoints(root: &Path, net: &NetworkRecord) -> Result<Vec<Endpoint>> {
    if !net.is_bridge() {
        return Ok(Vec::new());
    }
    Ok(ipam::live_endpoints(
        &NetworkStore::open(root)?,
        net,
        &endpoint_live,
    )?)
}

/// Host ports other running containers of this store hold.
fn ports_taken(store: &ContainerStore, own: &str) -> Vec<(String, u16, String)> {
    let mut out = Vec::new();
    for r in store.all().unwrap_or_default() {
        if r.id == own || !lifecycle::monitor_alive(&r) {
            continue;
        }
        for (key, list) in &r.network_settings.ports {
            let Some((_, proto)) = ports::split_port_key(key) else {
                continue;
            };
            for b in list.iter().flatten() {
                if let Ok(port) = b.host_port.parse() {
                    out.push((b.host_ip.clone(), port, proto.clone()));
                }
            }
        }
    }
    out
}

/// `PortBindings`, plus a random host port for every exposed port with `-P`.
fn wanted_bindings(record: &ContainerRecord) -> BTreeMap<String, Vec<HostBinding>> {
    let mut wanted = record.host_config.port_bindings.clone();
    if record.host_config.publish_all_ports {
        for key in record.config.exposed_ports.iter().flat_map(|m| m.keys()) {
            wanted.entry(key.clone()).or_insert_with(|| {
                vec![HostBinding {
                    host_ip: String::new(),
                    host_port: String::new(),
                }]
            });
        }
    }
    wanted
}

/// The network names in interface order: the mode's network first (eth0), then the others.
fn joined_names(record: &ContainerRecord) -> Vec<String> {
    let mode = &record.host_config.network_mode;
    let mut names: Vec<String> = record.network_settings.networks.keys().cloned().collect();
    names.sort_by_key(|n| (n != mode, n.clone()));
    names
}

/// Joins the container's networks before its processes start. Returns the host ports held
/// for it (the caller keeps them while the container runs). The record's `NetworkSettings`
/// are filled in; on error nothing stays allocated.
pub fn join(store: &ContainerStore, record: &mut ContainerRecord) -> Result<Option<Reservation>> {
    match Mode::of(&record.host_config.network_mode) {
        Mode::Host => return Ok(None),
        Mode::None => {
            // A namespace of our own, so that its loopback is up as in Docker.
            let path = netns::path_for(&record.id);
            netns::create(&path, owner_userns(record).as_deref())?;
            record.network_settings.sandbox_key = path.to_string_lossy().into_owned();
            return Ok(None);
        }
        Mode::Container(other) => {
            let target = lifecycle::load_checked(store, &other)?;
            if !target.state.running {
                return Err(RuntimeError::Other(format!(
                    "cannot join network of a non running container: {}",
                    target.id
                )));
            }
            record.network_settings.sandbox_key = format!("/proc/{}/ns/net", target.state.pid);
            return Ok(None);
        }
        Mode::Networks => {}
    }
    let result = join_networks(store, record);
    if result.is_err() {
        leave(store, record);
    }
    result.map(Some)
}

fn join_networks(store: &ContainerStore, record: &mut ContainerRecord) -> Result<Reservation> {
    let nets = NetworkStore::open(store.root())?;
    let holder_pid = std::process::id() as i32;
    let holder = (holder_pid, procinfo::start_time(holder_pid).unwrap_or(0));
    let name = record.name.trim_start_matches('/').to_string();
    let mut joined: Vec<(NetworkRecord, Endpoint, Vec<String>)> = Vec::new();
    for net_name in joined_names(record) {
        let settings = record
            .network_settings
            .networks
            .get(&net_name)
            .cloned()
            .unwrap_or_default();
        let net = nets.resolve(&net_name)?;
        if !net.is_bridge() {
            return Err(RuntimeError::Other(format!(
                "container cannot be disconnected from host network or connected to host network: {net_name}"
            )));
        }
        let requested = settings
            .ipam_config
            .as_ref()
            .filter(|c| !c.ipv4_address.is_empty())
            .map(|c| c.ipv4_address.parse::<Ipv4Addr>())
            .transpose()
            .map_err(|e| RuntimeError::Other(format!("invalid IPv4 address: {e}")))?;
        let endpoint = ipam::allocate(
            &nets,
            &net,
            &record.id,
            &name,
            requested,
            holder,
            &endpoint_live,
        )?;
        let mut aliases = vec![name.clone(), record.id[..12].to_string()];
        aliases.extend(settings.aliases.clone().unwrap_or_default());
        joined.push((net, endpoint, aliases));
    }
    // Leave can find what was allocated from here on, even if a step below fails.
    for (net, endpoint, _) in &joined {
        if let Some(s) = record.network_settings.networks.get_mut(&net.name) {
            s.network_id = net.id.clone();
            s.endpoint_id = endpoint.endpoint_id.clone();
            s.ip_address = endpoint.ipv4.to_string();
            s.ip_prefix_len = u32::from(net.prefix_len());
            s.gateway = net.gateway.map(|g| g.to_string()).unwrap_or_default();
        }
    }
    let endpoint_name = match joined.first() {
        Some((_, e, _)) => format!("{name} ({})", e.endpoint_id),
        None => name.clone(),
    };
    let wanted = wanted_bindings(record);
    // Other containers' ports matter only when this one publishes any (it reads every record).
    let taken = if wanted.is_empty() {
        Vec::new()
    } else {
        ports_taken(store, &record.id)
    };
    let reservation = ports::reserve(&wanted, &taken, &endpoint_name)?;
    let netns_path = netns::path_for(&record.id);
    record.network_settings.sandbox_key = netns_path.to_string_lossy().into_owned();
    record.network_settings.sandbox_id = record.id.clone();
    netns::create(&netns_path, owner_userns(record).as_deref())?;
    let attachments: Vec<Attachment<'_>> = joined
        .iter()
        .enumerate()
        .map(|(i, (net, endpoint, aliases))| Attachment {
            network: net,
            endpoint,
            aliases: aliases.clone(),
            interface: format!("eth{i}"),
        })
        .collect();
    let request = SetupRequest::new(
        &record.id,
        &name,
        &attachments,
        &reservation.mappings,
        &record.host_config.dns,
    )?;
    let dir = store.container_dir(&record.id);
    let request_path = dir.join(REQUEST_FILE);
    let bytes = serde_json::to_vec_pretty(&request)
        .map_err(|e| RuntimeError::Other(format!("encode network request: {e}")))?;
    fs::write(&request_path, bytes).at(&request_path)?;
    let status = netavark::setup(&netns_path, &request)?;
    for (net, _, _) in &joined {
        let Some(st) = status.get(&net.name) else {
            continue;
        };
        let _ = ipam::set_mac(&nets, net, &record.id, &st.mac_address);
        if let Some(s) = record.network_settings.networks.get_mut(&net.name) {
            s.mac_address = st.mac_address.clone();
        }
    }
    let mut published: BTreeMap<String, Option<Vec<HostBinding>>> = BTreeMap::new();
    for key in record.config.exposed_ports.iter().flat_map(|m| m.keys()) {
        published.insert(key.clone(), None);
    }
    for m in &reservation.mappings {
        published
            .entry(format!("{}/{}", m.container_port, m.proto))
            .or_insert(None)
            .get_or_insert_with(Vec::new)
            .push(HostBinding {
                host_ip: m.host_ip.clone(),
                host_port: m.host_port.to_string(),
            });
    }
    record.network_settings.ports = published;
    fill_top_level(&mut record.network_settings);
    Ok(reservation)
}

/// The user namespace a container's network namespace must belong to (`--userns=auto`).
fn owner_userns(record: &ContainerRecord) -> Option<std::path::PathBuf> {
    (record.host_config.userns_mode == "auto").then(|| crate::userns::path_for(&record.id))
}

/// Docker repeats the default bridge's endpoint at the top level of `NetworkSettings`.
fn fill_top_level(settings: &mut NetworkSettings) {
    let bridge = settings.networks.get("bridge").cloned().unwrap_or_default();
    settings.endpoint_id = bridge.endpoint_id;
    settings.gateway = bridge.gateway;
    settings.ip_address = bridge.ip_address;
    settings.ip_prefix_len = bridge.ip_prefix_len;
    settings.mac_address = bridge.mac_address;
}

/// Leaves every network: netavark's teardown, addresses freed, namespace removed, and the
/// run-time parts of `NetworkSettings` cleared. Safe to call more than once.
pub fn leave(store: &ContainerStore, record: &mut ContainerRecord) {
    match Mode::of(&record.host_config.network_mode) {
        Mode::Networks => {}
        Mode::None => {
            if let Err(e) = netns::remove(&netns::path_for(&record.id)) {
                tracing::warn!("{e}");
            }
            record.network_settings.sandbox_key.clear();
            return;
        }
        _ => {
            record.network_settings.sandbox_key.clear();
            return;
        }
    }
    let dir = store.container_dir(&record.id);
    let request_path = dir.join(REQUEST_FILE);
    let netns_path = netns::path_for(&record.id);
    if let Ok(bytes) = fs::read(&request_path)
        && let Ok(request) = serde_json::from_slice::<SetupRequest>(&bytes)
    {
        if netns_path.exists()
            && let Err(e) = netavark::teardown(&netns_path, &request)
        {
            tracing::warn!("network teardown of {}: {e}", record.id);
        }
        let _ = fs::remove_file(&request_path);
    }
    if let Err(e) = netns::remove(&netns_path) {
        tracing::warn!("{e}");
    }
    if let Ok(nets) = NetworkStore::open(store.root()) {
        for name in record.network_settings.networks.keys() {
            if let Ok(net) = nets.resolve(name)
                && net.is_bridge()
                && let Err(e) = ipam::release(&nets, &net, &record.id)
            {
                tracing::warn!("{e}");
            }
        }
    }
    let settings = &mut record.network_settings;
    settings.sandbox_key.clear();
    settings.sandbox_id.clear();
    settings.ports.clear();
    for s in settings.networks.values_mut() {
        s.endpoint_id.clear();
        s.ip_address.clear();
        s.ip_prefix_len = 0;
        s.gateway.clear();
        s.mac_address.clear();
    }
    fill_top_level(settings);
}

/// Whether bridge networking can work here (netavark installed).
pub fn bridge_available() -> bool {
    netavark::available()
}
