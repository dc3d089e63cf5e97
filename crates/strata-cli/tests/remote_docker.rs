//! Interop with docker: an image docker pushed is pulled by strata with the same ID and
//! layers; an image strata pushed is pulled and run by docker.

mod common;
mod remote_support;

use common::{Strata, busybox_tar, docker, docker_available, unique};
use remote_support::cncf_registry;

#[test]
fn docker_pushes_strata_pulls_and_strata_pushes_docker_runs() {
    if !docker_available() {
        eprintln!("skipping: docker info failed");
        return;
    }
    let reg = cncf_registry(&[]);
    let from_docker = format!("{}/interop/{}:v1", reg.host, unique("d"));
    let tar = busybox_tar();
    docker(&["import", tar.to_str().expect("utf8"), &from_docker]);
    docker(&["push", &from_docker]);
    let docker_id = docker(&["inspect", "--format", "{{.Id}}", &from_docker])
        .trim()
        .to_owned();
    let docker_layers = docker(&[
        "inspect",
        "--format",
        "{{json .RootFS.Layers}}",
        &from_docker,
    ])
    .trim()
    .to_owned();
    let docker_digest = docker(&[
        "inspect",
        "--format",
        "{{index .RepoDigests 0}}",
        &from_docker,
    ])
    .trim()
    .to_owned();

    let s = Strata::new();
    let out = s.ok(&["pull", &from_docker]);
    assert_eq!(
        s.ok(&["inspect", "--format", "{{.Id}}", &from_docker])
            .trim(),
        docker_id
    );
    assert_eq!(
        s.ok(&[
            "inspect",
            "--format",
            "{{json .RootFS.Layers}}",
            &from_docker
        ])
        .trim(),
        docker_layers
    );
    let digest = docker_digest.split('@').nth(1).expect("digest");
    assert!(out.contains(&format!("Digest: {digest}")), "{out}");

    // strata pushes (a new tag, so docker must fetch it) and docker runs it.
    let from_strata = format!("{}/interop/{}:v2", reg.host, unique("s"));
    s.ok(&[
        "import",
        "--change",
        "ENV MADE_BY=strata",
        tar.to_str().expect("utf8"),
        &from_strata,
    ]);
    let push = s.ok(&["push", &from_strata]);
    let pushed = push
        .lines()
        .find(|l| l.contains(": digest: "))
        .and_then(|l| l.split_whitespace().nth(2))
        .expect("digest")
        .to_owned();
    let pulled = docker(&["pull", &from_strata]);
    assert!(pulled.contains(&format!("Digest: {pushed}")), "{pulled}");
    assert_eq!(
        docker(&["inspect", "--format", "{{.Id}}", &from_strata]).trim(),
        s.ok(&["inspect", "--format", "{{.Id}}", &from_strata])
            .trim()
    );
    let ran = docker(&[
        "run",
        "--rm",
        "--network",
        "none",
        &from_strata,
        "/bin/echo",
        "ok",
    ]);
    assert_eq!(ran.trim(), "ok");
    let _ = std::process::Command::new("docker")
        .args(["rmi", "-f", &from_docker, &from_strata])
        .output();
}
