//! Published ports: Docker's `-p` grammar, the bindings it gives, holding the host ports while
//! the container runs (a bound, non-listening socket per port, as Podman's conmon does, so
//! no other program takes the port), and the `PORTS` column `ps` prints.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::{FromRawFd, OwnedFd};

use serde::{Deserialize, Serialize};

use crate::error::{NetworkError, Result};

/// One `-p` argument, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortSpec {
    /// Empty: every address.
    pub host_ip: String,
    /// `None`: a random host port.
    pub host_ports: Option<(u16, u16)>,
    pub container_ports: (u16, u16),
    pub proto: String,
}

/// Docker's `HostConfig.PortBindings` / `NetworkSettings.Ports` value entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HostBinding {
    pub host_ip: String,
    /// A port, a range `8000-8010` to choose from, or empty for a random one.
    pub host_port: String,
}

/// A published port as it is in effect: what netavark forwards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortMapping {
    pub host_ip: String,
    pub host_port: u16,
    pub container_port: u16,
    pub proto: String,
}

fn parse_range(text: &str) -> Option<(u16, u16)> {
    let (start, end) = match text.split_once('-') {
        Some((a, b)) => (a.parse().ok()?, b.parse().ok()?),
        None => {
            let p = text.parse().ok()?;
            (p, p)
        }
    };
    (start <= end).then_some((start, end))
}

/// `[ip:][hostPort:]containerPort[/proto]`, with Docker's errors.
pub fn parse_spec(raw: &str) -> Result<PortSpec> {
    let parts: Vec<&str> = raw.split(':').collect();
    let n = parts.len();
    let last = parts[n - 1];
    let (ip, host) = match n {
        1 => (String::new(), ""),
        2 => (String::new(), parts[0]),
        3 => (parts[0].to_string(), parts[1]),
        _ => (parts[..n - 2].join(":"), parts[n - 2]),
    };
    let ip = ip.trim_start_matches('[').trim_end_matches(']').to_string();
    let (container, proto) = match last.split_once('/') {
        Some((p, proto)) => (p, proto.to_string()),
        None => (last, "tcp".to_string()),
    };
    if !ip.is_empty() && ip.parse::<std::net::IpAddr>().is_err() {
        return Err(NetworkError::Other(format!("invalid IP address: {ip}")));
    }
    if container.is_empty() {
        return Err(NetworkError::NoPort(raw.to_string()));
    }
    let container_ports = parse_range(container).ok_or_else(|| NetworkError::InvalidPort {
        what: "containerPort",
        value: container.to_string(),
    })?;
    let host_ports = if host.is_empty() {
        None
    } else {
        Some(parse_range(host).ok_or_else(|| NetworkError::InvalidPort {
            what: "hostPort",
            value: host.to_string(),
        })?)
    };
    if let Some(h) = host_ports
        && h.1 - h.0 != container_ports.1 - container_ports.0
        && container_ports.0 != container_ports.1
    {
        return Err(NetworkError::InvalidPortRanges {
            container: container.to_string(),
            host: host.to_string(),
        });
    }
    let proto = proto.to_ascii_lowercase();
    if !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
        return Err(NetworkError::InvalidPort {
            what: "proto",
            value: proto,
        });
    }
    if ip.contains(':') {
        return Err(NetworkError::Other(format!(
            "invalid IP address: {ip}: strata publishes ports on IPv4 addresses only"
        )));
    }
    Ok(PortSpec {
        host_ip: ip,
        host_ports,
        container_ports,
        proto,
    })
}

/// The `PortBindings` entries of parsed specs, keyed `port/proto` as Docker keys them.
pub fn bindings(specs: &[PortSpec]) -> BTreeMap<String, Vec<HostBinding>> {
    let mut out: BTreeMap<String, Vec<HostBinding>> = BTreeMap::new();
    for spec in specs {
        let (c0, c1) = spec.container_ports;
        for (i, port) in (c0..=c1).enumerate() {
            let host_port = match spec.host_ports {
                None => String::new(),
                Some((h0, h1)) if c0 == c1 && h0 != h1 => format!("{h0}-{h1}"),
                Some((h0, _)) => (h0 as usize + i).to_string(),
            };
            out.entry(format!("{port}/{}", spec.proto))
                .or_default()
                .push(HostBinding {
                    host_ip: spec.host_ip.clone(),
                    host_port,
                });
        }
    }
    out
}

/// `port/proto` split; `80` alone means tcp.
pub fn split_port_key(key: &str) -> Option<(u16, String)> {
    let (port, proto) = key.split_once('/').unwrap_or((key, "tcp"));
    Some((port.parse().ok()?, proto.to_string()))
}

/// Host ports held for one container; released when dropped.
#[derive(Debug, Default)]
pub struct Reservation {
    pub mappings: Vec<PortMapping>,
    sockets: Vec<OwnedFd>,
}

