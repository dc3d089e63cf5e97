//! HTTP dispatch. Repository names contain slashes, so the path is parsed here from its end
//! (`…/manifests/<ref>`, `…/blobs/<digest>`, `…/tags/list`) rather than by a route table.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, Response, StatusCode, header};
use strata_reference::Digest;

use crate::App;
use crate::auth::{BadCredentials, Identity, grants_allow};
use crate::config::Action;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::names;

mod blobs;
mod listing;
mod manifests;
mod negotiate;
mod token;
mod uploads;

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Route {
    Base,
    Catalog,
    Search,
    Token,
    Metrics,
    Tags(String),
    Manifest(String, String),
    Blob(String, String),
    UploadStart(String),
    Upload(String, String),
    Referrers(String, String),
}

pub(crate) fn parse_route(path: &str) -> Option<Route> {
    match path {
        "/v2" | "/v2/" => return Some(Route::Base),
        "/v2/_catalog" => return Some(Route::Catalog),
        "/v1/search" => return Some(Route::Search),
        "/token" => return Some(Route::Token),
        "/metrics" => return Some(Route::Metrics),
        _ => {}
    }
    let rest = path.strip_prefix("/v2/")?;
    if let Some(name) = rest.strip_suffix("/tags/list") {
        return Some(Route::Tags(name.to_owned()));
    }
    if let Some(name) = rest
        .strip_suffix("/blobs/uploads/")
        .or_else(|| rest.strip_suffix("/blobs/uploads"))
    {
        return Some(Route::UploadStart(name.to_owned()));
    }
    let (head, last) = rest.rsplit_once('/')?;
    let (name, kind) = head.rsplit_once('/')?;
    match kind {
        "manifests" => Some(Route::Manifest(name.to_owned(), last.to_owned())),
        "blobs" => Some(Route::Blob(name.to_owned(), last.to_owned())),
        "referrers" => Some(Route::Referrers(name.to_owned(), last.to_owned())),
        "uploads" => {
            let name = name.strip_suffix("/blobs")?;
            Some(Route::Upload(name.to_owned(), last.to_owned()))
        }
        _ => None,
    }
}

struct InFlight<'a>(&'a std::sync::atomic::AtomicUsize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The single handler: dispatch, turn errors into spec bodies, add the API version header,
/// record metrics.
pub(crate) async fn handle(State(app): State<Arc<App>>, req: Request) -> Response<Body> {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let busy = app.in_flight.fetch_add(1, Ordering::AcqRel);
    // Decrement even when the client goes away and this future is dropped.
    let _guard = InFlight(&app.in_flight);
    let over_limit = app
        .options
        .max_concurrent_requests
        .is_some_and(|m| busy >= m);
    let result = if over_limit {
        Err(ApiError::new(ErrorCode::TooManyRequests).header(header::RETRY_AFTER, "1"))
    } else {
        dispatch(&app, req).await
    };
    let mut resp = match result {
        Ok(r) => r,
        Err(e) => {
            if e.code == ErrorCode::Unknown {
                tracing::warn!(%method, %path, "request failed: {:?}", e.message);
            }
            let head = method == Method::HEAD;
            let mut r = e.into_response();
            if head {
                *r.body_mut() = Body::empty();
            }
            r
        }
    };
    resp.headers_mut().insert(
        "docker-distribution-api-version",
        HeaderValue::from_static("registry/2.0"),
    );
    app.metrics
        .record(&method, resp.status(), started.elapsed());
    tracing::info!(
        %method,
        %path,
        status = resp.status().as_u16(),
        micros = started.elapsed().as_micros() as u64,
        "request"
    );
    resp
}

