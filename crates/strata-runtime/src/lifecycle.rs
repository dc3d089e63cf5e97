//! Starting, signalling, stopping, waiting for and removing containers. Every command reads
//! the state from disk and checks that the monitor it names is still the same live process.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;

use crate::error::{IoContext, Result, RuntimeError};
use crate::logs::rfc3339_nano;
use crate::record::{ContainerRecord, Status};
use crate::signals::parse_signal;
use crate::storage::{self, RootfsDirs};
use crate::store::ContainerStore;
use crate::volumes::VolumeStore;
use crate::{attach, oci, procinfo};

/// Whether the record's monitor is alive (and is the process that wrote it).
pub fn monitor_alive(record: &ContainerRecord) -> bool {
    record.strata.monitor_pid > 0
        && procinfo::is_same_process(record.strata.monitor_pid, record.strata.monitor_start_time)
}

fn init_alive(record: &ContainerRecord) -> bool {
    record.state.pid > 0
        && procinfo::is_same_process(record.state.pid, record.strata.init_start_time)
}

/// Gives back what a running container holds: its networks, its root filesystem, its user
/// namespace.
fn release_held(store: &ContainerStore, record: &mut ContainerRecord) {
    crate::network::leave(store, record);
    let dirs = RootfsDirs::new(&store.container_dir(&record.id));
    if let Err(e) = storage::release(&dirs, &record.strata.storage) {
        tracing::warn!("{e}");
    }
    record.strata.mounted = false;
    crate::userns::remove(&crate::userns::path_for(&record.id));
}

/// The monitor recorded a start failure: back to `created`, with Docker's error and code.
pub fn record_start_failure(store: &ContainerStore, id: &str, code: i32, message: &str) {
    let result = store.update(id, |r| {
        release_held(store, r);
        r.state.status = Status::Created;
        r.state.running = false;
        r.state.pid = 0;
        r.state.exit_code = code;
        r.state.error = message.to_string();
        r.strata.monitor_pid = 0;
        Ok(())
    });
    if let Ok((record, ())) = result
        && record.host_config.auto_remove
    {
        let _ = remove_files(store, &record, true);
    }
}

/// Whether the restart policy restarts a container that exited with `code` (Docker's
/// rules; a container stopped or killed by a user is never restarted).
pub fn should_restart(record: &ContainerRecord, code: i32) -> bool {
    let policy = &record.host_config.restart_policy;
    if record.strata.manually_stopped || record.host_config.auto_remove {
        return false;
    }
    match policy.name.as_str() {
        "always" | "unless-stopped" => true,
        "on-failure" => {
            code != 0
                && (policy.maximum_retry_count == 0
                    || record.restart_count < policy.maximum_retry_count)
        }
        _ => false,
    }
}

/// The monitor recorded the container's exit. When the restart policy asks for another run
/// the container is `restarting` (the monitor stays and starts it again), else `exited`.
pub fn record_exit(
    store: &ContainerStore,
    id: &str,
    code: i32,
    oom: bool,
) -> Result<ContainerRecord> {
    let (record, ()) = store.update(id, |r| {
        release_held(store, r);
        r.state.running = false;
        r.state.paused = false;
        r.state.pid = 0;
        r.state.exit_code = code;
        r.state.oom_killed = oom;
        r.state.finished_at = rfc3339_nano(Utc::now());
        if should_restart(r, code) {
            r.state.status = Status::Restarting;
            r.state.restarting = true;
            r.restart_count += 1;
        } else {
            mark_exited(r);
        }
        Ok(())
    })?;
    Ok(record)
}

/// Exited for good: no monitor any more.
fn mark_exited(r: &mut ContainerRecord) {
    r.state.status = Status::Exited;
    r.state.restarting = false;
    r.strata.monitor_pid = 0;
}

/// A restarting container that a user stopped meanwhile: the monitor gives up.
pub fn record_restart_abandoned(store: &ContainerStore, id: &str) -> Result<ContainerRecord> {
    let (record, ()) = store.update(id, |r| {
        mark_exited(r);
        Ok(())
    })?;
    Ok(record)
}

/// Marks the container as stopped by a user, so its restart policy leaves it alone.
fn mark_manually_stopped(store: &ContainerStore, id: &str) -> Result<()> {
    store.update(id, |r| {
        r.strata.manually_stopped = true;
        Ok(())
    })?;
    Ok(())
}

