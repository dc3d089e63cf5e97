//! `tag`, `rmi` and `image prune`.

use std::io::{BufRead, Write};
use std::process::ExitCode;

use strata_reference::Reference;
use strata_store::{DeleteEvent, RemoveOptions, Store};

use super::filter::ImageFilter;
use super::{PruneArgs, RemoveArgs, TagArgs, image_users};
use crate::cli::GlobalOpts;
use crate::commands::CliError;
use crate::output::units;

pub fn tag(store: &Store, args: TagArgs) -> Result<ExitCode, CliError> {
    let target = Reference::parse_normalized(&args.target).map_err(|e| {
        CliError::new(format!(
            "Error parsing reference: {:?} is not a valid repository/tag: {e}",
            args.target
        ))
    })?;
    if target.digest().is_some() {
        return Err(CliError::new(
            "refusing to create a tag with a digest reference",
        ));
    }
    let id = store.resolve_image(&args.source).map_err(CliError::new)?;
    store
        .tag(&id, &target.with_default_tag())
        .map_err(CliError::new)?;
    Ok(ExitCode::SUCCESS)
}

fn print_events(events: &[DeleteEvent], lower: bool) {
    for e in events {
        match (e, lower) {
            (DeleteEvent::Untagged(r), false) => println!("Untagged: {r}"),
            (DeleteEvent::Deleted(d), false) => println!("Deleted: {d}"),
            (DeleteEvent::Untagged(r), true) => println!("untagged: {r}"),
            (DeleteEvent::Deleted(d), true) => println!("deleted: {d}"),
        }
    }
}

/// Removes each image in turn; like Docker, reports every failure and exits 1 if any failed.
pub fn run(store: &Store, global: &GlobalOpts, args: RemoveArgs) -> Result<ExitCode, CliError> {
    let users = image_users(global)?;
    let opts = RemoveOptions {
        force: args.force,
        no_prune: args.no_prune,
    };
    let mut failed = false;
    for image in &args.images {
        match store.remove_image(image, opts, &users) {
            Ok(events) => print_events(&events, false),
            Err(e) => {
                eprintln!("Error: {e}");
                failed = true;
            }
        }
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

pub fn prune(store: &Store, global: &GlobalOpts, args: PruneArgs) -> Result<ExitCode, CliError> {
    let filter = ImageFilter::parse(store, &args.filter, &["label", "dangling"])?;
    if !args.force {
        let warning = if args.all {
            "WARNING! This will remove all images without at least one container associated to them."
        } else {
            "WARNING! This will remove all dangling images."
        };
        print!("{warning}\nAre you sure you want to continue? [y/N] ");
        std::io::stdout().flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
            return Ok(ExitCode::SUCCESS);
        }
    }
    let users = image_users(global)?;
    let keep = |image: &strata_store::Image| {
        let mut refs = Vec::new();
        !filter.labels.is_empty() && !filter.keep(image, &mut refs)
    };
    let (events, reclaimed) = store
        .prune_images(args.all, &users, keep)
        .map_err(CliError::new)?;
    if !events.is_empty() {
        println!("Deleted Images:");
        print_events(&events, true);
        println!();
    }
    println!("Total reclaimed space: {}", units::human_size(reclaimed));
    Ok(ExitCode::SUCCESS)
}
