//! `strata search`: Docker's columns NAME, DESCRIPTION, STARS, OFFICIAL, its filters and its
//! 45-character description truncation.

use std::process::ExitCode;

use serde_json::json;
use strata_registry_client::SearchResult;

use super::{SearchArgs, connect};
use crate::cli::GlobalOpts;
use crate::commands::CliError;
use crate::output::Listing;

const HEADERS: &[(&str, &str)] = &[
    ("Name", "NAME"),
    ("Description", "DESCRIPTION"),
    ("StarCount", "STARS"),
    ("IsOfficial", "OFFICIAL"),
    ("IsAutomated", "AUTOMATED"),
];

#[derive(Default)]
struct Filters {
    stars: Option<u64>,
    official: Option<bool>,
    automated: Option<bool>,
}

fn parse_filters(raw: &[String]) -> Result<Filters, CliError> {
    let mut f = Filters::default();
    for item in raw {
        let (k, v) = item.split_once('=').ok_or_else(|| {
            CliError::new(format!(
                "bad format of filter (expected name=value): {item}"
            ))
        })?;
        let bool_value = || match v.to_lowercase().as_str() {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            _ => Err(CliError::new(format!("invalid filter '{k}={v}'"))),
        };
        match k {
            "stars" => {
                f.stars = Some(
                    v.parse()
                        .map_err(|_| CliError::new(format!("invalid filter 'stars={v}'")))?,
                )
            }
            "is-official" => f.official = Some(bool_value()?),
            "is-automated" => f.automated = Some(bool_value()?),
            _ => return Err(CliError::new(format!("invalid filter '{k}'"))),
        }
    }
    Ok(f)
}

/// Docker's `splitReposSearchTerm`: `host:5000/nginx` searches `nginx` on `host:5000`.
fn split_term(term: &str) -> (String, String) {
    if let Some((first, rest)) = term.split_once('/') {
        if first.contains('.') || first.contains(':') || first == "localhost" {
            let domain = if matches!(
                first,
                "index.docker.io" | "registry-1.docker.io" | "docker.io"
            ) {
                "docker.io"
            } else {
                first
            };
            return (domain.to_owned(), rest.to_owned());
        }
    }
    ("docker.io".to_owned(), term.to_owned())
}

/// Docker's `Ellipsis`: at most `max` characters, the last being `…` when cut.
fn ellipsis(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

pub fn search(global: &GlobalOpts, args: SearchArgs) -> Result<ExitCode, CliError> {
    if !(1..=100).contains(&args.limit) {
        return Err(CliError::new(format!(
            "limit {} is outside the range of [1, 100]",
            args.limit
        )));
    }
    let filters = parse_filters(&args.filter)?;
    let (domain, query) = split_term(&args.term);
    let registry = connect(global, &domain)?;
    let results: Vec<SearchResult> = registry
        .search(&query, args.limit as usize)
        .map_err(CliError::new)?;
    let rows: Vec<serde_json::Value> = results
        .into_iter()
        .filter(|r| filters.stars.is_none_or(|n| r.star_count >= n))
        .filter(|r| filters.official.is_none_or(|o| r.is_official == o))
        .filter(|r| filters.automated.is_none_or(|a| r.is_automated == a))
        .take(args.limit as usize)
        .map(|r| {
            let description = r.description.replace('\n', " ");
            json!({
                "Description": if args.no_trunc { description } else { ellipsis(&description, 45) },
                "IsAutomated": if r.is_automated { "[OK]" } else { "" },
                "IsOfficial": if r.is_official { "[OK]" } else { "" },
                "Name": r.name,
                "StarCount": r.star_count.to_string(),
            })
        })
        .collect();
    let listing = Listing {
        default_table: "{{.Name}}\t{{.Description}}\t{{.StarCount}}\t{{.IsOfficial}}",
        headers: HEADERS,
    };
    listing.print(args.format.as_deref(), None, &rows)?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_name_their_registry() {
        assert_eq!(
            split_term("localhost:5000/nginx"),
            ("localhost:5000".into(), "nginx".into())
        );
        assert_eq!(split_term("nginx"), ("docker.io".into(), "nginx".into()));
        assert_eq!(
            split_term("bitnami/nginx"),
            ("docker.io".into(), "bitnami/nginx".into())
        );
    }

    #[test]
    fn descriptions_are_cut_like_docker() {
        let long = "a".repeat(50);
        let cut = ellipsis(&long, 45);
        assert_eq!(cut.chars().count(), 45);
        assert!(cut.ends_with('…'));
        assert_eq!(ellipsis("short", 45), "short");
    }

    #[test]
    fn filters_parse_and_reject_unknown_names() {
        let f = parse_filters(&["stars=3".into(), "is-official=true".into()]).expect("filters");
        assert_eq!(f.stars, Some(3));
        assert_eq!(f.official, Some(true));
        assert!(parse_filters(&["color=red".into()]).is_err());
        assert!(parse_filters(&["stars".into()]).is_err());
    }
}
