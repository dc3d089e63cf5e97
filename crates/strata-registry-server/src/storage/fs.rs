//! The filesystem driver: keys are files under a root directory.

use std::io::SeekFrom;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures_util::StreamExt;
use tokio::io::{AsyncSeekExt, AsyncWriteExt};

use super::{Appender, ByteStream, Driver, Stat, StorageError, StorageResult, check_path};

/// Large reads are streamed in chunks of this size: big enough for throughput, small enough that
/// many concurrent downloads stay cheap in memory.
const READ_CHUNK: usize = 256 * 1024;

pub struct FsDriver {
    root: PathBuf,
}

impl FsDriver {
    pub fn new(root: impl Into<PathBuf>) -> FsDriver {
        FsDriver { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn full(&self, path: &str) -> StorageResult<PathBuf> {
        check_path(path)?;
        Ok(self.root.join(path))
    }
}

fn io_err(path: &Path, source: std::io::Error) -> StorageError {
    StorageError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn not_found(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::NotFound
}

async fn ensure_parent(p: &Path) -> StorageResult<()> {
    if let Some(parent) = p.parent() {
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(|e| io_err(parent, e))?;
    }
    Ok(())
}

/// fsync a directory so that a rename into it survives a crash.
async fn sync_dir(dir: &Path) {
    if let Ok(f) = tokio::fs::File::open(dir).await {
        let _ = f.sync_all().await;
    }
}

fn set_mtime_now(p: &Path) -> StorageResult<()> {
    let file = std::fs::File::options()
        .write(true)
        .open(p)
        .map_err(|e| io_err(p, e))?;
    file.set_modified(std::time::SystemTime::now())
        .map_err(|e| io_err(p, e))
}

struct FsAppender {
    path: PathBuf,
    file: tokio::io::BufWriter<tokio::fs::File>,
}

#[async_trait::async_trait]
impl Appender for FsAppender {
    async fn write(&mut self, chunk: &[u8]) -> StorageResult<()> {
        self.file
            .write_all(chunk)
            .await
            .map_err(|e| io_err(&self.path, e))
    }

    async fn finish(mut self: Box<Self>) -> StorageResult<u64> {
        self.file.flush().await.map_err(|e| io_err(&self.path, e))?;
        let file = self.file.get_mut();
        file.sync_all().await.map_err(|e| io_err(&self.path, e))?;
        let meta = file.metadata().await.map_err(|e| io_err(&self.path, e))?;
        Ok(meta.len())
    }
}

#[async_trait::async_trait]
impl Driver for FsDriver {
    async fn get(&self, path: &str) -> StorageResult<Option<Bytes>> {
        let p = self.full(path)?;
        match tokio::fs::read(&p).await {
            Ok(v) => Ok(Some(Bytes::from(v))),
            Err(e) if not_found(&e) || e.kind() == std::io::ErrorKind::NotADirectory => Ok(None),
            Err(e) => Err(io_err(&p, e)),
        }
    }

    async fn put(&self, path: &str, content: &[u8]) -> StorageResult<()> {
        let p = self.full(path)?;
        ensure_parent(&p).await?;
        let tmp = p.with_file_name(format!(
            ".tmp-{}-{}",
            p.file_name().and_then(|n| n.to_str()).unwrap_or("x"),
            uuid::Uuid::new_v4().simple()
        ));
        let mut f = tokio::fs::File::create(&tmp)
            .await
            .map_err(|e| io_err(&tmp, e))?;
        f.write_all(content).await.map_err(|e| io_err(&tmp, e))?;
        f.sync_all().await.map_err(|e| io_err(&tmp, e))?;
        drop(f);
        if let Err(e) = tokio::fs::rename(&tmp, &p).await {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(io_err(&p, e));
        }
        if let Some(parent) = p.parent() {
            sync_dir(parent).await;
        }
        Ok(())
    }

    async fn stat(&self, path: &str) -> StorageResult<Option<Stat>> {
        let p = self.full(path)?;
        match tokio::fs::metadata(&p).await {
            Ok(m) => Ok(Some(Stat {
                size: m.len(),
                modified: m.modified().map_err(|e| io_err(&p, e))?,
            })),
            Err(e) if not_found(&e) || e.kind() == std::io::ErrorKind::NotADirectory => Ok(None),
            Err(e) => Err(io_err(&p, e)),
        }
    }

    async fn read_range(&self, path: &str, offset: u64, len: u64) -> StorageResult<ByteStream> {
        let p = self.full(path)?;
        let mut f = match tokio::fs::File::open(&p).await {
            Ok(f) => f,
            Err(e) if not_found(&e) => return Err(StorageError::NotFound(path.to_owned())),
            Err(e) => return Err(io_err(&p, e)),
        };
        if offset > 0 {
            f.seek(SeekFrom::Start(offset))
                .await
                .map_err(|e| io_err(&p, e))?;
        }
        let limited = tokio::io::AsyncReadExt::take(f, len);
        let stream = tokio_util::io::ReaderStream::with_capacity(limited, READ_CHUNK);
        Ok(stream.boxed())
    }

    async fn list(&self, dir: &str) -> StorageResult<Vec<String>> {
        let p = if dir.is_empty() {
            self.root.clone()
        } else {
            self.full(dir)?
        };
        let mut rd = match tokio::fs::read_dir(&p).await {
            Ok(rd) => rd,
            Err(e) if not_found(&e) || e.kind() == std::io::ErrorKind::NotADirectory => {
                return Ok(Vec::new());
            }
            Err(e) => return Err(io_err(&p, e)),
        };
        let mut names = Vec::new();
        while let Some(entry) = rd.next_entry().await.map_err(|e| io_err(&p, e))? {
            if let Some(name) = entry.file_name().to_str()
                && !name.starts_with(".tmp-")
            {
                names.push(name.to_owned());
            }
        }
        names.sort();
        Ok(names)
    }

    async fn delete(&self, path: &str) -> StorageResult<()> {
        let p = self.full(path)?;
        let meta = match tokio::fs::symlink_metadata(&p).await {
            Ok(m) => m,
            Err(e) if not_found(&e) => return Ok(()),
            Err(e) => return Err(io_err(&p, e)),
        };
        let res = if meta.is_dir() {
            tokio::fs::remove_dir_all(&p).await
        } else {
            tokio::fs::remove_file(&p).await
        };
        match res {
            Ok(()) => Ok(()),
            Err(e) if not_found(&e) => Ok(()),
            Err(e) => Err(io_err(&p, e)),
        }
    }

    async fn append(&self, path: &str) -> StorageResult<Box<dyn Appender>> {
        let p = self.full(path)?;
        ensure_parent(&p).await?;
        let file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&p)
            .await
            .map_err(|e| io_err(&p, e))?;
        Ok(Box::new(FsAppender {
            path: p,
            file: tokio::io::BufWriter::with_capacity(READ_CHUNK, file),
        }))
    }

    async fn truncate(&self, path: &str, size: u64) -> StorageResult<()> {
        let p = self.full(path)?;
        let f = tokio::fs::OpenOptions::new()
            .write(true)
            .open(&p)
            .await
            .map_err(|e| io_err(&p, e))?;
        f.set_len(size).await.map_err(|e| io_err(&p, e))?;
        f.sync_all().await.map_err(|e| io_err(&p, e))
    }

    async fn rename(&self, from: &str, to: &str) -> StorageResult<()> {
        let src = self.full(from)?;
        let dst = self.full(to)?;
        ensure_parent(&dst).await?;
        tokio::fs::rename(&src, &dst)
            .await
            .map_err(|e| io_err(&dst, e))?;
        if let Some(parent) = dst.parent() {
            sync_dir(parent).await;
        }
        let d = dst.clone();
        match tokio::task::spawn_blocking(move || set_mtime_now(&d)).await {
            Ok(r) => r,
            Err(e) => Err(StorageError::Other(e.to_string())),
        }
    }

    async fn touch(&self, path: &str) -> StorageResult<()> {
        let p = self.full(path)?;
        match tokio::task::spawn_blocking(move || set_mtime_now(&p)).await {
            Ok(r) => r,
            Err(e) => Err(StorageError::Other(e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn put_get_list_delete() {
        let dir = tempfile::tempdir().unwrap();
        let d = FsDriver::new(dir.path());
        d.put("a/b/c", b"hello").await.unwrap();
        assert_eq!(d.get("a/b/c").await.unwrap().unwrap(), Bytes::from("hello"));
        assert_eq!(d.list("a/b").await.unwrap(), vec!["c".to_owned()]);
        assert_eq!(d.stat("a/b/c").await.unwrap().unwrap().size, 5);
        d.delete("a").await.unwrap();
        assert!(d.get("a/b/c").await.unwrap().is_none());
        assert!(d.list("a").await.unwrap().is_empty());
        assert!(d.get("../etc/passwd").await.is_err());
    }

    #[tokio::test]
    async fn append_truncate_range_rename() {
        let dir = tempfile::tempdir().unwrap();
        let d = FsDriver::new(dir.path());
        let mut w = d.append("u/data").await.unwrap();
        w.write(b"0123").await.unwrap();
        assert_eq!(w.finish().await.unwrap(), 4);
        let mut w = d.append("u/data").await.unwrap();
        w.write(b"4567").await.unwrap();
        assert_eq!(w.finish().await.unwrap(), 8);
        d.truncate("u/data", 6).await.unwrap();
        let chunks: Vec<_> = d.read_range("u/data", 2, 3).await.unwrap().collect().await;
        let bytes: Vec<u8> = chunks
            .into_iter()
            .flat_map(|c| c.unwrap().to_vec())
            .collect();
        assert_eq!(bytes, b"234");
        d.rename("u/data", "blobs/x/data").await.unwrap();
        assert_eq!(d.stat("blobs/x/data").await.unwrap().unwrap().size, 6);
        assert!(d.stat("u/data").await.unwrap().is_none());
    }
}
