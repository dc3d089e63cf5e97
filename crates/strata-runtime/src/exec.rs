//! `exec`: a new process in a running container's namespaces and cgroups, described by an OCI
//! `process.json` derived from the container's own spec, run by the container's runtime.

use std::os::fd::OwnedFd;
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::error::{IoContext, Result, RuntimeError};
use crate::spec::{process, user};
use crate::store::ContainerStore;
use crate::{lifecycle, oci};

#[derive(Debug, Clone, Default)]
pub struct ExecOptions {
    pub argv: Vec<String>,
    pub env: Vec<String>,
    pub workdir: Option<String>,
    pub user: Option<String>,
    pub tty: bool,
    pub detach: bool,
}

/// A started exec process: its host pid and, with a tty, the pty master to relay.
pub struct ExecProcess {
    pub pid: i32,
    pub master: Option<OwnedFd>,
}

/// Starts `opts.argv` in the running container `id`. The caller must be a child subreaper
/// (the runtime's intermediate processes exit, leaving the process to it) and single-threaded.
pub fn exec(
    store: &ContainerStore,
    id: &str,
    opts: &ExecOptions,
    stdio: oci::Stdio3,
) -> Result<ExecProcess> {
    let record = lifecycle::load_checked(store, id)?;
    if !record.state.running {
        return Err(RuntimeError::Other(format!(
            "container {id} is not running"
        )));
    }
    if opts.argv.is_empty() {
        return Err(RuntimeError::NoCommand);
    }
    let embedded = matches!(record.host_config.runtime.as_str(), "" | oci::EMBEDDED);
    if record.host_config.userns_mode == "auto" && embedded {
        // libcontainer 0.7 joins every namespace but the user namespace on exec: the process
        // would be the host's root inside the container. Refuse rather than do that.
        return Err(RuntimeError::Other(format!(
            "exec into container {id}: the embedded runtime cannot join a --userns=auto container's user namespace; create it with --runtime runc to use exec"
        )));
    }
    let dir = store.container_dir(id);
    let spec_path = dir.join("bundle").join("config.json");
    let spec: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&spec_path).at(&spec_path)?).map_err(|source| {
            RuntimeError::CorruptState {
                path: spec_path.clone(),
                source,
            }
        })?;
    let mut proc = spec["process"].clone();
    let rootfs = dir.join("merged");
    let user_spec = opts
        .user
        .clone()
        .unwrap_or_else(|| record.config.user.clone());
    let exec_user = user::resolve_user_in(&rootfs, &user_spec)?;
    let mut env = record.config.env.clone();
    process::replace_or_append(&mut env, &opts.env);
    let env = process::process_env(&env, &record.config.hostname, opts.tty, &exec_user.home);
    proc["terminal"] = serde_json::json!(opts.tty);
    proc["args"] = serde_json::json!(opts.argv);
    proc["env"] = serde_json::json!(env);
    proc["user"] = serde_json::json!({
        "uid": exec_user.uid, "gid": exec_user.gid, "additionalGids": exec_user.additional_gids,
    });
    if let Some(w) = opts.workdir.as_ref().filter(|w| !w.is_empty()) {
        proc["cwd"] = serde_json::json!(w);
    }
    let nonce = crate::create::random_hex(6)?;
    let process_path = dir.join(format!("exec-{nonce}.json"));
    let bytes = serde_json::to_vec(&proc).map_err(|e| RuntimeError::Other(e.to_string()))?;
    std::fs::write(&process_path, bytes).at(&process_path)?;
    let console_path = crate::attach::socket_dir(id).join(format!("exec-{nonce}.sock"));
    let console = if opts.tty {
        Some(UnixListener::bind(&console_path).at(&console_path)?)
    } else {
        None
    };
    let runtime = record.host_config.runtime.clone();
    // The embedded runtime logs its own view of failures (and warnings about this host) from
    // processes whose stderr is the user's terminal: the returned error says what matters.
    crate::signals::reset_dispositions();
    let result =
        tracing::subscriber::with_default(tracing::subscriber::NoSubscriber::default(), || {
            start_process(
                &runtime,
                id,
                &process_path,
                console.as_ref().map(|_| &console_path),
                stdio,
                &dir,
            )
        });
    crate::signals::ignore_sigpipe();
    let _ = std::fs::remove_file(&process_path);
    let pid = match result {
        Ok(pid) => pid,
        Err(e) => {
            let _ = std::fs::remove_file(&console_path);
            return Err(e);
        }
    };
    let master = match &console {
        Some(listener) => Some(crate::monitor::receive_master(listener)?),
        None => None,
    };
    let _ = std::fs::remove_file(&console_path);
    Ok(ExecProcess { pid, master })
}

