//! Unpacks one layer tar into an empty directory in overlayfs's on-disk format: `.wh.NAME`
//! becomes a 0:0 character device named NAME and `.wh..wh..opq` sets `trusted.overlay.opaque`
//! on its directory. Each layer keeps its own directory, so overlay stacks them at mount time.
//!
//! Safety: no entry may be written outside `dest`. Paths are cleaned the way Docker does
//! (`..` that climbs above the root is an error), no write ever passes through a symlink
//! (a parent component that is a symlink is an error, whatever its target), hard links must
//! point at files already inside `dest`, and relative symlinks may not point above the root.

use std::collections::HashSet;
use std::fs::{self, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use rustix::fs::{AtFlags, CWD, FileType, Gid, Mode, Timespec, Timestamps, Uid, XattrFlags};

const WHITEOUT_PREFIX: &str = ".wh.";
const OPAQUE_MARKER: &str = ".wh..wh..opq";
const OVERLAY_OPAQUE_XATTR: &str = "trusted.overlay.opaque";

#[derive(Debug, thiserror::Error)]
pub enum UnpackError {
    #[error("invalid tar header: {0}")]
    Tar(#[source] io::Error),
    #[error("tar entry {path:?} escapes the layer root")]
    Breakout { path: String },
    #[error("tar entry {path:?} would be written through the symlink {link:?}")]
    ThroughSymlink { path: String, link: String },
    #[error("invalid symlink {path:?} -> {target:?}: it points outside the layer root")]
    SymlinkEscape { path: String, target: String },
    #[error("invalid hardlink {path:?} -> {target:?}: {reason}")]
    BadHardlink {
        path: String,
        target: String,
        reason: &'static str,
    },
    #[error("unsupported tar entry type {kind:?} for {path:?}")]
    UnsupportedType { path: String, kind: u8 },
    #[error("writing {path:?}: {source}")]
    Io { path: String, source: io::Error },
}

/// Cleans a tar path like Go's `filepath.Clean` relative to the root. Returns `None` when the
/// path climbs above the root.
pub(crate) fn clean_entry_path(raw: &Path) -> Option<PathBuf> {
    let mut out: Vec<&std::ffi::OsStr> = Vec::new();
    let absolute = raw.has_root();
    for comp in raw.components() {
        match comp {
            Component::Normal(c) => out.push(c),
            Component::ParentDir => {
                if out.pop().is_none() && !absolute {
                    return None;
                }
            }
            Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
        }
    }
    Some(out.iter().collect())
}

struct Unpacker<'a> {
    dest: &'a Path,
    /// Directories known to be real directories inside `dest` (never symlinks).
    checked_dirs: HashSet<PathBuf>,
    /// Directory mtimes are applied last: creating children changes them.
    dir_times: Vec<(PathBuf, i64)>,
}

pub fn unpack_layer<R: Read>(reader: R, dest: &Path) -> Result<(), UnpackError> {
    let mut archive = tar::Archive::new(reader);
    let mut unpacker = Unpacker {
        dest,
        checked_dirs: HashSet::new(),
        dir_times: Vec::new(),
    };
    for entry in archive.entries().map_err(UnpackError::Tar)? {
        let mut entry = entry.map_err(UnpackError::Tar)?;
        unpacker.entry(&mut entry)?;
    }
    for (dir, mtime) in unpacker.dir_times.iter().rev() {
        set_mtime(dir, *mtime).map_err(|e| io_err(dir, e))?;
    }
    Ok(())
}

fn io_err(path: &Path, source: io::Error) -> UnpackError {
    UnpackError::Io {
        path: path.display().to_string(),
        source,
    }
}

impl Unpacker<'_> {
    fn entry<R: Read>(&mut self, entry: &mut tar::Entry<'_, R>) -> Result<(), UnpackError> {
        let raw_path = entry.path().map_err(UnpackError::Tar)?.into_owned();
        let display = raw_path.display().to_string();
        let rel = clean_entry_path(&raw_path).ok_or(UnpackError::Breakout {
            path: display.clone(),
        })?;
        let kind = entry.header().entry_type();
        if kind == tar::EntryType::XGlobalHeader || kind == tar::EntryType::XHeader {
            return Ok(());
        }
        if rel.as_os_str().is_empty() {
            return Ok(()); // the root itself: the layer directory already exists
        }
        let file_name = rel.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let parent = rel.parent().unwrap_or(Path::new("")).to_path_buf();
        self.ensure_parent_dirs(&parent, &display)?;

        if file_name == OPAQUE_MARKER {
            let dir = self.dest.join(&parent);
            return rustix::fs::lsetxattr(&dir, OVERLAY_OPAQUE_XATTR, b"y", XattrFlags::empty())
                .map_err(|e| io_err(&dir, e.into()));
        }
        if let Some(hidden) = file_name.strip_prefix(WHITEOUT_PREFIX) {
            if hidden.starts_with(WHITEOUT_PREFIX) {
                return Ok(()); // other AUFS metadata (.wh..wh.plnk and friends) has no meaning here
            }
            let target = self.dest.join(&parent).join(hidden);
            self.remove_existing(&target, false)?;
            return rustix::fs::mknodat(CWD, &target, FileType::CharacterDevice, Mode::empty(), 0)
                .map_err(|e| io_err(&target, e.into()));
        }

        let target = self.dest.join(&rel);
        let header = entry.header().clone();
        let mode =
            numeric_field(header.mode().map(u64::from), &header.as_old().mode)? as u32 & 0o7777;
        let is_dir = kind == tar::EntryType::Directory;
        self.remove_existing(&target, is_dir)?;
        match kind {
            tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse => {
                let mut file = OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
                    .open(&target)
                    .map_err(|e| io_err(&target, e))?;
                io::copy(entry, &mut file).map_err(|e| io_err(&target, e))?;
            }
            tar::EntryType::Directory => {
                if !target.is_dir() {
                    fs::create_dir(&target).map_err(|e| io_err(&target, e))?;
                }
                self.checked_dirs.insert(rel.clone());
            }
            tar::EntryType::Symlink => {
                let link = header
                    .link_name()
                    .map_err(UnpackError::Tar)?
                    .unwrap_or_default()
                    .into_owned();
                if !link.has_root() && clean_entry_path(&parent.join(&link)).is_none() {
                    return Err(UnpackError::SymlinkEscape {
                        path: display,
                        target: link.display().to_string(),
                    });
                }
                std::os::unix::fs::symlink(&link, &target).map_err(|e| io_err(&target, e))?;
            }
            tar::EntryType::Link => {
                let link = header
                    .link_name()
                    .map_err(UnpackError::Tar)?
                    .unwrap_or_default()
                    .into_owned();
                let link_display = link.display().to_string();
                let bad = |reason| UnpackError::BadHardlink {
                    path: display.clone(),
                    target: link_display.clone(),
                    reason,
                };
                let link_rel = clean_entry_path(&link)
                    .ok_or_else(|| bad("it points outside the layer root"))?;
                if let Some(p) = link_rel.parent() {
                    self.check_no_symlink(p, &display)?;
                }
                let source = self.dest.join(&link_rel);
                match fs::symlink_metadata(&source) {
                    Ok(m) if m.is_dir() => return Err(bad("it points at a directory")),
                    Ok(_) => {}
                    Err(_) => return Err(bad("its target is not in the layer")),
                }
                fs::hard_link(&source, &target).map_err(|e| io_err(&target, e))?;
                return Ok(()); // a hard link shares the target's inode and metadata
            }
            tar::EntryType::Char | tar::EntryType::Block | tar::EntryType::Fifo => {
                let file_type = match kind {
                    tar::EntryType::Char => FileType::CharacterDevice,
                    tar::EntryType::Block => FileType::BlockDevice,
                    _ => FileType::Fifo,
                };
                let major = header.device_major().ok().flatten().unwrap_or(0);
                let minor = header.device_minor().ok().flatten().unwrap_or(0);
                let dev = rustix::fs::makedev(major, minor);
                rustix::fs::mknodat(CWD, &target, file_type, Mode::from_raw_mode(mode), dev)
                    .map_err(|e| io_err(&target, e.into()))?;
            }
            other => {
                return Err(UnpackError::UnsupportedType {
                    path: display,
                    kind: other.as_byte(),
                });
            }
        }
        self.apply_metadata(entry, &header, &target, mode, kind)?;
        if !is_dir {
            self.checked_dirs.remove(&rel);
        }
        Ok(())
    }

    fn apply_metadata<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        header: &tar::Header,
        target: &Path,
        mode: u32,
        kind: tar::EntryType,
    ) -> Result<(), UnpackError> {
        let uid = numeric_field(header.uid(), &header.as_old().uid)? as u32;
        let gid = numeric_field(header.gid(), &header.as_old().gid)? as u32;
        // SAFETY of ids: any numeric id is valid on Linux; -1 is not representable from tar.
        rustix::fs::chownat(
            CWD,
            target,
            Some(Uid::from_raw(uid)),
            Some(Gid::from_raw(gid)),
            AtFlags::SYMLINK_NOFOLLOW,
        )
        .map_err(|e| io_err(target, e.into()))?;
        if let Ok(Some(exts)) = entry.pax_extensions() {
            for ext in exts.flatten() {
                if let Some(name) = ext.key().ok().and_then(|k| k.strip_prefix("SCHILY.xattr.")) {
                    rustix::fs::lsetxattr(target, name, ext.value_bytes(), XattrFlags::empty())
                        .map_err(|e| io_err(target, e.into()))?;
                }
            }
        }
        if kind != tar::EntryType::Symlink {
            // chown clears set-id bits, so the mode goes on after it.
            fs::set_permissions(target, fs::Permissions::from_mode(mode))
                .map_err(|e| io_err(target, e))?;
        }
        let mtime = header.mtime().unwrap_or(0) as i64;
        if kind == tar::EntryType::Directory {
            self.dir_times.push((target.to_path_buf(), mtime));
        } else {
            set_mtime(target, mtime).map_err(|e| io_err(target, e))?;
        }
        Ok(())
    }

    /// Creates missing parent directories, refusing to pass through any symlink.
    fn ensure_parent_dirs(&mut self, parent: &Path, display: &str) -> Result<(), UnpackError> {
        let mut prefix = PathBuf::new();
        for comp in parent.components() {
            prefix.push(comp);
            if self.checked_dirs.contains(&prefix) {
                continue;
            }
            let full = self.dest.join(&prefix);
            match fs::symlink_metadata(&full) {
                Ok(m) if m.file_type().is_symlink() => {
                    return Err(UnpackError::ThroughSymlink {
                        path: display.to_owned(),
                        link: prefix.display().to_string(),
                    });
                }
                Ok(m) if m.is_dir() => {}
                Ok(_) => {
                    fs::remove_file(&full).map_err(|e| io_err(&full, e))?;
                    fs::create_dir(&full).map_err(|e| io_err(&full, e))?;
                }
                Err(_) => {
                    fs::create_dir(&full).map_err(|e| io_err(&full, e))?;
                    fs::set_permissions(&full, fs::Permissions::from_mode(0o755))
                        .map_err(|e| io_err(&full, e))?;
                }
            }
            self.checked_dirs.insert(prefix.clone());
        }
        Ok(())
    }

    fn check_no_symlink(&mut self, dir: &Path, display: &str) -> Result<(), UnpackError> {
        let mut prefix = PathBuf::new();
        for comp in dir.components() {
            prefix.push(comp);
            if self.checked_dirs.contains(&prefix) {
                continue;
            }
            let full = self.dest.join(&prefix);
            if let Ok(m) = fs::symlink_metadata(&full) {
                if m.file_type().is_symlink() {
                    return Err(UnpackError::ThroughSymlink {
                        path: display.to_owned(),
                        link: prefix.display().to_string(),
                    });
                }
            }
        }
        Ok(())
    }

    /// A later entry replaces an earlier one, except that a directory over a directory merges.
    fn remove_existing(&mut self, target: &Path, new_is_dir: bool) -> Result<(), UnpackError> {
        match fs::symlink_metadata(target) {
            Ok(m) if m.is_dir() && new_is_dir => Ok(()),
            Ok(m) if m.is_dir() => {
                if let Ok(rel) = target.strip_prefix(self.dest) {
                    let rel = rel.to_path_buf();
                    self.checked_dirs.retain(|d| !d.starts_with(&rel));
                }
                fs::remove_dir_all(target).map_err(|e| io_err(target, e))
            }
            Ok(_) => fs::remove_file(target).map_err(|e| io_err(target, e)),
            Err(_) => Ok(()),
        }
    }
}

/// Go's archive/tar reads a blank (all NUL or space) numeric field as zero; so do we.
fn numeric_field(parsed: io::Result<u64>, raw: &[u8]) -> Result<u64, UnpackError> {
    match parsed {
        Ok(v) => Ok(v),
        Err(_) if raw.iter().all(|b| *b == 0 || *b == b' ') => Ok(0),
        Err(e) => Err(UnpackError::Tar(e)),
    }
}

fn set_mtime(path: &Path, secs: i64) -> io::Result<()> {
    let ts = Timespec {
        tv_sec: secs,
        tv_nsec: 0,
    };
    let times = Timestamps {
        last_access: ts,
        last_modification: ts,
    };
    rustix::fs::utimensat(CWD, path, &times, AtFlags::SYMLINK_NOFOLLOW).map_err(io::Error::from)
}

#[cfg(test)]
mod tests;
