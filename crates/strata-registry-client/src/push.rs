//! Push from the store: each layer's kept tar is compressed (gzip, or zstd) while its digest is
//! computed — or not at all when `distribution.json` says the registry already has a blob for
//! it, or another repository of the same registry does (then it is mounted) — uploaded in
//! parallel, then the config and, last, the manifest. The pushed digest becomes a RepoDigest.

use std::collections::VecDeque;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use strata_reference::{Algorithm, Digest, Digester, Reference};
use strata_store::Store;

use crate::api::{MountResult, ProgressFn};
use crate::client::Registry;
use crate::distribution::{self, BlobRecord};
use crate::error::{RegistryError, Result};
use crate::manifest::{self, Descriptor, ImageManifest};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushStatus {
    Preparing,
    Waiting,
    Pushing,
    Pushed,
    AlreadyExists,
    /// Mounted from this repository (its path, as Docker prints it).
    MountedFrom(String),
}

impl std::fmt::Display for PushStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PushStatus::Preparing => f.write_str("Preparing"),
            PushStatus::Waiting => f.write_str("Waiting"),
            PushStatus::Pushing => f.write_str("Pushing"),
            PushStatus::Pushed => f.write_str("Pushed"),
            PushStatus::AlreadyExists => f.write_str("Layer already exists"),
            PushStatus::MountedFrom(repo) => write!(f, "Mounted from {repo}"),
        }
    }
}

pub trait PushProgress: Send + Sync {
    fn layer(&self, id: &str, status: PushStatus);
    fn bytes(&self, id: &str, done: u64, total: u64);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LayerCompression {
    #[default]
    Gzip,
    Zstd,
}

#[derive(Debug, Clone)]
pub struct PushOptions {
    pub compression: LayerCompression,
    pub parallel: usize,
}

impl Default for PushOptions {
    fn default() -> Self {
        PushOptions {
            compression: LayerCompression::Gzip,
            parallel: 3,
        }
    }
}

#[derive(Debug, Clone)]
pub struct PushResult {
    pub digest: Digest,
    pub size: usize,
}

fn is_family(media_type: &str, c: LayerCompression) -> bool {
    match c {
        LayerCompression::Gzip => media_type.ends_with("gzip"),
        LayerCompression::Zstd => media_type.ends_with("zstd"),
    }
}

/// Pushes image `image_id` as `target` (which carries the tag).
pub fn push(
    store: &Store,
    registry: &Registry,
    image_id: &Digest,
    target: &Reference,
    opts: &PushOptions,
    progress: Arc<dyn PushProgress>,
) -> Result<PushResult> {
    let image = store.image(image_id)?;
    let repo = target.path().to_owned();
    let full_repo = target.name();
    let tag = target.tag().unwrap_or("latest").to_owned();
    let diff_ids = image.config.rootfs.diff_ids.clone();
    let chains = image.chain_ids();
    let records: Vec<Vec<BlobRecord>> = chains
        .iter()
        .map(|c| distribution::read(store, c))
        .collect();
    // OCI when the layers came as OCI (or zstd, which schema2 cannot describe).
    let oci = opts.compression == LayerCompression::Zstd
        || (!records.is_empty()
            && records.iter().all(|r| {
                r.iter()
                    .any(|b| b.media_type.starts_with("application/vnd.oci.image.layer"))
            }));
    let layer_type = match (oci, opts.compression) {
        (_, LayerCompression::Zstd) => manifest::OCI_LAYER_ZSTD,
        (true, LayerCompression::Gzip) => manifest::OCI_LAYER_GZIP,
        (false, LayerCompression::Gzip) => manifest::DOCKER_LAYER_GZIP,
    };

    let ids: Vec<String> = diff_ids
        .iter()
        .map(|d| d.hex().chars().take(12).collect())
        .collect();
    for (n, id) in ids.iter().enumerate() {
        progress.layer(id, PushStatus::Preparing);
        if n >= opts.parallel.max(1) {
            progress.layer(id, PushStatus::Waiting);
        }
    }
    let staging = tempfile::Builder::new()
        .prefix(&format!("{}-", std::process::id()))
        .tempdir_in(store.root().join("tmp"))
        .map_err(RegistryError::io(
            "creating a staging directory",
            store.root().join("tmp"),
        ))?;
    let queue: Mutex<VecDeque<usize>> = Mutex::new((0..chains.len()).collect());
    let results: Mutex<Vec<Option<Result<Descriptor>>>> =
        Mutex::new((0..chains.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..opts.parallel.max(1).min(chains.len().max(1)) {
            let progress = progress.clone();
            let (queue, results, chains, records, ids, repo, full_repo, staging) = (
                &queue,
                &results,
                &chains,
                &records,
                &ids,
                &repo,
                &full_repo,
                staging.path(),
            );
            scope.spawn(move || {
                loop {
                    let next = queue.lock().unwrap_or_else(|p| p.into_inner()).pop_front();
                    let Some(i) = next else { break };
                    let ctx = LayerPush {
                        store,
                        registry,
                        repo,
                        full_repo,
                        chain: &chains[i],
                        records: &records[i],
                        id: &ids[i],
                        staging,
                        compression: opts.compression,
                        progress: progress.clone(),
                    };
                    let result = ctx.run().map(|(digest, size)| Descriptor {
                        media_type: layer_type.to_owned(),
                        size,
                        digest,
                        urls: vec![],
                        platform: None,
                    });
                    let failed = result.is_err();
                    results.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(result);
                    if failed {
                        // Leave the rest: the push fails with the first error.
                        queue.lock().unwrap_or_else(|p| p.into_inner()).clear();
                    }
                }
            });
        }
    });
    let mut layers = Vec::with_capacity(chains.len());
    for r in results.into_inner().unwrap_or_else(|p| p.into_inner()) {
        match r {
            Some(Ok(d)) => layers.push(d),
            Some(Err(e)) => return Err(e),
            None => return Err(RegistryError::Config("a layer push did not run".into())),
        }
    }

    let config_type = if oci {
        manifest::OCI_CONFIG
    } else {
        manifest::DOCKER_CONFIG
    };
    let config_digest = image.id.clone();
    if registry.blob_exists(&repo, &config_digest)?.is_none() {
        let path = staging.path().join("config.json");
        std::fs::write(&path, &image.raw_config)
            .map_err(RegistryError::io("staging config", &path))?;
        let quiet: ProgressFn = Arc::new(|_, _| {});
        registry.upload_blob(
            &repo,
            &path,
            &config_digest,
            image.raw_config.len() as u64,
            None,
            &quiet,
        )?;
    }
    let m = ImageManifest {
        schema_version: 2,
        media_type: Some(
            if oci {
                manifest::OCI_MANIFEST
            } else {
                manifest::DOCKER_MANIFEST
            }
            .to_owned(),
        ),
        config: Descriptor {
            media_type: config_type.to_owned(),
            size: image.raw_config.len() as u64,
            digest: config_digest,
            urls: vec![],
            platform: None,
        },
        layers,
    };
    let bytes = docker_json(&m)?;
    let media_type = m.media_type.clone().unwrap_or_default();
    let digest = registry.put_manifest(&repo, &tag, &media_type, &bytes)?;
    store.tag(image_id, &target.with_digest(digest.clone()))?;
    Ok(PushResult {
        digest,
        size: bytes.len(),
    })
}

/// Docker marshals manifests with three-space indentation; matching it keeps digests equal.
fn docker_json(m: &ImageManifest) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(
        &mut out,
        serde_json::ser::PrettyFormatter::with_indent(b"   "),
    );
    m.serialize(&mut ser)
        .map_err(|e| RegistryError::BadManifest(e.to_string()))?;
    Ok(out)
}

