//! Pull and push against real registries started on loopback: the CNCF registry and
//! `strata registry serve`.

mod common;
mod remote_support;

use common::{Strata, busybox_tar};
use remote_support::{cncf_registry, http, strata_registry};

fn digest_of_push(out: &str) -> String {
    let line = out
        .lines()
        .find(|l| l.contains(": digest: "))
        .unwrap_or_else(|| panic!("no digest line in {out}"));
    line.split_whitespace().nth(2).expect("digest").to_owned()
}

fn image_id(s: &Strata, name: &str) -> String {
    s.ok(&["inspect", "--format", "{{.Id}}", name])
        .trim()
        .to_owned()
}

fn push_then_pull(host: &str) {
    let a = Strata::new();
    let name = format!("{host}/strata/bb:v1");
    a.ok(&["import", busybox_tar().to_str().expect("utf8"), &name]);
    let id = image_id(&a, &name);

    let out = a.ok(&["push", &name]);
    assert!(
        out.starts_with(&format!(
            "The push refers to repository [{host}/strata/bb]\n"
        )),
        "{out}"
    );
    assert!(out.contains(": Pushed\n"), "{out}");
    let digest = digest_of_push(&out);
    assert!(
        out.contains(&format!("v1: digest: {digest} size: ")),
        "{out}"
    );
    // The pushed digest is a RepoDigest.
    let repo_digests = a.ok(&["inspect", "--format", "{{json .RepoDigests}}", &name]);
    assert!(
        repo_digests.contains(&format!("{host}/strata/bb@{digest}")),
        "{repo_digests}"
    );
    // A second push uploads nothing.
    let again = a.ok(&["push", &name]);
    assert!(again.contains(": Layer already exists\n"), "{again}");
    assert_eq!(digest_of_push(&again), digest);

    let b = Strata::new();
    let out = b.ok(&["pull", &name]);
    assert!(out.starts_with("v1: Pulling from strata/bb\n"), "{out}");
    for word in [
        "Pulling fs layer",
        "Verifying Checksum",
        "Download complete",
        "Pull complete",
    ] {
        assert!(out.contains(word), "{word} missing from {out}");
    }
    assert!(out.contains(&format!("Digest: {digest}\n")), "{out}");
    assert!(
        out.contains(&format!("Status: Downloaded newer image for {name}\n")),
        "{out}"
    );
    assert!(out.ends_with(&format!("{name}\n")), "{out}");
    assert_eq!(
        image_id(&b, &name),
        id,
        "same image ID after the round trip"
    );
    let listed = b.ok(&[
        "images",
        "--digests",
        "--format",
        "{{.Repository}} {{.Tag}} {{.Digest}}",
    ]);
    assert!(
        listed.contains(&format!("{host}/strata/bb v1 {digest}")),
        "{listed}"
    );
    // The pulled image runs from the same files: the layer tar is identical.
    let again = b.ok(&["pull", &name]);
    assert!(
        again.contains(&format!("Status: Image is up to date for {name}")),
        "{again}"
    );
    assert!(!again.contains("Pull complete"), "{again}");

    // By digest, quietly.
    let c = Strata::new();
    let by_digest = format!("{host}/strata/bb@{digest}");
    assert_eq!(c.ok(&["pull", "-q", &by_digest]), format!("{by_digest}\n"));
    assert_eq!(image_id(&c, &by_digest), id);

    // Push to another repository of the same registry mounts the layer.
    let other = format!("{host}/strata/copy:v1");
    b.ok(&["tag", &name, &other]);
    let out = b.ok(&["push", &other]);
    assert!(out.contains(": Mounted from strata/bb\n"), "{out}");
}

#[test]
fn push_then_pull_through_the_cncf_registry_keeps_the_image_id() {
    let reg = cncf_registry(&[]);
    push_then_pull(&reg.host);
}

#[test]
fn push_then_pull_through_strata_registry_serve_keeps_the_image_id() {
    let reg = strata_registry();
    push_then_pull(&reg.host);
}

