//! Upload endpoints: POST (start, monolithic with `?digest=`, or cross-repository mount),
//! PATCH (chunked with `Content-Range`, or streamed), PUT (finish), GET (status), DELETE.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, Response, StatusCode, header};
use futures_util::StreamExt;
use strata_reference::{Algorithm, Digest};

use super::{authorize, empty, parse_digest, query_get, query_params, set_header};
use crate::App;
use crate::auth::Identity;
use crate::config::Action;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::uploads::{BodyError, UploadError};

fn upload_location(repo: &str, id: &str) -> String {
    format!("/v2/{repo}/blobs/uploads/{id}")
}

/// `Range: 0-<last byte>` as the Docker API reports upload progress (`0-0` when empty).
fn progress(size: u64) -> String {
    format!("0-{}", size.saturating_sub(1))
}

fn accepted(repo: &str, id: &str, size: u64) -> Response<Body> {
    let mut r = empty(StatusCode::ACCEPTED);
    set_header(&mut r, "location", &upload_location(repo, id));
    set_header(&mut r, "range", &progress(size));
    set_header(&mut r, "docker-upload-uuid", id);
    r
}

fn created(repo: &str, d: &Digest) -> Response<Body> {
    let mut r = empty(StatusCode::CREATED);
    set_header(&mut r, "location", &format!("/v2/{repo}/blobs/{d}"));
    set_header(&mut r, "docker-content-digest", &d.to_string());
    r
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// `Content-Range: <start>-<end>` (some clients write `bytes <start>-<end>` or `bytes=`).
fn content_range(headers: &HeaderMap) -> Result<Option<(u64, u64)>, ()> {
    let Some(v) = headers.get(header::CONTENT_RANGE) else {
        return Ok(None);
    };
    let v = v.to_str().map_err(|_| ())?.trim();
    let v = v
        .strip_prefix("bytes=")
        .or_else(|| v.strip_prefix("bytes "))
        .unwrap_or(v);
    let v = v.split('/').next().unwrap_or(v);
    let (a, b) = v.split_once('-').ok_or(())?;
    let start: u64 = a.trim().parse().map_err(|_| ())?;
    let end: u64 = b.trim().parse().map_err(|_| ())?;
    if end < start {
        return Err(());
    }
    Ok(Some((start, end)))
}

fn body_stream(
    req: Request,
) -> impl futures_util::Stream<Item = Result<bytes::Bytes, BodyError>> + Send + Unpin {
    req.into_body()
        .into_data_stream()
        .map(|r| r.map_err(|e| Box::new(e) as BodyError))
}

fn upload_error(e: UploadError, repo: &str, id: &str) -> ApiError {
    match e {
        UploadError::Unknown => ApiError::new(ErrorCode::BlobUploadUnknown).detail(id),
        UploadError::OutOfOrder(size) => ApiError::new(ErrorCode::RangeInvalid)
            .message("chunk does not start at the end of the upload")
            .header(header::RANGE, progress(size))
            .header(header::LOCATION, upload_location(repo, id))
            .header(header::HeaderName::from_static("docker-upload-uuid"), id),
        UploadError::SizeMismatch { expected, actual } => ApiError::new(ErrorCode::SizeInvalid)
            .detail(format!("expected {expected} bytes, received {actual}")),
        UploadError::DigestMismatch { computed } => {
            ApiError::new(ErrorCode::DigestInvalid).detail(format!("computed {computed}"))
        }
        UploadError::TooLarge => ApiError::new(ErrorCode::SizeInvalid)
            .status(StatusCode::PAYLOAD_TOO_LARGE)
            .message("blob exceeds the size limit"),
        UploadError::Body(m) => ApiError::new(ErrorCode::BlobUploadInvalid).detail(m),
        UploadError::Storage(s) => s.into(),
    }
}

pub(super) async fn start(
    app: &Arc<App>,
    repo: &str,
    who: Identity,
    req: Request,
) -> ApiResult<Response<Body>> {
    let params = query_params(&req);
    if let (Some(mount), Some(from)) = (query_get(&params, "mount"), query_get(&params, "from")) {
        let d = parse_digest(mount)?;
        if crate::names::is_valid_name(from) {
            // Mount only what the caller may pull from the source; otherwise a plain upload.
            let may_pull = authorize(app, req.headers(), Some(from), Action::Pull).is_ok()
                || (app.auth.is_none() && who == Identity::Anonymous);
            if may_pull && app.store.repo_blob_size(from, &d).await?.is_some() {
                app.store.link_blob(repo, &d).await?;
                return Ok(created(repo, &d));
            }
        }
        let id = app.store.start_upload(repo).await?;
        return Ok(accepted(repo, &id, 0));
    }
    if let Some(digest) = query_get(&params, "digest") {
        let d = parse_digest(digest)?;
        let len = content_length(req.headers());
        let id = app.store.start_upload(repo).await?;
        let result = async {
            app.store
                .append_upload(repo, &id, None, len, d.algorithm(), body_stream(req))
                .await?;
            app.store.commit_upload(repo, &id, &d).await
        }
        .await;
        return match result {
            Ok(size) => {
                app.metrics.add_bytes_received(size);
                Ok(created(repo, &d))
            }
            Err(e) => {
                let _ = app.store.cancel_upload(repo, &id).await;
                Err(upload_error(e, repo, &id))
            }
        };
    }
    let id = app.store.start_upload(repo).await?;
    Ok(accepted(repo, &id, 0))
}

pub(super) async fn status(app: &App, repo: &str, id: &str) -> ApiResult<Response<Body>> {
    let size = app
        .store
        .upload_size(repo, id)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::BlobUploadUnknown).detail(id))?;
    let mut r = accepted(repo, id, size);
    *r.status_mut() = StatusCode::NO_CONTENT;
    Ok(r)
}

