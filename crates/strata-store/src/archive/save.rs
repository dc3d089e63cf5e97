//! Writing images as one archive. Layers are copied from the exact tars kept in the store, so
//! every diff ID, and so the image ID, survives the round trip.

use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::io::Write;

use strata_reference::{Digest, ImageRef, Reference};

use super::types::*;
use crate::error::{Result, StoreError};
use crate::store::Store;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveFormat {
    /// Docker's archive: `manifest.json` plus an OCI layout (what Docker 25+ writes).
    DockerArchive,
    /// A plain OCI image layout: `oci-layout`, `index.json`, `blobs/`.
    Oci,
}

struct Selected {
    id: Digest,
    tags: Vec<Reference>,
}

impl Store {
    /// Resolves `save`'s arguments: a repository name without a tag selects every tag of it.
    fn select_for_save(&self, inputs: &[String]) -> Result<Vec<Selected>> {
        let repos = self.read_repositories()?;
        let mut out: Vec<Selected> = Vec::new();
        let mut add = |id: Digest, tag: Option<Reference>| {
            let pos = out.iter().position(|s| s.id == id);
            let sel = match pos {
                Some(p) => &mut out[p],
                None => {
                    out.push(Selected {
                        id,
                        tags: Vec::new(),
                    });
                    let last = out.len() - 1;
                    &mut out[last]
                }
            };
            if let Some(t) = tag {
                if !sel.tags.contains(&t) {
                    sel.tags.push(t);
                }
            }
        };
        for input in inputs {
            if let Ok(ImageRef::Named(n)) = ImageRef::parse(input) {
                if n.tag().is_none() && n.digest().is_none() && !input.contains(':') {
                    let tagged: Vec<(Reference, Digest)> = repos
                        .repos
                        .get(&n.name())
                        .map(|m| {
                            m.iter()
                                .filter_map(|(k, v)| {
                                    Reference::parse_normalized(k)
                                        .ok()
                                        .filter(|r| r.tag().is_some())
                                        .map(|r| (r, v.clone()))
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    if !tagged.is_empty() {
                        for (r, id) in tagged {
                            add(id, Some(r));
                        }
                        continue;
                    }
                }
                let id = self.resolve_image(input)?;
                let tag = Some(n.with_default_tag())
                    .filter(|r| r.tag().is_some() && repos.get(r) == Some(&id));
                add(id, tag);
            } else {
                let id = self.resolve_image(input)?;
                add(id, None);
            }
        }
        Ok(out)
    }

    /// `save`: writes the selected images to `out` as one uncompressed tar.
    pub fn save(&self, inputs: &[String], format: SaveFormat, out: impl Write) -> Result<()> {
        let selected = self.select_for_save(inputs)?;
        let mut tar = tar::Builder::new(out);
        let mut written: HashSet<Digest> = HashSet::new();
        let mut manifest_json = Vec::new();
        let mut index = Index {
            schema_version: 2,
            media_type: Some(OCI_INDEX.into()),
            manifests: Vec::new(),
        };
        let io_err = |e: std::io::Error| StoreError::Io {
            context: "writing the archive",
            path: "<output>".into(),
            source: e,
        };

        add_dir(&mut tar, "blobs/").map_err(io_err)?;
        add_dir(&mut tar, "blobs/sha256/").map_err(io_err)?;
        for sel in &selected {
            let image = self.image(&sel.id)?;
            if written.insert(sel.id.clone()) {
                add_bytes(&mut tar, &blob_name(&sel.id), &image.raw_config).map_err(io_err)?;
            }
            let mut layers = Vec::new();
            let mut layer_paths = Vec::new();
            for (chain, diff_id) in image.chain_ids().iter().zip(&image.config.rootfs.diff_ids) {
                let meta = self.layer_meta(chain)?;
                if written.insert(diff_id.clone()) {
                    let path = self.layer_tar_path(chain);
                    let mut file =
                        File::open(&path).map_err(StoreError::io("reading layer tar", &path))?;
                    let mut header = file_header(meta.tar_size);
                    tar.append_data(&mut header, blob_name(diff_id), &mut file)
                        .map_err(io_err)?;
                }
                layers.push(Descriptor {
                    media_type: OCI_LAYER_TAR.into(),
                    digest: diff_id.clone(),
                    size: meta.tar_size,
                    annotations: BTreeMap::new(),
                    platform: None,
                });
                layer_paths.push(blob_name(diff_id));
            }
            let manifest = Manifest {
                schema_version: 2,
                media_type: Some(OCI_MANIFEST.into()),
                config: Descriptor {
                    media_type: OCI_CONFIG.into(),
                    digest: sel.id.clone(),
                    size: image.raw_config.len() as u64,
                    annotations: BTreeMap::new(),
                    platform: None,
                },
                layers,
            };
            let manifest_bytes = serde_json::to_vec(&manifest)
                .map_err(|e| StoreError::InvalidArchive(e.to_string()))?;
            let manifest_digest = Digest::sha256_of(&manifest_bytes);
            if written.insert(manifest_digest.clone()) {
                add_bytes(&mut tar, &blob_name(&manifest_digest), &manifest_bytes)
                    .map_err(io_err)?;
            }
            let descriptor = |annotations| Descriptor {
                media_type: OCI_MANIFEST.into(),
                digest: manifest_digest.clone(),
                size: manifest_bytes.len() as u64,
                annotations,
                platform: None,
            };
            if sel.tags.is_empty() {
                index.manifests.push(descriptor(BTreeMap::new()));
            }
            for t in &sel.tags {
                let mut ann = BTreeMap::new();
                ann.insert(ANNOTATION_CONTAINERD_NAME.to_owned(), t.to_string());
                ann.insert(
                    ANNOTATION_REF_NAME.to_owned(),
                    t.tag().unwrap_or("latest").to_owned(),
                );
                index.manifests.push(descriptor(ann));
            }
            manifest_json.push(ArchiveManifestEntry {
                config: blob_name(&sel.id),
                repo_tags: Some(sel.tags.iter().map(Reference::familiar_string).collect()),
                layers: layer_paths,
            });
        }
        add_bytes(&mut tar, "oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#).map_err(io_err)?;
        add_bytes(&mut tar, "index.json", &to_json(&index)?).map_err(io_err)?;
        if format == SaveFormat::DockerArchive {
            add_bytes(&mut tar, "manifest.json", &to_json(&manifest_json)?).map_err(io_err)?;
        }
        tar.into_inner().map_err(io_err)?.flush().map_err(io_err)?;
        Ok(())
    }
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(v).map_err(|e| StoreError::InvalidArchive(e.to_string()))
}

fn blob_name(d: &Digest) -> String {
    format!("blobs/{}/{}", d.algorithm().name(), d.hex())
}

fn file_header(size: u64) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_size(size);
    h.set_mode(0o644);
    h.set_mtime(0);
    h.set_entry_type(tar::EntryType::Regular);
    h
}

fn add_bytes<W: Write>(tar: &mut tar::Builder<W>, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    let mut h = file_header(bytes.len() as u64);
    tar.append_data(&mut h, name, bytes)
}

fn add_dir<W: Write>(tar: &mut tar::Builder<W>, name: &str) -> std::io::Result<()> {
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::Directory);
    h.set_mode(0o755);
    h.set_size(0);
    h.set_mtime(0);
    tar.append_data(&mut h, name, std::io::empty())
}
