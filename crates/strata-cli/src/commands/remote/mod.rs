//! Commands that talk to registries: `pull`, `push`, `login`, `logout`, `search`.

mod fetch;
mod login;
mod progress;
mod pull;
mod push;
mod search;

use clap::Args;
use strata_reference::Reference;
use strata_registry_client::{
    Credentials, DockerConfig, HostSettings, Registry, RegistryError, credentials,
};

use crate::cli::GlobalOpts;
use crate::commands::CliError;

pub use fetch::{PullOutput, pull_missing};
pub use login::{login, logout};
pub use pull::pull;
pub use push::push;
pub use search::search;

#[derive(Args, Debug)]
pub struct PullArgs {
    /// Download all tagged images in the repository
    #[arg(short = 'a', long = "all-tags")]
    pub all_tags: bool,
    /// Set platform if server is multi-platform capable (os/arch[/variant])
    #[arg(long, env = "DOCKER_DEFAULT_PLATFORM")]
    pub platform: Option<String>,
    /// Suppress verbose output
    #[arg(short, long)]
    pub quiet: bool,
    /// Skip image verification (accepted for compatibility; strata does not implement content trust)
    #[arg(long = "disable-content-trust", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub disable_content_trust: bool,
    /// NAME[:TAG|@DIGEST]
    pub name: String,
}

#[derive(Args, Debug)]
pub struct PushArgs {
    /// Push all tags of an image to the repository
    #[arg(short = 'a', long = "all-tags")]
    pub all_tags: bool,
    /// Suppress verbose output
    #[arg(short, long)]
    pub quiet: bool,
    /// Layer compression: gzip (default) or zstd
    #[arg(long, default_value = "gzip")]
    pub compression: String,
    /// Skip image signing (accepted for compatibility)
    #[arg(long = "disable-content-trust", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub disable_content_trust: bool,
    /// Push the image only if it is of this platform ('os/arch[/variant]'); local images hold
    /// one platform each
    #[arg(long)]
    pub platform: Option<String>,
    /// NAME[:TAG]
    pub name: String,
}

#[derive(Args, Debug)]
pub struct LoginArgs {
    /// Username
    #[arg(short, long)]
    pub username: Option<String>,
    /// Password or Personal Access Token (PAT)
    #[arg(short, long)]
    pub password: Option<String>,
    /// Take the Password or Personal Access Token (PAT) from stdin
    #[arg(long = "password-stdin")]
    pub password_stdin: bool,
    pub server: Option<String>,
}

#[derive(Args, Debug)]
pub struct LogoutArgs {
    pub server: Option<String>,
}

#[derive(Args, Debug)]
pub struct SearchArgs {
    /// Filter output based on conditions provided
    #[arg(short, long = "filter")]
    pub filter: Vec<String>,
    /// Pretty-print search using a Go template
    #[arg(long)]
    pub format: Option<String>,
    /// Max number of search results
    #[arg(long, default_value_t = 25)]
    pub limit: i64,
    /// Don't truncate output
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    pub term: String,
}

pub(crate) fn parse_reference(name: &str) -> Result<Reference, CliError> {
    Reference::parse_normalized(name).map_err(|e| {
        CliError::new(format!("invalid reference format: {e}").replace(
            "invalid reference format: invalid reference format",
            "invalid reference format",
        ))
    })
}

/// Connects to the registry of `domain` with the credentials docker's config holds for it.
pub(crate) fn connect(global: &GlobalOpts, domain: &str) -> Result<Registry, CliError> {
    let settings = HostSettings::load(&global.root).map_err(CliError::new)?;
    let creds: Option<Credentials> = DockerConfig::load_default()
        .map_err(CliError::new)?
        .get(&credentials::server_key(domain))
        .map_err(CliError::new)?;
    Registry::connect(domain, &settings, creds).map_err(|e| registry_error(e, domain))
}

/// Docker's wording for the common failures.
pub(crate) fn registry_error(e: RegistryError, what: &str) -> CliError {
    match e {
        RegistryError::Unauthorized => CliError::new(format!(
            "pull access denied for {what}, repository does not exist or may require 'docker login': denied: requested access to the resource is denied"
        )),
        other => CliError::new(other),
    }
}
