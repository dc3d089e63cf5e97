//! Pull into the store: resolve the manifest (an index to the wanted platform), fetch and
//! verify the config, then stream the missing layers in parallel straight from the network
//! through decompression into the store's staging (download, gunzip, hashing and unpacking
//! overlap; no compressed copy touches the disk). Each layer is staged unseen and kept only if
//! its blob digest and diff ID both match; staged layers are committed bottom-up, then the
//! image is created, tagged, and the manifest digest recorded as a RepoDigest.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};

use strata_reference::{Digest, Reference};
use strata_store::config::ImageConfig;
use strata_store::{StagedLayer, Store};

use crate::api::ProgressFn;
use crate::blob_stream::BlobStream;
use crate::client::Registry;
use crate::distribution;
use crate::error::{RegistryError, Result};
use crate::manifest::{self, Descriptor, ImageManifest, Manifest, PlatformSpec};

/// Docker's per-layer pull states, displayed as Docker words them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullStatus {
    AlreadyExists,
    PullingFsLayer,
    Waiting,
    Downloading,
    VerifyingChecksum,
    DownloadComplete,
    Extracting,
    PullComplete,
}

impl std::fmt::Display for PullStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PullStatus::AlreadyExists => "Already exists",
            PullStatus::PullingFsLayer => "Pulling fs layer",
            PullStatus::Waiting => "Waiting",
            PullStatus::Downloading => "Downloading",
            PullStatus::VerifyingChecksum => "Verifying Checksum",
            PullStatus::DownloadComplete => "Download complete",
            PullStatus::Extracting => "Extracting",
            PullStatus::PullComplete => "Pull complete",
        })
    }
}

/// Receives pull progress; the CLI renders it. Called from several threads.
pub trait PullProgress: Send + Sync {
    fn layer(&self, id: &str, status: PullStatus);
    fn bytes(&self, id: &str, done: u64, total: u64);
}

#[derive(Debug, Clone)]
pub struct PullOptions {
    /// The platform to pick from an index; the host's when `None`.
    pub platform: Option<PlatformSpec>,
    /// Layers downloaded at once.
    pub parallel: usize,
}

impl Default for PullOptions {
    fn default() -> Self {
        PullOptions {
            platform: None,
            parallel: 3,
        }
    }
}

#[derive(Debug, Clone)]
pub struct PullResult {
    /// The digest of what the reference named (an index's own digest for a multi-platform image).
    pub manifest_digest: Digest,
    pub image_id: Digest,
    /// The reference already named this image before the pull.
    pub up_to_date: bool,
}

const LAYER_TYPES: &[&str] = &[
    manifest::DOCKER_LAYER_GZIP,
    manifest::OCI_LAYER_TAR,
    manifest::OCI_LAYER_GZIP,
    manifest::OCI_LAYER_ZSTD,
    "application/vnd.oci.image.layer.nondistributable.v1.tar",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
];

fn short(d: &Digest) -> String {
    d.hex().chars().take(12).collect()
}

/// Resolves `reference` (tag or digest) to an image manifest: its top-level digest, its body,
/// and whether the reference named an index.
pub fn resolve(
    registry: &Registry,
    reference: &Reference,
    platform: Option<&PlatformSpec>,
) -> Result<(Digest, ImageManifest, bool)> {
    let repo = reference.path();
    let target = match (reference.digest(), reference.tag()) {
        (Some(d), _) => d.to_string(),
        (None, Some(t)) => t.to_owned(),
        (None, None) => "latest".to_owned(),
    };
    let top = registry.get_manifest(repo, &target)?;
    match manifest::parse(top.content_type.as_deref(), &top.bytes)? {
        Manifest::Image(m) => Ok((top.digest, m, false)),
        Manifest::Index(index) => {
            let wanted = platform.cloned().unwrap_or_else(PlatformSpec::host);
            let entry = wanted.select(&index.manifests)?;
            tracing::debug!(platform = %wanted, digest = %entry.digest, "picked an index entry");
            let inner = registry.get_manifest(repo, &entry.digest.to_string())?;
            match manifest::parse(inner.content_type.as_deref(), &inner.bytes)? {
                Manifest::Image(m) => Ok((top.digest, m, true)),
                Manifest::Index(_) => Err(RegistryError::BadManifest(
                    "an index entry for the platform is itself an index".into(),
                )),
            }
        }
    }
}

