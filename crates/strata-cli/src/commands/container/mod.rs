//! Container commands: `run`, `create`, `start`, `stop`, `kill`, `restart`, `wait`, `rm`,
//! `ps`, `logs`, `attach`, `port`, `container inspect|prune|ls`, `volume …`, and the hidden
//! `__monitor` that each running container's monitor process is.

mod attach;
mod exec;
mod inspect;
mod logs;
mod manage;
mod misc;
mod port;
mod ps;
mod run;
mod volume;

use std::process::ExitCode;

use clap::{Args, Subcommand};
use strata_runtime::{ContainerStore, RuntimeError};

use crate::cli::GlobalOpts;
use crate::commands::CliError;

#[allow(unused_imports)]
pub use inspect::inspect_container;

/// The top-level container commands (flattened into strata's command list).
#[derive(Subcommand, Debug)]
pub enum TopLevel {
    /// Create and run a new container from an image
    #[command(disable_help_flag = true)]
    Run(run::RunArgs),
    /// Create a new container
    #[command(disable_help_flag = true)]
    Create(run::RunArgs),
    /// Start one or more stopped containers
    Start(manage::StartArgs),
    /// Stop one or more running containers
    Stop(manage::StopArgs),
    /// Kill one or more running containers
    Kill(manage::KillArgs),
    /// Restart one or more containers
    Restart(manage::StopArgs),
    /// Block until one or more containers stop, then print their exit codes
    Wait(manage::WaitArgs),
    /// Remove one or more containers
    Rm(manage::RmArgs),
    /// List containers
    Ps(ps::PsArgs),
    /// Fetch the logs of a container
    Logs(logs::LogsArgs),
    /// Attach local standard input, output, and error streams to a running container
    Attach(manage::AttachArgs),
    /// Execute a command in a running container
    Exec(exec::ExecArgs),
    /// Display the running processes of a container
    Top(misc::TopArgs),
    /// Pause all processes within one or more containers
    Pause(manage::PauseArgs),
    /// Unpause all processes within one or more containers
    Unpause(manage::PauseArgs),
    /// Copy files/folders between a container and the local filesystem
    Cp(misc::CpArgs),
    /// List port mappings or a specific mapping for the container
    Port(port::PortArgs),
    /// Manage volumes
    #[command(subcommand)]
    Volume(volume::VolumeCommand),
    /// The per-container monitor process (internal)
    #[command(name = "__monitor", hide = true)]
    Monitor(MonitorArgs),
}

/// `strata container …`.
#[derive(Subcommand, Debug)]
pub enum Group {
    #[command(disable_help_flag = true)]
    Run(run::RunArgs),
    #[command(disable_help_flag = true)]
    Create(run::RunArgs),
    Start(manage::StartArgs),
    Stop(manage::StopArgs),
    Kill(manage::KillArgs),
    Restart(manage::StopArgs),
    Wait(manage::WaitArgs),
    #[command(visible_alias = "remove")]
    Rm(manage::RmArgs),
    /// List containers
    #[command(visible_aliases = ["ps", "list"])]
    Ls(ps::PsArgs),
    Logs(logs::LogsArgs),
    Attach(manage::AttachArgs),
    Exec(exec::ExecArgs),
    Top(misc::TopArgs),
    Cp(misc::CpArgs),
    /// List port mappings or a specific mapping for the container
    Port(port::PortArgs),
    Pause(manage::PauseArgs),
    Unpause(manage::PauseArgs),
    /// Display detailed information on one or more containers
    Inspect(inspect::InspectArgs),
    /// Remove all stopped containers
    Prune(manage::PruneArgs),
    /// Inspect changes to files or directories on a container's filesystem
    Diff(crate::commands::changes::DiffArgs),
    /// Create a new image from a container's changes
    Commit(crate::commands::changes::CommitArgs),
    /// Export a container's filesystem as a tar archive
    Export(crate::commands::changes::ExportArgs),
}

#[derive(Args, Debug)]
pub struct MonitorArgs {
    pub id: String,
    #[arg(long = "sync-fd")]
    pub sync_fd: i32,
    #[arg(long = "wait-attach")]
    pub wait_attach: bool,
}

