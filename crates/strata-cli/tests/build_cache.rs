//! `strata build`'s step cache: unchanged rebuilds hit every step, a changed file misses
//! only from its COPY on, unused build args don't matter, SOURCE_DATE_EPOCH reproduces IDs.

mod common;

use std::fs;
use std::path::Path;
use std::process::Output;

use common::Strata;

fn build(s: &Strata, ctx: &Path, extra: &[&str]) -> Output {
    let mut c = s.cmd();
    c.arg("build").args(extra).arg(ctx);
    c.output().expect("strata build runs")
}

fn ok(out: Output) -> String {
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "build failed: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

fn context(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("context");
    for (name, body) in files {
        let p = dir.path().join(name);
        fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        fs::write(p, body).expect("write");
    }
    dir
}

const DOCKERFILE: &str = "FROM base\nARG USED=1\nCOPY a.txt /a.txt\nRUN echo built-$USED > /r.txt\nCOPY b.txt /b.txt\nENV X=1\n";

#[test]
fn unchanged_rebuild_hits_every_step_and_one_file_misses_from_its_copy() {
    let s = Strata::new();
    s.import_busybox("base");
    let ctx = context(&[("Dockerfile", DOCKERFILE), ("a.txt", "a"), ("b.txt", "b")]);
    let first = ok(build(&s, ctx.path(), &["-t", "app"]));
    assert!(first.contains("Step 6/6 : ENV X=1"), "{first}");
    assert!(!first.contains("Using cache"), "{first}");
    assert!(first.contains(" ---> Running in "), "{first}");
    assert!(first.contains("Successfully tagged app:latest"), "{first}");
    let id1 = s.ok(&["inspect", "--format", "{{.Id}}", "app"]);

    let second = ok(build(&s, ctx.path(), &["-t", "app"]));
    assert_eq!(second.matches(" ---> Using cache").count(), 5, "{second}");
    assert!(!second.contains("Running in"), "{second}");
    assert_eq!(s.ok(&["inspect", "--format", "{{.Id}}", "app"]), id1);

    // The RUN saw the build arg and its output is in the image.
    let hist = s.ok(&["history", "--no-trunc", "--format", "{{.CreatedBy}}", "app"]);
    assert!(
        hist.contains("|1 USED=1 /bin/sh -c echo built-$USED > /r.txt"),
        "{hist}"
    );

    // Touching a file without changing it does not miss.
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(100);
    fs::File::options()
        .write(true)
        .open(ctx.path().join("a.txt"))
        .unwrap()
        .set_modified(later)
        .unwrap();
    let touched = ok(build(&s, ctx.path(), &[]));
    assert_eq!(touched.matches(" ---> Using cache").count(), 5, "{touched}");

    fs::write(ctx.path().join("b.txt"), "changed").unwrap();
    let third = ok(build(&s, ctx.path(), &["--progress=plain"]));
    let steps: Vec<&str> = third.split("Step ").skip(1).collect();
    assert!(
        steps[2].contains("Using cache") && steps[3].contains("Using cache"),
        "{third}"
    );
    assert!(
        steps[4].contains("Cache miss: file /b.txt changed"),
        "{third}"
    );
    assert!(
        !steps[4].contains("Using cache") && !steps[5].contains("Using cache"),
        "{third}"
    );
}

#[test]
fn unused_build_arg_hits_and_used_arg_misses() {
    let s = Strata::new();
    s.import_busybox("base");
    let ctx = context(&[("Dockerfile", DOCKERFILE), ("a.txt", "a"), ("b.txt", "b")]);
    ok(build(&s, ctx.path(), &["--build-arg", "UNUSED=1"]));
    let again = ok(build(&s, ctx.path(), &["--build-arg", "UNUSED=2"]));
    assert_eq!(again.matches(" ---> Using cache").count(), 5, "{again}");
    assert!(
        again.contains("[Warning] One or more build-args [UNUSED] were not consumed"),
        "{again}"
    );
    let used = ok(build(
        &s,
        ctx.path(),
        &["--build-arg", "USED=2", "--progress=plain"],
    ));
    let steps: Vec<&str> = used.split("Step ").skip(1).collect();
    assert!(
        steps[2].contains("Using cache"),
        "COPY before the RUN still hits: {used}"
    );
    assert!(
        steps[3].contains("Cache miss: build arg USED changed"),
        "{used}"
    );
    let no_cache = ok(build(&s, ctx.path(), &["--no-cache"]));
    assert!(!no_cache.contains("Using cache"), "{no_cache}");
}

#[test]
fn source_date_epoch_makes_builds_reproducible() {
    let s = Strata::new();
    s.import_busybox("base");
    let ctx = context(&[
        (
            "Dockerfile",
            "FROM base\nCOPY a.txt /a.txt\nRUN echo hi > /hi\nCMD [\"sh\"]\n",
        ),
        ("a.txt", "a"),
    ]);
    let run = |extra: &[&str]| {
        let mut c = s.cmd();
        c.env("SOURCE_DATE_EPOCH", "1700000000")
            .arg("build")
            .arg("-q")
            .args(extra)
            .arg(ctx.path());
        let out = c.output().expect("runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    let a = run(&["--no-cache"]);
    let b = run(&["--no-cache"]);
    assert!(a.starts_with("sha256:") && a.len() == 71, "{a}");
    assert_eq!(a, b, "same inputs, same image ID");
    let created = s.ok(&["inspect", "--format", "{{.Created}}", &a]);
    assert!(created.starts_with("2023-11-14T22:13:20"), "{created}");
}
