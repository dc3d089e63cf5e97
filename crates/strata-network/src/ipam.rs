//! Address allocation: `/run/strata/networks/<bridge>.json` lists the containers that hold an
//! address on a bridge while they run, changed only under `/run/strata/networks/lock`. It lives in /run because addresses live as long as the
//! processes holding them (a reboot frees them all), and it is keyed by the bridge, not by the
//! store, because two stores that use the same bridge share its addresses. An endpoint whose
//! holder is gone (a monitor killed) is found stale and its address reused.

use std::fs;
use std::net::Ipv4Addr;
use std::path::PathBuf;

use crate::error::{NetworkError, Result};
use crate::network::{Endpoint, NetworkRecord};
use crate::store::{NetworkStore, random_hex, write_atomic};

pub(crate) fn endpoints_path(store: &NetworkStore, interface: &str) -> PathBuf {
    store.run_dir().join(format!("{interface}.json"))
}

/// The endpoints on a bridge; the caller holds the store lock or accepts a snapshot.
pub(crate) fn endpoints_unlocked(store: &NetworkStore, interface: &str) -> Result<Vec<Endpoint>> {
    let path = endpoints_path(store, interface);
    match fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
            NetworkError::Other(format!("{}: corrupt endpoints: {e}", path.display()))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(NetworkError::io(path, e)),
    }
}

fn save(store: &NetworkStore, network_id: &str, endpoints: &[Endpoint]) -> Result<()> {
    let bytes = serde_json::to_vec_pretty(endpoints)
        .map_err(|e| NetworkError::Other(format!("encode endpoints: {e}")))?;
    let path = endpoints_path(store, network_id);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| NetworkError::io(dir, e))?;
    }
    write_atomic(&path, &bytes)
}

/// Gives `container_id` an address on `network`: `requested` if free and in the subnet,
/// else the lowest free one after the gateway, held by `holder` (pid, start time). Endpoints
/// for which `is_live` is false are dropped first.
pub fn allocate(
    store: &NetworkStore,
    network: &NetworkRecord,
    container_id: &str,
    container_name: &str,
    requested: Option<Ipv4Addr>,
    holder: (i32, u64),
    is_live: &dyn Fn(&Endpoint) -> bool,
) -> Result<Endpoint> {
    let subnet = network
        .subnet
        .ok_or_else(|| NetworkError::Other(format!("network {} has no subnet", network.name)))?;
    if requested.is_some() && network.is_default_bridge() {
        return Err(NetworkError::StaticIpOnDefaultBridge);
    }
    let _lock = store.allocation_lock()?;
    let mut endpoints = endpoints_unlocked(store, &network.interface)?;
    endpoints.retain(|e| e.container_id != container_id && is_live(e));
    let taken = |ip: Ipv4Addr| {
        Some(ip) == network.gateway
            || ip == subnet.network()
            || ip == subnet.broadcast()
            || endpoints.iter().any(|e| e.ipv4 == ip)
    };
    let ipv4 = match requested {
        Some(ip) => {
            if !subnet.contains(&ip) {
                return Err(NetworkError::AddressOutsideSubnet(ip.to_string()));
            }
            if taken(ip) {
                return Err(NetworkError::AddressInUse);
            }
            ip
        }
        None => subnet.hosts().find(|ip| !taken(*ip)).ok_or_else(|| {
            NetworkError::AddressesExhausted {
                name: network.name.clone(),
                id: network.id.clone(),
            }
        })?,
    };
    let endpoint = Endpoint {
        container_id: container_id.to_string(),
        container_name: container_name.to_string(),
        endpoint_id: random_hex(32)?,
        ipv4,
        mac_address: String::new(),
        holder_pid: holder.0,
        holder_start: holder.1,
    };
    endpoints.push(endpoint.clone());
    save(store, &network.interface, &endpoints)?;
    Ok(endpoint)
}

