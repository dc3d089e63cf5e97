//! `load`: docker-archive (legacy and Docker 25+) and OCI layout archives, compressed or not.
//! The archive is unpacked into staging with the same escape checks as a layer; every blob is
//! verified against its digest and every layer against the config's diff IDs before the image
//! becomes visible. On any error the store is left as it was.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::Read;
use std::path::{Path, PathBuf};

use strata_reference::{Digest, Digester, Reference};

use super::types::*;
use crate::compress::decompressed;
use crate::config::{ImageConfig, host_architecture};
use crate::error::{Result, StoreError};
use crate::layer::unpack::{clean_entry_path, unpack_layer};
use crate::store::Store;

/// One image that `load` made visible, with the tags it applied.
#[derive(Debug, Clone)]
pub struct LoadedImage {
    pub id: Digest,
    pub tags: Vec<Reference>,
}

struct Candidate {
    config_path: PathBuf,
    layer_paths: Vec<PathBuf>,
    tags: Vec<Reference>,
}

impl Store {
    pub fn load(&self, reader: impl Read) -> Result<Vec<LoadedImage>> {
        let _lock = self.lock()?;
        let staging = self.staging()?;
        let root = staging.path().join("archive");
        fs::create_dir(&root).map_err(StoreError::io("creating staging", &root))?;
        let (stream, _) =
            decompressed(reader).map_err(StoreError::io("reading the archive", "<input>"))?;
        unpack_layer(stream, &root).map_err(|e| StoreError::InvalidArchive(e.to_string()))?;

        let candidates = if root.join("manifest.json").is_file() {
            docker_candidates(&root)?
        } else if root.join("index.json").is_file() {
            oci_candidates(&root)?
        } else {
            return Err(StoreError::InvalidArchive(
                "no manifest.json or index.json found: not a docker-archive or OCI layout".into(),
            ));
        };
        if candidates.is_empty() {
            return Err(StoreError::InvalidArchive(
                "the archive holds no images".into(),
            ));
        }
        let existing: HashSet<Digest> = self.all_chain_ids();
        let result = self.load_candidates(&root, candidates);
        if result.is_err() {
            self.remove_unreferenced_layers(&existing);
        }
        result
    }

    fn load_candidates(&self, root: &Path, candidates: Vec<Candidate>) -> Result<Vec<LoadedImage>> {
        let mut loaded = Vec::new();
        for c in candidates {
            let raw_config = read_verified(root, &c.config_path)?;
            let config: ImageConfig =
                serde_json::from_slice(&raw_config).map_err(|e| StoreError::BadConfig {
                    id: c.config_path.display().to_string(),
                    source: e,
                })?;
            let diff_ids = &config.rootfs.diff_ids;
            if diff_ids.len() != c.layer_paths.len() {
                return Err(StoreError::InvalidArchive(format!(
                    "config lists {} layers but the manifest has {}",
                    diff_ids.len(),
                    c.layer_paths.len()
                )));
            }
            let mut parent: Option<Digest> = None;
            for (index, (path, diff_id)) in c.layer_paths.iter().zip(diff_ids).enumerate() {
                let chain = crate::layer::chain_id(parent.as_ref(), diff_id);
                if !self.layer_exists(&chain) {
                    verify_blob_name(root, path)?;
                    let file = File::open(root.join(path))
                        .map_err(StoreError::io("opening layer", path))?;
                    let (stream, _) =
                        decompressed(file).map_err(StoreError::io("reading layer", path))?;
                    self.register_layer(parent.as_ref(), stream, Some(diff_id))
                        .map_err(|e| match e {
                            StoreError::DiffIdMismatch {
                                expected, actual, ..
                            } => StoreError::DiffIdMismatch {
                                index,
                                expected,
                                actual,
                            },
                            other => other,
                        })?;
                }
                parent = Some(chain);
            }
            let id = self.create_image(&raw_config, None)?;
            let mut repos = self.read_repositories()?;
            for t in &c.tags {
                repos.insert(t, &id);
            }
            self.write_repositories(&repos)?;
            if !c.tags.is_empty() {
                self.touch_tag_time(&id)?;
            }
            loaded.push(LoadedImage { id, tags: c.tags });
        }
        Ok(loaded)
    }

