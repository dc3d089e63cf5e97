//! Differential tests: the same images through strata and through the real Docker engine.
//! Each test skips (with a message) when no Docker daemon answers.

mod common;

use common::{Strata, busybox_tar, docker, docker_available, unique};

macro_rules! require_docker {
    () => {
        if !docker_available() {
            eprintln!("skipping: no Docker daemon answers `docker info`");
            return;
        }
    };
}

/// Removes the docker images a test made, even when it fails.
struct DockerCleanup(Vec<String>);
impl Drop for DockerCleanup {
    fn drop(&mut self) {
        for r in &self.0 {
            let _ = std::process::Command::new("docker")
                .args(["rmi", "-f", r])
                .output();
        }
    }
}

#[test]
fn strata_save_loads_and_runs_in_docker_with_the_same_id() {
    require_docker!();
    let s = Strata::new();
    let tag = format!("{}:1", unique("strata-to-docker"));
    let _cleanup = DockerCleanup(vec![tag.clone()]);
    let id = s.import_busybox(&tag);
    let archive = s.root.path().join("../to-docker.tar");
    s.ok(&["save", "-o", archive.to_str().expect("path"), &tag]);
    let out = docker(&["load", "-i", archive.to_str().expect("path")]);
    assert!(out.contains(&format!("Loaded image: {tag}")), "{out}");
    assert_eq!(
        docker(&["image", "inspect", "-f", "{{.Id}}", &tag]).trim(),
        id,
        "docker keeps the image ID"
    );
    let ran = docker(&[
        "run",
        "--rm",
        "--network",
        "none",
        &tag,
        "/bin/echo",
        "ran in docker",
    ]);
    assert_eq!(ran, "ran in docker\n");
    std::fs::remove_file(archive).ok();
}

/// Builds a three-layer image in docker, saves it, and removes it from docker again so that
/// both engines then know it only from the archive (no local parents).
fn docker_built_archive(dir: &std::path::Path, tag: &str) -> std::path::PathBuf {
    let base = format!("{}:base", unique("oracle-base"));
    docker(&["import", busybox_tar().to_str().expect("path"), &base]);
    let dockerfile = format!(
        "FROM {base}\nRUN echo hi > /hello && mkdir -p /d/e && rm /etc/motd\nENV A=1 B=\"two words\"\nWORKDIR /d\nLABEL k=v\nEXPOSE 8080\nRUN ln -s /hello /d/link && touch /d/e/f\nCMD [\"sh\"]\n"
    );
    std::fs::write(dir.join("Dockerfile"), dockerfile).expect("dockerfile");
    let out = std::process::Command::new("docker")
        .args(["build", "-q", "-t", tag])
        .arg(dir)
        .env("DOCKER_BUILDKIT", "0")
        .output()
        .expect("docker build");
    assert!(
        out.status.success(),
        "docker build: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let archive = dir.join("from-docker.tar");
    docker(&["save", "-o", archive.to_str().expect("path"), tag]);
    docker(&["rmi", tag, &base]);
    docker(&["load", "-i", archive.to_str().expect("path")]);
    archive
}

#[test]
fn docker_save_loads_into_strata_with_the_same_id_layers_and_config() {
    require_docker!();
    let dir = tempfile::tempdir().expect("tmp");
    let tag = format!("{}:1", unique("docker-to-strata"));
    let _cleanup = DockerCleanup(vec![tag.clone()]);
    let archive = docker_built_archive(dir.path(), &tag);
    let s = Strata::new();
    let out = s.ok(&["load", "-i", archive.to_str().expect("path")]);
    assert_eq!(out, format!("Loaded image: {tag}\n"));
    for f in [
        "{{.Id}}",
        "{{json .RootFS.Layers}}",
        "{{.Size}}",
        "{{.Created}}",
        "{{.Architecture}}/{{.Os}}",
    ] {
        assert_eq!(
            s.ok(&["image", "inspect", "-f", f, &tag]),
            docker(&["image", "inspect", "-f", f, &tag]),
            "{f}"
        );
    }
    let ours: serde_json::Value =
        serde_json::from_str(&s.ok(&["image", "inspect", "-f", "{{json .Config}}", &tag]))
            .expect("json");
    let theirs: serde_json::Value = serde_json::from_str(&docker(&[
        "image",
        "inspect",
        "-f",
        "{{json .Config}}",
        &tag,
    ]))
    .expect("json");
    assert_eq!(ours, theirs, "Config");
}

#[test]
fn images_history_and_inspect_print_what_docker_prints() {
    require_docker!();
    let dir = tempfile::tempdir().expect("tmp");
    let tag = format!("{}:1", unique("oracle-output"));
    let _cleanup = DockerCleanup(vec![tag.clone()]);
    let archive = docker_built_archive(dir.path(), &tag);
    let s = Strata::new();
    s.ok(&["load", "-i", archive.to_str().expect("path")]);
    let repo = tag.split(':').next().expect("repo");
    // CREATED columns are relative times: compare everything else, columns and widths included.
    let images_fmt = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.Size}}";
    assert_eq!(
        s.ok(&["images", "--format", images_fmt, repo]),
        docker(&["images", "--format", images_fmt, repo])
    );
    assert_eq!(
        s.ok(&["images", "--no-trunc", "-q", repo]),
        docker(&["images", "--no-trunc", "-q", repo])
    );
    for f in [
        "table {{.ID}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}",
        "{{.ID}}|{{.CreatedAt}}|{{.CreatedBy}}|{{.Size}}",
    ] {
        assert_eq!(
            s.ok(&["history", "--format", f, &tag]),
            docker(&["history", "--format", f, &tag]),
            "{f}"
        );
        assert_eq!(
            s.ok(&["history", "--no-trunc", "-H=false", "--format", f, &tag]),
            docker(&["history", "--no-trunc", "-H=false", "--format", f, &tag]),
            "{f}"
        );
    }
    for f in [
        "{{json .RepoTags}}",
        "{{.Parent}}|{{.Comment}}|{{.Author}}",
        "{{join .Config.Env \",\"}}",
        "{{upper .Os}} {{len .RootFS.Layers}}",
    ] {
        assert_eq!(
            s.ok(&["image", "inspect", "--format", f, &tag]),
            docker(&["image", "inspect", "--format", f, &tag]),
            "{f}"
        );
    }
}
