//! The image commands end to end, on the real binary with a temp store.

mod common;

use common::{Strata, busybox_tar, sha256_file};
use std::io::Write;
use std::process::Stdio;

#[test]
fn import_prints_the_id_and_keeps_the_tar_as_the_layer() {
    let s = Strata::new();
    let id = s.import_busybox("busybox:local");
    assert!(id.starts_with("sha256:") && id.len() == 71, "{id}");
    let layers = s.ok(&[
        "image",
        "inspect",
        "--format",
        "{{ json .RootFS.Layers }}",
        "busybox:local",
    ]);
    assert_eq!(
        layers.trim(),
        format!("[\"{}\"]", sha256_file(&busybox_tar()))
    );
    let listed = s.ok(&["images"]);
    let mut lines = listed.lines();
    assert_eq!(
        lines
            .next()
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")),
        Some("REPOSITORY TAG IMAGE ID CREATED SIZE".into())
    );
    let row = lines.next().expect("one image row");
    assert!(row.starts_with("busybox      local     "), "{row:?}");
    assert!(row.contains(&id[7..19]), "short ID in {row:?}");
    assert!(row.trim_end().ends_with("MB"), "{row:?}");
}

#[test]
fn import_from_stdin_detects_every_compression() {
    let s = Strata::new();
    let raw = std::fs::read(busybox_tar()).expect("fixture");
    let expected = sha256_file(&busybox_tar());
    let tools: &[(&str, &[&str])] = &[
        ("gzip", &["-c"]),
        ("xz", &["-c", "-0"]),
        ("bzip2", &["-c"]),
        ("zstd", &["-c", "-q"]),
    ];
    for (i, (tool, args)) in tools.iter().enumerate() {
        let mut p = std::process::Command::new(tool)
            .args(*args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("compressor");
        let mut stdin = p.stdin.take().expect("stdin");
        let raw2 = raw.clone();
        let writer = std::thread::spawn(move || stdin.write_all(&raw2));
        let compressed = p.wait_with_output().expect("compress").stdout;
        writer.join().expect("join").expect("write");
        let name = format!("c{i}:latest");
        let mut child = s
            .cmd()
            .args(["import", "-", &name])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("strata");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(&compressed)
            .expect("feed");
        let out = child.wait_with_output().expect("wait");
        assert!(
            out.status.success(),
            "{tool}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let layers = s.ok(&[
            "image",
            "inspect",
            "-f",
            "{{index .RootFS.Layers 0}}",
            &name,
        ]);
        assert_eq!(
            layers.trim(),
            expected,
            "{tool}: the diff ID is the digest of the uncompressed tar"
        );
    }
}

#[test]
fn import_changes_and_message_land_in_the_config() {
    let s = Strata::new();
    let tar = busybox_tar();
    s.ok(&[
        "import",
        "-c",
        r#"CMD ["sh"]"#,
        "-c",
        "ENV A=1 B=2",
        "-c",
        "WORKDIR /srv",
        "-c",
        "EXPOSE 80",
        "-m",
        "hello msg",
        tar.to_str().expect("path"),
        "bb",
    ]);
    let cfg = s.ok(&["image", "inspect", "-f", "{{json .Config}}", "bb"]);
    assert_eq!(
        cfg.trim(),
        r#"{"ExposedPorts":{"80/tcp":{}},"Env":["A=1","B=2"],"Cmd":["sh"],"WorkingDir":"/srv"}"#
    );
    assert_eq!(
        s.ok(&["inspect", "-f", "{{.Comment}}", "bb"]).trim(),
        "hello msg"
    );
    let history = s.ok(&["history", "--format", "{{.Comment}}", "bb"]);
    assert_eq!(history.trim(), "hello msg");
}

#[test]
fn a_change_docker_refuses_is_refused_and_creates_nothing() {
    let s = Strata::new();
    let tar = busybox_tar();
    let before = s.snapshot();
    let err = s.fails(&[
        "import",
        "-c",
        "RUN echo hi",
        tar.to_str().expect("path"),
        "bad",
    ]);
    assert!(err.contains("run is not a valid change command"), "{err}");
    assert_eq!(s.snapshot(), before);
}

