//! diff, commit and export of real containers, compared with Docker doing the same.

mod common;

use common::{Strata, busybox_tar, docker, docker_available, unique};
use std::collections::BTreeSet;
use std::process::Command;

/// Every kind of change the issue lists: add, change, delete, a directory deleted and made
/// again, chmod, chown, symlink, hard link, special files.
const FILE_OPS: &str = "echo new > /added.txt && echo more >> /etc/motd && rm /etc/group \
    && rm -rf /home && mkdir /home && echo x > /home/f && chmod 600 /etc/passwd && chown 1:1 /root \
    && ln -s /etc/passwd /link && ln /added.txt /hard && mkfifo /fifo && mknod /dev-null c 1 3 \
    && mkdir -p /a/b/c && touch /a/b/c/d && rm -rf /usr/sbin";

/// The same container in docker: the fixture imported and FILE_OPS run. Removed on drop.
struct DockerTwin {
    base: String,
    name: String,
}

impl DockerTwin {
    fn new(prefix: &str) -> DockerTwin {
        let base = format!("{}:1", unique(&format!("{prefix}-base")));
        let name = unique(&format!("{prefix}-ctr"));
        docker(&["import", busybox_tar().to_str().expect("path"), &base]);
        docker(&[
            "run",
            "--name",
            &name,
            "--network",
            "none",
            &base,
            "sh",
            "-c",
            FILE_OPS,
        ]);
        DockerTwin { base, name }
    }
}

impl Drop for DockerTwin {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["rm", "-f", &self.name])
            .output();
        let _ = Command::new("docker")
            .args(["rmi", "-f", &self.base])
            .output();
    }
}

fn strata_container(s: &Strata, name: &str) {
    s.import_busybox("bb:local");
    s.ok(&["run", "--name", name, "bb:local", "sh", "-c", FILE_OPS]);
}

#[test]
fn diff_lists_each_change_as_docker_does() {
    let s = Strata::new();
    strata_container(&s, "fig");
    let diff = s.ok(&["diff", "fig"]);
    let lines: Vec<&str> = diff.lines().collect();
    for want in [
        "A /added.txt",
        "C /etc",
        "C /etc/motd",
        "D /etc/group",
        "C /etc/passwd",
        "C /home",
        "A /home/f",
        "C /root",
        "A /link",
        "A /hard",
        "A /fifo",
        "A /a",
        "A /a/b/c/d",
        "C /usr",
        "D /usr/sbin",
    ] {
        assert!(lines.contains(&want), "missing {want:?} in:\n{diff}");
    }
    // Docker prints in Go map order (random); strata sorts by path, parents first.
    let mut sorted_lines = lines.clone();
    sorted_lines.sort_by(|a, b| a[2..].split('/').cmp(b[2..].split('/')));
    assert_eq!(lines, sorted_lines);
    assert!(
        !diff.contains("/etc/hosts") && !diff.contains("/etc/hostname"),
        "runtime mount points are not changes:\n{diff}"
    );
    let err = s.fails(&["diff", "nosuch"]);
    assert!(err.contains("No such container: nosuch"), "{err}");
    if !docker_available() {
        eprintln!("skipping the docker comparison: no Docker daemon");
        return;
    }
    let twin = DockerTwin::new("diff");
    let name = twin.name.clone();
    let theirs = docker(&["diff", &name]);
    let sorted = |s: &str| s.lines().map(str::to_owned).collect::<BTreeSet<_>>();
    assert_eq!(sorted(&diff), sorted(&theirs), "same changes as docker");
}

fn tar_listing(bytes: &[u8]) -> Vec<String> {
    let mut a = tar::Archive::new(bytes);
    let mut names: Vec<String> = a
        .entries()
        .expect("tar")
        .map(|e| {
            e.expect("entry")
                .path()
                .expect("path")
                .display()
                .to_string()
        })
        .collect();
    names.sort();
    names
}