/// Running, starting, or between two runs of its restart policy: a monitor is at work.
fn is_active(r: &ContainerRecord) -> bool {
    r.state.running
        || (matches!(r.state.status, Status::Created | Status::Restarting) && monitor_alive(r))
}

/// Loads a record, turning a running container whose monitor died into a `dead` one (its
/// processes killed, its runtime state and mounts released) instead of trusting it.
pub fn load_checked(store: &ContainerStore, id: &str) -> Result<ContainerRecord> {
    let record = store.load(id)?;
    if record.strata.monitor_pid == 0 || monitor_alive(&record) {
        return Ok(record);
    }
    let (record, ()) = store.update(id, |r| {
        if r.strata.monitor_pid == 0 || monitor_alive(r) {
            return Ok(());
        }
        if init_alive(r) {
            let _ = kill_pid(r.state.pid, libc::SIGKILL);
        }
        oci::delete(&r.host_config.runtime, &r.id);
        release_held(store, r);
        let _ = std::fs::remove_dir_all(attach::socket_dir(&r.id));
        r.state.status = Status::Dead;
        r.state.running = false;
        r.state.dead = true;
        r.state.pid = 0;
        r.state.exit_code = 255;
        r.state.error = "container monitor died unexpectedly".into();
        r.state.finished_at = rfc3339_nano(Utc::now());
        r.strata.monitor_pid = 0;
        Ok(())
    })?;
    Ok(record)
}

pub fn list(store: &ContainerStore) -> Result<Vec<ContainerRecord>> {
    let mut out = Vec::new();
    for record in store.all()? {
        match load_checked(store, &record.id) {
            Ok(r) => out.push(r),
            Err(RuntimeError::NoSuchContainer(_)) => {}
            Err(e) => return Err(e),
        }
    }
    out.sort_by(|a, b| b.created.cmp(&a.created));
    Ok(out)
}

fn kill_pid(pid: i32, signal: i32) -> Result<()> {
    // SAFETY: kill has no memory-safety preconditions.
    if unsafe { libc::kill(pid, signal) } != 0 {
        return Err(RuntimeError::Other(format!(
            "kill {pid}: {}",
            std::io::Error::last_os_error()
        )));
    }
    Ok(())
}

/// The monitor started by `start`, reporting over a pipe.
pub struct StartHandle {
    sync: BufReader<File>,
}

impl StartHandle {
    fn expect(&mut self, word: &str) -> Result<()> {
        let mut line = String::new();
        self.sync
            .read_line(&mut line)
            .map_err(|e| RuntimeError::Monitor(e.to_string()))?;
        let line = line.trim_end();
        if line == word {
            return Ok(());
        }
        if let Some(rest) = line.strip_prefix("error ") {
            let (code, message) = rest.split_once(' ').unwrap_or((rest, ""));
            let code: u8 = code.parse().unwrap_or(125);
            return Err(if code == 125 {
                RuntimeError::Other(message.to_string())
            } else {
                RuntimeError::StartFailed {
                    message: message.to_string(),
                    code,
                }
            });
        }
        Err(RuntimeError::Monitor(
            "the monitor exited before the container started".into(),
        ))
    }

    /// The container exists (the process has not exec'd yet); attach now to miss nothing.
    pub fn wait_created(&mut self) -> Result<()> {
        self.expect("created")
    }

    pub fn wait_started(&mut self) -> Result<()> {
        self.expect("started")
    }
}

/// Starts a created or exited container by spawning its monitor (`exe __monitor`). With
/// `wait_attach` the monitor holds the process until a client attaches.
pub fn start(store: &ContainerStore, id: &str, wait_attach: bool) -> Result<StartHandle> {
    let record = load_checked(store, id)?;
    if record.state.running {
        return Err(RuntimeError::AlreadyRunning(id.to_string()));
    }
    let exe = std::env::current_exe().at("/proc/self/exe")?;
    let (read, write) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
        .map_err(|e| RuntimeError::Monitor(format!("pipe: {e}")))?;
    let dir = store.container_dir(id);
    let log_path = dir.join("monitor.log");
    let log = File::options()
        .create(true)
        .append(true)
        .open(&log_path)
        .at(&log_path)?;
    let mut cmd = Command::new(exe);
    cmd.arg("--root")
        .arg(store.root())
        .arg("__monitor")
        .arg(id)
        .arg("--sync-fd")
        .arg("3");
    if wait_attach {
        cmd.arg("--wait-attach");
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(log));
    let write_fd = write.as_raw_fd();
    // SAFETY: only async-signal-safe calls (dup2, fcntl) between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if write_fd == 3 {
                let flags = libc::fcntl(3, libc::F_GETFD);
                libc::fcntl(3, libc::F_SETFD, flags & !libc::FD_CLOEXEC);
            } else if libc::dup2(write_fd, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let status = cmd
        .status()
        .map_err(|e| RuntimeError::Monitor(format!("spawn monitor: {e}")))?;
    drop(write);
    if !status.success() {
        return Err(RuntimeError::Monitor(format!(
            "monitor exited with {status}"
        )));
    }
    Ok(StartHandle {
        sync: BufReader::new(File::from(read)),
    })
}

