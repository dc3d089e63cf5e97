//! rmi, prune, save and load: what is removed, what survives, and round trips.

mod common;

use common::{Strata, busybox_tar};

#[test]
fn rmi_untags_until_the_last_reference_then_deletes_image_and_layer() {
    let s = Strata::new();
    let id = s.import_busybox("busybox:local");
    s.ok(&["tag", "busybox:local", "busybox:two"]);
    let out = s.ok(&["rmi", "busybox:local"]);
    assert_eq!(out, "Untagged: busybox:local\n");
    let layer = s.ok(&["inspect", "-f", "{{index .RootFS.Layers 0}}", "busybox:two"]);
    let out = s.ok(&["rmi", "busybox:two"]);
    assert_eq!(
        out,
        format!(
            "Untagged: busybox:two\nDeleted: {id}\nDeleted: {}\n",
            layer.trim()
        )
    );
    assert_eq!(s.ok(&["images", "-q"]), "");
    assert!(
        s.snapshot()
            .iter()
            .all(|p| !p.starts_with("layers/sha256/") && !p.starts_with("images/")),
        "{:?}",
        s.snapshot()
    );
}

#[test]
fn rmi_by_id_with_several_repositories_needs_force() {
    let s = Strata::new();
    let id = s.import_busybox("busybox:local");
    s.ok(&["tag", "busybox:local", "me/busybox:1"]);
    let err = s.fails(&["rmi", &id[7..19]]);
    assert!(err.contains(&format!("conflict: unable to delete {} (must be forced) - image is referenced in multiple repositories", &id[7..19])), "{err}");
    let out = s.ok(&["rmi", "-f", &id[7..19]]);
    assert!(
        out.starts_with("Untagged: busybox:local\nUntagged: me/busybox:1\nDeleted: sha256:"),
        "{out}"
    );
    let err = s.fails(&["rmi", "busybox:local"]);
    assert!(err.contains("No such image: busybox:local"), "{err}");
}

#[test]
fn prune_removes_dangling_then_all() {
    let s = Strata::new();
    s.import_busybox("keep:1");
    let tar = busybox_tar();
    // An untagged import is dangling.
    let dangling = s
        .ok(&["import", "-m", "other", tar.to_str().expect("path")])
        .trim()
        .to_owned();
    let out = s.ok(&["image", "prune", "-f"]);
    assert!(
        out.starts_with(&format!("Deleted Images:\ndeleted: {dangling}\n")),
        "{out}"
    );
    assert!(
        out.ends_with("Total reclaimed space: 0B\n"),
        "the layer is shared with keep:1: {out}"
    );
    let out = s.ok(&["image", "prune", "-a", "-f"]);
    assert!(out.contains("untagged: keep:1"), "{out}");
    assert!(out.trim_end().ends_with("MB"), "{out}");
    assert_eq!(
        s.ok(&["image", "prune", "-f"]),
        "Total reclaimed space: 0B\n"
    );
}

#[test]
fn save_rmi_load_round_trips_the_image_id() {
    let s = Strata::new();
    let id = s.import_busybox("busybox:local");
    s.ok(&["tag", "busybox:local", "me/busybox:1.0"]);
    let archive = s.root.path().join("../bb-save.tar");
    s.ok(&[
        "save",
        "-o",
        archive.to_str().expect("path"),
        "me/busybox:1.0",
    ]);
    s.ok(&["rmi", "me/busybox:1.0"]);
    s.ok(&["rmi", "busybox:local"]);
    assert_eq!(s.ok(&["images", "-q"]), "");
    let out = s.ok(&["load", "-i", archive.to_str().expect("path")]);
    assert_eq!(out, "Loaded image: me/busybox:1.0\n");
    assert_eq!(
        s.ok(&["inspect", "-f", "{{.Id}}", "me/busybox:1.0"]).trim(),
        id
    );
    std::fs::remove_file(archive).ok();
}

#[test]
fn save_oci_layout_and_several_images_load_elsewhere() {
    let s = Strata::new();
    let tar = busybox_tar();
    let a = s.import_busybox("a:1");
    let b = s
        .ok(&[
            "import",
            "-c",
            "CMD [\"sh\"]",
            tar.to_str().expect("path"),
            "b:1",
        ])
        .trim()
        .to_owned();
    let dir = tempfile::tempdir().expect("tmp");
    let docker_archive = dir.path().join("two.tar");
    let oci = dir.path().join("oci.tar");
    s.ok(&[
        "save",
        "-o",
        docker_archive.to_str().expect("path"),
        "a:1",
        "b:1",
    ]);
    s.ok(&[
        "save",
        "--format",
        "oci",
        "-o",
        oci.to_str().expect("path"),
        "b:1",
    ]);
    let listing = std::process::Command::new("tar")
        .arg("tf")
        .arg(&oci)
        .output()
        .expect("tar");
    let names = String::from_utf8_lossy(&listing.stdout);
    assert!(
        names.contains("index.json")
            && names.contains("oci-layout")
            && !names.contains("manifest.json"),
        "{names}"
    );

    let other = Strata::new();
    assert_eq!(
        other.ok(&["load", "-i", docker_archive.to_str().expect("path")]),
        "Loaded image: a:1\nLoaded image: b:1\n"
    );
    assert_eq!(
        other.ok(&["inspect", "-f", "{{.Id}}", "a:1", "b:1"]),
        format!("{a}\n{b}\n")
    );
    let third = Strata::new();
    let mut child = third
        .cmd()
        .arg("load")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let gz = {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(&std::fs::read(&oci).expect("read"))
            .expect("gz");
        e.finish().expect("gz")
    };
    {
        use std::io::Write;
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(&gz)
            .expect("feed");
    }
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "Loaded image: b:1\n");
    assert_eq!(third.ok(&["inspect", "-f", "{{.Id}}", "b:1"]).trim(), b);
}

#[test]
fn save_to_a_terminal_is_refused_and_missing_images_fail() {
    let s = Strata::new();
    let err = s.fails(&["save", "-o", "/tmp/never.tar", "nosuch:1"]);
    assert!(err.contains("No such image: nosuch:1"), "{err}");
    assert!(!std::path::Path::new("/tmp/never.tar").exists());
}