    fn all_chain_ids(&self) -> HashSet<Digest> {
        fs::read_dir(self.layers_dir())
            .map(|rd| {
                rd.flatten()
                    .filter_map(|e| {
                        e.file_name()
                            .to_str()
                            .and_then(|h| Digest::from_sha256_hex(h).ok())
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Drops layers registered by a failed load that no image references.
    fn remove_unreferenced_layers(&self, existed_before: &HashSet<Digest>) {
        let mut used = HashSet::new();
        for id in self.image_ids().unwrap_or_default() {
            if let Ok(img) = self.image(&id) {
                used.extend(img.chain_ids());
            }
        }
        for chain in self.all_chain_ids() {
            if !existed_before.contains(&chain) && !used.contains(&chain) {
                let _ = fs::remove_dir_all(self.layer_path(&chain));
            }
        }
    }
}

/// Joins an archive-relative path, refusing paths that leave the archive.
fn inside(root: &Path, name: &str) -> Result<PathBuf> {
    let rel = clean_entry_path(Path::new(name))
        .ok_or_else(|| StoreError::InvalidArchive(format!("path {name:?} leaves the archive")))?;
    let full = root.join(&rel);
    let canon = full
        .canonicalize()
        .map_err(|_| StoreError::InvalidArchive(format!("{name} is missing from the archive")))?;
    let canon_root = root
        .canonicalize()
        .map_err(StoreError::io("resolving staging", root))?;
    if !canon.starts_with(&canon_root) {
        return Err(StoreError::InvalidArchive(format!(
            "path {name:?} leaves the archive"
        )));
    }
    Ok(rel)
}

fn read_json<T: serde::de::DeserializeOwned>(root: &Path, rel: &Path) -> Result<T> {
    let bytes = read_verified(root, rel)?;
    serde_json::from_slice(&bytes)
        .map_err(|e| StoreError::InvalidArchive(format!("{}: {e}", rel.display())))
}

/// Reads a file; when it is stored under `blobs/<alg>/<hex>` its content must match that digest.
fn read_verified(root: &Path, rel: &Path) -> Result<Vec<u8>> {
    let bytes = fs::read(root.join(rel)).map_err(|_| {
        StoreError::InvalidArchive(format!("{} is missing from the archive", rel.display()))
    })?;
    if let Some(expected) = digest_of_blob_path(rel) {
        let mut d = Digester::new(expected.algorithm());
        d.update(&bytes);
        let actual = d.finish();
        if actual != expected {
            return Err(StoreError::DigestMismatch {
                path: rel.display().to_string(),
                expected,
                actual,
            });
        }
    }
    Ok(bytes)
}

fn verify_blob_name(root: &Path, rel: &Path) -> Result<()> {
    let Some(expected) = digest_of_blob_path(rel) else {
        return Ok(());
    };
    let mut file = File::open(root.join(rel)).map_err(StoreError::io("opening blob", rel))?;
    let mut d = Digester::new(expected.algorithm());
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file
            .read(&mut buf)
            .map_err(StoreError::io("reading blob", rel))?;
        if n == 0 {
            break;
        }
        d.update(&buf[..n]);
    }
    let actual = d.finish();
    if actual != expected {
        return Err(StoreError::DigestMismatch {
            path: rel.display().to_string(),
            expected,
            actual,
        });
    }
    Ok(())
}

fn digest_of_blob_path(rel: &Path) -> Option<Digest> {
    let s = rel.to_str()?;
    let rest = s.strip_prefix("blobs/")?;
    let (alg, hex) = rest.split_once('/')?;
    Digest::parse(&format!("{alg}:{hex}")).ok()
}

fn docker_candidates(root: &Path) -> Result<Vec<Candidate>> {
    let entries: Vec<ArchiveManifestEntry> = read_json(root, Path::new("manifest.json"))?;
    entries
        .into_iter()
        .map(|e| {
            let tags = e
                .repo_tags
                .unwrap_or_default()
                .iter()
                .map(|t| Reference::parse_normalized(t).map(Reference::with_default_tag))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Candidate {
                config_path: inside(root, &e.config)?,
                layer_paths: e
                    .layers
                    .iter()
                    .map(|l| inside(root, l))
                    .collect::<Result<_>>()?,
                tags,
            })
        })
        .collect()
}

fn oci_candidates(root: &Path) -> Result<Vec<Candidate>> {
    let index: Index = read_json(root, Path::new("index.json"))?;
    let mut out: Vec<Candidate> = Vec::new();
    for desc in index.manifests {
        let tag = desc
            .annotations
            .get(ANNOTATION_CONTAINERD_NAME)
            .or_else(|| {
                desc.annotations
                    .get(ANNOTATION_REF_NAME)
                    .filter(|n| n.contains(':') || n.contains('/'))
            })
            .and_then(|n| Reference::parse_normalized(n).ok())
            .map(Reference::with_default_tag);
        let manifest_desc = resolve_platform(root, desc)?;
        let manifest: Manifest = read_json(root, &blob_rel(&manifest_desc.digest))?;
        let config_path = blob_rel(&manifest.config.digest);
        if let Some(existing) = out.iter_mut().find(|c| c.config_path == config_path) {
            existing.tags.extend(tag);
            continue;
        }
        out.push(Candidate {
            config_path,
            layer_paths: manifest
                .layers
                .iter()
                .map(|l| blob_rel(&l.digest))
                .collect(),
            tags: tag.into_iter().collect(),
        });
    }
    Ok(out)
}

/// An index entry may itself be an index (multi-platform): pick this machine's platform.
fn resolve_platform(root: &Path, desc: Descriptor) -> Result<Descriptor> {
    if desc.media_type != OCI_INDEX && desc.media_type != DOCKER_MANIFEST_LIST {
        return Ok(desc);
    }
    let nested: Index = read_json(root, &blob_rel(&desc.digest))?;
    let arch = host_architecture();
    let pick = nested.manifests.into_iter().find(|m| {
        m.platform
            .as_ref()
            .is_none_or(|p| p.architecture == arch && p.os == "linux")
    });
    match pick {
        Some(m) => resolve_platform(root, m),
        None => Err(StoreError::InvalidArchive(format!(
            "no image for linux/{arch} in the archive's index"
        ))),
    }
}

fn blob_rel(d: &Digest) -> PathBuf {
    PathBuf::from(format!("blobs/{}/{}", d.algorithm().name(), d.hex()))
}
