//! Mark-and-sweep garbage collection (`strata registry gc`).
//!
//! Mark: for every repository, the manifests to keep (all of them, or with `delete_untagged`
//! those reachable from a tag through index children, plus their referrers), and every blob they
//! reference. Sweep: blobs nobody marked.
//!
//! It can run while the registry serves pushes: uploads in flight live under `_uploads` and are
//! not blobs yet; anything written or linked within the grace period (a blob just committed, a
//! layer just mounted, a manifest just pushed by digest before its index) is kept, so a push that
//! is still putting its pieces together never loses one.

use std::collections::{BTreeSet, HashSet};
use std::time::{Duration, SystemTime};

use strata_reference::Digest;

use crate::manifest::{self, RefKind};
use crate::storage::StorageResult;
use crate::store::{Store, blob_path, layer_link, revision_link};

#[derive(Debug, Clone)]
pub struct GcOptions {
    pub dry_run: bool,
    /// Also delete manifests that no tag reaches.
    pub delete_untagged: bool,
    /// Keep anything younger than this.
    pub grace: Duration,
    /// Purge uploads started longer ago than this.
    pub upload_expiry: Duration,
}

impl Default for GcOptions {
    fn default() -> GcOptions {
        GcOptions {
            dry_run: false,
            delete_untagged: false,
            grace: Duration::from_secs(3600),
            upload_expiry: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

#[derive(Debug, Default, Clone)]
pub struct GcReport {
    pub blobs_marked: usize,
    /// (repository, digest) of manifests deleted (or that would be, in a dry run).
    pub manifests_deleted: Vec<(String, Digest)>,
    pub blobs_deleted: Vec<Digest>,
    pub bytes_freed: u64,
    pub uploads_purged: usize,
}

async fn is_recent(store: &Store, path: &str, cutoff: SystemTime) -> StorageResult<bool> {
    Ok(store
        .driver()
        .stat(path)
        .await?
        .is_some_and(|s| s.modified > cutoff))
}

pub async fn collect(store: &Store, opts: &GcOptions) -> StorageResult<GcReport> {
    let started = SystemTime::now();
    let cutoff = started
        .checked_sub(opts.grace)
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let mut report = GcReport::default();
    let mut marked: HashSet<Digest> = HashSet::new();

    for repo in store.repositories().await? {
        let revisions = store.revisions(&repo).await?;
        let mut keep: BTreeSet<Digest> = BTreeSet::new();
        if opts.delete_untagged {
            for tag in store.tags(&repo).await? {
                if let Some(d) = store.resolve_tag(&repo, &tag).await? {
                    keep.insert(d);
                }
            }
            for d in &revisions {
                if is_recent(store, &revision_link(&repo, d), cutoff).await? {
                    keep.insert(d.clone());
                }
            }
        } else {
            keep.extend(revisions.iter().cloned());
        }
        // Close over index children and referrers until nothing new is added.
        let mut pending: Vec<Digest> = keep.iter().cloned().collect();
        while let Some(d) = pending.pop() {
            let Some(rev) = store.revision(&repo, &d).await? else {
                continue;
            };
            marked.insert(d.clone());
            if let Some(bytes) = store.blob_bytes(&d).await?
                && let Ok(parsed) = manifest::parse(&bytes, Some(&rev.media_type))
            {
                for (kind, r) in parsed.references {
                    match kind {
                        RefKind::Blob => {
                            marked.insert(r);
                        }
                        RefKind::Manifest => {
                            if keep.insert(r.clone()) {
                                pending.push(r);
                            }
                        }
                    }
                }
            }
            for referrer in store.referrers(&repo, &d).await? {
                let digest = referrer
                    .get("digest")
                    .and_then(|v| v.as_str())
                    .and_then(|s| Digest::parse(s).ok());
                if let Some(r) = digest
                    && keep.insert(r.clone())
                {
                    pending.push(r);
                }
            }
        }
        for d in &revisions {
            if keep.contains(d) {
                continue;
            }
            report.manifests_deleted.push((repo.clone(), d.clone()));
            if !opts.dry_run {
                if let Some(rev) = store.revision(&repo, d).await?
                    && let Some(bytes) = store.blob_bytes(d).await?
                    && let Ok(p) = manifest::parse(&bytes, Some(&rev.media_type))
                    && let Some(s) = p.subject
                {
                    store.remove_referrer(&repo, &s.digest, d).await?;
                }
                store.delete_revision(&repo, d).await?;
            }
        }
        // Blobs linked recently may belong to a manifest that is about to be pushed.
        for d in store.layer_links(&repo).await? {
            if is_recent(store, &layer_link(&repo, &d), cutoff).await? {
                marked.insert(d);
            }
        }
        let expiry = started
            .checked_sub(opts.upload_expiry)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        for (id, started_at) in store.uploads_of(&repo).await? {
            let stale = started_at
                .and_then(|s| chrono::DateTime::parse_from_rfc3339(s.trim()).ok())
                .map(|t| SystemTime::from(t) < expiry)
                .unwrap_or(false);
            if stale {
                report.uploads_purged += 1;
                if !opts.dry_run {
                    store.cancel_upload(&repo, &id).await?;
                }
            }
        }
    }
    report.blobs_marked = marked.len();

    let mut deleted: HashSet<Digest> = HashSet::new();
    for d in store.all_blobs().await? {
        if marked.contains(&d) {
            continue;
        }
        let Some(stat) = store.driver().stat(&blob_path(&d)).await? else {
            continue;
        };
        if stat.modified > cutoff {
            continue;
        }
        report.bytes_freed += stat.size;
        report.blobs_deleted.push(d.clone());
        if !opts.dry_run {
            store.delete_blob(&d).await?;
            deleted.insert(d);
        }
    }
    // Links to deleted blobs would make them look present in a repository.
    if !deleted.is_empty() {
        for repo in store.repositories().await? {
            for d in store.layer_links(&repo).await? {
                if deleted.contains(&d) {
                    store.unlink_blob(&repo, &d).await?;
                }
            }
        }
    }
    report.blobs_deleted.sort();
    Ok(report)
}

/// `collect` on a runtime of its own (for the CLI).
pub fn collect_blocking(store: &Store, opts: &GcOptions) -> StorageResult<GcReport> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| crate::storage::StorageError::Other(e.to_string()))?;
    rt.block_on(collect(store, opts))
}