pub fn run_top(global: &GlobalOpts, cmd: TopLevel) -> Result<ExitCode, CliError> {
    match cmd {
        TopLevel::Run(a) => run::run(global, a),
        TopLevel::Create(a) => run::create(global, a),
        TopLevel::Start(a) => manage::start(global, a),
        TopLevel::Stop(a) => manage::stop(global, a),
        TopLevel::Kill(a) => manage::kill(global, a),
        TopLevel::Restart(a) => manage::restart(global, a),
        TopLevel::Wait(a) => manage::wait(global, a),
        TopLevel::Rm(a) => manage::rm(global, a),
        TopLevel::Ps(a) => ps::run(global, a),
        TopLevel::Logs(a) => logs::run(global, a),
        TopLevel::Attach(a) => manage::attach(global, a),
        TopLevel::Exec(a) => exec::run(global, a),
        TopLevel::Top(a) => misc::top(global, a),
        TopLevel::Pause(a) => manage::pause(global, a, true),
        TopLevel::Unpause(a) => manage::pause(global, a, false),
        TopLevel::Cp(a) => misc::cp(global, a),
        TopLevel::Port(a) => port::run(global, a),
        TopLevel::Volume(c) => volume::run(global, c),
        TopLevel::Monitor(a) => {
            let code = strata_runtime::monitor::run(&global.root, &a.id, a.sync_fd, a.wait_attach);
            Ok(ExitCode::from(code as u8))
        }
    }
}

pub fn run_group(global: &GlobalOpts, cmd: Group) -> Result<ExitCode, CliError> {
    match cmd {
        Group::Run(a) => run::run(global, a),
        Group::Create(a) => run::create(global, a),
        Group::Start(a) => manage::start(global, a),
        Group::Stop(a) => manage::stop(global, a),
        Group::Kill(a) => manage::kill(global, a),
        Group::Restart(a) => manage::restart(global, a),
        Group::Wait(a) => manage::wait(global, a),
        Group::Rm(a) => manage::rm(global, a),
        Group::Ls(a) => ps::run(global, a),
        Group::Logs(a) => logs::run(global, a),
        Group::Attach(a) => manage::attach(global, a),
        Group::Exec(a) => exec::run(global, a),
        Group::Top(a) => misc::top(global, a),
        Group::Pause(a) => manage::pause(global, a, true),
        Group::Unpause(a) => manage::pause(global, a, false),
        Group::Cp(a) => misc::cp(global, a),
        Group::Port(a) => port::run(global, a),
        Group::Inspect(a) => inspect::run(global, a),
        Group::Prune(a) => manage::prune(global, a),
        Group::Diff(a) => crate::commands::changes::diff(global, a),
        Group::Commit(a) => crate::commands::changes::commit(global, a),
        Group::Export(a) => crate::commands::changes::export(global, a),
    }
}

pub(crate) fn open_store(global: &GlobalOpts) -> Result<ContainerStore, CliError> {
    ContainerStore::open(&global.root).map_err(|e| CliError::new(e))
}

/// A runtime error as Docker's CLI reports it for commands that exit 1 on daemon errors.
pub(crate) fn cli_error(e: RuntimeError) -> CliError {
    CliError::new(e)
}

/// A runtime error for `run`/`create`/`start -a`: 125, or 126/127 when the process could not
/// be executed.
pub(crate) fn engine_error(e: RuntimeError) -> CliError {
    match e {
        RuntimeError::StartFailed { code, .. } => CliError::engine(e).with_exit_code(code),
        other => CliError::engine(other),
    }
}

/// The container users of images, for `rmi` and `image prune`.
pub fn image_users(global: &GlobalOpts) -> Result<Vec<(String, String, bool)>, CliError> {
    let store = open_store(global)?;
    let records = strata_runtime::lifecycle::list(&store).map_err(cli_error)?;
    Ok(records
        .into_iter()
        .map(|r| (r.id, r.image, r.state.running))
        .collect())
}
