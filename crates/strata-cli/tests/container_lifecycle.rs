//! Container lifecycle without a daemon: detached runs, ps/logs/stop/kill/start/wait/rm,
//! names, concurrency, volumes, and a monitor that dies.

mod common;

use std::time::{Duration, Instant};

use common::Strata;

#[allow(dead_code)]
fn code(s: &Strata, args: &[&str]) -> i32 {
    s.run(args).status.code().unwrap_or(-1)
}

#[test]
fn detached_container_lifecycle() {
    let s = Strata::new();
    s.import_busybox("busybox:local");
    let id = s.ok(&[
        "run",
        "-d",
        "--name",
        "web",
        "-l",
        "tier=front",
        "busybox:local",
        "sh",
        "-c",
        "echo started; trap 'echo bye; exit 3' TERM; while true; do sleep 0.1; done",
    ]);
    let id = id.trim().to_string();
    assert_eq!(id.len(), 64);
    let ps = s.ok(&["ps"]);
    let mut lines = ps.lines();
    let header = lines.next().unwrap();
    for col in [
        "CONTAINER ID",
        "IMAGE",
        "COMMAND",
        "CREATED",
        "STATUS",
        "PORTS",
        "NAMES",
    ] {
        assert!(header.contains(col), "{header}");
    }
    let row = lines.next().unwrap();
    assert!(row.starts_with(&id[..12]), "{row}");
    assert!(row.contains("Up "), "{row}");
    assert!(row.contains("\"sh -c echo started;…\""), "{row}");
    assert!(row.ends_with("web"), "{row}");
    assert_eq!(
        s.ok(&["ps", "-q", "--filter", "label=tier=front"]).trim(),
        &id[..12]
    );
    assert_eq!(s.ok(&["ps", "-q", "--filter", "name=nomatch"]), "");
    // Name conflicts are refused.
    let err = s.fails(&["run", "-d", "--name", "web", "busybox:local", "true"]);
    assert!(err.contains("is already in use by container"), "{err}");
    // rm without -f refuses a running container.
    let err = s.fails(&["rm", "web"]);
    assert!(
        err.contains("stop the container before removing or force remove"),
        "{err}"
    );
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(s.ok(&["stop", "web"]).trim(), "web");
    assert_eq!(s.ok(&["wait", "web"]).trim(), "3");
    let ps = s.ok(&["ps", "-a"]);
    assert!(ps.contains("Exited (3)"), "{ps}");
    assert_eq!(s.ok(&["logs", "web"]), "started\nbye\n");
    assert!(
        s.ok(&["logs", "-t", "web"])
            .lines()
            .all(|l| l.contains('T') && l.contains("Z "))
    );
    assert_eq!(s.ok(&["logs", "--tail", "1", "web"]), "bye\n");
    // The log is Docker's json-file format.
    let log_path = s.ok(&["container", "inspect", "-f", "{{.LogPath}}", "web"]);
    let first = std::fs::read_to_string(log_path.trim()).unwrap();
    let entry: serde_json::Value = serde_json::from_str(first.lines().next().unwrap()).unwrap();
    assert_eq!(entry["log"], "started\n");
    assert_eq!(entry["stream"], "stdout");
    // Start again: same container, runs again.
    s.ok(&["start", "web"]);
    assert!(s.ok(&["ps"]).contains("web"));
    assert_eq!(s.ok(&["kill", "-s", "KILL", "web"]).trim(), "web");
    assert_eq!(s.ok(&["wait", "web"]).trim(), "137");
    let err = s.fails(&["kill", "web"]);
    assert!(err.contains("is not running"), "{err}");
    let inspect: serde_json::Value =
        serde_json::from_str(&s.ok(&["container", "inspect", "web"])).unwrap();
    assert_eq!(inspect[0]["Name"], "/web");
    assert_eq!(inspect[0]["State"]["Status"], "exited");
    assert_eq!(inspect[0]["State"]["ExitCode"], 137);
    assert_eq!(inspect[0]["Config"]["Labels"]["tier"], "front");
    s.ok(&["rm", "web"]);
    let err = s.fails(&["rm", "web"]);
    assert!(err.contains("No such container: web"), "{err}");
}

#[test]
fn generated_names_and_create_then_start() {
    let s = Strata::new();
    s.import_busybox("busybox:local");
    let id = s.ok(&["create", "busybox:local", "echo", "made"]);
    let id = id.trim();
    let name = s.ok(&["ps", "-a", "--format", "{{.Names}} {{.Status}}"]);
    let (name, status) = name.trim().split_once(' ').unwrap();
    assert!(
        name.contains('_')
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit()),
        "{name}"
    );
    assert_eq!(status, "Created");
    assert_eq!(s.ok(&["start", "-a", id]), "made\n");
    assert_eq!(
        s.ok(&["ps", "-a", "--format", "{{.State}}"]).trim(),
        "exited"
    );
    s.ok(&["container", "prune", "-f"]);
    assert_eq!(s.ok(&["ps", "-aq"]), "");
}

