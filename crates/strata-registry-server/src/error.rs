//! The distribution spec's error codes and the JSON body every error response carries:
//! `{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown to registry","detail":…}]}`.

use axum::body::Body;
use axum::http::{HeaderValue, Response, StatusCode, header};

use crate::storage::StorageError;

/// The error codes of the OCI distribution spec (and Docker's registry API) with their HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    BlobUnknown,
    BlobUploadInvalid,
    BlobUploadUnknown,
    DigestInvalid,
    ManifestBlobUnknown,
    ManifestInvalid,
    ManifestUnknown,
    NameInvalid,
    NameUnknown,
    SizeInvalid,
    Unauthorized,
    Denied,
    Unsupported,
    TooManyRequests,
    RangeInvalid,
    Unknown,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BlobUnknown => "BLOB_UNKNOWN",
            ErrorCode::BlobUploadInvalid => "BLOB_UPLOAD_INVALID",
            ErrorCode::BlobUploadUnknown => "BLOB_UPLOAD_UNKNOWN",
            ErrorCode::DigestInvalid => "DIGEST_INVALID",
            ErrorCode::ManifestBlobUnknown => "MANIFEST_BLOB_UNKNOWN",
            ErrorCode::ManifestInvalid => "MANIFEST_INVALID",
            ErrorCode::ManifestUnknown => "MANIFEST_UNKNOWN",
            ErrorCode::NameInvalid => "NAME_INVALID",
            ErrorCode::NameUnknown => "NAME_UNKNOWN",
            ErrorCode::SizeInvalid => "SIZE_INVALID",
            ErrorCode::Unauthorized => "UNAUTHORIZED",
            ErrorCode::Denied => "DENIED",
            ErrorCode::Unsupported => "UNSUPPORTED",
            ErrorCode::TooManyRequests => "TOOMANYREQUESTS",
            ErrorCode::RangeInvalid => "RANGE_INVALID",
            ErrorCode::Unknown => "UNKNOWN",
        }
    }

    /// The messages distribution/distribution sends, which clients print.
    pub fn message(self) -> &'static str {
        match self {
            ErrorCode::BlobUnknown => "blob unknown to registry",
            ErrorCode::BlobUploadInvalid => "blob upload invalid",
            ErrorCode::BlobUploadUnknown => "blob upload unknown to registry",
            ErrorCode::DigestInvalid => "provided digest did not match uploaded content",
            ErrorCode::ManifestBlobUnknown => "blob unknown to registry",
            ErrorCode::ManifestInvalid => "manifest invalid",
            ErrorCode::ManifestUnknown => "manifest unknown",
            ErrorCode::NameInvalid => "invalid repository name",
            ErrorCode::NameUnknown => "repository name not known to registry",
            ErrorCode::SizeInvalid => "provided length did not match content length",
            ErrorCode::Unauthorized => "authentication required",
            ErrorCode::Denied => "requested access to the resource is denied",
            ErrorCode::Unsupported => "The operation is unsupported.",
            ErrorCode::TooManyRequests => "too many requests",
            ErrorCode::RangeInvalid => "invalid content range",
            ErrorCode::Unknown => "unknown error",
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            ErrorCode::BlobUnknown
            | ErrorCode::BlobUploadUnknown
            | ErrorCode::ManifestUnknown
            | ErrorCode::NameUnknown => StatusCode::NOT_FOUND,
            ErrorCode::BlobUploadInvalid
            | ErrorCode::DigestInvalid
            | ErrorCode::ManifestBlobUnknown
            | ErrorCode::ManifestInvalid
            | ErrorCode::NameInvalid
            | ErrorCode::SizeInvalid => StatusCode::BAD_REQUEST,
            ErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorCode::Denied => StatusCode::FORBIDDEN,
            ErrorCode::Unsupported => StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::RangeInvalid => StatusCode::RANGE_NOT_SATISFIABLE,
            ErrorCode::Unknown => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// An error response: a code, an optional detail, an optional status override and extra headers
/// (416 responses carry `Range`, 401 responses carry `WWW-Authenticate`).
#[derive(Debug)]
pub struct ApiError {
    pub code: ErrorCode,
    pub detail: Option<serde_json::Value>,
    pub status: Option<StatusCode>,
    pub headers: Vec<(header::HeaderName, String)>,
    pub message: Option<String>,
}

impl ApiError {
    pub fn new(code: ErrorCode) -> ApiError {
        ApiError {
            code,
            detail: None,
            status: None,
            headers: Vec::new(),
            message: None,
        }
    }

    pub fn detail(mut self, detail: impl Into<serde_json::Value>) -> ApiError {
        self.detail = Some(detail.into());
        self
    }

    pub fn message(mut self, message: impl Into<String>) -> ApiError {
        self.message = Some(message.into());
        self
    }

    pub fn status(mut self, status: StatusCode) -> ApiError {
        self.status = Some(status);
        self
    }

    pub fn header(mut self, name: header::HeaderName, value: impl Into<String>) -> ApiError {
        self.headers.push((name, value.into()));
        self
    }

    pub fn http_status(&self) -> StatusCode {
        self.status.unwrap_or(self.code.status())
    }

    pub fn into_response(self) -> Response<Body> {
        let status = self.http_status();
        let body = serde_json::json!({
            "errors": [{
                "code": self.code.as_str(),
                "message": self.message.as_deref().unwrap_or(self.code.message()),
                "detail": self.detail.unwrap_or(serde_json::Value::Null),
            }]
        });
        let text = body.to_string();
        let mut resp = Response::new(Body::from(text.clone()));
        *resp.status_mut() = status;
        let headers = resp.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(text.len()));
        headers.insert(
            "docker-distribution-api-version",
            HeaderValue::from_static("registry/2.0"),
        );
        for (name, value) in self.headers {
            if let Ok(v) = HeaderValue::from_str(&value) {
                headers.append(name, v);
            }
        }
        resp
    }
}

impl From<ErrorCode> for ApiError {
    fn from(code: ErrorCode) -> ApiError {
        ApiError::new(code)
    }
}

impl From<StorageError> for ApiError {
    fn from(e: StorageError) -> ApiError {
        tracing::error!(error = %e, "storage failure");
        ApiError::new(ErrorCode::Unknown).message(e.to_string())
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_has_spec_shape() {
        let resp = ApiError::new(ErrorCode::BlobUnknown)
            .detail("sha256:x")
            .into_response();
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            resp.headers()["content-type"],
            "application/json; charset=utf-8"
        );
    }

    #[test]
    fn statuses_follow_the_spec() {
        assert_eq!(ErrorCode::NameInvalid.status(), StatusCode::BAD_REQUEST);
        assert_eq!(ErrorCode::Denied.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            ErrorCode::Unsupported.status(),
            StatusCode::METHOD_NOT_ALLOWED
        );
        assert_eq!(
            ErrorCode::TooManyRequests.status(),
            StatusCode::TOO_MANY_REQUESTS
        );
    }
}
