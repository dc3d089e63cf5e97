//! Networks on disk: `<root>/networks/<id>.json`, one file a network, written by temp file,
//! fsync and rename; `<root>/networks/lock` serializes every change (records and address
//! allocations alike).

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{Read, Write};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use chrono::Utc;
use ipnet::Ipv4Net;

use crate::error::{IoContext, NetworkError, Result};
use crate::network::{self, NetworkRecord};

/// The default bridge's subnet unless `STRATA_BRIDGE_SUBNET` says otherwise when the store's
/// networks are first made (Docker's `bip`).
pub const DEFAULT_BRIDGE_SUBNET: &str = "172.30.0.0/16";
pub const DEFAULT_BRIDGE_INTERFACE: &str = "strata0";

/// The store's networks.
#[derive(Debug, Clone)]
pub struct NetworkStore {
    dir: PathBuf,
    run_dir: PathBuf,
}

/// Where live address allocations are kept (see `ipam`).
pub const RUN_DIR: &str = "/run/strata/networks";

/// An exclusive hold on the networks directory; released on drop.
pub struct NetworkLock {
    _file: File,
}

/// What `network create` was told.
#[derive(Debug, Clone, Default)]
pub struct CreateRequest {
    pub name: String,
    pub driver: Option<String>,
    pub subnet: Option<String>,
    pub gateway: Option<String>,
    pub internal: bool,
    pub attachable: bool,
    pub labels: BTreeMap<String, String>,
    pub options: BTreeMap<String, String>,
}

pub(crate) fn random_hex(bytes: usize) -> Result<String> {
    let mut buf = vec![0u8; bytes];
    File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .at("/dev/urandom")?;
    Ok(hex::encode(buf))
}

/// Writes `bytes` to `path` so that a reader sees the old or the new content, never part.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let mut file = File::create(&tmp).at(&tmp)?;
    file.write_all(bytes).at(&tmp)?;
    file.sync_all().at(&tmp)?;
    fs::rename(&tmp, path).at(path)
}

fn parse_subnet(text: &str) -> Result<Ipv4Net> {
    let net: Ipv4Net = text
        .parse()
        .map_err(|_| NetworkError::InvalidSubnet(text.to_string()))?;
    // Docker keeps the network address: 10.1.2.3/16 means 10.1.0.0/16.
    Ok(net.trunc())
}

/// The first usable address: the gateway by convention.
fn first_host(net: Ipv4Net) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(net.network()) + 1)
}

fn is_valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

impl NetworkStore {
    /// Opens (and on first use makes) the networks of the store at `root`.
    pub fn open(root: &Path) -> Result<NetworkStore> {
        NetworkStore::open_at(root, Path::new(RUN_DIR))
    }

    /// `open` with the allocations kept in `run_dir` instead of /run (for tests).
    pub fn open_at(root: &Path, run_dir: &Path) -> Result<NetworkStore> {
        let dir = root.join("networks");
        fs::create_dir_all(&dir).at(&dir)?;
        let store = NetworkStore {
            dir,
            run_dir: run_dir.to_path_buf(),
        };
        store.ensure_predefined()?;
        Ok(store)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn run_dir(&self) -> &Path {
        &self.run_dir
    }

    /// Serializes changes to this store's network records.
    pub fn lock(&self) -> Result<NetworkLock> {
        lock_file(&self.dir.join("lock"))
    }

    /// Serializes address allocation: host-wide, like the allocations, since stores that share
    /// a bridge share its addresses.
    pub fn allocation_lock(&self) -> Result<NetworkLock> {
        fs::create_dir_all(&self.run_dir).at(&self.run_dir)?;
        lock_file(&self.run_dir.join("lock"))
    }

    fn record_path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }

    fn ensure_predefined(&self) -> Result<()> {
        let existing = self.list()?;
        if network::PREDEFINED
            .iter()
            .all(|n| existing.iter().any(|r| r.name == *n))
        {
            return Ok(());
        }
        let _lock = self.lock()?;
        let existing = self.list()?;
        for name in network::PREDEFINED {
            if existing.iter().any(|r| r.name == name) {
                continue;
            }
            let mut record = NetworkRecord {
                name: name.to_string(),
                id: random_hex(32)?,
                created: Utc::now(),
                driver: match name {
                    "bridge" => network::BRIDGE,
                    "host" => network::HOST,
                    _ => network::NULL,
                }
                .to_string(),
                subnet: None,
                gateway: None,
                subnet_from_user: false,
                gateway_from_user: false,
                interface: String::new(),
                internal: false,
                attachable: false,
                labels: BTreeMap::new(),
                options: BTreeMap::new(),
            };
            if name == "bridge" {
                let text = std::env::var("STRATA_BRIDGE_SUBNET")
                    .unwrap_or_else(|_| DEFAULT_BRIDGE_SUBNET.to_string());
                let subnet = parse_subnet(&text)?;
                record.subnet = Some(subnet);
                record.gateway = Some(first_host(subnet));
                record.interface = DEFAULT_BRIDGE_INTERFACE.to_string();
                for (k, v) in [
                    ("com.docker.network.bridge.default_bridge", "true"),
                    ("com.docker.network.bridge.enable_icc", "true"),
                    ("com.docker.network.bridge.enable_ip_masquerade", "true"),
                    ("com.docker.network.bridge.host_binding_ipv4", "0.0.0.0"),
                    ("com.docker.network.bridge.name", DEFAULT_BRIDGE_INTERFACE),
                    ("com.docker.network.driver.mtu", "1500"),
                ] {
                    record.options.insert(k.into(), v.into());
                }
            }
            self.save(&record)?;
        }
        Ok(())
    }

