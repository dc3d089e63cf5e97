//! One module per command family. Each command returns an exit code or a `CliError`.

use std::process::ExitCode;

use crate::cli::{Cli, Command, GlobalOpts};

pub mod build;
pub mod changes;
pub mod container;
mod error;
pub mod image;
mod inspect;
pub mod network;
pub mod registry;
pub mod remote;
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
        Command::Pull(a) => remote::pull(g, a),
        Command::Push(a) => remote::push(g, a),
        Command::Login(a) => remote::login(g, a),
        Command::Logout(a) => remote::logout(g, a),
        Command::Search(a) => remote::search(g, a),
        Command::Diff(a) => changes::diff(g, a),
        Command::Commit(a) => changes::commit(g, a),
        Command::Export(a) => changes::export(g, a),
        Command::Containers(c) => container::run_top(g, c),
        Command::Container(c) => container::run_group(g, c),
        Command::Registry(c) => registry::run(g, c),
        Command::Network(c) => network::run(g, c),
        Command::Build(a) => build::run(g, a),
    }
}

/// Containers and the images they use, read from the runtime's state on disk.
pub fn container_users(global: &GlobalOpts) -> Result<Vec<strata_store::ImageUser>, CliError> {
    let users = container::image_users(global)?;
    Ok(users
        .into_iter()
        .filter_map(|(container_id, image, running)| {
            let image_id = image.parse().ok()?;
            Some(strata_store::ImageUser {
                container_id,
                image_id,
                running,
            })
        })
        .collect())
}

/// `KEY=VALUE` flags (`--label`, `--opt`) as a map; a bare `KEY` has an empty value.
pub fn key_values(items: &[String]) -> std::collections::BTreeMap<String, String> {
    items
        .iter()
        .map(|l| match l.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (l.clone(), String::new()),
        })
        .collect()
}
