//! Writing planned COPY/ADD entries into a staging directory in overlay format: parent
//! directories that exist in the image are copied up with their metadata (as overlayfs
//! does), missing ones are created 0755 for the step's owner.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt, lchown};
use std::path::Path;

use crate::copy::{Entry, Kind};
use crate::error::{BuildError, Result};

fn set_mtime(path: &Path, secs: i64) -> Result<()> {
    let t = rustix::fs::Timespec {
        tv_sec: secs,
        tv_nsec: 0,
    };
    rustix::fs::utimensat(
        rustix::fs::CWD,
        path,
        &rustix::fs::Timestamps {
            last_access: t,
            last_modification: t,
        },
        rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
    )
    .map_err(|e| BuildError::Io {
        context: "setting times of",
        path: path.to_path_buf(),
        source: e.into(),
    })
}

fn own(path: &Path, uid: u32, gid: u32) -> Result<()> {
    lchown(path, Some(uid), Some(gid)).map_err(BuildError::io("changing owner of", path))
}

fn chmod(path: &Path, mode: u32) -> Result<()> {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .map_err(BuildError::io("changing mode of", path))
}

/// Creates every component of `abs_dir` in `staging`, copying up those the image has.
/// With `create_last`, the last component too (WORKDIR); it always is for a parent.
pub fn stage_parents(
    image_root: &Path,
    staging: &Path,
    abs_dir: &str,
    owner: (u32, u32),
    create_last: bool,
) -> Result<()> {
    let parts: Vec<&str> = abs_dir.split('/').filter(|p| !p.is_empty()).collect();
    let count = if create_last {
        parts.len()
    } else {
        parts.len().saturating_sub(1)
    };
    let mut rel = std::path::PathBuf::new();
    for part in &parts[..count.min(parts.len())] {
        rel.push(part);
        let target = staging.join(&rel);
        if target.is_dir() {
            continue;
        }
        fs::create_dir(&target).map_err(BuildError::io("creating", &target))?;
        match fs::metadata(image_root.join(&rel)) {
            Ok(m) if m.is_dir() => {
                own(&target, m.uid(), m.gid())?;
                chmod(&target, m.mode() & 0o7777)?;
                set_mtime(&target, m.mtime())?;
            }
            _ => {
                own(&target, owner.0, owner.1)?;
                chmod(&target, 0o755)?;
            }
        }
    }
    Ok(())
}

/// Writes `entries` under `staging`.
pub fn materialize(
    image_root: &Path,
    staging: &Path,
    entries: &[Entry],
    owner: (u32, u32),
) -> Result<()> {
    let mut dir_times = Vec::new();
    for e in entries {
        let rel = e.dest.trim_start_matches('/');
        let target = staging.join(rel);
        if rel.is_empty() {
            // COPY into `/`: the root directory itself is not part of a layer.
            continue;
        }
        stage_parents(image_root, staging, &e.dest, owner, false)?;
        match &e.kind {
            Kind::Dir => {
                if !target.is_dir() {
                    let _ = fs::remove_file(&target);
                    fs::create_dir(&target).map_err(BuildError::io("creating", &target))?;
                }
                own(&target, e.uid, e.gid)?;
                chmod(&target, e.mode)?;
                dir_times.push((target, e.mtime));
            }
            Kind::File(src) => {
                if fs::symlink_metadata(&target).is_ok_and(|m| !m.is_dir()) {
                    fs::remove_file(&target).map_err(BuildError::io("replacing", &target))?;
                }
                fs::copy(src, &target).map_err(BuildError::io("copying to", &target))?;
                own(&target, e.uid, e.gid)?;
                chmod(&target, e.mode)?;
                set_mtime(&target, e.mtime)?;
            }
            Kind::Content(data) => {
                fs::write(&target, data).map_err(BuildError::io("writing", &target))?;
                own(&target, e.uid, e.gid)?;
                chmod(&target, e.mode)?;
            }
            Kind::Symlink(link) => {
                let _ = fs::remove_file(&target);
                std::os::unix::fs::symlink(link, &target)
                    .map_err(BuildError::io("creating link", &target))?;
                own(&target, e.uid, e.gid)?;
                set_mtime(&target, e.mtime)?;
            }
            Kind::Archive(src) => {
                if !target.is_dir() {
                    fs::create_dir_all(&target).map_err(BuildError::io("creating", &target))?;
                }
                let f = fs::File::open(src).map_err(BuildError::io("opening", src))?;
                let (r, _) = strata_store::compress::decompressed(f)
                    .map_err(BuildError::io("reading", src))?;
                strata_store::layer::unpack::unpack_layer(r, &target).map_err(|e| {
                    BuildError::Other(format!("ADD failed: extracting {}: {e}", src.display()))
                })?;
            }
        }
    }
    for (dir, mtime) in dir_times.into_iter().rev() {
        set_mtime(&dir, mtime)?;
    }
    Ok(())
}
