//! `run` flags checked against Docker's behaviour: `-a` (attach only the named streams),
//! `--memory-swap` and `--memory-reservation`, seccomp (`--security-opt`, `--privileged`).

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

const BOTH: &str = "echo out; echo err >&2; exit 3";

#[test]
fn attach_shows_only_the_named_streams() {
    let s = Strata::new();
    s.import_busybox("busybox:local");
    let run = |attach: &[&str]| {
        let mut args = vec!["run", "--rm"];
        args.extend_from_slice(attach);
        args.extend(["busybox:local", "sh", "-c", BOTH]);
        out(&s, &args)
    };
    assert_eq!(run(&["-a", "stdout"]), (3, "out\n".into(), String::new()));
    assert_eq!(run(&["-a", "STDERR"]), (3, String::new(), "err\n".into()));
    assert_eq!(
        run(&["-a", "stderr", "-a", "Stdout"]),
        (3, "out\n".into(), "err\n".into())
    );
    assert_eq!(run(&["-a", "stdin"]), (3, String::new(), String::new()));

    let (code, _, err) = run(&["-a", "foo"]);
    assert_eq!(code, 125);
    assert!(
        err.contains(
            "invalid argument \"foo\" for \"-a, --attach\" flag: valid streams are STDIN, STDOUT and STDERR"
        ),
        "{err}"
    );
    let (code, _, err) = run(&["-d", "-a", "stdout"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("conflicting options: cannot specify both --attach and --detach"),
        "{err}"
    );

    // Config.Attach* as Docker records them.
    let inspect = |args: &[&str]| {
        let mut a = vec!["create"];
        a.extend_from_slice(args);
        a.extend(["busybox:local", "true"]);
        let id = s.ok(&a);
        let f = "{{.Config.AttachStdin}} {{.Config.AttachStdout}} {{.Config.AttachStderr}} {{.Config.OpenStdin}} {{.Config.StdinOnce}}";
        let shown = s.ok(&["inspect", "--format", f, id.trim()]);
        s.ok(&["rm", id.trim()]);
        shown.trim().to_string()
    };
    assert_eq!(inspect(&["-a", "stderr"]), "false false true false false");
    assert_eq!(
        inspect(&["-i", "-a", "stdout"]),
        "true true false true true"
    );
    assert_eq!(inspect(&["-a", "stdin"]), "true false false false false");
    assert_eq!(inspect(&[]), "false true true false false");
}

/// Whether this host accounts swap per cgroup (v1 memsw files), as Docker's SwapLimit.
fn memsw() -> bool {
    std::path::Path::new("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes").exists()
}

#[test]
fn memory_swap_and_reservation_follow_docker() {
    let s = Strata::new();
    s.import_busybox("busybox:local");
    let refused = [
        (
            vec!["--memory-swap", "32m"],
            "You should always set the Memory limit when using Memoryswap limit, see usage",
        ),
        (
            vec!["-m", "64m", "--memory-reservation", "100m"],
            "Minimum memory limit can not be less than memory reservation limit, see usage",
        ),
        (
            vec!["-m", "64m", "--memory-swap", "foo"],
            "invalid argument \"foo\" for \"--memory-swap\" flag: invalid size: 'foo'",
        ),
    ];
    for (flags, message) in refused {
        let mut args = vec!["run", "--rm"];
        args.extend(flags);
        args.extend(["busybox:local", "true"]);
        let (code, _, err) = out(&s, &args);
        assert_eq!(code, 125, "{err}");
        assert!(err.contains(message), "{err}");
    }
    if memsw() {
        let (code, _, err) = out(
            &s,
            &[
                "run",
                "-m",
                "64m",
                "--memory-swap",
                "32m",
                "busybox:local",
                "true",
            ],
        );
        assert_eq!(code, 125);
        assert!(
            err.contains("Minimum memoryswap limit should be larger than memory limit, see usage"),
            "{err}"
        );
    }

    // What inspect records (HostConfig) and what the container's cgroup gets.
    let cases: [(&[&str], &str, Option<&str>); 4] = [
        (&["-m", "64m"], "67108864 134217728 0", Some("134217728")),
        (
            &["-m", "64m", "--memory-swap", "100m"],
            "67108864 104857600 0",
            Some("104857600"),
        ),
        (&["-m", "64m", "--memory-swap", "-1"], "67108864 -1 0", None),
        (&["--memory-reservation", "32m"], "0 0 33554432", None),
    ];
    for (flags, recorded, memsw_limit) in cases {
        let mut args = vec!["run", "-d"];
        args.extend_from_slice(flags);
        args.extend(["busybox:local", "sleep", "100"]);
        let id = s.ok(&args);
        let id = id.trim();
        let f =
            "{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.MemoryReservation}}";
        let shown = s.ok(&["inspect", "--format", f, id]);
        if memsw() {
            assert_eq!(shown.trim(), recorded, "{flags:?}");
            let dir = format!("/sys/fs/cgroup/memory/strata/{id}");
            let read = |f: &str| std::fs::read_to_string(format!("{dir}/{f}")).unwrap();
            let limit = read("memory.memsw.limit_in_bytes");
            match memsw_limit {
                Some(v) => assert_eq!(limit.trim(), v, "{flags:?}"),
                // Unlimited: the kernel's largest page-aligned value.
                None => assert!(limit.trim().parse::<u64>().unwrap() > 1 << 60, "{limit}"),
            }
            if flags.contains(&"--memory-reservation") {
                assert_eq!(read("memory.soft_limit_in_bytes").trim(), "33554432");
            }
        }
        s.ok(&["rm", "-f", id]);
    }
}

/// `unshare -U` needs no capability, so only seccomp stops it: Docker's default profile
/// allows unshare(2) only with CAP_SYS_ADMIN.
const UNSHARE: &str =
    "unshare -U true 2>/dev/null; echo unshare=$?; grep '^Seccomp:' /proc/self/status";

#[test]
fn seccomp_default_profile_unconfined_and_custom() {
    let s = Strata::new();
    s.import_busybox("busybox:local");
    let run = |flags: &[&str], script: &str| {
        let mut args = vec!["run", "--rm"];
        args.extend_from_slice(flags);
        args.extend(["busybox:local", "sh", "-c", script]);
        out(&s, &args)
    };
    let filtered = "unshare=1\nSeccomp:\t2\n";
    let open = "unshare=0\nSeccomp:\t0\n";
    assert_eq!(run(&[], UNSHARE).1, filtered);
    assert_eq!(
        run(&["--security-opt", "seccomp=unconfined"], UNSHARE).1,
        open
    );
    assert_eq!(
        run(&["--security-opt", "seccomp:unconfined"], UNSHARE).1,
        open
    );
    assert_eq!(run(&["--privileged"], UNSHARE).1, open);
    // The capability-conditional groups: with CAP_SYS_ADMIN unshare is allowed.
    assert_eq!(
        run(&["--cap-add", "SYS_ADMIN"], UNSHARE).1,
        "unshare=0\nSeccomp:\t2\n"
    );

    // A profile file in Docker's format, kept in SecurityOpt as its compacted JSON.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("profile.json");
    std::fs::write(
        &path,
        r#"{
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]
        }"#,
    )
    .unwrap();
    let opt = format!("seccomp={}", path.display());
    let id = s.ok(&[
        "create",
        "--security-opt",
        &opt,
        "busybox:local",
        "sh",
        "-c",
        "mkdir /x 2>&1; unshare -U true; echo unshare=$?",
    ]);
    let id = id.trim();
    let (code, stdout, _) = out(&s, &["start", "-a", id]);
    assert_eq!(code, 0);
    assert_eq!(
        stdout,
        "mkdir: can't create directory '/x': Operation not permitted\nunshare=0\n"
    );
    let shown = s.ok(&[
        "inspect",
        "--format",
        "{{json .HostConfig.SecurityOpt}}",
        id,
    ]);
    assert_eq!(
        shown.trim(),
        r#"["seccomp={\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"mkdir\",\"mkdirat\"],\"action\":\"SCMP_ACT_ERRNO\"}]}"]"#
    );
    s.ok(&["rm", id]);

    // Docker's refusals, all before a container exists.
    std::fs::write(dir.path().join("bad.json"), "{bad").unwrap();
    let bad = format!("seccomp={}", dir.path().join("bad.json").display());
    let cases = [
        (
            "seccomp=/nope",
            "opening seccomp profile (/nope) failed: open /nope: no such file or directory",
        ),
        (bad.as_str(), "compacting json for seccomp profile ("),
        ("foo", "Invalid --security-opt: \"foo\""),
        ("foo=bar", "invalid --security-opt 2: \"foo=bar\""),
    ];
    for (opt, message) in cases {
        let (code, _, err) = run(&["--security-opt", opt], "true");
        assert_eq!(code, 125, "{opt}: {err}");
        assert!(err.contains(message), "{opt}: {err}");
    }
    assert_eq!(s.ok(&["ps", "-aq"]), "");
}

#[test]
fn userns_host_is_accepted_and_unknown_modes_are_refused() {
    let s = Strata::new();
    s.import_busybox("bb");
    assert_eq!(
        s.ok(&[
            "run",
            "--rm",
            "--userns=host",
            "--network",
            "none",
            "bb",
            "echo",
            "ok"
        ]),
        "ok\n"
    );
    let out = s.run(&["run", "--rm", "--userns=remap", "bb", "true"]);
    assert_eq!(out.status.code(), Some(125));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("invalid --userns \"remap\""), "{err}");
    assert_eq!(s.ok(&["ps", "-aq"]), "", "nothing was created");
}
