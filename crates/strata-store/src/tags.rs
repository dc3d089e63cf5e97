//! Tags and digest references per repository, in `repositories.json`. Keys are fully
//! qualified names (`docker.io/library/busybox`) so no two spellings of one image collide.

use std::collections::BTreeMap;
use std::fs;

use serde::{Deserialize, Serialize};
use strata_reference::{Digest, Reference};

use crate::atomic;
use crate::error::{Result, StoreError};
use crate::store::Store;

#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Repositories {
    #[serde(rename = "Repositories", default)]
    pub repos: BTreeMap<String, BTreeMap<String, Digest>>,
}

impl Repositories {
    pub fn get(&self, r: &Reference) -> Option<&Digest> {
        self.repos
            .get(&r.name())
            .and_then(|m| m.get(&r.to_string()))
    }

    /// Every reference that points at `id`, sorted as Docker sorts them (familiar string).
    pub fn references_to(&self, id: &Digest) -> Vec<Reference> {
        let mut out: Vec<Reference> = self
            .repos
            .values()
            .flat_map(|m| m.iter())
            .filter(|(_, v)| *v == id)
            .filter_map(|(k, _)| Reference::parse_normalized(k).ok())
            .collect();
        out.sort_by_key(|r| r.familiar_string());
        out
    }

    pub fn insert(&mut self, r: &Reference, id: &Digest) {
        self.repos
            .entry(r.name())
            .or_default()
            .insert(r.to_string(), id.clone());
    }

    pub fn remove(&mut self, r: &Reference) -> Option<Digest> {
        let name = r.name();
        let map = self.repos.get_mut(&name)?;
        let old = map.remove(&r.to_string());
        if map.is_empty() {
            self.repos.remove(&name);
        }
        old
    }
}

impl Store {
    pub(crate) fn read_repositories(&self) -> Result<Repositories> {
        let path = self.repositories_file();
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                StoreError::InvalidArchive(format!("corrupt {}: {e}", path.display()))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Repositories::default()),
            Err(e) => Err(StoreError::Io {
                context: "reading tags",
                path,
                source: e,
            }),
        }
    }

    /// Call only while holding the store lock.
    pub(crate) fn write_repositories(&self, repos: &Repositories) -> Result<()> {
        let path = self.repositories_file();
        let bytes = serde_json::to_vec_pretty(repos)
            .map_err(|e| StoreError::InvalidArchive(e.to_string()))?;
        atomic::write_file(&path, &bytes).map_err(StoreError::io("writing tags", path))
    }

    /// Points `reference` (a tag, or a digest reference) at image `id`, replacing what it named.
    pub fn tag(&self, id: &Digest, reference: &Reference) -> Result<()> {
        let _lock = self.lock()?;
        if !self.image_exists(id) {
            return Err(StoreError::ImageNotFound(id.to_string()));
        }
        let mut repos = self.read_repositories()?;
        repos.insert(reference, id);
        self.write_repositories(&repos)?;
        self.touch_tag_time(id)
    }

    /// Every reference (tags and digests) to `id`.
    pub fn references(&self, id: &Digest) -> Result<Vec<Reference>> {
        Ok(self.read_repositories()?.references_to(id))
    }
}
