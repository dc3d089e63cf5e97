//! Stages that do not depend on each other build at the same time, and the output is still
//! Docker's classic output in stage order. The proof is behavioural, not a timing: one stage
//! listens on a port until the other stage talks to it, which only works when both run at
//! once (run one after the other, the listener gives up and the build fails). The listener
//! retries a few times so that a port briefly unavailable does not fail it.

mod common;

use common::Strata;

#[test]
fn independent_stages_run_together_and_print_in_order() {
    let strata = Strata::new();
    strata.import_busybox("bb");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port");
    let ctx = tempfile::tempdir().expect("context");
    std::fs::write(
        ctx.path().join("Dockerfile"),
        format!(
            "FROM bb AS listener\n\
             RUN for i in $(seq 5); do nc -l -p {port} -w 10 > /got; test -s /got && exit 0; sleep 0.2; done; exit 1\n\
             FROM bb AS talker\n\
             RUN for i in $(seq 300); do echo hello-from-talker | nc -w 2 127.0.0.1 {port} && exit 0; sleep 0.1; done; exit 1\n\
             FROM bb\n\
             COPY --from=listener /got /got\n\
             RUN cat /got\n"
        ),
    )
    .expect("dockerfile");
    let out = strata.ok(&[
        "build",
        "--network",
        "host",
        "-t",
        "par",
        ctx.path().to_str().expect("utf8"),
    ]);
    let steps: Vec<&str> = out.lines().filter(|l| l.starts_with("Step ")).collect();
    let numbers: Vec<String> = (1..=7).map(|n| format!("Step {n}/7 : ")).collect();
    assert_eq!(steps.len(), 7, "{out}");
    for (line, prefix) in steps.iter().zip(&numbers) {
        assert!(line.starts_with(prefix.as_str()), "out of order: {out}");
    }
    // Each stage's lines stay together: the talker's step comes after the listener's result.
    let listener_done = out.find("Step 3/7 : FROM bb AS talker").expect("step 3");
    let first_image = out.find(" ---> ").expect("an image line");
    assert!(first_image < listener_done, "{out}");
    assert!(
        out.trim_end().ends_with("Successfully tagged par:latest"),
        "{out}"
    );
    let got = strata.ok(&["run", "--rm", "--network", "none", "par", "cat", "/got"]);
    assert_eq!(got, "hello-from-talker\n");
}

#[test]
fn a_stage_that_uses_another_waits_for_it() {
    let strata = Strata::new();
    strata.import_busybox("bb");
    let ctx = tempfile::tempdir().expect("context");
    std::fs::write(
        ctx.path().join("Dockerfile"),
        "FROM bb AS one\nRUN echo 1 > /n\nFROM one AS two\nRUN echo $(cat /n)2 > /n\nFROM bb\nCOPY --from=two /n /n\n",
    )
    .expect("dockerfile");
    strata.ok(&["build", "-t", "chain", ctx.path().to_str().expect("utf8")]);
    let n = strata.ok(&["run", "--rm", "--network", "none", "chain", "cat", "/n"]);
    assert_eq!(n, "12\n");
}