async fn dispatch(app: &Arc<App>, req: Request) -> ApiResult<Response<Body>> {
    let route = parse_route(req.uri().path()).ok_or_else(|| {
        ApiError::new(ErrorCode::NameUnknown)
            .status(StatusCode::NOT_FOUND)
            .message("route not found")
    })?;
    let method = req.method().clone();
    // Names are validated before anything touches storage.
    if let Route::Tags(n)
    | Route::Manifest(n, _)
    | Route::Blob(n, _)
    | Route::UploadStart(n)
    | Route::Upload(n, _)
    | Route::Referrers(n, _) = &route
        && !names::is_valid_name(n)
    {
        return Err(ApiError::new(ErrorCode::NameInvalid).detail(n.as_str()));
    }
    match (route, method) {
        (Route::Base, Method::GET | Method::HEAD) => {
            authorize(app, req.headers(), None, Action::Pull)?;
            Ok(json_response(StatusCode::OK, "{}"))
        }
        (Route::Metrics, Method::GET) => Ok(app.metrics.render(app)),
        (Route::Token, Method::GET) => token::issue(app, &req),
        (Route::Catalog, Method::GET) => listing::catalog(app, req).await,
        (Route::Search, Method::GET) => listing::search(app, req).await,
        (Route::Tags(n), Method::GET) => {
            authorize(app, req.headers(), Some(&n), Action::Pull)?;
            listing::tags(app, &n, req).await
        }
        (Route::Referrers(n, d), Method::GET) => {
            authorize(app, req.headers(), Some(&n), Action::Pull)?;
            manifests::referrers(app, &n, &d, req).await
        }
        (Route::Manifest(n, r), m @ (Method::GET | Method::HEAD)) => {
            authorize(app, req.headers(), Some(&n), Action::Pull)?;
            let accept = negotiate::Accept::from_headers(req.headers());
            manifests::get(app, &n, &r, m == Method::HEAD, &accept).await
        }
        (Route::Manifest(n, r), Method::PUT) => {
            writable(app)?;
            authorize(app, req.headers(), Some(&n), Action::Push)?;
            manifests::put(app, &n, &r, req).await
        }
        (Route::Manifest(n, r), Method::DELETE) => {
            deletable(app)?;
            authorize(app, req.headers(), Some(&n), Action::Delete)?;
            manifests::delete(app, &n, &r).await
        }
        (Route::Blob(n, d), m @ (Method::GET | Method::HEAD)) => {
            authorize(app, req.headers(), Some(&n), Action::Pull)?;
            blobs::get(app, &n, &d, req.headers(), m == Method::HEAD).await
        }
        (Route::Blob(n, d), Method::DELETE) => {
            deletable(app)?;
            authorize(app, req.headers(), Some(&n), Action::Delete)?;
            blobs::delete(app, &n, &d).await
        }
        (Route::UploadStart(n), Method::POST) => {
            writable(app)?;
            let who = authorize(app, req.headers(), Some(&n), Action::Push)?;
            uploads::start(app, &n, who, req).await
        }
        (Route::Upload(n, id), m) => {
            if !names::is_valid_upload_id(&id) {
                return Err(ApiError::new(ErrorCode::BlobUploadUnknown).detail(id));
            }
            let action = Action::Push;
            match m {
                Method::GET => {
                    authorize(app, req.headers(), Some(&n), action)?;
                    uploads::status(app, &n, &id).await
                }
                Method::PATCH => {
                    writable(app)?;
                    authorize(app, req.headers(), Some(&n), action)?;
                    uploads::patch(app, &n, &id, req).await
                }
                Method::PUT => {
                    writable(app)?;
                    authorize(app, req.headers(), Some(&n), action)?;
                    uploads::finish(app, &n, &id, req).await
                }
                Method::DELETE => {
                    writable(app)?;
                    authorize(app, req.headers(), Some(&n), action)?;
                    uploads::cancel(app, &n, &id).await
                }
                _ => Err(method_not_allowed()),
            }
        }
        _ => Err(method_not_allowed()),
    }
}

fn method_not_allowed() -> ApiError {
    ApiError::new(ErrorCode::Unsupported)
}

fn writable(app: &App) -> ApiResult<()> {
    if app.options.read_only {
        return Err(ApiError::new(ErrorCode::Unsupported).message("registry is in read-only mode"));
    }
    Ok(())
}

fn deletable(app: &App) -> ApiResult<()> {
    writable(app)?;
    if !app.options.delete_enabled {
        return Err(ApiError::new(ErrorCode::Unsupported).message("deletes are disabled"));
    }
    Ok(())
}

