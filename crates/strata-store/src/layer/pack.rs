//! Writing layer tars: from an overlay upper directory (whiteout devices become `.wh.NAME`,
//! opaque directories get `.wh..wh..opq`, as Docker's overlay driver writes them), and from a
//! merged view of several layers (for `export`). Entries come in walk order (sorted names),
//! hard links are kept as links, owners, modes, times, devices, file capabilities and other
//! xattrs are kept. An empty upper dir gives Docker's empty layer (1024 zero bytes).

use std::collections::HashMap;
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use super::changes::{OVERLAY_OPAQUE_XATTR, is_opaque, is_whiteout, sorted_entries};

/// The host ids a container in its own user namespace gives its files on disk: `uid..uid+size`
/// are its 0..size. Layer tars carry the container's ids, so they are shifted back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdShift {
    pub uid: u32,
    pub gid: u32,
    pub size: u32,
}

impl IdShift {
    fn apply(&self, h: &mut tar::Header) {
        let back = |id: u64, base: u32| {
            let base = u64::from(base);
            if (base..base + u64::from(self.size)).contains(&id) {
                id - base
            } else {
                id
            }
        };
        if let (Ok(uid), Ok(gid)) = (h.uid(), h.gid()) {
            h.set_uid(back(uid, self.uid));
            h.set_gid(back(gid, self.gid));
        }
    }
}

/// Writes the tar of an overlay upper dir (a container's changes) to `out`, leaving out the
/// runtime's placeholders at `mount_points` (see `changes::is_mount_placeholder`).
pub fn tar_upper_dir<W: Write>(upper: &Path, mount_points: &[&str], out: W) -> io::Result<W> {
    tar_upper_dir_shifted(upper, mount_points, None, out)
}

/// `tar_upper_dir` with the owners of a user-namespaced container shifted back.
pub fn tar_upper_dir_shifted<W: Write>(
    upper: &Path,
    mount_points: &[&str],
    shift: Option<IdShift>,
    out: W,
) -> io::Result<W> {
    let mut packer = Packer {
        tar: tar::Builder::new(out),
        links: HashMap::new(),
        mount_points: mount_points.iter().map(|s| s.to_string()).collect(),
        shift: shift.map(|s| (upper.to_path_buf(), s)),
    };
    packer.tar.mode(tar::HeaderMode::Complete);
    packer.upper(upper, "")?;
    packer.tar.into_inner()
}

/// Writes the merged root filesystem of `layers` (top layer FIRST) as one tar, resolving
/// whiteouts and opaque directories the way overlayfs would.
pub fn tar_merged<W: Write>(layers: &[PathBuf], out: W) -> io::Result<W> {
    tar_merged_shifted(layers, None, out)
}

/// `tar_merged` with the owners of the top layer (a user-namespaced container's upper dir)
/// shifted back.
pub fn tar_merged_shifted<W: Write>(
    layers: &[PathBuf],
    top_shift: Option<IdShift>,
    out: W,
) -> io::Result<W> {
    let mut packer = Packer {
        tar: tar::Builder::new(out),
        links: HashMap::new(),
        mount_points: Vec::new(),
        shift: top_shift.and_then(|s| layers.first().map(|top| (top.clone(), s))),
    };
    packer.tar.mode(tar::HeaderMode::Complete);
    let dirs: Vec<PathBuf> = layers.to_vec();
    packer.merged(&dirs, "")?;
    packer.tar.into_inner()
}

