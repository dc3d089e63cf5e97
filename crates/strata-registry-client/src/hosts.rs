//! Where and how to reach a registry: `docker.io` → `registry-1.docker.io`, plain HTTP for
//! loopback and registries listed as insecure, CA certificates from
//! `/etc/docker/certs.d/HOST/*.crt` and a client certificate for mutual TLS from
//! `certs.d/HOST/NAME.cert` + `NAME.key`, as Docker reads them.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use crate::error::{RegistryError, Result};

/// Docker Hub's API host; the reference domain `docker.io` is not itself a registry.
pub const DOCKER_HUB_API_HOST: &str = "registry-1.docker.io";
/// The key Docker uses for Docker Hub in `config.json` and as the default `login` server.
pub const DOCKER_HUB_INDEX: &str = "https://index.docker.io/v1/";

/// The host[:port] that serves the API of a reference domain.
pub fn api_host(domain: &str) -> &str {
    match domain {
        "docker.io" | "index.docker.io" => DOCKER_HUB_API_HOST,
        other => other,
    }
}

/// Settings that decide how each registry host is reached.
#[derive(Debug, Clone, Default)]
pub struct HostSettings {
    /// Hosts (`host[:port]`) and CIDR ranges from `insecure-registries`.
    pub insecure: Vec<String>,
    /// Directory of per-host CA certificates (Docker's `/etc/docker/certs.d`).
    pub certs_dir: PathBuf,
}

impl HostSettings {
    /// Reads `insecure-registries` from `<strata root>/config.json` and `/etc/docker/daemon.json`.
    pub fn load(strata_root: &Path) -> Result<HostSettings> {
        Self::load_from(
            &[
                strata_root.join("config.json"),
                PathBuf::from("/etc/docker/daemon.json"),
            ],
            PathBuf::from("/etc/docker/certs.d"),
        )
    }

    pub fn load_from(config_files: &[PathBuf], certs_dir: PathBuf) -> Result<HostSettings> {
        let mut insecure = Vec::new();
        for file in config_files {
            let bytes = match std::fs::read(file) {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => {
                    return Err(RegistryError::Io {
                        context: "reading registry settings",
                        path: file.clone(),
                        source: e,
                    });
                }
            };
            let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
                RegistryError::Config(format!("invalid JSON in {}: {e}", file.display()))
            })?;
            if let Some(list) = value.get("insecure-registries").and_then(|v| v.as_array()) {
                insecure.extend(
                    list.iter()
                        .filter_map(|v| v.as_str())
                        .map(|s| trim_scheme(s).to_owned()),
                );
            }
        }
        Ok(HostSettings {
            insecure,
            certs_dir,
        })
    }

    /// Docker's rule: loopback registries and those listed as insecure may use plain HTTP (and
    /// unverified TLS).
    pub fn is_insecure(&self, host: &str) -> bool {
        let bare = strip_port(host);
        if bare == "localhost" {
            return true;
        }
        let ip = bare
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .ok();
        if ip.is_some_and(|ip| ip.is_loopback()) {
            return true;
        }
        self.insecure.iter().any(|entry| {
            if entry == host || entry == bare {
                return true;
            }
            match (ip, parse_cidr(entry)) {
                (Some(ip), Some((net, bits))) => cidr_contains(net, bits, ip),
                _ => false,
            }
        })
    }

    /// PEM CA certificates for `host` (`certs.d/HOST/*.crt`), sorted by file name.
    pub fn ca_certificates(&self, host: &str) -> Result<Vec<Vec<u8>>> {
        let dir = self.certs_dir.join(host);
        let mut out = Vec::new();
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Ok(out);
        };
        let mut paths: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "crt"))
            .collect();
        paths.sort();
        for p in paths {
            out.push(std::fs::read(&p).map_err(RegistryError::io("reading CA certificate", &p))?);
        }
        Ok(out)
    }
}

