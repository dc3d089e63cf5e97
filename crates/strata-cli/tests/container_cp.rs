//! `cp` with `-`: a tar stream to stdout and from stdin, with Docker's names, errors and
//! untar rules (nothing written outside the destination).

mod common;

use std::io::{Read, Write};
use std::process::{Output, Stdio};

use common::Strata;

fn with_stdin(s: &Strata, args: &[&str], input: &[u8]) -> Output {
    let mut child = s
        .cmd()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("strata runs");
    // The command may refuse before reading; a closed pipe is fine then.
    let _ = child.stdin.take().expect("stdin").write_all(input);
    child.wait_with_output().expect("strata exits")
}

fn entries(tar_bytes: &[u8]) -> Vec<(String, tar::EntryType, String)> {
    let mut archive = tar::Archive::new(tar_bytes);
    archive
        .entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let name = e.path().unwrap().to_string_lossy().into_owned();
            let kind = e.header().entry_type();
            let mut body = String::new();
            if kind == tar::EntryType::Regular {
                e.read_to_string(&mut body).unwrap();
            } else if let Some(l) = e.link_name().unwrap() {
                body = l.to_string_lossy().into_owned();
            }
            (name, kind, body)
        })
        .collect()
}

/// A tar whose names and link targets are written raw (the tar crate refuses `..`): `data`
/// is a link's target or a file's content.
fn raw_tar(items: &[(&str, tar::EntryType, &str)]) -> Vec<u8> {
    let entries: Vec<(&str, tar::EntryType, &str, &[u8])> = items
        .iter()
        .map(|(name, kind, data)| match kind {
            tar::EntryType::Symlink | tar::EntryType::Link => (*name, *kind, *data, &b""[..]),
            _ => (*name, *kind, "", data.as_bytes()),
        })
        .collect();
    common::hostile_tar(&entries)
}

#[test]
fn cp_to_stdout_writes_a_tar_of_the_path() {
    let s = Strata::new();
    s.import_busybox("busybox:local");
    s.ok(&["create", "--name", "src", "busybox:local", "true"]);
    // A stopped container: the rootfs is mounted for the copy.
    let out = s.cmd().args(["cp", "src:/etc", "-"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list = entries(&out.stdout);
    assert_eq!(list[0].0, "etc/");
    assert_eq!(list[0].1, tar::EntryType::Directory);
    let motd = list.iter().find(|e| e.0 == "etc/motd").expect("etc/motd");
    assert_eq!(motd.2, "strata busybox fixture\n");

    let out = s.cmd().args(["cp", "src:/etc/motd", "-"]).output().unwrap();
    assert_eq!(
        entries(&out.stdout),
        vec![(
            "motd".to_string(),
            tar::EntryType::Regular,
            "strata busybox fixture\n".to_string()
        )]
    );
    // `DIR/.` streams the content, named `./…`.
    let out = s.cmd().args(["cp", "src:/etc/.", "-"]).output().unwrap();
    let list = entries(&out.stdout);
    assert!(list.iter().any(|e| e.0 == "./motd"), "{list:?}");

    let err = s.fails(&["cp", "src:/nope", "-"]);
    assert!(
        err.contains("Could not find the file /nope in container src"),
        "{err}"
    );
    let err = s.fails(&["cp", "nosuch:/etc", "-"]);
    assert!(err.contains("No such container: nosuch"), "{err}");
    s.ok(&["rm", "src"]);
}

#[test]
fn cp_from_stdin_extracts_into_a_directory() {
    let s = Strata::new();
    s.import_busybox("busybox:local");
    s.ok(&[
        "run",
        "-d",
        "--name",
        "dst",
        "busybox:local",
        "sleep",
        "100",
    ]);
    let good = raw_tar(&[
        ("d/", tar::EntryType::Directory, ""),
        ("d/f", tar::EntryType::Regular, "hello\n"),
        ("d/s", tar::EntryType::Symlink, "f"),
        ("d/h", tar::EntryType::Link, "d/f"),
    ]);
    let out = with_stdin(&s, &["cp", "-", "dst:/tmp"], &good);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        s.ok(&[
            "exec",
            "dst",
            "sh",
            "-c",
            "cat /tmp/d/s /tmp/d/h; stat -c %h /tmp/d/f"
        ]),
        "hello\nhello\n2\n"
    );

    // Docker's errors: the destination must be an existing directory (or container).
    for (dest, _) in [
        ("dst:/nope", ()),
        ("dst:/etc/passwd", ()),
        ("nosuch:/tmp", ()),
    ] {
        let out = with_stdin(&s, &["cp", "-", dest], &good);
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!("destination \"{dest}\" must be a directory")),
            "{err}"
        );
    }
    let out = with_stdin(&s, &["cp", "-", "dst:/tmp"], b"\n");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("Error processing tar file(exit status 1): unexpected EOF"),
        "{err}"
    );
    // An empty stream is an empty archive.
    let out = with_stdin(&s, &["cp", "-", "dst:/tmp"], b"");
    assert!(out.status.success());
    s.ok(&["rm", "-f", "dst"]);
}

#[test]
fn cp_from_stdin_refuses_entries_that_leave_the_destination() {
    let s = Strata::new();
    s.import_busybox("busybox:local");
    s.ok(&["create", "--name", "box", "busybox:local", "true"]);
    let host = tempfile::tempdir().unwrap();
    let canary = host.path().join("canary");
    std::fs::write(&canary, "host file\n").unwrap();
    let canary_s = canary.to_str().unwrap();

    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            raw_tar(&[("../../escape", tar::EntryType::Regular, "x")]),
            "\"../../escape\" is outside of \"/tmp\"",
        ),
        (
            raw_tar(&[("up", tar::EntryType::Symlink, "../../../..")]),
            "invalid symlink \"/tmp/up\" -> \"../../../..\"",
        ),
        (
            raw_tar(&[("h", tar::EntryType::Link, "../../etc/shadow")]),
            "invalid hardlink \"/etc/shadow\" -> \"../../etc/shadow\"",
        ),
    ];
    for (tar_bytes, message) in cases {
        let out = with_stdin(&s, &["cp", "-", "box:/tmp"], &tar_bytes);
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(message), "{err}");
    }

    // An absolute symlink, then a file through it, and a hard link to a host path: all land
    // inside the container, as with Docker's chrooted untar; the host is untouched.
    let hostile = raw_tar(&[
        ("lnk", tar::EntryType::Symlink, "/"),
        ("lnk/escaped", tar::EntryType::Regular, "in the container\n"),
        ("abs", tar::EntryType::Symlink, canary_s),
        ("abs", tar::EntryType::Regular, "replaced the link\n"),
    ]);
    let out = with_stdin(&s, &["cp", "-", "box:/tmp"], &hostile);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let hard = raw_tar(&[("h", tar::EntryType::Link, canary_s)]);
    let out = with_stdin(&s, &["cp", "-", "box:/tmp"], &hard);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no such file or directory"), "{err}");
    assert_eq!(std::fs::read_to_string(&canary).unwrap(), "host file\n");
    assert!(!std::path::Path::new("/escaped").exists());

    let out = s.cmd().args(["cp", "box:/escaped", "-"]).output().unwrap();
    assert_eq!(entries(&out.stdout)[0].2, "in the container\n");
    let out = s.cmd().args(["cp", "box:/tmp/abs", "-"]).output().unwrap();
    let list = entries(&out.stdout);
    assert_eq!(list[0].1, tar::EntryType::Regular, "{list:?}");
    assert_eq!(list[0].2, "replaced the link\n");
    s.ok(&["rm", "box"]);
}
