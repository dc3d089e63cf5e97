//! The kernel side through netavark: it makes the bridge, the veth pair, addresses, routes,
//! the NAT and port-forwarding rules (including connections from the host's own loopback),
//! and starts aardvark-dns for networks with name resolution. We give it the addresses we
//! allocated; it keeps no state of its own but aardvark's, under `/run/strata/netavark`.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::{IoContext, NetworkError, Result};
use crate::network::{Endpoint, NetworkRecord};
use crate::ports::PortMapping;
use crate::{keeper, netns};

pub const CONFIG_DIR: &str = "/run/strata/netavark";

/// The JSON netavark reads on stdin (its `NetworkOptions`), kept beside the container so
/// that teardown undoes exactly what setup did.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SetupRequest {
    pub container_id: String,
    pub container_name: String,
    pub networks: BTreeMap<String, Value>,
    pub network_info: BTreeMap<String, Value>,
    pub port_mappings: Vec<Value>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub dns_servers: Vec<String>,
}

/// One network to join: the record, the address allocated on it and DNS aliases.
pub struct Attachment<'a> {
    pub network: &'a NetworkRecord,
    pub endpoint: &'a Endpoint,
    pub aliases: Vec<String>,
    /// `eth0`, `eth1`, … in the order the container joined.
    pub interface: String,
}

/// What netavark reports per network.
#[derive(Debug, Clone, Default)]
pub struct InterfaceStatus {
    pub mac_address: String,
    pub gateway: Option<Ipv4Addr>,
    pub dns_servers: Vec<String>,
}

impl SetupRequest {
    pub fn new(
        container_id: &str,
        container_name: &str,
        attachments: &[Attachment<'_>],
        ports: &[PortMapping],
        dns_servers: &[String],
    ) -> Result<SetupRequest> {
        let mut networks = BTreeMap::new();
        let mut network_info = BTreeMap::new();
        for a in attachments {
            let net = a.network;
            let subnet = net.subnet.ok_or_else(|| {
                NetworkError::Other(format!("network {} has no subnet", net.name))
            })?;
            // Docker's default bridge has no name resolution; user networks do.
            let dns = !net.is_default_bridge();
            networks.insert(
                net.name.clone(),
                json!({
                    "interface_name": a.interface,
                    "static_ips": [a.endpoint.ipv4.to_string()],
                    "aliases": if dns { a.aliases.clone() } else { Vec::new() },
                }),
            );
            network_info.insert(
                net.name.clone(),
                json!({
                    "name": net.name,
                    "id": net.id,
                    "driver": "bridge",
                    "network_interface": net.interface,
                    "subnets": [{"subnet": subnet.to_string(), "gateway": net.gateway.map(|g| g.to_string())}],
                    "ipv6_enabled": false,
                    "internal": net.internal,
                    "dns_enabled": dns,
                    "ipam_options": {"driver": "host-local"},
                }),
            );
        }
        let port_mappings = ports
            .iter()
            .map(|p| {
                json!({
                    "host_ip": if p.host_ip == "0.0.0.0" { "" } else { p.host_ip.as_str() },
                    "container_port": p.container_port,
                    "host_port": p.host_port,
                    "range": 1,
                    "protocol": p.proto,
                })
            })
            .collect();
        Ok(SetupRequest {
            container_id: container_id.to_string(),
            container_name: container_name.to_string(),
            networks,
            network_info,
            port_mappings,
            dns_servers: dns_servers.to_vec(),
        })
    }
}

fn find(env: &str, name: &str) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(env) {
        return Some(PathBuf::from(p));
    }
    let mut candidates: Vec<PathBuf> = [
        "/usr/lib/podman",
        "/usr/libexec/podman",
        "/usr/local/libexec/podman",
    ]
    .iter()
    .map(|d| Path::new(d).join(name))
    .collect();
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path).map(|d| d.join(name)));
    }
    candidates.into_iter().find(|p| p.is_file())
}

/// Whether netavark is installed (bridge networking is possible).
pub fn available() -> bool {
    find("STRATA_NETAVARK", "netavark").is_some()
}

/// Held while netavark runs: it does not serialize itself, and two setups at once race on
/// the same bridge and iptables chains ("Chain already exists"). Podman holds a lock around
/// it; so do we, host-wide, since every store shares the kernel's tables.
fn lock() -> Result<std::fs::File> {
    std::fs::create_dir_all(CONFIG_DIR).at(CONFIG_DIR)?;
    let lock_path = Path::new(CONFIG_DIR).join("strata.lock");
    let lock = std::fs::File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .at(&lock_path)?;
    rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive)
        .map_err(|e| NetworkError::io(&lock_path, e.into()))?;
    Ok(lock)
}

