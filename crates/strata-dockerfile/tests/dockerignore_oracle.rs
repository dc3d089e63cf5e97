//! Differential test against the real Docker CLI: the files a `docker build` sends
//! must be exactly those a walk with `IgnoreMatcher` keeps. Skips without docker.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::process::Command;
use strata_dockerfile::ignore::IgnoreMatcher;

const FILES: &[&str] = &[
    "a.txt",
    "a.log",
    "keep.log",
    "sub/keep.log",
    "build/out.o",
    "build/keep/k.txt",
    "build/other/x",
    "node_modules/m/index.js",
    "src/main.rs",
    "src/important/i.txt",
    "cache/important/c2.txt",
    "cache/other.txt",
    "docs/README.md",
    "docs/x.md",
    "deep/a/b/c.txt",
    "deep/a/b/d.txt",
    ".hidden",
    "dir with space/f.txt",
    "x[1].txt",
    "tmp/a/b",
];

const DOCKERIGNORE: &str = "# comment\n*.log\n!keep.log\nbuild\n!build/keep\nnode_modules\ncache\n!**/important\ndocs/*\n!docs/README.md\n**/c.txt\n/.hidden\n  ./tmp/  \n";

fn docker(args: &[&str]) -> Option<String> {
    let out = Command::new("docker").args(args).output().ok()?;
    if !out.status.success() {
        eprintln!("docker {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        return None;
    }
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Walks `root` the way Docker's context archiver does with the matcher.
fn walk(root: &Path, rel: &str, m: &IgnoreMatcher, out: &mut BTreeSet<String>) {
    let dir = if rel.is_empty() {
        root.to_path_buf()
    } else {
        root.join(rel)
    };
    let mut entries: Vec<_> = fs::read_dir(&dir)
        .map(|r| r.flatten().collect())
        .unwrap_or_default();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = if rel.is_empty() {
            name
        } else {
            format!("{rel}/{name}")
        };
        let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
        if is_dir {
            if m.may_skip_dir(&path) {
                continue;
            }
            walk(root, &path, m, out);
        } else if !m.matches(&path) {
            out.insert(path);
        }
    }
}

#[test]
fn build_context_matches_docker() {
    if Command::new("docker")
        .arg("info")
        .output()
        .map(|o| !o.status.success())
        .unwrap_or(true)
    {
        println!("skipping: docker info failed, no oracle");
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let ctx = tmp.path().join("ctx");
    for f in FILES {
        let p = ctx.join(f);
        fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        fs::write(&p, f).expect("write");
    }
    fs::write(ctx.join(".dockerignore"), DOCKERIGNORE).expect("write ignore");
    let dockerfile = tmp.path().join("Dockerfile");
    fs::write(&dockerfile, "FROM scratch\nCOPY . /ctx/\n").expect("write dockerfile");

    let tag = format!("strata-dockerignore-oracle:{}", std::process::id());
    let (Some(ctx_s), Some(df_s)) = (ctx.to_str(), dockerfile.to_str()) else {
        return;
    };
    let built = Command::new("docker")
        .env("DOCKER_BUILDKIT", "0")
        .args(["build", "-q", "-t", &tag, "-f", df_s, ctx_s])
        .output()
        .expect("docker build");
    assert!(
        built.status.success(),
        "docker build: {}",
        String::from_utf8_lossy(&built.stderr)
    );
    let container = docker(&["create", &tag, "/none"]).expect("docker create");
    let container = container.trim();
    let export = tmp.path().join("export.tar");
    let exported = docker(&[
        "export",
        "-o",
        export.to_str().unwrap_or_default(),
        container,
    ]);
    let listing = Command::new("tar")
        .arg("-tf")
        .arg(&export)
        .output()
        .expect("tar");
    docker(&["rm", container]);
    docker(&["rmi", &tag]);
    assert!(exported.is_some(), "docker export failed");

    let mut sent = BTreeSet::new();
    for line in String::from_utf8_lossy(&listing.stdout).lines() {
        if let Some(rel) = line.strip_prefix("ctx/") {
            // Directories end with '/'; the CLI-added Dockerfile copy is not ours.
            if !rel.is_empty() && !rel.ends_with('/') && !rel.starts_with(".dockerfile.") {
                sent.insert(rel.to_string());
            }
        }
    }
    let matcher = IgnoreMatcher::parse(DOCKERIGNORE.as_bytes()).expect("parse");
    let mut ours = BTreeSet::new();
    walk(&ctx, "", &matcher, &mut ours);
    // The CLI always sends .dockerignore itself.
    ours.insert(".dockerignore".to_string());
    println!("docker sent {} files: {sent:?}", sent.len());
    assert_eq!(
        ours, sent,
        "files kept by strata (left) vs sent by docker (right)"
    );
}
