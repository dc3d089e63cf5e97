//! Image records: creating, resolving (by name, digest reference, full ID or ID prefix, as the
//! daemon's GetImage does), reading and listing images.

use std::collections::HashMap;
use std::fs;

use serde::{Deserialize, Serialize};
use strata_reference::{Digest, ImageRef, Reference, is_short_id_prefix};

use crate::atomic;
use crate::config::{ImageConfig, go_rfc3339_nano};
use crate::error::{Result, StoreError};
use crate::layer;
use crate::store::Store;

/// Local metadata Docker keeps beside the config: not part of the image's identity.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ImageRecord {
    /// The image this one was committed or built on (Docker's `Parent`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<Digest>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_tag_time: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Image {
    pub id: Digest,
    pub config: ImageConfig,
    pub raw_config: Vec<u8>,
    pub record: ImageRecord,
}

impl Image {
    pub fn chain_ids(&self) -> Vec<Digest> {
        layer::chain_ids(&self.config.rootfs.diff_ids)
    }
}

impl Store {
    fn record_path(&self, id: &Digest) -> std::path::PathBuf {
        self.images_dir().join(format!("{}.json", id.hex()))
    }

    pub fn image_exists(&self, id: &Digest) -> bool {
        self.record_path(id).exists()
    }

    /// Makes an image visible. The config blob and every layer must already be stored; the
    /// record is written last, so a killed command never leaves a half-made image behind.
    /// Returns the image ID (the config digest).
    pub fn create_image(&self, raw_config: &[u8], parent: Option<Digest>) -> Result<Digest> {
        let config: ImageConfig =
            serde_json::from_slice(raw_config).map_err(|e| StoreError::BadConfig {
                id: "(new)".into(),
                source: e,
            })?;
        for chain in layer::chain_ids(&config.rootfs.diff_ids) {
            if !self.layer_exists(&chain) {
                return Err(StoreError::InvalidArchive(format!(
                    "layer {chain} is not in the store"
                )));
            }
        }
        let id = self.put_blob(raw_config)?;
        let path = self.record_path(&id);
        if !path.exists() {
            let record = ImageRecord {
                parent,
                last_tag_time: None,
            };
            let bytes = serde_json::to_vec(&record)
                .map_err(|e| StoreError::InvalidArchive(e.to_string()))?;
            atomic::write_file(&path, &bytes)
                .map_err(StoreError::io("writing image record", &path))?;
        }
        Ok(id)
    }

    pub(crate) fn read_record(&self, id: &Digest) -> Result<ImageRecord> {
        let path = self.record_path(id);
        let bytes = fs::read(&path).map_err(|_| StoreError::ImageNotFound(id.to_string()))?;
        serde_json::from_slice(&bytes).map_err(|e| StoreError::BadConfig {
            id: id.to_string(),
            source: e,
        })
    }

    pub(crate) fn touch_tag_time(&self, id: &Digest) -> Result<()> {
        let mut record = self.read_record(id)?;
        record.last_tag_time = Some(go_rfc3339_nano(chrono::Utc::now()));
        let bytes =
            serde_json::to_vec(&record).map_err(|e| StoreError::InvalidArchive(e.to_string()))?;
        let path = self.record_path(id);
        atomic::write_file(&path, &bytes).map_err(StoreError::io("writing image record", &path))
    }

    pub(crate) fn remove_record(&self, id: &Digest) -> Result<()> {
        let path = self.record_path(id);
        fs::remove_file(&path).map_err(StoreError::io("removing image record", &path))
    }

    pub fn image(&self, id: &Digest) -> Result<Image> {
        let record = self.read_record(id)?;
        let raw_config = self.get_blob(id)?;
        let config = serde_json::from_slice(&raw_config).map_err(|e| StoreError::BadConfig {
            id: id.to_string(),
            source: e,
        })?;
        Ok(Image {
            id: id.clone(),
            config,
            raw_config,
            record,
        })
    }

