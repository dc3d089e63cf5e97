//! Differential tests: the same Dockerfiles built by strata and by Docker's classic builder
//! (`DOCKER_BUILDKIT=0 docker build`) from the same busybox base give the same config
//! fields, the same history (`created_by`, `empty_layer`) and the same files per layer.
//! The docker half is skipped (with a message) when `docker info` fails.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::Path;
use std::process::Command;

use common::{Strata, docker, docker_available, unique};

/// Config, history and per-layer file lists from a `save` archive.
struct Saved {
    config: serde_json::Value,
    layers: Vec<Vec<String>>,
}

fn read_saved(tar_path: &Path) -> Saved {
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut a = tar::Archive::new(fs::File::open(tar_path).unwrap());
    for e in a.entries().unwrap() {
        let mut e = e.unwrap();
        let name = e.path().unwrap().display().to_string();
        let mut buf = Vec::new();
        e.read_to_end(&mut buf).unwrap();
        files.insert(name, buf);
    }
    let manifest: serde_json::Value = serde_json::from_slice(&files["manifest.json"]).unwrap();
    let config: serde_json::Value =
        serde_json::from_slice(&files[manifest[0]["Config"].as_str().unwrap()]).unwrap();
    let layers = manifest[0]["Layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            let mut names: Vec<String> = tar::Archive::new(&files[l.as_str().unwrap()][..])
                .entries()
                .unwrap()
                .map(|e| {
                    e.unwrap()
                        .path()
                        .unwrap()
                        .display()
                        .to_string()
                        .trim_end_matches('/')
                        .to_string()
                })
                .collect();
            names.sort();
            names
        })
        .collect();
    Saved { config, layers }
}

const FIELDS: [&str; 12] = [
    "Env",
    "Cmd",
    "Entrypoint",
    "WorkingDir",
    "User",
    "ExposedPorts",
    "Volumes",
    "Labels",
    "Healthcheck",
    "OnBuild",
    "Shell",
    "StopSignal",
];

/// Config fields, history (created_by, empty_layer) and layer file lists, to compare.
type Summary = (
    BTreeMap<String, serde_json::Value>,
    Vec<(String, bool)>,
    Vec<Vec<String>>,
);

fn summary(saved: &Saved, base_history: usize) -> Summary {
    let cfg = &saved.config["config"];
    let fields = FIELDS
        .iter()
        .map(|f| (f.to_string(), normalize_empty(&cfg[*f])))
        .collect();
    let history = saved.config["history"]
        .as_array()
        .unwrap()
        .iter()
        .skip(base_history)
        .map(|h| {
            (
                // Exact, content hashes included: strata computes Docker's (see tarsum.rs).
                h["created_by"].as_str().unwrap_or("").to_string(),
                h["empty_layer"].as_bool().unwrap_or(false),
            )
        })
        .collect();
    (fields, history, saved.layers.clone())
}

/// Docker omits or nulls empty values in places strata may write `[]`/`{}` and vice versa.
fn normalize_empty(v: &serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Array(a) if a.is_empty() => serde_json::Value::Null,
        serde_json::Value::Object(o) if o.is_empty() => serde_json::Value::Null,
        serde_json::Value::String(s) if s.is_empty() => serde_json::Value::Null,
        other => other.clone(),
    }
}

struct Case {
    name: &'static str,
    dockerfile: &'static str,
    files: &'static [(&'static str, &'static str)],
    args: &'static [&'static str],
}