/// Runs netavark; the caller holds `lock()`.
fn run(action: &'static str, netns: &Path, request: &SetupRequest) -> Result<Vec<u8>> {
    let binary = find("STRATA_NETAVARK", "netavark").ok_or(NetworkError::NetavarkMissing)?;
    let aardvark =
        find("STRATA_AARDVARK_DNS", "aardvark-dns").ok_or(NetworkError::NetavarkMissing)?;
    let input = serde_json::to_vec(request)
        .map_err(|e| NetworkError::Other(format!("encode netavark request: {e}")))?;
    let mut child = Command::new(&binary)
        .arg("--config")
        .arg(CONFIG_DIR)
        .arg("--aardvark-binary")
        .arg(&aardvark)
        .arg(action)
        .arg(netns)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .at(&binary)?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(&input).at(&binary)?;
    }
    let output = child.wait_with_output().at(&binary)?;
    if output.status.success() {
        return Ok(output.stdout);
    }
    // netavark prints `{"error": "..."}` on stdout; fall back to stderr.
    let message = serde_json::from_slice::<Value>(&output.stdout)
        .ok()
        .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_else(|| String::from_utf8_lossy(&output.stderr).trim().to_string());
    Err(NetworkError::Netavark { action, message })
}

/// Configures the namespace at `netns`; returns per network what the interface got.
pub fn setup(netns: &Path, request: &SetupRequest) -> Result<BTreeMap<String, InterfaceStatus>> {
    let _lock = lock()?;
    let stdout = match run("setup", netns, request) {
        Ok(out) => out,
        Err(e) => {
            // A failed setup may have done part of its work: undo it.
            let _ = run("teardown", netns, request);
            return Err(e);
        }
    };
    for info in request.network_info.values() {
        if let Some(bridge) = info.get("network_interface").and_then(Value::as_str) {
            keeper::ensure(bridge);
        }
    }
    let report: BTreeMap<String, Value> = serde_json::from_slice(&stdout)
        .map_err(|e| NetworkError::Other(format!("netavark's answer: {e}")))?;
    let mut out = BTreeMap::new();
    for (name, block) in report {
        let mut status = InterfaceStatus::default();
        if let Some(ifaces) = block.get("interfaces").and_then(Value::as_object) {
            for iface in ifaces.values() {
                if let Some(mac) = iface.get("mac_address").and_then(Value::as_str) {
                    status.mac_address = mac.to_string();
                }
                status.gateway = iface
                    .pointer("/subnets/0/gateway")
                    .and_then(Value::as_str)
                    .and_then(|g| g.parse().ok());
            }
        }
        if let Some(servers) = block.get("dns_server_ips").and_then(Value::as_array) {
            status.dns_servers = servers
                .iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect();
        }
        out.insert(name, status);
    }
    Ok(out)
}

/// Undoes `setup`: removes the veth, the rules and the container's DNS entries (and the
/// bridge when its last container leaves).
pub fn teardown(netns: &Path, request: &SetupRequest) -> Result<()> {
    let _lock = lock()?;
    run("teardown", netns, request).map(|_| ())
}

/// Takes a removed network's bridge and firewall rules away: its keeper is deleted, then a
/// throwaway namespace joins and leaves the network, which makes netavark tear the bridge
/// and the network's rules down as for its last container.
pub fn forget(network: &NetworkRecord) -> Result<()> {
    let _lock = lock()?;
    keeper::remove(&network.interface);
    if !Path::new("/sys/class/net")
        .join(&network.interface)
        .exists()
    {
        return Ok(());
    }
    let Some(subnet) = network.subnet else {
        return Ok(());
    };
    // The last host address: unlikely to be held, and any address of the subnet will do.
    let ip = Ipv4Addr::from(u32::from(subnet.broadcast()) - 1);
    let endpoint = Endpoint {
        container_id: format!("strata-forget-{}", network.id),
        container_name: "strata-forget".into(),
        endpoint_id: String::new(),
        ipv4: ip,
        mac_address: String::new(),
        holder_pid: 0,
        holder_start: 0,
    };
    let attachment = Attachment {
        network,
        endpoint: &endpoint,
        aliases: Vec::new(),
        interface: "eth0".into(),
    };
    let request = SetupRequest::new(
        &endpoint.container_id,
        "strata-forget",
        &[attachment],
        &[],
        &[],
    )?;
    let path = netns::path_for(&endpoint.container_id);
    netns::create(&path, None)?;
    let result = run("setup", &path, &request).and_then(|_| run("teardown", &path, &request));
    let _ = netns::remove(&path);
    result.map(|_| ())
}
