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

/// `upper` is the container's overlay upper dir; `lowers` the image's layer dirs, bottom first.
///
/// The result is what Docker's tree comparison (`ChangesDirs`, the "naive diff" its overlay2
/// driver uses on kernels with `redirect_dir`, as here) reports for the merged view, computed by
/// walking only the upper dir: a whiteout is `D` when the lower view has the path, an opaque
/// directory is compared like any directory and the lower children it hides are `D`, a path
/// the lower view lacks is `A`, a path whose type, mode, owner, device, or (non-directories)
/// size or mtime differ is `C`, and a directory with changes inside is `C`. Docker prints in
/// Go map order (random); strata sorts by path, parents first.
///
/// `mount_points` are paths the runtime bind-mounts files over (`/etc/hosts`, ...): an empty
/// regular file there is the runtime's placeholder, kept by Docker in a separate init layer,
/// so it is not a change.
pub fn overlay_changes(
    upper: &Path,
    lowers: &[PathBuf],
    mount_points: &[&str],
) -> io::Result<Vec<Change>> {
    let top_first: Vec<PathBuf> = lowers.iter().rev().cloned().collect();
    let mut changes = Vec::new();
    let walk = Walk {
        lowers: &top_first,
        mount_points,
    };
    walk.upper(upper, "", false, &mut changes)?;
    sort_changes(&mut changes);
    Ok(changes)
}

/// Parents before children, names sorted within a directory: the order of a sorted walk.
fn sort_changes(changes: &mut [Change]) {
    changes.sort_by(|a, b| a.path.split('/').cmp(b.path.split('/')));
}

/// True for the runtime's empty placeholder at a bind-mount destination.
pub fn is_mount_placeholder(path: &str, meta: &fs::Metadata, mount_points: &[&str]) -> bool {
    meta.is_file() && meta.len() == 0 && mount_points.contains(&path)
}

struct Walk<'a> {
    lowers: &'a [PathBuf],
    mount_points: &'a [&'a str],
}

impl Walk<'_> {
    /// Returns whether anything below `dir` changed. `old_missing`: the lower view has no
    /// directory here, so everything below is new.
    fn upper(
        &self,
        dir: &Path,
        rel: &str,
        old_missing: bool,
        changes: &mut Vec<Change>,
    ) -> io::Result<bool> {
        let lowers = self.lowers;
        let before = changes.len();
        let entries = sorted_entries(dir)?;
        if !old_missing && !rel.is_empty() && is_opaque(dir) {
            // The lower children an opaque directory hides are deleted, unless the upper has them.
            for name in lower_children(lowers, rel) {
                if !entries.iter().any(|e| e.0 == name) {
                    changes.push(Change {
                        path: format!("{rel}/{name}"),
                        kind: ChangeKind::Deleted,
                    });
                }
            }
        }
        for (name, full, meta) in entries {
            let path = format!("{rel}/{name}");
            if is_mount_placeholder(&path, &meta, self.mount_points) {
                continue;
            }
            let old = if old_missing {
                None
            } else {
                lower_lookup(lowers, &path)
            };
            if is_whiteout(&meta) {
                if old.is_some() {
                    changes.push(Change {
                        path,
                        kind: ChangeKind::Deleted,
                    });
                }
                continue;
            }
            match old {
                None => {
                    changes.push(Change {
                        path: path.clone(),
                        kind: ChangeKind::Added,
                    });
                    if meta.is_dir() {
                        self.upper(&full, &path, true, changes)?;
                    }
                }
                Some(old) if old.is_dir() && meta.is_dir() => {
                    let inside = self.upper(&full, &path, false, changes)?;
                    if inside || stat_differs(&meta, &old) {
                        changes.push(Change {
                            path,
                            kind: ChangeKind::Modified,
                        });
                    }
                }
                Some(old) => {
                    if stat_differs(&meta, &old) {
                        changes.push(Change {
                            path: path.clone(),
                            kind: ChangeKind::Modified,
                        });
                    }
                    if meta.is_dir() {
                        self.upper(&full, &path, true, changes)?;
                    }
                }
            }
        }
        Ok(changes.len() > before)
    }
}

/// Docker's `statDifferent`: mode (type included), owner, device; for non-directories also
/// size and mtime.
fn stat_differs(new: &fs::Metadata, old: &fs::Metadata) -> bool {
    new.mode() != old.mode()
        || new.uid() != old.uid()
        || new.gid() != old.gid()
        || new.rdev() != old.rdev()
        || (!old.is_dir()
            && (new.size() != old.size()
                || new.mtime() != old.mtime()
                || new.mtime_nsec() != old.mtime_nsec()))
}