#[test]
fn rm_force_kills_a_running_container() {
    let s = Strata::new();
    s.import_busybox("busybox:local");
    let id = s.ok(&["run", "-d", "busybox:local", "sleep", "1000"]);
    let merged = s.ok(&[
        "container",
        "inspect",
        "-f",
        "{{.GraphDriver.Data.MergedDir}}",
        id.trim(),
    ]);
    let started = Instant::now();
    s.ok(&["rm", "-f", id.trim()]);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(s.ok(&["ps", "-aq"]), "");
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains(merged.trim()), "the rootfs is unmounted");
}

#[test]
fn concurrent_runs() {
    let s = Strata::new();
    s.import_busybox("busybox:local");
    let handles: Vec<_> = (0..6)
        .map(|i| {
            let mut c = s.cmd();
            c.args([
                "run",
                "--rm",
                "busybox:local",
                "sh",
                "-c",
                &format!("echo run{i}"),
            ]);
            std::thread::spawn(move || c.output().expect("runs"))
        })
        .collect();
    for (i, h) in handles.into_iter().enumerate() {
        let o = h.join().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(String::from_utf8_lossy(&o.stdout), format!("run{i}\n"));
    }
    assert_eq!(s.ok(&["ps", "-aq"]), "");
}

#[test]
fn killed_monitor_is_reported_not_hung_on() {
    let s = Strata::new();
    s.import_busybox("busybox:local");
    let mut attached = s.cmd();
    attached.args(["run", "--name", "orphan", "busybox:local", "sleep", "1000"]);
    let mut child = attached
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let state_path = s.root.path().join("containers");
    let monitor_pid = loop {
        let entries = std::fs::read_dir(&state_path)
            .into_iter()
            .flatten()
            .flatten();
        let pid = entries.into_iter().find_map(|e| {
            let text = std::fs::read_to_string(e.path().join("container.json")).ok()?;
            let v: serde_json::Value = serde_json::from_str(&text).ok()?;
            (v["State"]["Running"] == true)
                .then(|| v["Strata"]["monitor_pid"].as_i64())
                .flatten()
        });
        if let Some(pid) = pid {
            break pid;
        }
        assert!(Instant::now() < deadline, "container never started");
        std::thread::sleep(Duration::from_millis(50));
    };
    // SAFETY: killing the monitor process this test started.
    unsafe { strata_runtime_kill(monitor_pid as i32) };
    let started = Instant::now();
    let out = loop {
        if let Some(_status) = child.try_wait().unwrap() {
            break child.wait_with_output().unwrap();
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the attached client hung"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(out.status.code(), Some(125));
    // Depending on which the client notices first, the closed socket or the dead pid.
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("monitor died") || err.contains("lost the connection to the monitor"),
        "{err}"
    );
    let ps = s.ok(&["ps", "-a", "--format", "{{.Names}} {{.Status}}"]);
    assert_eq!(ps.trim(), "orphan Dead");
    s.ok(&["rm", "orphan"]);
}

/// SIGKILL without a libc dependency in the test crate.
unsafe fn strata_runtime_kill(pid: i32) {
    std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
}

#[test]
fn named_volumes_persist_between_containers() {
    let s = Strata::new();
    s.import_busybox("busybox:local");
    s.ok(&["volume", "create", "data"]);
    s.ok(&[
        "run",
        "--rm",
        "-v",
        "data:/data",
        "busybox:local",
        "sh",
        "-c",
        "echo kept > /data/f",
    ]);
    let out = s.ok(&[
        "run",
        "--rm",
        "--mount",
        "type=volume,source=data,target=/d,readonly",
        "busybox:local",
        "sh",
        "-c",
        "cat /d/f; touch /d/x 2>/dev/null || echo ro",
    ]);
    assert_eq!(out, "kept\nro\n");
    let host = tempfile::tempdir().unwrap();
    std::fs::write(host.path().join("h"), "host file\n").unwrap();
    let bind = format!("{}:/host", host.path().display());
    assert_eq!(
        s.ok(&[
            "run",
            "--rm",
            "-v",
            &bind,
            "busybox:local",
            "cat",
            "/host/h"
        ]),
        "host file\n"
    );
    assert!(s.ok(&["volume", "ls"]).contains("local     data"));
    let inspect: serde_json::Value =
        serde_json::from_str(&s.ok(&["volume", "inspect", "data"])).unwrap();
    assert_eq!(inspect[0]["Driver"], "local");
    s.ok(&["volume", "rm", "data"]);
    assert_eq!(s.ok(&["volume", "ls", "-q"]), "");
}

#[test]
fn read_only_rootfs_and_capabilities() {
    let s = Strata::new();
    s.import_busybox("busybox:local");
    let out = s.ok(&[
        "run",
        "--rm",
        "--read-only",
        "busybox:local",
        "sh",
        "-c",
        "touch /x 2>/dev/null || echo ro",
    ]);
    assert_eq!(out, "ro\n");
    let out = s.ok(&[
        "run",
        "--rm",
        "--cap-drop",
        "ALL",
        "busybox:local",
        "sh",
        "-c",
        "grep CapEff /proc/self/status",
    ]);
    assert_eq!(out, "CapEff:\t0000000000000000\n");
    let out = s.ok(&[
        "run",
        "--rm",
        "--privileged",
        "busybox:local",
        "sh",
        "-c",
        "grep NoNewPrivs /proc/self/status",
    ]);
    assert_eq!(out, "NoNewPrivs:\t0\n");
}

#[test]
fn pause_freezes_and_unpause_thaws() {
    let s = Strata::new();
    s.import_busybox("busybox:local");
    s.ok(&[
        "run",
        "-d",
        "--name",
        "ticker",
        "busybox:local",
        "sh",
        "-c",
        "while true; do date +%s%N; sleep 0.05; done",
    ]);
    std::thread::sleep(Duration::from_millis(300));
    s.ok(&["pause", "ticker"]);
    assert!(s.ok(&["ps"]).contains("(Paused)"));
    assert_eq!(
        s.ok(&[
            "container",
            "inspect",
            "-f",
            "{{.State.Status}} {{.State.Running}} {{.State.Paused}}",
            "ticker"
        ])
        .trim(),
        "paused true true"
    );
    let before = s.ok(&["logs", "ticker"]).lines().count();
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(
        s.ok(&["logs", "ticker"]).lines().count(),
        before,
        "a paused container does not run"
    );
    let err = s.fails(&["pause", "ticker"]);
    assert!(err.contains("is already paused"), "{err}");
    s.ok(&["unpause", "ticker"]);
    std::thread::sleep(Duration::from_millis(400));
    assert!(s.ok(&["logs", "ticker"]).lines().count() > before);
    // rm -f works on a paused container too.
    s.ok(&["pause", "ticker"]);
    s.ok(&["rm", "-f", "ticker"]);
    assert_eq!(s.ok(&["ps", "-aq"]), "");
}

#[test]
fn image_volume_gives_an_anonymous_volume_and_stop_signal_is_used() {
    let s = Strata::new();
    let tar = common::busybox_tar();
    s.ok(&[
        "import",
        "-c",
        "VOLUME /etc",
        "-c",
        "STOPSIGNAL SIGUSR1",
        tar.to_str().unwrap(),
        "vol:1",
    ]);
    let id = s.ok(&[
        "run",
        "-d",
        "vol:1",
        "sh",
        "-c",
        "trap 'echo usr1; exit 9' USR1; while true; do sleep 0.1; done",
    ]);
    let id = id.trim();
    let mounts = s.ok(&[
        "container",
        "inspect",
        "-f",
        "{{range .Mounts}}{{.Type}} {{.Destination}} {{.Name}}{{end}}",
        id,
    ]);
    let parts: Vec<&str> = mounts.split_whitespace().collect();
    assert_eq!(&parts[..2], ["volume", "/etc"], "{mounts}");
    assert_eq!(
        parts[2].len(),
        64,
        "an anonymous volume has a random 64-hex name"
    );
    // The volume got the image's content at first use.
    assert_eq!(
        s.ok(&["exec", id, "cat", "/etc/motd"]),
        "strata busybox fixture\n"
    );
    assert_eq!(s.ok(&["volume", "ls", "-q"]).trim(), parts[2]);
    std::thread::sleep(Duration::from_millis(200));
    s.ok(&["stop", id]);
    assert_eq!(
        s.ok(&["wait", id]).trim(),
        "9",
        "STOPSIGNAL from the image is what stop sends"
    );
    assert_eq!(s.ok(&["logs", id]), "usr1\n");
    s.ok(&["rm", "-v", id]);
    assert_eq!(
        s.ok(&["volume", "ls", "-q"]),
        "",
        "rm -v removes anonymous volumes"
    );
}

#[test]
fn init_runs_the_command_under_tini() {
    if !std::path::Path::new("/usr/bin/tini-static").exists() {
        println!("skipping: tini is not installed (apt-get install tini)");
        return;
    }
    let s = Strata::new();
    s.import_busybox("busybox:local");
    // pid 1 is the init; the command is its child and SIGTERM reaches it through the init.
    let out = s.ok(&[
        "run",
        "--rm",
        "--init",
        "busybox:local",
        "sh",
        "-c",
        "cat /proc/1/cmdline | tr '\\0' ' '; echo; echo $$",
    ]);
    let mut lines = out.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("/sbin/docker-init -- sh -c"),
        "{out}"
    );
    assert_ne!(lines.next().unwrap(), "1");
    s.ok(&[
        "run",
        "-d",
        "--init",
        "--name",
        "inited",
        "busybox:local",
        "sleep",
        "100",
    ]);
    // Let tini install its signal handlers (before that, pid 1 ignores SIGTERM).
    std::thread::sleep(Duration::from_millis(500));
    let started = Instant::now();
    s.ok(&["stop", "inited"]);
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "sleep under tini dies on SIGTERM, no 10 s timeout"
    );
    assert_eq!(s.ok(&["wait", "inited"]).trim(), "143");
    s.ok(&["rm", "inited"]);
}

