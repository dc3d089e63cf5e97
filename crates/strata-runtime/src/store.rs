//! Containers on disk: `<root>/containers/<id>/container.json`, written atomically under a
//! per-container lock, and looked up by full ID, unique ID prefix or name.

use std::fs::{self, File};
use std::io::Write;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use crate::error::{IoContext, Result, RuntimeError};
use crate::record::ContainerRecord;

pub const RECORD_FILE: &str = "container.json";

/// The containers directory of one strata root.
#[derive(Debug, Clone)]
pub struct ContainerStore {
    root: PathBuf,
    dir: PathBuf,
}

/// An exclusive flock held until dropped.
pub struct Lock {
    _file: File,
}

fn lock_file(path: &Path) -> Result<Lock> {
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .at(path)?;
    rustix::fs::flock(file.as_fd(), rustix::fs::FlockOperation::LockExclusive)
        .map_err(|e| RuntimeError::io(path, e.into()))?;
    Ok(Lock { _file: file })
}

impl ContainerStore {
    pub fn open(root: &Path) -> Result<ContainerStore> {
        let dir = root.join("containers");
        fs::create_dir_all(&dir).at(&dir)?;
        Ok(ContainerStore {
            root: root.to_path_buf(),
            dir,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn container_dir(&self, id: &str) -> PathBuf {
        self.dir.join(id)
    }

    /// Serializes name allocation and creation across concurrent `strata` processes.
    pub fn lock_all(&self) -> Result<Lock> {
        lock_file(&self.dir.join(".lock"))
    }

    /// Serializes read-modify-write of one container's record.
    pub fn lock(&self, id: &str) -> Result<Lock> {
        lock_file(&self.container_dir(id).join(".lock"))
    }

    pub fn ids(&self) -> Result<Vec<String>> {
        let mut ids = Vec::new();
        for entry in fs::read_dir(&self.dir).at(&self.dir)? {
            let entry = entry.at(&self.dir)?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.len() == 64 && entry.path().join(RECORD_FILE).exists() {
                ids.push(name);
            }
        }
        Ok(ids)
    }

    pub fn load(&self, id: &str) -> Result<ContainerRecord> {
        let path = self.container_dir(id).join(RECORD_FILE);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(RuntimeError::NoSuchContainer(id.to_string()));
            }
            Err(e) => return Err(RuntimeError::io(path, e)),
        };
        serde_json::from_slice(&bytes).map_err(|source| RuntimeError::CorruptState { path, source })
    }

    /// Writes the record atomically (temp file, fsync, rename).
    pub fn save(&self, record: &ContainerRecord) -> Result<()> {
        let dir = self.container_dir(&record.id);
        let path = dir.join(RECORD_FILE);
        let tmp = dir.join(format!(".{RECORD_FILE}.{}", std::process::id()));
        let bytes = serde_json::to_vec_pretty(record)
            .map_err(|e| RuntimeError::Other(format!("encode container state: {e}")))?;
        let mut file = File::create(&tmp).at(&tmp)?;
        file.write_all(&bytes).at(&tmp)?;
        file.sync_all().at(&tmp)?;
        fs::rename(&tmp, &path).at(&path)
    }

    /// Loads, changes and saves a record under its lock.
    pub fn update<T>(
        &self,
        id: &str,
        change: impl FnOnce(&mut ContainerRecord) -> Result<T>,
    ) -> Result<(ContainerRecord, T)> {
        let _lock = self.lock(id)?;
        let mut record = self.load(id)?;
        let out = change(&mut record)?;
        self.save(&record)?;
        Ok((record, out))
    }

    pub fn all(&self) -> Result<Vec<ContainerRecord>> {
        let mut records = Vec::new();
        for id in self.ids()? {
            match self.load(&id) {
                Ok(r) => records.push(r),
                // Removed between listing and reading.
                Err(RuntimeError::NoSuchContainer(_)) => {}
                Err(e) => return Err(e),
            }
        }
        records.sort_by(|a, b| b.created.cmp(&a.created));
        Ok(records)
    }

    /// Docker's lookup order: full ID, then exact name, then unique ID prefix.
    pub fn resolve(&self, key: &str) -> Result<String> {
        let key = key.strip_prefix('/').unwrap_or(key);
        let ids = self.ids()?;
        if ids.iter().any(|id| id == key) {
            return Ok(key.to_string());
        }
        for id in &ids {
            if let Ok(record) = self.load(id)
                && record.name.trim_start_matches('/') == key
            {
                return Ok(id.clone());
            }
        }
        if !key.is_empty() && key.chars().all(|c| c.is_ascii_hexdigit()) {
            let matches: Vec<&String> = ids.iter().filter(|id| id.starts_with(key)).collect();
            match matches.len() {
                1 => return Ok(matches[0].clone()),
                0 => {}
                _ => {
                    return Err(RuntimeError::Other(format!(
                        "multiple IDs found with provided prefix: {key}"
                    )));
                }
            }
        }
        Err(RuntimeError::NoSuchContainer(key.to_string()))
    }

    /// The ID of the container named `name`, if any.
    pub fn id_by_name(&self, name: &str) -> Result<Option<String>> {
        for record in self.all()? {
            if record.name.trim_start_matches('/') == name {
                return Ok(Some(record.id));
            }
        }
        Ok(None)
    }
}
