//! `--userns=auto`: the container's root is host uid 100000 in a user namespace of its own,
//! the image's files are seen through idmapped mounts (owned by 0 inside), what the container
//! writes is owned by its host ids on disk and by 0 again in commit and export, networking
//! works inside the namespace, and nothing is left after `rm`.

mod common;

use std::io::{Read, Write};

use common::Strata;

fn host_uid(pid: &str) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|v| v.split_whitespace().next())
        .unwrap_or_default()
        .to_string()
}

#[test]
fn root_in_the_container_is_an_unprivileged_host_uid() {
    let s = Strata::new();
    s.import_busybox("bb");
    let out = s.ok(&[
        "run", "--rm", "--userns=auto", "--network", "none", "bb", "sh", "-c",
        "id -u; cat /proc/self/uid_map; touch /new && echo root:x >> /etc/passwd && echo writes-ok; stat -c %u /etc/passwd",
    ]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "0");
    assert_eq!(
        lines[1].split_whitespace().collect::<Vec<_>>(),
        ["0", "100000", "65536"]
    );
    assert_eq!(lines[2], "writes-ok");
    assert_eq!(lines[3], "0", "image files are root's inside: {out}");

    let id = s
        .ok(&[
            "run",
            "-d",
            "--userns=auto",
            "bb",
            "sh",
            "-c",
            "echo data > /made; chmod 4755 /made; sleep 60",
        ])
        .trim()
        .to_string();
    let pid = s
        .ok(&["inspect", "-f", "{{.State.Pid}}", &id])
        .trim()
        .to_string();
    assert_eq!(host_uid(&pid), "100000");
    assert_eq!(
        s.ok(&["inspect", "-f", "{{.HostConfig.UsernsMode}}", &id]),
        "auto\n"
    );
    let upper = s.ok(&["inspect", "-f", "{{.GraphDriver.Data.UpperDir}}", &id]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let made = std::path::Path::new(upper.trim()).join("made");
    while !made.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    use std::os::unix::fs::MetadataExt;
    assert_eq!(std::fs::metadata(&made).expect("made").uid(), 100_000);
    // Commit and export give the container's own ids back.
    s.ok(&["commit", &id, "shifted:1"]);
    let listing = s.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "shifted:1",
        "stat",
        "-c",
        "%u %g %A",
        "/made",
    ]);
    assert_eq!(listing, "0 0 -rwsr-xr-x\n");
    let mut export = s
        .cmd()
        .args(["export", &id])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("export");
    let mut tar = Vec::new();
    export
        .stdout
        .take()
        .expect("stdout")
        .read_to_end(&mut tar)
        .expect("read");
    assert!(export.wait().expect("wait").success());
    let mut archive = tar::Archive::new(&tar[..]);
    let made_entry = archive
        .entries()
        .expect("entries")
        .filter_map(|e| e.ok())
        .find(|e| e.path().map(|p| p.ends_with("made")).unwrap_or(false))
        .expect("made in the export");
    assert_eq!(made_entry.header().uid().expect("uid"), 0);
    // exec cannot enter the namespace with the embedded runtime: it says so.
    let err = s.fails(&["exec", &id, "id"]);
    assert!(
        err.contains("cannot join a --userns=auto container's user namespace"),
        "{err}"
    );
    s.ok(&["rm", "-f", &id]);
    assert!(
        !std::path::Path::new("/run/strata/userns")
            .join(&id)
            .exists()
    );
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    assert!(!mounts.contains(&id), "mounts of {id} left");
    let err = s.fails(&["run", "--userns=auto", "--privileged", "bb", "true"]);
    assert!(
        err.contains("privileged mode is incompatible with user namespaces"),
        "{err}"
    );
}

#[test]
fn published_ports_and_runc_exec_work_in_a_user_namespace() {
    let s = Strata::new();
    s.import_busybox("bb");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port");
    let spec = format!("{port}:80");
    let id = s
        .ok(&[
            "run",
            "-d",
            "--userns=auto",
            "-p",
            &spec,
            "bb",
            "sh",
            "-c",
            "mkdir -p /www && echo from-userns > /www/index.html && exec httpd -f -p 80 -h /www",
        ])
        .trim()
        .to_string();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let body = loop {
        let got = std::net::TcpStream::connect(("127.0.0.1", port)).and_then(|mut c| {
            c.write_all(b"GET / HTTP/1.0\r\n\r\n")?;
            let mut b = String::new();
            c.read_to_string(&mut b)?;
            Ok(b)
        });
        match got {
            Ok(b) if b.contains("200 OK") => break b,
            _ if std::time::Instant::now() > deadline => panic!("no answer: {got:?}"),
            _ => std::thread::sleep(std::time::Duration::from_millis(50)),
        }
    };
    assert!(body.contains("from-userns"), "{body}");
    s.ok(&["rm", "-f", &id]);
    if std::process::Command::new("runc")
        .arg("--version")
        .output()
        .is_err()
    {
        println!("skipping the runc part: runc is not installed");
        return;
    }
    let id = s
        .ok(&[
            "run",
            "-d",
            "--userns=auto",
            "--runtime",
            "runc",
            "--network",
            "none",
            "bb",
            "sleep",
            "60",
        ])
        .trim()
        .to_string();
    let out = s.ok(&["exec", &id, "cat", "/proc/self/uid_map"]);
    assert_eq!(
        out.split_whitespace().collect::<Vec<_>>(),
        ["0", "100000", "65536"]
    );
    s.ok(&["rm", "-f", &id]);
}
