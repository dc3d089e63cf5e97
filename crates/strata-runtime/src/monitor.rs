//! The per-container monitor (Podman's conmon, in-process): the strata binary re-executed,
//! forked once more and setsid'd so it outlives the command that started it. It is the
//! child subreaper of the container's init, holds the pty or pipes, writes the json-file log,
//! serves attach clients, and records the exit in the container's state on disk.
//! It stays single-threaded: the embedded runtime forks from it.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::Utc;

use crate::attach::{self, drain_frames, encode};
use crate::error::{IoContext, Result, RuntimeError};
use crate::logs::{self, LineSplitter};
use crate::oci::{self, CreateRequest, Stdio3};
use crate::record::Status;
use crate::store::ContainerStore;
use crate::{bundle, cgroups, lifecycle, network, procinfo};

/// Runs the monitor for container `id`. Returns only in the short-lived first process; the
/// forked monitor exits the process itself.
pub fn run(root: &Path, id: &str, sync_fd: RawFd, wait_attach: bool) -> i32 {
    // SAFETY: the CLI has not started threads at this point (see the module comment).
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return 125;
    }
    if pid > 0 {
        return 0;
    }
    let _ = rustix::process::setsid();
    // SAFETY: plain prctl with integer arguments.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    let _ = std::env::set_current_dir("/");
    // SAFETY: the fd was handed to us by the parent for exactly this use.
    let mut sync = unsafe { File::from_raw_fd(sync_fd) };
    // The runtime logs from the container's init too, after its stdio became the container's:
    // send every log line of this process and its forks to the monitor log instead.
    let _log_guard = File::options()
        .create(true)
        .append(true)
        .open(
            ContainerStore::open(root)
                .map(|s| s.container_dir(id).join("monitor.log"))
                .unwrap_or_default(),
        )
        .ok()
        .map(|file| {
            let subscriber = tracing_subscriber::fmt()
                .with_writer(std::sync::Mutex::new(file))
                .with_ansi(false)
                .with_max_level(tracing::Level::WARN)
                .finish();
            tracing::subscriber::set_default(subscriber)
        });
    let code = match Monitor::setup(root, id, &mut sync, wait_attach) {
        Ok(monitor) => {
            drop(sync);
            supervise(root, id, monitor);
            0
        }
        Err((code, message)) => {
            let _ = writeln!(sync, "error {code} {}", message.replace('\n', " "));
            1
        }
    };
    std::process::exit(code)
}

/// Runs the container until it exits for good: its restart policy may start it again, after
/// Docker's back-off (100 ms doubling to a minute, reset after ten seconds of running).
fn supervise(root: &Path, id: &str, mut monitor: Monitor) {
    let mut delay = Duration::from_millis(100);
    loop {
        let started = Instant::now();
        monitor.run_loop();
        if !monitor.finish() {
            return;
        }
        drop(monitor);
        if started.elapsed() > Duration::from_secs(10) {
            delay = Duration::from_millis(100);
        }
        if !wait_restart(root, id, delay) {
            return;
        }
        delay = (delay * 2).min(Duration::from_secs(60));
        let Ok(mut sink) = File::options().write(true).open("/dev/null") else {
            return;
        };
        monitor = match Monitor::setup(root, id, &mut sink, false) {
            Ok(m) => m,
            Err(_) => return,
        };
    }
}

/// Sleeps `delay` unless a user stops the container meanwhile; false when they did.
fn wait_restart(root: &Path, id: &str, delay: Duration) -> bool {
    let Ok(store) = ContainerStore::open(root) else {
        return false;
    };
    let deadline = Instant::now() + delay;
    loop {
        match store.load(id) {
            Ok(r) if r.strata.manually_stopped => {
                let _ = lifecycle::record_restart_abandoned(&store, id);
                return false;
            }
            Ok(_) => {}
            Err(_) => return false,
        }
        let now = Instant::now();
        if now >= deadline {
            return true;
        }
        std::thread::sleep((deadline - now).min(Duration::from_millis(50)));
    }
}