/// The entry names of the top layer of IMAGE in a `save` archive.
fn top_layer_entries(archive: &[u8]) -> Vec<String> {
    let mut a = tar::Archive::new(archive);
    let mut files = std::collections::HashMap::new();
    for e in a.entries().expect("tar") {
        let mut e = e.expect("entry");
        let name = e.path().expect("path").display().to_string();
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut e, &mut buf).expect("read");
        files.insert(name, buf);
    }
    let manifest: serde_json::Value =
        serde_json::from_slice(&files["manifest.json"]).expect("manifest");
    let layers = manifest[0]["Layers"].as_array().expect("layers");
    let top = layers.last().and_then(|l| l.as_str()).expect("top layer");
    tar_listing(&files[top])
}

#[test]
fn commit_makes_a_layer_docker_agrees_with_and_the_image_runs() {
    let s = Strata::new();
    strata_container(&s, "fig");
    let id = s.ok(&[
        "commit",
        "-m",
        "add files",
        "-a",
        "me",
        "-c",
        "CMD [\"cat\", \"/added.txt\"]",
        "fig",
        "ourfig",
    ]);
    assert!(id.starts_with("sha256:"), "{id}");
    assert_eq!(s.ok(&["run", "--rm", "ourfig"]), "new\n");
    let out = s.run(&["run", "--rm", "ourfig", "cat", "/etc/group"]);
    assert!(
        !out.status.success(),
        "a deleted file stays deleted in the child image"
    );
    let history = s.ok(&[
        "history",
        "--format",
        "{{.CreatedBy}}|{{.Comment}}",
        "ourfig",
    ]);
    assert!(
        history
            .lines()
            .next()
            .expect("top row")
            .ends_with("|add files"),
        "{history}"
    );
    assert_eq!(
        s.ok(&[
            "inspect",
            "-f",
            "{{.Author}} {{json .Config.Cmd}}",
            "ourfig"
        ]),
        "me [\"cat\",\"/added.txt\"]\n"
    );
    assert_eq!(
        s.ok(&["inspect", "-f", "{{len .RootFS.Layers}}", "ourfig"]),
        "2\n"
    );
    let err = s.fails(&["commit", "-c", "RUN echo", "fig", "bad"]);
    assert!(err.contains("run is not a valid change command"), "{err}");
    assert!(s.fails(&["inspect", "bad"]).contains("No such"));
    assert!(
        s.fails(&["commit", "nosuch"])
            .contains("No such container: nosuch")
    );

    if !docker_available() {
        eprintln!("skipping the docker comparison: no Docker daemon");
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let ours = dir.path().join("ours.tar");
    s.ok(&["save", "-o", ours.to_str().expect("path"), "ourfig"]);
    let tag = format!("{}:1", unique("strata-commit"));
    s.ok(&["tag", "ourfig", &tag]);
    let ours_tagged = dir.path().join("ours-tagged.tar");
    s.ok(&["save", "-o", ours_tagged.to_str().expect("path"), &tag]);
    docker(&["load", "-i", ours_tagged.to_str().expect("path")]);
    assert_eq!(
        docker(&["run", "--rm", "--network", "none", &tag]),
        "new\n",
        "a strata commit runs in docker"
    );

    let twin = DockerTwin::new("commit");
    let theirs_tag = format!("{}:1", unique("docker-commit"));
    docker(&["commit", &twin.name, &theirs_tag]);
    let theirs = dir.path().join("theirs.tar");
    docker(&["save", "-o", theirs.to_str().expect("path"), &theirs_tag]);
    for r in [&theirs_tag, &tag] {
        let _ = Command::new("docker").args(["rmi", "-f", r]).output();
    }
    let ours_entries = top_layer_entries(&std::fs::read(&ours).expect("read"));
    let theirs_entries = top_layer_entries(&std::fs::read(&theirs).expect("read"));
    assert_eq!(
        ours_entries, theirs_entries,
        "the committed layer holds the same entries as docker's"
    );
}

#[test]
fn export_lists_what_docker_exports() {
    let s = Strata::new();
    strata_container(&s, "fig");
    let out = s.cmd().args(["export", "fig"]).output().expect("export");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ours = tar_listing(&out.stdout);
    assert!(
        ours.contains(&"added.txt".to_string()) && !ours.contains(&"etc/group".to_string()),
        "{ours:?}"
    );
    assert!(
        !ours.iter().any(|n| n.contains(".wh.")),
        "no whiteouts in an export"
    );
    // Squash by export: import it again as one layer.
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("fig.tar");
    s.ok(&["export", "-o", file.to_str().expect("path"), "fig"]);
    s.ok(&["image", "import", file.to_str().expect("path"), "flat:1"]);
    assert_eq!(
        s.ok(&["inspect", "-f", "{{len .RootFS.Layers}}", "flat:1"]),
        "1\n"
    );
    assert_eq!(s.ok(&["run", "--rm", "flat:1", "cat", "/home/f"]), "x\n");

    if !docker_available() {
        eprintln!("skipping the docker comparison: no Docker daemon");
        return;
    }
    let twin = DockerTwin::new("export");
    let name = twin.name.clone();
    let theirs = Command::new("docker")
        .args(["export", &name])
        .output()
        .expect("docker export");
    // Docker adds the mount points it manages (/.dockerenv, /etc/hosts, ...) to every export.
    let docker_only = [
        "./",
        ".dockerenv",
        "dev/",
        "dev/console",
        "dev/pts/",
        "dev/shm/",
        "etc/hostname",
        "etc/hosts",
        "etc/mtab",
        "etc/resolv.conf",
        "proc/",
        "sys/",
    ];
    let normalize = |names: Vec<String>| {
        names
            .into_iter()
            .filter(|n| !docker_only.contains(&n.as_str()))
            .collect::<Vec<_>>()
    };
    assert_eq!(normalize(ours), normalize(tar_listing(&theirs.stdout)));
}

#[test]
fn inspect_finds_containers_before_images() {
    let s = Strata::new();
    strata_container(&s, "fig");
    assert_eq!(s.ok(&["inspect", "-f", "{{.Name}}", "fig"]), "/fig\n");
    assert_eq!(
        s.ok(&[
            "inspect",
            "--type",
            "image",
            "-f",
            "{{len .RootFS.Layers}}",
            "bb:local"
        ]),
        "1\n"
    );
    let err = s.fails(&["inspect", "--type", "container", "bb:local"]);
    assert!(err.contains("No such container: bb:local"), "{err}");
}

#[test]
fn vfs_containers_diff_commit_and_export_like_overlay_ones() {
    let s = Strata::new();
    s.import_busybox("bb:local");
    s.ok(&[
        "run",
        "--storage-driver",
        "vfs",
        "--name",
        "vfsbox",
        "bb:local",
        "sh",
        "-c",
        FILE_OPS,
    ]);
    assert_eq!(s.ok(&["inspect", "-f", "{{.Driver}}", "vfsbox"]), "vfs\n");
    let vfs_diff = s.ok(&["diff", "vfsbox"]);
    let o = Strata::new();
    strata_container(&o, "ovlbox");
    let overlay_diff = o.ok(&["diff", "ovlbox"]);
    let sorted = |s: &str| s.lines().map(str::to_owned).collect::<BTreeSet<_>>();
    assert_eq!(
        sorted(&vfs_diff),
        sorted(&overlay_diff),
        "both drivers report the same changes"
    );
    s.ok(&["commit", "vfsbox", "vimg"]);
    assert_eq!(s.ok(&["run", "--rm", "vimg", "cat", "/added.txt"]), "new\n");
    assert!(
        !s.run(&["run", "--rm", "vimg", "cat", "/etc/group"])
            .status
            .success()
    );
    let out = s.cmd().args(["export", "vfsbox"]).output().expect("export");
    let names = tar_listing(&out.stdout);
    assert!(names.contains(&"added.txt".to_string()) && !names.contains(&"etc/group".to_string()));
}
