//! The build context: a directory (used in place) or a tar stream (unpacked into the
//! store's staging area), with the `.dockerignore` (or `<Dockerfile>.dockerignore`) patterns
//! applied whenever COPY/ADD read from it.

use std::fs;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use strata_dockerfile::ignore::IgnoreMatcher;

use crate::error::{BuildError, Result};

pub struct BuildContext {
    root: PathBuf,
    ignore: IgnoreMatcher,
    /// Keeps an unpacked tar context alive for the build.
    _unpacked: Option<tempfile::TempDir>,
}

impl BuildContext {
    /// A context directory used in place. `dockerfile_name` is the Dockerfile's file name, for
    /// `<name>.dockerignore`, which wins over `.dockerignore` when both exist.
    pub fn from_dir(root: &Path, dockerfile: Option<&Path>) -> Result<BuildContext> {
        let meta =
            fs::metadata(root).map_err(BuildError::io("unable to prepare context: path", root))?;
        if !meta.is_dir() {
            return Err(BuildError::Other(format!(
                "unable to prepare context: context must be a directory: {}",
                root.display()
            )));
        }
        let root = root
            .canonicalize()
            .map_err(BuildError::io("unable to prepare context: path", root))?;
        let ignore = read_ignore(&root, dockerfile)?;
        Ok(BuildContext {
            root,
            ignore,
            _unpacked: None,
        })
    }

    /// A context given as a tar stream (plain, gzip, bzip2, xz or zstd as the store detects),
    /// unpacked into `staging_parent`.
    pub fn from_tar(
        reader: impl Read,
        staging_parent: &Path,
        dockerfile: Option<&Path>,
    ) -> Result<BuildContext> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("{}-context-", std::process::id()))
            .tempdir_in(staging_parent)
            .map_err(BuildError::io(
                "creating context directory in",
                staging_parent,
            ))?;
        let (reader, _) = strata_store::compress::decompressed(reader)
            .map_err(|e| BuildError::Other(format!("unable to read the build context: {e}")))?;
        let mut archive = tar::Archive::new(reader);
        archive.set_preserve_permissions(true);
        archive.set_preserve_mtime(true);
        archive.set_unpack_xattrs(false);
        archive.set_overwrite(true);
        for entry in archive
            .entries()
            .map_err(|e| BuildError::Other(format!("unable to read the build context: {e}")))?
        {
            let mut entry = entry
                .map_err(|e| BuildError::Other(format!("unable to read the build context: {e}")))?;
            // unpack_in refuses paths that would leave the directory.
            entry.unpack_in(dir.path()).map_err(|e| {
                BuildError::Other(format!("unable to unpack the build context: {e}"))
            })?;
        }
        let ignore = read_ignore(dir.path(), dockerfile)?;
        Ok(BuildContext {
            root: dir.path().to_path_buf(),
            ignore,
            _unpacked: Some(dir),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Whether `rel` (slash-separated, relative to the root) is excluded by `.dockerignore`.
    pub fn is_ignored(&self, rel: &str) -> bool {
        !rel.is_empty() && self.ignore.matches(rel)
    }

    /// Whether a whole directory can be skipped when walking.
    pub fn may_skip_dir(&self, rel: &str) -> bool {
        self.ignore.may_skip_dir(rel)
    }
}

fn read_ignore(root: &Path, dockerfile: Option<&Path>) -> Result<IgnoreMatcher> {
    let mut candidates = Vec::new();
    if let Some(df) = dockerfile {
        let specific = PathBuf::from(format!("{}.dockerignore", df.display()));
        candidates.push(if specific.is_absolute() {
            specific
        } else {
            root.join(specific)
        });
    }
    candidates.push(root.join(".dockerignore"));
    for path in candidates {
        match fs::read(&path) {
            Ok(bytes) => {
                return IgnoreMatcher::parse(&bytes).map_err(|e| {
                    BuildError::Other(format!("failed to parse {}: {e}", path.display()))
                });
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                return Err(BuildError::Io {
                    context: "reading",
                    path,
                    source: e,
                });
            }
        }
    }
    IgnoreMatcher::new::<&str>(&[]).map_err(|e| BuildError::Other(e.to_string()))
}

/// Cleans a source path the way Go's `filepath.Clean` does, rooted at the context; `None`
/// when it climbs out of the context (`../x`).
pub fn clean_relative(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for c in Path::new(path).components() {
        match c {
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::Normal(s) => parts.push(s.to_str()?),
        }
    }
    Some(parts.join("/"))
}

/// `filepath.Match` for one path component: `*`, `?`, `[...]` (with `^`/`!` negation and
/// ranges) and `\` escapes.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    match_from(&p, &n)
}

fn match_from(p: &[char], n: &[char]) -> bool {
    match p.first() {
        None => n.is_empty(),
        Some('*') => (0..=n.len()).any(|i| match_from(&p[1..], &n[i..])),
        Some('?') => !n.is_empty() && match_from(&p[1..], &n[1..]),
        Some('[') => {
            let Some(&c) = n.first() else { return false };
            let mut i = 1;
            let negate = matches!(p.get(1), Some('^') | Some('!'));
            if negate {
                i += 1;
            }
            let mut matched = false;
            let mut first = true;
            while i < p.len() && (p[i] != ']' || first) {
                first = false;
                let mut lo = p[i];
                if lo == '\\' && i + 1 < p.len() {
                    i += 1;
                    lo = p[i];
                }
                let mut hi = lo;
                if p.get(i + 1) == Some(&'-') && p.get(i + 2).is_some_and(|&h| h != ']') {
                    hi = p[i + 2];
                    i += 2;
                }
                if lo <= c && c <= hi {
                    matched = true;
                }
                i += 1;
            }
            if i >= p.len() {
                return false;
            }
            matched != negate && match_from(&p[i + 1..], &n[1..])
        }
        Some('\\') if p.len() > 1 => n.first() == Some(&p[1]) && match_from(&p[2..], &n[1..]),
        Some(&c) => n.first() == Some(&c) && match_from(&p[1..], &n[1..]),
    }
}

pub fn has_wildcard(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleans_and_refuses_escapes() {
        assert_eq!(clean_relative("./a/../b/c").as_deref(), Some("b/c"));
        assert_eq!(clean_relative("/x/y").as_deref(), Some("x/y"));
        assert_eq!(clean_relative(".").as_deref(), Some(""));
        assert_eq!(clean_relative("../etc/passwd"), None);
    }

    #[test]
    fn globs_like_filepath_match() {
        assert!(glob_match("*.txt", "a.txt"));
        assert!(!glob_match("*.txt", "a.txt.bak"));
        assert!(glob_match("file?", "file1"));
        assert!(glob_match("[a-c]x", "bx"));
        assert!(!glob_match("[!a-c]x", "bx"));
        assert!(glob_match("\\*", "*"));
        assert!(!glob_match("\\*", "a"));
    }

    #[test]
    fn dockerfile_specific_ignore_wins() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(".dockerignore"), "a\n").unwrap();
        fs::write(dir.path().join("Dockerfile.dockerignore"), "b\n").unwrap();
        let ctx = BuildContext::from_dir(dir.path(), Some(Path::new("Dockerfile"))).unwrap();
        assert!(ctx.is_ignored("b") && !ctx.is_ignored("a"));
        let ctx = BuildContext::from_dir(dir.path(), Some(Path::new("Other"))).unwrap();
        assert!(ctx.is_ignored("a") && !ctx.is_ignored("b"));
    }
}
