//! Pull into the store: resolve the manifest (an index to the wanted platform), fetch and
//! verify the config, download the missing layers in parallel to staging files (each verified
//! against its digest while it streams), then decompress and register them bottom-up as they
//! arrive, create the image, tag it and record the manifest digest as a RepoDigest.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};

use strata_reference::{Digest, Reference};
use strata_store::Store;
use strata_store::config::ImageConfig;

use crate::api::ProgressFn;
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
    if let (Some(p), false) = (&opts.platform, from_index) {
        if !config.os.is_empty() && (config.os != p.os || config.architecture != p.architecture) {
            return Err(RegistryError::NoMatchingPlatform(p.to_string()));
        }
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

    let staging = tempfile::Builder::new()
        .prefix(&format!("{}-", std::process::id()))
        .tempdir_in(store.root().join("tmp"))
        .map_err(RegistryError::io(
            "creating a staging directory",
            store.root().join("tmp"),
        ))?;
    let queue: Mutex<VecDeque<usize>> = Mutex::new(needed.iter().copied().collect());
    let abort = AtomicBool::new(false);
    let (tx, rx) = mpsc::channel::<(usize, Result<std::path::PathBuf>)>();

    let outcome: Result<()> = std::thread::scope(|scope| {
        for _ in 0..opts.parallel.max(1).min(needed.len().max(1)) {
            let tx = tx.clone();
            let (queue, abort, layers, repo, staging, progress) = (
                &queue,
                &abort,
                &m.layers,
                &repo,
                staging.path(),
                progress.clone(),
            );
            scope.spawn(move || {
                loop {
                    if abort.load(Ordering::Relaxed) {
                        break;
                    }
                    let next = queue.lock().unwrap_or_else(|p| p.into_inner()).pop_front();
                    let Some(i) = next else { break };
                    let result = download_one(
                        registry,
                        repo,
                        &layers[i],
                        staging.join(format!("layer-{i}")),
                        &progress,
                    );
                    if tx.send((i, result)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        let result = register_in_order(
            store,
            &needed,
            &m.layers,
            diff_ids,
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

fn download_one(
    registry: &Registry,
    repo: &str,
    layer: &Descriptor,
    dest: std::path::PathBuf,
    progress: &Arc<dyn PullProgress>,
) -> Result<std::path::PathBuf> {
    if layer.media_type.contains("foreign") || layer.media_type.contains("nondistributable") {
        if !layer.urls.is_empty() {
            return Err(RegistryError::UnsupportedMediaType(format!(
                "{} (layers fetched from foreign URLs are not supported)",
                layer.media_type
            )));
        }
    }
    let id = short(&layer.digest);
    progress.layer(&id, PullStatus::Downloading);
    let (p, pid) = (progress.clone(), id.clone());
    let report: ProgressFn = Arc::new(move |done, total| p.bytes(&pid, done, total));
    let result = registry.download_blob(repo, &layer.digest, Some(layer.size), &dest, &report);
    result?;
    progress.layer(&id, PullStatus::VerifyingChecksum);
    progress.layer(&id, PullStatus::DownloadComplete);
    Ok(dest)
}

#[allow(clippy::too_many_arguments)]
fn register_in_order(
    store: &Store,
    needed: &[usize],
    layers: &[Descriptor],
    diff_ids: &[Digest],
    chains: &[Digest],
    full_repo: &str,
    rx: &mpsc::Receiver<(usize, Result<std::path::PathBuf>)>,
    progress: &dyn PullProgress,
) -> Result<()> {
    let mut ready: HashMap<usize, std::path::PathBuf> = HashMap::new();
    for &i in needed {
        while !ready.contains_key(&i) {
            let (j, result) = rx
                .recv()
                .map_err(|_| RegistryError::Config("layer download workers stopped".into()))?;
            ready.insert(j, result?);
        }
        let path = ready
            .remove(&i)
            .ok_or_else(|| RegistryError::Config("layer download lost".into()))?;
        let id = short(&layers[i].digest);
        progress.layer(&id, PullStatus::Extracting);
        let file = std::fs::File::open(&path)
            .map_err(RegistryError::io("opening downloaded layer", &path))?;
        let (reader, _) = strata_store::compress::decompressed(file)
            .map_err(RegistryError::io("decompressing layer", &path))?;
        let parent = if i == 0 { None } else { Some(&chains[i - 1]) };
        let meta = store.register_layer(parent, reader, Some(&diff_ids[i]))?;
        let _ = std::fs::remove_file(&path);
        if meta.chain_id != chains[i] {
            return Err(RegistryError::BadManifest(format!(
                "layer {i} registered as {} instead of {}",
                meta.chain_id, chains[i]
            )));
        }
        let _ = distribution::record(
            store,
            &chains[i],
            &layers[i].digest,
            &layers[i].media_type,
            layers[i].size,
            Some(full_repo),
        );
        progress.layer(&id, PullStatus::PullComplete);
    }
    Ok(())
}
