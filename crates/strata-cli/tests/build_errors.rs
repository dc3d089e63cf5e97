//! Bad Dockerfiles and contexts: Docker's messages, the Dockerfile line, no image tagged,
//! no container left behind.

mod common;

use std::fs;

use common::Strata;

fn build_fails(s: &Strata, dockerfile: &str, files: &[(&str, &str)]) -> (String, i32) {
    let ctx = tempfile::tempdir().unwrap();
    fs::write(ctx.path().join("Dockerfile"), dockerfile).unwrap();
    for (n, b) in files {
        fs::write(ctx.path().join(n), b).unwrap();
    }
    let out = s
        .cmd()
        .args(["build", "-t", "bad"])
        .arg(ctx.path())
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "should fail: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        s.run(&["inspect", "bad"]).status.code() != Some(0),
        "no image tagged"
    );
    (
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

#[test]
fn parse_and_stage_errors_name_the_line() {
    let s = Strata::new();
    s.import_busybox("base");
    let (err, code) = build_fails(&s, "FROM base\nFOO bar\n", &[]);
    assert!(
        err.contains("dockerfile parse error line 2: unknown instruction: FOO"),
        "{err}"
    );
    assert_eq!(code, 1);
    let (err, _) = build_fails(&s, "# nothing\n", &[]);
    assert!(
        err.to_lowercase().contains("file with no instructions") || err.contains("No build stage"),
        "{err}"
    );
    let (err, _) = build_fails(&s, "ENV A=1\n", &[]);
    assert!(err.contains("line 1"), "{err}");
    let (err, _) = build_fails(&s, "FROM base\nCOPY ../x /x\n", &[]);
    assert!(
        err.contains("forbidden path outside the build context: ../x"),
        "{err}"
    );
    assert!(err.contains("Dockerfile:2: COPY ../x /x"), "{err}");
    let (err, _) = build_fails(&s, "FROM base\n\nCOPY *.nothing /x/\n", &[]);
    assert!(
        err.contains("no source files were specified") && err.contains("Dockerfile:3"),
        "{err}"
    );
    let (err, _) = build_fails(&s, "FROM base\nCOPY missing.txt /x\n", &[]);
    assert!(
        err.contains("file not found in build context or excluded by .dockerignore"),
        "{err}"
    );
    let (err, _) = build_fails(
        &s,
        "FROM base AS a\nCOPY --from=b /x /x\nFROM base AS b\nCOPY --from=a /y /y\n",
        &[],
    );
    assert!(
        err.contains("circular dependency detected on stage: b") && err.contains("Dockerfile:2"),
        "{err}"
    );
    let (err, _) = build_fails(&s, "FROM --platform=linux/s390x base\n", &[]);
    assert!(err.contains("only for the host platform"), "{err}");
    // RUN --mount is BuildKit's: the classic builder's message, at the RUN step.
    for mount in ["type=cache,target=/c", "type=bind,target=/b"] {
        let (err, code) = build_fails(&s, &format!("FROM base\nRUN --mount={mount} true\n"), &[]);
        assert!(
            err.contains("the --mount option requires BuildKit. Refer to https://docs.docker.com/go/buildkit/ to learn how to build images with BuildKit enabled"),
            "{err}"
        );
        assert!(err.contains("Dockerfile:2"), "{err}");
        assert_eq!(code, 1);
    }
    let (err, _) = build_fails(&s, "FROM nosuchimage\n", &[]);
    assert!(err.contains("nosuchimage"), "{err}");
}

#[test]
fn failing_run_reports_its_code_and_cleans_up() {
    let s = Strata::new();
    s.import_busybox("base");
    let (err, code) = build_fails(&s, "FROM base\nRUN echo partial > /p && exit 3\n", &[]);
    assert!(
        err.contains(
            "The command '/bin/sh -c echo partial > /p && exit 3' returned a non-zero code: 3"
        ),
        "{err}"
    );
    assert!(err.contains("Dockerfile:2"), "{err}");
    assert_eq!(code, 3, "docker exits with the RUN's code");
    let ps = s.ok(&["ps", "-a", "-q"]);
    assert!(ps.trim().is_empty(), "intermediate container removed: {ps}");
}

#[test]
fn run_output_is_streamed_and_shell_is_honoured() {
    let s = Strata::new();
    s.import_busybox("base");
    let ctx = tempfile::tempdir().unwrap();
    fs::write(
        ctx.path().join("Dockerfile"),
        "FROM base\nSHELL [\"/bin/sh\", \"-ec\"]\nRUN echo to-stdout; echo to-stderr >&2\nRUN [\"/bin/echo\", \"exec form\"]\nRUN <<EOF\necho from heredoc > /h\nEOF\n",
    )
    .unwrap();
    let out = s
        .cmd()
        .args(["build", "-t", "ok"])
        .arg(ctx.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("to-stdout") && text.contains("to-stderr") && text.contains("exec form"),
        "{text}"
    );
    assert!(text.contains("Removing intermediate container"), "{text}");
    let hist = s.ok(&["history", "--no-trunc", "--format", "{{.CreatedBy}}", "ok"]);
    assert!(
        hist.contains("/bin/sh -ec echo to-stdout; echo to-stderr >&2"),
        "{hist}"
    );
    assert!(
        hist.contains("/bin/sh -ec #(nop)  SHELL [/bin/sh -ec]"),
        "{hist}"
    );
    let run = s.ok(&["run", "--rm", "ok", "cat", "/h"]);
    assert_eq!(run.trim(), "from heredoc");
}
