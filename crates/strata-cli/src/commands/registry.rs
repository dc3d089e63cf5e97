//! `strata registry serve` and `strata registry gc`: a registry server (OCI distribution spec /
//! Docker Registry HTTP API v2) over a storage directory, `<--root>/registry` unless the config
//! file names another. The config's `log_level` applies unless `--log-level`/`--debug` is given.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Subcommand};
use strata_registry_server::gc::{GcOptions, collect_blocking};
use strata_registry_server::{App, Config};

use super::CliError;
use crate::cli::GlobalOpts;

#[derive(Subcommand, Debug)]
pub enum RegistryCommand {
    /// Run a registry server (OCI distribution spec, Docker Registry HTTP API v2)
    Serve(ServeArgs),
    /// Delete blobs (and, optionally, untagged manifests) that nothing references
    Gc(GcArgs),
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// YAML configuration file
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Address to listen on (default 127.0.0.1:5000, or the config's `listen`)
    #[arg(long)]
    pub addr: Option<String>,
    /// Refuse every write (pushes, deletes)
    #[arg(long = "read-only")]
    pub read_only: bool,
    /// Allow deleting manifests, tags and blobs
    #[arg(long = "delete-enabled")]
    pub delete_enabled: bool,
}

#[derive(Args, Debug)]
pub struct GcArgs {
    /// YAML configuration file (for the storage root)
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Print what would be deleted, delete nothing
    #[arg(long = "dry-run", short = 'd')]
    pub dry_run: bool,
    /// Also delete manifests that no tag references
    #[arg(long = "delete-untagged", short = 'm')]
    pub delete_untagged: bool,
    /// Keep anything written more recently than this (e.g. 30s, 10m, 1h)
    #[arg(long = "grace-period", default_value = "1h")]
    pub grace_period: String,
}

pub fn run(global: &GlobalOpts, cmd: RegistryCommand) -> Result<ExitCode, CliError> {
    match cmd {
        RegistryCommand::Serve(a) => serve(global, a),
        RegistryCommand::Gc(a) => gc(global, a),
    }
}

fn load_config(path: Option<&PathBuf>) -> Result<Config, CliError> {
    match path {
        Some(p) => Config::load(p).map_err(CliError::new),
        None => Ok(Config::default()),
    }
}

fn serve(global: &GlobalOpts, args: ServeArgs) -> Result<ExitCode, CliError> {
    let mut config = load_config(args.config.as_ref())?;
    if args.read_only {
        config.read_only = true;
    }
    if args.delete_enabled {
        config.delete_enabled = true;
    }
    if let Some(addr) = args.addr {
        config.listen = Some(addr);
    }
    if let Some(level) = config.log_level {
        crate::logging::set_configured_level(level.as_str());
    }
    let app = App::from_config(&config, global.root.join("registry")).map_err(CliError::new)?;
    let addr = config.listen_addr().to_owned();
    let listener = std::net::TcpListener::bind(&addr)
        .map_err(|e| CliError::new(format!("listen tcp {addr}: {e}")))?;
    let local = listener.local_addr().map_err(CliError::new)?;
    let scheme = if config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    eprintln!("listening on {scheme}://{local}");
    strata_registry_server::serve_until_signal(listener, Arc::new(app), config.tls.as_ref())
        .map_err(CliError::new)?;
    Ok(ExitCode::SUCCESS)
}

/// `90`, `90s`, `10m`, `2h`, `1d`.
fn parse_duration(s: &str) -> Result<Duration, CliError> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().last() {
        Some((i, 's')) => (&s[..i], 1),
        Some((i, 'm')) => (&s[..i], 60),
        Some((i, 'h')) => (&s[..i], 3600),
        Some((i, 'd')) => (&s[..i], 86400),
        _ => (s, 1),
    };
    num.parse::<u64>()
        .map(|n| Duration::from_secs(n * mult))
        .map_err(|_| CliError::new(format!("invalid duration {s:?}")))
}

fn gc(global: &GlobalOpts, args: GcArgs) -> Result<ExitCode, CliError> {
    let config = load_config(args.config.as_ref())?;
    let app = App::from_config(&config, global.root.join("registry")).map_err(CliError::new)?;
    let opts = GcOptions {
        dry_run: args.dry_run,
        delete_untagged: args.delete_untagged,
        grace: parse_duration(&args.grace_period)?,
        ..GcOptions::default()
    };
    let report = collect_blocking(&app.store, &opts).map_err(CliError::new)?;
    let verb = if args.dry_run {
        "would delete"
    } else {
        "deleted"
    };
    for (repo, d) in &report.manifests_deleted {
        println!("{repo}: {verb} manifest {d}");
    }
    for d in &report.blobs_deleted {
        println!("{verb} blob {d}");
    }
    println!(
        "{} blobs marked, {} blobs and {} manifests {verb}, {} bytes freed{}",
        report.blobs_marked,
        report.blobs_deleted.len(),
        report.manifests_deleted.len(),
        report.bytes_freed,
        if report.uploads_purged > 0 {
            format!(", {} stale uploads purged", report.uploads_purged)
        } else {
            String::new()
        }
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("10m").unwrap(), Duration::from_secs(600));
        assert_eq!(parse_duration("0s").unwrap(), Duration::ZERO);
        assert!(parse_duration("x").is_err());
    }
}
