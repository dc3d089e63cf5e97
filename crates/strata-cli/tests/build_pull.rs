//! Base images pulled on demand, against a registry started on loopback: `build` pulls a
//! missing FROM (and `COPY --from`) image with Docker's pull lines in the build output,
//! `--pull` pulls even a stored one, and `create` pulls with its progress on stderr.

mod common;
mod remote_support;

use std::fs;

use common::{Strata, busybox_tar};
use remote_support::{cncf_registry, strata_registry};

fn image_id(s: &Strata, name: &str) -> String {
    s.ok(&["inspect", "--format", "{{.Id}}", name])
        .trim()
        .to_owned()
}

fn short(id: &str) -> String {
    id.trim_start_matches("sha256:").chars().take(12).collect()
}

/// Imports busybox as `name` with `cmd` (so each call makes a distinct image) and pushes it.
fn publish(s: &Strata, name: &str, cmd: &str) -> String {
    s.ok(&[
        "import",
        "-c",
        &format!("CMD [\"{cmd}\"]"),
        busybox_tar().to_str().expect("utf8"),
        name,
    ]);
    s.ok(&["push", name]);
    image_id(s, name)
}

/// Builds `dockerfile` in a fresh context; returns (success, stdout, stderr).
fn build(s: &Strata, dockerfile: &str, extra: &[&str]) -> (bool, String, String) {
    let ctx = tempfile::tempdir().expect("ctx");
    fs::write(ctx.path().join("Dockerfile"), dockerfile).expect("dockerfile");
    fs::write(ctx.path().join("f.txt"), "x").expect("file");
    let out = s
        .cmd()
        .arg("build")
        .args(extra)
        .arg(ctx.path())
        .output()
        .expect("strata runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn from_pulls_a_missing_image_and_pull_flag_pulls_again() {
    let reg = strata_registry();
    let name = format!("{}/strata/base:1", reg.host);
    let a = Strata::new();
    let v1 = publish(&a, &name, "one");

    let b = Strata::new();
    let df = format!("FROM {name}\nLABEL built=yes\n");
    let (ok, out, err) = build(&b, &df, &["-t", "child"]);
    assert!(ok, "{out}{err}");
    let expected_start = format!("Step 1/2 : FROM {name}\n1: Pulling from strata/base\n");
    assert!(out.starts_with(&expected_start), "{out}");
    assert!(out.contains(": Pull complete\n"), "{out}");
    assert!(out.contains("\nDigest: sha256:"), "{out}");
    assert!(
        out.contains(&format!(
            "Status: Downloaded newer image for {name}\n ---> {}\nStep 2/2 : LABEL built=yes\n",
            short(&v1)
        )),
        "{out}"
    );
    assert_eq!(image_id(&b, &name), v1, "the pulled image is A's");
    assert!(
        !out.contains(&format!("\n{name}\n")),
        "no reference line as `pull` prints: {out}"
    );

    // A newer image under the same tag: a plain build keeps the stored one...
    let v2 = publish(&a, &name, "two");
    assert_ne!(v1, v2);
    let (ok, out, err) = build(&b, &df, &[]);
    assert!(ok, "{out}{err}");
    assert!(!out.contains("Pulling from"), "{out}");
    assert!(out.contains(&format!(" ---> {}\n", short(&v1))), "{out}");

    // ...and --pull fetches it.
    let (ok, out, err) = build(&b, &df, &["--pull"]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("1: Pulling from strata/base\n"), "{out}");
    assert!(
        out.contains(&format!(
            "Status: Downloaded newer image for {name}\n ---> {}\n",
            short(&v2)
        )),
        "{out}"
    );
    assert_eq!(image_id(&b, &name), v2);

    // Pulled again with nothing new: Docker's "up to date", no layer lines.
    let (ok, out, err) = build(&b, &df, &["--pull"]);
    assert!(ok, "{out}{err}");
    assert!(
        out.contains("1: Pulling from strata/base\nDigest: sha256:"),
        "{out}"
    );
    assert!(
        out.contains(&format!("Status: Image is up to date for {name}\n")),
        "{out}"
    );

    // Two stages FROM the same image: Docker's classic builder pulls for each FROM.
    let two = format!("FROM {name} AS a\nLABEL a=1\nFROM {name}\nLABEL b=2\n");
    let (ok, out, err) = build(&b, &two, &["--pull"]);
    assert!(ok, "{out}{err}");
    assert_eq!(out.matches("Pulling from").count(), 2, "{out}");

    // -q prints the image ID only, pull lines included.
    let (ok, out, err) = build(&b, &df, &["--pull", "-q"]);
    assert!(ok, "{out}{err}");
    assert_eq!(out.lines().count(), 1, "{out}");
}

#[test]
fn copy_from_an_image_pulls_it() {
    let reg = cncf_registry(&[]);
    let name = format!("{}/strata/src:1", reg.host);
    let a = Strata::new();
    publish(&a, &name, "src");
    let b = Strata::new();
    b.import_busybox("local-base");
    let df = format!("FROM local-base\nCOPY --from={name} /bin/busybox /copied\n");
    let (ok, out, err) = build(&b, &df, &[]);
    assert!(ok, "{out}{err}");
    assert!(
        out.contains(&format!(
            "Step 2/2 : COPY --from={name} /bin/busybox /copied\n1: Pulling from strata/src\n"
        )),
        "{out}"
    );
    assert_eq!(image_id(&b, &name), image_id(&a, &name));

    let missing = format!("{}/strata/nosuch:1", reg.host);
    let (ok, out, err) = build(
        &b,
        &format!("FROM local-base\nCOPY --from={missing} /a /b\n"),
        &[],
    );
    assert!(!ok, "{out}");
    assert!(
        err.contains(&format!(
            "invalid from flag value {missing}: manifest for {missing} not found: manifest unknown: manifest unknown"
        )),
        "Docker's wording: {err}"
    );
}

#[test]
fn a_base_image_missing_on_the_registry_fails_with_dockers_message() {
    for reg in [strata_registry(), cncf_registry(&[])] {
        let s = Strata::new();
        let name = format!("{}/strata/nosuch:1", reg.host);
        let (ok, out, err) = build(&s, &format!("FROM {name}\n"), &["-t", "never"]);
        assert!(!ok, "{out}");
        assert!(
            err.contains(&format!(
                "manifest for {name} not found: manifest unknown: manifest unknown"
            )),
            "{err}"
        );
        // Docker prints the pull header only once a manifest is found.
        assert!(!out.contains("Pulling from"), "{out}");
        assert!(s.run(&["inspect", "never"]).status.code() != Some(0));
    }
}

#[test]
fn create_pulls_a_missing_image_with_progress_on_stderr() {
    let reg = strata_registry();
    let name = format!("{}/strata/created:1", reg.host);
    let a = Strata::new();
    let id = publish(&a, &name, "sh");

    let b = Strata::new();
    let out = b.run(&["create", "--network", "none", &name]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stderr}");
    assert_eq!(stdout.trim().len(), 64, "only the container ID: {stdout}");
    assert!(
        stderr.starts_with(&format!(
            "Unable to find image '{name}' locally\n1: Pulling from strata/created\n"
        )),
        "{stderr}"
    );
    assert!(
        stderr.ends_with(&format!("Status: Downloaded newer image for {name}\n")),
        "no reference line after the status, as docker: {stderr}"
    );
    assert_eq!(image_id(&b, &name), id);

    // A missing image: Docker's one message, nothing created.
    let missing = format!("{}/strata/nosuch:1", reg.host);
    let out = b.run(&["create", &missing]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(125), "{stderr}");
    let message = format!("manifest for {missing} not found: manifest unknown: manifest unknown");
    assert_eq!(stderr.matches(&message).count(), 1, "{stderr}");
    assert_eq!(b.ok(&["ps", "-aq"]).lines().count(), 1);
}
