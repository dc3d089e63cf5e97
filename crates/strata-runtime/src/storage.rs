//! The container's root filesystem: `overlay` mounts the image's layer directories as
//! lowerdirs (shared, never copied) under one upper+work dir per container; `vfs` copies the
//! layers bottom to top, applying whiteouts, for hosts where overlay cannot be mounted.

use std::ffi::CString;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::error::{IoContext, Result, RuntimeError};

pub const OVERLAY: &str = "overlay";
pub const VFS: &str = "vfs";

/// Files the runtime bind-mounts into every container. The empty placeholders it leaves at
/// these paths in the root filesystem are not the container's changes (Docker keeps them in a
/// separate init layer), so diff, commit and build leave them out.
pub const MOUNT_POINT_FILES: &[&str] = &["/etc/hostname", "/etc/hosts", "/etc/resolv.conf"];

/// The empty file a finished vfs copy carries at its root.
pub const VFS_MARKER: &str = "/.strata-vfs-complete";

/// The directories of one container's root filesystem.
pub struct RootfsDirs {
    pub upper: PathBuf,
    pub work: PathBuf,
    pub merged: PathBuf,
}

impl RootfsDirs {
    pub fn new(container_dir: &Path) -> RootfsDirs {
        RootfsDirs {
            upper: container_dir.join("diff"),
            work: container_dir.join("work"),
            merged: container_dir.join("merged"),
        }
    }
}

/// The overlay mount options for `layers` (bottom first): overlay lists the top lowerdir first.
pub fn overlay_options(layers: &[PathBuf], dirs: &RootfsDirs) -> String {
    let lower: Vec<String> = layers
        .iter()
        .rev()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    format!(
        "lowerdir={},upperdir={},workdir={},index=off",
        lower.join(":"),
        dirs.upper.display(),
        dirs.work.display()
    )
}

/// Mounts (overlay) or populates (vfs) the root filesystem. `driver` is the one preferred;
/// returns the one used: overlay falls back to vfs when the kernel refuses the mount.
pub fn prepare(layers: &[PathBuf], dirs: &RootfsDirs, driver: &str) -> Result<&'static str> {
    fs::create_dir_all(&dirs.merged).at(&dirs.merged)?;
    if driver == OVERLAY {
        fs::create_dir_all(&dirs.upper).at(&dirs.upper)?;
        fs::create_dir_all(&dirs.work).at(&dirs.work)?;
        match mount_overlay(layers, dirs) {
            Ok(()) => return Ok(OVERLAY),
            Err(e) => {
                tracing::warn!("overlay mount failed ({e}); falling back to vfs");
                let _ = fs::remove_dir_all(&dirs.work);
            }
        }
    }
    // vfs: the merged directory is the container's own full copy; populate it once.
    if !dirs.merged.join(&VFS_MARKER[1..]).exists() {
        for layer in layers {
            apply_layer(layer, &dirs.merged)?;
        }
        fs::write(dirs.merged.join(&VFS_MARKER[1..]), b"").at(&dirs.merged)?;
    }
    Ok(VFS)
}

/// The overlay for a container in its own user namespace (`--userns=auto`): the image's layer
/// dirs are mounted idmapped under `<container>/idmap/` (the namespace's root owns what 0 owns
/// in them) and the overlay is made of those over the container's own upper dir, whose files
/// are owned by the namespace's host ids (overlayfs cannot write through an idmapped upper:
/// its own writes use the mounter's ids, which the idmapping does not cover).
pub fn prepare_idmapped(
    layers: &[PathBuf],
    dirs: &RootfsDirs,
    userns: &Path,
    root: (u32, u32),
) -> Result<&'static str> {
    let container = dirs
        .merged
        .parent()
        .ok_or_else(|| RuntimeError::Mount("container directory".into()))?
        .to_path_buf();
    fs::create_dir_all(&dirs.merged).at(&dirs.merged)?;
    fs::create_dir_all(&dirs.upper).at(&dirs.upper)?;
    fs::create_dir_all(&dirs.work).at(&dirs.work)?;
    // The overlay's root directory is the upper dir's: the container's root must own it.
    std::os::unix::fs::chown(&dirs.upper, Some(root.0), Some(root.1)).at(&dirs.upper)?;
    let idmap = container.join("idmap");
    let result = (|| {
        let mut lowers = Vec::new();
        for (i, layer) in layers.iter().enumerate() {
            let dst = idmap.join(i.to_string());
            crate::userns::idmapped_clone(layer, &dst, userns)?;
            lowers.push(dst);
        }
        mount_overlay(&lowers, dirs)
    })();
    if let Err(e) = result {
        release_idmapped(&container);
        return Err(e);
    }
    Ok(OVERLAY)
}

