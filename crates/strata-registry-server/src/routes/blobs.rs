//! Blob HEAD/GET (with single `Range` requests) and DELETE.

use axum::body::Body;
use axum::http::{HeaderMap, Response, StatusCode, header};

use super::{empty, parse_digest, set_header};
use crate::App;
use crate::error::{ApiError, ApiResult, ErrorCode};

/// A byte range resolved against the blob size: `[start, end]` inclusive.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum RangeSpec {
    Whole,
    Part(u64, u64),
    Unsatisfiable,
}

/// Parse one `Range: bytes=a-b | a- | -n` against `size`. A header we cannot parse is ignored,
/// as RFC 9110 says; multiple ranges are not supported and are treated as unsatisfiable.
pub(crate) fn parse_range(value: Option<&str>, size: u64) -> RangeSpec {
    let Some(v) = value else {
        return RangeSpec::Whole;
    };
    let Some(spec) = v.trim().strip_prefix("bytes=") else {
        return RangeSpec::Whole;
    };
    if spec.contains(',') {
        return RangeSpec::Unsatisfiable;
    }
    let Some((a, b)) = spec.split_once('-') else {
        return RangeSpec::Whole;
    };
    let (a, b) = (a.trim(), b.trim());
    if a.is_empty() {
        // Suffix: the last n bytes.
        return match b.parse::<u64>() {
            Ok(0) | Err(_) => RangeSpec::Unsatisfiable,
            Ok(_) if size == 0 => RangeSpec::Unsatisfiable,
            Ok(n) => RangeSpec::Part(size.saturating_sub(n), size - 1),
        };
    }
    let Ok(start) = a.parse::<u64>() else {
        return RangeSpec::Whole;
    };
    if start >= size {
        return RangeSpec::Unsatisfiable;
    }
    let end = if b.is_empty() {
        size - 1
    } else {
        match b.parse::<u64>() {
            Ok(e) if e >= start => e.min(size - 1),
            _ => return RangeSpec::Unsatisfiable,
        }
    };
    RangeSpec::Part(start, end)
}

pub(super) async fn get(
    app: &App,
    repo: &str,
    digest: &str,
    headers: &HeaderMap,
    head: bool,
) -> ApiResult<Response<Body>> {
    let d = parse_digest(digest)?;
    let size = app
        .store
        .repo_blob_size(repo, &d)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::BlobUnknown).detail(d.to_string()))?;
    let range = parse_range(
        headers.get(header::RANGE).and_then(|v| v.to_str().ok()),
        size,
    );
    let (status, start, len) = match range {
        RangeSpec::Whole => (StatusCode::OK, 0, size),
        RangeSpec::Part(s, e) => (StatusCode::PARTIAL_CONTENT, s, e - s + 1),
        RangeSpec::Unsatisfiable => {
            return Err(ApiError::new(ErrorCode::RangeInvalid)
                .message("requested range not satisfiable")
                .header(header::CONTENT_RANGE, format!("bytes */{size}")));
        }
    };
    let mut resp = if head {
        empty(status)
    } else {
        let stream = app.store.read_blob(&d, start, len).await?;
        app.metrics.add_bytes_served(len);
        let mut r = Response::new(Body::from_stream(stream));
        *r.status_mut() = status;
        r
    };
    let digest_str = d.to_string();
    set_header(&mut resp, "content-length", &len.to_string());
    set_header(&mut resp, "content-type", "application/octet-stream");
    set_header(&mut resp, "docker-content-digest", &digest_str);
    set_header(&mut resp, "etag", &format!("\"{digest_str}\""));
    set_header(&mut resp, "accept-ranges", "bytes");
    set_header(&mut resp, "cache-control", "max-age=31536000");
    if status == StatusCode::PARTIAL_CONTENT {
        set_header(
            &mut resp,
            "content-range",
            &format!("bytes {start}-{}/{size}", start + len - 1),
        );
    }
    Ok(resp)
}

pub(super) async fn delete(app: &App, repo: &str, digest: &str) -> ApiResult<Response<Body>> {
    let d = parse_digest(digest)?;
    if !app.store.unlink_blob(repo, &d).await? {
        return Err(ApiError::new(ErrorCode::BlobUnknown).detail(d.to_string()));
    }
    let mut r = empty(StatusCode::ACCEPTED);
    set_header(&mut r, "docker-content-digest", &d.to_string());
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range(None, 10), RangeSpec::Whole);
        assert_eq!(parse_range(Some("bytes=0-3"), 10), RangeSpec::Part(0, 3));
        assert_eq!(parse_range(Some("bytes=5-"), 10), RangeSpec::Part(5, 9));
        assert_eq!(parse_range(Some("bytes=-4"), 10), RangeSpec::Part(6, 9));
        assert_eq!(parse_range(Some("bytes=8-100"), 10), RangeSpec::Part(8, 9));
        assert_eq!(parse_range(Some("bytes=10-"), 10), RangeSpec::Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=5-2"), 10), RangeSpec::Unsatisfiable);
        assert_eq!(
            parse_range(Some("bytes=0-1,3-4"), 10),
            RangeSpec::Unsatisfiable
        );
        assert_eq!(parse_range(Some("items=0-1"), 10), RangeSpec::Whole);
        assert_eq!(parse_range(Some("bytes=-5"), 0), RangeSpec::Unsatisfiable);
    }
}
