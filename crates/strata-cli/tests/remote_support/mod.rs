//! Registries for the remote tests: the CNCF registry (`docker-registry`) and `strata registry
//! serve` on a free loopback port, a raw HTTP helper, and tiny image builders.
#![allow(dead_code)]

pub mod proxy;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

pub struct RunningRegistry {
    pub host: String,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Drop for RunningRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_listening(host: &str, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if TcpStream::connect(host).is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("registry exited early: {status}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("registry on {host} did not start");
}

/// The CNCF registry, optionally with htpasswd users `(user, password)`.
pub fn cncf_registry(users: &[(&str, &str)]) -> RunningRegistry {
    cncf_registry_with(users, "")
}

/// The CNCF registry with extra lines under its `http:` section (indented two spaces), e.g.
/// a `tls:` block.
pub fn cncf_registry_with(users: &[(&str, &str)], http_extra: &str) -> RunningRegistry {
    let dir = tempfile::tempdir().expect("tmp");
    let port = free_port();
    let host = format!("127.0.0.1:{port}");
    let mut auth = String::new();
    if !users.is_empty() {
        let htpasswd = dir.path().join("htpasswd");
        let mut lines = String::new();
        for (u, p) in users {
            let out = Command::new("htpasswd")
                .args(["-Bbn", u, p])
                .output()
                .expect("htpasswd (apache2-utils) runs");
            assert!(out.status.success());
            lines.push_str(String::from_utf8_lossy(&out.stdout).trim());
            lines.push('\n');
        }
        std::fs::write(&htpasswd, lines).expect("htpasswd file");
        auth = format!(
            "auth:\n  htpasswd:\n    realm: strata-test\n    path: {}\n",
            htpasswd.display()
        );
    }
    let config = format!(
        "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {host}\n{http_extra}{auth}",
        dir.path().join("data").display()
    );
    let config_path = dir.path().join("config.yml");
    std::fs::write(&config_path, config).expect("config");
    let mut child = Command::new("/usr/bin/docker-registry")
        .arg("serve")
        .arg(&config_path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("docker-registry runs");
    wait_listening(&host, &mut child);
    RunningRegistry {
        host,
        child,
        _dir: dir,
    }
}

/// `strata registry serve` with its own storage directory.
pub fn strata_registry() -> RunningRegistry {
    let dir = tempfile::tempdir().expect("tmp");
    let host = format!("127.0.0.1:{}", free_port());
    let mut child = Command::new(env!("CARGO_BIN_EXE_strata"))
        .arg("--root")
        .arg(dir.path())
        .args(["registry", "serve", "--addr", &host])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("strata registry serve runs");
    wait_listening(&host, &mut child);
    RunningRegistry {
        host,
        child,
        _dir: dir,
    }
}

pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// One HTTP/1.1 request over a fresh connection (plain HTTP, loopback registries only).
pub fn http(
    host: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> HttpResponse {
    let mut s = TcpStream::connect(host).expect("connect");
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).expect("write");
    s.write_all(body).expect("write body");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("headers end");
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .expect("status");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_owned()))
        .collect();
    HttpResponse {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// A one-file layer tar, gzipped: (tar bytes, gzip bytes).
pub fn tiny_layer(name: &str, content: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(content.len() as u64);
    h.set_mode(0o644);
    h.set_mtime(0);
    h.set_cksum();
    b.append_data(&mut h, name, content).expect("append");
    let tar = b.into_inner().expect("tar");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar).expect("gz");
    (tar, gz.finish().expect("gz"))
}

pub fn tiny_config(diff_id_hex: &str) -> Vec<u8> {
    format!(r#"{{"architecture":"amd64","os":"linux","config":{{"Cmd":["/bin/sh"]}},"rootfs":{{"type":"layers","diff_ids":["sha256:{diff_id_hex}"]}}}}"#).into_bytes()
}

pub fn tiny_manifest(config: &[u8], layer_gz: &[u8]) -> Vec<u8> {
    format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{{"mediaType":"application/vnd.docker.container.image.v1+json","size":{},"digest":"sha256:{}"}},"layers":[{{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":{},"digest":"sha256:{}"}}]}}"#,
        config.len(),
        sha256_hex(config),
        layer_gz.len(),
        sha256_hex(layer_gz)
    )
    .into_bytes()
}

/// A temp DOCKER_CONFIG dir for tests that log in.
pub fn docker_config_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("tmp")
}

pub fn config_json(dir: &Path) -> PathBuf {
    dir.join("config.json")
}
