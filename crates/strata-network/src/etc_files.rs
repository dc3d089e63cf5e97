//! The `/etc/hosts` and `/etc/resolv.conf` a container gets, as Docker writes them.

use std::net::{IpAddr, Ipv4Addr};

use crate::error::{NetworkError, Result};

/// The fixed head of Docker's hosts file.
const HOSTS_HEAD: &str = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n";

/// `--add-host NAME:IP` (or `NAME=IP`); `host-gateway` is the default bridge's gateway.
pub fn parse_extra_host(text: &str, host_gateway: Ipv4Addr) -> Result<(String, String)> {
    let (name, ip) = text
        .split_once('=')
        .or_else(|| text.split_once(':'))
        .ok_or_else(|| NetworkError::InvalidExtraHost(text.to_string()))?;
    if name.is_empty() {
        return Err(NetworkError::InvalidExtraHost(text.to_string()));
    }
    let ip = ip.trim_start_matches('[').trim_end_matches(']');
    if ip == "host-gateway" {
        return Ok((name.to_string(), host_gateway.to_string()));
    }
    ip.parse::<IpAddr>()
        .map_err(|_| NetworkError::Other(format!("invalid IP address in add-host: \"{ip}\"")))?;
    Ok((name.to_string(), ip.to_string()))
}

/// Docker's hosts file: loopback entries, `--add-host` entries, then the container's own
/// address with its hostname (and its name on user networks).
pub fn hosts(extra: &[(String, String)], own: Option<(Ipv4Addr, &[String])>) -> String {
    let mut out = HOSTS_HEAD.to_string();
    for (name, ip) in extra {
        out.push_str(&format!("{ip}\t{name}\n"));
    }
    if let Some((ip, names)) = own {
        out.push_str(&format!("{ip}\t{}\n", names.join(" ")));
    }
    out
}

fn is_loopback(addr: &str) -> bool {
    addr.parse::<IpAddr>()
        .map(|ip| ip.is_loopback())
        .unwrap_or(false)
}

/// Docker's resolv.conf: the host's, with loopback name servers dropped (they mean nothing in
/// the container's namespace) and Google's public servers when none remain. `nameservers`,
/// when given (`--dns`, or the network's own name server), replace the host's; `search` and
/// `options` from the flags replace the host's likewise.
pub fn resolv_conf(
    host: &str,
    nameservers: &[String],
    search: &[String],
    options: &[String],
) -> String {
    let mut servers = Vec::new();
    let mut other = Vec::new();
    let mut host_search = None;
    let mut host_options = None;
    for line in host.lines() {
        let trimmed = line.trim();
        let mut words = trimmed.split_whitespace();
        match words.next() {
            Some("nameserver") => {
                if let Some(addr) = words.next()
                    && !is_loopback(addr)
                {
                    servers.push(addr.to_string());
                }
            }
            Some("search") | Some("domain") => host_search = Some(trimmed.to_string()),
            Some("options") => host_options = Some(trimmed.to_string()),
            _ => other.push(line.to_string()),
        }
    }
    if !nameservers.is_empty() {
        servers = nameservers.to_vec();
    } else if servers.is_empty() {
        servers = vec!["8.8.8.8".into(), "8.8.4.4".into()];
    }
    let mut out = String::new();
    for line in other.iter().filter(|l| !l.trim().is_empty()) {
        out.push_str(line);
        out.push('\n');
    }
    if !search.is_empty() {
        out.push_str(&format!("search {}\n", search.join(" ")));
    } else if let Some(s) = host_search {
        out.push_str(&s);
        out.push('\n');
    }
    for s in servers {
        out.push_str(&format!("nameserver {s}\n"));
    }
    if !options.is_empty() {
        out.push_str(&format!("options {}\n", options.join(" ")));
    } else if let Some(o) = host_options {
        out.push_str(&o);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_resolvers_are_replaced() {
        let host = "# generated\nnameserver 127.0.0.53\nsearch example.org\noptions edns0\n";
        let out = resolv_conf(host, &[], &[], &[]);
        assert_eq!(
            out,
            "# generated\nsearch example.org\nnameserver 8.8.8.8\nnameserver 8.8.4.4\noptions edns0\n"
        );
        let out = resolv_conf("nameserver 10.0.0.2\n", &[], &[], &[]);
        assert_eq!(out, "nameserver 10.0.0.2\n");
        let out = resolv_conf("nameserver 10.0.0.2\n", &["1.1.1.1".into()], &[], &[]);
        assert_eq!(out, "nameserver 1.1.1.1\n");
    }

    #[test]
    fn hosts_lists_extra_hosts_then_own_address() {
        let gw = Ipv4Addr::new(172, 30, 0, 1);
        let extra = vec![
            parse_extra_host("db:10.1.2.3", gw).expect("db"),
            parse_extra_host("host.docker.internal:host-gateway", gw).expect("gw"),
        ];
        let names = vec!["abc123".to_string()];
        let out = hosts(&extra, Some((Ipv4Addr::new(172, 30, 0, 2), &names)));
        assert!(
            out.ends_with("10.1.2.3\tdb\n172.30.0.1\thost.docker.internal\n172.30.0.2\tabc123\n")
        );
        assert!(parse_extra_host("nocolon", gw).is_err());
        assert!(parse_extra_host("x:notanip", gw).is_err());
    }
}