struct Client {
    stream: UnixStream,
    buf: Vec<u8>,
}

struct Monitor {
    store: ContainerStore,
    id: String,
    dir: PathBuf,
    runtime: String,
    stdout: Option<OwnedFd>,
    stderr: Option<OwnedFd>,
    stdin: Option<OwnedFd>,
    tty: bool,
    listener: UnixListener,
    clients: Vec<Client>,
    log: File,
    out_split: LineSplitter,
    err_split: LineSplitter,
    init_pid: i32,
    exit_code: Option<i32>,
    exited_at: Option<Instant>,
    /// Host ports held for the container's published ports while it runs.
    _ports: Option<strata_network::ports::Reservation>,
}

fn pipe() -> Result<(OwnedFd, OwnedFd)> {
    rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
        .map_err(|e| RuntimeError::Monitor(format!("pipe: {e}")))
}

fn set_nonblocking(fd: &OwnedFd) {
    if let Ok(flags) = rustix::fs::fcntl_getfl(fd) {
        let _ = rustix::fs::fcntl_setfl(fd, flags | rustix::fs::OFlags::NONBLOCK);
    }
}

fn dev_null() -> Result<OwnedFd> {
    Ok(File::options()
        .read(true)
        .write(true)
        .open("/dev/null")
        .at("/dev/null")?
        .into())
}

