//! One module per command family. Each command returns an exit code or a `CliError`.

use std::process::ExitCode;

use crate::cli::{Cli, Command, GlobalOpts};

mod error;
pub mod image;
mod inspect;
pub mod system;
pub mod version;

pub use error::CliError;

pub fn dispatch(cli: Cli) -> Result<ExitCode, CliError> {
    let g = &cli.global;
    match cli.command {
        Command::Image(cmd) => image::run(g, cmd),
        Command::Images(a) => image::run(g, image::ImageCommand::Ls(a)),
        Command::Tag(a) => image::run(g, image::ImageCommand::Tag(a)),
        Command::Rmi(a) => image::run(g, image::ImageCommand::Rm(a)),
        Command::History(a) => image::run(g, image::ImageCommand::History(a)),
        Command::Save(a) => image::run(g, image::ImageCommand::Save(a)),
        Command::Load(a) => image::run(g, image::ImageCommand::Load(a)),
        Command::Import(a) => image::run(g, image::ImageCommand::Import(a)),
        Command::Inspect(a) => inspect::run(g, a),
        Command::Info(a) => system::info(g, a),
        Command::System(cmd) => system::run(g, cmd),
        Command::Version => version::run(),
    }
}

/// Containers and the images they use, read from the runtime's state on disk.
pub fn container_users(_global: &GlobalOpts) -> Result<Vec<strata_store::ImageUser>, CliError> {
    Ok(Vec::new())
}