/// Pulls one tag or digest into the store.
pub fn pull(
    store: &Store,
    registry: &Registry,
    reference: &Reference,
    opts: &PullOptions,
    progress: Arc<dyn PullProgress>,
) -> Result<PullResult> {
    let repo = reference.path().to_owned();
    let (manifest_digest, m, from_index) = resolve(registry, reference, opts.platform.as_ref())?;
    for layer in &m.layers {
        if !LAYER_TYPES.contains(&layer.media_type.as_str()) {
            return Err(RegistryError::UnsupportedMediaType(
                layer.media_type.clone(),
            ));
        }
    }
    let raw_config = registry.get_blob_bytes(&repo, &m.config.digest, 32 << 20)?;
    let config: ImageConfig = serde_json::from_slice(&raw_config)
        .map_err(|e| RegistryError::BadManifest(format!("invalid image config: {e}")))?;
    if let (Some(p), false) = (&opts.platform, from_index)
        && !config.os.is_empty()
        && (config.os != p.os || config.architecture != p.architecture)
    {
        return Err(RegistryError::NoMatchingPlatform(p.to_string()));
    }
    let diff_ids = &config.rootfs.diff_ids;
    if diff_ids.len() != m.layers.len() {
        return Err(RegistryError::BadManifest(format!(
            "the manifest has {} layers but the config {} diff IDs",
            m.layers.len(),
            diff_ids.len()
        )));
    }
    let chains = strata_store::layer::chain_ids(diff_ids);
    let previous = store.resolve_image(&reference.to_string()).ok();
    let full_repo = reference.name();

    // An image already in the store needs no layer work (Docker prints no layer lines then).
    let have_image = store.image_exists(&m.config.digest);
    let needed: Vec<usize> = (0..m.layers.len())
        .filter(|&i| !have_image && !store.layer_exists(&chains[i]))
        .collect();
    for (i, layer) in m.layers.iter().enumerate() {
        if !needed.contains(&i) && !have_image {
            progress.layer(&short(&layer.digest), PullStatus::AlreadyExists);
            let _ = distribution::record(
                store,
                &chains[i],
                &layer.digest,
                &layer.media_type,
                layer.size,
                Some(&full_repo),
            );
        }
    }
    for (n, &i) in needed.iter().enumerate() {
        progress.layer(&short(&m.layers[i].digest), PullStatus::PullingFsLayer);
        if n >= opts.parallel.max(1) {
            progress.layer(&short(&m.layers[i].digest), PullStatus::Waiting);
        }
    }

    let queue: Mutex<VecDeque<usize>> = Mutex::new(needed.iter().copied().collect());
    let abort = AtomicBool::new(false);
    let (tx, rx) = mpsc::channel::<(usize, Result<StagedLayer>)>();

    let outcome: Result<()> = std::thread::scope(|scope| {
        for _ in 0..opts.parallel.max(1).min(needed.len().max(1)) {
            let tx = tx.clone();
            let (queue, abort, layers, repo, progress) =
                (&queue, &abort, &m.layers, &repo, progress.clone());
            let (chains, diff_ids) = (&chains, diff_ids);
            scope.spawn(move || {
                loop {
                    if abort.load(Ordering::Relaxed) {
                        break;
                    }
                    let next = queue.lock().unwrap_or_else(|p| p.into_inner()).pop_front();
                    let Some(i) = next else { break };
                    let parent = if i == 0 { None } else { Some(&chains[i - 1]) };
                    let result = fetch_and_stage(
                        store,
                        registry,
                        repo,
                        &layers[i],
                        parent,
                        &diff_ids[i],
                        &progress,
                    );
                    if tx.send((i, result)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        let result = commit_in_order(
            store,
            &needed,
            &m.layers,
            &chains,
            &full_repo,
            &rx,
            progress.as_ref(),
        );
        if result.is_err() {
            abort.store(true, Ordering::Relaxed);
        }
        result
    });
    outcome?;

    let image_id = store.create_image(&raw_config, None)?;
    if image_id != m.config.digest {
        return Err(RegistryError::DigestMismatch {
            what: "image config".into(),
            expected: m.config.digest.clone(),
            actual: image_id,
        });
    }
    if reference.tag().is_some() {
        store.tag(&image_id, reference)?;
    }
    store.tag(&image_id, &reference.with_digest(manifest_digest.clone()))?;
    Ok(PullResult {
        manifest_digest,
        up_to_date: previous.as_ref() == Some(&image_id),
        image_id,
    })
}

/// Streams one layer blob from the registry through decompression into the store's staging.
/// The blob's digest and size are verified at its end and the diff ID by the store; a layer
/// failing either is dropped with its staging directory.
fn fetch_and_stage(
    store: &Store,
    registry: &Registry,
    repo: &str,
    layer: &Descriptor,
    parent: Option<&Digest>,
    diff_id: &Digest,
    progress: &Arc<dyn PullProgress>,
) -> Result<StagedLayer> {
    if (layer.media_type.contains("foreign") || layer.media_type.contains("nondistributable"))
        && !layer.urls.is_empty()
    {
        return Err(RegistryError::UnsupportedMediaType(format!(
            "{} (layers fetched from foreign URLs are not supported)",
            layer.media_type
        )));
    }
    let id = short(&layer.digest);
    progress.layer(&id, PullStatus::Downloading);
    let (p, pid) = (progress.clone(), id.clone());
    let report: ProgressFn = Arc::new(move |done, total| p.bytes(&pid, done, total));
    let mut stream = BlobStream::open(registry, repo, &layer.digest, Some(layer.size), report)?;
    let staged = match strata_store::compress::decompressed(&mut stream) {
        Ok((reader, _)) => store.stage_layer(parent, reader, Some(diff_id)),
        Err(e) => Err(strata_store::StoreError::Io {
            context: "decompressing layer",
            path: layer.digest.to_string().into(),
            source: e,
        }),
    };
    // A broken or forged blob explains a failed unpack better than the unpack's own error
    // (a corrupt gzip trailer, say), so the blob is read to its end and checked first.
    let staged = match staged {
        Ok(s) => s,
        Err(e) => return Err(stream.finish().err().unwrap_or_else(|| e.into())),
    };
    progress.layer(&id, PullStatus::VerifyingChecksum);
    stream.finish()?;
    progress.layer(&id, PullStatus::DownloadComplete);
    progress.layer(&id, PullStatus::Extracting);
    Ok(staged)
}

/// Makes staged layers visible bottom-up, as they become ready.
fn commit_in_order(
    store: &Store,
    needed: &[usize],
    layers: &[Descriptor],
    chains: &[Digest],
    full_repo: &str,
    rx: &mpsc::Receiver<(usize, Result<StagedLayer>)>,
    progress: &dyn PullProgress,
) -> Result<()> {
    let mut ready: HashMap<usize, StagedLayer> = HashMap::new();
    for &i in needed {
        while !ready.contains_key(&i) {
            let (j, result) = rx
                .recv()
                .map_err(|_| RegistryError::Config("layer download workers stopped".into()))?;
            ready.insert(j, result?);
        }
        let staged = ready
            .remove(&i)
            .ok_or_else(|| RegistryError::Config("staged layer lost".into()))?;
        if staged.meta().chain_id != chains[i] {
            return Err(RegistryError::BadManifest(format!(
                "layer {i} staged as {} instead of {}",
                staged.meta().chain_id,
                chains[i]
            )));
        }
        store.commit_layer(staged)?;
        let _ = distribution::record(
            store,
            &chains[i],
            &layers[i].digest,
            &layers[i].media_type,
            layers[i].size,
            Some(full_repo),
        );
        progress.layer(&short(&layers[i].digest), PullStatus::PullComplete);
    }
    Ok(())
}
