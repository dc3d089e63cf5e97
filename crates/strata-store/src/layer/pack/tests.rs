use super::*;
use crate::layer::changes::{Change, ChangeKind, overlay_changes};
use crate::layer::unpack::unpack_layer;
use rustix::fs::{CWD, FileType, Mode, XattrFlags};
use std::os::unix::fs::PermissionsExt;

fn whiteout(path: &Path) {
    rustix::fs::mknodat(CWD, path, FileType::CharacterDevice, Mode::empty(), 0)
        .expect("mknod (tests run as root)");
}

fn opaque(path: &Path) {
    rustix::fs::lsetxattr(path, OVERLAY_OPAQUE_XATTR, b"y", XattrFlags::empty()).expect("xattr");
}

fn entries(tar: &[u8]) -> Vec<(String, tar::EntryType)> {
    let mut a = tar::Archive::new(tar);
    a.entries()
        .expect("entries")
        .map(|e| {
            let e = e.expect("entry");
            (
                e.path().expect("path").display().to_string(),
                e.header().entry_type(),
            )
        })
        .collect()
}

/// lower: etc/motd, etc/passwd, var/lib/x, usr/ ; upper: the container's changes.
fn fixture() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let t = tempfile::tempdir().expect("tmp");
    let lower = t.path().join("lower");
    let upper = t.path().join("upper");
    for d in ["etc", "var/lib", "usr/bin"] {
        fs::create_dir_all(lower.join(d)).expect("mkdir");
    }
    fs::write(lower.join("etc/motd"), "m").expect("w");
    fs::write(lower.join("etc/passwd"), "p").expect("w");
    fs::write(lower.join("var/lib/x"), "x").expect("w");
    fs::create_dir_all(upper.join("etc")).expect("mkdir");
    fs::create_dir_all(upper.join("var/lib")).expect("mkdir");
    fs::create_dir_all(upper.join("usr/bin")).expect("mkdir");
    whiteout(&upper.join("etc/motd"));
    fs::write(upper.join("etc/passwd"), "changed").expect("w");
    opaque(&upper.join("var/lib"));
    fs::write(upper.join("var/lib/new"), "n").expect("w");
    fs::write(upper.join("usr/bin/tool"), "#!/bin/sh\n").expect("w");
    fs::set_permissions(
        upper.join("usr/bin/tool"),
        fs::Permissions::from_mode(0o755),
    )
    .expect("chmod");
    fs::hard_link(upper.join("usr/bin/tool"), upper.join("usr/bin/tool2")).expect("link");
    std::os::unix::fs::symlink("/usr/bin/tool", upper.join("usr/bin/sym")).expect("symlink");
    (t, lower, upper)
}

#[test]
fn changes_follow_dockers_overlay_rules() {
    let (_t, lower, upper) = fixture();
    let got: Vec<String> = overlay_changes(&upper, &[lower], &[])
        .expect("changes")
        .iter()
        .map(|c: &Change| format!("{} {}", c.kind.letter(), c.path))
        .collect();
    assert_eq!(
        got,
        vec![
            "C /etc",
            "D /etc/motd",
            "C /etc/passwd",
            "C /usr",
            "C /usr/bin",
            "A /usr/bin/sym",
            "A /usr/bin/tool",
            "A /usr/bin/tool2",
            "C /var",
            "C /var/lib",
            "A /var/lib/new",
            "D /var/lib/x",
        ]
    );
    let _ = ChangeKind::Added;
}

#[test]
fn upper_dir_tar_has_whiteouts_links_and_round_trips() {
    let (t, _lower, upper) = fixture();
    let tar = tar_upper_dir(&upper, &[], Vec::new()).expect("tar");
    let names = entries(&tar);
    let find = |n: &str| names.iter().find(|(p, _)| p == n).map(|(_, k)| *k);
    assert_eq!(find("etc/.wh.motd"), Some(tar::EntryType::Regular));
    assert_eq!(find("var/lib/.wh..wh..opq"), Some(tar::EntryType::Regular));
    assert_eq!(
        find("usr/bin/tool2"),
        Some(tar::EntryType::Link),
        "{names:?}"
    );
    assert_eq!(find("usr/bin/sym"), Some(tar::EntryType::Symlink));
    let sorted: Vec<&String> = names.iter().map(|(p, _)| p).collect();
    assert_eq!(
        sorted.first().map(|s| s.as_str()),
        Some("etc/"),
        "walk order: {sorted:?}"
    );
    // Unpacking the tar gives back the same overlay-format tree.
    let again = t.path().join("again");
    fs::create_dir(&again).expect("mkdir");
    unpack_layer(&tar[..], &again).expect("unpack");
    assert!(is_whiteout(
        &fs::symlink_metadata(again.join("etc/motd")).expect("whiteout")
    ));
    assert!(is_opaque(&again.join("var/lib")));
    assert_eq!(
        fs::read(again.join("usr/bin/tool2")).expect("link"),
        b"#!/bin/sh\n"
    );
    assert_eq!(
        fs::symlink_metadata(again.join("usr/bin/tool"))
            .expect("mode")
            .permissions()
            .mode()
            & 0o777,
        0o755
    );
}

