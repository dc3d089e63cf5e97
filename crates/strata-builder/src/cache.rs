//! The step cache, kept beside the store in `<root>/builder/`:
//!
//! - `cache/<key>`: the image ID a step produced, where `<key>` is the sha256 of the parent
//!   image ID, the step's recorded config (its history command after expansion, with the
//!   build arguments a RUN sees, exactly what the classic builder compares) and, for
//!   COPY/ADD, the digest of the sources' content and image-visible metadata (path, mode,
//!   owner after `--chown`, symlink target; never context mtimes).
//! - `steps/<sha256 of stage and instruction text>.json`: the inputs of the last build of that
//!   instruction ([`StepInputs`]), so a miss can say which input changed.
//!
//! Entries whose image was deleted are ignored; writing is atomic (temp file + rename).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use strata_reference::Digest;
use strata_store::Store;

/// What a step's result depended on, for explaining misses.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct StepInputs {
    pub parent: String,
    pub command: String,
    #[serde(default)]
    pub args: BTreeMap<String, String>,
    /// Image path → content digest, for COPY/ADD.
    #[serde(default)]
    pub files: BTreeMap<String, String>,
}

impl StepInputs {
    /// Why `self` (the current inputs) differs from `previous`, in one line.
    pub fn explain_change(&self, previous: Option<&StepInputs>) -> String {
        let Some(prev) = previous else {
            return "no earlier build of this instruction".into();
        };
        let mut reasons = Vec::new();
        if prev.parent != self.parent {
            reasons.push(format!(
                "parent image changed ({} -> {})",
                short(&prev.parent),
                short(&self.parent)
            ));
        }
        for (k, v) in &self.args {
            match prev.args.get(k) {
                Some(old) if old == v => {}
                Some(_) => reasons.push(format!("build arg {k} changed")),
                None => reasons.push(format!("build arg {k} set")),
            }
        }
        for k in prev.args.keys().filter(|k| !self.args.contains_key(*k)) {
            reasons.push(format!("build arg {k} unset"));
        }
        let mut file_reasons = Vec::new();
        for (path, digest) in &self.files {
            match prev.files.get(path) {
                Some(old) if old == digest => {}
                Some(_) => file_reasons.push(format!("file {path} changed")),
                None => file_reasons.push(format!("file {path} added")),
            }
        }
        for path in prev.files.keys().filter(|k| !self.files.contains_key(*k)) {
            file_reasons.push(format!("file {path} removed"));
        }
        let more = file_reasons.len().saturating_sub(5);
        reasons.extend(file_reasons.into_iter().take(5));
        if more > 0 {
            reasons.push(format!("and {more} more files"));
        }
        if reasons.is_empty() && prev.command != self.command {
            reasons.push(format!("instruction changed (was: {})", prev.command));
        }
        if reasons.is_empty() {
            reasons.push("cached image no longer exists".into());
        }
        reasons.join(", ")
    }
}

fn short(id: &str) -> &str {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    if hex.is_empty() {
        "scratch"
    } else {
        &hex[..hex.len().min(12)]
    }
}

#[derive(Clone)]
pub struct Cache {
    dir: PathBuf,
    store: Store,
}

pub fn sha256_hex(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p);
    }
    hex::encode(h.finalize())
}

impl Cache {
    pub fn open(store: &Store) -> std::io::Result<Cache> {
        let dir = store.root().join("builder");
        fs::create_dir_all(dir.join("cache"))?;
        fs::create_dir_all(dir.join("steps"))?;
        Ok(Cache {
            dir,
            store: store.clone(),
        })
    }

    /// The key of a step: parent, recorded config, and the sources' digest.
    pub fn key(parent: &str, config_json: &[u8], sources: &str) -> String {
        sha256_hex(&[parent.as_bytes(), config_json, sources.as_bytes()])
    }

    /// The cached image for `key`, when it still exists.
    pub fn get(&self, key: &str) -> Option<Digest> {
        let text = fs::read_to_string(self.dir.join("cache").join(key)).ok()?;
        let id = Digest::parse(text.trim()).ok()?;
        self.store.image_exists(&id).then_some(id)
    }

    pub fn put(&self, key: &str, id: &Digest) {
        if let Err(e) = write_atomic(&self.dir.join("cache").join(key), id.to_string().as_bytes()) {
            tracing::warn!("cannot record cache entry: {e}");
        }
    }

    fn inputs_path(&self, step: &str) -> PathBuf {
        self.dir
            .join("steps")
            .join(format!("{}.json", sha256_hex(&[step.as_bytes()])))
    }

    pub fn previous_inputs(&self, step: &str) -> Option<StepInputs> {
        let bytes = fs::read(self.inputs_path(step)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    pub fn record_inputs(&self, step: &str, inputs: &StepInputs) {
        let Ok(bytes) = serde_json::to_vec(inputs) else {
            return;
        };
        if let Err(e) = write_atomic(&self.inputs_path(step), &bytes) {
            tracing::warn!("cannot record step inputs: {e}");
        }
    }
}

fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    fs::write(&tmp, bytes)?;
    fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explains_what_changed() {
        let mut old = StepInputs {
            parent: "sha256:aaaa".into(),
            command: "COPY".into(),
            ..Default::default()
        };
        old.files.insert("/a".into(), "1".into());
        old.args.insert("V".into(), "1".into());
        let mut new = old.clone();
        new.files.insert("/a".into(), "2".into());
        assert_eq!(new.explain_change(Some(&old)), "file /a changed");
        new.args.insert("V".into(), "2".into());
        assert_eq!(
            new.explain_change(Some(&old)),
            "build arg V changed, file /a changed"
        );
        new = old.clone();
        new.parent = "sha256:bbbb".into();
        assert!(
            new.explain_change(Some(&old))
                .starts_with("parent image changed (aaaa -> bbbb)")
        );
        assert_eq!(
            new.explain_change(None),
            "no earlier build of this instruction"
        );
    }

    #[test]
    fn entries_for_deleted_images_miss() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let cache = Cache::open(&store).unwrap();
        let key = Cache::key("p", b"{}", "");
        let id = Digest::sha256_of(b"nothing");
        cache.put(&key, &id);
        assert_eq!(cache.get(&key), None);
    }
}
