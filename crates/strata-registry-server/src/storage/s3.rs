//! S3-compatible object storage through the `object_store` crate.
//!
//! Objects have no append, so an appendable object (an upload's data) is its base object
//! followed by chunk objects `<path>.chunks/<offset, 20 digits>`, each written with a multipart
//! upload while the request body streams. Every replica sees the same chunks, so any replica
//! can take the next chunk or finish the upload. `rename` of a chunked object streams it into one
//! multipart object at the destination.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::{GetOptions, GetRange, ObjectStore, PutPayload, WriteMultipart};

use super::{Appender, ByteStream, Driver, Stat, StorageError, StorageResult, check_path};

/// Parts of at most this many bytes are in flight per upload.
const MAX_PARTS_IN_FLIGHT: usize = 4;

pub struct S3Driver {
    store: Arc<dyn ObjectStore>,
}

fn os_err(path: &str, e: object_store::Error) -> StorageError {
    StorageError::Other(format!("object storage error on {path}: {e}"))
}

fn is_not_found(e: &object_store::Error) -> bool {
    matches!(e, object_store::Error::NotFound { .. })
}

fn chunk_prefix(path: &str) -> String {
    format!("{path}.chunks")
}

impl S3Driver {
    pub fn new(store: Arc<dyn ObjectStore>) -> S3Driver {
        S3Driver { store }
    }

    /// An S3 driver from connection settings; credentials not given come from the usual
    /// `AWS_*` environment variables.
    pub fn connect(
        bucket: &str,
        region: &str,
        endpoint: Option<&str>,
        access_key: Option<&str>,
        secret_key: Option<&str>,
    ) -> StorageResult<S3Driver> {
        let mut b = object_store::aws::AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .with_region(region);
        if let Some(e) = endpoint {
            b = b.with_endpoint(e).with_allow_http(e.starts_with("http://"));
        }
        if let Some(k) = access_key {
            b = b.with_access_key_id(k);
        }
        if let Some(s) = secret_key {
            b = b.with_secret_access_key(s);
        }
        let store = b.build().map_err(|e| os_err(bucket, e))?;
        Ok(S3Driver::new(Arc::new(store)))
    }

    /// Keep every key under `prefix` (distribution's `rootdirectory`) so that registries can
    /// share a bucket; surrounding slashes are ignored, an empty prefix is the bucket root.
    pub fn with_prefix(self, prefix: &str) -> StorageResult<S3Driver> {
        let prefix = prefix.trim_matches('/');
        if prefix.is_empty() {
            return Ok(self);
        }
        check_path(prefix)?;
        Ok(S3Driver::new(Arc::new(PrefixStore::new(
            self.store, prefix,
        ))))
    }

    fn key(path: &str) -> StorageResult<Path> {
        check_path(path)?;
        Ok(Path::from(path))
    }

    /// Chunks of an appendable object: (offset, key, size), in order.
    async fn chunks(&self, path: &str) -> StorageResult<Vec<(u64, Path, u64)>> {
        let prefix = Path::from(chunk_prefix(path));
        let metas: Vec<_> = self
            .store
            .list(Some(&prefix))
            .try_collect()
            .await
            .map_err(|e| os_err(path, e))?;
        let mut out: Vec<(u64, Path, u64)> = metas
            .into_iter()
            .filter_map(|m| {
                let off = m.location.filename()?.parse::<u64>().ok()?;
                Some((off, m.location, m.size))
            })
            .collect();
        out.sort_by_key(|c| c.0);
        Ok(out)
    }

    /// The base object (if any) and the chunks, as (key, size) in logical order.
    async fn pieces(&self, path: &str) -> StorageResult<Option<(Vec<(Path, u64)>, Stat)>> {
        let key = Self::key(path)?;
        let mut pieces = Vec::new();
        let mut modified = None;
        match self.store.head(&key).await {
            Ok(m) => {
                modified = Some(std::time::SystemTime::from(m.last_modified));
                pieces.push((key, m.size));
            }
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(os_err(path, e)),
        }
        let chunks = self.chunks(path).await?;
        if modified.is_none() && chunks.is_empty() {
            return Ok(None);
        }
        for (_, k, size) in chunks {
            pieces.push((k, size));
        }
        let size = pieces.iter().map(|p| p.1).sum();
        let modified = modified.unwrap_or_else(std::time::SystemTime::now);
        Ok(Some((pieces, Stat { size, modified })))
    }