const CASES: &[Case] = &[
    Case {
        name: "config",
        dockerfile: "FROM BASE\nMAINTAINER someone <a@b.c>\nARG V=1\nENV A=1 B=\"two words\"\nENV A $V-x\nLABEL l1=a \"l 2\"=b\nEXPOSE 80 53/udp 8000-8001\nVOLUME /data /other\nUSER nobody\nWORKDIR /tmp\nWORKDIR app/sub\nSTOPSIGNAL SIGKILL\nHEALTHCHECK --interval=5m --timeout=3s --retries=3 CMD wget -q localhost || exit 1\nSHELL [\"/bin/sh\", \"-ec\"]\nONBUILD RUN echo triggered\nCMD echo hi\nENTRYPOINT [\"/bin/sh\", \"-c\"]\n",
        files: &[],
        args: &["--build-arg", "V=9"],
    },
    Case {
        name: "cmd-then-entrypoint",
        dockerfile: "FROM BASE\nENTRYPOINT echo e\nCMD [\"a\", \"b\"]\nHEALTHCHECK NONE\nVOLUME /v\nUSER 1000:1000\n",
        files: &[],
        args: &[],
    },
    Case {
        name: "copy",
        dockerfile: "FROM BASE\nWORKDIR /app\nCOPY a.txt .\nCOPY a.txt b.txt /multi/\nCOPY dir /copied\nCOPY dir/ rel/\nCOPY *.txt /glob/\nCOPY --chown=daemon:nogroup a.txt /owned\nADD a.txt /added.txt\nADD arch.tar /unpacked/\n",
        files: &[
            ("a.txt", "a"),
            ("b.txt", "b"),
            ("dir/x", "x"),
            ("dir/sub/y", "y"),
            ("ignored.log", "i"),
            (".dockerignore", "*.log\n"),
        ],
        args: &[],
    },
    Case {
        name: "run-and-stages",
        dockerfile: "FROM BASE AS first\nARG WHO=world\nRUN echo hello $WHO > /greeting && mkdir -p /made/here\nRUN [\"/bin/sh\", \"-c\", \"rm /etc/group\"]\nFROM BASE\nCOPY --from=first /greeting /from-stage\nRUN echo done\n",
        files: &[],
        args: &["--build-arg", "WHO=you"],
    },
];

fn make_context(case: &Case, base: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("Dockerfile"),
        case.dockerfile.replace("BASE", base),
    )
    .unwrap();
    for (n, b) in case.files {
        let p = dir.path().join(n);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, b).unwrap();
        // Same times on both sides is not needed: only names, modes and owners are compared.
    }
    if case.name == "copy" {
        let f = fs::File::create(dir.path().join("arch.tar")).unwrap();
        let mut b = tar::Builder::new(f);
        let mut h = tar::Header::new_gnu();
        h.set_size(5);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, "inner/file.txt", &b"inner"[..])
            .unwrap();
        b.finish().unwrap();
    }
    dir
}

