//! `cp` between a container's filesystem and the host: container paths are resolved inside
//! the root filesystem (symlinks cannot lead out of it), the rootfs is mounted for the copy
//! when the container is not running, and files keep their owners and modes (`cp -a`).
//! `-` as the host side streams a tar instead (`archive`, `extract`).

mod archive;
mod extract;

use std::path::{Component, Path, PathBuf};
use std::process::Command;

use crate::error::{IoContext, Result, RuntimeError};
use crate::record::ContainerRecord;
use crate::storage::{self, RootfsDirs};
use crate::store::ContainerStore;

/// Joins `path` onto `root`, resolving `..` and symlinks as if `root` were `/`.
pub fn scoped_join(root: &Path, path: &str) -> Result<PathBuf> {
    let mut resolved = PathBuf::new();
    let mut pending: Vec<String> = path
        .split('/')
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .rev()
        .collect();
    let mut links = 0;
    while let Some(part) = pending.pop() {
        match part.as_str() {
            "." => continue,
            ".." => {
                resolved.pop();
                continue;
            }
            _ => {}
        }
        let candidate = resolved.join(&part);
        let full = root.join(&candidate);
        match std::fs::symlink_metadata(&full) {
            Ok(meta) if meta.file_type().is_symlink() => {
                links += 1;
                if links > 40 {
                    return Err(RuntimeError::Other(format!(
                        "too many levels of symbolic links: {path}"
                    )));
                }
                let target = std::fs::read_link(&full).at(&full)?;
                if target.is_absolute() {
                    resolved = PathBuf::new();
                }
                let mut parts: Vec<String> = target
                    .components()
                    .filter_map(|c| match c {
                        Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
                        Component::ParentDir => Some("..".into()),
                        _ => None,
                    })
                    .collect();
                parts.reverse();
                pending.extend(parts);
            }
            _ => resolved = candidate,
        }
    }
    Ok(root.join(resolved))
}

/// Runs `f` with the container's root filesystem available, mounting it if needed.
fn with_rootfs<T>(
    store: &ContainerStore,
    record: &ContainerRecord,
    f: impl FnOnce(&Path) -> Result<T>,
) -> Result<T> {
    let dir = store.container_dir(&record.id);
    let dirs = RootfsDirs::new(&dir);
    if record.state.running
        || storage::is_mounted(&dirs.merged)
        || record.strata.storage == storage::VFS && dirs.merged.exists()
    {
        return f(&dirs.merged);
    }
    let driver = storage::prepare(&record.strata.layers, &dirs, &record.strata.storage)?;
    let result = f(&dirs.merged);
    storage::release(&dirs, driver)?;
    result
}

fn cp_a(src: &Path, dest: &Path) -> Result<()> {
    let out = Command::new("cp")
        .arg("-a")
        .arg("--")
        .arg(src)
        .arg(dest)
        .output()
        .map_err(|e| RuntimeError::Other(format!("cp: {e}")))?;
    if !out.status.success() {
        return Err(RuntimeError::Other(
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ));
    }
    Ok(())
}

/// `cp CONTAINER:SRC DEST`.
pub fn copy_from(store: &ContainerStore, id: &str, src: &str, dest: &Path) -> Result<()> {
    let record = crate::lifecycle::load_checked(store, id)?;
    with_rootfs(store, &record, |root| {
        let from = scoped_join(root, src)?;
        if std::fs::symlink_metadata(&from).is_err() {
            return Err(RuntimeError::Other(format!(
                "Could not find the file {src} in container {}",
                record.name.trim_start_matches('/')
            )));
        }
        cp_a(&from, dest)
    })
}

/// `cp SRC CONTAINER:DEST`.
pub fn copy_to(store: &ContainerStore, id: &str, src: &Path, dest: &str) -> Result<()> {
    let record = crate::lifecycle::load_checked(store, id)?;
    if !src.exists() {
        return Err(RuntimeError::Other(format!(
            "lstat {}: no such file or directory",
            src.display()
        )));
    }
    with_rootfs(store, &record, |root| {
        let to = scoped_join(root, dest)?;
        let parent_ok = to.parent().is_some_and(|p| p.is_dir());
        if !parent_ok {
            return Err(RuntimeError::Other(format!(
                "Could not find the file {dest} in container {}",
                record.name.trim_start_matches('/')
            )));
        }
        cp_a(src, &to)
    })
}

/// `cp CONTAINER:SRC -`: `src` as a tar stream on `out`. Without `follow_link` a symlink
/// as the last element is archived as the link, as Docker does.
pub fn archive_from(
    store: &ContainerStore,
    id: &str,
    src: &str,
    follow_link: bool,
    out: impl std::io::Write,
) -> Result<()> {
    let record = crate::lifecycle::load_checked(store, id)?;
    with_rootfs(store, &record, |root| {
        let clean = extract::clean(src);
        let (parent, base) = clean.rsplit_once('/').unwrap_or(("", &clean));
        let from = if follow_link || base.is_empty() {
            scoped_join(root, &clean)?
        } else {
            scoped_join(root, parent)?.join(base)
        };
        if std::fs::symlink_metadata(&from).is_err() {
            return Err(RuntimeError::Other(format!(
                "Could not find the file {src} in container {}",
                record.name.trim_start_matches('/')
            )));
        }
        // `SRC/.` copies the directory's content: Docker names the entries `./…`.
        let name = if src.ends_with("/.") || base.is_empty() {
            "."
        } else {
            base
        };
        archive::write_tar(&from, name, out)
    })
}

/// `cp - CONTAINER:DEST`: unpacks the tar stream `input` into the directory `dest`.
pub fn extract_to(
    store: &ContainerStore,
    id: &str,
    dest: &str,
    input: impl std::io::Read,
) -> Result<()> {
    let record = crate::lifecycle::load_checked(store, id)?;
    with_rootfs(store, &record, |root| {
        let to = scoped_join(root, dest)?;
        if !to.is_dir() {
            return Err(RuntimeError::CopyDestinationNotDirectory(dest.to_string()));
        }
        extract::untar(root, &extract::clean(dest), input)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symlinks_stay_inside_the_root() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::os::unix::fs::symlink("/etc", root.join("link")).unwrap();
        std::os::unix::fs::symlink("../../../../", root.join("etc/up")).unwrap();
        assert_eq!(
            scoped_join(root, "/link/passwd").unwrap(),
            root.join("etc/passwd")
        );
        assert_eq!(scoped_join(root, "/etc/up/x").unwrap(), root.join("x"));
        assert_eq!(scoped_join(root, "/../../x").unwrap(), root.join("x"));
    }
}