/// Writes a layer tar for `changes` found by comparing trees (the vfs driver): adds and
/// changes come from `root`, deletes become `.wh.NAME` entries.
pub fn tar_changes<W: Write>(
    root: &Path,
    changes: &[super::changes::Change],
    out: W,
) -> io::Result<W> {
    let mut packer = Packer {
        tar: tar::Builder::new(out),
        links: HashMap::new(),
        mount_points: Vec::new(),
        shift: None,
    };
    packer.tar.mode(tar::HeaderMode::Complete);
    let mut sorted: Vec<&super::changes::Change> = changes.iter().collect();
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    for c in sorted {
        let rel = c.path.trim_start_matches('/');
        if c.kind == super::changes::ChangeKind::Deleted {
            let (parent, name) = rel.rsplit_once('/').unwrap_or(("", rel));
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(tar::EntryType::Regular);
            h.set_size(0);
            h.set_mode(0o600);
            packer
                .tar
                .append_data(&mut h, join(parent, &format!(".wh.{name}")), io::empty())?;
            continue;
        }
        let full = root.join(rel);
        let meta = fs::symlink_metadata(&full)?;
        packer.entry(&full, rel, &meta)?;
    }
    packer.tar.into_inner()
}

struct Packer<W: Write> {
    tar: tar::Builder<W>,
    /// (dev, inode) of files already written, so later names become hard links.
    links: HashMap<(u64, u64), String>,
    mount_points: Vec<String>,
    /// Files under this directory get their owners shifted back.
    shift: Option<(PathBuf, IdShift)>,
}

impl<W: Write> Packer<W> {
    fn upper(&mut self, dir: &Path, rel: &str) -> io::Result<()> {
        for (name, full, meta) in sorted_entries(dir)? {
            let path = join(rel, &name);
            let points: Vec<&str> = self.mount_points.iter().map(String::as_str).collect();
            if super::changes::is_mount_placeholder(&format!("/{path}"), &meta, &points) {
                continue;
            }
            if is_whiteout(&meta) {
                let mut h = tar::Header::new_gnu();
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(0);
                h.set_mode(0o600);
                h.set_mtime(meta.mtime().max(0) as u64);
                self.tar
                    .append_data(&mut h, join(rel, &format!(".wh.{name}")), io::empty())?;
                continue;
            }
            self.entry(&full, &path, &meta)?;
            if meta.is_dir() {
                if is_opaque(&full) {
                    let mut h = tar::Header::new_gnu();
                    h.set_entry_type(tar::EntryType::Regular);
                    h.set_size(0);
                    h.set_mode(meta.mode() & 0o777);
                    h.set_uid(meta.uid() as u64);
                    h.set_gid(meta.gid() as u64);
                    h.set_mtime(meta.mtime().max(0) as u64);
                    self.shift_owner(&full, &mut h);
                    self.tar
                        .append_data(&mut h, format!("{path}/.wh..wh..opq"), io::empty())?;
                }
                self.upper(&full, &path)?;
            }
        }
        Ok(())
    }

    /// `dirs` are the same directory in each layer, top first; a layer below an opaque
    /// directory or a whiteout contributes nothing.
    fn merged(&mut self, dirs: &[PathBuf], rel: &str) -> io::Result<()> {
        let mut seen: HashMap<String, ()> = HashMap::new();
        let mut names: Vec<String> = Vec::new();
        let mut visible_dirs = Vec::new();
        for d in dirs {
            visible_dirs.push(d.clone());
            if is_opaque(d) {
                break;
            }
        }
        for d in &visible_dirs {
            let Ok(entries) = sorted_entries(d) else {
                continue;
            };
            for (name, _, _) in entries {
                if seen.insert(name.clone(), ()).is_none() {
                    names.push(name);
                }
            }
        }
        names.sort();
        for name in names {
            // The topmost layer that has the name decides what it is.
            let mut below: Vec<PathBuf> = Vec::new();
            let mut top: Option<(PathBuf, fs::Metadata)> = None;
            for d in &visible_dirs {
                let p = d.join(&name);
                let Ok(meta) = fs::symlink_metadata(&p) else {
                    continue;
                };
                match &top {
                    None => {
                        if is_whiteout(&meta) {
                            break;
                        }
                        let is_dir = meta.is_dir();
                        let opaque = is_dir && is_opaque(&p);
                        top = Some((p.clone(), meta));
                        if !is_dir {
                            break;
                        }
                        below.push(p);
                        if opaque {
                            break;
                        }
                    }
                    Some(_) => {
                        if is_whiteout(&meta) || !meta.is_dir() {
                            break;
                        }
                        let opaque = is_opaque(&p);
                        below.push(p);
                        if opaque {
                            break;
                        }
                    }
                }
            }
            let Some((full, meta)) = top else { continue };
            let path = join(rel, &name);
            self.entry(&full, &path, &meta)?;
            if meta.is_dir() {
                self.merged(&below, &path)?;
            }
        }
        Ok(())
    }