fn start_process(
    runtime: &str,
    id: &str,
    process_path: &PathBuf,
    console: Option<&PathBuf>,
    stdio: oci::Stdio3,
    dir: &std::path::Path,
) -> Result<i32> {
    let state_dir = oci::runtime_state_dir(runtime);
    if runtime == oci::EMBEDDED || runtime.is_empty() {
        use libcontainer::container::builder::ContainerBuilder;
        use libcontainer::syscall::syscall::SyscallType;
        let pid = ContainerBuilder::new(id.to_string(), SyscallType::default())
            .with_root_path(&state_dir)
            .map_err(|e| RuntimeError::Libcontainer(e.to_string()))?
            .with_console_socket(console)
            .with_stdin(stdio.stdin)
            .with_stdout(stdio.stdout)
            .with_stderr(stdio.stderr)
            .as_tenant()
            .with_process(Some(process_path))
            .with_detach(true)
            .build()
            .map_err(|e| {
                let message = format!("{e:#}");
                RuntimeError::StartFailed {
                    code: oci::exit_code_for_start_error(&message),
                    message,
                }
            })?;
        return Ok(pid.as_raw());
    }
    let pid_file = dir.join(format!("{}.pid", process_path.display()));
    let log_file = dir.join("runtime.log");
    let _ = std::fs::remove_file(&log_file);
    let mut cmd = Command::new(runtime);
    cmd.arg("--root")
        .arg(&state_dir)
        .arg("--log")
        .arg(&log_file)
        .args(["--log-format", "json", "exec", "-d"]);
    cmd.arg("--process")
        .arg(process_path)
        .arg("--pid-file")
        .arg(&pid_file);
    if let Some(c) = console {
        cmd.arg("--console-socket").arg(c);
    }
    cmd.arg(id)
        .stdin(Stdio::from(stdio.stdin))
        .stdout(Stdio::from(stdio.stdout))
        .stderr(Stdio::from(stdio.stderr));
    let out = cmd
        .output()
        .map_err(|e| RuntimeError::Other(format!("run {runtime}: {e}")))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
        let message = oci::last_logged_error(&log_file)
            .or_else(|| (!stderr.is_empty()).then_some(stderr))
            .unwrap_or_else(|| format!("{runtime} exec failed"));
        return Err(RuntimeError::StartFailed {
            code: oci::exit_code_for_start_error(&message),
            message,
        });
    }
    let pid = oci::read_pid_file(&pid_file);
    let _ = std::fs::remove_file(&pid_file);
    pid
}

/// Waits for the exec'd process (reparented to the caller, a subreaper) and returns Docker's
/// exit code for it.
pub fn wait_exit(pid: i32) -> i32 {
    loop {
        let mut status = 0;
        // SAFETY: waitpid with a valid status pointer.
        let got = unsafe { libc::waitpid(pid, &mut status, 0) };
        if got == pid {
            if libc::WIFEXITED(status) {
                return libc::WEXITSTATUS(status);
            }
            if libc::WIFSIGNALED(status) {
                return 128 + libc::WTERMSIG(status);
            }
            continue;
        }
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() == Some(libc::ECHILD) {
            // Not reparented to us yet, or already gone.
            if crate::procinfo::start_time(pid).is_none() {
                return 255;
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
    }
}

/// Makes the calling process the reaper of its orphaned descendants (exec processes).
pub fn become_subreaper() {
    // SAFETY: plain prctl with integer arguments.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
}