    async fn delete_prefix(&self, prefix: &str) -> StorageResult<()> {
        let p = Path::from(prefix);
        let metas: Vec<_> = self
            .store
            .list(Some(&p))
            .try_collect()
            .await
            .map_err(|e| os_err(prefix, e))?;
        for m in metas {
            match self.store.delete(&m.location).await {
                Ok(()) => {}
                Err(e) if is_not_found(&e) => {}
                Err(e) => return Err(os_err(prefix, e)),
            }
        }
        Ok(())
    }
}

struct S3Appender {
    path: String,
    writer: WriteMultipart,
    offset: u64,
    written: u64,
}

#[async_trait::async_trait]
impl Appender for S3Appender {
    async fn write(&mut self, chunk: &[u8]) -> StorageResult<()> {
        self.writer
            .wait_for_capacity(MAX_PARTS_IN_FLIGHT)
            .await
            .map_err(|e| os_err(&self.path, e))?;
        self.writer.write(chunk);
        self.written += chunk.len() as u64;
        Ok(())
    }

    async fn finish(self: Box<Self>) -> StorageResult<u64> {
        let this = *self;
        if this.written == 0 {
            // An empty chunk adds nothing; S3 refuses multipart uploads without parts.
            let _ = this.writer.abort().await;
            return Ok(this.offset);
        }
        this.writer
            .finish()
            .await
            .map_err(|e| os_err(&this.path, e))?;
        Ok(this.offset + this.written)
    }
}

#[async_trait::async_trait]
impl Driver for S3Driver {
    async fn get(&self, path: &str) -> StorageResult<Option<Bytes>> {
        let key = Self::key(path)?;
        match self.store.get(&key).await {
            Ok(r) => Ok(Some(r.bytes().await.map_err(|e| os_err(path, e))?)),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(os_err(path, e)),
        }
    }

    async fn put(&self, path: &str, content: &[u8]) -> StorageResult<()> {
        let key = Self::key(path)?;
        self.store
            .put(&key, PutPayload::from(Bytes::copy_from_slice(content)))
            .await
            .map_err(|e| os_err(path, e))?;
        Ok(())
    }

    async fn stat(&self, path: &str) -> StorageResult<Option<Stat>> {
        let key = Self::key(path)?;
        match self.store.head(&key).await {
            Ok(m) => {
                // Fast path: a plain object; only upload data has chunks.
                if !path.contains("/_uploads/") {
                    return Ok(Some(Stat {
                        size: m.size,
                        modified: m.last_modified.into(),
                    }));
                }
            }
            Err(e) if is_not_found(&e) => {
                if !path.contains("/_uploads/") {
                    return Ok(None);
                }
            }
            Err(e) => return Err(os_err(path, e)),
        }
        Ok(self.pieces(path).await?.map(|(_, s)| s))
    }

    async fn read_range(&self, path: &str, offset: u64, len: u64) -> StorageResult<ByteStream> {
        let Some((pieces, _)) = self.pieces(path).await? else {
            return Err(StorageError::NotFound(path.to_owned()));
        };
        let end = offset + len;
        let mut ranges = Vec::new();
        let mut pos = 0u64;
        for (key, size) in pieces {
            let (start, stop) = (pos, pos + size);
            pos = stop;
            if stop <= offset || start >= end || size == 0 {
                continue;
            }
            let a = offset.max(start) - start;
            let b = end.min(stop) - start;
            ranges.push((key, a..b));
        }
        let store = self.store.clone();
        let stream = futures_util::stream::iter(ranges)
            .then(move |(key, range)| {
                let store = store.clone();
                async move {
                    let opts = GetOptions {
                        range: Some(GetRange::Bounded(range)),
                        ..GetOptions::default()
                    };
                    store
                        .get_opts(&key, opts)
                        .await
                        .map(|r| r.into_stream())
                        .map_err(std::io::Error::other)
                }
            })
            .map_ok(|s| s.map_err(std::io::Error::other))
            .try_flatten();
        Ok(stream.boxed())
    }

    async fn list(&self, dir: &str) -> StorageResult<Vec<String>> {
        let prefix = if dir.is_empty() {
            None
        } else {
            Some(Self::key(dir)?)
        };
        let res = self
            .store
            .list_with_delimiter(prefix.as_ref())
            .await
            .map_err(|e| os_err(dir, e))?;
        let mut names: Vec<String> = res
            .common_prefixes
            .iter()
            .filter_map(|p| p.filename().map(str::to_owned))
            .chain(
                res.objects
                    .iter()
                    .filter_map(|m| m.location.filename().map(str::to_owned)),
            )
            .map(|n| n.strip_suffix(".chunks").map(str::to_owned).unwrap_or(n))
            .collect();
        names.sort();
        names.dedup();
        Ok(names)
    }

