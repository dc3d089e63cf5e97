//! Golden files for Docker's output shapes. The image is built here from fixed bytes (layers,
//! config, times), so IDs and timestamps are stable; `UPDATE_GOLDEN=1` rewrites the files.

mod common;

use common::Strata;
use sha2::Digest as _;
use std::path::{Path, PathBuf};

fn sha(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

fn layer(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in files {
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(1_700_000_000);
        h.set_uid(0);
        h.set_gid(0);
        b.append_data(&mut h, name, *data).expect("append");
    }
    b.into_inner().expect("tar")
}

/// A docker-archive with two layers and four history entries, two of them empty.
fn fixed_archive(dir: &Path) -> PathBuf {
    let l1 = layer(&[("etc/motd", b"hello golden\n"), ("bin/tool", &[7u8; 3000])]);
    let l2 = layer(&[("srv/app.txt", &[1u8; 1500])]);
    let config = serde_json::json!({
        "architecture": "amd64",
        "config": {"Env": ["PATH=/usr/bin:/bin", "MODE=golden"], "Cmd": ["sh"], "WorkingDir": "/srv", "Labels": {"org.example": "yes"}},
        "created": "2024-03-01T12:00:03Z",
        "history": [
            {"created": "2024-03-01T12:00:00Z", "created_by": "/bin/sh -c #(nop) ADD file:0123456789abcdef0123456789abcdef0123456789abcdef in / ", "comment": "base layer"},
            {"created": "2024-03-01T12:00:01Z", "created_by": "/bin/sh -c #(nop)  ENV MODE=golden", "empty_layer": true},
            {"created": "2024-03-01T12:00:02Z", "created_by": "/bin/sh -c mkdir -p /srv && echo app > /srv/app.txt"},
            {"created": "2024-03-01T12:00:03Z", "created_by": "/bin/sh -c #(nop)  CMD [\"sh\"]", "empty_layer": true}
        ],
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [format!("sha256:{}", sha(&l1)), format!("sha256:{}", sha(&l2))]}
    });
    let config = serde_json::to_vec(&config).expect("json");
    let manifest = serde_json::json!([{"Config": format!("{}.json", sha(&config)), "RepoTags": ["golden/app:1.0"], "Layers": ["l1/layer.tar", "l2/layer.tar"]}]);
    let mut b = tar::Builder::new(Vec::new());
    let mut add = |name: &str, data: &[u8]| {
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_uid(0);
        h.set_gid(0);
        b.append_data(&mut h, name, data).expect("append");
    };
    add(&format!("{}.json", sha(&config)), &config);
    add("l1/layer.tar", &l1);
    add("l2/layer.tar", &l2);
    add(
        "manifest.json",
        &serde_json::to_vec(&manifest).expect("json"),
    );
    let path = dir.join("golden.tar");
    std::fs::write(&path, b.into_inner().expect("tar")).expect("write");
    path
}

fn check_golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).expect("update golden");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "missing golden file {}; run with UPDATE_GOLDEN=1",
            path.display()
        )
    });
    assert_eq!(actual, expected, "output differs from {}", path.display());
}

#[test]
fn output_formats_match_the_golden_files() {
    let s = Strata::new();
    let dir = tempfile::tempdir().expect("tmp");
    s.ok(&[
        "load",
        "-i",
        fixed_archive(dir.path()).to_str().expect("path"),
    ]);
    s.ok(&["tag", "golden/app:1.0", "localhost:5000/golden:latest"]);

    check_golden(
        "images.txt",
        &s.ok(&[
            "images",
            "--format",
            "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.Size}}",
        ]),
    );
    check_golden(
        "images-digests-no-trunc.txt",
        &s.ok(&[
            "images",
            "--digests",
            "--no-trunc",
            "--format",
            "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedAt}}",
        ]),
    );
    check_golden(
        "history.txt",
        &s.ok(&["history", "-H=false", "golden/app:1.0"]),
    );
    check_golden(
        "history-no-trunc.txt",
        &s.ok(&[
            "history",
            "--no-trunc",
            "--format",
            "table {{.ID}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}",
            "golden/app:1.0",
        ]),
    );
    check_golden(
        "history-human-sizes.txt",
        &s.ok(&[
            "history",
            "--format",
            "{{.Size}}|{{.CreatedBy}}",
            "golden/app:1.0",
        ]),
    );
    let root = s.root.path().display().to_string();
    let inspect = s
        .ok(&["image", "inspect", "golden/app:1.0"])
        .replace(&root, "<root>");
    let inspect = regex_like_replace(&inspect, "\"LastTagTime\": \"", "\"");
    check_golden("inspect.json", &inspect);
    check_golden("inspect-format.txt", &s.ok(&["inspect", "-f", "{{json .Config}}\n{{join .RepoTags \" \"}}\n{{range .RootFS.Layers}}{{println .}}{{end}}{{.Size}} {{upper .Os}}", "golden/app:1.0"]));
}

/// Replaces whatever stands between `start` and the next `end` with `<normalized>`.
fn regex_like_replace(s: &str, start: &str, end: &str) -> String {
    match s.find(start) {
        Some(i) => {
            let from = i + start.len();
            match s[from..].find(end) {
                Some(j) => format!("{}<normalized>{}", &s[..from], &s[from + j..]),
                None => s.to_owned(),
            }
        }
        None => s.to_owned(),
    }
}
