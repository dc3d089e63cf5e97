//! A blob as a `Read` stream, verified against its digest and size as it passes, that survives
//! cut connections: it asks again with `Range: bytes=N-` and carries on from byte N, so the
//! consumer (decompression and unpacking, during a pull) never sees the break.

use std::io::{self, Read};

use reqwest::StatusCode;
use reqwest::blocking::Response;
use reqwest::header::RANGE;
use strata_reference::{Digest, Digester};

use crate::api::{MAX_ATTEMPTS, ProgressFn, backoff};
use crate::client::{Registry, Scope, status_error};
use crate::error::{RegistryError, Result};

pub struct BlobStream<'r> {
    registry: &'r Registry,
    repo: String,
    digest: Digest,
    size: Option<u64>,
    progress: ProgressFn,
    response: Option<Response>,
    digester: Option<Digester>,
    done: u64,
    failures: u32,
    /// Set when the stream ended or failed: the consumer sees only an `io::Error`, the caller
    /// gets this precise error back from [`BlobStream::finish`] or [`BlobStream::error`].
    outcome: Option<Result<()>>,
}

impl<'r> BlobStream<'r> {
    /// Opens `GET /v2/<repo>/blobs/<digest>`; errors of the first request are returned here.
    pub fn open(
        registry: &'r Registry,
        repo: &str,
        digest: &Digest,
        size: Option<u64>,
        progress: ProgressFn,
    ) -> Result<BlobStream<'r>> {
        let mut stream = BlobStream {
            registry,
            repo: repo.to_owned(),
            digest: digest.clone(),
            size,
            progress,
            response: None,
            digester: Some(Digester::new(digest.algorithm())),
            done: 0,
            failures: 0,
            outcome: None,
        };
        stream.connect()?;
        Ok(stream)
    }

    /// Bytes delivered so far.
    pub fn position(&self) -> u64 {
        self.done
    }

    /// (Re)connects at the current offset; transport errors are retried with back-off.
    fn connect(&mut self) -> Result<()> {
        let (repo, digest, offset) = (&self.repo, &self.digest, self.done);
        loop {
            let resp = self.registry.send("GET", &[Scope::pull(repo)], |c, base| {
                let r = c.get(format!("{base}/v2/{repo}/blobs/{digest}"));
                if offset > 0 {
                    r.header(RANGE, format!("bytes={offset}-"))
                } else {
                    r
                }
            });
            let mut resp = match resp {
                Ok(r) => r,
                Err(RegistryError::Http { .. }) if self.failures + 1 < MAX_ATTEMPTS => {
                    self.failures += 1;
                    std::thread::sleep(backoff(self.failures));
                    continue;
                }
                Err(e) => return Err(e),
            };
            match resp.status() {
                StatusCode::PARTIAL_CONTENT if offset > 0 => {
                    tracing::debug!(%digest, offset, "resuming download");
                }
                StatusCode::OK if offset > 0 => {
                    // The registry ignored the range: skip what was already delivered.
                    tracing::debug!(%digest, offset, "registry ignored Range, skipping");
                    let skipped =
                        io::copy(&mut (&mut resp).take(offset), &mut io::sink()).unwrap_or(0);
                    if skipped < offset {
                        self.failures += 1;
                        if self.failures >= MAX_ATTEMPTS {
                            return Err(self.exhausted());
                        }
                        continue;
                    }
                }
                StatusCode::OK => {}
                StatusCode::NOT_FOUND => {
                    return Err(RegistryError::Status {
                        status: 404,
                        message: format!("blob unknown: blob {digest} unknown to registry"),
                    });
                }
                _ => return Err(status_error(resp, &format!("fetching blob {digest}"))),
            }
            self.response = Some(resp);
            return Ok(());
        }
    }

    fn exhausted(&self) -> RegistryError {
        RegistryError::RetriesExhausted(format!("download of blob {}", self.digest), self.failures)
    }

    /// Checks size and digest once the registry says the blob is complete.
    fn verify(&mut self) -> Result<()> {
        let total = self.size.unwrap_or(self.done);
        if self.done != total {
            return Err(RegistryError::SizeMismatch {
                what: format!("blob {}", self.digest),
                expected: total,
                actual: self.done,
            });
        }
        let actual = self
            .digester
            .take()
            .map(Digester::finish)
            .ok_or_else(|| RegistryError::Config("blob digest already taken".into()))?;
        if actual != self.digest {
            return Err(RegistryError::DigestMismatch {
                what: format!("blob {}", self.digest),
                expected: self.digest.clone(),
                actual,
            });
        }
        Ok(())
    }

    fn fail(&mut self, error: RegistryError) -> io::Error {
        let message = error.to_string();
        self.outcome = Some(Err(error));
        self.response = None;
        io::Error::new(io::ErrorKind::InvalidData, message)
    }

    /// Reads whatever the consumer left unread (a tar's trailing padding), then returns the
    /// verification result: the blob is trustworthy only if this is `Ok`.
    pub fn finish(mut self) -> Result<()> {
        if self.outcome.is_none() {
            let _ = io::copy(&mut self, &mut io::sink());
        }
        self.outcome.take().unwrap_or_else(|| {
            Err(RegistryError::Config(format!(
                "blob {} was not read to its end",
                self.digest
            )))
        })
    }

    /// The precise error behind a failed read, if the stream failed (not the consumer).
    pub fn error(&mut self) -> Option<RegistryError> {
        match self.outcome.take() {
            Some(Err(e)) => Some(e),
            other => {
                self.outcome = other;
                None
            }
        }
    }
}

impl Read for BlobStream<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(outcome) = &self.outcome {
            return match outcome {
                Ok(()) => Ok(0),
                Err(e) => Err(io::Error::new(io::ErrorKind::InvalidData, e.to_string())),
            };
        }
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            let Some(resp) = self.response.as_mut() else {
                if let Err(e) = self.connect() {
                    return Err(self.fail(e));
                }
                continue;
            };
            let cut = match resp.read(buf) {
                Ok(0) if self.size.is_none_or(|s| self.done >= s) => {
                    let result = self.verify();
                    return match result {
                        Ok(()) => {
                            self.outcome = Some(Ok(()));
                            self.response = None;
                            Ok(0)
                        }
                        Err(e) => Err(self.fail(e)),
                    };
                }
                // A stream that ends early without an error is a cut too.
                Ok(0) => None,
                Ok(n) => {
                    self.done += n as u64;
                    if let Some(size) = self.size.filter(|&s| self.done > s) {
                        let error = RegistryError::SizeMismatch {
                            what: format!("blob {}", self.digest),
                            expected: size,
                            actual: self.done,
                        };
                        return Err(self.fail(error));
                    }
                    if let Some(d) = self.digester.as_mut() {
                        d.update(&buf[..n]);
                    }
                    (self.progress)(self.done, self.size.unwrap_or(0));
                    return Ok(n);
                }
                Err(e) => Some(e),
            };
            tracing::debug!(digest = %self.digest, done = self.done, error = ?cut, "download interrupted");
            self.response = None;
            self.failures += 1;
            if self.failures >= MAX_ATTEMPTS {
                let error = self.exhausted();
                return Err(self.fail(error));
            }
            std::thread::sleep(backoff(self.failures));
        }
    }
}
