//! `exec` into running containers, with both runtimes.

mod common;

use common::Strata;

fn exec_checks(s: &Strata, name: &str) {
    let o = s.run(&[
        "exec",
        "-u",
        "daemon",
        "-w",
        "/tmp",
        "-e",
        "X=5",
        name,
        "sh",
        "-c",
        "echo $X $(pwd) $(id -u) $(hostname); exit 4",
    ]);
    assert_eq!(
        o.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    let hostname = s.ok(&["container", "inspect", "-f", "{{.Config.Hostname}}", name]);
    assert_eq!(stdout, format!("5 /tmp 1 {}\n", hostname.trim()));
    // It runs in the container's pid namespace: pid 1 is the container's sleep.
    let ps = s.ok(&["exec", name, "ps", "-o", "pid,comm"]);
    assert!(ps.lines().any(|l| l.trim() == "1 sleep"), "{ps}");
    let o = s.run(&["exec", name, "no-such-binary"]);
    assert_eq!(o.status.code(), Some(127));
    let mut piped = s.cmd();
    piped
        .args(["exec", "-i", name, "cat"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped());
    let mut child = piped.spawn().unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"through stdin\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "through stdin\n");
    assert_eq!(s.ok(&["exec", "-t", name, "tty"]).trim(), "/dev/pts/0");
}

#[test]
fn exec_in_running_containers() {
    let s = Strata::new();
    s.import_busybox("busybox:local");
    s.ok(&[
        "run",
        "-d",
        "--name",
        "embedded",
        "busybox:local",
        "sleep",
        "100",
    ]);
    exec_checks(&s, "embedded");
    if std::path::Path::new("/usr/sbin/runc").exists() {
        s.ok(&[
            "run",
            "-d",
            "--name",
            "withrunc",
            "--runtime",
            "/usr/sbin/runc",
            "busybox:local",
            "sleep",
            "100",
        ]);
        exec_checks(&s, "withrunc");
        s.ok(&["rm", "-f", "withrunc"]);
    } else {
        println!("runc not installed: only the embedded runtime is checked");
    }
    s.ok(&["stop", "-t", "0", "embedded"]);
    let err = s.fails(&["exec", "embedded", "true"]);
    assert!(err.contains("is not running"), "{err}");
    s.ok(&["rm", "embedded"]);
}

#[test]
fn top_and_cp() {
    let s = Strata::new();
    s.import_busybox("busybox:local");
    s.ok(&[
        "run",
        "-d",
        "--name",
        "topbox",
        "busybox:local",
        "sleep",
        "100",
    ]);
    let top = s.ok(&["top", "topbox"]);
    let mut lines = top.lines();
    assert!(lines.next().unwrap().contains("PID"));
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 1, "{top}");
    assert!(rows[0].ends_with("sleep 100"), "{top}");
    let host = tempfile::tempdir().unwrap();
    let src = host.path().join("in.txt");
    std::fs::write(&src, "to the container\n").unwrap();
    s.ok(&["cp", src.to_str().unwrap(), "topbox:/tmp/in.txt"]);
    assert_eq!(
        s.ok(&["exec", "topbox", "cat", "/tmp/in.txt"]),
        "to the container\n"
    );
    s.ok(&["stop", "-t", "0", "topbox"]);
    // A stopped container's files are reachable too; symlinks resolve inside its root.
    let out = host.path().join("motd");
    s.ok(&["cp", "topbox:/etc/motd", out.to_str().unwrap()]);
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "strata busybox fixture\n"
    );
    let back = host.path().join("in-back.txt");
    s.ok(&["cp", "topbox:/tmp/in.txt", back.to_str().unwrap()]);
    assert_eq!(
        std::fs::read_to_string(&back).unwrap(),
        "to the container\n"
    );
    let err = s.fails(&["cp", "topbox:/nope", out.to_str().unwrap()]);
    assert!(
        err.contains("Could not find the file /nope in container topbox"),
        "{err}"
    );
    s.ok(&["rm", "topbox"]);
}