fn bind_socket(ip: Ipv4Addr, port: u16, proto: &str) -> std::io::Result<(OwnedFd, u16)> {
    let kind = if proto == "udp" {
        libc::SOCK_DGRAM
    } else {
        libc::SOCK_STREAM
    };
    // SAFETY: socket(2) with constant arguments; the fd is owned right away.
    let fd = unsafe { libc::socket(libc::AF_INET, kind | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: fd is a fresh descriptor we own.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    let addr = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: port.to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(ip).to_be(),
        },
        sin_zero: [0; 8],
    };
    let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    // SAFETY: addr is a valid sockaddr_in of the given length.
    if unsafe { libc::bind(fd, (&addr as *const libc::sockaddr_in).cast(), len) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let mut bound: libc::sockaddr_in = addr;
    let mut bound_len = len;
    // SAFETY: getsockname writes at most bound_len bytes into bound.
    unsafe {
        libc::getsockname(
            fd,
            (&mut bound as *mut libc::sockaddr_in).cast(),
            &mut bound_len,
        )
    };
    Ok((owned, u16::from_be(bound.sin_port)))
}

/// Holds a host port for every binding. `taken` lists `(host ip, port, proto)` that other
/// containers hold (Docker's "port is already allocated"); a port another program holds
/// gives Docker's userland-proxy error.
pub fn reserve(
    port_bindings: &BTreeMap<String, Vec<HostBinding>>,
    taken: &[(String, u16, String)],
    endpoint: &str,
) -> Result<Reservation> {
    let mut reservation = Reservation::default();
    for (key, list) in port_bindings {
        let Some((container_port, proto)) = split_port_key(key) else {
            continue;
        };
        if proto == "sctp" {
            return Err(NetworkError::Other(
                "publishing sctp ports is not supported by strata".into(),
            ));
        }
        for binding in list {
            let ip_text = if binding.host_ip.is_empty() {
                "0.0.0.0"
            } else {
                binding.host_ip.as_str()
            };
            let ip: Ipv4Addr = ip_text.parse().map_err(|_| {
                NetworkError::Other(format!("invalid IP address: {}", binding.host_ip))
            })?;
            let candidates: Vec<u16> = if binding.host_port.is_empty() {
                vec![0]
            } else {
                let (a, b) =
                    parse_range(&binding.host_port).ok_or_else(|| NetworkError::InvalidPort {
                        what: "hostPort",
                        value: binding.host_port.clone(),
                    })?;
                (a..=b).collect()
            };
            let clashes = |port: u16| {
                taken.iter().any(|(tip, tport, tproto)| {
                    *tport == port
                        && *tproto == proto
                        && (tip == ip_text || tip == "0.0.0.0" || ip_text == "0.0.0.0")
                })
            };
            let mut last_error = None;
            let mut held = None;
            for port in candidates.iter().copied() {
                if port != 0 && clashes(port) {
                    last_error = Some(NetworkError::PortAllocated(format!("{ip_text}:{port}")));
                    continue;
                }
                match bind_socket(ip, port, &proto) {
                    Ok(pair) => {
                        held = Some(pair);
                        break;
                    }
                    Err(e) => {
                        let reason = e.to_string();
                        let reason = reason.split(" (os error").next().unwrap_or(&reason);
                        last_error = Some(NetworkError::PortUnavailable {
                            endpoint: endpoint.to_string(),
                            proto: format!("{proto}4"),
                            addr: SocketAddrV4::new(ip, port).to_string(),
                            reason: reason.to_ascii_lowercase(),
                        });
                    }
                }
            }
            let Some((socket, host_port)) = held else {
                return Err(last_error.unwrap_or(NetworkError::Other("no host port".into())));
            };
            reservation.sockets.push(socket);
            reservation.mappings.push(PortMapping {
                host_ip: ip_text.to_string(),
                host_port,
                container_port,
                proto: proto.clone(),
            });
        }
    }
    Ok(reservation)
}

/// Docker's `PORTS` column: consecutive ports grouped, mappings to other ports listed last.
/// `ports` are `(host ip, host port, container port, proto)`; no host ip = exposed only.
pub fn display(ports: &[(Option<String>, u16, u16, String)]) -> String {
    let mut sorted = ports.to_vec();
    sorted.sort_by(|a, b| (a.2, &a.0, a.1, &a.3).cmp(&(b.2, &b.0, b.1, &b.3)));
    let mut groups: Vec<(String, u16, u16)> = Vec::new();
    let mut result = Vec::new();
    let mut mappings = Vec::new();
    for (ip, public, private, proto) in sorted {
        let key = match &ip {
            Some(ip) if public != private => {
                mappings.push(format!("{ip}:{public}->{private}/{proto}"));
                continue;
            }
            Some(ip) => format!("{ip}/{proto}"),
            None => proto.clone(),
        };
        match groups.iter_mut().find(|g| g.0 == key) {
            Some(g) if private == g.2 + 1 => g.2 = private,
            Some(g) => {
                result.push(form_group(&g.0, g.1, g.2));
                *g = (key, private, private);
            }
            None => groups.push((key, private, private)),
        }
    }
    for (key, first, last) in &groups {
        result.push(form_group(key, *first, *last));
    }
    result.extend(mappings);
    result.join(", ")
}

fn form_group(key: &str, first: u16, last: u16) -> String {
    let (ip, proto) = match key.rsplit_once('/') {
        Some((ip, proto)) => (Some(ip), proto),
        None => (None, key),
    };
    let mut group = first.to_string();
    if first != last {
        group = format!("{group}-{last}");
    }
    match ip {
        Some(ip) => format!("{ip}:{group}->{group}/{proto}"),
        None => format!("{group}/{proto}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_docker_forms() {
        let p = parse_spec("127.0.0.1:8080:80/udp").expect("full");
        assert_eq!(p.host_ip, "127.0.0.1");
        assert_eq!(p.host_ports, Some((8080, 8080)));
        assert_eq!(p.container_ports, (80, 80));
        assert_eq!(p.proto, "udp");
        assert_eq!(parse_spec("80").expect("bare").host_ports, None);
        assert_eq!(parse_spec("127.0.0.1::80").expect("ip").host_ports, None);
        let r = parse_spec("8000-8001:80-81").expect("range");
        let b = bindings(&[r]);
        assert_eq!(b["81/tcp"][0].host_port, "8001");
        let dynamic = bindings(&[parse_spec("9000-9005:80").expect("dyn")]);
        assert_eq!(dynamic["80/tcp"][0].host_port, "9000-9005");
    }

    #[test]
    fn errors_match_docker() {
        let msg = |s: &str| parse_spec(s).expect_err(s).to_string();
        assert_eq!(msg("abc:80"), "invalid hostPort: abc");
        assert_eq!(msg("80:abc"), "invalid containerPort: abc");
        assert_eq!(msg("99999:80"), "invalid hostPort: 99999");
        assert_eq!(msg("8080:80/xyz"), "invalid proto: xyz");
        assert_eq!(msg("1.2.3:80:80"), "invalid IP address: 1.2.3");
        assert_eq!(
            msg("8000-8002:80-81"),
            "invalid ranges specified for container and host Ports: 80-81 and 8000-8002"
        );
        assert_eq!(msg(""), "no port specified: <empty>");
    }

    #[test]
    fn displays_like_docker_ps() {
        let ip = Some("0.0.0.0".to_string());
        let tcp = "tcp".to_string();
        assert_eq!(
            display(&[(ip.clone(), 8080, 80, tcp.clone())]),
            "0.0.0.0:8080->80/tcp"
        );
        assert_eq!(
            display(&[
                (ip.clone(), 8001, 8001, tcp.clone()),
                (ip.clone(), 8000, 8000, tcp.clone()),
                (None, 443, 443, tcp.clone()),
                (None, 53, 53, "udp".to_string()),
            ]),
            "53/udp, 443/tcp, 0.0.0.0:8000-8001->8000-8001/tcp"
        );
    }

    #[test]
    fn reserves_and_reports_taken_ports() {
        let specs = [parse_spec("127.0.0.1::80").expect("spec")];
        let held = reserve(&bindings(&specs), &[], "ep").expect("random port");
        let port = held.mappings[0].host_port;
        assert_ne!(port, 0);
        let again = [parse_spec(&format!("127.0.0.1:{port}:80")).expect("spec")];
        let err = reserve(&bindings(&again), &[], "ep").expect_err("in use");
        assert!(
            err.to_string().ends_with("bind: address already in use"),
            "{err}"
        );
        let taken = [("0.0.0.0".to_string(), port, "tcp".to_string())];
        let err = reserve(&bindings(&again), &taken, "ep").expect_err("allocated");
        assert_eq!(
            err.to_string(),
            format!("Bind for 127.0.0.1:{port} failed: port is already allocated")
        );
        drop(held);
    }

    proptest! {
        #[test]
        fn parser_never_panics(s in ".{0,40}") {
            let _ = parse_spec(&s);
        }

        #[test]
        fn valid_specs_round_trip(h in 1u16..60000, c in 1u16..60000, udp in any::<bool>()) {
            let proto = if udp { "udp" } else { "tcp" };
            let spec = parse_spec(&format!("{h}:{c}/{proto}")).expect("valid");
            prop_assert_eq!(spec.host_ports, Some((h, h)));
            prop_assert_eq!(spec.container_ports, (c, c));
            prop_assert_eq!(spec.proto.as_str(), proto);
        }
    }
}
