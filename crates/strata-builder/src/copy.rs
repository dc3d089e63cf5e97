//! COPY, ADD and WORKDIR: the files are planned first (paths in the image, modes, owners
//! and content digests: the cache key), then, on a miss, staged in an overlay-format
//! directory (parents copied up from the image as overlayfs would) that becomes the layer.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};
use strata_dockerfile::instructions::Transfer;

use crate::builder::{Builder, StageState};
use crate::cache::StepInputs;
use crate::context::{clean_relative, glob_match, has_wildcard};
use crate::copy_fs as cfs;
use crate::error::{BuildError, Result};
use crate::image::{ImageRoot, staging_dir};
use crate::remote;
use crate::tarsum;

/// One path the step writes.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Absolute path in the image.
    pub dest: String,
    pub kind: Kind,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub mtime: i64,
    /// Content digest (files), target (symlinks), empty (dirs).
    pub digest: String,
}

#[derive(Debug, Clone)]
pub enum Kind {
    File(PathBuf),
    Dir,
    Symlink(PathBuf),
    Content(Vec<u8>),
    /// ADD of a local archive: unpacked into `dest`.
    Archive(PathBuf),
}

/// Where sources are read from, and what is hidden.
struct SourceRoot<'a> {
    root: PathBuf,
    context: Option<&'a crate::BuildContext>,
}

impl SourceRoot<'_> {
    fn ignored(&self, rel: &str) -> bool {
        self.context.is_some_and(|c| c.is_ignored(rel))
    }

    /// Docker's per-entry hash (see `tarsum`): the content identity in cache keys and the
    /// hash the history shows.
    fn hash(&self, path: &Path, rel: &str) -> Result<String> {
        let owner = if self.context.is_some() {
            tarsum::Owner::Root
        } else {
            tarsum::Owner::AsOnDisk
        };
        tarsum::entry_hash(path, rel, owner)
    }
}

fn join_abs(dir: &str, name: &str) -> String {
    if dir.ends_with('/') {
        format!("{dir}{name}")
    } else {
        format!("{dir}/{name}")
    }
}

/// Go's `path.Clean` of an absolute path.
pub fn clean_abs(p: &str) -> String {
    format!("/{}", clean_relative(p).unwrap_or_default())
}

/// `--chown` to numeric IDs, names looked up in the image's /etc/passwd and /etc/group. A
/// missing group part uses the user part as the group, as the classic builder does.
fn resolve_chown(spec: &str, root: &Path) -> std::result::Result<(u32, u32), String> {
    let (user, group) = spec.split_once(':').unwrap_or((spec, spec));
    let lookup = |file: &str, name: &str, field: usize| -> std::result::Result<u32, String> {
        if let Ok(n) = name.parse::<u32>() {
            return Ok(n);
        }
        let path = root.join(file);
        let text = fs::read_to_string(&path).map_err(|_| {
            format!("unable to find user {name}: no matching entries in passwd file")
        })?;
        text.lines()
            .map(|l| l.split(':').collect::<Vec<_>>())
            .find(|f| f.first() == Some(&name))
            .and_then(|f| f.get(field).and_then(|v| v.parse().ok()))
            .ok_or_else(|| {
                if file.ends_with("passwd") {
                    format!("unable to find user {name}: no matching entries in passwd file")
                } else {
                    format!("unable to find group {name}: no matching entries in group file")
                }
            })
    };
    let uid = lookup("etc/passwd", user, 2)?;
    let gid = lookup("etc/group", group, 2)?;
    Ok((uid, gid))
}

