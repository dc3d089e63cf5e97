//! Manifests by tag or digest (GET/HEAD/PUT/DELETE) and the OCI 1.1 referrers API.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{Response, StatusCode, header};
use futures_util::StreamExt;
use strata_reference::{Digest, Digester};

use super::negotiate::{self, Accept};
use super::{empty, json_response, parse_digest, query_get, query_params, set_header};
use crate::App;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::manifest::{self, ManifestError, OCI_INDEX, RefKind};
use crate::names;

enum Reference {
    Tag(String),
    Digest(Digest),
}

fn parse_reference(r: &str) -> ApiResult<Reference> {
    if r.contains(':') {
        return parse_digest(r).map(Reference::Digest);
    }
    if names::is_valid_tag(r) {
        Ok(Reference::Tag(r.to_owned()))
    } else {
        Err(ApiError::new(ErrorCode::ManifestInvalid)
            .message("invalid tag")
            .detail(r))
    }
}

async fn unknown(app: &App, repo: &str, what: &str) -> ApiError {
    match app.store.repo_exists(repo).await {
        Ok(false) => ApiError::new(ErrorCode::NameUnknown).detail(repo),
        _ => ApiError::new(ErrorCode::ManifestUnknown).detail(what),
    }
}

pub(super) async fn get(
    app: &App,
    repo: &str,
    r: &str,
    head: bool,
    accept: &Accept,
) -> ApiResult<Response<Body>> {
    let reference = parse_reference(r)?;
    let by_tag = matches!(reference, Reference::Tag(_));
    let digest = match reference {
        Reference::Digest(d) => d,
        Reference::Tag(t) => match app.store.resolve_tag(repo, &t).await? {
            Some(d) => d,
            None => return Err(unknown(app, repo, r).await),
        },
    };
    let Some(rev) = app.store.revision(repo, &digest).await? else {
        return Err(unknown(app, repo, r).await);
    };
    // What the client can read: may be another manifest (a list's platform entry) or none.
    let rev = negotiate::choose(app, repo, rev, by_tag, accept).await?;
    let digest = rev.digest.clone();
    let len;
    let mut resp = if head {
        len = app
            .store
            .blob_size(&digest)
            .await?
            .ok_or_else(|| ApiError::new(ErrorCode::ManifestUnknown).detail(r))?;
        empty(StatusCode::OK)
    } else {
        let bytes = app
            .store
            .blob_bytes(&digest)
            .await?
            .ok_or_else(|| ApiError::new(ErrorCode::ManifestUnknown).detail(r))?;
        len = bytes.len() as u64;
        Response::new(Body::from(bytes))
    };
    set_header(&mut resp, "content-type", &rev.media_type);
    set_header(&mut resp, "content-length", &len.to_string());
    set_header(&mut resp, "docker-content-digest", &digest.to_string());
    set_header(&mut resp, "etag", &format!("\"{digest}\""));
    Ok(resp)
}

