//! Docker's layer size (`pkg/directory.Size`): the sum of `lstat` sizes of everything that is
//! not a directory, each inode counted once so hard links do not count twice.

use std::collections::HashSet;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

pub fn directory_size(dir: &Path) -> io::Result<u64> {
    let mut seen = HashSet::new();
    let mut total = 0u64;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let entry = entry?;
            let meta = entry.metadata()?; // DirEntry::metadata does not follow symlinks
            if meta.is_dir() {
                stack.push(entry.path());
            } else if meta.len() > 0 && seen.insert(meta.ino()) {
                total += meta.len();
            }
        }
    }
    Ok(total)
}
