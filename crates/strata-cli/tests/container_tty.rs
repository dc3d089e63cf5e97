//! Interactive containers under a real terminal (tmux): a pty with the window's size,
//! Ctrl-P Ctrl-Q detaching, and `attach` reconnecting to the same shell.

mod common;

use std::time::{Duration, Instant};

use common::{Strata, tmux, wait_for_screen};

#[test]
fn detach_and_reattach_under_tmux() {
    if common::tmux_missing() {
        return;
    }
    let s = Strata::new();
    s.import_busybox("busybox:local");
    let exe = env!("CARGO_BIN_EXE_strata");
    let root = s.root.path().display().to_string();
    let session = common::unique("strata-tty");
    let run = format!("{exe} --root {root} run -ti --name box busybox:local sh");
    tmux(&[
        "new-session",
        "-d",
        "-s",
        &session,
        "-x",
        "100",
        "-y",
        "30",
        &run,
    ]);
    tmux(&["set-option", "-t", &session, "remain-on-exit", "on"]);
    wait_for_screen(&session, "/ #");
    tmux(&[
        "send-keys",
        "-t",
        &session,
        "echo hi-$((40+2)); stty size",
        "Enter",
    ]);
    wait_for_screen(&session, "hi-42");
    // stty's answer comes a moment after the echo: wait for it, not just for the echo.
    let screen = wait_for_screen(&session, "\n30 100");
    assert!(
        screen.contains("hi-42"),
        "the pty has the window's size:\n{screen}"
    );
    // Ctrl-P Ctrl-Q: the client leaves, the shell keeps running.
    tmux(&["send-keys", "-t", &session, "C-p", "C-q"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while tmux(&["display-message", "-p", "-t", &session, "#{pane_dead}"]).trim() != "1" {
        assert!(Instant::now() < deadline, "the client did not detach");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        s.ok(&["ps", "--format", "{{.Names}} {{.State}}"]).trim(),
        "box running"
    );
    tmux(&["kill-session", "-t", &session]);
    // The pane records the client's exit code itself: tmux's #{pane_dead_status} is not
    // reliably set on every tmux version.
    let code_file = s.root.path().join("attach-exit-code");
    let attach = format!(
        "sh -c '{exe} --root {root} attach box; echo $? > {}'",
        code_file.display()
    );
    tmux(&[
        "new-session",
        "-d",
        "-s",
        &session,
        "-x",
        "100",
        "-y",
        "30",
        &attach,
    ]);
    tmux(&["set-option", "-t", &session, "remain-on-exit", "on"]);
    std::thread::sleep(Duration::from_millis(300));
    tmux(&["send-keys", "-t", &session, "echo back-$((1+1))", "Enter"]);
    wait_for_screen(&session, "back-2");
    tmux(&["send-keys", "-t", &session, "exit 7", "Enter"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while tmux(&["display-message", "-p", "-t", &session, "#{pane_dead}"]).trim() != "1" {
        assert!(
            Instant::now() < deadline,
            "the attached client did not end with the container"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        std::fs::read_to_string(&code_file)
            .expect("exit code recorded")
            .trim(),
        "7",
        "attach exits with the container's code"
    );
    tmux(&["kill-session", "-t", &session]);
    assert!(s.ok(&["ps", "-a"]).contains("Exited (7)"));
    assert!(s.ok(&["logs", "box"]).contains("hi-42"));
    s.ok(&["rm", "box"]);
}