impl Builder<'_> {
    pub fn workdir(
        &mut self,
        st: &mut StageState,
        w: &str,
        used_args: BTreeMap<String, String>,
    ) -> Result<()> {
        let base = if st.config.working_dir.is_empty() {
            "/".to_string()
        } else {
            st.config.working_dir.clone()
        };
        let dir = if w.starts_with('/') {
            clean_abs(w)
        } else {
            clean_abs(&join_abs(&base, w))
        };
        st.config.working_dir = dir.clone();
        let cc = st.nop_config_string(&format!("WORKDIR {dir}"));
        let inputs = StepInputs {
            args: used_args,
            ..StepInputs::default()
        };
        self.finish_step(st, &cc, "", inputs, &mut |b, st| {
            let root = ImageRoot::open(b.store, st.image.as_ref())?;
            if root.join(&dir).is_dir() {
                return Ok(None);
            }
            let staging = staging_dir(b.store, "workdir")?;
            cfs::stage_parents(root.path(), staging.path(), &dir, (0, 0), true)?;
            Ok(Some(Box::new(staging)))
        })
    }

    #[allow(clippy::too_many_arguments)]
    pub fn copy(
        &mut self,
        st: &mut StageState,
        name: &str,
        t: &Transfer,
        from: Option<&str>,
        is_add: bool,
        checksum: Option<&str>,
        used_args: BTreeMap<String, String>,
        line: usize,
    ) -> Result<()> {
        let err = |m: String| BuildError::step(line, m);
        // The source root: the context, a finished stage or an image.
        let mut from_root = None;
        if let Some(f) = from {
            let lower = f.to_ascii_lowercase();
            let image = if let Some(done) = self.stages_done.get(&lower) {
                done.as_ref().map(|id| self.store.image(id)).transpose()?
            } else if self
                .stage_names
                .iter()
                .any(|n| n.as_deref() == Some(lower.as_str()))
            {
                return Err(err(format!("circular dependency detected on stage: {f}")));
            } else {
                // An image, pulled when missing as Docker's getImageMount does.
                let image = self
                    .base_image(f)
                    .map_err(|e| err(format!("invalid from flag value {f}: {e}")))?;
                Some(image)
            };
            from_root = Some(ImageRoot::open(self.store, image.as_ref())?);
        }
        let src = match &from_root {
            Some(r) => SourceRoot {
                root: r.path().to_path_buf(),
                context: None,
            },
            None => SourceRoot {
                root: self.context.root().to_path_buf(),
                context: Some(self.context),
            },
        };
        let image_root = ImageRoot::open(self.store, st.image.as_ref())?;
        let owner = match &t.chown {
            Some(c) if !c.is_empty() => resolve_chown(c, image_root.path()).map_err(err)?,
            _ => (0, 0),
        };
        let chmod = match &t.chmod {
            Some(m) => Some(
                u32::from_str_radix(m, 8)
                    .map_err(|_| err(format!("invalid chmod parameter: {m}")))?,
            ),
            None => None,
        };
        let checksum = match checksum {
            Some(c) => Some(remote::check_checksum_use(c, &t.sources).map_err(&err)?),
            None => None,
        };
        // Sources after wildcard expansion, as context-relative paths, or URLs.
        let mut sources: Vec<String> = Vec::new();
        let mut urls = BTreeMap::new();
        // Downloads live here until the step is committed.
        let mut download_dir = None;
        for s in &t.sources {
            if remote::is_git(s) || (remote::is_url(s) && !is_add) {
                return Err(err(if is_add {
                    format!(
                        "{name} failed: git repositories ({s}) are not supported: strata's builder does not clone; clone it into the build context and COPY it"
                    )
                } else {
                    "source can't be a URL for COPY".to_string()
                }));
            }
            if remote::is_url(s) {
                let dir = match &download_dir {
                    Some(d) => d,
                    None => download_dir.insert(staging_dir(self.store, "download")?),
                };
                let sub = dir.path().join(urls.len().to_string());
                fs::create_dir(&sub).map_err(BuildError::io("creating", &sub))?;
                let d = remote::download(s, &sub, checksum.as_ref())
                    .map_err(|e| err(format!("{name} failed: {e}")))?;
                self.progress.event(crate::Event::Downloaded { url: s });
                let key = format!("\0url{}", urls.len());
                urls.insert(key.clone(), d);
                sources.push(key);
                continue;
            }
            let Some(rel) = clean_relative(s) else {
                return Err(err(format!(
                    "{name} failed: forbidden path outside the build context: {s} ()"
                )));
            };
            if has_wildcard(&rel) {
                let found = glob_paths(&src, &rel);
                if found.is_empty() {
                    return Err(err(format!(
                        "{name} failed: no source files were specified"
                    )));
                }
                sources.extend(found);
            } else {
                if !rel.is_empty()
                    && (src.ignored(&rel) || fs::symlink_metadata(src.root.join(&rel)).is_err())
                {
                    return Err(err(format!(
                        "{name} failed: file not found in build context or excluded by .dockerignore: stat {rel}: file does not exist"
                    )));
                }
                sources.push(rel);
            }
        }
        let workdir = if st.config.working_dir.is_empty() {
            "/".to_string()
        } else {
            st.config.working_dir.clone()
        };
        let raw_dest = t.dest.clone();
        let dest_dir_form = raw_dest.ends_with('/') || raw_dest == "." || raw_dest.ends_with("/.");
        let dest = if raw_dest.starts_with('/') {
            clean_abs(&raw_dest)
        } else {
            clean_abs(&join_abs(&workdir, &raw_dest))
        };
        if sources.len() + t.contents.len() > 1 && !dest_dir_form {
            return Err(err(format!(
                "When using {name} with more than one source file, the destination must be a directory and end with a /"
            )));
        }
        let dest_is_dir = dest_dir_form || image_root.join(&dest).is_dir();
        // Plan every entry and the per-source hashes Docker's history shows.
        let mut entries: Vec<Entry> = Vec::new();
        let mut source_hashes: Vec<String> = Vec::new();
        let fix = |e: &mut Entry| {
            e.uid = owner.0;
            e.gid = owner.1;
            if let Some(m) = chmod {
                e.mode = m;
            }
        };
        for rel in &sources {
            if let Some(d) = urls.get(rel) {
                if !d.named && raw_dest.ends_with('/') {
                    return Err(err(format!(
                        "{name} failed: cannot determine filename for source {}",
                        d.url
                    )));
                }
                // Docker's history shows a URL's hash without the `file:` prefix.
                source_hashes.push(d.hash.clone());
                let mut e = Entry {
                    dest: if dest_is_dir {
                        join_abs(&dest, &d.name)
                    } else {
                        dest.clone()
                    },
                    kind: Kind::File(d.path.clone()),
                    mode: 0o600,
                    uid: 0,
                    gid: 0,
                    mtime: d.mtime,
                    digest: d.hash.clone(),
                };
                fix(&mut e);
                entries.push(e);
                continue;
            }
            let path = src.root.join(rel);
            let meta = fs::metadata(&path).map_err(BuildError::io("stat", &path))?;
            if meta.is_dir() {
                let start = entries.len();
                // The context root itself is not an entry of Docker's walk; any other
                // directory source is.
                let own_hash = if rel.is_empty() {
                    String::new()
                } else {
                    src.hash(&path, rel)?
                };
                let mut e = Entry {
                    dest: dest.clone(),
                    kind: Kind::Dir,
                    mode: meta.mode() & 0o7777,
                    uid: 0,
                    gid: 0,
                    mtime: meta.mtime(),
                    digest: own_hash,
                };
                fix(&mut e);
                entries.push(e);
                walk_dir(&src, &path, rel, &dest, &mut entries)?;
                for e in &mut entries[start..] {
                    fix(e);
                }
                let hashes: Vec<String> = entries[start..]
                    .iter()
                    .filter(|e| !e.digest.is_empty())
                    .map(|e| e.digest.clone())
                    .collect();
                source_hashes.push(format!("dir:{}", tarsum::dir_hash(&hashes)));
            } else {
                let base = Path::new(rel)
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let digest = src.hash(&path, rel)?;
                source_hashes.push(format!("file:{digest}"));
                if is_add && is_archive(&path) {
                    let e = Entry {
                        dest: dest.clone(),
                        kind: Kind::Archive(path.clone()),
                        mode: 0o755,
                        uid: 0,
                        gid: 0,
                        mtime: meta.mtime(),
                        digest,
                    };
                    entries.push(e);
                    continue;
                }
                let target = if dest_is_dir {
                    join_abs(&dest, &base)
                } else {
                    dest.clone()
                };
                let mut e = Entry {
                    dest: target,
                    kind: Kind::File(path.clone()),
                    mode: meta.mode() & 0o7777,
                    uid: 0,
                    gid: 0,
                    mtime: meta.mtime(),
                    digest,
                };
                fix(&mut e);
                entries.push(e);
            }
        }
        for c in &t.contents {
            let data = c.data.clone().into_bytes();
            let digest = hex::encode(Sha256::digest(&data));
            source_hashes.push(format!("file:{digest}"));
            let target = if dest_is_dir {
                join_abs(&dest, &c.path)
            } else {
                dest.clone()
            };
            let mut e = Entry {
                dest: target,
                kind: Kind::Content(data),
                mode: 0o644,
                uid: 0,
                gid: 0,
                mtime: 0,
                digest,
            };
            fix(&mut e);
            entries.push(e);
        }
        let src_hash = if source_hashes.len() == 1 {
            source_hashes[0].clone()
        } else {
            format!(
                "multi:{}",
                hex::encode(Sha256::digest(source_hashes.join(",").as_bytes()))
            )
        };
        let chown_comment = t
            .chown
            .as_ref()
            .map(|c| format!("--chown={c}"))
            .unwrap_or_default();
        let comment = format!("{name} {chown_comment}{src_hash} in {raw_dest} ");
        let cc = st.nop_config_string(&comment);
        let mut key_hasher = Sha256::new();
        let mut files = BTreeMap::new();
        for e in &entries {
            let line = format!(
                "{}\0{:?}\0{:o}\0{}\0{}\0{}\n",
                e.dest,
                kind_tag(&e.kind),
                e.mode,
                e.uid,
                e.gid,
                e.digest
            );
            key_hasher.update(line.as_bytes());
            files.insert(
                e.dest.clone(),
                hex::encode(&Sha256::digest(line.as_bytes())[..8]),
            );
        }
        let sources_digest = hex::encode(key_hasher.finalize());
        let inputs = StepInputs {
            args: used_args,
            files,
            ..StepInputs::default()
        };
        drop(image_root);
        let epoch = self.opts.source_date_epoch;
        self.finish_step(st, &cc, &sources_digest, inputs, &mut |b, st| {
            let root = ImageRoot::open(b.store, st.image.as_ref())?;
            let staging = staging_dir(b.store, "copy")?;
            cfs::materialize(root.path(), staging.path(), &entries, owner)
                .map_err(|e| e.at_line(line))?;
            if let Some(epoch) = epoch {
                crate::image::clamp_mtimes(staging.path(), epoch)
                    .map_err(BuildError::io("clamping times in", staging.path()))?;
            }
            Ok(Some(Box::new(staging)))
        })
    }
}

