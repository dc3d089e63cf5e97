//! `strata pull`: Docker's output, one tag, a digest, or `--all-tags`.

use std::process::ExitCode;
use std::sync::Arc;

use strata_reference::Reference;
use strata_registry_client::{PlatformSpec, PullOptions, Registry, RegistryError};
use strata_store::Store;

use super::progress::LayerDisplay;
use super::{PullArgs, connect, parse_reference};
use crate::cli::GlobalOpts;
use crate::commands::CliError;
use crate::commands::image::open_store;

pub fn pull(global: &GlobalOpts, args: PullArgs) -> Result<ExitCode, CliError> {
    let reference = parse_reference(&args.name)?;
    let platform = args
        .platform
        .as_deref()
        .filter(|p| !p.is_empty())
        .map(PlatformSpec::parse)
        .transpose()
        .map_err(CliError::new)?;
    let store = open_store(global)?;
    let registry = connect(global, reference.domain())?;
    let opts = PullOptions {
        platform,
        parallel: 3,
    };
    if args.all_tags {
        if reference.tag().is_some() || reference.digest().is_some() {
            return Err(CliError::new("tag can't be used with --all-tags/-a"));
        }
        let tags = registry
            .list_tags(reference.path())
            .map_err(|e| pull_error(e, &reference))?;
        let mut any_new = false;
        for tag in tags {
            let tagged = reference.with_tag(&tag).map_err(CliError::new)?;
            any_new |= !pull_one(&store, &registry, &tagged, &opts, args.quiet)?;
        }
        if !args.quiet {
            let status = if any_new {
                "Downloaded newer image for"
            } else {
                "Image is up to date for"
            };
            println!("Status: {status} {}", reference.familiar_name());
        }
        println!("{}", reference.name());
        return Ok(ExitCode::SUCCESS);
    }
    let reference = if reference.tag().is_none() && reference.digest().is_none() {
        if !args.quiet {
            println!("Using default tag: latest");
        }
        reference.with_default_tag()
    } else {
        reference
    };
    let up_to_date = pull_one(&store, &registry, &reference, &opts, args.quiet)?;
    if !args.quiet {
        let status = if up_to_date {
            "Image is up to date for"
        } else {
            "Downloaded newer image for"
        };
        println!("Status: {status} {}", reference.familiar_string());
    }
    println!("{reference}");
    Ok(ExitCode::SUCCESS)
}

/// Pulls one tag or digest; returns whether the reference already named the pulled image.
fn pull_one(
    store: &Store,
    registry: &Registry,
    reference: &Reference,
    opts: &PullOptions,
    quiet: bool,
) -> Result<bool, CliError> {
    if !quiet {
        let what = match (reference.digest(), reference.tag()) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.to_owned(),
            (None, None) => "latest".to_owned(),
        };
        println!("{what}: Pulling from {}", reference.path());
    }
    let display = Arc::new(LayerDisplay::new(quiet));
    let result = strata_registry_client::pull(store, registry, reference, opts, display)
        .map_err(|e| pull_error(e, reference))?;
    if !quiet {
        println!("Digest: {}", result.manifest_digest);
    }
    Ok(result.up_to_date)
}

pub(super) fn pull_error(e: RegistryError, reference: &Reference) -> CliError {
    match e {
        RegistryError::Unauthorized => CliError::new(format!(
            "pull access denied for {}, repository does not exist or may require 'docker login': denied: requested access to the resource is denied",
            reference.repository().familiar_string()
        )),
        RegistryError::ManifestUnknown(_) => CliError::new(format!(
            "manifest for {} not found: manifest unknown: manifest unknown",
            reference.familiar_string()
        )),
        other => CliError::new(other),
    }
}
