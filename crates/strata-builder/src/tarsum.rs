//! The content hashes Docker's classic builder writes into COPY/ADD history
//! (`COPY file:<hash> in /dst`, `dir:<hash>`, `multi:<hash>`), so the history of a strata
//! build reads as Docker's does for the same context. Docker hashes each context entry as
//! tarsum v1 does: sha256 over selected tar header fields (no mtime) followed by the
//! content; a directory source is the sha256 of its entries' hashes, sorted and joined by
//! commas; several sources are the sha256 of their `kind:hash` strings in order.

use std::collections::HashMap;
use std::fs;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;
use std::sync::{Mutex, OnceLock};

use sha2::{Digest, Sha256};

use crate::error::{BuildError, Result};

/// How the header is filled. The build context reaches the daemon as a tar the CLI made:
/// every entry 0:0, no user names, permission bits only. Files of an image (`--from`) are
/// read from disk by the daemon: their own ids, names looked up on the host, and the mode
/// with its file-type bits (Go's `tar.FileInfoHeader`).
#[derive(Clone, Copy)]
pub enum Owner {
    Root,
    AsOnDisk,
}

/// The name for an id in the host's passwd or group file, as Go's user lookup finds it. The
/// files are read once per build process: a COPY --from of a large tree asks for every file.
fn host_name_for(file: &'static str, id: u32) -> String {
    static NAMES: OnceLock<Mutex<HashMap<&'static str, HashMap<u32, String>>>> = OnceLock::new();
    let names = NAMES.get_or_init(|| Mutex::new(HashMap::new()));
    let Ok(mut names) = names.lock() else {
        return String::new();
    };
    let table = names.entry(file).or_insert_with(|| {
        fs::read_to_string(file)
            .unwrap_or_default()
            .lines()
            .filter_map(|line| {
                let mut f = line.split(':');
                let name = f.next()?.to_string();
                let id = f.nth(1)?.parse::<u32>().ok()?;
                Some((id, name))
            })
            .rev() // the first entry for an id wins, as in a lookup
            .collect()
    });
    table.get(&id).cloned().unwrap_or_default()
}

fn header(name: &str, meta: &fs::Metadata, link: &str, owner: Owner) -> Sha256 {
    let ft = meta.file_type();
    let (typeflag, size) = if ft.is_dir() {
        ('5', 0)
    } else if ft.is_symlink() {
        ('2', 0)
    } else if ft.is_char_device() {
        ('3', 0)
    } else if ft.is_block_device() {
        ('4', 0)
    } else if ft.is_fifo() {
        ('6', 0)
    } else {
        ('0', meta.len())
    };
    let (uid, gid, mode, uname, gname) = match owner {
        Owner::Root => (0, 0, meta.mode() & 0o7777, String::new(), String::new()),
        Owner::AsOnDisk => (
            meta.uid(),
            meta.gid(),
            meta.mode(),
            host_name_for("/etc/passwd", meta.uid()),
            host_name_for("/etc/group", meta.gid()),
        ),
    };
    let (major, minor) = if ft.is_char_device() || ft.is_block_device() {
        let dev = meta.rdev();
        (libc_major(dev), libc_minor(dev))
    } else {
        (0, 0)
    };
    let mut h = Sha256::new();
    for (key, value) in [
        ("name", name.to_string()),
        ("mode", mode.to_string()),
        ("uid", uid.to_string()),
        ("gid", gid.to_string()),
        ("size", size.to_string()),
        ("typeflag", typeflag.to_string()),
        ("linkname", link.to_string()),
        ("uname", uname),
        ("gname", gname),
        ("devmajor", major.to_string()),
        ("devminor", minor.to_string()),
    ] {
        h.update(key.as_bytes());
        h.update(value.as_bytes());
    }
    h
}

fn libc_major(dev: u64) -> u64 {
    ((dev >> 32) & 0xffff_f000) | ((dev >> 8) & 0x0fff)
}

fn libc_minor(dev: u64) -> u64 {
    ((dev >> 12) & 0xffff_ff00) | (dev & 0x00ff)
}

