//! Errors, worded as Docker words them where Docker has the same error.

use std::path::PathBuf;

pub type Result<T, E = NetworkError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    #[error("network {0} not found")]
    NotFound(String),
    #[error("network with name {0} already exists")]
    NameExists(String),
    #[error("{0} is a pre-defined network and cannot be removed")]
    Predefined(String),
    #[error("error while removing network: network {name} id {id} has active endpoints")]
    InUse { name: String, id: String },
    #[error("Pool overlaps with other one on this address space")]
    PoolOverlap,
    #[error("Invalid subnet {0} : invalid CIDR address: {0}")]
    InvalidSubnet(String),
    #[error("invalid gateway {gateway}: it does not belong to subnet {subnet}")]
    GatewayOutsideSubnet { gateway: String, subnet: String },
    #[error(
        "could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network"
    )]
    NoFreePool,
    #[error("no available IPv4 addresses on this network's address pools: {name} ({id})")]
    AddressesExhausted { name: String, id: String },
    #[error("Invalid address {0}: It does not belong to any of this network's subnets")]
    AddressOutsideSubnet(String),
    #[error("Address already in use")]
    AddressInUse,
    #[error("user specified IP address is supported on user defined networks only")]
    StaticIpOnDefaultBridge,
    #[error("network-scoped alias is supported only for containers in user defined networks")]
    AliasOnDefaultBridge,
    #[error("invalid {what}: {value}")]
    InvalidPort { what: &'static str, value: String },
    #[error("invalid ranges specified for container and host Ports: {container} and {host}")]
    InvalidPortRanges { container: String, host: String },
    #[error("no port specified: {0}<empty>")]
    NoPort(String),
    #[error("Bind for {0} failed: port is already allocated")]
    PortAllocated(String),
    #[error(
        "driver failed programming external connectivity on endpoint {endpoint}: Error starting userland proxy: listen {proto} {addr}: bind: {reason}"
    )]
    PortUnavailable {
        endpoint: String,
        proto: String,
        addr: String,
        reason: String,
    },
    #[error("invalid argument \"{0}\" for \"--add-host\" flag: bad format for add-host: \"{0}\"")]
    InvalidExtraHost(String),
    #[error(
        "bridge networking needs netavark and aardvark-dns (apt-get install -y netavark aardvark-dns), or run with --network host or --network none"
    )]
    NetavarkMissing,
    #[error("netavark {action} failed: {message}")]
    Netavark {
        action: &'static str,
        message: String,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Other(String),
}

impl NetworkError {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> NetworkError {
        NetworkError::Io {
            path: path.into(),
            source,
        }
    }
}

/// `.at(path)` on io results: the error names the file.
pub trait IoContext<T> {
    fn at(self, path: impl Into<PathBuf>) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn at(self, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|e| NetworkError::io(path, e))
    }
}
