//! The command tree, mirroring Docker's: top-level shortcuts (`images`, `rmi`, `run`) and the
//! management groups (`image ls`, `container rm`) that reuse the same argument structs.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::commands::image::{self, ImageCommand};
use crate::commands::system;

#[derive(Parser, Debug)]
#[command(
    name = "strata",
    version,
    about = "A daemonless container image engine with Docker's command line"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalOpts,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct GlobalOpts {
    /// Root of the store (images, layers, containers)
    #[arg(
        long,
        global = true,
        env = "STRATA_ROOT",
        default_value = "/var/lib/strata"
    )]
    pub root: PathBuf,
    /// Log level: error, warn, info, debug, trace [default: warn, or `registry serve`'s
    /// config `log_level`]
    #[arg(
        long = "log-level",
        global = true,
        value_parser = clap::builder::PossibleValuesParser::new(crate::logging::LEVELS)
    )]
    pub log_level: Option<String>,
    /// Debug logging
    #[arg(long, short = 'D', global = true)]
    pub debug: bool,
}

impl GlobalOpts {
    /// The level the flags ask for, if any; `--debug` wins, as with Docker.
    pub fn explicit_log_level(&self) -> Option<&str> {
        if self.debug {
            Some("debug")
        } else {
            self.log_level.as_deref()
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Manage images
    #[command(subcommand)]
    Image(ImageCommand),
    /// List images
    Images(image::ListArgs),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
    Tag(image::TagArgs),
    /// Remove one or more images
    Rmi(image::RemoveArgs),
    /// Show the history of an image
    History(image::HistoryArgs),
    /// Save one or more images to a tar archive (streamed to STDOUT by default)
    Save(image::SaveArgs),
    /// Load an image from a tar archive or STDIN
    Load(image::LoadArgs),
    /// Import the contents from a tarball to create a filesystem image
    Import(image::ImportArgs),
    /// Return low-level information on strata objects
    Inspect(InspectArgs),
    /// Display system-wide information
    Info(system::InfoArgs),
    /// Manage strata
    #[command(subcommand)]
    System(system::SystemCommand),
    /// Show the strata version information
    Version,
    /// Download an image from a registry
    Pull(crate::commands::remote::PullArgs),
    /// Upload an image to a registry
    Push(crate::commands::remote::PushArgs),
    /// Authenticate to a registry
    Login(crate::commands::remote::LoginArgs),
    /// Log out from a registry
    Logout(crate::commands::remote::LogoutArgs),
    /// Search Docker Hub (or a registry) for images
    Search(crate::commands::remote::SearchArgs),
    /// Inspect changes to files or directories on a container's filesystem
    Diff(crate::commands::changes::DiffArgs),
    /// Create a new image from a container's changes
    Commit(crate::commands::changes::CommitArgs),
    /// Export a container's filesystem as a tar archive
    Export(crate::commands::changes::ExportArgs),
    #[command(flatten)]
    Containers(crate::commands::container::TopLevel),
    /// Manage containers
    #[command(subcommand)]
    Container(crate::commands::container::Group),
    /// Run or maintain a registry server
    #[command(subcommand)]
    Registry(crate::commands::registry::RegistryCommand),
    /// Manage networks
    #[command(subcommand)]
    Network(crate::commands::network::NetworkCommand),
    /// Build an image from a Dockerfile
    Build(crate::commands::build::BuildArgs),
}

#[derive(Args, Debug)]
pub struct InspectArgs {
    /// Format output using a custom template
    #[arg(short, long)]
    pub format: Option<String>,
    /// Only inspect objects of the given type (image, container)
    #[arg(long = "type")]
    pub kind: Option<String>,
    #[arg(required = true)]
    pub names: Vec<String>,
}