    async fn delete(&self, path: &str) -> StorageResult<()> {
        let key = Self::key(path)?;
        match self.store.delete(&key).await {
            Ok(()) => {}
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(os_err(path, e)),
        }
        self.delete_prefix(&chunk_prefix(path)).await?;
        self.delete_prefix(path).await
    }

    async fn append(&self, path: &str) -> StorageResult<Box<dyn Appender>> {
        let offset = self.pieces(path).await?.map(|(_, s)| s.size).unwrap_or(0);
        let chunk = Path::from(format!("{}/{offset:020}", chunk_prefix(path)));
        let upload = self
            .store
            .put_multipart(&chunk)
            .await
            .map_err(|e| os_err(path, e))?;
        Ok(Box::new(S3Appender {
            path: path.to_owned(),
            writer: WriteMultipart::new(upload),
            offset,
            written: 0,
        }))
    }

    async fn truncate(&self, path: &str, size: u64) -> StorageResult<()> {
        for (off, key, len) in self.chunks(path).await? {
            if off >= size {
                self.store.delete(&key).await.map_err(|e| os_err(path, e))?;
            } else if off + len > size {
                return Err(StorageError::Other(format!(
                    "cannot truncate {path} inside a chunk"
                )));
            }
        }
        Ok(())
    }

    async fn rename(&self, from: &str, to: &str) -> StorageResult<()> {
        let dst = Self::key(to)?;
        let Some((pieces, stat)) = self.pieces(from).await? else {
            return Err(StorageError::NotFound(from.to_owned()));
        };
        if pieces.len() == 1 {
            self.store
                .copy(&pieces[0].0, &dst)
                .await
                .map_err(|e| os_err(to, e))?;
        } else if stat.size == 0 {
            self.store
                .put(&dst, PutPayload::default())
                .await
                .map_err(|e| os_err(to, e))?;
        } else {
            let upload = self
                .store
                .put_multipart(&dst)
                .await
                .map_err(|e| os_err(to, e))?;
            let mut writer = WriteMultipart::new(upload);
            let mut stream = self.read_range(from, 0, stat.size).await?;
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| StorageError::Other(e.to_string()))?;
                writer
                    .wait_for_capacity(MAX_PARTS_IN_FLIGHT)
                    .await
                    .map_err(|e| os_err(to, e))?;
                writer.write(&chunk);
            }
            writer.finish().await.map_err(|e| os_err(to, e))?;
        }
        self.delete(from).await
    }

    async fn touch(&self, path: &str) -> StorageResult<()> {
        // Objects cannot be touched; a copy away and back gives a new modification time.
        let key = Self::key(path)?;
        let tmp = Path::from(format!("{path}.touch-{}", uuid::Uuid::new_v4().simple()));
        self.store
            .copy(&key, &tmp)
            .await
            .map_err(|e| os_err(path, e))?;
        let res = self.store.copy(&tmp, &key).await;
        let _ = self.store.delete(&tmp).await;
        res.map_err(|e| os_err(path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The chunk layout and range arithmetic, on object_store's in-memory store.
    #[tokio::test]
    async fn chunked_objects_read_truncate_and_rename() {
        let d = S3Driver::new(Arc::new(object_store::memory::InMemory::new()));
        let p = "repositories/r/_uploads/u/data";
        d.put(p, b"").await.unwrap();
        for part in [&b"hello "[..], b"chunked ", b"world"] {
            let mut w = d.append(p).await.unwrap();
            w.write(part).await.unwrap();
            w.finish().await.unwrap();
        }
        assert_eq!(d.stat(p).await.unwrap().unwrap().size, 19);
        let read = |off, len| {
            let d = &d;
            async move {
                let v: Vec<_> = d.read_range(p, off, len).await.unwrap().collect().await;
                v.into_iter()
                    .flat_map(|c| c.unwrap().to_vec())
                    .collect::<Vec<u8>>()
            }
        };
        assert_eq!(read(0, 19).await, b"hello chunked world");
        assert_eq!(read(4, 8).await, b"o chunke");
        d.truncate(p, 14).await.unwrap();
        assert_eq!(d.stat(p).await.unwrap().unwrap().size, 14);
        assert!(d.truncate(p, 3).await.is_err());
        d.rename(p, "blobs/x/data").await.unwrap();
        assert_eq!(
            d.get("blobs/x/data").await.unwrap().unwrap(),
            Bytes::from("hello chunked ")
        );
        assert!(d.stat(p).await.unwrap().is_none());
        assert_eq!(
            d.list("repositories/r/_uploads").await.unwrap(),
            Vec::<String>::new()
        );
        d.touch("blobs/x/data").await.unwrap();
        assert_eq!(d.list("blobs/x").await.unwrap(), vec!["data".to_owned()]);
    }
}