#[test]
fn logs_follow_and_ps_selection_flags() {
    let s = Strata::new();
    s.import_busybox("busybox:local");
    let first = s.ok(&[
        "run",
        "-d",
        "--name",
        "first",
        "busybox:local",
        "sh",
        "-c",
        "for i in 1 2 3; do echo line$i; sleep 0.2; done; echo err >&2",
    ]);
    // -f follows until the container exits, with stdout and stderr kept apart.
    let out = s.run(&["logs", "-f", "first"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "line1\nline2\nline3\n"
    );
    assert_eq!(String::from_utf8_lossy(&out.stderr), "err\n");
    s.ok(&["create", "--name", "second", "busybox:local", "true"]);
    assert_eq!(
        s.ok(&["ps", "-l", "--format", "{{.Names}}"]).trim(),
        "second"
    );
    assert_eq!(
        s.ok(&["ps", "-n", "2", "--format", "{{.Names}}"])
            .lines()
            .collect::<Vec<_>>(),
        ["second", "first"]
    );
    assert_eq!(
        s.ok(&["ps", "-aq", "--no-trunc", "--filter", "name=first"])
            .trim(),
        first.trim()
    );
    assert_eq!(
        s.ok(&[
            "ps",
            "-a",
            "--filter",
            "status=created",
            "--format",
            "{{.Names}}"
        ])
        .trim(),
        "second"
    );
    assert_eq!(
        s.ok(&["ps", "-a", "--filter", "exited=0", "--format", "{{.Names}}"])
            .trim(),
        "first"
    );
    s.ok(&["rm", "first", "second"]);
}

#[test]
fn signals_are_proxied_and_not_inherited_ignored() {
    let s = Strata::new();
    s.import_busybox("busybox:local");
    // Started with SIGINT ignored (as a shell's background job is), the client still proxies
    // SIGINT, and the container's shell can trap it because it starts with default actions.
    let mut cmd = s.cmd();
    cmd.args([
        "run",
        "--name",
        "proxied",
        "busybox:local",
        "sh",
        "-c",
        "trap 'echo got-int; exit 7' INT; echo ready; while true; do sleep 0.1; done",
    ]);
    cmd.stdout(std::process::Stdio::piped());
    // SAFETY: only signal(2) between fork and exec.
    unsafe {
        use std::os::unix::process::CommandExt;
        cmd.pre_exec(|| {
            unsafe extern "C" {
                fn signal(sig: i32, handler: usize) -> usize;
            }
            signal(2, 1); // SIGINT → SIG_IGN
            Ok(())
        });
    }
    let mut child = cmd.spawn().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 6];
    std::io::Read::read_exact(&mut stdout, &mut first).unwrap();
    assert_eq!(&first, b"ready\n");
    std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    assert_eq!(rest, "got-int\n");
    assert_eq!(status.code(), Some(7));
    // SIGPIPE has its default action in the container (Rust's own ignore is not inherited).
    let sigign = s.ok(&[
        "run",
        "--rm",
        "busybox:local",
        "grep",
        "SigIgn",
        "/proc/self/status",
    ]);
    let mask = u64::from_str_radix(sigign.trim().trim_start_matches("SigIgn:").trim(), 16).unwrap();
    assert_eq!(
        mask & 0x7fff_ffff,
        0,
        "no standard signal (1-31) ignored: {sigign}"
    );
    s.ok(&["rm", "proxied"]);
}