/// Records the MAC address the interface got.
pub fn set_mac(
    store: &NetworkStore,
    network: &NetworkRecord,
    container_id: &str,
    mac: &str,
) -> Result<()> {
    let _lock = store.allocation_lock()?;
    let mut endpoints = endpoints_unlocked(store, &network.interface)?;
    for e in endpoints
        .iter_mut()
        .filter(|e| e.container_id == container_id)
    {
        e.mac_address = mac.to_string();
    }
    save(store, &network.interface, &endpoints)
}

/// Frees the container's address on the network (nothing if it holds none).
pub fn release(store: &NetworkStore, network: &NetworkRecord, container_id: &str) -> Result<()> {
    let _lock = store.allocation_lock()?;
    let mut endpoints = endpoints_unlocked(store, &network.interface)?;
    let before = endpoints.len();
    endpoints.retain(|e| e.container_id != container_id);
    if endpoints.len() != before {
        save(store, &network.interface, &endpoints)?;
    }
    Ok(())
}

/// The endpoints whose holder still lives, stale ones dropped from disk on the way.
pub fn live_endpoints(
    store: &NetworkStore,
    network: &NetworkRecord,
    is_live: &dyn Fn(&Endpoint) -> bool,
) -> Result<Vec<Endpoint>> {
    let _lock = store.allocation_lock()?;
    let mut endpoints = endpoints_unlocked(store, &network.interface)?;
    let before = endpoints.len();
    endpoints.retain(|e| is_live(e));
    if endpoints.len() != before {
        save(store, &network.interface, &endpoints)?;
    }
    Ok(endpoints)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::CreateRequest;

    #[test]
    fn allocates_distinct_addresses_and_reuses_released_and_stale_ones() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = NetworkStore::open_at(dir.path(), &dir.path().join("run")).expect("open");
        let net = store
            .create(&CreateRequest {
                name: "n".into(),
                subnet: Some("10.50.0.0/29".into()),
                ..CreateRequest::default()
            })
            .expect("create");
        let live = |_: &Endpoint| true;
        let h = (1, 0);
        let a = allocate(&store, &net, "a", "a", None, h, &live).expect("a");
        let b = allocate(&store, &net, "b", "b", None, h, &live).expect("b");
        assert_eq!(a.ipv4, Ipv4Addr::new(10, 50, 0, 2));
        assert_eq!(b.ipv4, Ipv4Addr::new(10, 50, 0, 3));
        let err = allocate(&store, &net, "c", "c", Some(b.ipv4), h, &live).expect_err("taken");
        assert_eq!(err.to_string(), "Address already in use");
        let err = allocate(
            &store,
            &net,
            "c",
            "c",
            Some(Ipv4Addr::new(10, 51, 0, 2)),
            h,
            &live,
        )
        .expect_err("outside");
        assert!(
            err.to_string()
                .contains("does not belong to any of this network's subnets")
        );
        for id in ["c", "d", "e"] {
            allocate(&store, &net, id, id, None, h, &live).expect("fill");
        }
        let err = allocate(&store, &net, "g", "g", None, h, &live).expect_err("full");
        assert!(err.to_string().starts_with("no available IPv4 addresses"));
        release(&store, &net, "a").expect("release");
        assert_eq!(
            allocate(&store, &net, "g", "g", None, h, &live)
                .expect("g")
                .ipv4,
            a.ipv4
        );
        let only_g = |e: &Endpoint| e.container_id == "g";
        let x = allocate(&store, &net, "x", "x", None, h, &only_g).expect("stale reused");
        assert_eq!(x.ipv4, b.ipv4);
        assert_eq!(live_endpoints(&store, &net, &live).expect("list").len(), 2);
        let err = store.remove("n", &live).expect_err("in use");
        assert!(err.to_string().ends_with("has active endpoints"));
    }

    #[test]
    fn default_bridge_refuses_static_addresses() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = NetworkStore::open_at(dir.path(), &dir.path().join("run")).expect("open");
        let bridge = store.resolve("bridge").expect("bridge");
        let err = allocate(
            &store,
            &bridge,
            "a",
            "a",
            Some(Ipv4Addr::new(172, 30, 0, 9)),
            (1, 0),
            &|_| true,
        )
        .expect_err("static");
        assert_eq!(
            err.to_string(),
            "user specified IP address is supported on user defined networks only"
        );
    }
}
