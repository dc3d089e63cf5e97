//! The client side of attach: the terminal in raw mode (with `-t`), stdin to the container,
//! its output to ours, window size changes, signal forwarding and Docker's detach keys.

use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::process::ExitCode;
use std::sync::atomic::{AtomicI32, Ordering};

use strata_runtime::attach::{self as proto, drain_frames};
use strata_runtime::libc;
use strata_runtime::{ContainerStore, lifecycle};

use crate::commands::CliError;

pub struct Options {
    pub stdin: bool,
    /// Show the container's stdout / stderr (`run -a` can leave one out).
    pub stdout: bool,
    pub stderr: bool,
    pub tty: bool,
    pub detach_keys: Option<String>,
    pub sig_proxy: bool,
}

pub struct Session {
    store: ContainerStore,
    id: String,
    stream: UnixStream,
    opts: Options,
}

/// The write end of the self-pipe signal handlers write to.
static SIGNAL_PIPE: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_signal(signo: libc::c_int) {
    let fd = SIGNAL_PIPE.load(Ordering::Relaxed);
    if fd >= 0 {
        let byte = signo as u8;
        // SAFETY: write(2) is async-signal-safe; one byte from a valid local.
        unsafe { libc::write(fd, (&byte as *const u8).cast(), 1) };
    }
}

fn install_handlers(signals: &[libc::c_int]) -> Option<std::os::fd::OwnedFd> {
    let (read, write) = rustix::pipe::pipe_with(
        rustix::pipe::PipeFlags::CLOEXEC | rustix::pipe::PipeFlags::NONBLOCK,
    )
    .ok()?;
    SIGNAL_PIPE.store(write.as_raw_fd(), Ordering::Relaxed);
    std::mem::forget(write);
    for &s in signals {
        // SAFETY: installing a handler that only calls write(2).
        unsafe { libc::signal(s, on_signal as *const () as libc::sighandler_t) };
    }
    Some(read)
}

/// Docker's `--detach-keys` syntax: `ctrl-p,ctrl-q`, letters, `ctrl-@` … `ctrl-_`.
pub fn parse_detach_keys(spec: &str) -> Result<Vec<u8>, CliError> {
    let mut out = Vec::new();
    for key in spec.split(',') {
        let lower = key.to_ascii_lowercase();
        if let Some(c) = lower.strip_prefix("ctrl-") {
            let b = c.as_bytes();
            if b.len() != 1 {
                return Err(CliError::new(format!("Unknown character: '{key}'")));
            }
            let code = match b[0] {
                b'a'..=b'z' => b[0] - b'a' + 1,
                b'@' => 0,
                b'[' => 27,
                b'\\' => 28,
                b']' => 29,
                b'^' => 30,
                b'_' => 31,
                _ => return Err(CliError::new(format!("Unknown character: '{key}'"))),
            };
            out.push(code);
        } else if key.len() == 1 {
            out.push(key.as_bytes()[0]);
        } else {
            return Err(CliError::new(format!("Unknown character: '{key}'")));
        }
    }
    Ok(out)
}

/// Restores the terminal's mode when dropped.
pub(crate) struct RawMode {
    saved: rustix::termios::Termios,
}

