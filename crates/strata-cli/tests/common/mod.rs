//! Shared helpers for CLI integration tests: each test gets its own store, the busybox fixture
//! is built once, and docker (the oracle) is used only when a daemon answers.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

pub struct Strata {
    pub root: tempfile::TempDir,
}

/// A test that fails halfway leaves no running container behind: its namespaces, addresses
/// and monitor would outlive the deleted store.
impl Drop for Strata {
    fn drop(&mut self) {
        let Ok(out) = self.cmd().args(["ps", "-aq", "--no-trunc"]).output() else {
            return;
        };
        let ids: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .map(str::to_string)
            .collect();
        if !ids.is_empty() {
            let _ = self.cmd().arg("rm").arg("-f").args(&ids).output();
        }
    }
}

impl Strata {
    pub fn new() -> Strata {
        Strata {
            root: tempfile::tempdir().expect("temp store"),
        }
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_strata"));
        c.arg("--root").arg(self.root.path());
        c.stdin(Stdio::null());
        c
    }

    /// Runs `strata ARGS` and returns its output, whatever the exit code.
    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().expect("strata runs")
    }

    /// Runs and asserts success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "strata {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf8 stdout")
    }

    /// Runs and asserts failure; returns stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            !out.status.success(),
            "strata {args:?} should fail but printed {}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stderr).expect("utf8 stderr")
    }

    /// Imports the busybox fixture as `name` and returns the image ID.
    pub fn import_busybox(&self, name: &str) -> String {
        let tar = busybox_tar();
        self.ok(&["import", tar.to_str().expect("utf8 path"), name])
            .trim()
            .to_owned()
    }

    /// Every file under the store except transient staging, for "nothing changed" checks.
    pub fn snapshot(&self) -> Vec<String> {
        let mut out = Vec::new();
        walk(self.root.path(), self.root.path(), &mut out);
        out.retain(|p| !p.starts_with("tmp/") && p != "lock");
        out.sort();
        out
    }
}

fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        let rel = p
            .strip_prefix(base)
            .expect("under base")
            .display()
            .to_string();
        if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            walk(base, &p, out);
        } else {
            out.push(rel);
        }
    }
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The busybox rootfs tarball, made once per test binary by the project's fixture script.
pub fn busybox_tar() -> PathBuf {
    static TAR: OnceLock<PathBuf> = OnceLock::new();
    TAR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("strata-fixture-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("fixture dir");
        let tar = dir.join("busybox.tar");
        let status = Command::new(repo_root().join("scripts/make-busybox-rootfs.sh"))
            .arg(&tar)
            .status()
            .expect("fixture script runs");
        assert!(status.success(), "making the busybox fixture failed");
        tar
    })
    .clone()
}

pub fn sha256_file(path: &Path) -> String {
    use sha2::Digest;
    let bytes = std::fs::read(path).expect("read");
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

/// True when a Docker daemon answers; tests that compare with docker skip otherwise.
pub fn docker_available() -> bool {
    static OK: OnceLock<bool> = OnceLock::new();
    *OK.get_or_init(|| {
        Command::new("docker")
            .arg("info")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    })
}

pub fn docker(args: &[&str]) -> String {
    let out = Command::new("docker")
        .args(args)
        .output()
        .expect("docker runs");
    assert!(
        out.status.success(),
        "docker {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf8")
}

pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

/// Whether tmux is missing (and the test says it skips).
pub fn tmux_missing() -> bool {
    let missing = Command::new("tmux").arg("-V").output().is_err();
    if missing {
        println!("skipping: tmux is not installed (apt-get install tmux)");
    }
    missing
}

/// Runs tmux (the terminal for interactive tests) and returns its stdout.
pub fn tmux(args: &[&str]) -> String {
    let out = Command::new("tmux").args(args).output().expect("tmux runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Waits until `needle` is on the tmux session's screen; returns the screen.
pub fn wait_for_screen(session: &str, needle: &str) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let screen = tmux(&["capture-pane", "-p", "-t", session]);
        if screen.contains(needle) {
            return screen;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{needle:?} never appeared on:\n{screen}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// A tar with raw header names, so tests can write hostile paths tar::Builder would refuse.
pub fn hostile_tar(entries: &[(&str, tar::EntryType, &str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, kind, link, data) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(*kind);
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        let raw = h.as_old_mut();
        raw.name[..name.len()].copy_from_slice(name.as_bytes());
        raw.linkname[..link.len()].copy_from_slice(link.as_bytes());
        h.set_cksum();
        b.append(&h, *data).expect("append");
    }
    b.into_inner().expect("tar")
}
