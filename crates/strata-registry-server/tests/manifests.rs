//! Manifests, referrers, tags, catalog and search against a live server.

mod common;

use common::*;
use strata_reference::Digest;

#[tokio::test(flavor = "multi_thread")]
async fn manifest_put_get_head_by_tag_and_digest() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(dir.path(), "").await;
    let (d, body) = s.push_image("lib/app", "v1", b"layer-bytes").await;
    for reference in ["v1".to_owned(), d.to_string()] {
        let r = s
            .client
            .get(s.url(&format!("/v2/lib/app/manifests/{reference}")))
            .header("accept", DOCKER_MANIFEST)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(header(&r, "content-type"), DOCKER_MANIFEST);
        assert_eq!(header(&r, "docker-content-digest"), d.to_string());
        assert_eq!(r.text().await.unwrap(), body);
        let r = s.head(&format!("/v2/lib/app/manifests/{reference}")).await;
        assert_eq!(r.status(), 200);
        assert_eq!(header(&r, "content-length"), body.len().to_string());
    }
    let r = s.get("/v2/lib/app/manifests/nope").await;
    assert_eq!(r.status(), 404);
    assert_eq!(error_code(r).await, "MANIFEST_UNKNOWN");
    let r = s.get("/v2/no/such/manifests/latest").await;
    assert_eq!(r.status(), 404);
    assert_eq!(error_code(r).await, "NAME_UNKNOWN");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_manifests_are_rejected_and_nothing_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(dir.path(), "limits: {max_manifest_bytes: 2048}\n").await;
    let cd = s.push_blob("r", b"{}").await;
    let missing = Digest::sha256_of(b"missing layer");
    let m = docker_manifest(&cd, 2, &missing, 13);
    let r = s.put_manifest("r", "t", DOCKER_MANIFEST, &m).await;
    assert_eq!(r.status(), 400);
    assert_eq!(error_code(r).await, "MANIFEST_BLOB_UNKNOWN");

    let r = s.put_manifest("r", "t", DOCKER_MANIFEST, "{not json").await;
    assert_eq!(r.status(), 400);
    assert_eq!(error_code(r).await, "MANIFEST_INVALID");

    let big = format!(r#"{{"schemaVersion":2,"pad":"{}"}}"#, "x".repeat(4096));
    let r = s.put_manifest("r", "t", OCI_MANIFEST, &big).await;
    assert_eq!(r.status(), 413);

    let ld = s.push_blob("r", b"l").await;
    let good = docker_manifest(&cd, 2, &ld, 1);
    let wrong = Digest::sha256_of(b"other");
    let r = s
        .put_manifest("r", &wrong.to_string(), DOCKER_MANIFEST, &good)
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(error_code(r).await, "DIGEST_INVALID");

    let r = s
        .put_manifest("r", "bad..tag!", DOCKER_MANIFEST, &good)
        .await;
    assert_eq!(r.status(), 400);

    let r = s.put_manifest("r", "t", OCI_INDEX, &good).await;
    assert_eq!(error_code(r).await, "MANIFEST_INVALID");

    let r = s.get("/v2/r/tags/list").await;
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["tags"], serde_json::json!([]));

    let r = s
        .put_manifest(
            "r",
            &Digest::sha256_of(good.as_bytes()).to_string(),
            DOCKER_MANIFEST,
            &good,
        )
        .await;
    assert_eq!(r.status(), 201);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn indexes_need_their_children() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(dir.path(), "").await;
    let (child, body) = s.push_image("r", "amd64", b"l1").await;
    let absent = Digest::sha256_of(b"absent");
    let index = |d: &Digest, size: usize| index_of(OCI_INDEX, &[(d, size, "amd64")]);
    let r = s
        .put_manifest("r", "multi", OCI_INDEX, &index(&absent, 10))
        .await;
    assert_eq!(error_code(r).await, "MANIFEST_BLOB_UNKNOWN");
    let r = s
        .put_manifest("r", "multi", OCI_INDEX, &index(&child, body.len()))
        .await;
    assert_eq!(r.status(), 201);
    let r = s.get("/v2/r/manifests/multi").await;
    assert_eq!(header(&r, "content-type"), OCI_INDEX);
    s.stop().await;
}