/// Unmounts the idmapped views `prepare_idmapped` made, if any.
fn release_idmapped(container: &Path) {
    let idmap = container.join("idmap");
    let Ok(entries) = fs::read_dir(&idmap) else {
        return;
    };
    for entry in entries.flatten() {
        let _ = rustix::mount::unmount(entry.path(), rustix::mount::UnmountFlags::DETACH);
    }
    let _ = fs::remove_dir_all(&idmap);
}

fn mount_overlay(layers: &[PathBuf], dirs: &RootfsDirs) -> Result<()> {
    if layers.is_empty() {
        return Err(RuntimeError::Mount("the image has no layers".into()));
    }
    let options = overlay_options(layers, dirs);
    if options.len() >= 4000 {
        return Err(RuntimeError::Mount(
            "overlay options exceed one page (too many layers)".into(),
        ));
    }
    let data = std::ffi::CString::new(options)
        .map_err(|_| RuntimeError::Mount("overlay options contain a NUL byte".into()))?;
    rustix::mount::mount(
        "overlay",
        &dirs.merged,
        "overlay",
        rustix::mount::MountFlags::empty(),
        Some(data.as_c_str()),
    )
    .map_err(|e| RuntimeError::Mount(format!("overlay on {}: {e}", dirs.merged.display())))
}

/// Unmounts the overlay root filesystem; a no-op when it is not mounted.
pub fn release(dirs: &RootfsDirs, driver: &str) -> Result<()> {
    if driver != OVERLAY {
        return Ok(());
    }
    let unmounted = rustix::mount::unmount(&dirs.merged, rustix::mount::UnmountFlags::DETACH);
    if let Some(container) = dirs.merged.parent() {
        release_idmapped(container);
    }
    match unmounted {
        Ok(()) => Ok(()),
        Err(rustix::io::Errno::INVAL) | Err(rustix::io::Errno::NOENT) => Ok(()),
        Err(e) => Err(RuntimeError::Mount(format!(
            "unmount {}: {e}",
            dirs.merged.display()
        ))),
    }
}

/// Whether `path` is a mount point (its device differs from its parent's).
pub fn is_mounted(path: &Path) -> bool {
    let text = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let target = path.to_string_lossy();
    text.lines()
        .any(|l| l.split(' ').nth(4).is_some_and(|m| m == target))
}

fn is_whiteout(meta: &fs::Metadata) -> bool {
    meta.file_type().is_char_device() && meta.rdev() == 0
}

fn is_opaque(path: &Path) -> bool {
    let Ok(c_path) = CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    let mut buf = [0u8; 4];
    // SAFETY: both strings are NUL-terminated and the buffer length is passed.
    let n = unsafe {
        libc::lgetxattr(
            c_path.as_ptr(),
            c"trusted.overlay.opaque".as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    n == 1 && buf[0] == b'y'
}

/// Copies one overlay-format layer onto `dest`: whiteouts delete, opaque dirs replace.
pub fn apply_layer(layer: &Path, dest: &Path) -> Result<()> {
    let entries = fs::read_dir(layer).at(layer)?;
    for entry in entries {
        let entry = entry.at(layer)?;
        let src = entry.path();
        let target = dest.join(entry.file_name());
        let meta = fs::symlink_metadata(&src).at(&src)?;
        if is_whiteout(&meta) {
            remove_any(&target)?;
            continue;
        }
        if meta.is_dir() {
            let existing = fs::symlink_metadata(&target).ok();
            if existing.as_ref().is_some_and(|m| !m.is_dir()) || is_opaque(&src) {
                remove_any(&target)?;
            }
            if !target.exists() {
                fs::create_dir(&target).at(&target)?;
            }
            copy_owner_and_mode(&meta, &target)?;
            apply_layer(&src, &target)?;
            continue;
        }
        remove_any(&target)?;
        copy_entry(&src, &meta, &target)?;
    }
    Ok(())
}

fn remove_any(path: &Path) -> Result<()> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(path).at(path),
        Ok(_) => fs::remove_file(path).at(path),
        Err(_) => Ok(()),
    }
}

