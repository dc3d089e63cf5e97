//! The S3 storage driver against a local S3-compatible server (moto in server mode on
//! 127.0.0.1; `tests/install-s3-test-deps.sh` installs it), with two registry replicas over one
//! bucket sharing upload state through the bucket alone.

mod common;

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use strata_reference::Digest;
use strata_registry_server::Store;
use strata_registry_server::gc::{GcOptions, collect};
use strata_registry_server::storage::S3Driver;

struct S3Server {
    child: Child,
    endpoint: String,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn raw(addr: &str, req: &str) -> String {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

fn start_s3(bucket: &str) -> Option<S3Server> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .ok()?
        .local_addr()
        .ok()?
        .port();
    let child = Command::new("moto_server")
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let addr = format!("127.0.0.1:{port}");
    let server = S3Server {
        child,
        endpoint: format!("http://{addr}"),
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

#[tokio::test(flavor = "multi_thread")]
async fn two_replicas_over_one_bucket() {
    let Some(s3) = start_s3("registry") else {
        println!("skipping: moto_server is not installed (tests/install-s3-test-deps.sh)");
        return;
    };
    let cfg = format!(
        "delete_enabled: true\nstorage: {{driver: s3, bucket: registry, region: us-east-1, endpoint: '{}', access_key: test, secret_key: test}}\n",
        s3.endpoint
    );
    let dir = tempfile::tempdir().unwrap();
    let a = TestServer::start(dir.path(), &cfg).await;
    let b = TestServer::start(dir.path(), &cfg).await;

    // Push on A, pull on B.
    let (d, body) = a.push_image("team/app", "v1", b"layer over s3").await;
    let r = b
        .client
        .get(b.url("/v2/team/app/manifests/v1"))
        .send()
        .await
        .unwrap();
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
    let r = a
        .client
        .post(a.url("/v2/team/app/blobs/uploads/"))
        .send()
        .await
        .unwrap();
    let loc = header(&r, "location").to_owned();
    let first = vec![b'x'; 6 * 1024 * 1024];
    let r = a
        .client
        .patch(a.url(&loc))
        .header("content-range", format!("0-{}", first.len() - 1))
        .body(first.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let r = b
        .client
        .patch(b.url(&loc))
        .header("content-range", "0-2")
        .body("bad")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 416);
    let start = first.len();
    let r = b
        .client
        .patch(b.url(&loc))
        .header("content-range", format!("{start}-{}", start + 4))
        .body("tail!")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let r = a.client.get(a.url(&loc)).send().await.unwrap();
    assert_eq!(header(&r, "range"), format!("0-{}", start + 4));
    let mut all = first;
    all.extend_from_slice(b"tail!");
    let big = Digest::sha256_of(&all);
    let r = b
        .client
        .put(b.url(&format!("{loc}?digest={big}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let r = a
        .client
        .get(a.url(&format!("/v2/team/app/blobs/{big}")))
        .send()
        .await
        .unwrap();
    assert_eq!(Digest::sha256_of(&r.bytes().await.unwrap()), big);

    // A wrong digest leaves nothing behind.
    let r = a.client.post(a.url("/v2/team/app/blobs/uploads/?digest=sha256:0000000000000000000000000000000000000000000000000000000000000000"))
        .body("zzz").send().await.unwrap();
    assert_eq!(error_code(r).await, "DIGEST_INVALID");

    let v: serde_json::Value = b
        .client
        .get(b.url("/v2/_catalog"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["repositories"], serde_json::json!(["team/app"]));
    let v: serde_json::Value = a
        .client
        .get(a.url("/v2/team/app/tags/list"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["tags"], serde_json::json!(["v1"]));

    // Delete the tag on B, collect garbage over the bucket, the image is gone on A.
    let r = b
        .client
        .delete(b.url("/v2/team/app/manifests/v1"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let store = Store::new(Arc::new(
        S3Driver::connect(
            "registry",
            "us-east-1",
            Some(&s3.endpoint),
            Some("test"),
            Some("test"),
        )
        .unwrap(),
    ));
    let opts = GcOptions {
        delete_untagged: true,
        grace: Duration::ZERO,
        ..GcOptions::default()
    };
    let report = collect(&store, &opts).await.unwrap();
    assert!(report.blobs_deleted.contains(&ld), "{report:?}");
    assert!(report.blobs_deleted.contains(&big));
    let r = a
        .client
        .get(a.url(&format!("/v2/team/app/manifests/{d}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = a
        .client
        .head(a.url(&format!("/v2/team/app/blobs/{ld}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    a.stop().await;
    b.stop().await;
}