    /// Every image ID in the store.
    pub fn image_ids(&self) -> Result<Vec<Digest>> {
        let dir = self.images_dir();
        let mut ids = Vec::new();
        for entry in fs::read_dir(&dir).map_err(StoreError::io("listing images", &dir))? {
            let entry = entry.map_err(StoreError::io("listing images", &dir))?;
            let name = entry.file_name();
            if let Some(hex) = name.to_str().and_then(|n| n.strip_suffix(".json")) {
                if let Ok(id) = Digest::from_sha256_hex(hex) {
                    ids.push(id);
                }
            }
        }
        Ok(ids)
    }

    /// Resolves what a user typed to an image ID. The error names the image the way the daemon
    /// does (`No such image: busybox:latest`).
    pub fn resolve_image(&self, input: &str) -> Result<Digest> {
        match ImageRef::parse(input)? {
            ImageRef::Id(id) => {
                if self.image_exists(&id) {
                    Ok(id)
                } else {
                    Err(StoreError::ImageNotFound(input.to_owned()))
                }
            }
            ImageRef::Named(named) => {
                let named = named.with_default_tag();
                if let Some(id) = self.read_repositories()?.get(&named) {
                    return Ok(id.clone());
                }
                if is_short_id_prefix(input) {
                    if let Some(id) = self.find_by_prefix(input)? {
                        return Ok(id);
                    }
                }
                Err(StoreError::ImageNotFound(named.familiar_string()))
            }
        }
    }

    /// True when `input` names the image by ID (full, `sha256:`, or prefix) rather than by name.
    pub fn is_id_reference(&self, input: &str, id: &Digest) -> bool {
        let hex = input.strip_prefix("sha256:").unwrap_or(input);
        is_short_id_prefix(hex) && id.hex().starts_with(hex) && {
            match ImageRef::parse(input) {
                Ok(ImageRef::Named(n)) => self
                    .read_repositories()
                    .ok()
                    .and_then(|r| r.get(&n.with_default_tag()).cloned())
                    .is_none(),
                _ => true,
            }
        }
    }

    fn find_by_prefix(&self, prefix: &str) -> Result<Option<Digest>> {
        let matches: Vec<Digest> = self
            .image_ids()?
            .into_iter()
            .filter(|id| id.hex().starts_with(prefix))
            .collect();
        match matches.len() {
            0 => Ok(None),
            1 => Ok(matches.into_iter().next()),
            _ => Err(StoreError::Conflict(format!(
                "multiple IDs found with provided prefix: {prefix}"
            ))),
        }
    }

    /// Docker's image size: the sum of the sizes of its layers.
    pub fn image_size(&self, image: &Image) -> Result<u64> {
        let mut total = 0;
        for chain in image.chain_ids() {
            total += self.layer_meta(&chain)?.size;
        }
        Ok(total)
    }

    /// The unpacked layer directories of an image, bottom layer first (overlay lowerdirs).
    pub fn layer_dirs(&self, id: &Digest) -> Result<Vec<std::path::PathBuf>> {
        let image = self.image(id)?;
        Ok(image
            .chain_ids()
            .iter()
            .map(|c| self.layer_diff_dir(c))
            .collect())
    }

    /// IDs of the images whose parent is `id`.
    pub fn children(&self, id: &Digest) -> Result<Vec<Digest>> {
        let mut out = Vec::new();
        for other in self.image_ids()? {
            if self.read_record(&other)?.parent.as_ref() == Some(id) {
                out.push(other);
            }
        }
        Ok(out)
    }

    /// Every image with its references, for listing. Reads each config once.
    pub fn list_images(&self) -> Result<Vec<(Image, Vec<Reference>)>> {
        let repos = self.read_repositories()?;
        let mut refs: HashMap<Digest, Vec<Reference>> = HashMap::new();
        for id in self.image_ids()? {
            refs.insert(id.clone(), repos.references_to(&id));
        }
        let mut out = Vec::with_capacity(refs.len());
        for (id, r) in refs {
            match self.image(&id) {
                Ok(img) => out.push((img, r)),
                // An image removed by a concurrent command between listing and reading.
                Err(StoreError::ImageNotFound(_)) => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }
}