#[test]
fn an_empty_upper_dir_is_dockers_empty_layer() {
    let t = tempfile::tempdir().expect("tmp");
    let tar = tar_upper_dir(t.path(), &[], Vec::new()).expect("tar");
    assert_eq!(
        strata_reference::Digest::sha256_of(&tar).to_string(),
        crate::EMPTY_LAYER_DIFF_ID
    );
}

#[test]
fn merged_view_applies_whiteouts_and_opaque_dirs() {
    let (_t, lower, upper) = fixture();
    let tar = tar_merged(&[upper, lower], Vec::new()).expect("tar");
    let names: Vec<String> = entries(&tar).into_iter().map(|(p, _)| p).collect();
    assert!(
        !names.contains(&"etc/motd".to_string()),
        "whited out: {names:?}"
    );
    assert!(names.contains(&"etc/passwd".to_string()));
    assert!(
        !names.contains(&"var/lib/x".to_string()),
        "hidden by the opaque dir: {names:?}"
    );
    assert!(names.contains(&"var/lib/new".to_string()));
    assert!(!names.iter().any(|n| n.contains(".wh.")), "{names:?}");
    let mut a = tar::Archive::new(&tar[..]);
    for e in a.entries().expect("entries") {
        let mut e = e.expect("entry");
        if e.path().expect("p").to_str() == Some("etc/passwd") {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut e, &mut s).expect("read");
            assert_eq!(s, "changed", "the upper layer wins");
        }
    }
}

#[test]
fn tree_comparison_finds_adds_changes_and_deletes() {
    use crate::layer::changes::tree_changes;
    let t = tempfile::tempdir().expect("tmp");
    let old = t.path().join("old");
    let new = t.path().join("new");
    for root in [&old, &new] {
        fs::create_dir_all(root.join("etc")).expect("mkdir");
        fs::create_dir_all(root.join("keep")).expect("mkdir");
        fs::write(root.join("keep/same"), "s").expect("w");
        // Identical files must have identical mtimes, whatever the clock did between writes.
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        fs::File::options()
            .write(true)
            .open(root.join("keep/same"))
            .expect("open")
            .set_modified(t)
            .expect("mtime");
    }
    fs::write(old.join("etc/motd"), "m").expect("w");
    fs::write(old.join("etc/passwd"), "p").expect("w");
    fs::write(new.join("etc/passwd"), "p2").expect("w");
    fs::create_dir(new.join("srv")).expect("mkdir");
    fs::write(new.join("srv/app"), "a").expect("w");
    let got: Vec<String> = tree_changes(&new, &old, &[])
        .expect("changes")
        .iter()
        .map(|c| format!("{} {}", c.kind.letter(), c.path))
        .collect();
    assert_eq!(
        got,
        vec![
            "C /etc",
            "D /etc/motd",
            "C /etc/passwd",
            "A /srv",
            "A /srv/app"
        ]
    );
    let changes = tree_changes(&new, &old, &[]).expect("changes");
    let tar = tar_changes(&new, &changes, Vec::new()).expect("tar");
    let names: Vec<String> = entries(&tar).into_iter().map(|(p, _)| p).collect();
    assert_eq!(
        names,
        vec!["etc/", "etc/.wh.motd", "etc/passwd", "srv/", "srv/app"]
    );
}

#[test]
fn xattrs_and_file_capabilities_survive_the_layer_tar() {
    let t = tempfile::tempdir().expect("tmp");
    let upper = t.path().join("upper");
    fs::create_dir_all(upper.join("bin")).expect("mkdir");
    let ping = upper.join("bin/ping");
    fs::write(&ping, "binary").expect("w");
    // cap_net_raw+ep as the kernel stores it (VFS_CAP_REVISION_2).
    let cap: [u8; 20] = [
        0, 0, 0, 2, 0, 0x20, 0, 0, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ];
    rustix::fs::lsetxattr(&ping, "security.capability", &cap, XattrFlags::empty()).expect("setcap");
    rustix::fs::lsetxattr(&ping, "user.origin", b"strata", XattrFlags::empty())
        .expect("user xattr");
    let tar = tar_upper_dir(&upper, &[], Vec::new()).expect("tar");
    let again = t.path().join("again");
    fs::create_dir(&again).expect("mkdir");
    unpack_layer(&tar[..], &again).expect("unpack");
    let mut buf = [0u8; 64];
    let n = rustix::fs::lgetxattr(again.join("bin/ping"), "security.capability", &mut buf)
        .expect("capability kept");
    assert_eq!(&buf[..n], &cap);
    let n =
        rustix::fs::lgetxattr(again.join("bin/ping"), "user.origin", &mut buf).expect("xattr kept");
    assert_eq!(&buf[..n], b"strata");
}
