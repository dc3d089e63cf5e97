//! `start`, `stop`, `kill`, `restart`, `wait`, `rm`, `attach`, `container prune`: each takes
//! names or IDs, prints them back as Docker does, and reports per-container errors.

use std::process::ExitCode;

use clap::Args;
use strata_runtime::lifecycle;
use strata_runtime::record::Status;

use super::{attach, cli_error, engine_error, open_store};
use crate::cli::GlobalOpts;
use crate::commands::CliError;

#[derive(Args, Debug)]
pub struct StartArgs {
    /// Attach STDOUT/STDERR and forward signals
    #[arg(short, long)]
    pub attach: bool,
    /// Attach container's STDIN
    #[arg(short, long)]
    pub interactive: bool,
    /// Override the key sequence for detaching a container
    #[arg(long = "detach-keys")]
    pub detach_keys: Option<String>,
    #[arg(required = true)]
    pub containers: Vec<String>,
}

#[derive(Args, Debug)]
pub struct StopArgs {
    /// Seconds to wait before killing the container
    #[arg(short = 't', long = "time", visible_alias = "timeout")]
    pub time: Option<i64>,
    /// Signal to send to the container
    #[arg(short, long)]
    pub signal: Option<String>,
    #[arg(required = true)]
    pub containers: Vec<String>,
}

#[derive(Args, Debug)]
pub struct KillArgs {
    /// Signal to send to the container
    #[arg(short, long, default_value = "KILL")]
    pub signal: String,
    #[arg(required = true)]
    pub containers: Vec<String>,
}

#[derive(Args, Debug)]
pub struct WaitArgs {
    #[arg(required = true)]
    pub containers: Vec<String>,
}

#[derive(Args, Debug)]
pub struct RmArgs {
    /// Force the removal of a running container (uses SIGKILL)
    #[arg(short, long)]
    pub force: bool,
    /// Remove anonymous volumes associated with the container
    #[arg(short, long)]
    pub volumes: bool,
    #[arg(required = true)]
    pub containers: Vec<String>,
}

#[derive(Args, Debug)]
pub struct AttachArgs {
    /// Do not attach STDIN
    #[arg(long = "no-stdin")]
    pub no_stdin: bool,
    /// Proxy all received signals to the process
    #[arg(long = "sig-proxy", default_value_t = true, action = clap::ArgAction::Set)]
    pub sig_proxy: bool,
    /// Override the key sequence for detaching a container
    #[arg(long = "detach-keys")]
    pub detach_keys: Option<String>,
    pub container: String,
}

#[derive(Args, Debug)]
pub struct PruneArgs {
    /// Do not prompt for confirmation
    #[arg(short, long)]
    pub force: bool,
}

/// Runs `action` on each container, printing the name as given on success and the error on
/// stderr otherwise; exits 1 if any failed, like Docker.
fn each(
    names: &[String],
    mut action: impl FnMut(&str) -> Result<(), CliError>,
) -> Result<ExitCode, CliError> {
    each_printing(names, |name| action(name).map(|()| name.to_string()))
}