fn copy_entry(src: &Path, meta: &fs::Metadata, target: &Path) -> Result<()> {
    let kind = meta.file_type();
    if kind.is_symlink() {
        let link = fs::read_link(src).at(src)?;
        std::os::unix::fs::symlink(&link, target).at(target)?;
        std::os::unix::fs::lchown(target, Some(meta.uid()), Some(meta.gid())).at(target)?;
        return copy_mtime(meta, target);
    }
    if kind.is_file() {
        fs::copy(src, target).at(target)?;
    } else {
        let c_path = CString::new(target.as_os_str().as_bytes())
            .map_err(|_| RuntimeError::Other(format!("bad path {}", target.display())))?;
        // SAFETY: NUL-terminated path; mode and device come from the source's metadata.
        let rc = unsafe { libc::mknod(c_path.as_ptr(), meta.mode() as libc::mode_t, meta.rdev()) };
        if rc != 0 {
            return Err(RuntimeError::io(target, std::io::Error::last_os_error()));
        }
    }
    copy_owner_and_mode(meta, target)?;
    copy_mtime(meta, target)
}

/// Keeps the source's mtime, so a vfs root compares equal to the image where nothing changed
/// (`diff` and `commit` compare the two trees, as Docker's vfs driver does).
fn copy_mtime(meta: &fs::Metadata, target: &Path) -> Result<()> {
    let ts = rustix::fs::Timespec {
        tv_sec: meta.mtime(),
        tv_nsec: meta.mtime_nsec(),
    };
    let times = rustix::fs::Timestamps {
        last_access: ts,
        last_modification: ts,
    };
    rustix::fs::utimensat(
        rustix::fs::CWD,
        target,
        &times,
        rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
    )
    .map_err(|e| RuntimeError::io(target, e.into()))
}

fn copy_owner_and_mode(meta: &fs::Metadata, target: &Path) -> Result<()> {
    std::os::unix::fs::lchown(target, Some(meta.uid()), Some(meta.gid())).at(target)?;
    fs::set_permissions(target, fs::Permissions::from_mode(meta.mode() & 0o7777)).at(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlay_lists_top_layer_first() {
        let dirs = RootfsDirs::new(Path::new("/c"));
        let opts = overlay_options(
            &[PathBuf::from("/l/bottom"), PathBuf::from("/l/top")],
            &dirs,
        );
        assert_eq!(
            opts,
            "lowerdir=/l/top:/l/bottom,upperdir=/c/diff,workdir=/c/work,index=off"
        );
    }

    #[test]
    fn vfs_applies_whiteouts_and_opaque_dirs() {
        let tmp = tempfile::tempdir().unwrap();
        let (l1, l2, out) = (
            tmp.path().join("l1"),
            tmp.path().join("l2"),
            tmp.path().join("o"),
        );
        fs::create_dir_all(l1.join("d")).unwrap();
        fs::create_dir_all(l1.join("keep")).unwrap();
        fs::write(l1.join("d/a"), "a").unwrap();
        fs::write(l1.join("gone"), "x").unwrap();
        fs::write(l1.join("keep/k"), "k").unwrap();
        std::os::unix::fs::symlink("keep/k", l1.join("link")).unwrap();
        fs::create_dir_all(l2.join("d")).unwrap();
        fs::write(l2.join("d/b"), "b").unwrap();
        let wh = CString::new(l2.join("gone").as_os_str().as_bytes()).unwrap();
        // SAFETY: valid path; a 0:0 character device is overlay's whiteout.
        let rc = unsafe { libc::mknod(wh.as_ptr(), libc::S_IFCHR | 0o600, 0) };
        assert_eq!(rc, 0, "mknod needs root");
        let d = CString::new(l2.join("d").as_os_str().as_bytes()).unwrap();
        // SAFETY: valid path and value buffer.
        let rc = unsafe {
            libc::lsetxattr(
                d.as_ptr(),
                c"trusted.overlay.opaque".as_ptr(),
                b"y".as_ptr().cast(),
                1,
                0,
            )
        };
        assert_eq!(rc, 0, "trusted xattrs need root");
        fs::create_dir_all(&out).unwrap();
        apply_layer(&l1, &out).unwrap();
        apply_layer(&l2, &out).unwrap();
        assert!(!out.join("gone").exists());
        assert!(
            !out.join("d/a").exists(),
            "opaque dir hides the lower content"
        );
        assert_eq!(fs::read_to_string(out.join("d/b")).unwrap(), "b");
        assert_eq!(fs::read_to_string(out.join("link")).unwrap(), "k");
    }
}
