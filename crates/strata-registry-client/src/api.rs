//! The distribution API calls: manifests, blobs (verified while streaming, resumed with
//! `Range` after a cut connection), uploads (monolithic or chunked `PATCH` with `Content-Range`,
//! resumed from the registry's `Range` after a broken connection), cross-repository mounts, tags.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::blocking::Body;
use reqwest::header::{ACCEPT, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, LOCATION, RANGE};

use crate::blob_stream::BlobStream;
use strata_reference::{Digest, Digester};

use crate::client::{Registry, Scope, status_error};
use crate::error::{RegistryError, Result};
use crate::manifest;

/// Blobs up to this size go in one `PUT`; larger ones in `PATCH` chunks of [`CHUNK_SIZE`]
/// (or what [`Registry::with_chunk_size`] set).
pub const MONOLITHIC_MAX: u64 = 4 << 20;
pub const CHUNK_SIZE: u64 = 64 << 20;
pub(crate) const MAX_ATTEMPTS: u32 = 6;

/// Receives byte counts as a transfer advances: (done, total).
pub type ProgressFn = Arc<dyn Fn(u64, u64) + Send + Sync>;

pub struct FetchedManifest {
    pub bytes: Vec<u8>,
    pub content_type: Option<String>,
    pub digest: Digest,
}

pub enum MountResult {
    Mounted,
    /// The registry did not mount but opened an upload session at this URL.
    Upload(String),
}

impl Registry {
    /// `GET /v2/<repo>/manifests/<tag or digest>`; by digest, the bytes must match it.
    pub fn get_manifest(&self, repo: &str, reference: &str) -> Result<FetchedManifest> {
        let resp = self.send("GET", &[Scope::pull(repo)], |c, base| {
            c.get(format!("{base}/v2/{repo}/manifests/{reference}"))
                .header(ACCEPT, manifest::ACCEPT)
        })?;
        if resp.status() == StatusCode::NOT_FOUND {
            return Err(RegistryError::ManifestUnknown(format!(
                "manifest for {}/{repo}:{reference} not found",
                self.host()
            )));
        }
        if !resp.status().is_success() {
            return Err(status_error(
                resp,
                &format!("fetching manifest {repo}:{reference}"),
            ));
        }
        let content_type = resp
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut bytes = Vec::new();
        let mut limited = resp.take(8 << 20);
        limited
            .read_to_end(&mut bytes)
            .map_err(|e| RegistryError::BadManifest(format!("reading manifest: {e}")))?;
        let digest = Digest::sha256_of(&bytes);
        if let Ok(expected) = Digest::parse(reference) {
            let mut d = Digester::new(expected.algorithm());
            d.update(&bytes);
            let actual = d.finish();
            if actual != expected {
                return Err(RegistryError::DigestMismatch {
                    what: format!("manifest {repo}@{reference}"),
                    expected,
                    actual,
                });
            }
            return Ok(FetchedManifest {
                bytes,
                content_type,
                digest: expected,
            });
        }
        Ok(FetchedManifest {
            bytes,
            content_type,
            digest,
        })
    }

    /// `PUT /v2/<repo>/manifests/<tag>`; returns the digest of the bytes sent.
    pub fn put_manifest(
        &self,
        repo: &str,
        tag: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<Digest> {
        let resp = self.send("PUT", &[Scope::push(repo)], |c, base| {
            c.put(format!("{base}/v2/{repo}/manifests/{tag}"))
                .header(CONTENT_TYPE, media_type)
                .body(bytes.to_vec())
        })?;
        if !resp.status().is_success() {
            return Err(status_error(
                resp,
                &format!("pushing manifest {repo}:{tag}"),
            ));
        }
        Ok(Digest::sha256_of(bytes))
    }

    /// A small blob (an image config) in memory, verified.
    pub fn get_blob_bytes(&self, repo: &str, digest: &Digest, max: u64) -> Result<Vec<u8>> {
        let resp = self.send("GET", &[Scope::pull(repo)], |c, base| {
            c.get(format!("{base}/v2/{repo}/blobs/{digest}"))
        })?;
        if !resp.status().is_success() {
            return Err(status_error(resp, &format!("fetching blob {digest}")));
        }
        let mut bytes = Vec::new();
        resp.take(max + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| RegistryError::Status {
                status: 0,
                message: format!("reading blob {digest}: {e}"),
            })?;
        let mut d = Digester::new(digest.algorithm());
        d.update(&bytes);
        let actual = d.finish();
        if &actual != digest {
            return Err(RegistryError::DigestMismatch {
                what: format!("blob {digest}"),
                expected: digest.clone(),
                actual,
            });
        }
        Ok(bytes)
    }

    /// Streams a blob into `dest`, hashing as it arrives. A cut connection resumes with
    /// `Range: bytes=N-`; a digest or size mismatch deletes the file and fails.
    pub fn download_blob(
        &self,
        repo: &str,
        digest: &Digest,
        size: Option<u64>,
        dest: &Path,
        progress: &ProgressFn,
    ) -> Result<()> {
        let result = self.download_blob_inner(repo, digest, size, dest, progress);
        if result.is_err() {
            let _ = std::fs::remove_file(dest);
        }
        result
    }

    fn download_blob_inner(
        &self,
        repo: &str,
        digest: &Digest,
        size: Option<u64>,
        dest: &Path,
        progress: &ProgressFn,
    ) -> Result<()> {
        let mut file =
            File::create(dest).map_err(RegistryError::io("creating download file", dest))?;
        let mut stream = BlobStream::open(self, repo, digest, size, progress.clone())?;
        if let Err(e) = std::io::copy(&mut stream, &mut file) {
            return Err(stream
                .error()
                .unwrap_or_else(|| RegistryError::io("writing download", dest)(e)));
        }
        stream.finish()?;
        file.sync_all()
            .map_err(RegistryError::io("syncing download", dest))
    }

    /// `HEAD /v2/<repo>/blobs/<digest>`: the size when the registry has it.
    pub fn blob_exists(&self, repo: &str, digest: &Digest) -> Result<Option<u64>> {
        let resp = self.send("HEAD", &[Scope::push(repo)], |c, base| {
            c.head(format!("{base}/v2/{repo}/blobs/{digest}"))
        })?;
        match resp.status() {
            s if s.is_success() => Ok(Some(
                resp.headers()
                    .get(CONTENT_LENGTH)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0),
            )),
            StatusCode::NOT_FOUND => Ok(None),
            _ => Err(status_error(resp, &format!("checking blob {digest}"))),
        }
    }

