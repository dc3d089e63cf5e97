//! The registry's storage layout on top of a `Driver`, close to distribution's so an operator
//! recognises it:
//!
//! ```text
//! blobs/<alg>/<hex[0..2]>/<hex>/data                                 content, shared by all repos
//! repositories/<name>/_layers/<alg>/<hex>/link                       blob linked into a repo
//! repositories/<name>/_manifests/revisions/<alg>/<hex>/link          "<digest>\n<media type>"
//! repositories/<name>/_manifests/tags/<tag>/current/link             "<digest>"
//! repositories/<name>/_referrers/<salg>/<shex>/<alg>/<hex>/link      descriptor JSON of a referrer
//! repositories/<name>/_uploads/<uuid>/{data,startedat}               uploads in progress
//! ```
//!
//! Upload state is the upload's data file: a replica or a restarted server that has no hash state
//! in memory re-hashes the data from storage, so chunked uploads resume anywhere.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use strata_reference::{Algorithm, Digest, Digester};

use crate::storage::{ByteStream, Driver, StorageError, StorageResult};
use crate::uploads::UploadLocks;

pub struct Store {
    pub(crate) driver: Arc<dyn Driver>,
    pub(crate) uploads: UploadLocks,
    /// Uploads that would grow past this are refused.
    pub max_blob_bytes: Option<u64>,
}

pub(crate) fn blob_path(d: &Digest) -> String {
    format!(
        "blobs/{}/{}/{}/data",
        d.algorithm().name(),
        &d.hex()[..2],
        d.hex()
    )
}

fn repo_path(repo: &str) -> String {
    format!("repositories/{repo}")
}

pub(crate) fn layer_link(repo: &str, d: &Digest) -> String {
    format!(
        "repositories/{repo}/_layers/{}/{}/link",
        d.algorithm().name(),
        d.hex()
    )
}

pub(crate) fn revision_link(repo: &str, d: &Digest) -> String {
    format!(
        "repositories/{repo}/_manifests/revisions/{}/{}/link",
        d.algorithm().name(),
        d.hex()
    )
}

fn tags_dir(repo: &str) -> String {
    format!("repositories/{repo}/_manifests/tags")
}

fn tag_link(repo: &str, tag: &str) -> String {
    format!("repositories/{repo}/_manifests/tags/{tag}/current/link")
}

fn referrers_dir(repo: &str, subject: &Digest) -> String {
    format!(
        "repositories/{repo}/_referrers/{}/{}",
        subject.algorithm().name(),
        subject.hex()
    )
}

pub(crate) fn upload_dir(repo: &str, id: &str) -> String {
    format!("repositories/{repo}/_uploads/{id}")
}

pub(crate) fn upload_data(repo: &str, id: &str) -> String {
    format!("repositories/{repo}/_uploads/{id}/data")
}

fn parse_algorithm(name: &str) -> Option<Algorithm> {
    match name {
        "sha256" => Some(Algorithm::Sha256),
        "sha512" => Some(Algorithm::Sha512),
        _ => None,
    }
}

/// A stored manifest revision: its digest and media type.
#[derive(Debug, Clone)]
pub struct Revision {
    pub digest: Digest,
    pub media_type: String,
}

impl Store {
    pub fn new(driver: Arc<dyn Driver>) -> Store {
        Store {
            driver,
            uploads: UploadLocks::default(),
            max_blob_bytes: None,
        }
    }

    pub fn driver(&self) -> &Arc<dyn Driver> {
        &self.driver
    }

    // ----- blobs -------------------------------------------------------------------------------

    /// Size of a blob in the global blob store.
    pub async fn blob_size(&self, d: &Digest) -> StorageResult<Option<u64>> {
        Ok(self.driver.stat(&blob_path(d)).await?.map(|s| s.size))
    }

    /// Size of a blob as seen from one repository: it must be linked there (as a layer or as a
    /// manifest), so one repository's pushes reveal nothing to another.
    pub async fn repo_blob_size(&self, repo: &str, d: &Digest) -> StorageResult<Option<u64>> {
        let linked = self.driver.stat(&layer_link(repo, d)).await?.is_some()
            || self.driver.stat(&revision_link(repo, d)).await?.is_some();
        if !linked {
            return Ok(None);
        }
        self.blob_size(d).await
    }

    pub async fn link_blob(&self, repo: &str, d: &Digest) -> StorageResult<()> {
        self.driver
            .put(&layer_link(repo, d), d.to_string().as_bytes())
            .await
    }

    /// Remove a blob from a repository; true when it was linked.
    pub async fn unlink_blob(&self, repo: &str, d: &Digest) -> StorageResult<bool> {
        let path = layer_link(repo, d);
        if self.driver.stat(&path).await?.is_none() {
            return Ok(false);
        }
        self.driver
            .delete(path.trim_end_matches("/link"))
            .await
            .map(|()| true)
    }

