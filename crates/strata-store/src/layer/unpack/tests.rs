use super::*;
use std::os::unix::fs::MetadataExt;

/// Builds a tar whose header names are written raw, so tests can craft hostile paths that
/// tar::Builder would refuse.
fn tar_of(entries: &[(&str, tar::EntryType, &str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, kind, link, data) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(*kind);
        h.set_size(data.len() as u64);
        h.set_mode(if *kind == tar::EntryType::Directory {
            0o755
        } else {
            0o644
        });
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(1_700_000_000);
        let raw = h.as_old_mut();
        raw.name[..name.len()].copy_from_slice(name.as_bytes());
        raw.linkname[..link.len()].copy_from_slice(link.as_bytes());
        h.set_cksum();
        b.append(&h, *data).expect("append");
    }
    b.into_inner().expect("finish")
}

fn unpack(
    entries: &[(&str, tar::EntryType, &str, &[u8])],
) -> (tempfile::TempDir, Result<(), UnpackError>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let dest = dir.path().join("layer");
    fs::create_dir(&dest).expect("mkdir");
    let tar = tar_of(entries);
    let res = unpack_layer(&tar[..], &dest);
    (dir, res)
}

use tar::EntryType::{Directory as D, Link as H, Regular as F, Symlink as S};

#[test]
fn regular_files_dirs_and_links_unpack() {
    let (dir, res) = unpack(&[
        ("etc/", D, "", b""),
        ("etc/motd", F, "", b"hello"),
        ("etc/motd2", H, "etc/motd", b""),
        ("bin/sh", S, "/bin/busybox", b""),
        ("deep/a/b/c", F, "", b"x"),
    ]);
    res.expect("unpacks");
    let l = dir.path().join("layer");
    assert_eq!(fs::read(l.join("etc/motd")).expect("read"), b"hello");
    let a = fs::metadata(l.join("etc/motd")).expect("stat");
    let b = fs::metadata(l.join("etc/motd2")).expect("stat");
    assert_eq!(a.ino(), b.ino(), "hard link kept as a link");
    assert_eq!(
        fs::read_link(l.join("bin/sh")).expect("link"),
        Path::new("/bin/busybox")
    );
    assert_eq!(a.mtime(), 1_700_000_000);
    assert_eq!(
        fs::metadata(l.join("etc")).expect("stat").mtime(),
        1_700_000_000
    );
}

#[test]
fn dotdot_that_leaves_the_root_is_refused() {
    let (dir, res) = unpack(&[("../evil", F, "", b"x")]);
    assert!(matches!(res, Err(UnpackError::Breakout { .. })), "{res:?}");
    assert!(!dir.path().join("evil").exists());
    let (_d, res) = unpack(&[("a/../../evil", F, "", b"x")]);
    assert!(matches!(res, Err(UnpackError::Breakout { .. })), "{res:?}");
}

#[test]
fn absolute_paths_stay_inside() {
    let (dir, res) = unpack(&[("/etc/x", F, "", b"x"), ("/../y", F, "", b"y")]);
    res.expect("absolute names are relative to the layer root, as in Docker");
    assert!(dir.path().join("layer/etc/x").exists());
    assert!(dir.path().join("layer/y").exists());
}

#[test]
fn writing_through_a_symlink_is_refused() {
    let outside = tempfile::tempdir().expect("tempdir");
    let target = outside.path().to_str().expect("utf8").to_owned();
    let (_d, res) = unpack(&[("escape", S, &target, b""), ("escape/pwned", F, "", b"x")]);
    assert!(
        matches!(res, Err(UnpackError::ThroughSymlink { .. })),
        "{res:?}"
    );
    assert!(!outside.path().join("pwned").exists());
    // A directory replaced by a symlink later in the same tar must not be trusted either.
    let (_d, res) = unpack(&[
        ("d/", D, "", b""),
        ("d", S, &target, b""),
        ("d/pwned", F, "", b"x"),
    ]);
    assert!(
        matches!(res, Err(UnpackError::ThroughSymlink { .. })),
        "{res:?}"
    );
    assert!(!outside.path().join("pwned").exists());
}

