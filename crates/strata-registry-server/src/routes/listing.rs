//! Tag list, `_catalog` (both paginated with `n`/`last` and `Link`), and `/v1/search`.
//! The catalog and search show only repositories the caller may pull.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, Response, StatusCode, header};

use super::{challenge, json_response, query_get, query_params, set_header};
use crate::App;
use crate::auth::{BadCredentials, Identity};
use crate::config::Action;
use crate::error::{ApiError, ApiResult, ErrorCode};

/// Page a sorted list: entries after `last`, at most `n`; the `Link` for the next page if any.
pub(crate) fn paginate(
    mut items: Vec<String>,
    n: Option<usize>,
    last: Option<&str>,
    base: &str,
) -> (Vec<String>, Option<String>) {
    if let Some(last) = last {
        items.retain(|i| i.as_str() > last);
    }
    let Some(n) = n else {
        return (items, None);
    };
    if items.len() <= n {
        return (items, None);
    }
    items.truncate(n);
    let link = items
        .last()
        .map(|l| format!("<{base}?n={n}&last={l}>; rel=\"next\""));
    (items, link)
}

fn parse_n(params: &[(String, String)]) -> ApiResult<Option<usize>> {
    match query_get(params, "n") {
        None | Some("") => Ok(None),
        Some(v) => v.parse::<usize>().map(Some).map_err(|_| {
            ApiError::new(ErrorCode::Unsupported)
                .status(StatusCode::BAD_REQUEST)
                .message("invalid n")
                .detail(v)
        }),
    }
}

pub(super) async fn tags(app: &App, repo: &str, req: Request) -> ApiResult<Response<Body>> {
    if !app.store.repo_exists(repo).await? {
        return Err(ApiError::new(ErrorCode::NameUnknown).detail(repo));
    }
    let params = query_params(&req);
    let n = parse_n(&params)?;
    let tags = app.store.tags(repo).await?;
    let (page, link) = paginate(
        tags,
        n,
        query_get(&params, "last"),
        &format!("/v2/{repo}/tags/list"),
    );
    let body = serde_json::json!({ "name": repo, "tags": page });
    let mut resp = json_response(StatusCode::OK, body.to_string());
    if let Some(l) = link {
        set_header(&mut resp, "link", &l);
    }
    Ok(resp)
}

/// The caller of a listing endpoint; a challenge when credentials are missing or wrong.
fn listing_identity(app: &App, headers: &HeaderMap) -> ApiResult<Option<Identity>> {
    let Some(auth) = &app.auth else {
        return Ok(None);
    };
    let authz = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if let Some(issuer) = &auth.token {
        let token = authz.and_then(|h| h.strip_prefix("Bearer "));
        match token.and_then(|t| issuer.verify(t.trim())) {
            Some((who, _)) => Ok(Some(who)),
            None => Err(challenge(app, headers, Some("registry:catalog:*"), None)),
        }
    } else {
        match auth.basic_identity(authz) {
            Ok(Identity::Anonymous) if !auth.anonymous_has_any_access() => {
                Err(challenge(app, headers, None, None))
            }
            Ok(who) => Ok(Some(who)),
            Err(BadCredentials) => Err(challenge(app, headers, None, None)),
        }
    }
}

async fn visible_repositories(app: &App, who: Option<&Identity>) -> ApiResult<Vec<String>> {
    let mut repos = app.store.repositories().await?;
    if let (Some(auth), Some(who)) = (&app.auth, who) {
        repos.retain(|r| auth.permitted(who, r).contains(&Action::Pull));
    }
    Ok(repos)
}

pub(super) async fn catalog(app: &App, req: Request) -> ApiResult<Response<Body>> {
    let who = listing_identity(app, req.headers())?;
    let params = query_params(&req);
    let n = parse_n(&params)?;
    let repos = visible_repositories(app, who.as_ref()).await?;
    let (page, link) = paginate(repos, n, query_get(&params, "last"), "/v2/_catalog");
    let body = serde_json::json!({ "repositories": page });
    let mut resp = json_response(StatusCode::OK, body.to_string());
    if let Some(l) = link {
        set_header(&mut resp, "link", &l);
    }
    Ok(resp)
}

/// Docker Hub's v1 search shape, over repository names.
pub(super) async fn search(app: &App, req: Request) -> ApiResult<Response<Body>> {
    let who = listing_identity(app, req.headers())?;
    let params = query_params(&req);
    let query = query_get(&params, "q").unwrap_or("").to_lowercase();
    let n = parse_n(&params)?.unwrap_or(25).clamp(1, 100);
    let repos = visible_repositories(app, who.as_ref()).await?;
    let matches: Vec<&String> = repos.iter().filter(|r| r.contains(&query)).collect();
    let results: Vec<serde_json::Value> = matches
        .iter()
        .take(n)
        .map(|name| {
            serde_json::json!({
                "name": name,
                "description": "",
                "star_count": 0,
                "is_official": false,
                "is_automated": false,
            })
        })
        .collect();
    let body = serde_json::json!({
        "num_results": matches.len(),
        "query": query,
        "results": results,
    });
    Ok(json_response(StatusCode::OK, body.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn pagination_follows_the_spec() {
        let all = v(&["a", "b", "c", "d"]);
        assert_eq!(paginate(all.clone(), None, None, "/x"), (all.clone(), None));
        let (p, l) = paginate(all.clone(), Some(2), None, "/x");
        assert_eq!(p, v(&["a", "b"]));
        assert_eq!(l.unwrap(), "</x?n=2&last=b>; rel=\"next\"");
        let (p, l) = paginate(all.clone(), Some(2), Some("b"), "/x");
        assert_eq!(p, v(&["c", "d"]));
        assert!(l.is_none());
        let (p, _) = paginate(all, Some(0), None, "/x");
        assert!(p.is_empty());
    }
}