#[test]
fn builds_match_dockers_classic_builder() {
    let s = Strata::new();
    let base = "bbase";
    s.import_busybox(base);
    let with_docker = docker_available();
    let docker_base = unique("strata-build-base");
    if with_docker {
        docker(&[
            "import",
            common::busybox_tar().to_str().unwrap(),
            &docker_base,
        ]);
    } else {
        eprintln!(
            "docker info failed: skipping the docker half of builds_match_dockers_classic_builder"
        );
    }
    let out_dir = tempfile::tempdir().unwrap();
    for case in CASES {
        let ctx = make_context(case, base);
        let tag = format!("case-{}", case.name);
        let out = s
            .cmd()
            .args(["build", "-t", &tag])
            .args(case.args)
            .arg(ctx.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "strata build {}: {}{}",
            case.name,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let ours_tar = out_dir.path().join(format!("{}-strata.tar", case.name));
        s.ok(&["save", "-o", ours_tar.to_str().unwrap(), &tag]);
        let ours = summary(&read_saved(&ours_tar), 1);
        assert!(!ours.1.is_empty(), "history recorded for {}", case.name);
        if !with_docker {
            continue;
        }
        let dctx = make_context(case, &docker_base);
        let dtag = unique(&format!("strata-build-{}", case.name));
        let status = Command::new("docker")
            .env("DOCKER_BUILDKIT", "0")
            .args(["build", "-q", "-t", &dtag])
            .args(case.args)
            .arg(dctx.path())
            .output()
            .unwrap();
        assert!(
            status.status.success(),
            "docker build {}: {}",
            case.name,
            String::from_utf8_lossy(&status.stderr)
        );
        let theirs_tar = out_dir.path().join(format!("{}-docker.tar", case.name));
        docker(&["save", "-o", theirs_tar.to_str().unwrap(), &dtag]);
        let theirs = summary(&read_saved(&theirs_tar), 1);
        let _ = Command::new("docker").args(["rmi", "-f", &dtag]).output();
        // The FROM image's ID differs (Config.Image), so it is not compared; the rest must match.
        let mut expected_fields = theirs.0.clone();
        if let Some(serde_json::Value::Array(env)) = expected_fields.get_mut("Env") {
            env.sort_by_key(|v| v.to_string());
        }
        let mut actual_fields = ours.0.clone();
        if let Some(serde_json::Value::Array(env)) = actual_fields.get_mut("Env") {
            env.sort_by_key(|v| v.to_string());
        }
        assert_eq!(
            actual_fields, expected_fields,
            "config fields of {}",
            case.name
        );
        assert_eq!(ours.1, theirs.1, "history of {}", case.name);
        assert_eq!(ours.2, theirs.2, "layer file lists of {}", case.name);
    }
    if with_docker {
        let _ = Command::new("docker")
            .args(["rmi", "-f", &docker_base])
            .output();
    }
}

#[test]
fn onbuild_triggers_run_when_used_as_base() {
    let s = Strata::new();
    s.import_busybox("bbase");
    let ctx = tempfile::tempdir().unwrap();
    fs::write(
        ctx.path().join("Dockerfile"),
        "FROM bbase\nONBUILD COPY t.txt /t.txt\nONBUILD ENV TRIGGERED=1\n",
    )
    .unwrap();
    fs::write(ctx.path().join("t.txt"), "t").unwrap();
    s.ok(&["build", "-t", "parent", ctx.path().to_str().unwrap()]);
    fs::write(
        ctx.path().join("Dockerfile"),
        "FROM parent\nCMD [\"cat\", \"/t.txt\"]\n",
    )
    .unwrap();
    let out = s.ok(&["build", "-t", "child", ctx.path().to_str().unwrap()]);
    assert!(out.contains("# Executing 2 build triggers"), "{out}");
    let env = s.ok(&["inspect", "--format", "{{json .Config.Env}}", "child"]);
    assert!(env.contains("TRIGGERED=1"), "{env}");
    let onbuild = s.ok(&["inspect", "--format", "{{json .Config.OnBuild}}", "child"]);
    assert!(
        matches!(onbuild.trim(), "[]" | "null"),
        "triggers cleared: {onbuild}"
    );
}

#[test]
fn target_label_squash_iidfile_and_stdin_context() {
    let s = Strata::new();
    s.import_busybox("bbase");
    let ctx = tempfile::tempdir().unwrap();
    fs::write(
        ctx.path().join("Dockerfile"),
        "FROM bbase AS one\nRUN echo 1 > /one\nFROM one AS two\nRUN echo 2 > /two\nRUN rm /one\n",
    )
    .unwrap();
    let iid = ctx.path().join("iid");
    s.ok(&[
        "build",
        "--target",
        "one",
        "--label",
        "k=v",
        "--iidfile",
        iid.to_str().unwrap(),
        "-t",
        "t1",
        "-t",
        "t2",
        ctx.path().to_str().unwrap(),
    ]);
    let id = fs::read_to_string(&iid).unwrap();
    assert_eq!(s.ok(&["inspect", "--format", "{{.Id}}", "t2"]).trim(), id);
    assert_eq!(
        s.ok(&["inspect", "--format", "{{.Config.Labels.k}}", "t1"])
            .trim(),
        "v"
    );
    s.ok(&[
        "build",
        "--squash",
        "-t",
        "sq",
        ctx.path().to_str().unwrap(),
    ]);
    let layers = s.ok(&["inspect", "--format", "{{len .RootFS.Layers}}", "sq"]);
    assert_eq!(
        layers.trim(),
        "3",
        "the base stage's two layers + one squashed layer"
    );
    let files = s.ok(&["run", "--rm", "sq", "sh", "-c", "ls /one /two 2>&1; true"]);
    assert!(
        files.contains("/two") && files.contains("No such file"),
        "{files}"
    );
    // A tar context on stdin.
    let tar_path = ctx.path().join("ctx.tar");
    let st = Command::new("tar")
        .args([
            "-C",
            ctx.path().to_str().unwrap(),
            "-cf",
            tar_path.to_str().unwrap(),
            "Dockerfile",
        ])
        .status()
        .unwrap();
    assert!(st.success());
    let out = s
        .cmd()
        .args(["build", "-q", "-"])
        .stdin(fs::File::open(&tar_path).unwrap())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .starts_with("sha256:")
    );
}
