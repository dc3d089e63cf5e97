//! Networking for strata containers, without a daemon.
//!
//! Docker's model: named networks (`bridge`, `host`, `none` predefined, plus user networks
//! made by `network create`), each bridge network a Linux bridge with a subnet; a container
//! gets a network namespace of its own, a veth pair into each network it is on, an address
//! from that network's pool, NAT for outbound traffic and DNAT for published ports.
//!
//! What is strata's own: the network records and the address allocations on disk (`store`,
//! `ipam`), the namespace files (`netns`), the `-p` grammar and host-port reservation
//! (`ports`), and the `/etc/hosts` and `/etc/resolv.conf` a container sees (`etc_files`).
//! The kernel plumbing (bridge, veth, routes, iptables/nftables rules, the aardvark-dns name
//! server of user networks) is delegated to netavark, Podman's network backend (`netavark`):
//! it already keeps those rules correct and removes them again on teardown.
//!
//! On disk, under the store root: `networks/<id>.json` (one network, Docker's inspect
//! fields) and `networks/lock`. At run time, host-wide: `/run/strata/networks/<bridge>.json`
//! (the addresses held on a bridge) and its `lock`, `/run/strata/netns/<container id>`, and
//! `/run/strata/netavark/` (aardvark's state, the lock around netavark).

pub mod error;
pub mod etc_files;
pub mod ipam;
pub mod keeper;
pub mod netavark;
pub mod netns;
pub mod network;
pub mod ports;
pub mod store;

pub use error::{NetworkError, Result};
pub use network::{Endpoint, NetworkRecord};
pub use ports::{PortMapping, PortSpec};
pub use store::NetworkStore;