async fn read_limited(req: Request, limit: u64) -> ApiResult<Vec<u8>> {
    let too_big = || {
        ApiError::new(ErrorCode::SizeInvalid)
            .status(StatusCode::PAYLOAD_TOO_LARGE)
            .message(format!("manifest exceeds the {limit} byte limit"))
    };
    if let Some(len) = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        && len > limit
    {
        return Err(too_big());
    }
    let mut body = req.into_body().into_data_stream();
    let mut out = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| {
            ApiError::new(ErrorCode::ManifestInvalid).detail(format!("reading body: {e}"))
        })?;
        if (out.len() + chunk.len()) as u64 > limit {
            return Err(too_big());
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

pub(super) async fn put(app: &App, repo: &str, r: &str, req: Request) -> ApiResult<Response<Body>> {
    let reference = parse_reference(r)?;
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = read_limited(req, app.options.max_manifest_bytes).await?;
    let parsed = manifest::parse(&body, content_type.as_deref()).map_err(|e| match e {
        ManifestError::Digest(d) => ApiError::new(ErrorCode::ManifestInvalid)
            .message(format!("invalid digest {d}"))
            .detail(d),
        other => ApiError::new(ErrorCode::ManifestInvalid).detail(other.to_string()),
    })?;
    let algorithm = match &reference {
        Reference::Digest(d) => d.algorithm(),
        Reference::Tag(_) => strata_reference::Algorithm::Sha256,
    };
    let mut digester = Digester::new(algorithm);
    digester.update(&body);
    let digest = digester.finish();
    if let Reference::Digest(d) = &reference
        && d != &digest
    {
        return Err(ApiError::new(ErrorCode::DigestInvalid)
            .detail(format!("computed {digest}, reference {d}")));
    }
    for (kind, d) in &parsed.references {
        let present = match kind {
            RefKind::Blob => app.store.repo_blob_size(repo, d).await?.is_some(),
            RefKind::Manifest => app.store.revision(repo, d).await?.is_some(),
        };
        if !present {
            return Err(ApiError::new(ErrorCode::ManifestBlobUnknown).detail(d.to_string()));
        }
    }
    app.store
        .put_manifest(repo, &digest, &parsed.media_type, &body)
        .await?;
    if let Some(subject) = &parsed.subject {
        let mut desc = serde_json::json!({
            "mediaType": parsed.media_type,
            "digest": digest.to_string(),
            "size": body.len(),
        });
        if let Some(at) = &parsed.artifact_type {
            desc["artifactType"] = at.clone().into();
        }
        if let Some(a) = &parsed.annotations {
            desc["annotations"] = a.clone();
        }
        app.store
            .add_referrer(repo, &subject.digest, &digest, &desc)
            .await?;
    }
    if let Reference::Tag(t) = &reference {
        app.store.set_tag(repo, t, &digest).await?;
    }
    let mut resp = empty(StatusCode::CREATED);
    set_header(
        &mut resp,
        "location",
        &format!("/v2/{repo}/manifests/{digest}"),
    );
    set_header(&mut resp, "docker-content-digest", &digest.to_string());
    if let Some(subject) = &parsed.subject {
        set_header(&mut resp, "oci-subject", &subject.digest.to_string());
    }
    Ok(resp)
}

pub(super) async fn delete(app: &App, repo: &str, r: &str) -> ApiResult<Response<Body>> {
    match parse_reference(r)? {
        Reference::Tag(t) => {
            if !app.store.delete_tag(repo, &t).await? {
                return Err(unknown(app, repo, r).await);
            }
        }
        Reference::Digest(d) => {
            let Some(rev) = app.store.revision(repo, &d).await? else {
                return Err(unknown(app, repo, r).await);
            };
            if let Some(bytes) = app.store.blob_bytes(&d).await?
                && let Ok(p) = manifest::parse(&bytes, Some(&rev.media_type))
                && let Some(s) = p.subject
            {
                app.store.remove_referrer(repo, &s.digest, &d).await?;
            }
            for tag in app.store.tags_of(repo, &d).await? {
                app.store.delete_tag(repo, &tag).await?;
            }
            app.store.delete_revision(repo, &d).await?;
        }
    }
    Ok(empty(StatusCode::ACCEPTED))
}

pub(super) async fn referrers(
    app: &App,
    repo: &str,
    digest: &str,
    req: Request,
) -> ApiResult<Response<Body>> {
    let subject = parse_digest(digest)?;
    let params = query_params(&req);
    let filter = query_get(&params, "artifactType").filter(|s| !s.is_empty());
    let mut descriptors = app.store.referrers(repo, &subject).await?;
    if let Some(at) = filter {
        descriptors.retain(|d| d.get("artifactType").and_then(|v| v.as_str()) == Some(at));
    }
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": descriptors,
    });
    let mut resp = json_response(StatusCode::OK, index.to_string());
    set_header(&mut resp, "content-type", OCI_INDEX);
    if filter.is_some() {
        set_header(&mut resp, "oci-filters-applied", "artifactType");
    }
    Ok(resp)
}
