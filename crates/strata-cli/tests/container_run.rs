//! `strata run` end to end, as root, on the busybox fixture: Docker's ENTRYPOINT/CMD table,
//! exit codes, `--rm`, isolation, resource limits, and both runtimes.

mod common;

use common::Strata;

fn out(s: &Strata, args: &[&str]) -> (i32, String, String) {
    let o = s.run(args);
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// An image with the given ENTRYPOINT/CMD instructions (exec or shell form, as written).
fn image_with(s: &Strata, name: &str, changes: &[&str]) {
    let tar = common::busybox_tar();
    let mut args = vec!["import".to_string()];
    for c in changes {
        args.push("-c".into());
        args.push(c.to_string());
    }
    args.push(tar.to_string_lossy().into_owned());
    args.push(name.to_string());
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    s.ok(&refs);
}

#[test]
fn entrypoint_and_cmd_combine_like_docker() {
    let s = Strata::new();
    // The image's process prints its own argv, one per line, via a shell script entry.
    image_with(
        &s,
        "exec-ep:1",
        &[r#"ENTRYPOINT ["echo", "ep"]"#, r#"CMD ["c1", "c2"]"#],
    );
    image_with(
        &s,
        "shell-ep:1",
        &["ENTRYPOINT echo shell-ep", r#"CMD ["c1"]"#],
    );
    image_with(&s, "cmd-only:1", &[r#"CMD ["echo", "only"]"#]);
    image_with(&s, "shell-cmd:1", &["CMD echo from shell $((1+1))"]);
    let cases: &[(&[&str], &str)] = &[
        (&["run", "--rm", "exec-ep:1"], "ep c1 c2\n"),
        (&["run", "--rm", "exec-ep:1", "x", "y"], "ep x y\n"),
        (&["run", "--rm", "--entrypoint", "echo", "exec-ep:1"], "\n"),
        (
            &["run", "--rm", "--entrypoint", "echo", "exec-ep:1", "z"],
            "z\n",
        ),
        // Shell-form ENTRYPOINT ignores CMD and arguments.
        (&["run", "--rm", "shell-ep:1"], "shell-ep\n"),
        (&["run", "--rm", "shell-ep:1", "ignored"], "shell-ep\n"),
        (&["run", "--rm", "cmd-only:1"], "only\n"),
        (
            &["run", "--rm", "cmd-only:1", "echo", "replaced"],
            "replaced\n",
        ),
        (&["run", "--rm", "shell-cmd:1"], "from shell 2\n"),
        (&["run", "--rm", "--entrypoint", "", "exec-ep:1"], ""),
    ];
    for (args, expected) in cases {
        let (code, stdout, stderr) = out(&s, args);
        if args.contains(&"") {
            // `--entrypoint ""` runs the image's CMD: `c1` does not exist.
            assert_eq!(code, 127, "{args:?}: {stderr}");
            continue;
        }
        assert_eq!(code, 0, "{args:?}: {stderr}");
        assert_eq!(stdout, *expected, "{args:?}");
    }
}

#[test]
fn exit_codes_follow_docker() {
    let s = Strata::new();
    s.import_busybox("busybox:local");
    assert_eq!(out(&s, &["run", "--rm", "busybox:local", "true"]).0, 0);
    assert_eq!(out(&s, &["run", "--rm", "busybox:local", "false"]).0, 1);
    assert_eq!(
        out(&s, &["run", "--rm", "busybox:local", "sh", "-c", "exit 42"]).0,
        42
    );
    let (code, _, err) = out(&s, &["run", "--rm", "busybox:local", "no-such-binary"]);
    assert_eq!(code, 127, "{err}");
    assert!(err.contains("no-such-binary"), "{err}");
    let (code, _, err) = out(&s, &["run", "--rm", "busybox:local", "/etc/passwd"]);
    assert_eq!(code, 126, "{err}");
    let (code, _, err) = out(&s, &["run", "--rm", "nosuch"]);
    assert_eq!(code, 125);
    assert!(
        err.contains("Unable to find image 'nosuch:latest' locally"),
        "{err}"
    );
    let (code, _, err) = out(
        &s,
        &["run", "--rm", "-v", "rel:path", "busybox:local", "true"],
    );
    assert_eq!(code, 125);
    assert!(err.contains("must be absolute"), "{err}");
    // Nothing is left behind by the failures with --rm.
    assert_eq!(s.ok(&["ps", "-aq"]), "");
}

#[test]
fn output_streams_and_env() {
    let s = Strata::new();
    s.import_busybox("busybox:local");
    let (code, stdout, stderr) = out(
        &s,
        &[
            "run",
            "--rm",
            "-e",
            "A=1",
            "-w",
            "/tmp/work",
            "-u",
            "daemon",
            "--hostname",
            "box1",
            "busybox:local",
            "sh",
            "-c",
            "echo out; echo err >&2; echo $A $HOSTNAME $(hostname) $(pwd) $(id -u) $HOME $PATH",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout,
        "out\n1 box1 box1 /tmp/work 1 /usr/sbin /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
    );
    assert_eq!(stderr, "err\n");
    let (code, _, err) = out(
        &s,
        &["run", "--rm", "-u", "nobody-here", "busybox:local", "true"],
    );
    assert_eq!(code, 125);
    assert!(err.contains("unable to find user nobody-here"), "{err}");
}

#[test]
fn rm_flag_removes_the_container_and_anonymous_volumes() {
    let s = Strata::new();
    s.import_busybox("busybox:local");
    s.ok(&["run", "--rm", "-v", "/data", "busybox:local", "true"]);
    assert_eq!(s.ok(&["ps", "-aq"]), "");
    assert_eq!(s.ok(&["volume", "ls", "-q"]), "");
    s.ok(&["run", "--name", "kept", "busybox:local", "true"]);
    assert_eq!(s.ok(&["ps", "-aq"]).lines().count(), 1);
    s.ok(&["rm", "kept"]);
}

#[test]
fn container_is_isolated_from_the_host() {
    let s = Strata::new();
    s.import_busybox("busybox:local");
    let id_out = s.ok(&[
        "run",
        "-d",
        "busybox:local",
        "sh",
        "-c",
        "ps -o pid,comm; cat /proc/mounts; hostname",
    ]);
    let id = id_out.trim();
    s.ok(&["wait", id]);
    let logs = s.ok(&["logs", id]);
    // Only the container's own processes: pid 1 is its shell.
    let pids: Vec<&str> = logs
        .lines()
        .skip(1)
        .take_while(|l| l.trim().starts_with(char::is_numeric))
        .collect();
    assert!(pids.iter().any(|l| l.trim().starts_with("1 ")), "{logs}");
    assert!(pids.len() <= 3, "host processes visible: {logs}");
    let host_mounts = std::fs::read_to_string("/proc/self/mounts").unwrap();
    let host_root = host_mounts
        .lines()
        .find(|l| l.split(' ').nth(1) == Some("/"))
        .unwrap();
    assert!(
        !logs.lines().any(|l| l == host_root),
        "the host's root mount is visible: {logs}"
    );
    assert!(
        logs.lines().any(|l| l.starts_with("overlay / overlay")),
        "{logs}"
    );
    assert!(logs.contains(&id[..12]), "hostname is the short ID: {logs}");
    // Masked /proc paths and no_new_privs.
    // A masked path reads empty (the first of Docker's masked paths this kernel has).
    let masked_path = ["/proc/kcore", "/proc/keys", "/proc/timer_list"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .unwrap();
    let script = format!(
        "wc -c < {masked_path}; grep NoNewPrivs /proc/self/status; grep CapEff /proc/self/status"
    );
    let (_, masked, _) = out(&s, &["run", "--rm", "busybox:local", "sh", "-c", &script]);
    assert!(masked.starts_with("0\n"), "{masked}");
    assert!(masked.contains("NoNewPrivs:\t1"), "{masked}");
    assert!(
        masked.contains("CapEff:\t00000000a80425fb"),
        "Docker's default capabilities: {masked}"
    );
    s.ok(&["rm", id]);
}

#[test]
fn two_containers_share_layers_not_writes() {
    let s = Strata::new();
    s.import_busybox("busybox:local");
    let a = s.ok(&[
        "run",
        "-d",
        "--name",
        "ca",
        "busybox:local",
        "sh",
        "-c",
        "echo A > /etc/motd; sleep 30",
    ]);
    let b = s.ok(&["run", "-d", "--name", "cb", "busybox:local", "sleep", "30"]);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let inspect = s.ok(&[
        "container",
        "inspect",
        "ca",
        "cb",
        "--format",
        "{{.GraphDriver.Data.LowerDir}} {{.GraphDriver.Data.UpperDir}}",
    ]);
    let lines: Vec<&str> = inspect.lines().collect();
    let (lower_a, upper_a) = lines[0].split_once(' ').unwrap();
    let (lower_b, upper_b) = lines[1].split_once(' ').unwrap();
    assert_eq!(lower_a, lower_b, "both use the image's layer directories");
    assert_ne!(upper_a, upper_b);
    assert_eq!(
        std::fs::read_to_string(format!("{upper_a}/etc/motd")).unwrap(),
        "A\n"
    );
    assert!(!std::path::Path::new(&format!("{upper_b}/etc/motd")).exists());
    let lower_motd = std::fs::read_to_string(format!("{lower_a}/etc/motd")).unwrap();
    assert_eq!(
        lower_motd, "strata busybox fixture\n",
        "the layer is never written"
    );
    s.ok(&["rm", "-f", a.trim(), b.trim()]);
    assert_eq!(s.ok(&["ps", "-aq"]), "");
}

#[test]
fn memory_limit_oom_kills_with_137() {
    let s = Strata::new();
    s.import_busybox("busybox:local");
    // Fill a tmpfs-backed file: charged to the container's memory cgroup.
    let (code, _, err) = out(
        &s,
        &[
            "run",
            "--name",
            "oom",
            "--memory",
            "16m",
            "busybox:local",
            "sh",
            "-c",
            "head -c 64m /dev/zero | tail > /dev/null",
        ],
    );
    assert_eq!(code, 137, "{err}");
    assert_eq!(
        s.ok(&[
            "container",
            "inspect",
            "oom",
            "--format",
            "{{.State.OOMKilled}} {{.State.ExitCode}} {{.HostConfig.Memory}}"
        ])
        .trim(),
        "true 137 16777216"
    );
    s.ok(&["rm", "oom"]);
}

#[test]
fn pids_limit_is_enforced() {
    let s = Strata::new();
    s.import_busybox("busybox:local");
    let id = s.ok(&[
        "run",
        "-d",
        "--pids-limit",
        "5",
        "busybox:local",
        "sh",
        "-c",
        "(for i in 1 2 3 4 5 6 7 8; do sleep 30 & done) 2>/dev/null; exec sleep 30",
    ]);
    let id = id.trim();
    std::thread::sleep(std::time::Duration::from_millis(500));
    let cgroup = if std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        format!("/sys/fs/cgroup/strata/{id}")
    } else {
        format!("/sys/fs/cgroup/pids/strata/{id}")
    };
    let max = std::fs::read_to_string(format!("{cgroup}/pids.max")).unwrap();
    let current: u32 = std::fs::read_to_string(format!("{cgroup}/pids.current"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(max.trim(), "5");
    assert!(current <= 5, "{current} processes");
    s.ok(&["rm", "-f", id]);
    assert!(
        !std::path::Path::new(&cgroup).exists(),
        "the cgroup is removed with the container"
    );
}

#[test]
fn external_runc_runs_the_same_bundle() {
    if !std::path::Path::new("/usr/sbin/runc").exists() {
        println!("skipping: runc is not installed");
        return;
    }
    let s = Strata::new();
    s.import_busybox("busybox:local");
    let (code, stdout, err) = out(
        &s,
        &[
            "run",
            "--rm",
            "--runtime",
            "/usr/sbin/runc",
            "busybox:local",
            "sh",
            "-c",
            "echo via runc; exit 5",
        ],
    );
    assert_eq!((code, stdout.as_str()), (5, "via runc\n"), "{err}");
    assert_eq!(
        out(
            &s,
            &[
                "run",
                "--rm",
                "--runtime",
                "/usr/sbin/runc",
                "busybox:local",
                "nope"
            ]
        )
        .0,
        127
    );
}

#[test]
fn vfs_driver_copies_layers() {
    let s = Strata::new();
    s.import_busybox("busybox:local");
    let (code, stdout, err) = out(
        &s,
        &[
            "run",
            "--rm",
            "--storage-driver",
            "vfs",
            "busybox:local",
            "cat",
            "/etc/motd",
        ],
    );
    assert_eq!(
        (code, stdout.as_str()),
        (0, "strata busybox fixture\n"),
        "{err}"
    );
}
