//! The S3 storage driver against real local S3 servers on 127.0.0.1: Garage (a distributed
//! object store, one node here) and moto's server mode; `tests/install-s3-test-deps.sh`
//! installs both. Every test runs against each server that is installed: two registry
//! replicas over one bucket sharing upload state through the bucket alone, and registries kept
//! apart in one bucket by key prefixes.

mod common;

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use strata_reference::Digest;
use strata_registry_server::Store;
use strata_registry_server::gc::{GcOptions, GcReport, collect};
use strata_registry_server::storage::S3Driver;

struct S3Server {
    /// `moto` or `garage`, for messages.
    name: &'static str,
    child: Child,
    endpoint: String,
    region: &'static str,
    access_key: String,
    secret_key: String,
    _dir: Option<tempfile::TempDir>,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> Option<u16> {
    Some(
        std::net::TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port(),
    )
}

/// Every local S3 server installed here, each with `bucket` made; a missing one is named.
fn s3_servers(bucket: &str) -> Vec<S3Server> {
    let mut out = Vec::new();
    match start_garage(bucket) {
        Some(s) => out.push(s),
        None => println!("skipping Garage: not installed (tests/install-s3-test-deps.sh)"),
    }
    match start_moto(bucket) {
        Some(s) => out.push(s),
        None => println!("skipping moto: not installed (tests/install-s3-test-deps.sh)"),
    }
    out
}

/// The Garage binary: `STRATA_GARAGE`, else `garage` on the PATH.
fn garage_binary() -> Option<std::path::PathBuf> {
    if let Some(p) = std::env::var_os("STRATA_GARAGE") {
        return Some(p.into());
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join("garage"))
        .find(|p| p.is_file())
}

/// A one-node Garage cluster on loopback with a key and `bucket` it may use.
fn start_garage(bucket: &str) -> Option<S3Server> {
    let binary = garage_binary()?;
    let dir = tempfile::tempdir().ok()?;
    let (rpc, s3, admin) = (free_port()?, free_port()?, free_port()?);
    let cfg = dir.path().join("garage.toml");
    let secret: String = (0..64)
        .map(|i| char::from(b"0123456789abcdef"[(i * 7) % 16]))
        .collect();
    std::fs::write(
        &cfg,
        format!(
            "metadata_dir = \"{meta}\"\ndata_dir = \"{data}\"\ndb_engine = \"sqlite\"\n\
             replication_factor = 1\nrpc_bind_addr = \"127.0.0.1:{rpc}\"\n\
             rpc_public_addr = \"127.0.0.1:{rpc}\"\nrpc_secret = \"{secret}\"\n\
             [s3_api]\ns3_region = \"garage\"\napi_bind_addr = \"127.0.0.1:{s3}\"\n\
             [admin]\napi_bind_addr = \"127.0.0.1:{admin}\"\n",
            meta = dir.path().join("meta").display(),
            data = dir.path().join("data").display(),
        ),
    )
    .ok()?;
    let log = std::fs::File::create(dir.path().join("garage.log")).ok()?;
    let child = Command::new(&binary)
        .arg("-c")
        .arg(&cfg)
        .arg("server")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .ok()?;
    let garage = |args: &[&str]| -> Option<String> {
        let out = Command::new(&binary)
            .arg("-c")
            .arg(&cfg)
            .args(args)
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let mut node = None;
    for _ in 0..100 {
        if let Some(id) = garage(&["node", "id", "-q"]) {
            node = id.trim().split('@').next().map(str::to_string);
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut server = S3Server {
        name: "garage",
        child,
        endpoint: format!("http://127.0.0.1:{s3}"),
        region: "garage",
        access_key: "GK0123456789abcdef01234567".into(),
        secret_key: "0123456789abcdef".repeat(4),
        _dir: None,
    };
    let node = node?;
    garage(&["layout", "assign", "-z", "dc1", "-c", "1G", &node])?;
    garage(&["layout", "apply", "--version", "1"])?;
    garage(&[
        "key",
        "import",
        "--yes",
        "-n",
        "strata-test",
        &server.access_key,
        &server.secret_key,
    ])?;
    garage(&["bucket", "create", bucket])?;
    garage(&[
        "bucket",
        "allow",
        "--read",
        "--write",
        "--owner",
        bucket,
        "--key",
        "strata-test",
    ])?;
    server._dir = Some(dir);
    Some(server)
}

fn raw(addr: &str, req: &str) -> String {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

fn start_moto(bucket: &str) -> Option<S3Server> {
    let port = free_port()?;
    let child = Command::new("moto_server")
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let addr = format!("127.0.0.1:{port}");
    let server = S3Server {
        name: "moto",
        child,
        endpoint: format!("http://{addr}"),
        region: "us-east-1",
        access_key: "test".into(),
        secret_key: "test".into(),
        _dir: None,
    };
    for _ in 0..100 {
        if std::net::TcpStream::connect(&addr).is_ok() {
            let resp = raw(
                &addr,
                &format!(
                    "PUT /{bucket} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                ),
            );
            assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
            return Some(server);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

/// The S3 config of a registry on `bucket`, its keys under `prefix` when that is not empty.
fn s3_config(s3: &S3Server, bucket: &str, prefix: &str) -> String {
    format!(
        "delete_enabled: true\nstorage: {{driver: s3, bucket: {bucket}, prefix: '{prefix}', region: {}, endpoint: '{}', access_key: {}, secret_key: {}}}\n",
        s3.region, s3.endpoint, s3.access_key, s3.secret_key
    )
    .replace("prefix: '', ", "")
}

/// `strata registry gc --delete-untagged --grace-period 0s` over `bucket`/`prefix`.
async fn collect_now(s3: &S3Server, bucket: &str, prefix: &str) -> GcReport {
    let driver = S3Driver::connect(
        bucket,
        s3.region,
        Some(&s3.endpoint),
        Some(&s3.access_key),
        Some(&s3.secret_key),
    )
    .unwrap()
    .with_prefix(prefix)
    .unwrap();
    let opts = GcOptions {
        delete_untagged: true,
        grace: Duration::ZERO,
        ..GcOptions::default()
    };
    collect(&Store::new(Arc::new(driver)), &opts).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn two_replicas_over_one_bucket() {
    for s3 in s3_servers("registry") {
        println!("against {}", s3.name);
        two_replicas(&s3).await;
    }
}

async fn two_replicas(s3: &S3Server) {
    let cfg = s3_config(s3, "registry", "");
    let dir = tempfile::tempdir().unwrap();
    let a = TestServer::start(dir.path(), &cfg).await;
    let b = TestServer::start(dir.path(), &cfg).await;

    // Push on A, pull on B.
    let (d, body) = a.push_image("team/app", "v1", b"layer over s3").await;
    let r = b.get("/v2/team/app/manifests/v1").await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "docker-content-digest"), d.to_string());
    assert_eq!(r.text().await.unwrap(), body);
    let ld = Digest::sha256_of(b"layer over s3");
    let r = b
        .client
        .get(b.url(&format!("/v2/team/app/blobs/{ld}")))
        .header("range", "bytes=6-9")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(&r.bytes().await.unwrap()[..], b"over");

    // A chunked upload that moves between replicas: start on A, chunks on A and B, finish on B.
    let loc = a.start_upload("team/app").await;
    let first = vec![b'x'; 6 * 1024 * 1024];
    let r = a
        .patch_chunk(&loc, format!("0-{}", first.len() - 1), first.clone())
        .await;
    assert_eq!(r.status(), 202);
    let r = b.patch_chunk(&loc, "0-2", "bad").await;
    assert_eq!(r.status(), 416);
    let start = first.len();
    let r = b
        .patch_chunk(&loc, format!("{start}-{}", start + 4), "tail!")
        .await;
    assert_eq!(r.status(), 202);
    let r = a.get(&loc).await;
    assert_eq!(header(&r, "range"), format!("0-{}", start + 4));
    let mut all = first;
    all.extend_from_slice(b"tail!");
    let big = Digest::sha256_of(&all);
    let r = b.put(&format!("{loc}?digest={big}")).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let r = a.get(&format!("/v2/team/app/blobs/{big}")).await;
    assert_eq!(Digest::sha256_of(&r.bytes().await.unwrap()), big);

    // A wrong digest leaves nothing behind.
    let r = a.post_body("/v2/team/app/blobs/uploads/?digest=sha256:0000000000000000000000000000000000000000000000000000000000000000", "zzz").await;
    assert_eq!(error_code(r).await, "DIGEST_INVALID");

    let v = b.get_json("/v2/_catalog").await;
    assert_eq!(v["repositories"], serde_json::json!(["team/app"]));
    let v = a.get_json("/v2/team/app/tags/list").await;
    assert_eq!(v["tags"], serde_json::json!(["v1"]));

    // Delete the tag on B, collect garbage over the bucket, the image is gone on A.
    let r = b.delete("/v2/team/app/manifests/v1").await;
    assert_eq!(r.status(), 202);
    let report = collect_now(s3, "registry", "").await;
    assert!(report.blobs_deleted.contains(&ld), "{report:?}");
    assert!(report.blobs_deleted.contains(&big));
    let r = a.get(&format!("/v2/team/app/manifests/{d}")).await;
    assert_eq!(r.status(), 404);
    let r = a.head(&format!("/v2/team/app/blobs/{ld}")).await;
    assert_eq!(r.status(), 404);
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn prefixes_keep_registries_apart_in_one_bucket() {
    for s3 in s3_servers("shared") {
        println!("against {}", s3.name);
        prefixes_apart(&s3).await;
    }
}

async fn prefixes_apart(s3: &S3Server) {
    let dir = tempfile::tempdir().unwrap();
    let a = TestServer::start(dir.path(), &s3_config(s3, "shared", "teams/a")).await;
    // Surrounding slashes name the same prefix.
    let b = TestServer::start(dir.path(), &s3_config(s3, "shared", "/teams/b/")).await;
    let root = TestServer::start(dir.path(), &s3_config(s3, "shared", "")).await;

    // The same repository and layer in both: each registry sees only its own.
    a.push_image("app", "v1", b"shared layer").await;
    let ld = Digest::sha256_of(b"shared layer");
    assert_eq!(
        b.get_json("/v2/_catalog").await["repositories"],
        serde_json::json!([])
    );
    assert_eq!(
        error_code(b.get("/v2/app/manifests/v1").await).await,
        "NAME_UNKNOWN"
    );
    assert_eq!(b.get(&format!("/v2/app/blobs/{ld}")).await.status(), 404);
    b.push_image("app", "v2", b"shared layer").await;
    assert_eq!(
        a.get_json("/v2/app/tags/list").await["tags"],
        serde_json::json!(["v1"])
    );
    assert_eq!(
        b.get_json("/v2/app/tags/list").await["tags"],
        serde_json::json!(["v2"])
    );
    // The bucket root is a third registry, with nothing in it.
    let v = root.get_json("/v2/_catalog").await;
    assert_eq!(v["repositories"], serde_json::json!([]));

    // GC under A's prefix deletes A's copy of the layer and leaves B's.
    let r = a.delete("/v2/app/manifests/v1").await;
    assert_eq!(r.status(), 202);
    let report = collect_now(s3, "shared", "teams/a").await;
    assert!(report.blobs_deleted.contains(&ld), "{report:?}");
    assert_eq!(a.get(&format!("/v2/app/blobs/{ld}")).await.status(), 404);
    let r = b.get(&format!("/v2/app/blobs/{ld}")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(&r.bytes().await.unwrap()[..], b"shared layer");
    a.stop().await;
    b.stop().await;
    root.stop().await;
}