/// Receives the pty master that the runtime sends over the console socket.
pub fn receive_master(listener: &UnixListener) -> Result<OwnedFd> {
    use rustix::net::{RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, recvmsg};
    let (stream, _) = listener
        .accept()
        .map_err(|e| RuntimeError::Monitor(format!("console socket: {e}")))?;
    let mut space = [std::mem::MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let mut buf = [0u8; 4096];
    recvmsg(
        &stream,
        &mut [std::io::IoSliceMut::new(&mut buf)],
        &mut control,
        RecvFlags::empty(),
    )
    .map_err(|e| RuntimeError::Monitor(format!("console socket recvmsg: {e}")))?;
    for message in control.drain() {
        if let RecvAncillaryMessage::ScmRights(mut fds) = message
            && let Some(fd) = fds.next()
        {
            return Ok(fd);
        }
    }
    Err(RuntimeError::Monitor(
        "the runtime sent no pty master".into(),
    ))
}

fn error_code(e: &RuntimeError) -> u8 {
    match e {
        RuntimeError::StartFailed { code, .. } => *code,
        _ => 125,
    }
}

impl Monitor {
    fn setup(
        root: &Path,
        id: &str,
        sync: &mut File,
        wait_attach: bool,
    ) -> std::result::Result<Monitor, (u8, String)> {
        let store = ContainerStore::open(root).map_err(|e| (125, e.to_string()))?;
        let dir = store.container_dir(id);
        let fail_store = store.clone();
        let fail = |e: RuntimeError| {
            let code = error_code(&e);
            let message = match e {
                RuntimeError::StartFailed { message, .. } => message,
                other => other.to_string(),
            };
            lifecycle::record_start_failure(&fail_store, id, i32::from(code), &message);
            (code, message)
        };
        let monitor_pid = std::process::id() as i32;
        let (record, (bundle_dir, ports)) = store
            .update(id, |r| {
                r.strata.monitor_pid = monitor_pid;
                r.strata.monitor_start_time = procinfo::start_time(monitor_pid).unwrap_or(0);
                r.strata.manually_stopped = false;
                r.state.error.clear();
                let dir = store.container_dir(id);
                if r.host_config.userns_mode == "auto" {
                    crate::userns::create(
                        &crate::userns::path_for(id),
                        crate::userns::IdRange::for_host(),
                    )?;
                }
                let ports = network::join(&store, r)?;
                match bundle::prepare(root, &dir, r) {
                    Ok(bundle) => Ok((bundle, ports)),
                    Err(e) => {
                        network::leave(&store, r);
                        Err(e)
                    }
                }
            })
            .map_err(fail)?;
        let runtime = record.host_config.runtime.clone();
        let socket_dir = attach::socket_dir(id);
        std::fs::create_dir_all(&socket_dir).map_err(|e| fail(RuntimeError::io(&socket_dir, e)))?;
        let tty = record.config.tty;
        let console_path = attach::console_socket(id);
        let _ = std::fs::remove_file(&console_path);
        let console = if tty {
            Some(
                UnixListener::bind(&console_path)
                    .map_err(|e| fail(RuntimeError::io(&console_path, e)))?,
            )
        } else {
            None
        };
        let (stdio, ours) = Self::make_stdio(tty, record.strata.stdin_open).map_err(fail)?;
        let log_file = dir.join("runtime.log");
        let pid_file = dir.join("init.pid");
        // The container's init is forked from here: it gets default signal dispositions.
        crate::signals::reset_dispositions();
        let created = oci::create(CreateRequest {
            runtime: &runtime,
            id,
            bundle: &bundle_dir,
            pid_file: &pid_file,
            console_socket: console.as_ref().map(|_| console_path.as_path()),
            stdio,
            log_file: &log_file,
        });
        crate::signals::ignore_sigpipe();
        let init_pid = match created {
            Ok(pid) => pid,
            Err(e) => {
                oci::delete(&runtime, id);
                let _ = std::fs::remove_dir_all(&socket_dir);
                return Err(fail(e));
            }
        };
        let (stdin, stdout, stderr) = match (console, ours) {
            (Some(console), _) => {
                let master = receive_master(&console).map_err(fail)?;
                let _ = std::fs::remove_file(&console_path);
                let copy = master
                    .try_clone()
                    .map_err(|e| fail(RuntimeError::io("pty", e)))?;
                (Some(copy), Some(master), None)
            }
            (None, (stdin, stdout, stderr)) => (stdin, Some(stdout), Some(stderr)),
        };
        for fd in [&stdout, &stderr].into_iter().flatten() {
            set_nonblocking(fd);
        }
        let attach_path = attach::attach_socket(id);
        let _ = std::fs::remove_file(&attach_path);
        let listener = UnixListener::bind(&attach_path)
            .map_err(|e| fail(RuntimeError::io(&attach_path, e)))?;
        let log_path = logs::log_path(&dir, id);
        let log = File::options()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| fail(RuntimeError::io(&log_path, e)))?;
        let mut monitor = Monitor {
            store,
            id: id.to_string(),
            dir,
            runtime,
            stdout,
            stderr,
            stdin,
            tty,
            listener,
            clients: Vec::new(),
            log,
            out_split: LineSplitter::new("stdout"),
            err_split: LineSplitter::new("stderr"),
            init_pid,
            exit_code: None,
            exited_at: None,
            _ports: ports,
        };
        let _ = writeln!(sync, "created");
        if wait_attach {
            monitor.accept_first_client(Duration::from_secs(30));
        }
        let started_at = logs::rfc3339_nano(Utc::now());
        if let Err(e) = oci::start(&monitor.runtime, id, &log_file) {
            let _ = rustix::process::kill_process(
                rustix::process::Pid::from_raw(init_pid)
                    .ok_or_else(|| fail(RuntimeError::Monitor("bad pid".into())))?,
                rustix::process::Signal::KILL,
            );
            oci::delete(&monitor.runtime, id);
            let _ = std::fs::remove_dir_all(&socket_dir);
            return Err(fail(e));
        }
        let init_start = procinfo::start_time(init_pid).unwrap_or(0);
        monitor
            .store
            .update(id, |r| {
                r.state.status = Status::Running;
                r.state.running = true;
                r.state.pid = init_pid;
                r.state.started_at = started_at;
                r.state.finished_at = crate::record::ZERO_TIME.to_string();
                r.state.exit_code = 0;
                r.state.oom_killed = false;
                r.strata.init_start_time = init_start;
                Ok(())
            })
            .map_err(fail)?;
        let _ = writeln!(sync, "started");
        Ok(monitor)
    }

    #[allow(clippy::type_complexity)]
    fn make_stdio(
        tty: bool,
        stdin_open: bool,
    ) -> Result<(Stdio3, (Option<OwnedFd>, OwnedFd, OwnedFd))> {
        if tty {
            let stdio = Stdio3 {
                stdin: dev_null()?,
                stdout: dev_null()?,
                stderr: dev_null()?,
            };
            return Ok((stdio, (None, dev_null()?, dev_null()?)));
        }
        let (out_r, out_w) = pipe()?;
        let (err_r, err_w) = pipe()?;
        let (stdin_child, stdin_ours) = if stdin_open {
            let (r, w) = pipe()?;
            (r, Some(w))
        } else {
            (dev_null()?, None)
        };
        Ok((
            Stdio3 {
                stdin: stdin_child,
                stdout: out_w,
                stderr: err_w,
            },
            (stdin_ours, out_r, err_r),
        ))
    }

    fn accept_first_client(&mut self, timeout: Duration) {
        let mut fds = [libc::pollfd {
            fd: self.listener.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        }];
        // SAFETY: one valid pollfd.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), 1, timeout.as_millis() as i32) };
        if n > 0 {
            self.accept();
        }
    }

    fn accept(&mut self) {
        if let Ok((stream, _)) = self.listener.accept() {
            let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
            self.clients.push(Client {
                stream,
                buf: Vec::new(),
            });
        }
    }

    fn broadcast(&mut self, kind: u8, payload: &[u8]) {
        let frame = encode(kind, payload);
        self.clients
            .retain_mut(|c| c.stream.write_all(&frame).is_ok());
    }

    /// Reads what is available on a container output; false at end of stream.
    fn pump(&mut self, stderr: bool) -> bool {
        let fd = if stderr { &self.stderr } else { &self.stdout };
        let Some(fd) = fd else { return false };
        let mut buf = [0u8; 32 * 1024];
        // SAFETY: reading into a local buffer of the given size from an fd we own.
        let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 {
            let err = std::io::Error::last_os_error();
            return err.kind() == std::io::ErrorKind::WouldBlock
                || err.kind() == std::io::ErrorKind::Interrupted;
        }
        if n == 0 {
            return false;
        }
        let data = &buf[..n as usize];
        let splitter = if stderr {
            &mut self.err_split
        } else {
            &mut self.out_split
        };
        let _ = splitter.push(data, &mut self.log);
        self.broadcast(
            if stderr {
                attach::STDERR
            } else {
                attach::STDOUT
            },
            data,
        );
        true
    }

    fn handle_client_input(&mut self, index: usize) {
        let mut buf = [0u8; 16 * 1024];
        let n = match self.clients[index].stream.read(&mut buf) {
            Ok(0) | Err(_) => {
                self.clients.remove(index);
                return;
            }
            Ok(n) => n,
        };
        self.clients[index].buf.extend_from_slice(&buf[..n]);
        let frames = drain_frames(&mut self.clients[index].buf);
        for (kind, payload) in frames {
            match kind {
                attach::STDIN => {
                    if let Some(fd) = &self.stdin
                        && !write_all_fd(fd, &payload)
                    {
                        self.stdin = None;
                    }
                }
                attach::RESIZE if payload.len() == 4 => {
                    if let Some(master) = self.stdout.as_ref().filter(|_| self.tty) {
                        let size = rustix::termios::Winsize {
                            ws_row: u16::from_be_bytes([payload[0], payload[1]]),
                            ws_col: u16::from_be_bytes([payload[2], payload[3]]),
                            ws_xpixel: 0,
                            ws_ypixel: 0,
                        };
                        let _ = rustix::termios::tcsetwinsize(master, size);
                    }
                }
                attach::STDIN_EOF if !self.tty => self.stdin = None,
                _ => {}
            }
        }
    }

    fn reap(&mut self) {
        loop {
            let mut status = 0;
            // SAFETY: waitpid with a valid status pointer.
            let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
            if pid <= 0 {
                break;
            }
            if pid == self.init_pid {
                let code = if libc::WIFEXITED(status) {
                    libc::WEXITSTATUS(status)
                } else if libc::WIFSIGNALED(status) {
                    128 + libc::WTERMSIG(status)
                } else {
                    continue;
                };
                self.exit_code = Some(code);
                self.exited_at = Some(Instant::now());
            }
        }
    }

    fn run_loop(&mut self) {
        let pidfd = rustix::process::Pid::from_raw(self.init_pid).and_then(|p| {
            rustix::process::pidfd_open(p, rustix::process::PidfdFlags::empty()).ok()
        });
        loop {
            self.reap();
            let outputs_open = self.stdout.is_some() || self.stderr.is_some();
            if let Some(at) = self.exited_at
                && (!outputs_open || at.elapsed() > Duration::from_secs(2))
            {
                break;
            }
            let mut fds = Vec::new();
            let push = |fds: &mut Vec<libc::pollfd>, fd: RawFd| {
                fds.push(libc::pollfd {
                    fd,
                    events: libc::POLLIN,
                    revents: 0,
                })
            };
            push(&mut fds, pidfd.as_ref().map_or(-1, |p| p.as_raw_fd()));
            push(&mut fds, self.stdout.as_ref().map_or(-1, |f| f.as_raw_fd()));
            push(&mut fds, self.stderr.as_ref().map_or(-1, |f| f.as_raw_fd()));
            push(&mut fds, self.listener.as_raw_fd());
            for c in &self.clients {
                push(&mut fds, c.stream.as_raw_fd());
            }
            let timeout = if self.exited_at.is_some() { 50 } else { 1000 };
            // SAFETY: fds is a valid array of pollfd of the given length.
            let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout) };
            if n <= 0 {
                continue;
            }
            let ready = |i: usize| fds[i].revents != 0;
            // Clients first, last to first: dropping one must not shift the others' indexes,
            // and output or accepts below change the client list.
            let polled_clients = fds.len() - 4;
            let client_ready: Vec<usize> = (0..polled_clients).filter(|i| ready(4 + i)).collect();
            let (out_ready, err_ready, accept_ready) = (ready(1), ready(2), ready(3));
            for i in client_ready.into_iter().rev() {
                self.handle_client_input(i);
            }
            if out_ready && !self.pump(false) {
                let _ = self.out_split.flush(&mut self.log);
                self.stdout = None;
            }
            if err_ready && !self.pump(true) {
                let _ = self.err_split.flush(&mut self.log);
                self.stderr = None;
            }
            if accept_ready {
                self.accept();
            }
        }
        let _ = self.out_split.flush(&mut self.log);
        let _ = self.err_split.flush(&mut self.log);
    }

    /// Records the exit; true when the restart policy wants the container started again.
    fn finish(&mut self) -> bool {
        let code = self.exit_code.unwrap_or(255);
        let oom = cgroups::oom_kills(&self.id) > 0;
        oci::delete(&self.runtime, &self.id);
        let finished = lifecycle::record_exit(&self.store, &self.id, code, oom);
        let restarting = matches!(&finished, Ok(r) if r.state.restarting);
        // `--rm` removes before telling the client, so `run --rm` returns with nothing left.
        if let Ok(record) = finished
            && record.host_config.auto_remove
        {
            let _ = lifecycle::remove_files(&self.store, &record, true);
        }
        self.broadcast(attach::EXIT, &code.to_be_bytes());
        let _ = std::fs::remove_dir_all(attach::socket_dir(&self.id));
        let _ = &self.dir;
        restarting
    }
}

/// Writes all of `data`, waiting out a full non-blocking pty; false when the reader is gone.
fn write_all_fd(fd: &OwnedFd, mut data: &[u8]) -> bool {
    while !data.is_empty() {
        match rustix::io::write(fd, data) {
            Ok(n) => data = &data[n..],
            Err(rustix::io::Errno::AGAIN) | Err(rustix::io::Errno::INTR) => {
                std::thread::sleep(Duration::from_millis(5))
            }
            Err(_) => return false,
        }
    }
    true
}
