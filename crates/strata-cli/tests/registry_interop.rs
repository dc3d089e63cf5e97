//! `strata registry serve` and `strata registry gc` as a user runs them, with real clients:
//! skopeo (copy, inspect, list-tags, delete), docker and podman (push, pull). Tests needing a
//! client that is not there print why and pass.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use common::{Strata, busybox_tar, docker, docker_available, unique};
use strata_reference::Digest;

/// A running `strata registry serve` on a free 127.0.0.1 port; killed when dropped.
struct Registry {
    child: Child,
    addr: String,
    /// Collects everything the server writes to stderr, until it exits.
    log: Option<std::thread::JoinHandle<String>>,
}

impl Registry {
    fn start(strata: &Strata, extra: &[&str]) -> Registry {
        let mut child = strata
            .cmd()
            .args(["registry", "serve", "--addr", "127.0.0.1:0"])
            .args(extra)
            .stderr(Stdio::piped())
            .spawn()
            .expect("strata registry serve starts");
        let mut reader = BufReader::new(child.stderr.take().expect("stderr"));
        let mut log = String::new();
        let addr = loop {
            let mut line = String::new();
            let n = reader.read_line(&mut line).expect("stderr line");
            assert!(n > 0, "registry exited before listening: {log}");
            log.push_str(&line);
            if let Some(a) = line.trim().strip_prefix("listening on http://") {
                break a.to_owned();
            }
        };
        // Keep draining stderr so the server never blocks on a full pipe.
        let log = std::thread::spawn(move || {
            let _ = reader.read_to_string(&mut log);
            log
        });
        Registry {
            child,
            addr,
            log: Some(log),
        }
    }

    /// Stops the server gracefully (SIGTERM: in-flight requests finish and are logged, so
    /// the log is complete) and returns all it wrote to stderr.
    fn stop(mut self) -> String {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while self.child.try_wait().ok().flatten().is_none() {
            if std::time::Instant::now() > deadline {
                let _ = self.child.kill();
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let _ = self.child.wait();
        self.log
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// True, after saying why, when `tool` is not installed and the test passes without it.
fn missing(tool: &str) -> bool {
    if have(tool) {
        return false;
    }
    println!("skipping: {tool} is not installed");
    true
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("command runs");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn skopeo(args: &[&str]) -> String {
    run(Command::new("skopeo").args(args))
}

/// A one-layer OCI image layout at `dir` (tag `latest`); returns (manifest, layer) digests.
fn oci_layout(dir: &Path, layer: &[u8]) -> (Digest, Digest) {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let put = |bytes: &[u8]| {
        let d = Digest::sha256_of(bytes);
        std::fs::write(blobs.join(d.hex()), bytes).unwrap();
        d
    };
    let ld = put(layer);
    let config = format!(
        r#"{{"architecture":"amd64","os":"linux","config":{{}},"rootfs":{{"type":"layers","diff_ids":["{ld}"]}}}}"#
    );
    let cd = put(config.as_bytes());
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{cd}","size":{}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{ld}","size":{}}}]}}"#,
        config.len(),
        layer.len()
    );
    let md = put(manifest.as_bytes());
    let index = format!(
        r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{md}","size":{},"annotations":{{"org.opencontainers.image.ref.name":"latest"}}}}]}}"#,
        manifest.len()
    );
    std::fs::write(dir.join("index.json"), index).unwrap();
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    (md, ld)
}

