//! `strata push`: Docker's output (`The push refers to repository […]`, per-layer lines,
//! `TAG: digest: sha256:… size: N`).

use std::process::ExitCode;
use std::sync::Arc;

use strata_reference::{Digest, Reference};
use strata_registry_client::{LayerCompression, PlatformSpec, PushOptions, RegistryError};
use strata_store::Store;

use super::progress::LayerDisplay;
use super::{PushArgs, connect, parse_reference};
use crate::cli::GlobalOpts;
use crate::commands::CliError;
use crate::commands::image::open_store;

pub fn push(global: &GlobalOpts, args: PushArgs) -> Result<ExitCode, CliError> {
    let reference = parse_reference(&args.name)?;
    if reference.digest().is_some() {
        return Err(CliError::new("cannot push a digest reference"));
    }
    let compression = match args.compression.as_str() {
        "gzip" => LayerCompression::Gzip,
        "zstd" => LayerCompression::Zstd,
        other => {
            return Err(CliError::new(format!(
                "invalid compression {other:?}: expected gzip or zstd"
            )));
        }
    };
    let store = open_store(global)?;
    let targets: Vec<Reference> = if args.all_tags {
        if reference.tag().is_some() {
            return Err(CliError::new("tag can't be used with --all-tags/-a"));
        }
        let mut tags = Vec::new();
        for (_, refs) in store.list_images().map_err(CliError::new)? {
            tags.extend(
                refs.into_iter()
                    .filter(|r| r.tag().is_some() && r.name() == reference.name()),
            );
        }
        tags.sort();
        if tags.is_empty() {
            return Err(CliError::new(format!(
                "An image does not exist locally with the tag: {}",
                reference.familiar_name()
            )));
        }
        tags
    } else {
        if reference.tag().is_none() && !args.quiet {
            println!("Using default tag: latest");
        }
        vec![reference.clone().with_default_tag()]
    };
    let mut images = Vec::new();
    for t in &targets {
        let id = store.resolve_image(&t.to_string()).map_err(|_| {
            CliError::new(format!(
                "An image does not exist locally with the tag: {}",
                t.familiar_string()
            ))
        })?;
        images.push(id);
    }
    if let Some(wanted) = args.platform.as_deref().filter(|p| !p.is_empty()) {
        let wanted = PlatformSpec::parse(wanted).map_err(CliError::new)?;
        for (target, id) in targets.iter().zip(&images) {
            check_platform(&store, id, target, &wanted)?;
        }
    }
    let registry = connect(global, reference.domain())?;
    if !args.quiet {
        println!("The push refers to repository [{}]", reference.name());
    }
    let opts = PushOptions {
        compression,
        parallel: 3,
    };
    for (target, id) in targets.iter().zip(&images) {
        let display = Arc::new(LayerDisplay::new(args.quiet));
        let result = strata_registry_client::push(&store, &registry, id, target, &opts, display)
            .map_err(|e| push_error(e, target))?;
        if args.quiet {
            println!("{}", target.familiar_string());
        } else {
            println!(
                "{}: digest: {} size: {}",
                target.tag().unwrap_or("latest"),
                result.digest,
                result.size
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn push_error(e: RegistryError, target: &Reference) -> CliError {
    match e {
        RegistryError::Unauthorized => CliError::new(format!(
            "push access denied for {}: unauthorized: authentication required",
            target.repository().familiar_string()
        )),
        other => CliError::new(other),
    }
}

/// Docker 28's `push --platform` picks one platform of a multi-platform image. Strata's local
/// images are single-platform, so the flag can only confirm the image's own platform; anything
/// else fails before connecting, in the words Docker uses for a platform mismatch.
fn check_platform(
    store: &Store,
    id: &Digest,
    target: &Reference,
    wanted: &PlatformSpec,
) -> Result<(), CliError> {
    let config = store.image(id).map_err(CliError::new)?.config;
    if wanted.matches_image(&config.os, &config.architecture, &config.variant) {
        return Ok(());
    }
    let mut actual = format!("{}/{}", config.os, config.architecture);
    if !config.variant.is_empty() {
        actual = format!("{actual}/{}", config.variant);
    }
    Err(CliError::new(format!(
        "image with reference {} was found but does not match the specified platform: wanted {wanted}, actual: {actual} (local images hold a single platform, so --platform can only name the image's own)",
        target.familiar_string()
    )))
}