#[test]
fn zstd_push_round_trips_as_oci() {
    let reg = cncf_registry(&[]);
    let a = Strata::new();
    let name = format!("{}/z/bb:zstd", reg.host);
    a.ok(&["import", busybox_tar().to_str().expect("utf8"), &name]);
    let out = a.ok(&["push", "--compression", "zstd", &name]);
    let digest = digest_of_push(&out);
    let m = http(
        &reg.host,
        "GET",
        &format!("/v2/z/bb/manifests/{digest}"),
        &[("Accept", "application/vnd.oci.image.manifest.v1+json")],
        b"",
    );
    let text = String::from_utf8_lossy(&m.body).to_string();
    assert!(
        text.contains("application/vnd.oci.image.layer.v1.tar+zstd"),
        "{text}"
    );
    let b = Strata::new();
    b.ok(&["pull", &name]);
    assert_eq!(image_id(&b, &name), image_id(&a, &name));
}

#[test]
fn a_manifest_list_resolves_to_the_requested_platform() {
    let reg = cncf_registry(&[]);
    let host = &reg.host;
    let a = Strata::new();
    let amd = format!("{host}/multi/app:amd64");
    let arm = format!("{host}/multi/app:arm64");
    a.ok(&["import", busybox_tar().to_str().expect("utf8"), &amd]);
    a.ok(&[
        "import",
        "--change",
        "ENV FLAVOR=arm",
        busybox_tar().to_str().expect("utf8"),
        &arm,
    ]);
    let amd_out = a.ok(&["push", &amd]);
    let arm_out = a.ok(&["push", &arm]);
    let size_of = |out: &str| {
        out.lines()
            .find(|l| l.contains(": digest: "))
            .and_then(|l| l.split_whitespace().last())
            .expect("size")
            .to_owned()
    };
    let list = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[{{"mediaType":"application/vnd.docker.distribution.manifest.v2+json","size":{},"digest":"{}","platform":{{"architecture":"amd64","os":"linux"}}}},{{"mediaType":"application/vnd.docker.distribution.manifest.v2+json","size":{},"digest":"{}","platform":{{"architecture":"arm64","os":"linux","variant":"v8"}}}}]}}"#,
        size_of(&amd_out),
        digest_of_push(&amd_out),
        size_of(&arm_out),
        digest_of_push(&arm_out)
    );
    let put = http(
        host,
        "PUT",
        "/v2/multi/app/manifests/list",
        &[(
            "Content-Type",
            "application/vnd.docker.distribution.manifest.list.v2+json",
        )],
        list.as_bytes(),
    );
    assert_eq!(put.status, 201, "{}", String::from_utf8_lossy(&put.body));
    let list_ref = format!("{host}/multi/app:list");

    let b = Strata::new();
    let out = b.ok(&["pull", "--platform", "linux/arm64", &list_ref]);
    let list_digest = format!("sha256:{}", remote_support::sha256_hex(list.as_bytes()));
    assert!(
        out.contains(&format!("Digest: {list_digest}")),
        "the RepoDigest is the list's own digest: {out}"
    );
    assert_eq!(image_id(&b, &list_ref), image_id(&a, &arm));
    let c = Strata::new();
    c.ok(&["pull", "--platform", "linux/amd64", &list_ref]);
    assert_eq!(image_id(&c, &list_ref), image_id(&a, &amd));
    let err = c.fails(&["pull", "--platform", "linux/s390x", &list_ref]);
    assert!(
        err.contains("no matching manifest for linux/s390x in the manifest list entries"),
        "{err}"
    );
}

#[test]
fn all_tags_push_and_pull() {
    let reg = cncf_registry(&[]);
    let a = Strata::new();
    let repo = format!("{}/many/bb", reg.host);
    a.ok(&[
        "import",
        busybox_tar().to_str().expect("utf8"),
        &format!("{repo}:one"),
    ]);
    a.ok(&["tag", &format!("{repo}:one"), &format!("{repo}:two")]);
    let out = a.ok(&["push", "--all-tags", &repo]);
    assert!(
        out.contains("one: digest: ") && out.contains("two: digest: "),
        "{out}"
    );
    let b = Strata::new();
    let out = b.ok(&["pull", "--all-tags", &repo]);
    assert!(out.ends_with(&format!("{repo}\n")), "{out}");
    let tags = b.ok(&["images", "--format", "{{.Tag}}", &repo]);
    assert!(tags.contains("one") && tags.contains("two"), "{tags}");
}

