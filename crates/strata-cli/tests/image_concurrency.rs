//! Concurrent commands serialize on the store lock, and a command killed midway leaves the
//! store consistent: no half image is ever visible.

mod common;

use common::{Strata, busybox_tar};
use std::io::Write;
use std::process::Stdio;

#[test]
fn parallel_imports_all_land() {
    let s = Strata::new();
    let tar = busybox_tar();
    let children: Vec<_> = (0..6)
        .map(|i| {
            s.cmd()
                .args([
                    "import",
                    "-m",
                    &format!("m{i}"),
                    tar.to_str().expect("path"),
                    &format!("p{i}:1"),
                ])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().expect("wait");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let names = s.ok(&["images", "--format", "{{.Repository}}"]);
    let mut names: Vec<&str> = names.lines().collect();
    names.sort();
    assert_eq!(names, vec!["p0", "p1", "p2", "p3", "p4", "p5"]);
    // One layer, shared by all six images.
    let layers = s
        .snapshot()
        .iter()
        .filter(|p| p.ends_with("/meta.json"))
        .count();
    assert_eq!(layers, 1);
}

#[test]
fn an_import_killed_midway_leaves_no_trace() {
    let s = Strata::new();
    let raw = std::fs::read(busybox_tar()).expect("fixture");
    let mut child = s
        .cmd()
        .args(["import", "-", "killed:1"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(&raw[..raw.len() / 2]).expect("half");
    stdin.flush().expect("flush");
    std::thread::sleep(std::time::Duration::from_millis(300));
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    drop(stdin);
    assert_eq!(s.ok(&["images", "-q"]), "");
    assert!(
        s.snapshot()
            .iter()
            .all(|p| !p.starts_with("images/") && !p.starts_with("layers/")),
        "{:?}",
        s.snapshot()
    );
    // The next command cleans the dead process's staging and works normally.
    s.import_busybox("after:1");
    let staging: Vec<_> = std::fs::read_dir(s.root.path().join("tmp"))
        .expect("tmp")
        .collect();
    assert!(
        staging.is_empty(),
        "staging of the killed import was not cleaned"
    );
}