struct LayerPush<'a> {
    store: &'a Store,
    registry: &'a Registry,
    repo: &'a str,
    full_repo: &'a str,
    chain: &'a Digest,
    records: &'a [BlobRecord],
    id: &'a str,
    staging: &'a Path,
    compression: LayerCompression,
    progress: Arc<dyn PushProgress>,
}

impl LayerPush<'_> {
    /// Returns the pushed blob's digest and size.
    fn run(&self) -> Result<(Digest, u64)> {
        let host = self.registry.host();
        let candidates: Vec<&BlobRecord> = self
            .records
            .iter()
            .filter(|r| is_family(&r.media_type, self.compression))
            .collect();
        // 1. A blob this layer is known as, already in the target repository.
        for c in candidates.iter().take(4) {
            if self.registry.blob_exists(self.repo, &c.digest)?.is_some() {
                self.remember(&c.digest, c.size);
                self.progress.layer(self.id, PushStatus::AlreadyExists);
                return Ok((c.digest.clone(), c.size));
            }
        }
        // 2. Another repository of the same registry has it: mount.
        let mut session = None;
        'mount: for c in &candidates {
            for source in c
                .repositories
                .iter()
                .filter(|r| r.as_str() != self.full_repo)
            {
                let Some(from) = source.strip_prefix(&format!("{host}/")) else {
                    continue;
                };
                match self.registry.mount_blob(self.repo, &c.digest, from)? {
                    MountResult::Mounted => {
                        self.remember(&c.digest, c.size);
                        self.progress
                            .layer(self.id, PushStatus::MountedFrom(from.to_owned()));
                        return Ok((c.digest.clone(), c.size));
                    }
                    MountResult::Upload(location) => {
                        session = Some(location);
                        break 'mount;
                    }
                }
            }
        }
        // 3. Compress and upload.
        let path = self.staging.join(format!("{}.blob", self.id));
        let (digest, size) = compress(
            &self.store.layer_tar_path(self.chain),
            &path,
            self.compression,
        )?;
        let media_type = match self.compression {
            LayerCompression::Gzip => manifest::DOCKER_LAYER_GZIP,
            LayerCompression::Zstd => manifest::OCI_LAYER_ZSTD,
        };
        let _ = distribution::record(self.store, self.chain, &digest, media_type, size, None);
        if self.registry.blob_exists(self.repo, &digest)?.is_some() {
            self.remember(&digest, size);
            self.progress.layer(self.id, PushStatus::AlreadyExists);
            let _ = std::fs::remove_file(&path);
            return Ok((digest, size));
        }
        self.progress.layer(self.id, PushStatus::Pushing);
        let (p, id) = (self.progress.clone(), self.id.to_owned());
        let report: ProgressFn = Arc::new(move |done, total| p.bytes(&id, done, total));
        self.registry
            .upload_blob(self.repo, &path, &digest, size, session, &report)?;
        let _ = std::fs::remove_file(&path);
        self.remember(&digest, size);
        self.progress.layer(self.id, PushStatus::Pushed);
        Ok((digest, size))
    }

    fn remember(&self, digest: &Digest, size: u64) {
        let media_type = self
            .records
            .iter()
            .find(|r| &r.digest == digest)
            .map(|r| r.media_type.clone())
            .unwrap_or_else(|| manifest::DOCKER_LAYER_GZIP.to_owned());
        if let Err(e) = distribution::record(
            self.store,
            self.chain,
            digest,
            &media_type,
            size,
            Some(self.full_repo),
        ) {
            tracing::debug!(error = %e, "could not record layer distribution metadata");
        }
    }
}

