//! The compact live view of `build` on a terminal (tmux): a line per step with its time or
//! CACHED, the running step's output folded away when it succeeds and kept when it fails, and
//! the classic output everywhere else (pipes, `--progress=plain`).

mod common;

use common::{Strata, tmux, wait_for_screen};

fn build_in_terminal(strata: &Strata, context: &str, marker: &str) -> String {
    let session = common::unique("strata-live");
    let exe = env!("CARGO_BIN_EXE_strata");
    let root = strata.root.path().display();
    let command = format!("{exe} --root {root} build -t live {context}; echo {marker}; sleep 30");
    tmux(&[
        "new-session",
        "-d",
        "-s",
        &session,
        "-x",
        "120",
        "-y",
        "40",
        &command,
    ]);
    let screen = wait_for_screen(&session, marker);
    tmux(&["kill-session", "-t", &session]);
    screen
}

#[test]
fn a_terminal_gets_one_line_per_step() {
    if common::tmux_missing() {
        return;
    }
    let strata = Strata::new();
    strata.import_busybox("bb");
    let ctx = tempfile::tempdir().expect("context");
    let dir = ctx.path().to_str().expect("utf8");
    std::fs::write(
        ctx.path().join("Dockerfile"),
        "FROM bb\nRUN for i in 1 2 3 4 5 6 7 8; do echo noisy-$i; done\nRUN echo second\n",
    )
    .expect("dockerfile");
    let screen = build_in_terminal(&strata, dir, "BUILD-ONE-DONE");
    assert!(screen.contains(" => [1/3] FROM bb"), "{screen}");
    assert!(screen.contains(" => [2/3] RUN for i in"), "{screen}");
    assert!(screen.contains(" => [3/3] RUN echo second"), "{screen}");
    assert!(
        !screen.contains("Step 1/3"),
        "classic lines on a terminal: {screen}"
    );
    assert!(
        !screen.contains("noisy-8"),
        "a finished step's output stays folded: {screen}"
    );
    assert!(
        screen.contains("Successfully tagged live:latest"),
        "{screen}"
    );
    let again = build_in_terminal(&strata, dir, "BUILD-TWO-DONE");
    assert!(again.contains(" => CACHED [2/3] RUN for i in"), "{again}");
    // Piped, the same build prints the classic output.
    let piped = strata.ok(&["build", dir]);
    assert!(piped.contains("Step 2/3 : RUN for i in"), "{piped}");
    std::fs::write(
        ctx.path().join("Dockerfile"),
        "FROM bb\nRUN echo before-failing; exit 3\n",
    )
    .expect("dockerfile");
    let failed = build_in_terminal(&strata, dir, "BUILD-THREE-DONE");
    assert!(
        failed.contains(" => => before-failing"),
        "a failed step keeps its output: {failed}"
    );
    assert!(failed.contains("returned a non-zero code: 3"), "{failed}");
}