#[test]
fn missing_images_and_tags_fail_clearly() {
    let reg = cncf_registry(&[]);
    let s = Strata::new();
    let err = s.fails(&["pull", &format!("{}/nope/nothing:v9", reg.host)]);
    assert!(
        err.contains("manifest for") && err.contains("not found"),
        "{err}"
    );
    let err = s.fails(&["push", &format!("{}/nope/nothing:v9", reg.host)]);
    assert!(
        err.contains("An image does not exist locally with the tag"),
        "{err}"
    );
    assert!(s.snapshot().iter().all(|p| !p.starts_with("images/")));
}

#[test]
fn search_against_strata_registry_serve_and_a_registry_without_it() {
    let reg = strata_registry();
    let s = Strata::new();
    for name in ["library/nginx", "team/nginx-proxy", "team/redis"] {
        let r = format!("{}/{name}:v1", reg.host);
        s.ok(&["import", busybox_tar().to_str().expect("utf8"), &r]);
        s.ok(&["push", "-q", &r]);
    }
    let out = s.ok(&["search", &format!("{}/nginx", reg.host)]);
    let mut lines = out.lines();
    let header = lines.next().expect("header");
    assert!(
        header.starts_with("NAME")
            && header.contains("DESCRIPTION")
            && header.contains("STARS")
            && header.contains("OFFICIAL"),
        "{out}"
    );
    let names: Vec<&str> = lines
        .map(|l| l.split_whitespace().next().unwrap_or(""))
        .collect();
    assert!(
        names.contains(&"library/nginx")
            && names.contains(&"team/nginx-proxy")
            && !names.contains(&"team/redis"),
        "{out}"
    );
    let limited = s.ok(&[
        "search",
        "--limit",
        "1",
        "--format",
        "{{.Name}}",
        &format!("{}/nginx", reg.host),
    ]);
    assert_eq!(limited.lines().count(), 1, "{limited}");
    let none = s.ok(&[
        "search",
        "--filter",
        "is-official=true",
        "--format",
        "{{.Name}}",
        &format!("{}/nginx", reg.host),
    ]);
    assert_eq!(none, "");
    let err = s.fails(&["search", "--limit", "0", "x"]);
    assert!(
        err.contains("limit 0 is outside the range of [1, 100]"),
        "{err}"
    );

    let cncf = cncf_registry(&[]);
    let err = s.fails(&["search", &format!("{}/nginx", cncf.host)]);
    assert!(err.contains("search is not supported by registry"), "{err}");
}

#[test]
fn run_pulls_a_missing_image_with_progress_on_stderr() {
    let reg = strata_registry();
    let name = format!("{}/strata/runme:1", reg.host);
    let a = Strata::new();
    a.ok(&[
        "import",
        "-c",
        "CMD [\"echo\", \"pulled and ran\"]",
        busybox_tar().to_str().expect("utf8"),
        &name,
    ]);
    a.ok(&["push", &name]);
    let b = Strata::new();
    let out = b.run(&["run", "--rm", "--network", "none", &name]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "pulled and ran\n",
        "only the container's output on stdout"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("Unable to find image '{name}' locally")),
        "{err}"
    );
    assert!(err.contains("Status: Downloaded newer image for"), "{err}");
    assert_eq!(image_id(&a, &name), image_id(&b, &name));
}

#[test]
fn push_platform_must_be_the_images_own() {
    let reg = strata_registry();
    let s = Strata::new();
    let name = format!("{}/plat/bb:1", reg.host);
    s.ok(&["import", busybox_tar().to_str().expect("utf8"), &name]);
    let own = s.ok(&["inspect", "--format", "{{.Os}}/{{.Architecture}}", &name]);
    let own = own.trim();
    let other = if own.ends_with("/arm64") {
        "linux/amd64"
    } else {
        "linux/arm64"
    };

    let err = s.fails(&["push", "--platform", other, &name]);
    assert!(
        err.contains(&format!(
            "does not match the specified platform: wanted {other}, actual: {own}"
        )) && err.contains("single platform"),
        "{err}"
    );
    let tags = http(&reg.host, "GET", "/v2/plat/bb/tags/list", &[], b"");
    assert_eq!(tags.status, 404, "nothing was pushed");

    let err = s.fails(&["push", "--platform", "not a platform", &name]);
    assert!(err.contains("not a platform"), "{err}");

    let out = s.ok(&["push", "--platform", own, &name]);
    assert!(out.contains("digest: sha256:"), "{out}");
}
