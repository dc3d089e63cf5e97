//! `cp - CONTAINER:DIR`: a tar stream (plain or gzip) unpacked into a directory of the
//! container, with Docker's untar rules and messages. Docker untars chrooted into the
//! container; here every entry's parent is resolved with `scoped_join`, so symlinks (absolute
//! ones too) resolve inside the rootfs, and names, symlinks and hard links that would leave
//! the target directory are refused before anything is written for them.

use std::ffi::CString;
use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, CWD, Timespec, Timestamps};
use tar::EntryType;

use crate::error::{IoContext, Result, RuntimeError};

/// Docker's wrapper around every failure while unpacking.
fn tar_error(message: impl std::fmt::Display) -> RuntimeError {
    RuntimeError::Other(format!(
        "Error processing tar file(exit status 1): {message}"
    ))
}

/// Lexically cleans an absolute container path (Go's `filepath.Clean`); `..` stops at `/`.
pub(crate) fn clean(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

/// `dest` joined with a relative `name`, or None when `..` climbs out of `dest`.
fn join_inside(dest: &str, name: &str) -> Option<String> {
    let mut parts: Vec<&str> = dest.split('/').filter(|p| !p.is_empty()).collect();
    let floor = parts.len();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." if parts.len() == floor => return None,
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    Some(format!("/{}", parts.join("/")))
}

fn inside(dest: &str, path: &str) -> bool {
    dest == "/" || path == dest || path.starts_with(&format!("{dest}/"))
}

/// Unpacks `input` into `dest` (a clean container path of an existing directory) of the
/// rootfs at `root`.
pub fn untar(root: &Path, dest: &str, input: impl Read) -> Result<()> {
    let mut input = BufReader::new(input);
    let gzip = input.fill_buf().map(|b| b.starts_with(&[0x1f, 0x8b]));
    let reader: Box<dyn Read> = match gzip {
        Ok(true) => Box::new(flate2::read::GzDecoder::new(input)),
        _ => Box::new(input),
    };
    let mut archive = tar::Archive::new(reader);
    let mut dirs: Vec<(PathBuf, Timestamps)> = Vec::new();
    for entry in archive.entries().map_err(tar_error)? {
        let mut entry = entry.map_err(unexpected_eof)?;
        let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let name = raw.trim_start_matches('/');
        let Some(path) = join_inside(dest, name) else {
            return Err(tar_error(format!("{raw:?} is outside of {dest:?}")));
        };
        if path == dest {
            continue; // "." is the destination itself, which exists.
        }
        let kind = entry.header().entry_type();
        let host = host_path(root, &path)?;
        if let Ok(existing) = std::fs::symlink_metadata(&host) {
            let is_dir = kind == EntryType::Directory;
            if existing.is_dir() && !is_dir {
                return Err(tar_error(format!(
                    "cannot overwrite directory {path:?} with non-directory {dest:?}"
                )));
            }
            if !existing.is_dir() && is_dir {
                return Err(tar_error(format!(
                    "cannot overwrite non-directory {path:?} with directory {dest:?}"
                )));
            }
            if !existing.is_dir() {
                std::fs::remove_file(&host).map_err(|e| tar_error(format!("{path}: {e}")))?;
            }
        }
        let header = entry.header().clone();
        match kind {
            EntryType::Directory => {
                if !host.is_dir() {
                    std::fs::create_dir(&host).map_err(|e| tar_error(format!("{path}: {e}")))?;
                }
            }
            EntryType::Regular | EntryType::Continuous => {
                let mut file = OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .custom_flags(libc::O_NOFOLLOW)
                    .open(&host)
                    .map_err(|e| tar_error(format!("{path}: {e}")))?;
                std::io::copy(&mut entry, &mut file).map_err(unexpected_eof)?;
            }
            EntryType::Symlink => {
                let target = link_name(&entry)?;
                let parent = parent_of(&path);
                let resolved = if target.starts_with('/') {
                    // Absolute targets resolve inside the container's root, like Docker's chroot.
                    Some(dest.to_string())
                } else {
                    join_inside("/", &format!("{parent}/{target}"))
                };
                if !resolved.is_some_and(|r| inside(dest, &r)) {
                    return Err(tar_error(format!("invalid symlink {path:?} -> {target:?}")));
                }
                std::os::unix::fs::symlink(&target, &host)
                    .map_err(|e| tar_error(format!("{path}: {e}")))?;
            }
            EntryType::Link => {
                let target = link_name(&entry)?;
                let joined = clean(&format!("{dest}/{target}"));
                if !inside(dest, &joined) {
                    return Err(tar_error(format!(
                        "invalid hardlink {joined:?} -> {target:?}"
                    )));
                }
                let source = host_path(root, &joined)?;
                std::fs::hard_link(&source, &host)
                    .map_err(|e| tar_error(format!("link {joined} {path}: {}", go_error(&e))))?;
            }
            EntryType::Char | EntryType::Block | EntryType::Fifo => {
                make_node(&host, &header, kind).map_err(|e| tar_error(format!("{path}: {e}")))?;
            }
            EntryType::XGlobalHeader | EntryType::XHeader | EntryType::GNULongName => continue,
            other => {
                return Err(tar_error(format!(
                    "unhandled tar header type {}",
                    other.as_byte()
                )));
            }
        }
        apply_metadata(&host, &header, kind, &mut dirs)
            .map_err(|e| tar_error(format!("{path}: {e}")))?;
    }
    // Directory times last: creating their entries changed them.
    for (dir, times) in dirs.iter().rev() {
        let _ = rustix::fs::utimensat(CWD, dir, times, AtFlags::SYMLINK_NOFOLLOW);
    }
    Ok(())
}

/// The host path of a container path: the parent resolved inside the rootfs (created when
/// missing, as Docker does), the last element kept as it is so it is never followed.
fn host_path(root: &Path, path: &str) -> Result<PathBuf> {
    let parent = super::scoped_join(root, parent_of(path))?;
    std::fs::create_dir_all(&parent).at(&parent)?;
    let base = path.rsplit('/').next().unwrap_or_default();
    Ok(parent.join(base))
}

fn parent_of(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

fn link_name<R: Read>(entry: &tar::Entry<'_, R>) -> Result<String> {
    entry
        .link_name_bytes()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .ok_or_else(|| tar_error("link entry without a target"))
}

/// Go's wording of common errors ("no such file or directory").
fn go_error(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        _ => e.to_string(),
    }
}

/// A short or corrupt stream reads as Go's "unexpected EOF" when it is one.
fn unexpected_eof(e: std::io::Error) -> RuntimeError {
    if e.kind() == std::io::ErrorKind::UnexpectedEof || e.to_string().contains("entire block") {
        tar_error("unexpected EOF")
    } else {
        tar_error(e)
    }
}

fn make_node(host: &Path, header: &tar::Header, kind: EntryType) -> std::io::Result<()> {
    let file_type = match kind {
        EntryType::Char => libc::S_IFCHR,
        EntryType::Block => libc::S_IFBLK,
        _ => libc::S_IFIFO,
    };
    let major = header.device_major()?.unwrap_or(0);
    let minor = header.device_minor()?.unwrap_or(0);
    let path = CString::new(host.as_os_str().as_bytes())?;
    let mode = header.mode()? & 0o7777;
    // SAFETY: `path` is a valid NUL-terminated string for the duration of the call.
    let rc = unsafe { libc::mknod(path.as_ptr(), file_type | mode, libc::makedev(major, minor)) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Owner, mode and mtime from the header; directory times are kept for the end.
fn apply_metadata(
    host: &Path,
    header: &tar::Header,
    kind: EntryType,
    dirs: &mut Vec<(PathBuf, Timestamps)>,
) -> std::io::Result<()> {
    let uid = header.uid()? as u32;
    let gid = header.gid()? as u32;
    std::os::unix::fs::lchown(host, Some(uid), Some(gid))?;
    if kind != EntryType::Symlink && kind != EntryType::Link {
        let mode = header.mode()? & 0o7777;
        std::fs::set_permissions(host, std::fs::Permissions::from_mode(mode))?;
    }
    if kind == EntryType::Link {
        return Ok(());
    }
    let mtime = Timespec {
        tv_sec: header.mtime()? as i64,
        tv_nsec: 0,
    };
    let times = Timestamps {
        last_access: mtime,
        last_modification: mtime,
    };
    if kind == EntryType::Directory {
        dirs.push((host.to_path_buf(), times));
        return Ok(());
    }
    rustix::fs::utimensat(CWD, host, &times, AtFlags::SYMLINK_NOFOLLOW)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_stay_inside_the_destination() {
        assert_eq!(join_inside("/tmp", "a/../b").as_deref(), Some("/tmp/b"));
        assert_eq!(join_inside("/tmp", "../../x"), None);
        assert_eq!(join_inside("/tmp", "a/../../x"), None);
        assert_eq!(join_inside("/", "./x").as_deref(), Some("/x"));
        assert!(inside("/tmp", "/tmp/x"));
        assert!(!inside("/tmp", "/tmpx"));
    }

    /// A tar built header by header: the tar crate refuses to write `..` itself.
    fn tar_of(entries: &[(&str, EntryType, &str)]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, kind, data) in entries {
            let mut h = tar::Header::new_old();
            h.set_entry_type(*kind);
            h.set_mode(0o644);
            h.set_uid(0);
            h.set_gid(0);
            h.set_mtime(0);
            h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
            let body = match kind {
                EntryType::Symlink | EntryType::Link => {
                    h.as_old_mut().linkname[..data.len()].copy_from_slice(data.as_bytes());
                    ""
                }
                _ => data,
            };
            h.set_size(body.len() as u64);
            h.set_cksum();
            b.append(&h, body.as_bytes()).unwrap();
        }
        b.into_inner().unwrap()
    }

    #[test]
    fn hostile_entries_are_refused_and_absolute_links_stay_inside() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("root");
        std::fs::create_dir_all(root.join("tmp")).unwrap();
        let outside = tmp.path().join("outside");
        std::fs::write(&outside, "secret").unwrap();

        let err = untar(
            &root,
            "/tmp",
            &tar_of(&[("../../x", EntryType::Regular, "x")])[..],
        );
        assert!(
            err.unwrap_err()
                .to_string()
                .contains("is outside of \"/tmp\"")
        );
        let err = untar(
            &root,
            "/tmp",
            &tar_of(&[("up", EntryType::Symlink, "../..")])[..],
        );
        assert!(err.unwrap_err().to_string().contains("invalid symlink"));
        let err = untar(
            &root,
            "/tmp",
            &tar_of(&[("h", EntryType::Link, "../../outside")])[..],
        );
        assert!(err.unwrap_err().to_string().contains("invalid hardlink"));

        // An absolute symlink is followed inside the rootfs, never on the host.
        untar(
            &root,
            "/tmp",
            &tar_of(&[
                ("lnk", EntryType::Symlink, "/"),
                ("lnk/escaped", EntryType::Regular, "x"),
            ])[..],
        )
        .unwrap();
        assert!(root.join("escaped").exists());
        assert!(!Path::new("/escaped").exists());
        assert_eq!(std::fs::read_to_string(&outside).unwrap(), "secret");
    }
}