fn kind_tag(k: &Kind) -> &'static str {
    match k {
        Kind::File(_) | Kind::Content(_) => "file",
        Kind::Dir => "dir",
        Kind::Symlink(_) => "symlink",
        Kind::Archive(_) => "archive",
    }
}

/// Files under a source directory (not ignored), as entries below `dest`.
fn walk_dir(
    src: &SourceRoot<'_>,
    dir: &Path,
    rel: &str,
    dest: &str,
    out: &mut Vec<Entry>,
) -> Result<()> {
    let mut names: Vec<_> = fs::read_dir(dir)
        .map_err(BuildError::io("reading", dir))?
        .filter_map(|e| e.ok().map(|e| e.file_name()))
        .collect();
    names.sort();
    for name in names {
        let name = name.to_string_lossy().into_owned();
        let child_rel = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        let path = dir.join(&name);
        let meta = fs::symlink_metadata(&path).map_err(BuildError::io("stat", &path))?;
        let child_dest = join_abs(dest, &name);
        if src.ignored(&child_rel) {
            if meta.is_dir() && !src.context.is_some_and(|c| c.may_skip_dir(&child_rel)) {
                // An exception below may bring files back: walk, but don't create the dir itself unless needed.
                let mut sub = Vec::new();
                walk_dir(src, &path, &child_rel, &child_dest, &mut sub)?;
                if !sub.is_empty() {
                    out.push(Entry {
                        dest: child_dest,
                        kind: Kind::Dir,
                        mode: meta.mode() & 0o7777,
                        uid: 0,
                        gid: 0,
                        mtime: meta.mtime(),
                        digest: src.hash(&path, &child_rel)?,
                    });
                    out.extend(sub);
                }
            }
            continue;
        }
        let mode = meta.mode() & 0o7777;
        if meta.is_dir() {
            out.push(Entry {
                dest: child_dest.clone(),
                kind: Kind::Dir,
                mode,
                uid: 0,
                gid: 0,
                mtime: meta.mtime(),
                digest: src.hash(&path, &child_rel)?,
            });
            walk_dir(src, &path, &child_rel, &child_dest, out)?;
        } else if meta.file_type().is_symlink() {
            let target = fs::read_link(&path).map_err(BuildError::io("reading link", &path))?;
            let digest = src.hash(&path, &child_rel)?;
            out.push(Entry {
                dest: child_dest,
                kind: Kind::Symlink(target),
                mode,
                uid: 0,
                gid: 0,
                mtime: meta.mtime(),
                digest,
            });
        } else if meta.is_file() {
            let digest = src.hash(&path, &child_rel)?;
            out.push(Entry {
                dest: child_dest,
                kind: Kind::File(path),
                mode,
                uid: 0,
                gid: 0,
                mtime: meta.mtime(),
                digest,
            });
        }
    }
    Ok(())
}

