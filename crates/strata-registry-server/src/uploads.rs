//! Blob uploads: bytes are appended to `_uploads/<id>/data`, hashed while they stream, and the
//! blob becomes visible only after its digest is verified and the data is fsynced and renamed
//! into `blobs/`. The hash state in memory is only a cache: when it is missing or stale (another
//! replica took a chunk, or the server restarted) the data is re-hashed from storage.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use strata_reference::{Algorithm, Digest, Digester};

use crate::storage::{StorageError, StorageResult};
use crate::store::{Store, blob_path, upload_data, upload_dir};

pub type BodyError = Box<dyn std::error::Error + Send + Sync>;

/// Per-upload hash state, behind a per-upload lock so concurrent PATCHes of one upload serialise.
struct HashState {
    offset: u64,
    digester: Digester,
}

#[derive(Default)]
pub struct UploadLocks {
    map: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Option<HashState>>>>>,
}

impl UploadLocks {
    fn get(&self, id: &str) -> Arc<tokio::sync::Mutex<Option<HashState>>> {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(id.to_owned()).or_default().clone()
    }

    fn forget(&self, id: &str) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(id);
    }

    pub fn in_memory(&self) -> usize {
        self.map.lock().map(|m| m.len()).unwrap_or(0)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("blob upload unknown")]
    Unknown,
    /// A chunk that does not start where the upload ends; carries the current size.
    #[error("chunk out of order: upload is at {0} bytes")]
    OutOfOrder(u64),
    #[error("content length {expected} does not match {actual} bytes received")]
    SizeMismatch { expected: u64, actual: u64 },
    #[error("digest mismatch: computed {computed}")]
    DigestMismatch { computed: Digest },
    #[error("blob exceeds the size limit")]
    TooLarge,
    #[error("reading the request body: {0}")]
    Body(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl Store {
    /// Start an upload session; returns its id.
    pub async fn start_upload(&self, repo: &str) -> StorageResult<String> {
        let id = uuid::Uuid::new_v4().to_string();
        let dir = upload_dir(repo, &id);
        self.driver
            .put(
                &format!("{dir}/startedat"),
                chrono::Utc::now().to_rfc3339().as_bytes(),
            )
            .await?;
        self.driver.put(&format!("{dir}/data"), b"").await?;
        Ok(id)
    }

    /// Current size of an upload, or None when the session does not exist.
    pub async fn upload_size(&self, repo: &str, id: &str) -> StorageResult<Option<u64>> {
        Ok(self
            .driver
            .stat(&upload_data(repo, id))
            .await?
            .map(|s| s.size))
    }

    pub async fn cancel_upload(&self, repo: &str, id: &str) -> StorageResult<bool> {
        let lock = self.uploads.get(id);
        let _guard = lock.lock().await;
        let existed = self.upload_size(repo, id).await?.is_some();
        self.driver.delete(&upload_dir(repo, id)).await?;
        self.uploads.forget(id);
        Ok(existed)
    }

    /// Append a body to an upload. `start` is the first byte's offset from `Content-Range`
    /// (must equal the current size); `expected_len` from `Content-Length`/`Content-Range`.
    /// A failed append leaves the upload as it was. Returns the new size.
    pub async fn append_upload<S>(
        &self,
        repo: &str,
        id: &str,
        start: Option<u64>,
        expected_len: Option<u64>,
        alg: Algorithm,
        body: S,
    ) -> Result<u64, UploadError>
    where
        S: Stream<Item = Result<Bytes, BodyError>> + Send + Unpin,
    {
        let lock = self.uploads.get(id);
        let mut state = lock.lock().await;
        let path = upload_data(repo, id);
        let size = self
            .upload_size(repo, id)
            .await?
            .ok_or(UploadError::Unknown)?;
        if let Some(start) = start
            && start != size
        {
            return Err(UploadError::OutOfOrder(size));
        }
        let mut hs = match state.take() {
            Some(hs) if hs.offset == size && digester_alg(&hs.digester) == alg => hs,
            _ => HashState {
                offset: size,
                digester: self.hash_object(&path, size, alg).await?,
            },
        };
        let limit = self.max_blob_bytes.map(|m| m.saturating_sub(size));
        if let (Some(limit), Some(exp)) = (limit, expected_len)
            && exp > limit
        {
            *state = Some(hs);
            return Err(UploadError::TooLarge);
        }
        let result = self
            .stream_into(&path, &mut hs.digester, body, expected_len, limit)
            .await;
        match result {
            Ok(written) => {
                let new_size = size + written;
                hs.offset = new_size;
                *state = Some(hs);
                Ok(new_size)
            }
            Err(e) => {
                // Roll back to the last good size; the hash state is rebuilt on the next call.
                self.driver.truncate(&path, size).await?;
                Err(e)
            }
        }
    }

    async fn stream_into<S>(
        &self,
        path: &str,
        digester: &mut Digester,
        mut body: S,
        expected_len: Option<u64>,
        limit: Option<u64>,
    ) -> Result<u64, UploadError>
    where
        S: Stream<Item = Result<Bytes, BodyError>> + Send + Unpin,
    {
        let mut writer = self.driver.append(path).await?;
        let mut written = 0u64;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| UploadError::Body(e.to_string()))?;
            written += chunk.len() as u64;
            if limit.is_some_and(|l| written > l) {
                return Err(UploadError::TooLarge);
            }
            if let Some(exp) = expected_len
                && written > exp
            {
                return Err(UploadError::SizeMismatch {
                    expected: exp,
                    actual: written,
                });
            }
            digester.update(&chunk);
            writer.write(&chunk).await?;
        }
        writer.finish().await?;
        if let Some(exp) = expected_len
            && written != exp
        {
            return Err(UploadError::SizeMismatch {
                expected: exp,
                actual: written,
            });
        }
        Ok(written)
    }

    /// Verify an upload against `digest` and make it a blob of `repo`. On a mismatch the upload
    /// is discarded and nothing becomes visible. Returns the blob size.
    pub async fn commit_upload(
        &self,
        repo: &str,
        id: &str,
        digest: &Digest,
    ) -> Result<u64, UploadError> {
        let lock = self.uploads.get(id);
        let mut state = lock.lock().await;
        let path = upload_data(repo, id);
        let size = self
            .upload_size(repo, id)
            .await?
            .ok_or(UploadError::Unknown)?;
        let digester = match state.take() {
            Some(hs) if hs.offset == size && digester_alg(&hs.digester) == digest.algorithm() => {
                hs.digester
            }
            _ => self.hash_object(&path, size, digest.algorithm()).await?,
        };
        let computed = digester.finish();
        if &computed != digest {
            self.driver.delete(&upload_dir(repo, id)).await?;
            self.uploads.forget(id);
            return Err(UploadError::DigestMismatch { computed });
        }
        let target = blob_path(digest);
        if self.driver.stat(&target).await?.is_some() {
            // Same content already stored: keep it, refresh its age for GC's grace period.
            self.driver.touch(&target).await?;
        } else {
            self.driver.rename(&path, &target).await?;
        }
        self.link_blob(repo, digest).await?;
        self.driver.delete(&upload_dir(repo, id)).await?;
        self.uploads.forget(id);
        Ok(size)
    }

    /// Upload ids of a repository with their start time (GC purges stale ones).
    pub async fn uploads_of(&self, repo: &str) -> StorageResult<Vec<(String, Option<String>)>> {
        let base = format!("repositories/{repo}/_uploads");
        let mut out = Vec::new();
        for id in self.driver.list(&base).await? {
            let started = self
                .driver
                .get(&format!("{base}/{id}/startedat"))
                .await?
                .map(|b| String::from_utf8_lossy(&b).into_owned());
            out.push((id, started));
        }
        Ok(out)
    }
}