#[test]
fn tag_history_and_inspect_follow_docker() {
    let s = Strata::new();
    let id = s.import_busybox("busybox:local");
    s.ok(&["tag", "busybox:local", "me/busybox:1.0"]);
    s.ok(&["image", "tag", &id[7..15], "localhost:5000/x"]);
    let tags = s.ok(&["inspect", "--format", "{{json .RepoTags}}", "busybox:local"]);
    assert_eq!(
        tags.trim(),
        r#"["busybox:local","localhost:5000/x:latest","me/busybox:1.0"]"#
    );
    let history = s.ok(&["history", "me/busybox:1.0"]);
    let rows: Vec<&str> = history.lines().collect();
    assert_eq!(rows.len(), 2, "{history}");
    assert!(rows[0].starts_with("IMAGE          CREATED"), "{history}");
    assert!(rows[1].starts_with(&id[7..19]), "{history}");
    assert!(rows[1].trim_end().ends_with("Imported from -"), "{history}");
    let quiet = s.ok(&["history", "-q", "--no-trunc", "me/busybox:1.0"]);
    assert_eq!(quiet.trim(), id);
    let raw = s.ok(&[
        "history",
        "-H=false",
        "--format",
        "{{.Size}}",
        "busybox:local",
    ]);
    let size: u64 = raw.trim().parse().expect("raw byte count");
    assert!(size > 1_000_000, "{size}");
    let json: serde_json::Value =
        serde_json::from_str(&s.ok(&["image", "inspect", "busybox:local"]))
            .expect("inspect prints JSON");
    let obj = &json[0];
    for key in [
        "Id",
        "RepoTags",
        "RepoDigests",
        "Parent",
        "Comment",
        "Created",
        "Config",
        "Architecture",
        "Os",
        "Size",
        "GraphDriver",
        "RootFS",
        "Metadata",
    ] {
        assert!(obj.get(key).is_some(), "inspect lacks {key}: {obj}");
    }
    assert_eq!(obj["Id"], serde_json::Value::String(id));
}

#[test]
fn invalid_references_and_missing_images_get_dockers_errors() {
    let s = Strata::new();
    s.import_busybox("busybox:local");
    let err = s.fails(&["tag", "busybox:local", "Foo"]);
    assert!(err.contains(r#"Error parsing reference: "Foo" is not a valid repository/tag: invalid reference format: repository name (library/Foo) must be lowercase"#), "{err}");
    let err = s.fails(&["history", "nosuch"]);
    assert!(err.contains("No such image: nosuch:latest"), "{err}");
    let err = s.fails(&["rmi", "a:b:c"]);
    assert!(err.contains("invalid reference format"), "{err}");
    let out = s.run(&["image", "inspect", "nosuch"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("No such image: nosuch"));
}

#[test]
fn images_filters_quiet_and_formats() {
    let s = Strata::new();
    let id = s.import_busybox("busybox:local");
    s.ok(&["tag", "busybox:local", "me/other:2"]);
    let q = s.ok(&["images", "-q"]);
    assert_eq!(q.lines().collect::<Vec<_>>(), vec![&id[7..19], &id[7..19]]);
    let by_ref = s.ok(&["images", "--format", "{{.Repository}}:{{.Tag}}", "me/*"]);
    assert_eq!(by_ref.trim(), "me/other:2");
    let filtered = s.ok(&[
        "images",
        "--filter",
        "reference=busybox",
        "--format",
        "{{.Repository}}",
    ]);
    assert_eq!(filtered.trim(), "busybox");
    assert_eq!(s.ok(&["images", "-f", "dangling=true", "-q"]).trim(), "");
    let table = s.ok(&["images", "--format", "table {{.Repository}}\\t{{.Tag}}"]);
    assert_eq!(
        table,
        "REPOSITORY   TAG\nbusybox      local\nme/other     2\n"
    );
    let err = s.fails(&["images", "--filter", "bogus=1"]);
    assert!(err.contains("invalid filter 'bogus'"), "{err}");
    let no_trunc = s.ok(&["images", "--no-trunc", "--format", "{{.ID}}", "busybox"]);
    assert_eq!(no_trunc.trim(), id);
}

#[test]
fn images_filter_by_label_before_and_since() {
    let s = Strata::new();
    let tar = busybox_tar();
    let path = tar.to_str().expect("path");
    s.ok(&["import", "-c", "LABEL tier=base", path, "first:1"]);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    s.ok(&[
        "import",
        "-c",
        "LABEL tier=app",
        "-c",
        "LABEL extra=1",
        path,
        "second:1",
    ]);
    let fmt = ["--format", "{{.Repository}}"];
    let run = |f: &str| {
        s.ok(&[&["images", "--filter", f][..], &fmt[..]].concat())
            .trim()
            .to_owned()
    };
    assert_eq!(run("label=tier=base"), "first");
    assert_eq!(run("label=extra"), "second");
    assert_eq!(run("before=second:1"), "first");
    assert_eq!(run("since=first:1"), "second");
    let both = s.ok(&["images", "--format", "{{.Repository}}"]);
    assert_eq!(both, "second\nfirst\n", "newest first, as the daemon sorts");
}