    /// Shifts the owner back when `full` is in the shifted tree.
    fn shift_owner(&self, full: &Path, h: &mut tar::Header) {
        if let Some((root, shift)) = &self.shift
            && full.starts_with(root)
        {
            shift.apply(h);
        }
    }

    fn entry(&mut self, full: &Path, path: &str, meta: &fs::Metadata) -> io::Result<()> {
        let mut h = tar::Header::new_gnu();
        h.set_metadata_in_mode(meta, tar::HeaderMode::Complete);
        h.set_mtime(meta.mtime().max(0) as u64);
        self.shift_owner(full, &mut h);
        self.xattrs(full)?;
        let ft = meta.file_type();
        if ft.is_dir() {
            h.set_size(0);
            return self
                .tar
                .append_data(&mut h, format!("{path}/"), io::empty());
        }
        if ft.is_symlink() {
            let target = fs::read_link(full)?;
            h.set_size(0);
            return self.tar.append_link(&mut h, path, target);
        }
        if ft.is_file() {
            if meta.nlink() > 1 {
                let key = (meta.dev(), meta.ino());
                if let Some(first) = self.links.get(&key) {
                    h.set_entry_type(tar::EntryType::Link);
                    h.set_size(0);
                    let first = first.clone();
                    return self.tar.append_link(&mut h, path, first);
                }
                self.links.insert(key, path.to_owned());
            }
            let file = fs::File::open(full)?;
            return self.tar.append_data(&mut h, path, file);
        }
        if ft.is_char_device() || ft.is_block_device() || ft.is_fifo() {
            h.set_size(0);
            let rdev = meta.rdev();
            h.set_device_major(rustix::fs::major(rdev))?;
            h.set_device_minor(rustix::fs::minor(rdev))?;
            return self.tar.append_data(&mut h, path, io::empty());
        }
        // Sockets have no tar form; Docker skips them too.
        Ok(())
    }

    /// File capabilities and other extended attributes go in as PAX `SCHILY.xattr.*` records.
    fn xattrs(&mut self, full: &Path) -> io::Result<()> {
        let mut names = vec![0u8; 4096];
        let n = match rustix::fs::llistxattr(full, &mut names) {
            Ok(n) => n,
            Err(_) => return Ok(()), // filesystem without xattrs
        };
        let mut records: Vec<(String, Vec<u8>)> = Vec::new();
        for raw in names[..n].split(|b| *b == 0).filter(|s| !s.is_empty()) {
            let name = String::from_utf8_lossy(raw).into_owned();
            if name.starts_with("trusted.overlay.")
                || name == OVERLAY_OPAQUE_XATTR
                || name.starts_with("security.selinux")
            {
                continue;
            }
            let mut value = vec![0u8; 65536];
            if let Ok(len) = rustix::fs::lgetxattr(full, name.as_str(), &mut value) {
                value.truncate(len);
                records.push((format!("SCHILY.xattr.{name}"), value));
            }
        }
        if !records.is_empty() {
            self.tar
                .append_pax_extensions(records.iter().map(|(k, v)| (k.as_str(), v.as_slice())))?;
        }
        Ok(())
    }
}

fn join(rel: &str, name: &str) -> String {
    if rel.is_empty() {
        name.to_owned()
    } else {
        format!("{rel}/{name}")
    }
}

#[cfg(test)]
mod tests;