    pub async fn read_blob(&self, d: &Digest, offset: u64, len: u64) -> StorageResult<ByteStream> {
        self.driver.read_range(&blob_path(d), offset, len).await
    }

    pub async fn blob_bytes(&self, d: &Digest) -> StorageResult<Option<Bytes>> {
        self.driver.get(&blob_path(d)).await
    }

    /// Hash a stored object from the start (used when no in-memory hash state is valid).
    pub(crate) async fn hash_object(
        &self,
        path: &str,
        len: u64,
        alg: Algorithm,
    ) -> StorageResult<Digester> {
        let mut digester = Digester::new(alg);
        if len == 0 {
            return Ok(digester);
        }
        let mut stream = self.driver.read_range(path, 0, len).await?;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| StorageError::Io {
                path: path.to_owned(),
                source: e,
            })?;
            digester.update(&chunk);
        }
        Ok(digester)
    }

    // ----- manifests and tags ------------------------------------------------------------------

    /// Store manifest bytes (already validated) as a blob and link the revision into the repo.
    pub async fn put_manifest(
        &self,
        repo: &str,
        digest: &Digest,
        media_type: &str,
        bytes: &[u8],
    ) -> StorageResult<()> {
        let path = blob_path(digest);
        if self.driver.stat(&path).await?.is_none() {
            self.driver.put(&path, bytes).await?;
        } else {
            self.driver.touch(&path).await?;
        }
        self.driver
            .put(
                &revision_link(repo, digest),
                format!("{digest}\n{media_type}").as_bytes(),
            )
            .await
    }

    pub async fn revision(&self, repo: &str, d: &Digest) -> StorageResult<Option<Revision>> {
        let Some(link) = self.driver.get(&revision_link(repo, d)).await? else {
            return Ok(None);
        };
        let text = String::from_utf8_lossy(&link);
        let media_type = text.split_once('\n').map(|(_, m)| m.trim()).unwrap_or("");
        Ok(Some(Revision {
            digest: d.clone(),
            media_type: media_type.to_owned(),
        }))
    }

    pub async fn delete_revision(&self, repo: &str, d: &Digest) -> StorageResult<()> {
        let path = revision_link(repo, d);
        self.driver.delete(path.trim_end_matches("/link")).await
    }

    pub async fn resolve_tag(&self, repo: &str, tag: &str) -> StorageResult<Option<Digest>> {
        let Some(link) = self.driver.get(&tag_link(repo, tag)).await? else {
            return Ok(None);
        };
        Ok(Digest::parse(String::from_utf8_lossy(&link).trim()).ok())
    }

    pub async fn set_tag(&self, repo: &str, tag: &str, d: &Digest) -> StorageResult<()> {
        self.driver
            .put(&tag_link(repo, tag), d.to_string().as_bytes())
            .await
    }

    pub async fn delete_tag(&self, repo: &str, tag: &str) -> StorageResult<bool> {
        if self.driver.stat(&tag_link(repo, tag)).await?.is_none() {
            return Ok(false);
        }
        self.driver
            .delete(&format!("{}/{tag}", tags_dir(repo)))
            .await
            .map(|()| true)
    }

    pub async fn tags(&self, repo: &str) -> StorageResult<Vec<String>> {
        self.driver.list(&tags_dir(repo)).await
    }

    /// Tags pointing at a digest (to delete them with the manifest).
    pub async fn tags_of(&self, repo: &str, d: &Digest) -> StorageResult<Vec<String>> {
        let mut out = Vec::new();
        for tag in self.tags(repo).await? {
            if self.resolve_tag(repo, &tag).await?.as_ref() == Some(d) {
                out.push(tag);
            }
        }
        Ok(out)
    }

    /// All manifest revisions of a repository.
    pub async fn revisions(&self, repo: &str) -> StorageResult<Vec<Digest>> {
        let base = format!("repositories/{repo}/_manifests/revisions");
        self.digests_under(&base).await
    }

    /// All blobs linked into a repository as layers.
    pub async fn layer_links(&self, repo: &str) -> StorageResult<Vec<Digest>> {
        self.digests_under(&format!("repositories/{repo}/_layers"))
            .await
    }

    async fn digests_under(&self, base: &str) -> StorageResult<Vec<Digest>> {
        let mut out = Vec::new();
        for alg in self.driver.list(base).await? {
            let Some(a) = parse_algorithm(&alg) else {
                continue;
            };
            for hex in self.driver.list(&format!("{base}/{alg}")).await? {
                if let Ok(d) = Digest::parse(&format!("{}:{hex}", a.name())) {
                    out.push(d);
                }
            }
        }
        Ok(out)
    }

    /// Every blob in the global store.
    pub async fn all_blobs(&self) -> StorageResult<Vec<Digest>> {
        let mut out = Vec::new();
        for alg in self.driver.list("blobs").await? {
            let Some(a) = parse_algorithm(&alg) else {
                continue;
            };
            for prefix in self.driver.list(&format!("blobs/{alg}")).await? {
                for hex in self.driver.list(&format!("blobs/{alg}/{prefix}")).await? {
                    if let Ok(d) = Digest::parse(&format!("{}:{hex}", a.name())) {
                        out.push(d);
                    }
                }
            }
        }
        Ok(out)
    }

    pub async fn delete_blob(&self, d: &Digest) -> StorageResult<()> {
        let path = blob_path(d);
        self.driver.delete(path.trim_end_matches("/data")).await
    }

    // ----- referrers ---------------------------------------------------------------------------

    pub async fn add_referrer(
        &self,
        repo: &str,
        subject: &Digest,
        referrer: &Digest,
        descriptor: &serde_json::Value,
    ) -> StorageResult<()> {
        let path = format!(
            "{}/{}/{}/link",
            referrers_dir(repo, subject),
            referrer.algorithm().name(),
            referrer.hex()
        );
        self.driver
            .put(&path, descriptor.to_string().as_bytes())
            .await
    }

    pub async fn remove_referrer(
        &self,
        repo: &str,
        subject: &Digest,
        referrer: &Digest,
    ) -> StorageResult<()> {
        let path = format!(
            "{}/{}/{}",
            referrers_dir(repo, subject),
            referrer.algorithm().name(),
            referrer.hex()
        );
        self.driver.delete(&path).await
    }

    /// Descriptors of the manifests whose `subject` is `subject`, in digest order.
    pub async fn referrers(
        &self,
        repo: &str,
        subject: &Digest,
    ) -> StorageResult<Vec<serde_json::Value>> {
        let base = referrers_dir(repo, subject);
        let mut out = Vec::new();
        for d in self.digests_under(&base).await? {
            // A referrer whose manifest was deleted is not listed.
            if self.driver.stat(&revision_link(repo, &d)).await?.is_none() {
                continue;
            }
            let path = format!("{base}/{}/{}/link", d.algorithm().name(), d.hex());
            if let Some(bytes) = self.driver.get(&path).await?
                && let Ok(v) = serde_json::from_slice(&bytes)
            {
                out.push(v);
            }
        }
        Ok(out)
    }

    // ----- repositories ------------------------------------------------------------------------

    pub async fn repo_exists(&self, repo: &str) -> StorageResult<bool> {
        let children = self.driver.list(&repo_path(repo)).await?;
        Ok(children.iter().any(|c| c == "_manifests" || c == "_layers"))
    }

    /// Every repository name, sorted (a repository is a directory with `_manifests`).
    pub async fn repositories(&self) -> StorageResult<Vec<String>> {
        let mut out = Vec::new();
        let mut pending = vec![String::new()];
        while let Some(prefix) = pending.pop() {
            let dir = if prefix.is_empty() {
                "repositories".to_owned()
            } else {
                format!("repositories/{prefix}")
            };
            for child in self.driver.list(&dir).await? {
                if child == "_manifests" {
                    out.push(prefix.clone());
                } else if !child.starts_with('_') {
                    pending.push(if prefix.is_empty() {
                        child
                    } else {
                        format!("{prefix}/{child}")
                    });
                }
            }
        }
        out.sort();
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::FsDriver;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::new(Arc::new(FsDriver::new(dir.path())));
        (dir, s)
    }

    #[tokio::test]
    async fn manifests_tags_and_repositories() {
        let (_d, s) = store();
        let body = br#"{"schemaVersion":2}"#;
        let d = Digest::sha256_of(body);
        s.put_manifest("a/b", &d, "application/x", body)
            .await
            .unwrap();
        s.set_tag("a/b", "v1", &d).await.unwrap();
        s.put_manifest("c", &d, "application/x", body)
            .await
            .unwrap();
        assert_eq!(s.resolve_tag("a/b", "v1").await.unwrap(), Some(d.clone()));
        assert_eq!(
            s.revision("a/b", &d).await.unwrap().unwrap().media_type,
            "application/x"
        );
        assert_eq!(s.repositories().await.unwrap(), vec!["a/b", "c"]);
        assert_eq!(s.tags_of("a/b", &d).await.unwrap(), vec!["v1"]);
        assert!(s.delete_tag("a/b", "v1").await.unwrap());
        assert!(s.tags("a/b").await.unwrap().is_empty());
        assert_eq!(s.all_blobs().await.unwrap(), vec![d]);
    }

    #[tokio::test]
    async fn blobs_are_visible_only_where_linked() {
        let (_d, s) = store();
        let d = Digest::sha256_of(b"x");
        s.driver.put(&blob_path(&d), b"x").await.unwrap();
        assert_eq!(s.repo_blob_size("r", &d).await.unwrap(), None);
        s.link_blob("r", &d).await.unwrap();
        assert_eq!(s.repo_blob_size("r", &d).await.unwrap(), Some(1));
        assert!(s.unlink_blob("r", &d).await.unwrap());
        assert_eq!(s.repo_blob_size("r", &d).await.unwrap(), None);
    }
}
