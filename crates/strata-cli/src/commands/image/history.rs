//! `history`: one row per history entry, newest first, with the daemon's quirk that IDs are
//! filled in walking the parent chain one row per ancestor, and `<missing>` elsewhere.

use std::process::ExitCode;

use serde_json::json;
use strata_store::Store;

use super::HistoryArgs;
use crate::commands::CliError;
use crate::output::{Listing, units};

const HEADERS: &[(&str, &str)] = &[
    ("ID", "IMAGE"),
    ("CreatedSince", "CREATED"),
    ("CreatedAt", "CREATED AT"),
    ("CreatedBy", "CREATED BY"),
    ("Size", "SIZE"),
    ("Comment", "COMMENT"),
];

/// Docker's `Ellipsis`: cut to `max` characters, the last one replaced by `…`.
fn ellipsis(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

pub fn run(store: &Store, args: HistoryArgs) -> Result<ExitCode, CliError> {
    let id = store.resolve_image(&args.image).map_err(CliError::new)?;
    let image = store.image(&id).map_err(CliError::new)?;
    let chains = image.chain_ids();
    let mut layer = 0;
    let mut items = Vec::new();
    for h in &image.config.history {
        let size = if h.empty_layer {
            0
        } else {
            let s = chains
                .get(layer)
                .and_then(|c| store.layer_meta(c).ok())
                .map(|m| m.size)
                .unwrap_or(0);
            layer += 1;
            s
        };
        items.push((h, size));
    }
    items.reverse();
    let mut ids: Vec<String> = vec!["<missing>".into(); items.len()];
    let mut current = Some(image.clone());
    for slot in ids.iter_mut() {
        let Some(img) = current else { break };
        *slot = img.id.to_string();
        current = img.record.parent.as_ref().and_then(|p| store.image(p).ok());
    }
    let rows: Vec<serde_json::Value> = items
        .iter()
        .zip(ids)
        .map(|((h, size), id)| {
            let created = h.created_at();
            let shown_id = if args.no_trunc || id == "<missing>" { id.clone() } else { id.trim_start_matches("sha256:").chars().take(12).collect() };
            let created_by = h.created_by.replace('\t', " ");
            json!({
                "Comment": h.comment,
                "CreatedAt": created.map(|t| if args.human { t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true) } else { t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true) }).unwrap_or_default(),
                "CreatedBy": if args.no_trunc { created_by } else { ellipsis(&created_by, 45) },
                "CreatedSince": if args.human { units::since(created) } else { created.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)).unwrap_or_default() },
                "ID": shown_id,
                "Size": if args.human { units::human_size(*size) } else { size.to_string() },
            })
        })
        .collect();
    let default_table = if args.human {
        "{{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"
    } else {
        "{{.ID}}\t{{.CreatedAt}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"
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
