//! Image commands: `images`, `tag`, `rmi`, `image prune`, `history`, `image inspect`, `save`,
//! `load`, `import`. Each is reachable at the top level and under `strata image`, as in Docker.

mod filter;
mod history;
pub mod inspect;
mod list;
mod remove;
mod transfer;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use strata_store::Store;

use crate::cli::GlobalOpts;
use crate::commands::CliError;

#[derive(Subcommand, Debug)]
pub enum ImageCommand {
    /// List images
    #[command(name = "ls", visible_alias = "list")]
    Ls(ListArgs),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
    Tag(TagArgs),
    /// Remove one or more images
    #[command(name = "rm", visible_alias = "remove")]
    Rm(RemoveArgs),
    /// Remove unused images
    Prune(PruneArgs),
    /// Show the history of an image
    History(HistoryArgs),
    /// Display detailed information on one or more images
    Inspect(InspectArgs),
    /// Save one or more images to a tar archive (streamed to STDOUT by default)
    Save(SaveArgs),
    /// Load an image from a tar archive or STDIN
    Load(LoadArgs),
    /// Import the contents from a tarball to create a filesystem image
    Import(ImportArgs),
    /// Build an image from a Dockerfile
    Build(crate::commands::build::BuildArgs),
}

#[derive(Args, Debug)]
pub struct ListArgs {
    /// Show all images (default hides intermediate images)
    #[arg(short, long)]
    pub all: bool,
    /// Show digests
    #[arg(long)]
    pub digests: bool,
    /// Filter output based on conditions provided
    #[arg(short, long = "filter")]
    pub filter: Vec<String>,
    /// Format output using a custom template: 'table', 'table TEMPLATE', 'json', or a Go template
    #[arg(long)]
    pub format: Option<String>,
    /// Don't truncate output
    #[arg(long)]
    pub no_trunc: bool,
    /// Only show image IDs
    #[arg(short, long)]
    pub quiet: bool,
    /// REPOSITORY[:TAG]
    pub reference: Option<String>,
}

#[derive(Args, Debug)]
pub struct TagArgs {
    pub source: String,
    pub target: String,
}

#[derive(Args, Debug)]
pub struct RemoveArgs {
    /// Force removal of the image
    #[arg(short, long)]
    pub force: bool,
    /// Do not delete untagged parents
    #[arg(long)]
    pub no_prune: bool,
    #[arg(required = true)]
    pub images: Vec<String>,
}

#[derive(Args, Debug)]
pub struct PruneArgs {
    /// Remove all unused images, not just dangling ones
    #[arg(short, long)]
    pub all: bool,
    /// Provide filter values (e.g. "label=<key>=<value>")
    #[arg(long = "filter")]
    pub filter: Vec<String>,
    /// Do not prompt for confirmation
    #[arg(short, long)]
    pub force: bool,
}

#[derive(Args, Debug)]
pub struct HistoryArgs {
    #[arg(long)]
    pub format: Option<String>,
    /// Print sizes and dates in human readable format
    #[arg(short = 'H', long, default_value_t = true, num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub human: bool,
    #[arg(long)]
    pub no_trunc: bool,
    #[arg(short, long)]
    pub quiet: bool,
    pub image: String,
}

#[derive(Args, Debug)]
pub struct InspectArgs {
    /// Format output using a custom template
    #[arg(short, long)]
    pub format: Option<String>,
    #[arg(required = true)]
    pub images: Vec<String>,
}

#[derive(Args, Debug)]
pub struct SaveArgs {
    /// Write to a file, instead of STDOUT
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Archive format: docker-archive (default; also a valid OCI layout) or oci
    #[arg(long, default_value = "docker-archive", value_parser = ["docker-archive", "oci"])]
    pub format: String,
    #[arg(required = true)]
    pub images: Vec<String>,
}

#[derive(Args, Debug)]
pub struct LoadArgs {
    /// Read from tar archive file, instead of STDIN
    #[arg(short, long)]
    pub input: Option<PathBuf>,
    /// Suppress the load output
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// Apply Dockerfile instruction to the created image
    #[arg(short, long = "change")]
    pub change: Vec<String>,
    /// Set commit message for imported image
    #[arg(short, long, default_value = "")]
    pub message: String,
    /// Set platform if server is multi-platform capable
    #[arg(long)]
    pub platform: Option<String>,
    /// file|URL|-
    pub source: String,
    /// REPOSITORY[:TAG]
    pub reference: Option<String>,
}

pub fn open_store(global: &GlobalOpts) -> Result<Store, CliError> {
    Store::open(&global.root).map_err(|e| {
        CliError::new(format!(
            "opening the store at {}: {e}",
            global.root.display()
        ))
    })
}

pub fn run(global: &GlobalOpts, cmd: ImageCommand) -> Result<ExitCode, CliError> {
    let store = open_store(global)?;
    match cmd {
        ImageCommand::Ls(a) => list::run(&store, global, a),
        ImageCommand::Tag(a) => remove::tag(&store, a),
        ImageCommand::Rm(a) => remove::run(&store, global, a),
        ImageCommand::Prune(a) => remove::prune(&store, global, a),
        ImageCommand::History(a) => history::run(&store, a),
        ImageCommand::Inspect(a) => inspect::run(&store, a),
        ImageCommand::Save(a) => transfer::save(&store, a),
        ImageCommand::Load(a) => transfer::load(&store, a),
        ImageCommand::Import(a) => transfer::import(&store, a),
        ImageCommand::Build(a) => crate::commands::build::run(global, a),
    }
}

/// The containers that use images, so rmi and prune refuse to pull the floor from under them.
pub fn image_users(global: &GlobalOpts) -> Result<Vec<strata_store::ImageUser>, CliError> {
    crate::commands::container_users(global)
}

/// The 12-character form Docker prints, or the full `sha256:` ID with `--no-trunc`.
pub fn display_id(id: &strata_reference::Digest, no_trunc: bool) -> String {
    if no_trunc {
        id.to_string()
    } else {
        id.short().to_owned()
    }
}