impl RawMode {
    pub(crate) fn enable() -> Option<RawMode> {
        let stdin = std::io::stdin();
        let saved = rustix::termios::tcgetattr(stdin.as_fd()).ok()?;
        let mut raw = saved.clone();
        raw.make_raw();
        rustix::termios::tcsetattr(stdin.as_fd(), rustix::termios::OptionalActions::Now, &raw)
            .ok()?;
        Some(RawMode { saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let stdin = std::io::stdin();
        let _ = rustix::termios::tcsetattr(
            stdin.as_fd(),
            rustix::termios::OptionalActions::Now,
            &self.saved,
        );
    }
}

pub(crate) fn window_size() -> Option<[u8; 4]> {
    let stdout = std::io::stdout();
    let ws = rustix::termios::tcgetwinsize(stdout.as_fd()).ok()?;
    let mut out = [0u8; 4];
    out[..2].copy_from_slice(&ws.ws_row.to_be_bytes());
    out[2..].copy_from_slice(&ws.ws_col.to_be_bytes());
    Some(out)
}

impl Session {
    pub fn connect(store: &ContainerStore, id: &str, opts: Options) -> Result<Session, CliError> {
        let path = proto::attach_socket(id);
        let stream = UnixStream::connect(&path)
            .map_err(|e| CliError::new(format!("cannot attach to container {id}: {e}")))?;
        Ok(Session {
            store: store.clone(),
            id: id.to_string(),
            stream,
            opts,
        })
    }

    /// Relays until the container exits (its exit code) or the user detaches (0).
    pub fn run(mut self) -> Result<ExitCode, CliError> {
        let detach_keys =
            parse_detach_keys(self.opts.detach_keys.as_deref().unwrap_or("ctrl-p,ctrl-q"))?;
        let stdin_is_tty = rustix::termios::isatty(std::io::stdin());
        let _raw = if self.opts.tty && stdin_is_tty {
            RawMode::enable()
        } else {
            None
        };
        let mut signals = vec![libc::SIGWINCH];
        if self.opts.sig_proxy {
            signals.extend([
                libc::SIGINT,
                libc::SIGTERM,
                libc::SIGHUP,
                libc::SIGQUIT,
                libc::SIGUSR1,
                libc::SIGUSR2,
            ]);
        }
        let signal_pipe = install_handlers(&signals);
        if self.opts.tty
            && let Some(size) = window_size()
        {
            let _ = proto::write_frame(&mut self.stream, proto::RESIZE, &size);
        }
        let mut stdin_open = self.opts.stdin;
        let mut matched = 0usize;
        let mut inbuf = Vec::new();
        let stdout = std::io::stdout();
        let stderr = std::io::stderr();
        loop {
            let mut fds = vec![libc::pollfd {
                fd: self.stream.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            }];
            fds.push(libc::pollfd {
                fd: if stdin_open { 0 } else { -1 },
                events: libc::POLLIN,
                revents: 0,
            });
            fds.push(libc::pollfd {
                fd: signal_pipe.as_ref().map_or(-1, |p| p.as_raw_fd()),
                events: libc::POLLIN,
                revents: 0,
            });
            // SAFETY: valid array of pollfd.
            let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, -1) };
            if n < 0 {
                continue;
            }
            if fds[2].revents != 0
                && let Some(pipe) = &signal_pipe
            {
                let mut buf = [0u8; 16];
                let got = rustix::io::read(pipe, &mut buf).unwrap_or(0);
                for &s in &buf[..got] {
                    if i32::from(s) == libc::SIGWINCH {
                        if let Some(size) = window_size() {
                            let _ = proto::write_frame(&mut self.stream, proto::RESIZE, &size);
                        }
                    } else {
                        let _ = lifecycle::kill(&self.store, &self.id, &s.to_string());
                    }
                }
            }
            if fds[1].revents != 0 {
                let mut buf = [0u8; 8192];
                // SAFETY: fd 0 is our stdin.
                let stdin_fd = unsafe { BorrowedFd::borrow_raw(0) };
                match rustix::io::read(stdin_fd, &mut buf) {
                    Ok(0) | Err(_) => {
                        stdin_open = false;
                        let _ = proto::write_frame(&mut self.stream, proto::STDIN_EOF, &[]);
                    }
                    Ok(got) => {
                        let mut data = Vec::with_capacity(got);
                        for &b in &buf[..got] {
                            if self.opts.tty && !detach_keys.is_empty() && b == detach_keys[matched]
                            {
                                matched += 1;
                                if matched == detach_keys.len() {
                                    return Ok(ExitCode::SUCCESS);
                                }
                                continue;
                            }
                            if matched > 0 {
                                data.extend_from_slice(&detach_keys[..matched]);
                                matched = 0;
                            }
                            data.push(b);
                        }
                        if !data.is_empty() {
                            let _ = proto::write_frame(&mut self.stream, proto::STDIN, &data);
                        }
                    }
                }
            }
            if fds[0].revents != 0 {
                let mut buf = [0u8; 32 * 1024];
                let got = self.stream.read(&mut buf).unwrap_or(0);
                if got == 0 {
                    return self.lost_monitor();
                }
                inbuf.extend_from_slice(&buf[..got]);
                for (kind, payload) in drain_frames(&mut inbuf) {
                    match kind {
                        proto::STDOUT if self.opts.stdout => {
                            let mut out = stdout.lock();
                            let _ = out.write_all(&payload);
                            let _ = out.flush();
                        }
                        proto::STDERR if self.opts.stderr => {
                            let mut err = stderr.lock();
                            let _ = err.write_all(&payload);
                            let _ = err.flush();
                        }
                        proto::EXIT if payload.len() == 4 => {
                            let code = i32::from_be_bytes([
                                payload[0], payload[1], payload[2], payload[3],
                            ]);
                            return Ok(ExitCode::from(code.clamp(0, 255) as u8));
                        }
                        _ => {}
                    }
                }
            }
        }
    }

    /// The monitor closed the connection without an exit frame: read what the state says.
    fn lost_monitor(&self) -> Result<ExitCode, CliError> {
        match lifecycle::load_checked(&self.store, &self.id) {
            Ok(r) if !r.state.running && r.state.status != strata_runtime::record::Status::Dead => {
                Ok(ExitCode::from(r.state.exit_code.clamp(0, 255) as u8))
            }
            Ok(r) if r.state.status == strata_runtime::record::Status::Dead => Err(
                CliError::engine(format!("container {}: {}", &self.id[..12], r.state.error)),
            ),
            // Removed by --rm after the exit frame was lost.
            Err(strata_runtime::RuntimeError::NoSuchContainer(_)) => Ok(ExitCode::SUCCESS),
            _ => Err(CliError::engine(format!(
                "lost the connection to the monitor of container {}",
                &self.id[..12]
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detach_key_syntax() {
        assert_eq!(parse_detach_keys("ctrl-p,ctrl-q").unwrap(), vec![16, 17]);
        assert_eq!(parse_detach_keys("a,ctrl-_").unwrap(), vec![b'a', 31]);
        assert!(parse_detach_keys("ctrl-pp").is_err());
    }
}