impl HostSettings {
    /// The client certificate for `host` as one PEM (certificate chain, then key), from
    /// `certs.d/HOST/NAME.cert` and `NAME.key`. Every `.cert` needs its `.key` and the
    /// reverse (Docker's errors); of several pairs the first by name is used.
    pub fn client_identity(&self, host: &str) -> Result<Option<Vec<u8>>> {
        let dir = self.certs_dir.join(host);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Ok(None);
        };
        let mut names: Vec<String> = entries
            .flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        names.sort();
        let has = |n: &str| names.iter().any(|x| x == n);
        let mut pairs = Vec::new();
        for name in &names {
            if let Some(base) = name.strip_suffix(".cert") {
                let key = format!("{base}.key");
                if !has(&key) {
                    return Err(RegistryError::Config(format!(
                        "missing key {key} for client certificate {name}. CA certificates must use the extension .crt"
                    )));
                }
                pairs.push((name.clone(), key));
            } else if let Some(base) = name.strip_suffix(".key") {
                let cert = format!("{base}.cert");
                if !has(&cert) {
                    return Err(RegistryError::Config(format!(
                        "missing client certificate {cert} for key {name}"
                    )));
                }
            }
        }
        let Some((cert, key)) = pairs.into_iter().next() else {
            return Ok(None);
        };
        let mut pem = Vec::new();
        for name in [&cert, &key] {
            let path = dir.join(name);
            let bytes = std::fs::read(&path)
                .map_err(RegistryError::io("reading client certificate", &path))?;
            pem.extend_from_slice(&bytes);
            pem.push(b'\n');
        }
        tracing::debug!(%host, cert, "using a client certificate");
        Ok(Some(pem))
    }
}

fn trim_scheme(s: &str) -> &str {
    s.trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/')
}

fn strip_port(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match host.rsplit_once(':') {
        Some((h, port)) if !h.contains(':') && port.chars().all(|c| c.is_ascii_digit()) => h,
        _ => host,
    }
}

fn parse_cidr(s: &str) -> Option<(IpAddr, u8)> {
    let (net, bits) = s.split_once('/')?;
    Some((net.parse().ok()?, bits.parse().ok()?))
}

fn cidr_contains(net: IpAddr, bits: u8, ip: IpAddr) -> bool {
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(i)) if bits <= 32 => {
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(n) & mask == u32::from(i) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(i)) if bits <= 128 => {
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            u128::from(n) & mask == u128::from(i) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_and_listed_hosts_are_insecure() {
        let s = HostSettings {
            insecure: vec!["myreg.local:5000".into(), "10.1.0.0/16".into()],
            certs_dir: PathBuf::new(),
        };
        assert!(s.is_insecure("localhost:5000"));
        assert!(s.is_insecure("127.0.0.1:5000"));
        assert!(s.is_insecure("127.3.2.1"));
        assert!(s.is_insecure("[::1]:5000"));
        assert!(s.is_insecure("myreg.local:5000"));
        assert!(!s.is_insecure("myreg.local:6000"));
        assert!(s.is_insecure("10.1.200.3:443"));
        assert!(!s.is_insecure("10.2.0.1"));
        assert!(!s.is_insecure("registry-1.docker.io"));
    }

    #[test]
    fn reads_insecure_registries_from_config_files() {
        let dir = tempfile::tempdir().expect("tmp");
        let a = dir.path().join("config.json");
        std::fs::write(
            &a,
            r#"{"insecure-registries":["http://reg.example:5000/"]}"#,
        )
        .expect("write");
        let s = HostSettings::load_from(
            &[a, dir.path().join("missing.json")],
            dir.path().to_path_buf(),
        )
        .expect("load");
        assert!(s.is_insecure("reg.example:5000"));
    }

    #[test]
    fn client_certificates_come_in_cert_and_key_pairs() {
        let dir = tempfile::tempdir().expect("tmp");
        let s = HostSettings {
            insecure: vec![],
            certs_dir: dir.path().to_path_buf(),
        };
        assert_eq!(s.client_identity("reg:5000").expect("none"), None);
        let host = dir.path().join("reg:5000");
        std::fs::create_dir(&host).expect("dir");
        std::fs::write(host.join("ca.crt"), "CA").expect("ca");
        assert_eq!(s.client_identity("reg:5000").expect("CA only"), None);
        std::fs::write(host.join("client.cert"), "CERT").expect("cert");
        let err = s
            .client_identity("reg:5000")
            .expect_err("no key")
            .to_string();
        assert!(
            err.contains("missing key client.key for client certificate client.cert"),
            "{err}"
        );
        std::fs::write(host.join("client.key"), "KEY").expect("key");
        assert_eq!(
            s.client_identity("reg:5000").expect("pair"),
            Some(b"CERT\nKEY\n".to_vec())
        );
        std::fs::write(host.join("other.key"), "KEY").expect("key");
        let err = s
            .client_identity("reg:5000")
            .expect_err("no cert")
            .to_string();
        assert!(
            err.contains("missing client certificate other.cert for key other.key"),
            "{err}"
        );
    }

    #[test]
    fn docker_hub_maps_to_its_api_host() {
        assert_eq!(api_host("docker.io"), "registry-1.docker.io");
        assert_eq!(api_host("localhost:5000"), "localhost:5000");
    }
}
