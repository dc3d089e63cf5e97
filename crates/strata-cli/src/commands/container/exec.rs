//! `exec`: a process in a running container, with the terminal relayed through a pty (`-t`)
//! or the caller's stdio passed straight through.

use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::process::ExitCode;

use clap::Args;
use strata_runtime::exec::{ExecOptions, become_subreaper, exec as start_exec, wait_exit};
use strata_runtime::libc;
use strata_runtime::oci::Stdio3;

use super::attach::{RawMode, window_size};
use super::{cli_error, engine_error, open_store};
use crate::cli::GlobalOpts;
use crate::commands::CliError;

#[derive(Args, Debug)]
pub struct ExecArgs {
    /// Detached mode: run command in the background
    #[arg(short, long)]
    pub detach: bool,
    /// Keep STDIN open even if not attached
    #[arg(short, long)]
    pub interactive: bool,
    /// Allocate a pseudo-TTY
    #[arg(short, long)]
    pub tty: bool,
    /// Set environment variables
    #[arg(short, long = "env")]
    pub env: Vec<String>,
    /// Working directory inside the container
    #[arg(short, long)]
    pub workdir: Option<String>,
    /// Username or UID (format: "<name|uid>[:<group|gid>]")
    #[arg(short, long)]
    pub user: Option<String>,
    pub container: String,
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
    pub command: Vec<String>,
}

fn dup(fd: impl AsFd) -> Result<OwnedFd, CliError> {
    fd.as_fd().try_clone_to_owned().map_err(CliError::from)
}

fn null() -> Result<OwnedFd, CliError> {
    Ok(std::fs::File::options()
        .read(true)
        .write(true)
        .open("/dev/null")?
        .into())
}

pub fn run(global: &GlobalOpts, args: ExecArgs) -> Result<ExitCode, CliError> {
    let store = open_store(global)?;
    let id = store.resolve(&args.container).map_err(cli_error)?;
    let opts = ExecOptions {
        argv: args.command.clone(),
        env: args.env.clone(),
        workdir: args.workdir.clone(),
        user: args.user.clone(),
        tty: args.tty,
        detach: args.detach,
    };
    let stdio = if args.tty || args.detach {
        Stdio3 {
            stdin: null()?,
            stdout: null()?,
            stderr: null()?,
        }
    } else {
        Stdio3 {
            stdin: if args.interactive {
                dup(std::io::stdin())?
            } else {
                null()?
            },
            stdout: dup(std::io::stdout())?,
            stderr: dup(std::io::stderr())?,
        }
    };
    become_subreaper();
    let process = start_exec(&store, &id, &opts, stdio).map_err(|e| match e {
        strata_runtime::RuntimeError::Other(m) if m.contains("is not running") => {
            CliError::new(format!("container {id} is not running"))
        }
        e => engine_error(e),
    })?;
    if args.detach {
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(master) = process.master {
        relay(&master, args.interactive);
    }
    let code = wait_exit(process.pid);
    Ok(ExitCode::from(code.clamp(0, 255) as u8))
}

/// Copies stdin to the pty and the pty to stdout until the pty closes.
fn relay(master: &OwnedFd, interactive: bool) {
    let _raw = if interactive && rustix::termios::isatty(std::io::stdin()) {
        RawMode::enable()
    } else {
        None
    };
    if let Some(size) = window_size() {
        let ws = rustix::termios::Winsize {
            ws_row: u16::from_be_bytes([size[0], size[1]]),
            ws_col: u16::from_be_bytes([size[2], size[3]]),
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        let _ = rustix::termios::tcsetwinsize(master, ws);
    }
    let mut stdin_open = interactive;
    let stdout = std::io::stdout();
    loop {
        let mut fds = [
            libc::pollfd {
                fd: master.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: if stdin_open { 0 } else { -1 },
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: valid pollfd array.
        if unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) } < 0 {
            continue;
        }
        let mut buf = [0u8; 16 * 1024];
        if fds[0].revents != 0 {
            match rustix::io::read(master, &mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    let mut out = stdout.lock();
                    let _ = out.write_all(&buf[..n]);
                    let _ = out.flush();
                }
            }
        }
        if fds[1].revents != 0 {
            // SAFETY: fd 0 is our stdin.
            let stdin = unsafe { std::os::fd::BorrowedFd::borrow_raw(0) };
            match rustix::io::read(stdin, &mut buf) {
                Ok(0) | Err(_) => stdin_open = false,
                Ok(n) => {
                    let _ = rustix::io::write(master, &buf[..n]);
                }
            }
        }
    }
}