/// distribution's Accept rules: OCI content a client does not list is MANIFEST_UNKNOWN, a Docker
/// manifest list by tag becomes its linux/amd64 manifest for a client that does not list it.
#[tokio::test(flavor = "multi_thread")]
async fn manifests_follow_the_accept_header() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(dir.path(), "").await;
    let (arm, arm_body) = s.push_image("r", "arm64", b"arm layer").await;
    let (amd, amd_body) = s.push_image("r", "amd64", b"amd layer").await;
    let children = [
        (&arm, arm_body.len(), "arm64"),
        (&amd, amd_body.len(), "amd64"),
    ];
    let oci_index = index_of(OCI_INDEX, &children);
    let list = index_of(DOCKER_MANIFEST_LIST, &children);
    for (tag, media_type, body) in [
        ("oci", OCI_INDEX, &oci_index),
        ("list", DOCKER_MANIFEST_LIST, &list),
        (
            "armonly",
            DOCKER_MANIFEST_LIST,
            &index_of(DOCKER_MANIFEST_LIST, &children[..1]),
        ),
    ] {
        let r = s.put_manifest("r", tag, media_type, body).await;
        assert_eq!(r.status(), 201, "{tag}");
    }
    let docker_only = format!("{DOCKER_MANIFEST}, {DOCKER_MANIFEST_LIST}");
    let schema2_only = DOCKER_MANIFEST;

    // An OCI index for a client that lists only Docker types is unknown, by tag or digest.
    let index_digest = Digest::sha256_of(oci_index.as_bytes());
    for reference in ["oci".to_owned(), index_digest.to_string()] {
        let r = s
            .get_accepting(&format!("/v2/r/manifests/{reference}"), &docker_only)
            .await;
        assert_eq!(r.status(), 404);
        let v: serde_json::Value = r.json().await.unwrap();
        assert_eq!(v["errors"][0]["code"], "MANIFEST_UNKNOWN");
        assert!(
            v["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("OCI index found")
        );
    }
    // Listed, or no manifest type listed at all: served as stored.
    for accept in [OCI_INDEX, "*/*"] {
        let r = s.get_accepting("/v2/r/manifests/oci", accept).await;
        assert_eq!(header(&r, "content-type"), OCI_INDEX, "{accept}");
        assert_eq!(r.text().await.unwrap(), oci_index);
    }

    // A manifest list by tag for a schema2-only client: its linux/amd64 manifest.
    let r = s.get_accepting("/v2/r/manifests/list", schema2_only).await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "content-type"), DOCKER_MANIFEST);
    assert_eq!(header(&r, "docker-content-digest"), amd.to_string());
    assert_eq!(r.text().await.unwrap(), amd_body);
    let r = s
        .client
        .head(s.url("/v2/r/manifests/list"))
        .header("accept", schema2_only)
        .send()
        .await
        .unwrap();
    assert_eq!(header(&r, "docker-content-digest"), amd.to_string());
    assert_eq!(header(&r, "content-length"), amd_body.len().to_string());
    // By digest the list itself (a digest names exact bytes), and for clients that list it.
    let list_digest = Digest::sha256_of(list.as_bytes());
    for (reference, accept) in [
        (list_digest.to_string(), schema2_only),
        ("list".to_owned(), docker_only.as_str()),
    ] {
        let r = s
            .get_accepting(&format!("/v2/r/manifests/{reference}"), accept)
            .await;
        assert_eq!(header(&r, "content-type"), DOCKER_MANIFEST_LIST);
        assert_eq!(r.text().await.unwrap(), list);
    }
    // No linux/amd64 entry, or a client that cannot read the schema2 manifest it would get.
    let r = s
        .get_accepting("/v2/r/manifests/armonly", schema2_only)
        .await;
    assert_eq!(error_code(r).await, "MANIFEST_UNKNOWN");
    let r = s.get_accepting("/v2/r/manifests/list", OCI_MANIFEST).await;
    assert_eq!(r.status(), 400);
    assert_eq!(error_code(r).await, "MANIFEST_INVALID");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn referrers_with_subject_and_artifact_type_filter() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(dir.path(), "").await;
    let (subject, body) = s.push_image("r", "v1", b"img").await;
    let empty = s.push_blob("r", b"{}").await;
    let artifact = |at: &str, note: &str| {
        format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","artifactType":"{at}","config":{{"mediaType":"application/vnd.oci.empty.v1+json","digest":"{empty}","size":2}},"layers":[],"subject":{{"mediaType":"{DOCKER_MANIFEST}","digest":"{subject}","size":{}}},"annotations":{{"note":"{note}"}}}}"#,
            body.len()
        )
    };
    let sbom = artifact("application/spdx+json", "sbom");
    let sig = artifact("application/vnd.dev.cosign", "sig");
    let mut digests = Vec::new();
    for m in [&sbom, &sig] {
        let d = Digest::sha256_of(m.as_bytes());
        let r = s.put_manifest("r", &d.to_string(), OCI_MANIFEST, m).await;
        assert_eq!(r.status(), 201);
        assert_eq!(header(&r, "oci-subject"), subject.to_string());
        digests.push(d);
    }
    let r = s.get(&format!("/v2/r/referrers/{subject}")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "content-type"), OCI_INDEX);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["manifests"].as_array().unwrap().len(), 2);

    let r = s
        .get(&format!(
            "/v2/r/referrers/{subject}?artifactType=application/spdx%2Bjson"
        ))
        .await;
    assert_eq!(header(&r, "oci-filters-applied"), "artifactType");
    let v: serde_json::Value = r.json().await.unwrap();
    let list = v["manifests"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["digest"], digests[0].to_string());
    assert_eq!(list[0]["artifactType"], "application/spdx+json");
    assert_eq!(list[0]["annotations"]["note"], "sbom");
    assert_eq!(list[0]["size"], sbom.len());

    let none = Digest::sha256_of(b"no subject");
    let r = s.get(&format!("/v2/r/referrers/{none}")).await;
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["manifests"], serde_json::json!([]));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn tags_catalog_pagination_and_search() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(dir.path(), "").await;
    for tag in ["a", "b", "c"] {
        s.push_image("team/web", tag, tag.as_bytes()).await;
    }
    s.push_image("team/db", "x", b"db").await;
    s.push_image("alpine", "x", b"alp").await;

    let r = s.get("/v2/team/web/tags/list?n=2").await;
    assert_eq!(
        header(&r, "link"),
        "</v2/team/web/tags/list?n=2&last=b>; rel=\"next\""
    );
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        v,
        serde_json::json!({"name": "team/web", "tags": ["a", "b"]})
    );
    let r = s.get("/v2/team/web/tags/list?n=2&last=b").await;
    assert_eq!(header(&r, "link"), "");
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["tags"], serde_json::json!(["c"]));
    let r = s.get("/v2/nothere/tags/list").await;
    assert_eq!(error_code(r).await, "NAME_UNKNOWN");

    let v: serde_json::Value = s.get("/v2/_catalog").await.json().await.unwrap();
    assert_eq!(
        v["repositories"],
        serde_json::json!(["alpine", "team/db", "team/web"])
    );
    let r = s.get("/v2/_catalog?n=1&last=alpine").await;
    assert_eq!(
        header(&r, "link"),
        "</v2/_catalog?n=1&last=team/db>; rel=\"next\""
    );
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["repositories"], serde_json::json!(["team/db"]));

    let v: serde_json::Value = s.get("/v1/search?q=team&n=1").await.json().await.unwrap();
    assert_eq!(v["num_results"], 2);
    assert_eq!(v["query"], "team");
    assert_eq!(v["results"].as_array().unwrap().len(), 1);
    assert_eq!(v["results"][0]["name"], "team/db");
    assert_eq!(v["results"][0]["star_count"], 0);
    assert_eq!(v["results"][0]["is_official"], false);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn deleting_tags_and_manifests() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(dir.path(), "delete_enabled: true\n").await;
    let (d, _) = s.push_image("r", "v1", b"x").await;
    let r = s
        .put_manifest(
            "r",
            "v2",
            DOCKER_MANIFEST,
            &s.get("/v2/r/manifests/v1").await.text().await.unwrap(),
        )
        .await;
    assert_eq!(r.status(), 201);
    let r = s.delete("/v2/r/manifests/v1").await;
    assert_eq!(r.status(), 202);
    let r = s.get("/v2/r/manifests/v1").await;
    assert_eq!(r.status(), 404);
    let r = s.get("/v2/r/manifests/v2").await;
    assert_eq!(r.status(), 200);
    let r = s.delete(&format!("/v2/r/manifests/{d}")).await;
    assert_eq!(r.status(), 202);
    for reference in ["v2".to_owned(), d.to_string()] {
        let r = s.get(&format!("/v2/r/manifests/{reference}")).await;
        assert_eq!(error_code(r).await, "MANIFEST_UNKNOWN");
    }
    let r = s.delete(&format!("/v2/r/manifests/{d}")).await;
    assert_eq!(r.status(), 404);
    s.stop().await;
}
