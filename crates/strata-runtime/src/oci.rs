//! Running an OCI bundle: with the embedded runtime (youki's libcontainer, called from the
//! single-threaded monitor) or with an external runc-compatible binary (`--runtime PATH`).
//! Both create the container stopped, then start it, like `runc create` + `runc start`.

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::{Result, RuntimeError};

/// The runtime name recorded in HostConfig.Runtime for the embedded one.
pub const EMBEDDED: &str = "libcontainer";

/// Where runtimes keep their own per-container state (tmpfs: gone after a reboot, as it
/// should be, since the processes are too).
pub const STATE_ROOT: &str = "/run/strata";

pub fn runtime_state_dir(runtime: &str) -> PathBuf {
    if runtime == EMBEDDED || runtime.is_empty() {
        Path::new(STATE_ROOT).join("youki")
    } else {
        Path::new(STATE_ROOT).join("runc")
    }
}

/// The container process's standard streams as the runtime should set them up.
pub struct Stdio3 {
    pub stdin: OwnedFd,
    pub stdout: OwnedFd,
    pub stderr: OwnedFd,
}

pub struct CreateRequest<'a> {
    pub runtime: &'a str,
    pub id: &'a str,
    pub bundle: &'a Path,
    pub pid_file: &'a Path,
    pub console_socket: Option<&'a Path>,
    pub stdio: Stdio3,
    /// Where an external runtime writes its log (its errors are read back from here).
    pub log_file: &'a Path,
}

/// Maps a runtime's failure message to Docker's exit code: 127 for a missing executable,
/// 126 for one that cannot be executed, 125 otherwise.
pub fn exit_code_for_start_error(message: &str) -> u8 {
    let lower = message.to_ascii_lowercase();
    if lower.contains("not found") || lower.contains("no such file or directory") {
        127
    } else if lower.contains("permission denied")
        || lower.contains("correct permissions")
        || lower.contains("is a directory")
    {
        126
    } else {
        125
    }
}

fn start_failed(message: String) -> RuntimeError {
    let code = exit_code_for_start_error(&message);
    RuntimeError::StartFailed { message, code }
}

/// Creates the container (namespaces, cgroups, mounts; the process waits before exec) and
/// returns the pid of its init process.
pub fn create(req: CreateRequest<'_>) -> Result<i32> {
    let state_dir = runtime_state_dir(req.runtime);
    std::fs::create_dir_all(&state_dir).map_err(|e| RuntimeError::io(&state_dir, e))?;
    if req.runtime == EMBEDDED || req.runtime.is_empty() {
        create_embedded(req, &state_dir)
    } else {
        create_external(req, &state_dir)
    }
}

fn create_embedded(req: CreateRequest<'_>, state_dir: &Path) -> Result<i32> {
    use libcontainer::container::builder::ContainerBuilder;
    use libcontainer::syscall::syscall::SyscallType;
    let builder = ContainerBuilder::new(req.id.to_string(), SyscallType::default())
        .with_root_path(state_dir)
        .map_err(|e| RuntimeError::Libcontainer(e.to_string()))?
        .with_pid_file(Some(req.pid_file))
        .map_err(|e| RuntimeError::Libcontainer(e.to_string()))?
        .with_console_socket(req.console_socket)
        .with_stdin(req.stdio.stdin)
        .with_stdout(req.stdio.stdout)
        .with_stderr(req.stdio.stderr);
    let container = builder
        .as_init(req.bundle)
        .with_systemd(false)
        .with_detach(true)
        .build()
        .map_err(|e| start_failed(format!("{e:#}")))?;
    container
        .pid()
        .map(|p| p.as_raw())
        .ok_or_else(|| RuntimeError::Libcontainer("the container has no init pid".into()))
}

/// The last error an external runtime logged (runc's `--log-format json`).
pub(crate) fn last_logged_error(log_file: &Path) -> Option<String> {
    let text = std::fs::read_to_string(log_file).ok()?;
    text.lines().rev().find_map(|line| {
        let v: serde_json::Value = serde_json::from_str(line).ok()?;
        (v["level"] == "error" || v["level"] == "fatal")
            .then(|| v["msg"].as_str().map(str::to_string))
            .flatten()
    })
}

