//! Local volumes under `<root>/volumes/<name>/` (`_data` holds the files, `volume.json` the
//! metadata), and the `-v` / `--mount` syntax that refers to them or to host paths.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use chrono::Utc;
use serde::{Deserialize, Serialize};

use crate::error::{IoContext, Result, RuntimeError};
use crate::record::MountPoint;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Volume {
    pub created_at: String,
    pub driver: String,
    pub labels: BTreeMap<String, String>,
    pub mountpoint: String,
    pub name: String,
    pub options: BTreeMap<String, String>,
    pub scope: String,
}

/// One requested mount, parsed from `-v` or `--mount`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountRequest {
    Bind {
        source: String,
        target: String,
        read_only: bool,
    },
    /// A named volume, or an anonymous one when `name` is None.
    Volume {
        name: Option<String>,
        target: String,
        read_only: bool,
    },
}

impl MountRequest {
    pub fn target(&self) -> &str {
        match self {
            MountRequest::Bind { target, .. } | MountRequest::Volume { target, .. } => target,
        }
    }
}

fn check_absolute(target: &str) -> Result<()> {
    if !target.starts_with('/') {
        return Err(RuntimeError::InvalidMount(format!(
            "invalid mount path: '{target}' mount path must be absolute"
        )));
    }
    Ok(())
}

/// Parses `-v SRC:DST[:OPTS]`, `-v NAME:DST[:OPTS]` or `-v DST`.
pub fn parse_volume_flag(spec: &str) -> Result<MountRequest> {
    let parts: Vec<&str> = spec.split(':').collect();
    let (source, target, opts) = match parts.as_slice() {
        [target] => (None, *target, ""),
        [source, target] => (Some(*source), *target, ""),
        [source, target, opts] => (Some(*source), *target, *opts),
        _ => {
            return Err(RuntimeError::InvalidMount(format!(
                "invalid volume specification: '{spec}'"
            )));
        }
    };
    check_absolute(target)?;
    let read_only = opts.split(',').any(|o| o == "ro");
    Ok(match source {
        None => MountRequest::Volume {
            name: None,
            target: target.into(),
            read_only,
        },
        Some(src) if src.starts_with('/') => MountRequest::Bind {
            source: src.into(),
            target: target.into(),
            read_only,
        },
        Some(src) if src.starts_with('.') => {
            return Err(RuntimeError::InvalidMount(format!(
                "invalid volume specification: '{spec}': bind source path must be absolute"
            )));
        }
        Some(name) => MountRequest::Volume {
            name: Some(name.into()),
            target: target.into(),
            read_only,
        },
    })
}

/// Parses `--mount type=bind|volume,source=…,target=…[,readonly]`.
pub fn parse_mount_flag(spec: &str) -> Result<MountRequest> {
    let mut kind = "volume";
    let (mut source, mut target, mut read_only) = (None, None, false);
    for field in spec.split(',') {
        let (key, value) = field.split_once('=').unwrap_or((field, ""));
        match key {
            "type" => kind = if value == "bind" { "bind" } else { value },
            "source" | "src" => source = Some(value.to_string()),
            "target" | "destination" | "dst" => target = Some(value.to_string()),
            "readonly" | "ro" => read_only = value.is_empty() || value == "true" || value == "1",
            _ => {}
        }
    }
    let target = target.ok_or_else(|| {
        RuntimeError::InvalidMount(format!(
            "invalid argument \"{spec}\" for \"--mount\" flag: target is required"
        ))
    })?;
    check_absolute(&target)?;
    match kind {
        "bind" => {
            let source = source.ok_or_else(|| {
                RuntimeError::InvalidMount(
                    "Invalid argument: source is required for bind mounts".into(),
                )
            })?;
            if !Path::new(&source).exists() {
                return Err(RuntimeError::InvalidMount(format!(
                    "invalid mount config for type \"bind\": bind source path does not exist: {source}"
                )));
            }
            Ok(MountRequest::Bind {
                source,
                target,
                read_only,
            })
        }
        "volume" => Ok(MountRequest::Volume {
            name: source.filter(|s| !s.is_empty()),
            target,
            read_only,
        }),
        other => Err(RuntimeError::InvalidMount(format!(
            "mount type {other} is not supported yet"
        ))),
    }
}

pub struct VolumeStore {
    dir: PathBuf,
}

impl VolumeStore {
    pub fn open(root: &Path) -> Result<VolumeStore> {
        let dir = root.join("volumes");
        fs::create_dir_all(&dir).at(&dir)?;
        Ok(VolumeStore { dir })
    }

    fn meta_path(&self, name: &str) -> PathBuf {
        self.dir.join(name).join("volume.json")
    }

    pub fn get(&self, name: &str) -> Result<Volume> {
        let path = self.meta_path(name);
        let bytes = fs::read(&path).map_err(|_| RuntimeError::NoSuchVolume(name.to_string()))?;
        serde_json::from_slice(&bytes).map_err(|source| RuntimeError::CorruptState { path, source })
    }