/// The metadata of `path` in the merged view of `lowers` (top first), overlay's rules.
fn lower_lookup(lowers: &[PathBuf], path: &str) -> Option<fs::Metadata> {
    let comps: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    for layer in lowers {
        let mut cur = layer.clone();
        let mut opaque_above = false;
        for (i, comp) in comps.iter().enumerate() {
            cur.push(comp);
            let Ok(meta) = fs::symlink_metadata(&cur) else {
                break;
            };
            if is_whiteout(&meta) {
                return None;
            }
            if i + 1 == comps.len() {
                return Some(meta);
            }
            if !meta.is_dir() {
                return None; // a file here shadows anything below this path
            }
            if is_opaque(&cur) {
                opaque_above = true;
            }
        }
        if opaque_above {
            return None;
        }
    }
    None
}

/// Names visible in directory `rel` of the merged view of `lowers` (top first).
fn lower_children(lowers: &[PathBuf], rel: &str) -> Vec<String> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for layer in lowers {
        let dir = layer.join(rel.trim_start_matches('/'));
        let Ok(entries) = sorted_entries(&dir) else {
            continue;
        };
        for (name, _, meta) in entries {
            if seen.insert(name.clone()) && !is_whiteout(&meta) {
                out.push(name);
            }
        }
        if is_opaque(&dir) {
            break;
        }
    }
    out
}

/// For the vfs driver: Docker's `ChangesDirs`, comparing a container's full root with the
/// image's. A path is changed when its type, mode, owner, size (files), device, link target or
/// mtime differ; a directory with changes inside is listed as changed before them.
///
/// Empty regular files at `runtime_files` (the runtime's bind-mount placeholders and markers)
/// are not changes.
pub fn tree_changes(
    new_root: &Path,
    old_root: &Path,
    runtime_files: &[&str],
) -> io::Result<Vec<Change>> {
    let mut changes = Vec::new();
    compare_dirs(new_root, Some(old_root), "", &mut changes)?;
    changes.retain(|c| {
        let meta = fs::symlink_metadata(new_root.join(c.path.trim_start_matches('/')));
        !(c.kind == ChangeKind::Added
            && meta.is_ok_and(|m| is_mount_placeholder(&c.path, &m, runtime_files)))
    });
    Ok(changes)
}

fn compare_dirs(
    new_dir: &Path,
    old_dir: Option<&Path>,
    rel: &str,
    changes: &mut Vec<Change>,
) -> io::Result<()> {
    let new_entries = sorted_entries(new_dir)?;
    let old_entries = match old_dir {
        Some(d) => sorted_entries(d).unwrap_or_default(),
        None => Vec::new(),
    };
    let mut names: Vec<&str> = new_entries
        .iter()
        .map(|e| e.0.as_str())
        .chain(old_entries.iter().map(|e| e.0.as_str()))
        .collect();
    names.sort();
    names.dedup();
    for name in names {
        let path = format!("{rel}/{name}");
        let new = new_entries.iter().find(|e| e.0 == name);
        let old = old_entries.iter().find(|e| e.0 == name);
        let at = changes.len();
        match (new, old) {
            (Some((_, np, nm)), None) => {
                changes.push(Change {
                    path: path.clone(),
                    kind: ChangeKind::Added,
                });
                if nm.is_dir() {
                    compare_dirs(np, None, &path, changes)?;
                }
            }
            (None, Some(_)) => changes.push(Change {
                path,
                kind: ChangeKind::Deleted,
            }),
            (Some((_, np, nm)), Some((_, op, om))) => {
                let differs = entry_differs(nm, om);
                if nm.is_dir() && om.is_dir() {
                    compare_dirs(np, Some(op), &path, changes)?;
                    if differs || changes.len() > at {
                        changes.insert(
                            at,
                            Change {
                                path,
                                kind: ChangeKind::Modified,
                            },
                        );
                    }
                } else if differs {
                    changes.push(Change {
                        path: path.clone(),
                        kind: ChangeKind::Modified,
                    });
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

fn entry_differs(nm: &fs::Metadata, om: &fs::Metadata) -> bool {
    if nm.file_type() != om.file_type()
        || nm.mode() != om.mode()
        || nm.uid() != om.uid()
        || nm.gid() != om.gid()
        || nm.rdev() != om.rdev()
    {
        return true;
    }
    if nm.is_dir() {
        return false; // a directory's size and mtime change with its entries, which are compared one by one
    }
    nm.size() != om.size() || nm.mtime() != om.mtime() || nm.mtime_nsec() != om.mtime_nsec()
}