fn http_get(addr: &str, path: &str) -> String {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

/// The layer digests of a manifest as the registry serves it (skopeo may have recompressed).
fn served_layers(addr: &str, repo: &str, reference: &str) -> Vec<String> {
    let resp = http_get(addr, &format!("/v2/{repo}/manifests/{reference}"));
    let body = resp.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    let v: serde_json::Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {resp}"));
    v["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["digest"].as_str().unwrap().to_owned())
        .collect()
}

fn blob_file(root: &Path, d: &Digest) -> std::path::PathBuf {
    root.join("registry/blobs/sha256")
        .join(&d.hex()[..2])
        .join(d.hex())
        .join("data")
}

#[test]
fn bad_storage_configs_fail_with_clear_errors() {
    let strata = Strata::new();
    let cfg = strata.root.path().join("registry.yml");
    std::fs::write(&cfg, "storage: s3\n").unwrap();
    let err = strata.fails(&["registry", "serve", "--config", cfg.to_str().unwrap()]);
    assert!(err.contains("needs a bucket"), "{err}");
    std::fs::write(&cfg, "storage: nfs\n").unwrap();
    let err = strata.fails(&["registry", "serve", "--config", cfg.to_str().unwrap()]);
    assert!(err.contains("unknown storage driver"), "{err}");
    std::fs::write(&cfg, "listen: [oops\n").unwrap();
    let err = strata.fails(&["registry", "serve", "--config", cfg.to_str().unwrap()]);
    assert!(err.contains("parsing registry config"), "{err}");
}

#[test]
fn log_level_comes_from_the_config_unless_a_flag_says_otherwise() {
    let strata = Strata::new();
    let cfg = strata.root.path().join("registry.yml");
    std::fs::write(&cfg, "log_level: info\n").unwrap();
    let cfg = cfg.to_str().unwrap();
    // Every request is logged at info; the default level (warn) keeps them quiet.
    let reg = Registry::start(&strata, &["--config", cfg]);
    http_get(&reg.addr, "/v2/");
    let log = reg.stop();
    assert!(
        log.contains("request method=GET path=/v2/ status=200"),
        "{log}"
    );
    for flags in [&["--config", cfg, "--log-level", "warn"][..], &[]] {
        let reg = Registry::start(&strata, flags);
        http_get(&reg.addr, "/v2/");
        let log = reg.stop();
        assert!(!log.contains("path=/v2/"), "{flags:?}: {log}");
    }
    let reg = Registry::start(&strata, &["--log-level", "debug"]);
    http_get(&reg.addr, "/v2/");
    assert!(reg.stop().contains("path=/v2/"));

    std::fs::write(cfg, "log_level: loud\n").unwrap();
    let err = strata.fails(&["registry", "serve", "--config", cfg]);
    assert!(err.contains("log_level") && err.contains("loud"), "{err}");
    let err = strata.fails(&["registry", "serve", "--log-level", "loud"]);
    assert!(
        err.contains("'loud'") && err.contains("--log-level"),
        "{err}"
    );
}

#[test]
fn skopeo_copy_inspect_list_and_copy_back() {
    if missing("skopeo") {
        return;
    }
    let strata = Strata::new();
    let reg = Registry::start(&strata, &[]);
    let work = tempfile::tempdir().unwrap();
    let layer = std::fs::read(busybox_tar()).unwrap();
    let (md, ld) = oci_layout(&work.path().join("src"), &layer);
    let dest = format!("docker://{}/strata/busybox:1.0", reg.addr);
    let src = format!("oci:{}:latest", work.path().join("src").display());
    skopeo(&["copy", "--dest-tls-verify=false", &src, &dest]);

    let inspect: serde_json::Value =
        serde_json::from_str(&skopeo(&["inspect", "--tls-verify=false", &dest])).unwrap();
    // skopeo compresses the layer on the way, so compare with what the registry serves.
    let _ = md;
    assert_eq!(
        inspect["Digest"],
        served_digest(&reg.addr, "strata/busybox", "1.0")
    );
    assert_eq!(
        inspect["Layers"],
        serde_json::json!(served_layers(&reg.addr, "strata/busybox", "1.0"))
    );
    assert_eq!(inspect["Architecture"], "amd64");

    let tags: serde_json::Value = serde_json::from_str(&skopeo(&[
        "list-tags",
        "--tls-verify=false",
        &format!("docker://{}/strata/busybox", reg.addr),
    ]))
    .unwrap();
    assert_eq!(tags["Tags"], serde_json::json!(["1.0"]));

    let back = work.path().join("back");
    skopeo(&[
        "copy",
        "--src-tls-verify=false",
        &dest,
        &format!("oci:{}:copy", back.display()),
    ]);
    // The copy's config still names the uncompressed layer we started from.
    let read_json = |d: &str| -> serde_json::Value {
        let hex = d.trim_start_matches("sha256:");
        serde_json::from_slice(&std::fs::read(back.join("blobs/sha256").join(hex)).unwrap())
            .unwrap()
    };
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(back.join("index.json")).unwrap()).unwrap();
    let manifest = read_json(index["manifests"][0]["digest"].as_str().unwrap());
    let config = read_json(manifest["config"]["digest"].as_str().unwrap());
    assert_eq!(config["rootfs"]["diff_ids"][0], ld.to_string());

    let catalog = http_get(&reg.addr, "/v2/_catalog");
    assert!(
        catalog.contains(r#"{"repositories":["strata/busybox"]}"#),
        "{catalog}"
    );
    let search = http_get(&reg.addr, "/v1/search?q=busy");
    assert!(search.contains(r#""name":"strata/busybox""#), "{search}");
}

#[test]
fn read_only_registry_refuses_pushes() {
    if missing("skopeo") {
        return;
    }
    let strata = Strata::new();
    let reg = Registry::start(&strata, &["--read-only"]);
    let work = tempfile::tempdir().unwrap();
    oci_layout(&work.path().join("src"), b"tiny layer");
    let out = Command::new("skopeo")
        .args([
            "copy",
            "--dest-tls-verify=false",
            &format!("oci:{}:latest", work.path().join("src").display()),
            &format!("docker://{}/ro/x:1", reg.addr),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn gc_dry_run_then_delete_after_skopeo_delete() {
    if missing("skopeo") {
        return;
    }
    let strata = Strata::new();
    let reg = Registry::start(&strata, &["--delete-enabled"]);
    let work = tempfile::tempdir().unwrap();
    oci_layout(&work.path().join("keep"), b"layer that stays");
    oci_layout(&work.path().join("gone"), b"layer that goes");
    for (dir, repo) in [("keep", "app/keep"), ("gone", "app/gone")] {
        skopeo(&[
            "copy",
            "--dest-tls-verify=false",
            &format!("oci:{}:latest", work.path().join(dir).display()),
            &format!("docker://{}/{repo}:v1", reg.addr),
        ]);
    }
    let parse = |s: &str| Digest::parse(s).unwrap();
    let keep_layer = parse(&served_layers(&reg.addr, "app/keep", "v1")[0]);
    let gone_layer = parse(&served_layers(&reg.addr, "app/gone", "v1")[0]);
    skopeo(&[
        "delete",
        "--tls-verify=false",
        &format!("docker://{}/app/gone:v1", reg.addr),
    ]);
    let root = strata.root.path();
    let dry = strata.ok(&["registry", "gc", "--dry-run", "--grace-period", "0s"]);
    assert!(
        dry.contains(&format!("would delete blob {gone_layer}")),
        "{dry}"
    );
    assert!(!dry.contains(&keep_layer.to_string()), "{dry}");
    assert!(blob_file(root, &gone_layer).exists());

    let out = strata.ok(&["registry", "gc", "--grace-period", "0s"]);
    assert!(out.contains(&format!("deleted blob {gone_layer}")), "{out}");
    assert!(!blob_file(root, &gone_layer).exists());
    assert!(blob_file(root, &keep_layer).exists());
    skopeo(&[
        "inspect",
        "--tls-verify=false",
        &format!("docker://{}/app/keep:v1", reg.addr),
    ]);
    // With the default grace period nothing young is touched.
    let out = strata.ok(&["registry", "gc"]);
    assert!(out.contains("0 blobs and 0 manifests deleted"), "{out}");
}

/// podman with a store of its own (vfs, so no mounts), touching nobody else's images; push and
/// pull need no container runtime.
struct Podman {
    dir: tempfile::TempDir,
}

impl Podman {
    fn new() -> Podman {
        Podman {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn run(&self, args: &[&str]) -> String {
        let d = self.dir.path();
        run(Command::new("podman")
            .arg("--root")
            .arg(d.join("root"))
            .arg("--runroot")
            .arg(d.join("run"))
            .args(["--storage-driver", "vfs", "--events-backend", "none"])
            .args(args))
    }

    fn inspect(&self, format: &str, image: &str) -> String {
        self.run(&["image", "inspect", "--format", format, image])
            .trim()
            .to_owned()
    }
}

/// The digest the registry serves for a manifest.
fn served_digest(addr: &str, repo: &str, reference: &str) -> String {
    http_get(addr, &format!("/v2/{repo}/manifests/{reference}"))
        .lines()
        .find_map(|l| l.strip_prefix("docker-content-digest: "))
        .unwrap_or_default()
        .trim()
        .to_owned()
}

#[test]
fn podman_push_pull_and_pull_what_strata_pushed() {
    if missing("podman") {
        return;
    }
    let strata = Strata::new();
    let reg = Registry::start(&strata, &[]);
    let podman = Podman::new();
    let tar = busybox_tar();
    podman.run(&["import", tar.to_str().unwrap(), "localhost/bb:v1"]);
    let id = podman.inspect("{{.Id}}", "localhost/bb:v1");
    let remote = format!("{}/pod/bb:v1", reg.addr);
    podman.run(&["push", "--tls-verify=false", "localhost/bb:v1", &remote]);
    podman.run(&["rmi", "localhost/bb:v1"]);
    podman.run(&["pull", "--tls-verify=false", &remote]);
    assert_eq!(podman.inspect("{{.Id}}", &remote), id);
    assert_eq!(
        podman.inspect("{{.Digest}}", &remote),
        served_digest(&reg.addr, "pod/bb", "v1")
    );

    // strata pushes, podman pulls the same layers.
    let from_strata = format!("{}/from-strata/bb:v2", reg.addr);
    strata.import_busybox(&from_strata);
    strata.ok(&["push", &from_strata]);
    podman.run(&["pull", "--tls-verify=false", &from_strata]);
    let layers = "{{json .RootFS.Layers}}";
    assert_eq!(
        podman.inspect(layers, &from_strata),
        strata
            .ok(&["inspect", "--format", layers, &from_strata])
            .trim()
    );
    assert_eq!(
        podman.inspect("{{.Digest}}", &from_strata),
        served_digest(&reg.addr, "from-strata/bb", "v2")
    );
}

#[test]
fn docker_push_and_pull_round_trip() {
    if !docker_available() {
        println!("skipping: docker is not available");
        return;
    }
    let strata = Strata::new();
    let reg = Registry::start(&strata, &[]);
    let local = unique("strata-reg-bb");
    let tar = busybox_tar();
    docker(&["import", tar.to_str().unwrap(), &format!("{local}:v1")]);
    let remote = format!("{}/{local}/bb:v1", reg.addr);
    docker(&["tag", &format!("{local}:v1"), &remote]);
    let push = docker(&["push", &remote]);
    assert!(push.contains("digest: sha256:"), "{push}");
    let id = docker(&["image", "inspect", "--format", "{{.Id}}", &remote]);
    docker(&["rmi", &remote, &format!("{local}:v1")]);
    let pull = docker(&["pull", &remote]);
    assert!(
        pull.contains("Downloaded newer image") || pull.contains("Pull complete"),
        "{pull}"
    );
    let pulled = docker(&["image", "inspect", "--format", "{{.Id}}", &remote]);
    assert_eq!(id.trim(), pulled.trim());
    docker(&["rmi", &remote]);
}

/// bcrypt of "pw" (cost 5), as `htpasswd -nbB alice pw` writes it.
const ALICE_PW: &str = "alice:$2y$05$zFuRucjtheJ8vDOhbNrAS.Jb/JTr12Sos2Ra/6lYmUVEI4wpjfEWa";

#[test]
fn docker_login_push_pull_with_token_and_basic_auth() {
    if !docker_available() {
        println!("skipping: docker is not available");
        return;
    }
    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("htpasswd"), format!("{ALICE_PW}\n")).unwrap();
    let ht = work.path().join("htpasswd");
    let token_cfg = format!(
        "auth:\n  htpasswd: {{path: {}}}\n  token: {{service: strata-test}}\n  access:\n    - {{repository: '*', users: [alice], actions: [pull, push]}}\n",
        ht.display()
    );
    let basic_cfg = format!("auth:\n  htpasswd: {{path: {}}}\n", ht.display());
    let local = unique("strata-reg-auth");
    let tar = busybox_tar();
    docker(&["import", tar.to_str().unwrap(), &format!("{local}:v1")]);
    for (i, cfg) in [token_cfg, basic_cfg].into_iter().enumerate() {
        let strata = Strata::new();
        let cfg_path = work.path().join(format!("cfg{i}.yml"));
        std::fs::write(&cfg_path, cfg).unwrap();
        let reg = Registry::start(&strata, &["--config", cfg_path.to_str().unwrap()]);
        // A docker client config of its own, so the test's logins touch nobody else's.
        let client_cfg = work.path().join(format!("docker{i}"));
        let dk = |args: &[&str]| {
            Command::new("docker")
                .arg("--config")
                .arg(&client_cfg)
                .args(args)
                .stdin(Stdio::piped())
                .output()
                .unwrap()
        };
        let remote = format!("{}/{local}/bb:v1", reg.addr);
        docker(&["tag", &format!("{local}:v1"), &remote]);
        let out = dk(&["push", &remote]);
        assert!(!out.status.success(), "push without login must fail");
        let out = dk(&["login", "-u", "alice", "-p", "wrong", &reg.addr]);
        assert!(!out.status.success(), "wrong password must fail");
        let out = dk(&["login", "-u", "alice", "-p", "pw", &reg.addr]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = dk(&["push", &remote]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        docker(&["rmi", &remote]);
        let out = dk(&["pull", &remote]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        docker(&["rmi", &remote]);
    }
    docker(&["rmi", &format!("{local}:v1")]);
}

/// The Python `oras` client (oras-py, from PyPI): pushes files as an OCI artifact, then one
/// with a `subject` (the referrers API), and pulls them back.
#[test]
fn oras_python_client_pushes_and_pulls_artifacts() {
    let has_oras = Command::new("python3")
        .args(["-c", "import oras.client"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_oras {
        println!("skipping: the Python oras client is not installed (scripts/test.sh installs it)");
        return;
    }
    let strata = Strata::new();
    let reg = Registry::start(&strata, &[]);
    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("notes.txt"), "artifact content\n").unwrap();
    std::fs::write(work.path().join("sig.txt"), "a signature\n").unwrap();
    let script = r#"
import os, sys, urllib.request, oras.client, oras.oci
addr, work = sys.argv[1], sys.argv[2]
os.chdir(work)
client = oras.client.OrasClient(hostname=addr, insecure=True)
target = f"{addr}/team/notes:v1"
pushed = client.push(target=target, files=["notes.txt"])
digest = pushed.headers["Docker-Content-Digest"]
req = urllib.request.Request(f"http://{addr}/v2/team/notes/manifests/{digest}",
    headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
raw = urllib.request.urlopen(req).read()
subject = oras.oci.Subject(mediaType="application/vnd.oci.image.manifest.v1+json",
    digest=digest, size=len(raw))
client.push(target=f"{addr}/team/notes:sig", files=["sig.txt"], subject=subject)
pulled = client.pull(target=target, outdir="out")
print(open(pulled[0]).read(), end="")
"#;
    let out =
        run(Command::new("python3").args(["-c", script, &reg.addr, work.path().to_str().unwrap()]));
    assert_eq!(out, "artifact content\n");
    // The artifact is an OCI manifest whose one layer holds the file; the signature refers to it.
    let layers = served_layers(&reg.addr, "team/notes", "v1");
    assert_eq!(layers.len(), 1);
    let subject = served_digest(&reg.addr, "team/notes", "v1");
    let referrers = http_get(&reg.addr, &format!("/v2/team/notes/referrers/{subject}"));
    let sig = served_digest(&reg.addr, "team/notes", "sig");
    assert!(referrers.contains(&sig), "{referrers}");
}