    /// Creates the volume unless it exists; returns it and whether it was created now.
    pub fn ensure(&self, name: &str, labels: BTreeMap<String, String>) -> Result<(Volume, bool)> {
        if let Ok(v) = self.get(name) {
            return Ok((v, false));
        }
        if !crate::names::is_valid(name) {
            return Err(RuntimeError::InvalidMount(format!(
                "create {name}: \"{name}\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path"
            )));
        }
        let data = self.dir.join(name).join("_data");
        fs::create_dir_all(&data).at(&data)?;
        let volume = Volume {
            created_at: Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            driver: "local".into(),
            labels,
            mountpoint: data.to_string_lossy().into_owned(),
            name: name.to_string(),
            options: BTreeMap::new(),
            scope: "local".into(),
        };
        let bytes = serde_json::to_vec_pretty(&volume)
            .map_err(|e| RuntimeError::Other(format!("encode volume: {e}")))?;
        let path = self.meta_path(name);
        fs::write(&path, bytes).at(&path)?;
        Ok((volume, true))
    }

    pub fn list(&self) -> Result<Vec<Volume>> {
        let mut out = Vec::new();
        for entry in fs::read_dir(&self.dir).at(&self.dir)? {
            let entry = entry.at(&self.dir)?;
            if let Ok(v) = self.get(&entry.file_name().to_string_lossy()) {
                out.push(v);
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    pub fn remove(&self, name: &str) -> Result<()> {
        self.get(name)?;
        let dir = self.dir.join(name);
        fs::remove_dir_all(&dir).at(&dir)
    }
}

/// Turns the requests (plus the image's VOLUMEs not covered by one) into mount points,
/// creating named and anonymous volumes. Returns the mounts and the anonymous volume names.
pub fn resolve_mounts(
    volumes: &VolumeStore,
    requests: &[MountRequest],
    image_volumes: &[String],
    random_name: &mut dyn FnMut() -> String,
) -> Result<(Vec<MountPoint>, Vec<String>)> {
    let mut mounts = Vec::new();
    let mut anonymous = Vec::new();
    let mut all: Vec<MountRequest> = requests.to_vec();
    for target in image_volumes {
        if !requests.iter().any(|r| r.target() == target) {
            all.push(MountRequest::Volume {
                name: None,
                target: target.clone(),
                read_only: false,
            });
        }
    }
    for request in all {
        match request {
            MountRequest::Bind {
                source,
                target,
                read_only,
            } => {
                if !Path::new(&source).exists() {
                    fs::create_dir_all(&source).at(&source)?;
                }
                mounts.push(MountPoint {
                    kind: "bind".into(),
                    name: None,
                    source,
                    destination: target,
                    driver: None,
                    mode: if read_only {
                        "ro".into()
                    } else {
                        String::new()
                    },
                    rw: !read_only,
                    propagation: "rprivate".into(),
                });
            }
            MountRequest::Volume {
                name,
                target,
                read_only,
            } => {
                let name = match name {
                    Some(n) => n,
                    None => {
                        let n = random_name();
                        anonymous.push(n.clone());
                        n
                    }
                };
                let (volume, _) = volumes.ensure(&name, BTreeMap::new())?;
                mounts.push(MountPoint {
                    kind: "volume".into(),
                    name: Some(name),
                    source: volume.mountpoint,
                    destination: target,
                    driver: Some("local".into()),
                    mode: if read_only { "ro".into() } else { "z".into() },
                    rw: !read_only,
                    propagation: String::new(),
                });
            }
        }
    }
    Ok((mounts, anonymous))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volume_flag_forms() {
        assert_eq!(
            parse_volume_flag("/h:/c:ro").unwrap(),
            MountRequest::Bind {
                source: "/h".into(),
                target: "/c".into(),
                read_only: true
            }
        );
        assert_eq!(
            parse_volume_flag("data:/c").unwrap(),
            MountRequest::Volume {
                name: Some("data".into()),
                target: "/c".into(),
                read_only: false
            }
        );
        assert_eq!(
            parse_volume_flag("/c").unwrap(),
            MountRequest::Volume {
                name: None,
                target: "/c".into(),
                read_only: false
            }
        );
        assert!(
            parse_volume_flag("data:rel")
                .unwrap_err()
                .to_string()
                .contains("must be absolute")
        );
        assert!(parse_volume_flag("./x:/c").is_err());
    }

    #[test]
    fn mount_flag_forms() {
        assert_eq!(
            parse_mount_flag("type=volume,source=v,target=/d,readonly").unwrap(),
            MountRequest::Volume {
                name: Some("v".into()),
                target: "/d".into(),
                read_only: true
            }
        );
        assert!(parse_mount_flag("type=bind,source=/nonexistent-x,target=/d").is_err());
        assert!(parse_mount_flag("type=volume,source=v").is_err());
    }

    #[test]
    fn image_volumes_become_anonymous() {
        let tmp = tempfile::tempdir().unwrap();
        let store = VolumeStore::open(tmp.path()).unwrap();
        let mut n = 0;
        let (mounts, anon) = resolve_mounts(
            &store,
            &[parse_volume_flag("named:/data").unwrap()],
            &["/data".to_string(), "/cache".to_string()],
            &mut || {
                n += 1;
                format!("anon{n:062}")
            },
        )
        .unwrap();
        assert_eq!(mounts.len(), 2);
        assert_eq!(anon.len(), 1);
        assert_eq!(mounts[1].destination, "/cache");
        assert_eq!(store.list().unwrap().len(), 2);
    }
}
