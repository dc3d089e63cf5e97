//! Garbage collection against stored data, including while an upload is in flight.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use strata_registry_server::Store;
use strata_registry_server::gc::{GcOptions, collect};
use strata_registry_server::storage::FsDriver;

#[tokio::test(flavor = "multi_thread")]
async fn gc_deletes_untagged_keeps_tagged_and_uploads_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(dir.path(), "").await;
    let (_kept, _) = s.push_image("r", "keep", b"kept layer").await;
    let (old, _) = s.push_image("r", "move", b"old layer").await;
    // Re-tag "move" to a new image: the old manifest becomes untagged.
    let (_new, _) = s.push_image("r", "move", b"new layer").await;
    // An upload in flight, holding bytes GC must not touch.
    let loc = s.start_upload("r").await;
    let r = s
        .client
        .patch(s.url(&loc))
        .body("in flight")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);

    let store = Store::new(Arc::new(FsDriver::new(dir.path())));
    let zero = GcOptions {
        grace: Duration::ZERO,
        ..GcOptions::default()
    };
    // Without delete_untagged, every manifest is kept.
    let report = collect(
        &store,
        &GcOptions {
            dry_run: true,
            ..zero.clone()
        },
    )
    .await
    .unwrap();
    assert!(report.manifests_deleted.is_empty());
    assert!(report.blobs_deleted.is_empty());

    let dry = GcOptions {
        dry_run: true,
        delete_untagged: true,
        ..zero.clone()
    };
    let report = collect(&store, &dry).await.unwrap();
    assert_eq!(
        report.manifests_deleted,
        vec![("r".to_owned(), old.clone())]
    );
    let old_layer = strata_reference::Digest::sha256_of(b"old layer");
    assert!(report.blobs_deleted.contains(&old_layer));
    assert!(report.blobs_deleted.contains(&old));
    // Dry run: still there.
    let r = s.get(&format!("/v2/r/manifests/{old}")).await;
    assert_eq!(r.status(), 200);

    // The default grace period protects everything just written.
    let report = collect(
        &store,
        &GcOptions {
            delete_untagged: true,
            ..GcOptions::default()
        },
    )
    .await
    .unwrap();
    assert!(report.blobs_deleted.is_empty(), "{report:?}");

    let report = collect(
        &store,
        &GcOptions {
            delete_untagged: true,
            ..zero
        },
    )
    .await
    .unwrap();
    assert!(report.blobs_deleted.contains(&old_layer));
    let r = s.get(&format!("/v2/r/manifests/{old}")).await;
    assert_eq!(r.status(), 404);
    let r = s.head(&format!("/v2/r/blobs/{old_layer}")).await;
    assert_eq!(r.status(), 404);
    for tag in ["keep", "move"] {
        let r = s.get(&format!("/v2/r/manifests/{tag}")).await;
        assert_eq!(r.status(), 200);
    }
    // The upload in flight finishes after GC.
    let d = strata_reference::Digest::sha256_of(b"in flight");
    let r = s.put(&format!("{loc}?digest={d}")).await;
    assert_eq!(r.status(), 201);
    s.stop().await;
}
