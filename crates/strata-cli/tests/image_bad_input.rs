//! Bad input gets a clear error and leaves the store exactly as it was.

mod common;

use common::{Strata, busybox_tar, hostile_tar};
use std::path::Path;

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write");
    p.display().to_string()
}

#[test]
fn import_refuses_entries_that_escape_the_root() {
    let s = Strata::new();
    s.import_busybox("base:1");
    let before = s.snapshot();
    let dir = tempfile::tempdir().expect("tmp");
    let outside = tempfile::tempdir().expect("outside");
    let outside_path = outside.path().display().to_string();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "dotdot",
            hostile_tar(&[("../../evil", tar::EntryType::Regular, "", b"x")]),
            "escapes the layer root",
        ),
        (
            "through-symlink",
            hostile_tar(&[
                ("esc", tar::EntryType::Symlink, &outside_path, b""),
                ("esc/pwned", tar::EntryType::Regular, "", b"x"),
            ]),
            "through the symlink",
        ),
        (
            "hardlink-out",
            hostile_tar(&[("hl", tar::EntryType::Link, "../../../etc/shadow", b"")]),
            "invalid hardlink",
        ),
        (
            "symlink-up",
            hostile_tar(&[("a/b", tar::EntryType::Symlink, "../../../../etc", b"")]),
            "invalid symlink",
        ),
    ];
    for (name, bytes, want) in cases {
        let path = write(dir.path(), name, &bytes);
        let err = s.fails(&["import", &path, &format!("bad-{name}")]);
        assert!(err.contains(want), "{name}: {err}");
        assert_eq!(s.snapshot(), before, "{name}: store changed");
    }
    assert!(!outside.path().join("pwned").exists());
}

#[test]
fn truncated_and_garbage_archives_fail_cleanly() {
    let s = Strata::new();
    s.import_busybox("base:1");
    let dir = tempfile::tempdir().expect("tmp");
    let archive = dir.path().join("ok.tar");
    s.ok(&["save", "-o", archive.to_str().expect("path"), "base:1"]);
    let full = std::fs::read(&archive).expect("read");
    s.ok(&["rmi", "base:1"]);
    let before = s.snapshot();
    let cut = write(dir.path(), "cut.tar", &full[..full.len() / 2]);
    let err = s.fails(&["load", "-i", &cut]);
    assert!(err.contains("Error:"), "{err}");
    assert_eq!(
        s.snapshot(),
        before,
        "a truncated load must leave nothing behind"
    );
    let junk = write(
        dir.path(),
        "junk.tar",
        b"this is not an archive at all, not even close............",
    );
    let err = s.fails(&["load", "-i", &junk]);
    assert!(err.contains("Error:"), "{err}");
    let err = s.fails(&["import", &junk, "junk"]);
    assert!(err.contains("Error:"), "{err}");
    assert_eq!(s.snapshot(), before);
}

#[test]
fn a_layer_that_does_not_match_its_digest_is_refused() {
    let s = Strata::new();
    s.import_busybox("base:1");
    let dir = tempfile::tempdir().expect("tmp");
    let archive = dir.path().join("ok.tar");
    s.ok(&["save", "-o", archive.to_str().expect("path"), "base:1"]);
    s.ok(&["rmi", "base:1"]);
    let before = s.snapshot();
    // Rebuild the archive with one byte of the layer blob flipped.
    let unpacked = dir.path().join("x");
    std::fs::create_dir(&unpacked).expect("mkdir");
    assert!(
        std::process::Command::new("tar")
            .arg("xf")
            .arg(&archive)
            .arg("-C")
            .arg(&unpacked)
            .status()
            .expect("tar")
            .success()
    );
    let layer_digest = common::sha256_file(&busybox_tar());
    let layer = unpacked.join("blobs/sha256").join(&layer_digest[7..]);
    let mut bytes = std::fs::read(&layer).expect("layer");
    let last_file_byte = bytes.len() - 2048;
    bytes[last_file_byte] ^= 0xff;
    std::fs::write(&layer, bytes).expect("corrupt");
    let bad = dir.path().join("bad.tar");
    assert!(
        std::process::Command::new("tar")
            .arg("cf")
            .arg(&bad)
            .arg("-C")
            .arg(&unpacked)
            .arg(".")
            .status()
            .expect("tar")
            .success()
    );
    let err = s.fails(&["load", "-i", bad.to_str().expect("path")]);
    assert!(
        err.contains("digest mismatch") || err.contains("invalid diffID"),
        "{err}"
    );
    assert_eq!(s.snapshot(), before);
}

#[test]
fn a_manifest_that_points_outside_the_archive_is_refused() {
    let s = Strata::new();
    let dir = tempfile::tempdir().expect("tmp");
    let mut b = tar::Builder::new(Vec::new());
    let manifest = br#"[{"Config":"../../../../etc/passwd","RepoTags":["x:1"],"Layers":[]}]"#;
    let mut h = tar::Header::new_gnu();
    h.set_size(manifest.len() as u64);
    h.set_mode(0o644);
    b.append_data(&mut h, "manifest.json", &manifest[..])
        .expect("append");
    let path = write(dir.path(), "evil.tar", &b.into_inner().expect("tar"));
    let err = s.fails(&["load", "-i", &path]);
    assert!(err.contains("leaves the archive"), "{err}");
    assert_eq!(s.ok(&["images", "-q"]), "");
}
