//! The built-in token endpoint (`GET /token?service=…&scope=…`), as Docker's token spec
//! describes: Basic credentials (or none, for anonymous access) in, a bearer token out that
//! grants the requested actions the caller is permitted, and no more.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{Response, StatusCode, header};

use super::{json_response, query_params};
use crate::App;
use crate::auth::{BadCredentials, Grant, Identity, parse_scope};
use crate::config::Action;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::names;

pub(super) fn issue(app: &App, req: &Request) -> ApiResult<Response<Body>> {
    let Some(auth) = &app.auth else {
        return Err(ApiError::new(ErrorCode::Unsupported)
            .status(StatusCode::NOT_FOUND)
            .message("token authentication is not configured"));
    };
    let Some(issuer) = &auth.token else {
        return Err(ApiError::new(ErrorCode::Unsupported)
            .status(StatusCode::NOT_FOUND)
            .message("token authentication is not configured"));
    };
    let authz = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let who = auth.basic_identity(authz).map_err(|BadCredentials| {
        ApiError::new(ErrorCode::Unauthorized)
            .message("incorrect username or password")
            .header(
                header::WWW_AUTHENTICATE,
                format!("Basic realm=\"{}\"", auth.realm),
            )
    })?;
    let mut grants = Vec::new();
    for (k, v) in query_params(req) {
        if k != "scope" {
            continue;
        }
        // Several scopes may also come space-separated in one parameter.
        for scope in v.split(' ').filter(|s| !s.is_empty()) {
            let Some(requested) = parse_scope(scope) else {
                continue;
            };
            if let Some(g) = grant_for(auth, &who, requested) {
                grants.push(g);
            }
        }
    }
    let token = issuer.issue(&who, grants);
    let body = serde_json::json!({
        "token": token,
        "access_token": token,
        "expires_in": issuer.ttl(),
        "issued_at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    });
    Ok(json_response(StatusCode::OK, body.to_string()))
}

fn grant_for(auth: &crate::auth::Auth, who: &Identity, requested: Grant) -> Option<Grant> {
    match requested.kind.as_str() {
        "repository" if names::is_valid_name(&requested.name) => {
            let permitted = auth.permitted(who, &requested.name);
            let actions: Vec<String> = requested
                .actions
                .iter()
                .filter(|a| {
                    if a.as_str() == "*" {
                        return permitted.len() == 3;
                    }
                    Action::parse(a).is_some_and(|act| permitted.contains(&act))
                })
                .cloned()
                .collect();
            Some(Grant {
                kind: requested.kind,
                name: requested.name,
                actions,
            })
        }
        "registry" if requested.name == "catalog" => {
            let allowed = matches!(who, Identity::User(_)) || auth.anonymous_has_any_access();
            allowed.then(|| Grant {
                kind: requested.kind,
                name: requested.name,
                actions: vec!["*".to_owned()],
            })
        }
        _ => None,
    }
}