/// Sends `signal` (a name or number) to the container's main process.
pub fn kill(store: &ContainerStore, id: &str, signal: &str) -> Result<()> {
    let signo = parse_signal(signal)?;
    let record = load_checked(store, id)?;
    if record.state.status == Status::Restarting {
        return Err(RuntimeError::Other(format!(
            "Cannot kill container: {id}: Container {id} is restarting, wait until the container is running"
        )));
    }
    if !record.state.running || !init_alive(&record) {
        return Err(RuntimeError::Other(format!(
            "Cannot kill container: {id}: Container {id} is not running"
        )));
    }
    mark_manually_stopped(store, id)?;
    kill_pid(record.state.pid, signo)?;
    thaw(store, &record)
}

/// Waits until the container is no longer running, up to `timeout`; true when it stopped.
fn wait_not_running(store: &ContainerStore, id: &str, timeout: Duration) -> Result<bool> {
    let deadline = Instant::now() + timeout;
    let mut delay = Duration::from_millis(2);
    loop {
        let r = load_checked(store, id)?;
        if !is_active(&r) {
            return Ok(true);
        }
        if Instant::now() >= deadline {
            return Ok(false);
        }
        std::thread::sleep(delay);
        delay = (delay * 2).min(Duration::from_millis(50));
    }
}

/// Docker's stop: the stop signal, then SIGKILL after `timeout` seconds (default: the
/// container's StopTimeout or 10).
pub fn stop(store: &ContainerStore, id: &str, timeout: Option<i64>) -> Result<()> {
    let record = load_checked(store, id)?;
    if !is_active(&record) {
        return Ok(());
    }
    mark_manually_stopped(store, id)?;
    if !record.state.running {
        // Between two runs of its restart policy: the monitor sees the mark and gives up.
        return if wait_not_running(store, id, Duration::from_secs(30))? {
            Ok(())
        } else {
            Err(RuntimeError::Other(format!(
                "cannot stop container: {id}: timed out"
            )))
        };
    }
    let signal = record
        .config
        .stop_signal
        .clone()
        .unwrap_or_else(|| "SIGTERM".into());
    let secs = timeout.or(record.config.stop_timeout).unwrap_or(10);
    if init_alive(&record) {
        let _ = kill_pid(record.state.pid, parse_signal(&signal)?);
    }
    thaw(store, &record)?;
    if secs >= 0 && wait_not_running(store, id, Duration::from_secs(secs as u64))? {
        return Ok(());
    }
    let record = load_checked(store, id)?;
    if record.state.running && init_alive(&record) {
        let _ = kill_pid(record.state.pid, libc::SIGKILL);
    }
    if wait_not_running(store, id, Duration::from_secs(30))? {
        Ok(())
    } else {
        Err(RuntimeError::Other(format!(
            "cannot stop container: {id}: timed out"
        )))
    }
}