pub(super) async fn patch(
    app: &App,
    repo: &str,
    id: &str,
    req: Request,
) -> ApiResult<Response<Body>> {
    let range = content_range(req.headers())
        .map_err(|()| ApiError::new(ErrorCode::RangeInvalid).message("malformed Content-Range"))?;
    let len = content_length(req.headers());
    let (start, expected) = match range {
        Some((s, e)) => {
            let n = e - s + 1;
            if len.is_some_and(|l| l != n) {
                return Err(ApiError::new(ErrorCode::SizeInvalid)
                    .detail("Content-Length does not match Content-Range"));
            }
            (Some(s), Some(n))
        }
        None => (None, len),
    };
    let size = app
        .store
        .append_upload(
            repo,
            id,
            start,
            expected,
            Algorithm::Sha256,
            body_stream(req),
        )
        .await
        .map_err(|e| upload_error(e, repo, id))?;
    Ok(accepted(repo, id, size))
}

pub(super) async fn finish(
    app: &App,
    repo: &str,
    id: &str,
    req: Request,
) -> ApiResult<Response<Body>> {
    let params = query_params(&req);
    let digest = query_get(&params, "digest")
        .ok_or_else(|| ApiError::new(ErrorCode::DigestInvalid).message("digest missing"))?;
    let d = parse_digest(digest)?;
    let range = content_range(req.headers())
        .map_err(|()| ApiError::new(ErrorCode::RangeInvalid).message("malformed Content-Range"))?;
    let len = content_length(req.headers());
    let chunked = req.headers().get(header::TRANSFER_ENCODING).is_some();
    if len.is_some_and(|l| l > 0) || chunked || range.is_some() {
        let (start, expected) = match range {
            Some((s, e)) => (Some(s), Some(e - s + 1)),
            None => (None, len),
        };
        app.store
            .append_upload(repo, id, start, expected, d.algorithm(), body_stream(req))
            .await
            .map_err(|e| upload_error(e, repo, id))?;
    }
    let size = app
        .store
        .commit_upload(repo, id, &d)
        .await
        .map_err(|e| upload_error(e, repo, id))?;
    app.metrics.add_bytes_received(size);
    Ok(created(repo, &d))
}

pub(super) async fn cancel(app: &App, repo: &str, id: &str) -> ApiResult<Response<Body>> {
    if !app.store.cancel_upload(repo, id).await? {
        return Err(ApiError::new(ErrorCode::BlobUploadUnknown).detail(id));
    }
    Ok(empty(StatusCode::NO_CONTENT))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn content_ranges() {
        let mut h = HeaderMap::new();
        assert_eq!(content_range(&h), Ok(None));
        h.insert(header::CONTENT_RANGE, HeaderValue::from_static("0-99"));
        assert_eq!(content_range(&h), Ok(Some((0, 99))));
        h.insert(
            header::CONTENT_RANGE,
            HeaderValue::from_static("bytes 5-9/10"),
        );
        assert_eq!(content_range(&h), Ok(Some((5, 9))));
        h.insert(header::CONTENT_RANGE, HeaderValue::from_static("9-5"));
        assert!(content_range(&h).is_err());
        h.insert(header::CONTENT_RANGE, HeaderValue::from_static("x"));
        assert!(content_range(&h).is_err());
    }

    #[test]
    fn progress_header() {
        assert_eq!(progress(0), "0-0");
        assert_eq!(progress(10), "0-9");
    }
}