/// Paths matching a pattern component by component (`filepath.Glob` on the source root).
fn glob_paths(src: &SourceRoot<'_>, pattern: &str) -> Vec<String> {
    let mut current = vec![String::new()];
    for part in pattern.split('/') {
        let mut next = Vec::new();
        for base in &current {
            let dir = src.root.join(base);
            if has_wildcard(part) {
                let Ok(rd) = fs::read_dir(&dir) else { continue };
                let mut names: Vec<String> = rd
                    .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
                    .collect();
                names.sort();
                for n in names {
                    if glob_match(part, &n) {
                        next.push(if base.is_empty() {
                            n
                        } else {
                            format!("{base}/{n}")
                        });
                    }
                }
            } else {
                let p = if base.is_empty() {
                    part.to_string()
                } else {
                    format!("{base}/{part}")
                };
                if fs::symlink_metadata(src.root.join(&p)).is_ok() {
                    next.push(p);
                }
            }
        }
        current = next;
    }
    current.retain(|p| !src.ignored(p));
    current
}

/// Whether ADD should unpack this file: a (possibly compressed) tar.
fn is_archive(path: &Path) -> bool {
    let Ok(f) = fs::File::open(path) else {
        return false;
    };
    let Ok((mut r, _)) = strata_store::compress::decompressed(f) else {
        return false;
    };
    let mut block = [0u8; 512];
    if r.read_exact(&mut block).is_err() {
        return false;
    }
    if &block[257..262] == b"ustar" {
        return true;
    }
    // Old-style tar: check the header checksum.
    let stored = std::str::from_utf8(&block[148..156])
        .ok()
        .map(|s| s.trim_matches(|c: char| c == '\0' || c == ' '))
        .and_then(|s| u32::from_str_radix(s, 8).ok());
    let sum: u32 = block
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u32::from(b)
            }
        })
        .sum();
    stored == Some(sum) && block[0] != 0
}