/// `each`, printing what `action` returns instead of the name (`wait` prints exit codes).
fn each_printing(
    names: &[String],
    mut action: impl FnMut(&str) -> Result<String, CliError>,
) -> Result<ExitCode, CliError> {
    let mut failed = false;
    for name in names {
        match action(name) {
            Ok(line) => println!("{line}"),
            Err(e) => {
                eprintln!("Error: {e}");
                failed = true;
            }
        }
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

pub fn start(global: &GlobalOpts, args: StartArgs) -> Result<ExitCode, CliError> {
    let store = open_store(global)?;
    if args.attach || args.interactive {
        if args.containers.len() > 1 {
            return Err(CliError::new(
                "you cannot start and attach multiple containers at once",
            ));
        }
        let id = store.resolve(&args.containers[0]).map_err(cli_error)?;
        let record = lifecycle::load_checked(&store, &id).map_err(cli_error)?;
        let mut handle = lifecycle::start(&store, &id, true).map_err(engine_error)?;
        handle.wait_created().map_err(engine_error)?;
        let session = attach::Session::connect(
            &store,
            &id,
            attach::Options {
                stdout: true,
                stderr: true,
                stdin: args.interactive && record.config.open_stdin,
                tty: record.config.tty,
                detach_keys: args.detach_keys,
                sig_proxy: !record.config.tty,
            },
        )?;
        handle.wait_started().map_err(engine_error)?;
        return session.run();
    }
    each(&args.containers, |name| {
        let id = store.resolve(name).map_err(cli_error)?;
        let record = lifecycle::load_checked(&store, &id).map_err(cli_error)?;
        if record.state.running {
            return Ok(());
        }
        let mut handle = lifecycle::start(&store, &id, false).map_err(cli_error)?;
        handle.wait_created().map_err(cli_error)?;
        handle.wait_started().map_err(cli_error)
    })
}

pub fn stop(global: &GlobalOpts, args: StopArgs) -> Result<ExitCode, CliError> {
    let store = open_store(global)?;
    each(&args.containers, |name| {
        let id = store.resolve(name).map_err(cli_error)?;
        if let Some(signal) = &args.signal {
            store
                .update(&id, |r| {
                    r.config.stop_signal = Some(signal.clone());
                    Ok(())
                })
                .map_err(cli_error)?;
        }
        lifecycle::stop(&store, &id, args.time).map_err(cli_error)
    })
}

pub fn restart(global: &GlobalOpts, args: StopArgs) -> Result<ExitCode, CliError> {
    let store = open_store(global)?;
    each(&args.containers, |name| {
        let id = store.resolve(name).map_err(cli_error)?;
        lifecycle::stop(&store, &id, args.time).map_err(cli_error)?;
        let mut handle = lifecycle::start(&store, &id, false).map_err(cli_error)?;
        handle.wait_created().map_err(cli_error)?;
        handle.wait_started().map_err(cli_error)
    })
}

pub fn kill(global: &GlobalOpts, args: KillArgs) -> Result<ExitCode, CliError> {
    let store = open_store(global)?;
    each(&args.containers, |name| {
        let id = store.resolve(name).map_err(cli_error)?;
        lifecycle::kill(&store, &id, &args.signal).map_err(|e| match e {
            strata_runtime::RuntimeError::Other(m) if m.starts_with("Cannot kill") => {
                CliError::new(m.replacen(&id, name, 1))
            }
            e => cli_error(e),
        })
    })
}

pub fn wait(global: &GlobalOpts, args: WaitArgs) -> Result<ExitCode, CliError> {
    let store = open_store(global)?;
    each_printing(&args.containers, |name| {
        store
            .resolve(name)
            .and_then(|id| lifecycle::wait(&store, &id))
            .map(|code| code.to_string())
            .map_err(cli_error)
    })
}

pub fn rm(global: &GlobalOpts, args: RmArgs) -> Result<ExitCode, CliError> {
    let store = open_store(global)?;
    each(&args.containers, |name| {
        let id = store.resolve(name).map_err(cli_error)?;
        lifecycle::remove(&store, &id, args.force, args.volumes).map_err(cli_error)
    })
}

pub fn attach(global: &GlobalOpts, args: AttachArgs) -> Result<ExitCode, CliError> {
    let store = open_store(global)?;
    let id = store.resolve(&args.container).map_err(cli_error)?;
    let record = lifecycle::load_checked(&store, &id).map_err(cli_error)?;
    if !record.state.running {
        return Err(CliError::new(
            "You cannot attach to a stopped container, start it first",
        ));
    }
    let session = attach::Session::connect(
        &store,
        &id,
        attach::Options {
            stdout: true,
            stderr: true,
            stdin: !args.no_stdin && record.config.open_stdin,
            tty: record.config.tty,
            detach_keys: args.detach_keys,
            sig_proxy: args.sig_proxy && !record.config.tty,
        },
    )?;
    session.run()
}

pub fn prune(global: &GlobalOpts, args: PruneArgs) -> Result<ExitCode, CliError> {
    if !args.force {
        return Err(CliError::new(
            "WARNING! This will remove all stopped containers. Pass -f/--force: strata does not prompt",
        ));
    }
    let store = open_store(global)?;
    let mut deleted = Vec::new();
    for record in lifecycle::list(&store).map_err(cli_error)? {
        if matches!(
            record.state.status,
            Status::Exited | Status::Created | Status::Dead
        ) {
            lifecycle::remove(&store, &record.id, false, false).map_err(cli_error)?;
            deleted.push(record.id);
        }
    }
    if !deleted.is_empty() {
        println!("Deleted Containers:");
        for id in &deleted {
            println!("{id}");
        }
        println!();
    }
    println!("Total reclaimed space: 0B");
    Ok(ExitCode::SUCCESS)
}

#[derive(Args, Debug)]
pub struct PauseArgs {
    #[arg(required = true)]
    pub containers: Vec<String>,
}

pub fn pause(global: &GlobalOpts, args: PauseArgs, freeze: bool) -> Result<ExitCode, CliError> {
    let store = open_store(global)?;
    each(&args.containers, |name| {
        let id = store.resolve(name).map_err(cli_error)?;
        if freeze {
            lifecycle::pause(&store, &id).map_err(cli_error)
        } else {
            lifecycle::unpause(&store, &id).map_err(cli_error)
        }
    })
}