/// Who is asking, and may they do `action` on `repo` (None: the `/v2/` check)?
/// Anonymous callers without access get a 401 challenge, known users without access a 403.
pub(crate) fn authorize(
    app: &App,
    headers: &HeaderMap,
    repo: Option<&str>,
    action: Action,
) -> ApiResult<Identity> {
    let Some(auth) = &app.auth else {
        return Ok(Identity::Anonymous);
    };
    let authz = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if let Some(issuer) = &auth.token {
        let scope = repo.map(|r| {
            let actions = match action {
                Action::Pull => "pull",
                Action::Push => "pull,push",
                Action::Delete => "delete",
            };
            format!("repository:{r}:{actions}")
        });
        let token = authz.and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        });
        let Some((who, grants)) = token.and_then(|t| issuer.verify(t.trim())) else {
            return Err(challenge(app, headers, scope.as_deref(), None));
        };
        match repo {
            None => Ok(who),
            Some(r) if grants_allow(&grants, r, action) => Ok(who),
            Some(_) => Err(challenge(
                app,
                headers,
                scope.as_deref(),
                Some("insufficient_scope"),
            )),
        }
    } else {
        let who = auth
            .basic_identity(authz)
            .map_err(|BadCredentials| challenge(app, headers, None, None))?;
        let Some(r) = repo else {
            // Always challenge anonymous callers here: docker only sends credentials to a
            // registry whose `/v2/` answered with a challenge.
            return match who {
                Identity::Anonymous => Err(challenge(app, headers, None, None)),
                w => Ok(w),
            };
        };
        if auth.permitted(&who, r).contains(&action) {
            Ok(who)
        } else if who == Identity::Anonymous {
            Err(challenge(app, headers, None, None))
        } else {
            Err(ApiError::new(ErrorCode::Denied))
        }
    }
}

/// A 401 with the `WWW-Authenticate` header for the configured scheme.
pub(crate) fn challenge(
    app: &App,
    headers: &HeaderMap,
    scope: Option<&str>,
    error: Option<&str>,
) -> ApiError {
    let Some(auth) = &app.auth else {
        return ApiError::new(ErrorCode::Unauthorized);
    };
    let value = match &auth.token {
        Some(issuer) => {
            let realm = issuer.realm.clone().unwrap_or_else(|| {
                let host = headers
                    .get(header::HOST)
                    .and_then(|h| h.to_str().ok())
                    .unwrap_or("localhost");
                let scheme = if app.options.tls { "https" } else { "http" };
                format!("{scheme}://{host}/token")
            });
            let mut v = format!("Bearer realm=\"{realm}\",service=\"{}\"", issuer.service);
            if let Some(s) = scope {
                v.push_str(&format!(",scope=\"{s}\""));
            }
            if let Some(e) = error {
                v.push_str(&format!(",error=\"{e}\""));
            }
            v
        }
        None => format!("Basic realm=\"{}\"", auth.realm),
    };
    ApiError::new(ErrorCode::Unauthorized).header(header::WWW_AUTHENTICATE, value)
}

pub(crate) fn json_response(status: StatusCode, body: impl Into<String>) -> Response<Body> {
    let body: String = body.into();
    let mut r = Response::new(Body::from(body.clone()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r.headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    r
}

pub(crate) fn empty(status: StatusCode) -> Response<Body> {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(0));
    r
}

pub(crate) fn set_header(r: &mut Response<Body>, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        r.headers_mut().insert(name, v);
    }
}

pub(crate) fn parse_digest(s: &str) -> ApiResult<Digest> {
    Digest::parse(s).map_err(|e| {
        ApiError::new(ErrorCode::DigestInvalid)
            .message(e.to_string())
            .detail(s)
    })
}

/// Decoded query parameters, in order (a key may repeat, like `scope`).
pub(crate) fn query_params(req: &Request) -> Vec<(String, String)> {
    let Some(q) = req.uri().query() else {
        return Vec::new();
    };
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

pub(crate) fn query_get<'a>(params: &'a [(String, String)], key: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn hex_val(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|v| v as u8)
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => match (hex_val(b[i + 1]), hex_val(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_parse_from_the_end() {
        assert_eq!(parse_route("/v2/"), Some(Route::Base));
        assert_eq!(
            parse_route("/v2/a/blobs/b/manifests/latest"),
            Some(Route::Manifest("a/blobs/b".into(), "latest".into()))
        );
        assert_eq!(
            parse_route("/v2/x/y/blobs/uploads/"),
            Some(Route::UploadStart("x/y".into()))
        );
        assert_eq!(
            parse_route("/v2/x/blobs/uploads/abc"),
            Some(Route::Upload("x".into(), "abc".into()))
        );
        assert_eq!(
            parse_route("/v2/x/blobs/sha256:00"),
            Some(Route::Blob("x".into(), "sha256:00".into()))
        );
        assert_eq!(
            parse_route("/v2/x/tags/list"),
            Some(Route::Tags("x".into()))
        );
        assert_eq!(
            parse_route("/v2/x/referrers/sha256:1"),
            Some(Route::Referrers("x".into(), "sha256:1".into()))
        );
        assert_eq!(parse_route("/v2/x/other/y"), None);
        assert_eq!(parse_route("/elsewhere"), None);
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("sha256%3Aab"), "sha256:ab");
        assert_eq!(percent_decode("a+b%2"), "a b%2");
        assert_eq!(percent_decode("%zz"), "%zz");
    }
}