/// Blocks until the container exits; returns its exit code.
pub fn wait(store: &ContainerStore, id: &str) -> Result<i32> {
    loop {
        let r = load_checked(store, id)?;
        if !is_active(&r) {
            return Ok(r.state.exit_code);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Deletes the container's directory (unmounting first) and, with `volumes`, its anonymous
/// volumes.
pub fn remove_files(store: &ContainerStore, record: &ContainerRecord, volumes: bool) -> Result<()> {
    let dir = store.container_dir(&record.id);
    let dirs = RootfsDirs::new(&dir);
    if storage::is_mounted(&dirs.merged) {
        storage::release(&dirs, storage::OVERLAY)?;
    }
    let _ = std::fs::remove_dir_all(attach::socket_dir(&record.id));
    match std::fs::remove_dir_all(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(RuntimeError::io(dir, e)),
    }
    if volumes && !record.strata.anonymous_volumes.is_empty() {
        let store = VolumeStore::open(store.root())?;
        for name in &record.strata.anonymous_volumes {
            let _ = store.remove(name);
        }
    }
    Ok(())
}

/// `rm [-f] [-v]`.
pub fn remove(store: &ContainerStore, id: &str, force: bool, volumes: bool) -> Result<()> {
    let record = load_checked(store, id)?;
    if is_active(&record) {
        if !force {
            return Err(RuntimeError::RemoveRunning {
                name: record.name.trim_start_matches('/').to_string(),
            });
        }
        mark_manually_stopped(store, id)?;
        if init_alive(&record) {
            let _ = kill_pid(record.state.pid, libc::SIGKILL);
        }
        thaw(store, &record)?;
        if !wait_not_running(store, id, Duration::from_secs(30))? {
            return Err(RuntimeError::Other(format!(
                "could not kill running container {id}"
            )));
        }
    }
    let record = match store.load(id) {
        Ok(r) => r,
        // `--rm` removed it meanwhile.
        Err(RuntimeError::NoSuchContainer(_)) => return Ok(()),
        Err(e) => return Err(e),
    };
    oci::delete(&record.host_config.runtime, id);
    remove_files(store, &record, volumes)
}

/// The image IDs that containers use, as (container ID, image ID): images in use must not
/// be deleted.
pub fn image_ids_in_use(root: &Path) -> Result<Vec<(String, String)>> {
    let store = ContainerStore::open(root)?;
    Ok(store.all()?.into_iter().map(|r| (r.id, r.image)).collect())
}

/// `pause`: freezes every process of the container (the cgroup freezer).
pub fn pause(store: &ContainerStore, id: &str) -> Result<()> {
    let record = load_checked(store, id)?;
    if !record.state.running {
        return Err(RuntimeError::Other(format!(
            "Container {id} is not running"
        )));
    }
    if record.state.paused {
        return Err(RuntimeError::Other(format!(
            "Container {id} is already paused"
        )));
    }
    crate::cgroups::set_frozen(id, true)
        .map_err(|e| RuntimeError::Other(format!("cannot pause container {id}: {e}")))?;
    store.update(id, |r| {
        r.state.paused = true;
        r.state.status = Status::Paused;
        Ok(())
    })?;
    Ok(())
}

/// `unpause`: thaws the container's processes.
pub fn unpause(store: &ContainerStore, id: &str) -> Result<()> {
    let record = load_checked(store, id)?;
    if !record.state.paused {
        return Err(RuntimeError::Other(format!("Container {id} is not paused")));
    }
    thaw(store, &record)
}

/// Frozen processes cannot act on a signal: stop, kill and rm -f thaw after signalling.
fn thaw(store: &ContainerStore, record: &ContainerRecord) -> Result<()> {
    if !record.state.paused {
        return Ok(());
    }
    crate::cgroups::set_frozen(&record.id, false)
        .map_err(|e| RuntimeError::Other(format!("cannot unpause container {}: {e}", record.id)))?;
    store.update(&record.id, |r| {
        r.state.paused = false;
        if r.state.running {
            r.state.status = Status::Running;
        }
        Ok(())
    })?;
    Ok(())
}

/// At host boot (`strata system boot`, run by the shipped systemd unit): starts the
/// containers whose restart policy asks for it, as dockerd does when it starts: `always`
/// ones, `unless-stopped` ones a user did not stop, and `on-failure` ones that were running
/// when the host went down. Returns each container tried with the outcome.
pub fn start_on_boot(store: &ContainerStore) -> Result<Vec<(ContainerRecord, Result<()>)>> {
    let mut out = Vec::new();
    for before in store.all()? {
        let was_running = before.strata.monitor_pid != 0 && !monitor_alive(&before);
        let record = match load_checked(store, &before.id) {
            Ok(r) => r,
            Err(_) => continue,
        };
        if is_active(&record) {
            continue;
        }
        let wanted = match record.host_config.restart_policy.name.as_str() {
            "always" => true,
            "unless-stopped" => !record.strata.manually_stopped,
            "on-failure" => was_running,
            _ => false,
        };
        if !wanted {
            continue;
        }
        let result = start(store, &record.id, false).and_then(|mut h| {
            h.wait_created()?;
            h.wait_started()
        });
        out.push((record, result));
    }
    Ok(out)
}