fn digester_alg(d: &Digester) -> Algorithm {
    match d {
        Digester::Sha256(_) => Algorithm::Sha256,
        Digester::Sha512(_) => Algorithm::Sha512,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::FsDriver;

    fn body(parts: &[&'static [u8]]) -> impl Stream<Item = Result<Bytes, BodyError>> + Unpin {
        futures_util::stream::iter(
            parts
                .iter()
                .map(|p| Ok(Bytes::from_static(p)))
                .collect::<Vec<_>>(),
        )
    }

    #[tokio::test]
    async fn chunked_upload_resumes_without_memory_state() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::new(Arc::new(FsDriver::new(dir.path())));
        let id = s.start_upload("r").await.unwrap();
        let n = s
            .append_upload(
                "r",
                &id,
                Some(0),
                Some(3),
                Algorithm::Sha256,
                body(&[b"abc"]),
            )
            .await
            .unwrap();
        assert_eq!(n, 3);
        // A "restarted server": a fresh Store over the same directory.
        let s2 = Store::new(Arc::new(FsDriver::new(dir.path())));
        let err = s2
            .append_upload("r", &id, Some(1), None, Algorithm::Sha256, body(&[b"x"]))
            .await
            .unwrap_err();
        assert!(matches!(err, UploadError::OutOfOrder(3)));
        s2.append_upload(
            "r",
            &id,
            Some(3),
            None,
            Algorithm::Sha256,
            body(&[b"de", b"f"]),
        )
        .await
        .unwrap();
        let d = Digest::sha256_of(b"abcdef");
        assert_eq!(s2.commit_upload("r", &id, &d).await.unwrap(), 6);
        assert_eq!(s2.repo_blob_size("r", &d).await.unwrap(), Some(6));
        assert_eq!(s2.upload_size("r", &id).await.unwrap(), None);
    }

    #[tokio::test]
    async fn wrong_digest_stores_nothing_and_size_mismatch_rolls_back() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::new(Arc::new(FsDriver::new(dir.path())));
        let id = s.start_upload("r").await.unwrap();
        let err = s
            .append_upload("r", &id, None, Some(5), Algorithm::Sha256, body(&[b"abc"]))
            .await
            .unwrap_err();
        assert!(matches!(err, UploadError::SizeMismatch { .. }));
        assert_eq!(s.upload_size("r", &id).await.unwrap(), Some(0));
        s.append_upload("r", &id, None, None, Algorithm::Sha256, body(&[b"abc"]))
            .await
            .unwrap();
        let wrong = Digest::sha256_of(b"abd");
        assert!(matches!(
            s.commit_upload("r", &id, &wrong).await,
            Err(UploadError::DigestMismatch { .. })
        ));
        assert!(s.all_blobs().await.unwrap().is_empty());
        assert_eq!(s.upload_size("r", &id).await.unwrap(), None);
    }

    #[tokio::test]
    async fn sha512_uploads_verify() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::new(Arc::new(FsDriver::new(dir.path())));
        let id = s.start_upload("r").await.unwrap();
        s.append_upload("r", &id, None, None, Algorithm::Sha256, body(&[b"hello"]))
            .await
            .unwrap();
        let mut d = Digester::new(Algorithm::Sha512);
        d.update(b"hello");
        let d = d.finish();
        assert_eq!(s.commit_upload("r", &id, &d).await.unwrap(), 5);
        assert_eq!(s.blob_size(&d).await.unwrap(), Some(5));
    }
}
