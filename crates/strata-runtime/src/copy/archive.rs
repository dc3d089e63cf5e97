//! `cp CONTAINER:SRC -`: a tar stream of one path, as Docker's `TarWithOptions` with a rebase
//! name writes it: entries named after the source's last element (`etc/`, `etc/group`), or `./…`
//! for `SRC/.`, walked in lexical order, hard links within the stream kept as links.

use std::collections::HashMap;
use std::fs::{File, Metadata};
use std::io::Write;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use tar::{EntryType, Header, HeaderMode};

use crate::error::{IoContext, Result, RuntimeError};

/// Writes `path` (on the host, already resolved inside the rootfs) as a tar stream whose
/// top entry is named `name`.
pub fn write_tar(path: &Path, name: &str, out: impl Write) -> Result<()> {
    let mut builder = tar::Builder::new(out);
    builder.follow_symlinks(false);
    let mut links = HashMap::new();
    append(&mut builder, path, name, &mut links)?;
    builder
        .into_inner()
        .and_then(|mut w| w.flush())
        .map_err(|e| RuntimeError::Other(format!("writing the tar stream: {e}")))?;
    Ok(())
}

/// Hard links seen so far: (device, inode) -> the entry name that holds the data.
type Links = HashMap<(u64, u64), String>;

fn append<W: Write>(
    builder: &mut tar::Builder<W>,
    path: &Path,
    name: &str,
    links: &mut Links,
) -> Result<()> {
    let meta = std::fs::symlink_metadata(path).at(path)?;
    let write_err = |e: std::io::Error| RuntimeError::Other(format!("writing the tar stream: {e}"));
    let mut header = Header::new_gnu();
    header.set_metadata_in_mode(&meta, HeaderMode::Complete);
    let kind = meta.file_type();
    if kind.is_dir() {
        let dir_name = if name.ends_with('/') {
            name.to_string()
        } else {
            format!("{name}/")
        };
        header.set_size(0);
        put(builder, &mut header, &dir_name, None, std::io::empty()).map_err(write_err)?;
        let mut children: Vec<_> = std::fs::read_dir(path)
            .at(path)?
            .filter_map(|e| e.ok().map(|e| e.file_name()))
            .collect();
        children.sort();
        for child in children {
            let child_name = format!("{dir_name}{}", child.to_string_lossy());
            append(builder, &path.join(&child), &child_name, links)?;
        }
    } else if kind.is_symlink() {
        let target = std::fs::read_link(path).at(path)?;
        header.set_size(0);
        put(builder, &mut header, name, Some(&target), std::io::empty()).map_err(write_err)?;
    } else if kind.is_file() {
        if let Some(first) = hard_link_of(&meta, name, links) {
            header.set_entry_type(EntryType::Link);
            header.set_size(0);
            put(
                builder,
                &mut header,
                name,
                Some(Path::new(&first)),
                std::io::empty(),
            )
            .map_err(write_err)?;
        } else {
            let file = File::open(path).at(path)?;
            put(builder, &mut header, name, None, file).map_err(write_err)?;
        }
    } else {
        // Devices and fifos: header only; set_metadata does not fill device numbers.
        if kind.is_char_device() || kind.is_block_device() {
            let rdev = meta.rdev();
            let _ = header.set_device_major(libc::major(rdev));
            let _ = header.set_device_minor(libc::minor(rdev));
        }
        header.set_size(0);
        put(builder, &mut header, name, None, std::io::empty()).map_err(write_err)?;
    }
    Ok(())
}

/// Appends one entry. Names that fit the header are written as they are, since the tar
/// crate drops a leading `./` that Docker keeps; longer ones go through its GNU long names.
fn put<W: Write>(
    builder: &mut tar::Builder<W>,
    header: &mut Header,
    name: &str,
    link: Option<&Path>,
    data: impl std::io::Read,
) -> std::io::Result<()> {
    let link_bytes = link.map(|l| l.as_os_str().as_encoded_bytes());
    let fits = name.len() <= 100 && link_bytes.is_none_or(|l| l.len() <= 100);
    if !fits {
        return match link {
            Some(target) => builder.append_link(header, name, target),
            None => builder.append_data(header, name, data),
        };
    }
    let old = header.as_old_mut();
    old.name = [0; 100];
    old.name[..name.len()].copy_from_slice(name.as_bytes());
    if let Some(l) = link_bytes {
        old.linkname = [0; 100];
        old.linkname[..l.len()].copy_from_slice(l);
    }
    header.set_cksum();
    builder.append(header, data)
}

fn hard_link_of(meta: &Metadata, name: &str, links: &mut Links) -> Option<String> {
    if meta.nlink() < 2 {
        return None;
    }
    let key = (meta.dev(), meta.ino());
    if let Some(first) = links.get(&key) {
        return Some(first.clone());
    }
    links.insert(key, name.to_string());
    None
}