#[allow(dead_code)]
fn mode_of(path: &Path) -> u32 {
    fs::metadata(path)
        .map(|m| m.permissions().mode())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chown_names_come_from_the_image() {
        let root = tempfile::tempdir().unwrap();
        fs::create_dir(root.path().join("etc")).unwrap();
        fs::write(
            root.path().join("etc/passwd"),
            "root:x:0:0::/root:/bin/sh\nwww:x:33:33::/var/www:/bin/sh\n",
        )
        .unwrap();
        fs::write(
            root.path().join("etc/group"),
            "root:x:0:\nwww:x:33:\nstaff:x:50:\n",
        )
        .unwrap();
        assert_eq!(resolve_chown("www", root.path()).unwrap(), (33, 33));
        assert_eq!(resolve_chown("www:staff", root.path()).unwrap(), (33, 50));
        assert_eq!(
            resolve_chown("1000:1001", root.path()).unwrap(),
            (1000, 1001)
        );
        assert!(
            resolve_chown("nobody", root.path())
                .unwrap_err()
                .contains("unable to find user nobody")
        );
    }

    #[test]
    fn detects_archives() {
        let dir = tempfile::tempdir().unwrap();
        let tar_path = dir.path().join("a.tar");
        let mut b = tar::Builder::new(fs::File::create(&tar_path).unwrap());
        let mut h = tar::Header::new_gnu();
        h.set_size(2);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, "x.txt", &b"hi"[..]).unwrap();
        b.finish().unwrap();
        drop(b);
        assert!(is_archive(&tar_path));
        fs::write(dir.path().join("plain"), vec![b'a'; 600]).unwrap();
        assert!(!is_archive(&dir.path().join("plain")));
    }

    #[test]
    fn clean_absolute_paths() {
        assert_eq!(clean_abs("/app/./x/../y/"), "/app/y");
        assert_eq!(clean_abs("/"), "/");
    }
}
