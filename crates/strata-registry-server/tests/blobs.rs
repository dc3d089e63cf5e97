//! Blob and upload endpoints against a live server.

mod common;

use common::*;
use strata_reference::{Algorithm, Digest, Digester};

#[tokio::test(flavor = "multi_thread")]
async fn base_endpoint_announces_the_api_version() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(dir.path(), "").await;
    let r = s.get("/v2/").await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        header(&r, "docker-distribution-api-version"),
        "registry/2.0"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn monolithic_upload_then_head_get_and_ranges() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(dir.path(), "").await;
    let data = b"0123456789abcdef";
    let d = s.push_blob("lib/app", data).await;

    let r = s.head(&format!("/v2/lib/app/blobs/{d}")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "content-length"), "16");
    assert_eq!(header(&r, "docker-content-digest"), d.to_string());

    let r = s.get(&format!("/v2/lib/app/blobs/{d}")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(&r.bytes().await.unwrap()[..], data);

    let r = s
        .client
        .get(s.url(&format!("/v2/lib/app/blobs/{d}")))
        .header("range", "bytes=2-5")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(header(&r, "content-range"), "bytes 2-5/16");
    assert_eq!(&r.bytes().await.unwrap()[..], b"2345");

    let r = s
        .client
        .get(s.url(&format!("/v2/lib/app/blobs/{d}")))
        .header("range", "bytes=16-")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 416);
    assert_eq!(header(&r, "content-range"), "bytes */16");

    // Unknown in this repository, even though it exists in another.
    let r = s.get(&format!("/v2/other/blobs/{d}")).await;
    assert_eq!(r.status(), 404);
    assert_eq!(error_code(r).await, "BLOB_UNKNOWN");
    let r = s.head(&format!("/v2/other/blobs/{d}")).await;
    assert_eq!(r.status(), 404);

    let r = s.get("/v2/lib/app/blobs/sha256:nothex").await;
    assert_eq!(r.status(), 400);
    assert_eq!(error_code(r).await, "DIGEST_INVALID");

    // A monolithic upload whose digest does not match stores nothing.
    let wrong = Digest::sha256_of(b"other");
    let r = s
        .post_body(
            &format!("/v2/lib/app/blobs/uploads/?digest={wrong}"),
            "payload",
        )
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(error_code(r).await, "DIGEST_INVALID");
    let r = s
        .head(&format!(
            "/v2/lib/app/blobs/{}",
            Digest::sha256_of(b"payload")
        ))
        .await;
    assert_eq!(r.status(), 404);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn post_then_put_and_chunked_uploads() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(dir.path(), "").await;

    // POST then a single PUT with the whole body.
    let r = s.post("/v2/r/blobs/uploads/").await;
    assert_eq!(r.status(), 202);
    assert_eq!(header(&r, "range"), "0-0");
    let loc = header(&r, "location").to_owned();
    let uuid = header(&r, "docker-upload-uuid").to_owned();
    assert!(loc.ends_with(&uuid));
    let d = Digest::sha256_of(b"whole");
    let r = s
        .client
        .put(s.url(&format!("{loc}?digest={d}")))
        .body("whole")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(header(&r, "docker-content-digest"), d.to_string());
    assert_eq!(header(&r, "location"), format!("/v2/r/blobs/{d}"));

    // Chunked: in order, out of order (416), status, finish with an empty PUT.
    let loc = s.start_upload("r").await;
    let r = s
        .client
        .patch(s.url(&loc))
        .header("content-range", "0-4")
        .header("content-type", "application/octet-stream")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    assert_eq!(header(&r, "range"), "0-4");
    let r = s.patch_chunk(&loc, "10-14", "xxxxx").await;
    assert_eq!(r.status(), 416);
    assert_eq!(header(&r, "range"), "0-4");
    let r = s.get(&loc).await;
    assert_eq!(r.status(), 204);
    assert_eq!(header(&r, "range"), "0-4");
    let r = s.patch_chunk(&loc, "5-10", "world!").await;
    assert_eq!(r.status(), 202);
    assert_eq!(header(&r, "range"), "0-10");
    let d = Digest::sha256_of(b"helloworld!");
    let r = s.put(&format!("{loc}?digest={d}")).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let r = s.get(&format!("/v2/r/blobs/{d}")).await;
    assert_eq!(&r.bytes().await.unwrap()[..], b"helloworld!");

    // Streamed PATCH (chunked transfer encoding, no Content-Range).
    let loc = s.start_upload("r").await;
    let chunks: Vec<Result<&'static [u8], std::io::Error>> =
        vec![Ok(b"str"), Ok(b"eam"), Ok(b"ed")];
    let body = reqwest::Body::wrap_stream(futures_util::stream::iter(chunks));
    let r = s.client.patch(s.url(&loc)).body(body).send().await.unwrap();
    assert_eq!(r.status(), 202);
    assert_eq!(header(&r, "range"), "0-7");
    let d = Digest::sha256_of(b"streamed");
    let r = s.put(&format!("{loc}?digest={d}")).await;
    assert_eq!(r.status(), 201);

    // A wrong digest at the end discards the upload.
    let loc = s.start_upload("r").await;
    let wrong = Digest::sha256_of(b"nope");
    let r = s
        .client
        .put(s.url(&format!("{loc}?digest={wrong}")))
        .body("data")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(error_code(r).await, "DIGEST_INVALID");
    let r = s.get(&loc).await;
    assert_eq!(r.status(), 404);
    assert_eq!(error_code(r).await, "BLOB_UPLOAD_UNKNOWN");

    // Cancel.
    let loc = s.start_upload("r").await;
    let r = s.delete(&loc).await;
    assert_eq!(r.status(), 204);
    let r = s.delete(&loc).await;
    assert_eq!(r.status(), 404);
    let r = s.get("/v2/r/blobs/uploads/not-a-uuid").await;
    assert_eq!(error_code(r).await, "BLOB_UPLOAD_UNKNOWN");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn chunked_upload_survives_a_server_restart() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(dir.path(), "").await;
    let loc = s.start_upload("r").await;
    let first = vec![7u8; 300_000];
    let r = s.patch_chunk(&loc, "0-299999", first.clone()).await;
    assert_eq!(r.status(), 202);
    s.stop().await;

    let s = TestServer::start(dir.path(), "").await;
    let r = s.get(&loc).await;
    assert_eq!(r.status(), 204);
    assert_eq!(header(&r, "range"), "0-299999");
    let r = s.patch_chunk(&loc, "300000-300002", "end").await;
    assert_eq!(r.status(), 202);
    let mut all = first;
    all.extend_from_slice(b"end");
    let d = Digest::sha256_of(&all);
    let r = s.put(&format!("{loc}?digest={d}")).await;
    assert_eq!(r.status(), 201);
    let r = s.get(&format!("/v2/r/blobs/{d}")).await;
    assert_eq!(r.bytes().await.unwrap().len(), 300_003);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cross_repository_mount_and_fallback() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(dir.path(), "").await;
    let d = s.push_blob("src", b"shared layer").await;
    let r = s
        .post(&format!("/v2/dst/blobs/uploads/?mount={d}&from=src"))
        .await;
    assert_eq!(r.status(), 201);
    assert_eq!(header(&r, "docker-content-digest"), d.to_string());
    let r = s.head(&format!("/v2/dst/blobs/{d}")).await;
    assert_eq!(r.status(), 200);
    // Not in the source repository: an ordinary upload session instead.
    let missing = Digest::sha256_of(b"absent");
    let r = s
        .post(&format!("/v2/dst/blobs/uploads/?mount={missing}&from=src"))
        .await;
    assert_eq!(r.status(), 202);
    assert!(header(&r, "location").starts_with("/v2/dst/blobs/uploads/"));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sha512_blobs() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(dir.path(), "").await;
    let mut dg = Digester::new(Algorithm::Sha512);
    dg.update(b"five twelve");
    let d = dg.finish();
    let r = s
        .post_body(&format!("/v2/r/blobs/uploads/?digest={d}"), "five twelve")
        .await;
    assert_eq!(r.status(), 201);
    let r = s.get(&format!("/v2/r/blobs/{d}")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "docker-content-digest"), d.to_string());
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn names_are_validated_and_traversal_refused() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(dir.path(), "").await;
    let r = s.get("/v2/UPPER/tags/list").await;
    assert_eq!(r.status(), 400);
    assert_eq!(error_code(r).await, "NAME_INVALID");
    let resp = raw_request(
        &s.base,
        "GET /v2/a/%2e%2e/b/tags/list HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(resp.contains("NAME_INVALID"), "{resp}");
    let resp = raw_request(
        &s.base,
        "GET /v2/a/../../../etc/manifests/latest HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(resp.starts_with("HTTP/1.1 400"), "{resp}");
    assert!(resp.contains("NAME_INVALID"));
    assert!(!dir.path().join("etc").exists());
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn deletes_need_delete_enabled_and_read_only_refuses_writes() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(dir.path(), "").await;
    let d = s.push_blob("r", b"x").await;
    let r = s.delete(&format!("/v2/r/blobs/{d}")).await;
    assert_eq!(r.status(), 405);
    assert_eq!(error_code(r).await, "UNSUPPORTED");
    s.stop().await;

    let s = TestServer::start(dir.path(), "delete_enabled: true\n").await;
    let r = s.delete(&format!("/v2/r/blobs/{d}")).await;
    assert_eq!(r.status(), 202);
    let r = s.head(&format!("/v2/r/blobs/{d}")).await;
    assert_eq!(r.status(), 404);
    let r = s.delete(&format!("/v2/r/blobs/{d}")).await;
    assert_eq!(r.status(), 404);
    s.stop().await;

    let s = TestServer::start(dir.path(), "read_only: true\n").await;
    let r = s.post("/v2/r/blobs/uploads/").await;
    assert_eq!(r.status(), 405);
    assert_eq!(error_code(r).await, "UNSUPPORTED");
    let r = s.get("/v2/").await;
    assert_eq!(r.status(), 200);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_are_prometheus_text() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(dir.path(), "").await;
    s.push_blob("r", b"abc").await;
    let text = s.get("/metrics").await.text().await.unwrap();
    assert!(
        text.contains("registry_http_requests_total{method=\"POST\",code=\"201\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("registry_blob_bytes_received_total 3"),
        "{text}"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn limits_blob_size_and_concurrency() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(
        dir.path(),
        "limits: {max_blob_bytes: 10, max_concurrent_requests: 1}\n",
    )
    .await;
    let big = b"0123456789ab";
    let d = Digest::sha256_of(big);
    let r = s
        .post_body(&format!("/v2/r/blobs/uploads/?digest={d}"), big.to_vec())
        .await;
    assert_eq!(r.status(), 413);
    assert_eq!(error_code(r).await, "SIZE_INVALID");
    // A streamed body without a length is cut off at the limit too.
    let loc = s.start_upload("r").await;
    let chunks: Vec<Result<&'static [u8], std::io::Error>> = vec![Ok(b"012345"), Ok(b"6789ab")];
    let r = s
        .client
        .patch(s.url(&loc))
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let r = s.get(&loc).await;
    assert_eq!(
        header(&r, "range"),
        "0-0",
        "the rejected chunk was rolled back"
    );

    // One request at a time: a second one while a slow upload streams gets 429.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(1);
    let body = reqwest::Body::wrap_stream(tokio_stream_from(rx));
    let slow = tokio::spawn({
        let c = s.client.clone();
        let url = s.url(&loc);
        async move { c.patch(url).body(body).send().await.unwrap().status() }
    });
    tx.send(Ok(b"01".to_vec())).await.unwrap();
    let mut got_429 = false;
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let r = s.get("/v2/").await;
        if r.status() == 429 {
            assert_eq!(header(&r, "retry-after"), "1");
            assert_eq!(error_code(r).await, "TOOMANYREQUESTS");
            got_429 = true;
            break;
        }
    }
    drop(tx);
    assert!(got_429);
    assert_eq!(slow.await.unwrap(), 202);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn graceful_shutdown_finishes_requests_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(dir.path(), "").await;
    let loc = s.start_upload("r").await;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(1);
    let body = reqwest::Body::wrap_stream(tokio_stream_from(rx));
    let c = s.client.clone();
    let url = s.url(&loc);
    let slow = tokio::spawn(async move { c.patch(url).body(body).send().await.unwrap().status() });
    tx.send(Ok(b"first".to_vec())).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let base = s.base.clone();
    let stopping = tokio::spawn(s.stop());
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    // New connections are refused while the old request still completes.
    assert!(reqwest::get(format!("{base}/v2/")).await.is_err());
    tx.send(Ok(b"second".to_vec())).await.unwrap();
    drop(tx);
    assert_eq!(slow.await.unwrap(), 202);
    stopping.await.unwrap();
    let s = TestServer::start(dir.path(), "").await;
    let r = s.get(&loc).await;
    assert_eq!(header(&r, "range"), "0-10");
    s.stop().await;
}

fn tokio_stream_from(
    mut rx: tokio::sync::mpsc::Receiver<Result<Vec<u8>, std::io::Error>>,
) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}
