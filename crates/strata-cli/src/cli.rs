//! The command tree, mirroring Docker's: top-level shortcuts (`images`, `rmi`, `run`) and the
//! management groups (`image ls`, `container rm`) that reuse the same argument structs.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

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
    /// Log level: error, warn, info, debug, trace
    #[arg(long = "log-level", short = 'l', global = true, default_value = "warn")]
    pub log_level: String,
    /// Debug logging
    #[arg(long, short = 'D', global = true)]
    pub debug: bool,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Show the strata version information
    Version,
}