/// Compresses `src` into `dest`, returning the digest and size of the compressed bytes.
pub fn compress(src: &Path, dest: &Path, compression: LayerCompression) -> Result<(Digest, u64)> {
    let input = std::fs::File::open(src).map_err(RegistryError::io("opening layer tar", src))?;
    let output = std::fs::File::create(dest)
        .map_err(RegistryError::io("creating compressed layer", dest))?;
    let hashing = HashingWriter {
        inner: std::io::BufWriter::with_capacity(1 << 20, output),
        digester: Digester::new(Algorithm::Sha256),
        bytes: 0,
    };
    let mut reader = std::io::BufReader::with_capacity(1 << 20, input);
    let io_err = RegistryError::io("compressing layer", src);
    let hashing = match compression {
        LayerCompression::Gzip => {
            // Deterministic (no name, zero mtime), so a recompression gives the same digest.
            let mut enc = flate2::GzBuilder::new()
                .mtime(0)
                .write(hashing, flate2::Compression::default());
            std::io::copy(&mut reader, &mut enc).map_err(io_err)?;
            enc.finish()
                .map_err(RegistryError::io("compressing layer", src))?
        }
        LayerCompression::Zstd => {
            let mut enc = zstd::stream::write::Encoder::new(hashing, 3).map_err(io_err)?;
            std::io::copy(&mut reader, &mut enc)
                .map_err(RegistryError::io("compressing layer", src))?;
            enc.finish()
                .map_err(RegistryError::io("compressing layer", src))?
        }
    };
    let HashingWriter {
        mut inner,
        digester,
        bytes,
    } = hashing;
    inner
        .flush()
        .map_err(RegistryError::io("writing compressed layer", dest))?;
    Ok((digester.finish(), bytes))
}

struct HashingWriter<W> {
    inner: W,
    digester: Digester,
    bytes: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.digester.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn gzip_compression_is_deterministic_and_round_trips() {
        let dir = tempfile::tempdir().expect("tmp");
        let src = dir.path().join("layer.tar");
        std::fs::write(&src, b"some layer bytes ".repeat(5000)).expect("write");
        let (d1, s1) = compress(&src, &dir.path().join("a"), LayerCompression::Gzip).expect("a");
        let (d2, _) = compress(&src, &dir.path().join("b"), LayerCompression::Gzip).expect("b");
        assert_eq!(d1, d2);
        let bytes = std::fs::read(dir.path().join("a")).expect("read");
        assert_eq!(bytes.len() as u64, s1);
        assert_eq!(Digest::sha256_of(&bytes), d1);
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_end(&mut out)
            .expect("gunzip");
        assert_eq!(out, std::fs::read(&src).expect("src"));
        let (dz, _) = compress(&src, &dir.path().join("z"), LayerCompression::Zstd).expect("zstd");
        assert_eq!(
            Digest::sha256_of(&std::fs::read(dir.path().join("z")).expect("z")),
            dz
        );
    }

    #[test]
    fn manifests_use_dockers_indentation() {
        let d = Digest::sha256_of(b"c");
        let m = ImageManifest {
            schema_version: 2,
            media_type: Some(manifest::DOCKER_MANIFEST.into()),
            config: Descriptor {
                media_type: manifest::DOCKER_CONFIG.into(),
                size: 1,
                digest: d,
                urls: vec![],
                platform: None,
            },
            layers: vec![],
        };
        let text = String::from_utf8(docker_json(&m).expect("json")).expect("utf8");
        assert!(
            text.starts_with("{\n   \"schemaVersion\": 2,\n   \"mediaType\""),
            "{text}"
        );
    }
}