    fn save(&self, record: &NetworkRecord) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(record)
            .map_err(|e| NetworkError::Other(format!("encode network: {e}")))?;
        write_atomic(&self.record_path(&record.id), &bytes)
    }

    /// Every network, sorted by name as `network ls` shows them.
    pub fn list(&self) -> Result<Vec<NetworkRecord>> {
        let mut out = Vec::new();
        for entry in fs::read_dir(&self.dir).at(&self.dir)? {
            let path = entry.at(&self.dir)?.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if !name.ends_with(".json") {
                continue;
            }
            let text = match fs::read(&path) {
                Ok(t) => t,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(NetworkError::io(&path, e)),
            };
            let record: NetworkRecord = serde_json::from_slice(&text).map_err(|e| {
                NetworkError::Other(format!("{}: corrupt network record: {e}", path.display()))
            })?;
            out.push(record);
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// A network by full ID, name, or unique ID prefix (Docker's order).
    pub fn resolve(&self, key: &str) -> Result<NetworkRecord> {
        let all = self.list()?;
        if let Some(r) = all.iter().find(|r| r.id == key) {
            return Ok(r.clone());
        }
        if let Some(r) = all.iter().find(|r| r.name == key) {
            return Ok(r.clone());
        }
        let mut by_prefix = all.iter().filter(|r| r.id.starts_with(key));
        match (by_prefix.next(), by_prefix.next()) {
            (Some(r), None) if !key.is_empty() => Ok(r.clone()),
            (Some(_), Some(_)) => Err(NetworkError::Other(format!(
                "network {key} is ambiguous ({} matches found based on ID prefix)",
                all.iter().filter(|r| r.id.starts_with(key)).count()
            ))),
            _ => Err(NetworkError::NotFound(key.to_string())),
        }
    }

    /// `network create`: a bridge network with the given or the next free subnet.
    pub fn create(&self, req: &CreateRequest) -> Result<NetworkRecord> {
        let driver = req.driver.clone().unwrap_or_else(|| "bridge".into());
        if driver != network::BRIDGE {
            return Err(NetworkError::Other(format!(
                "plugin \"{driver}\" not found: strata supports the bridge driver only"
            )));
        }
        if !is_valid_name(&req.name) {
            return Err(NetworkError::Other(format!(
                "invalid name \"{}\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
                req.name
            )));
        }
        let _lock = self.lock()?;
        let existing = self.list()?;
        if existing.iter().any(|r| r.name == req.name) {
            return Err(NetworkError::NameExists(req.name.clone()));
        }
        let taken: Vec<Ipv4Net> = existing.iter().filter_map(|r| r.subnet).collect();
        let overlaps = |net: &Ipv4Net| {
            taken
                .iter()
                .any(|t| t.contains(&net.network()) || net.contains(&t.network()))
        };
        let (subnet, from_user) = match &req.subnet {
            Some(text) => {
                let net = parse_subnet(text)?;
                if overlaps(&net) {
                    return Err(NetworkError::PoolOverlap);
                }
                (net, true)
            }
            None => {
                let routes = host_routes();
                let free = default_pools().into_iter().find(|net| {
                    !overlaps(net)
                        && !routes
                            .iter()
                            .any(|r| r.contains(&net.network()) || net.contains(&r.network()))
                });
                (free.ok_or(NetworkError::NoFreePool)?, false)
            }
        };
        let gateway = match &req.gateway {
            Some(text) => {
                let gw: Ipv4Addr = text
                    .parse()
                    .map_err(|_| NetworkError::Other(format!("invalid gateway address: {text}")))?;
                if !subnet.contains(&gw) || gw == subnet.network() || gw == subnet.broadcast() {
                    return Err(NetworkError::GatewayOutsideSubnet {
                        gateway: text.clone(),
                        subnet: subnet.to_string(),
                    });
                }
                gw
            }
            None => first_host(subnet),
        };
        let id = random_hex(32)?;
        let record = NetworkRecord {
            name: req.name.clone(),
            interface: format!("br-{}", &id[..12]),
            id,
            created: Utc::now(),
            driver,
            subnet: Some(subnet),
            gateway: Some(gateway),
            subnet_from_user: from_user,
            gateway_from_user: req.gateway.is_some(),
            internal: req.internal,
            attachable: req.attachable,
            labels: req.labels.clone(),
            options: req.options.clone(),
        };
        self.save(&record)?;
        Ok(record)
    }

    /// `network rm`: refused for predefined networks and for networks with live endpoints.
    pub fn remove(
        &self,
        key: &str,
        is_live: &dyn Fn(&crate::network::Endpoint) -> bool,
    ) -> Result<NetworkRecord> {
        let record = self.resolve(key)?;
        if record.is_predefined() {
            return Err(NetworkError::Predefined(record.name));
        }
        if !crate::ipam::live_endpoints(self, &record, is_live)?.is_empty() {
            return Err(NetworkError::InUse {
                name: record.name,
                id: record.id,
            });
        }
        let _lock = self.lock()?;
        let path = self.record_path(&record.id);
        fs::remove_file(&path).at(&path)?;
        let _ = fs::remove_file(crate::ipam::endpoints_path(self, &record.interface));
        Ok(record)
    }
}

fn lock_file(path: &Path) -> Result<NetworkLock> {
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .at(path)?;
    rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive)
        .map_err(|e| NetworkError::io(path, e.into()))?;
    Ok(NetworkLock { _file: file })
}