    /// Asks the registry to link a blob from another repository (`?mount=&from=`).
    pub fn mount_blob(&self, repo: &str, digest: &Digest, from: &str) -> Result<MountResult> {
        let scopes = [Scope::push(repo), Scope::pull(from)];
        let resp = self.send("POST", &scopes, |c, base| {
            c.post(format!("{base}/v2/{repo}/blobs/uploads/"))
                .query(&[("mount", digest.to_string().as_str()), ("from", from)])
                .header(CONTENT_LENGTH, "0")
        })?;
        match resp.status() {
            StatusCode::CREATED => Ok(MountResult::Mounted),
            StatusCode::ACCEPTED => Ok(MountResult::Upload(self.location(&resp)?)),
            _ => Err(status_error(
                resp,
                &format!("mounting blob {digest} from {from}"),
            )),
        }
    }

    fn start_upload(&self, repo: &str) -> Result<String> {
        let resp = self.send("POST", &[Scope::push(repo)], |c, base| {
            c.post(format!("{base}/v2/{repo}/blobs/uploads/"))
                .header(CONTENT_LENGTH, "0")
        })?;
        if resp.status() != StatusCode::ACCEPTED {
            return Err(status_error(resp, &format!("starting upload to {repo}")));
        }
        self.location(&resp)
    }

