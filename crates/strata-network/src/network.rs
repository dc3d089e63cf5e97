//! One network as Docker shows it in `network inspect`, and the endpoints on it.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use chrono::{DateTime, Utc};
use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Docker's drivers: `bridge` networks are real; `host` and `null` name the two modes that
/// need no plumbing.
pub const BRIDGE: &str = "bridge";
pub const HOST: &str = "host";
pub const NULL: &str = "null";

/// The names of the three networks every store has.
pub const PREDEFINED: [&str; 3] = ["bridge", "host", "none"];

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkRecord {
    pub name: String,
    pub id: String,
    pub created: DateTime<Utc>,
    pub driver: String,
    /// Empty for `host` and `none`.
    #[serde(default)]
    pub subnet: Option<Ipv4Net>,
    #[serde(default)]
    pub gateway: Option<Ipv4Addr>,
    /// Whether the subnet was given by the user (inspect shows the gateway only then, as
    /// Docker does for user networks without `--gateway`).
    #[serde(default)]
    pub subnet_from_user: bool,
    #[serde(default)]
    pub gateway_from_user: bool,
    /// The Linux bridge: `strata0` for the default bridge, `br-<id12>` for user networks.
    #[serde(default)]
    pub interface: String,
    #[serde(default)]
    pub internal: bool,
    #[serde(default)]
    pub attachable: bool,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub options: BTreeMap<String, String>,
}

/// One container's attachment to a network while it runs.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct Endpoint {
    pub container_id: String,
    pub container_name: String,
    #[serde(rename = "EndpointID")]
    pub endpoint_id: String,
    pub ipv4: Ipv4Addr,
    #[serde(default)]
    pub mac_address: String,
    /// The process that holds the address (the container's monitor) and its start time:
    /// when it is gone the address is free again, whichever store the container was in.
    #[serde(default)]
    pub holder_pid: i32,
    #[serde(default)]
    pub holder_start: u64,
}

impl NetworkRecord {
    pub fn is_predefined(&self) -> bool {
        PREDEFINED.contains(&self.name.as_str())
    }

    /// The default bridge: no DNS by name, no static addresses, no aliases (Docker's rules).
    pub fn is_default_bridge(&self) -> bool {
        self.name == "bridge"
    }

    pub fn is_bridge(&self) -> bool {
        self.driver == BRIDGE
    }

    pub fn short_id(&self) -> &str {
        &self.id[..12.min(self.id.len())]
    }

    /// Prefix length of the subnet, 0 when there is none.
    pub fn prefix_len(&self) -> u8 {
        self.subnet.map_or(0, |s| s.prefix_len())
    }

    /// `network inspect` JSON, Docker's field names and order.
    pub fn inspect(&self, endpoints: &[Endpoint]) -> Value {
        let config: Vec<Value> = match self.subnet {
            Some(subnet) => {
                let mut entry = serde_json::Map::new();
                entry.insert("Subnet".into(), json!(subnet.to_string()));
                if (self.gateway_from_user || self.is_default_bridge())
                    && let Some(gw) = self.gateway
                {
                    entry.insert("Gateway".into(), json!(gw.to_string()));
                }
                vec![Value::Object(entry)]
            }
            None => Vec::new(),
        };
        let mut containers = serde_json::Map::new();
        for e in endpoints {
            containers.insert(
                e.container_id.clone(),
                json!({
                    "Name": e.container_name,
                    "EndpointID": e.endpoint_id,
                    "MacAddress": e.mac_address,
                    "IPv4Address": format!("{}/{}", e.ipv4, self.prefix_len()),
                    "IPv6Address": "",
                }),
            );
        }
        json!({
            "Name": self.name,
            "Id": self.id,
            "Created": self.created.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
            "Scope": "local",
            "Driver": self.driver,
            "EnableIPv6": false,
            "IPAM": {
                "Driver": "default",
                "Options": if self.is_predefined() { Value::Null } else { json!({}) },
                "Config": config,
            },
            "Internal": self.internal,
            "Attachable": self.attachable,
            "Ingress": false,
            "ConfigFrom": {"Network": ""},
            "ConfigOnly": false,
            "Containers": containers,
            "Options": self.options,
            "Labels": self.labels,
        })
    }
}
