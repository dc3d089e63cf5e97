//! `images` / `image ls`.

use std::process::ExitCode;

use serde_json::{Value as Json, json};
use strata_store::Store;

use super::filter::ImageFilter;
use super::{ListArgs, display_id};
use crate::cli::GlobalOpts;
use crate::commands::CliError;
use crate::output::{Listing, units};

const HEADERS: &[(&str, &str)] = &[
    ("ID", "IMAGE ID"),
    ("Repository", "REPOSITORY"),
    ("Tag", "TAG"),
    ("Digest", "DIGEST"),
    ("CreatedSince", "CREATED"),
    ("CreatedAt", "CREATED AT"),
    ("Size", "SIZE"),
    ("SharedSize", "SHARED SIZE"),
    ("UniqueSize", "UNIQUE SIZE"),
    ("VirtualSize", "VIRTUAL SIZE"),
    ("Containers", "CONTAINERS"),
];

pub fn run(store: &Store, _global: &GlobalOpts, args: ListArgs) -> Result<ExitCode, CliError> {
    let mut filters = args.filter.clone();
    if let Some(r) = &args.reference {
        filters.push(format!("reference={r}"));
    }
    let filter = ImageFilter::parse(
        store,
        &filters,
        &["dangling", "reference", "label", "before", "since"],
    )?;
    let mut images = store.list_images().map_err(CliError::new)?;
    images.sort_by(|a, b| {
        b.0.config
            .created_at()
            .cmp(&a.0.config.created_at())
            .then_with(|| a.0.id.cmp(&b.0.id))
    });

    let mut rows = Vec::new();
    for (image, mut refs) in images {
        if !filter.keep(&image, &mut refs) {
            continue;
        }
        // Untagged images with children are intermediate layers of a build: hidden without -a.
        if !args.all
            && refs.is_empty()
            && !store.children(&image.id).map_err(CliError::new)?.is_empty()
        {
            continue;
        }
        let size = store.image_size(&image).map_err(CliError::new)?;
        let created = image.config.created_at();
        let base = |repo: &str, tag: &str, digest: &str| -> Json {
            // Alphabetical, as Docker's `{{json .}}` prints the row.
            json!({
                "Containers": "N/A",
                "CreatedAt": created.map(|t| t.format("%Y-%m-%d %H:%M:%S %z UTC").to_string()).unwrap_or_default(),
                "CreatedSince": units::since(created),
                "Digest": digest,
                "ID": display_id(&image.id, args.no_trunc),
                "Repository": repo,
                "SharedSize": "N/A",
                "Size": units::human_size(size),
                "Tag": tag,
                "UniqueSize": "N/A",
                "VirtualSize": crate::output::units::human_size_precise(size),
            })
        };
        let (tags, digests): (Vec<_>, Vec<_>) = refs.iter().partition(|r| r.tag().is_some());
        if tags.is_empty() && digests.is_empty() {
            rows.push(base("<none>", "<none>", "<none>"));
            continue;
        }
        let mut repos_with_tags = Vec::new();
        for t in &tags {
            let repo = t.familiar_name();
            let repo_digests: Vec<String> = digests
                .iter()
                .filter(|d| d.familiar_name() == repo)
                .filter_map(|d| d.digest().map(|x| x.to_string()))
                .collect();
            if args.digests && !repo_digests.is_empty() {
                for d in &repo_digests {
                    rows.push(base(&repo, t.tag().unwrap_or("<none>"), d));
                }
            } else {
                rows.push(base(&repo, t.tag().unwrap_or("<none>"), "<none>"));
            }
            repos_with_tags.push(repo);
        }
        for d in digests
            .iter()
            .filter(|d| !repos_with_tags.contains(&d.familiar_name()))
        {
            let digest = d.digest().map(|x| x.to_string()).unwrap_or_default();
            rows.push(base(
                &d.familiar_name(),
                "<none>",
                if args.digests { &digest } else { "" },
            ));
        }
    }
    let default_table = if args.digests {
        "{{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
    } else {
        "{{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
    };
    let listing = Listing {
        default_table,
        headers: HEADERS,
    };
    listing.print(
        args.format.as_deref(),
        args.quiet.then_some("{{.ID}}"),
        &rows,
    )?;
    Ok(ExitCode::SUCCESS)
}
