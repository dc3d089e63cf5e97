//! `top` (the host's `ps` filtered to the container's cgroup) and `cp`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use strata_runtime::{RuntimeError, cgroups, copy, lifecycle};

use super::{cli_error, open_store};
use crate::cli::GlobalOpts;
use crate::commands::CliError;

#[derive(Args, Debug)]
pub struct TopArgs {
    pub container: String,
    /// Options for ps (default -ef)
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub ps_args: Vec<String>,
}

#[derive(Args, Debug)]
pub struct CpArgs {
    /// Archive mode (copy all uid/gid information)
    #[arg(short, long)]
    pub archive: bool,
    /// Always follow symbol link in SRC_PATH
    #[arg(short = 'L', long = "follow-link")]
    pub follow_link: bool,
    /// Suppress progress output during copy
    #[arg(short, long)]
    pub quiet: bool,
    pub source: String,
    pub destination: String,
}

pub fn top(global: &GlobalOpts, args: TopArgs) -> Result<ExitCode, CliError> {
    let store = open_store(global)?;
    let id = store.resolve(&args.container).map_err(cli_error)?;
    let record = lifecycle::load_checked(&store, &id).map_err(cli_error)?;
    if !record.state.running {
        return Err(CliError::new(format!("container {id} is not running")));
    }
    let pids = cgroups::pids(&id);
    let ps_args = if args.ps_args.is_empty() {
        vec!["-ef".to_string()]
    } else {
        args.ps_args.clone()
    };
    let out = std::process::Command::new("ps")
        .args(&ps_args)
        .output()
        .map_err(|e| CliError::new(format!("ps: {e}")))?;
    if !out.status.success() {
        return Err(CliError::new(format!(
            "ps: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    let pid_col = header
        .split_whitespace()
        .position(|h| h == "PID")
        .ok_or_else(|| CliError::new("Couldn't find PID field in ps output"))?;
    println!("{header}");
    for line in lines {
        let pid = line
            .split_whitespace()
            .nth(pid_col)
            .and_then(|p| p.parse::<i32>().ok());
        if pid.is_some_and(|p| pids.contains(&p)) {
            println!("{line}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn cp(global: &GlobalOpts, args: CpArgs) -> Result<ExitCode, CliError> {
    let store = open_store(global)?;
    let split = |s: &str| -> Option<(String, String)> {
        if s.starts_with('/') || s.starts_with('.') {
            return None;
        }
        s.split_once(':')
            .map(|(c, p)| (c.to_string(), p.to_string()))
    };
    match (split(&args.source), split(&args.destination)) {
        (Some(_), Some(_)) => Err(CliError::new("copying between containers is not supported")),
        (None, None) => Err(CliError::new("must specify at least one container source")),
        (Some((container, path)), None) => {
            let id = store.resolve(&container).map_err(cli_error)?;
            if args.destination == "-" {
                let out = std::io::BufWriter::new(std::io::stdout().lock());
                copy::archive_from(&store, &id, &path, args.follow_link, out).map_err(cli_error)?;
                return Ok(ExitCode::SUCCESS);
            }
            copy::copy_from(&store, &id, &path, &PathBuf::from(&args.destination))
                .map_err(cli_error)?;
            Ok(ExitCode::SUCCESS)
        }
        (None, Some((container, path))) => {
            if args.source == "-" {
                // Docker's CLI stats the destination first and reports any failure there,
                // a missing container included, as this one message.
                let not_dir = || {
                    CliError::new(format!(
                        "destination \"{}\" must be a directory",
                        args.destination
                    ))
                };
                let id = store.resolve(&container).map_err(|_| not_dir())?;
                return match copy::extract_to(&store, &id, &path, std::io::stdin().lock()) {
                    Err(RuntimeError::CopyDestinationNotDirectory(_)) => Err(not_dir()),
                    other => other.map(|()| ExitCode::SUCCESS).map_err(cli_error),
                };
            }
            let id = store.resolve(&container).map_err(cli_error)?;
            copy::copy_to(&store, &id, &PathBuf::from(&args.source), &path).map_err(cli_error)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
