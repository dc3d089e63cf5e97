//! What a container changed, read from its overlay upper directory the way Docker's
//! `archive.OverlayChanges` does: a 0:0 character device or an opaque directory is a delete,
//! anything else is an add unless a lower layer has the path (then a change), and the parent
//! directory of every add or delete is reported as changed. Order is the walk order (names
//! sorted within each directory), which is the order `docker diff` prints.

use std::collections::HashSet;
use std::fs;
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

pub(crate) const OVERLAY_OPAQUE_XATTR: &str = "trusted.overlay.opaque";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Modified,
    Added,
    Deleted,
}

impl ChangeKind {
    /// The letter `docker diff` prints.
    pub fn letter(self) -> char {
        match self {
            ChangeKind::Modified => 'C',
            ChangeKind::Added => 'A',
            ChangeKind::Deleted => 'D',
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Absolute path inside the container (`/etc/motd`).
    pub path: String,
    pub kind: ChangeKind,
}

pub(crate) fn is_whiteout(meta: &fs::Metadata) -> bool {
    meta.file_type().is_char_device() && meta.rdev() == 0
}

pub(crate) fn is_opaque(path: &Path) -> bool {
    let mut buf = [0u8; 2];
    matches!(rustix::fs::lgetxattr(path, OVERLAY_OPAQUE_XATTR, &mut buf), Ok(1) if buf[0] == b'y')
}

/// Entries of a directory sorted by name, as Go's `filepath.Walk` visits them.
pub(crate) fn sorted_entries(dir: &Path) -> io::Result<Vec<(String, PathBuf, fs::Metadata)>> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir)? {
        let e = e?;
        let name = e.file_name().to_string_lossy().into_owned();
        let meta = fs::symlink_metadata(e.path())?;
        out.push((name, e.path(), meta));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// `upper` is the container's overlay upper dir; `lowers` the image's layer dirs (any order).
pub fn overlay_changes(upper: &Path, lowers: &[PathBuf]) -> io::Result<Vec<Change>> {
    let mut changes = Vec::new();
    let mut changed_dirs: HashSet<String> = HashSet::new();
    walk(upper, "", lowers, &mut changes, &mut changed_dirs)?;
    Ok(changes)
}

fn walk(dir: &Path, rel: &str, lowers: &[PathBuf], changes: &mut Vec<Change>, changed_dirs: &mut HashSet<String>) -> io::Result<()> {
    for (name, full, meta) in sorted_entries(dir)? {
        let path = format!("{rel}/{name}");
        let kind = if is_whiteout(&meta) || (meta.is_dir() && is_opaque(&full)) {
            ChangeKind::Deleted
        } else {
            match lower_kind(&path, &meta, lowers)? {
                Some(kind) => kind,
                None => {
                    // A directory only here as a parent: not a change itself (Docker does not mark it
                    // changed either, so an add below it reports it as `C`). Walk on.
                    if meta.is_dir() {
                        walk(&full, &path, lowers, changes, changed_dirs)?;
                    }
                    continue;
                }
            }
        };
        if meta.is_dir() {
            changed_dirs.insert(path.clone());
        }
        if kind != ChangeKind::Modified {
            let parent = rel.to_owned();
            if !parent.is_empty() && changed_dirs.insert(parent.clone()) {
                changes.push(Change { path: parent, kind: ChangeKind::Modified });
            }
        }
        changes.push(Change { path: path.clone(), kind });
        if meta.is_dir() {
            walk(&full, &path, lowers, changes, changed_dirs)?;
        }
    }
    Ok(())
}

/// `Some(Added)` when no lower layer has the path, `Some(Modified)` when one has it (unless both
/// are directories with the same size, mode and mtime: then `None`, not a change).
fn lower_kind(path: &str, meta: &fs::Metadata, lowers: &[PathBuf]) -> io::Result<Option<ChangeKind>> {
    let rel = path.trim_start_matches('/');
    for layer in lowers {
        match fs::metadata(layer.join(rel)) {
            Ok(lower) => {
                if lower.is_dir() && meta.is_dir() && lower.size() == meta.size() && lower.mode() == meta.mode() && lower.mtime() == meta.mtime() && lower.mtime_nsec() == meta.mtime_nsec() {
                    return Ok(None);
                }
                return Ok(Some(ChangeKind::Modified));
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound || e.kind() == io::ErrorKind::NotADirectory => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(Some(ChangeKind::Added))
}

/// For the vfs driver: Docker's `ChangesDirs`, comparing a container's full root with the
/// image's. A path is changed when its type, mode, owner, size (files), device, link target or
/// mtime differ; a directory with changes inside is listed as changed before them.
pub fn tree_changes(new_root: &Path, old_root: &Path) -> io::Result<Vec<Change>> {
    let mut changes = Vec::new();
    compare_dirs(new_root, Some(old_root), "", &mut changes)?;
    Ok(changes)
}

fn compare_dirs(new_dir: &Path, old_dir: Option<&Path>, rel: &str, changes: &mut Vec<Change>) -> io::Result<()> {
    let new_entries = sorted_entries(new_dir)?;
    let old_entries = match old_dir {
        Some(d) => sorted_entries(d).unwrap_or_default(),
        None => Vec::new(),
    };
    let mut names: Vec<&str> = new_entries.iter().map(|e| e.0.as_str()).chain(old_entries.iter().map(|e| e.0.as_str())).collect();
    names.sort();
    names.dedup();
    for name in names {
        let path = format!("{rel}/{name}");
        let new = new_entries.iter().find(|e| e.0 == name);
        let old = old_entries.iter().find(|e| e.0 == name);
        let at = changes.len();
        match (new, old) {
            (Some((_, np, nm)), None) => {
                changes.push(Change { path: path.clone(), kind: ChangeKind::Added });
                if nm.is_dir() {
                    compare_dirs(np, None, &path, changes)?;
                }
            }
            (None, Some(_)) => changes.push(Change { path, kind: ChangeKind::Deleted }),
            (Some((_, np, nm)), Some((_, op, om))) => {
                let differs = entry_differs(np, nm, op, om);
                if nm.is_dir() && om.is_dir() {
                    compare_dirs(np, Some(op), &path, changes)?;
                    if differs || changes.len() > at {
                        changes.insert(at, Change { path, kind: ChangeKind::Modified });
                    }
                } else if differs {
                    changes.push(Change { path: path.clone(), kind: ChangeKind::Modified });
                    if nm.is_dir() {
                        compare_dirs(np, None, &path, changes)?;
                    }
                }
            }
            (None, None) => {}
        }
    }
    Ok(())
}

fn entry_differs(np: &Path, nm: &fs::Metadata, op: &Path, om: &fs::Metadata) -> bool {
    if nm.file_type() != om.file_type() || nm.mode() != om.mode() || nm.uid() != om.uid() || nm.gid() != om.gid() || nm.rdev() != om.rdev() {
        return true;
    }
    if nm.file_type().is_symlink() {
        return fs::read_link(np).ok() != fs::read_link(op).ok();
    }
    if nm.is_dir() {
        return false; // a directory's size and mtime change with its entries, which are compared one by one
    }
    nm.size() != om.size() || nm.mtime() != om.mtime() || nm.mtime_nsec() != om.mtime_nsec()
}