/// Docker's default address pools for user networks: 172.17-31.0.0/16, then
/// 192.168.0.0/16 in /20 steps.
fn default_pools() -> Vec<Ipv4Net> {
    let mut pools = Vec::new();
    for b in 17..=31u8 {
        if let Ok(net) = Ipv4Net::new(Ipv4Addr::new(172, b, 0, 0), 16) {
            pools.push(net);
        }
    }
    for c in (0..=240u8).step_by(16) {
        if let Ok(net) = Ipv4Net::new(Ipv4Addr::new(192, 168, c, 0), 20) {
            pools.push(net);
        }
    }
    pools
}

/// The host's routed subnets (not the default route): a new network must not shadow them.
fn host_routes() -> Vec<Ipv4Net> {
    let Ok(text) = fs::read_to_string("/proc/net/route") else {
        return Vec::new();
    };
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let dest = u32::from_str_radix(fields.get(1)?, 16).ok()?;
            let mask = u32::from_str_radix(fields.get(7)?, 16).ok()?;
            if mask == 0 {
                return None;
            }
            // /proc/net/route prints addresses in host (little-endian) byte order.
            let addr = Ipv4Addr::from(u32::from_be(dest.to_le()));
            let prefix = u32::from_be(mask.to_le()).leading_ones() as u8;
            Ipv4Net::new(addr, prefix).ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, NetworkStore) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = NetworkStore::open_at(dir.path(), &dir.path().join("run")).expect("open");
        (dir, store)
    }

    #[test]
    fn predefined_networks_exist_once() {
        let (dir, store) = store();
        let again = NetworkStore::open_at(dir.path(), store.run_dir()).expect("reopen");
        let names: Vec<String> = again
            .list()
            .expect("list")
            .into_iter()
            .map(|r| r.name)
            .collect();
        assert_eq!(names, ["bridge", "host", "none"]);
        let bridge = store.resolve("bridge").expect("bridge");
        assert_eq!(
            bridge.subnet.map(|s| s.to_string()).as_deref(),
            Some("172.30.0.0/16")
        );
        assert_eq!(bridge.gateway, Some(Ipv4Addr::new(172, 30, 0, 1)));
    }

    #[test]
    fn create_picks_free_pools_and_refuses_clashes() {
        let (_dir, store) = store();
        let req = |name: &str, subnet: Option<&str>| CreateRequest {
            name: name.into(),
            subnet: subnet.map(String::from),
            ..CreateRequest::default()
        };
        let a = store.create(&req("a", None)).expect("a");
        let b = store.create(&req("b", None)).expect("b");
        assert_ne!(a.subnet, b.subnet);
        assert!(a.interface.starts_with("br-") && a.interface.len() == 15);
        let err = store.create(&req("a", None)).expect_err("dup");
        assert_eq!(err.to_string(), "network with name a already exists");
        let err = store
            .create(&req("c", Some("172.30.5.0/24")))
            .expect_err("overlap");
        assert_eq!(
            err.to_string(),
            "Pool overlaps with other one on this address space"
        );
        let err = store
            .create(&req("d", Some("10.0.0.0/33")))
            .expect_err("bad");
        assert!(
            err.to_string()
                .contains("invalid CIDR address: 10.0.0.0/33")
        );
        let e = store.create(&req("e", Some("10.9.8.7/16"))).expect("e");
        assert_eq!(
            e.subnet.map(|s| s.to_string()).as_deref(),
            Some("10.9.0.0/16")
        );
        assert_eq!(e.gateway, Some(Ipv4Addr::new(10, 9, 0, 1)));
        assert_eq!(store.resolve(&e.id[..6]).expect("prefix").name, "e");
    }

    #[test]
    fn remove_refuses_predefined_and_unknown() {
        let (_dir, store) = store();
        let err = store.remove("bridge", &|_| true).expect_err("predefined");
        assert_eq!(
            err.to_string(),
            "bridge is a pre-defined network and cannot be removed"
        );
        let err = store.remove("nope", &|_| true).expect_err("unknown");
        assert_eq!(err.to_string(), "network nope not found");
    }
}