    fn location(&self, resp: &reqwest::blocking::Response) -> Result<String> {
        let loc = resp
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| RegistryError::Status {
                status: resp.status().as_u16(),
                message: "upload answer without Location".into(),
            })?;
        Ok(self.absolute(loc))
    }

    /// Uploads the file at `path` (whose digest and size the caller computed) as a blob of
    /// `repo`, in an upload session it opens or one it was given (a refused mount).
    pub fn upload_blob(
        &self,
        repo: &str,
        path: &Path,
        digest: &Digest,
        size: u64,
        session: Option<String>,
        progress: &ProgressFn,
    ) -> Result<()> {
        let mut location = match session {
            Some(s) => s,
            None => self.start_upload(repo)?,
        };
        let scopes = [Scope::push(repo)];
        if size <= MONOLITHIC_MAX {
            let bytes = std::fs::read(path).map_err(RegistryError::io("reading blob", path))?;
            let url = with_digest(&location, digest);
            let resp = self.send("PUT", &scopes, |c, _| {
                c.put(&url)
                    .header(CONTENT_TYPE, "application/octet-stream")
                    .body(bytes.clone())
            })?;
            if resp.status() != StatusCode::CREATED {
                return Err(status_error(resp, &format!("uploading blob {digest}")));
            }
            progress(size, size);
            return Ok(());
        }
        let mut offset = 0u64;
        let mut failures = 0u32;
        while offset < size {
            let len = self.chunk_size().min(size - offset);
            let start = offset;
            let result = self.send("PATCH", &scopes, |c, _| {
                let body = match section(path, start, len, progress.clone(), size) {
                    Ok(b) => b,
                    Err(_) => Body::from(Vec::new()),
                };
                c.patch(&location)
                    .header(CONTENT_TYPE, "application/octet-stream")
                    .header(CONTENT_RANGE, format!("{start}-{}", start + len - 1))
                    .header(CONTENT_LENGTH, len.to_string())
                    .body(body)
            });
            match result {
                Ok(resp) if resp.status() == StatusCode::ACCEPTED => {
                    location = self.location(&resp)?;
                    offset += len;
                }
                Ok(resp) => return Err(status_error(resp, &format!("uploading blob {digest}"))),
                Err(RegistryError::Http { source, .. }) => {
                    failures += 1;
                    if failures >= MAX_ATTEMPTS {
                        return Err(RegistryError::RetriesExhausted(
                            format!("upload of blob {digest}"),
                            failures,
                        ));
                    }
                    tracing::debug!(%digest, offset, error = %source, "upload interrupted; asking the registry where to resume");
                    std::thread::sleep(backoff(failures));
                    let (loc, next) = self.upload_status(repo, &location)?;
                    location = loc;
                    offset = next;
                }
                Err(e) => return Err(e),
            }
        }
        let url = with_digest(&location, digest);
        let resp = self.send("PUT", &scopes, |c, _| {
            c.put(&url).header(CONTENT_LENGTH, "0")
        })?;
        if resp.status() != StatusCode::CREATED {
            return Err(status_error(
                resp,
                &format!("completing upload of {digest}"),
            ));
        }
        Ok(())
    }

    /// `GET` on an upload session: the offset the registry has (its `Range: 0-N`).
    fn upload_status(&self, repo: &str, location: &str) -> Result<(String, u64)> {
        let resp = self.send("GET", &[Scope::push(repo)], |c, _| c.get(location))?;
        if resp.status() != StatusCode::NO_CONTENT {
            return Err(status_error(resp, "checking upload status"));
        }
        let next = resp
            .headers()
            .get(RANGE)
            .and_then(|v| v.to_str().ok())
            .and_then(range_end)
            .unwrap_or(0);
        let loc = resp
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(|l| self.absolute(l))
            .unwrap_or_else(|| location.to_owned());
        Ok((loc, next))
    }

    /// `GET /v2/<repo>/tags/list`, following `Link` pagination.
    pub fn list_tags(&self, repo: &str) -> Result<Vec<String>> {
        let mut tags = Vec::new();
        let mut next = Some(format!("/v2/{repo}/tags/list?n=1000"));
        while let Some(path) = next.take() {
            let url = self.absolute(&path);
            let resp = self.send("GET", &[Scope::pull(repo)], |c, _| c.get(&url))?;
            if !resp.status().is_success() {
                return Err(status_error(resp, &format!("listing tags of {repo}")));
            }
            next = resp
                .headers()
                .get("link")
                .and_then(|v| v.to_str().ok())
                .and_then(|l| l.split(';').next())
                .map(|l| {
                    l.trim()
                        .trim_start_matches('<')
                        .trim_end_matches('>')
                        .to_owned()
                });
            let v: serde_json::Value = resp.json().map_err(|e| RegistryError::Status {
                status: 0,
                message: format!("invalid tag list: {e}"),
            })?;
            tags.extend(
                v.get("tags")
                    .and_then(|t| t.as_array())
                    .into_iter()
                    .flatten()
                    .filter_map(|t| t.as_str())
                    .map(str::to_owned),
            );
        }
        Ok(tags)
    }
}

/// The offset to continue an upload from, given the registry's `Range: 0-<last byte>`.
/// Registries answer `0-0` for an empty session as well as for one byte (distribution has no
/// way to say "nothing"): read as 0, since a registry that does hold one byte refuses the
/// resent chunk (416) and the push fails cleanly, where skipping a byte would not.
fn range_end(range: &str) -> Option<u64> {
    let range = range.trim().trim_start_matches("bytes=");
    let (start, end) = range.split_once('-')?;
    let (start, end) = (start.parse::<u64>().ok()?, end.parse::<u64>().ok()?);
    Some(if start == 0 && end == 0 { 0 } else { end + 1 })
}

fn with_digest(location: &str, digest: &Digest) -> String {
    let sep = if location.contains('?') { '&' } else { '?' };
    format!("{location}{sep}digest={digest}")
}

pub(crate) fn backoff(failures: u32) -> Duration {
    Duration::from_millis(200 * u64::from(failures.min(5)))
}

/// A `len`-byte window of a file as a request body, reporting progress as it is read.
fn section(
    path: &Path,
    start: u64,
    len: u64,
    progress: ProgressFn,
    total: u64,
) -> std::io::Result<Body> {
    let mut file = File::open(path)?;
    file.seek(SeekFrom::Start(start))?;
    let reader = CountingReader {
        inner: file.take(len),
        done: start,
        total,
        progress,
    };
    Ok(Body::sized(reader, len))
}

struct CountingReader<R> {
    inner: R,
    done: u64,
    total: u64,
    progress: ProgressFn,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.done += n as u64;
        (self.progress)(self.done, self.total);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_offsets_follow_the_registrys_range() {
        assert_eq!(range_end("0-0"), Some(0), "an empty session");
        assert_eq!(range_end("0-1048575"), Some(1 << 20));
        assert_eq!(range_end("bytes=0-9"), Some(10));
        assert_eq!(range_end("nonsense"), None);
    }

    #[test]
    fn digest_is_appended_to_upload_locations() {
        let d = Digest::sha256_of(b"");
        assert_eq!(
            with_digest("http://h/v2/x/blobs/uploads/u", &d),
            format!("http://h/v2/x/blobs/uploads/u?digest={d}")
        );
        assert_eq!(
            with_digest("http://h/u?_state=abc", &d),
            format!("http://h/u?_state=abc&digest={d}")
        );
    }
}