/// The hash of one entry at `path`, named `rel` (relative to the source root, no `./`;
/// directories get a trailing `/` as in the context tar).
pub fn entry_hash(path: &Path, rel: &str, owner: Owner) -> Result<String> {
    let meta = fs::symlink_metadata(path).map_err(BuildError::io("stat", path))?;
    let ft = meta.file_type();
    if ft.is_dir() {
        let name = format!("{}/", rel.trim_end_matches('/'));
        return Ok(hex::encode(header(&name, &meta, "", owner).finalize()));
    }
    if ft.is_symlink() {
        let target = fs::read_link(path).map_err(BuildError::io("reading link", path))?;
        let h = header(rel, &meta, &target.to_string_lossy(), owner);
        return Ok(hex::encode(h.finalize()));
    }
    let mut h = header(rel, &meta, "", owner);
    if ft.is_file() {
        let mut f = fs::File::open(path).map_err(BuildError::io("opening", path))?;
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = f.read(&mut buf).map_err(BuildError::io("reading", path))?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
        }
    }
    Ok(hex::encode(h.finalize()))
}

/// A directory source: its entries' hashes (the directory itself included, unless it is
/// the context root) sorted and joined.
pub fn dir_hash(entry_hashes: &[String]) -> String {
    let mut sorted: Vec<&str> = entry_hashes.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    hex::encode(Sha256::digest(sorted.join(",").as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn write(path: &Path, data: &[u8], mode: u32) {
        fs::write(path, data).expect("write");
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
    }

    /// Values read off Docker 20.10's classic builder for this very context
    /// (`docker history --no-trunc` of COPY a.txt, COPY dir, COPY a.txt dir).
    #[test]
    fn hashes_match_dockers_classic_builder() {
        let ctx = tempfile::tempdir().expect("ctx");
        let root = ctx.path();
        write(&root.join("a.txt"), b"hello\n", 0o644);
        fs::create_dir_all(root.join("dir/sub")).expect("dirs");
        for d in ["dir", "dir/sub"] {
            fs::set_permissions(root.join(d), fs::Permissions::from_mode(0o755)).expect("chmod");
        }
        write(&root.join("dir/b"), b"x", 0o600);
        write(&root.join("dir/sub/c"), b"yy", 0o644);
        let file = entry_hash(&root.join("a.txt"), "a.txt", Owner::Root).expect("file");
        assert_eq!(
            file,
            "00ec16333078d287782d462baefc8bb9eb0231dc3aefba3ca3e2f7e5cf0cadda"
        );
        let entries: Vec<String> = ["dir", "dir/b", "dir/sub", "dir/sub/c"]
            .iter()
            .map(|rel| entry_hash(&root.join(rel), rel, Owner::Root).expect("entry"))
            .collect();
        let dir = dir_hash(&entries);
        assert_eq!(
            dir,
            "27e5935aaa284e3c420905911db6cb85a0eb1e8825e9da53d4f6beedd1b7d22f"
        );
        let multi = hex::encode(Sha256::digest(format!("file:{file},dir:{dir}").as_bytes()));
        assert_eq!(
            multi,
            "ae32b88a8438670e06ce447012b9540b3642f9a8e8ed5503afb52f909da6027c"
        );
    }

    /// `COPY --from=stage /greeting` of a root-owned 0644 file holding "hello you\n", as
    /// Docker 20.10 hashed it.
    #[test]
    fn files_from_a_stage_hash_with_their_own_metadata() {
        let root = tempfile::tempdir().expect("root");
        let path = root.path().join("greeting");
        write(&path, b"hello you\n", 0o644);
        if fs::metadata(&path).map(|m| m.uid()).unwrap_or(1) != 0 {
            return; // the vector is for a root-owned file
        }
        let hash = entry_hash(&path, "greeting", Owner::AsOnDisk).expect("hash");
        assert_eq!(
            hash,
            "64b836fa908de4bb67ed460f4f7bcb4f3269b4f902ab4ae26dd91dbf247afe18"
        );
    }
}