fn create_external(req: CreateRequest<'_>, state_dir: &Path) -> Result<i32> {
    let _ = std::fs::remove_file(req.log_file);
    let mut cmd = Command::new(req.runtime);
    cmd.arg("--root")
        .arg(state_dir)
        .arg("--log")
        .arg(req.log_file)
        .arg("--log-format")
        .arg("json")
        .arg("create")
        .arg("--bundle")
        .arg(req.bundle)
        .arg("--pid-file")
        .arg(req.pid_file);
    if let Some(socket) = req.console_socket {
        cmd.arg("--console-socket").arg(socket);
    }
    cmd.arg(req.id)
        .stdin(Stdio::from(req.stdio.stdin))
        .stdout(Stdio::from(req.stdio.stdout))
        .stderr(Stdio::from(req.stdio.stderr));
    let status = cmd
        .status()
        .map_err(|e| RuntimeError::Other(format!("run {}: {e}", req.runtime)))?;
    if !status.success() {
        let message = last_logged_error(req.log_file)
            .unwrap_or_else(|| format!("{} create exited with {status}", req.runtime));
        return Err(start_failed(message));
    }
    read_pid_file(req.pid_file)
}

pub fn read_pid_file(path: &Path) -> Result<i32> {
    let text = std::fs::read_to_string(path).map_err(|e| RuntimeError::io(path, e))?;
    text.trim()
        .parse()
        .map_err(|_| RuntimeError::Other(format!("bad pid file {}", path.display())))
}

/// Lets the created container exec its process.
pub fn start(runtime: &str, id: &str, log_file: &Path) -> Result<()> {
    let state_dir = runtime_state_dir(runtime);
    if runtime == EMBEDDED || runtime.is_empty() {
        let mut container = libcontainer::container::Container::load(state_dir.join(id))
            .map_err(|e| RuntimeError::Libcontainer(e.to_string()))?;
        return container
            .start()
            .map_err(|e| start_failed(format!("{e:#}")));
    }
    let status = Command::new(runtime)
        .arg("--root")
        .arg(&state_dir)
        .arg("--log")
        .arg(log_file)
        .arg("--log-format")
        .arg("json")
        .arg("start")
        .arg(id)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| RuntimeError::Other(format!("run {runtime}: {e}")))?;
    if !status.success() {
        let message = last_logged_error(log_file)
            .unwrap_or_else(|| format!("{runtime} start exited with {status}"));
        return Err(start_failed(message));
    }
    Ok(())
}

/// Removes the runtime's state and the container's cgroups. Errors are logged, not returned:
/// this runs during cleanup where the container may be half-gone already.
pub fn delete(runtime: &str, id: &str) {
    let state_dir = runtime_state_dir(runtime);
    if runtime == EMBEDDED || runtime.is_empty() {
        let dir = state_dir.join(id);
        if !dir.exists() {
            return;
        }
        match libcontainer::container::Container::load(dir.clone()) {
            Ok(mut c) => {
                if let Err(e) = c.delete(true) {
                    tracing::warn!("libcontainer delete {id}: {e}");
                    let _ = std::fs::remove_dir_all(&dir);
                }
            }
            Err(e) => {
                tracing::warn!("libcontainer load {id}: {e}");
                let _ = std::fs::remove_dir_all(&dir);
            }
        }
        return;
    }
    let result = Command::new(runtime)
        .arg("--root")
        .arg(&state_dir)
        .args(["delete", "--force", id])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if let Err(e) = result {
        tracing::warn!("{runtime} delete {id}: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_error_codes() {
        assert_eq!(
            exit_code_for_start_error("exec: \"nope\": executable file not found in $PATH"),
            127
        );
        assert_eq!(
            exit_code_for_start_error("executable 'x' not found in $PATH"),
            127
        );
        assert_eq!(
            exit_code_for_start_error("exec: \"/etc/passwd\": permission denied"),
            126
        );
        assert_eq!(exit_code_for_start_error("cgroup setup failed"), 125);
    }
}