#[test]
fn relative_symlink_escape_and_hardlinks_out_are_refused() {
    let (_d, res) = unpack(&[("a/link", S, "../../../etc/passwd", b"")]);
    assert!(
        matches!(res, Err(UnpackError::SymlinkEscape { .. })),
        "{res:?}"
    );
    let (_d, res) = unpack(&[("hl", H, "../../etc/passwd", b"")]);
    assert!(
        matches!(res, Err(UnpackError::BadHardlink { .. })),
        "{res:?}"
    );
    let (_d, res) = unpack(&[("hl", H, "/etc/passwd", b"")]);
    assert!(
        matches!(res, Err(UnpackError::BadHardlink { .. })),
        "absolute target not in layer: {res:?}"
    );
}

#[test]
fn whiteouts_become_overlay_whiteouts() {
    let (dir, res) = unpack(&[
        ("etc/.wh.motd", F, "", b""),
        ("var/", D, "", b""),
        ("var/.wh..wh..opq", F, "", b""),
    ]);
    res.expect("unpacks");
    let l = dir.path().join("layer");
    let m = fs::symlink_metadata(l.join("etc/motd")).expect("whiteout");
    use std::os::unix::fs::FileTypeExt;
    assert!(m.file_type().is_char_device());
    assert_eq!(m.rdev(), 0);
    let mut buf = [0u8; 4];
    let n = rustix::fs::lgetxattr(l.join("var"), OVERLAY_OPAQUE_XATTR, &mut buf).expect("xattr");
    assert_eq!(&buf[..n], b"y");
}

#[test]
fn truncated_archive_is_an_error() {
    let tar = tar_of(&[("big", F, "", &[7u8; 5000])]);
    let dir = tempfile::tempdir().expect("tempdir");
    let res = unpack_layer(&tar[..1200], dir.path());
    assert!(res.is_err(), "a cut archive must not unpack silently");
}

#[test]
fn clean_matches_go_filepath_clean_rules() {
    assert_eq!(
        clean_entry_path(Path::new("./a/./b/../c")),
        Some(PathBuf::from("a/c"))
    );
    assert_eq!(
        clean_entry_path(Path::new("/../../x")),
        Some(PathBuf::from("x"))
    );
    assert_eq!(clean_entry_path(Path::new("a/../..")), None);
    assert_eq!(clean_entry_path(Path::new("./")), Some(PathBuf::new()));
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn component() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("a".to_owned()),
            Just("b".to_owned()),
            Just("..".to_owned()),
            Just(".".to_owned()),
            Just("".to_owned()),
            Just(".wh.a".to_owned())
        ]
    }

    fn path() -> impl Strategy<Value = String> {
        (any::<bool>(), prop::collection::vec(component(), 1..5))
            .prop_map(|(abs, parts)| format!("{}{}", if abs { "/" } else { "" }, parts.join("/")))
    }

    fn kind() -> impl Strategy<Value = tar::EntryType> {
        prop_oneof![Just(F), Just(D), Just(S), Just(H)]
    }

    fn sandbox_entries(root: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in fs::read_dir(&d).into_iter().flatten().flatten() {
                let p = e.path();
                if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                    stack.push(p.clone());
                }
                out.push(p);
            }
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        /// Whatever the names, link targets and order, nothing lands outside the layer root.
        #[test]
        fn nothing_escapes_the_layer_root(entries in prop::collection::vec((path(), kind(), path()), 1..8)) {
            let sandbox = tempfile::tempdir().expect("tempdir");
            let dest = sandbox.path().join("deep/layer");
            fs::create_dir_all(&dest).expect("mkdir");
            let owned: Vec<(String, tar::EntryType, String)> = entries;
            let refs: Vec<(&str, tar::EntryType, &str, &[u8])> = owned
                .iter()
                .filter(|(n, _, l)| n.len() < 100 && l.len() < 100)
                .map(|(n, k, l)| (n.as_str(), *k, l.as_str(), &b"data"[..]))
                .collect();
            let tar = tar_of(&refs);
            let _ = unpack_layer(&tar[..], &dest);
            for p in sandbox_entries(sandbox.path()) {
                prop_assert!(p.starts_with(&dest) || dest.starts_with(&p), "{} was created outside the layer", p.display());
            }
        }
    }
}
