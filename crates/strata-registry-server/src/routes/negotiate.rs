//! Which manifest a GET or HEAD answers with, given the client's Accept header, by
//! distribution's rules (registry/handlers/manifests.go, q values ignored):
//!
//! - an OCI manifest or index whose media type the client does not list: MANIFEST_UNKNOWN;
//! - a Docker manifest list fetched by tag by a client that does not list that type: its
//!   linux/amd64 manifest instead (MANIFEST_UNKNOWN without one; MANIFEST_INVALID when that is
//!   a Docker schema2 manifest the client does not list either);
//! - anything else as stored.
//!
//! One difference: a client that lists no manifest type at all (no Accept, or `*/*` as curl
//! and most HTTP libraries send) gets what is stored, where distribution refuses OCI content.

use axum::http::{HeaderMap, header};

use crate::App;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::manifest::{self, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST};
use crate::store::Revision;

/// distribution's default platform, whatever the server runs on.
const DEFAULT_OS: &str = "linux";
const DEFAULT_ARCH: &str = "amd64";

/// Manifest media types a client may list, Docker schema1 included (old clients ask for it).
const MANIFEST_TYPES: [&str; 6] = [
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    OCI_MANIFEST,
    OCI_INDEX,
    "application/vnd.docker.distribution.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
];

/// The media types of every Accept header, parameters dropped.
pub(super) struct Accept(Vec<String>);

impl Accept {
    pub(super) fn from_headers(headers: &HeaderMap) -> Accept {
        let types = headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|t| {
                t.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })
            .filter(|t| !t.is_empty())
            .collect();
        Accept(types)
    }

    /// False only when the client listed manifest types and `media_type` is not among them.
    fn allows(&self, media_type: &str) -> bool {
        let lists_manifests = self.0.iter().any(|t| MANIFEST_TYPES.contains(&t.as_str()));
        !lists_manifests || self.0.iter().any(|t| t == media_type)
    }
}

/// The revision to answer with for `rev`, found by tag when `by_tag`.
pub(super) async fn choose(
    app: &App,
    repo: &str,
    rev: Revision,
    by_tag: bool,
    accept: &Accept,
) -> ApiResult<Revision> {
    let unknown = || ApiError::new(ErrorCode::ManifestUnknown);
    match rev.media_type.as_str() {
        OCI_MANIFEST if !accept.allows(OCI_MANIFEST) => Err(unknown()
            .message("OCI manifest found, but accept header does not support OCI manifests")),
        OCI_INDEX if !accept.allows(OCI_INDEX) => {
            Err(unknown()
                .message("OCI index found, but accept header does not support OCI indexes"))
        }
        DOCKER_MANIFEST_LIST if by_tag && !accept.allows(DOCKER_MANIFEST_LIST) => {
            let list = app
                .store
                .blob_bytes(&rev.digest)
                .await?
                .ok_or_else(unknown)?;
            let child =
                manifest::platform_manifest(&list, DEFAULT_OS, DEFAULT_ARCH).ok_or_else(|| {
                    unknown().detail(format!("no {DEFAULT_OS}/{DEFAULT_ARCH} manifest in list"))
                })?;
            let child = app
                .store
                .revision(repo, &child)
                .await?
                .ok_or_else(unknown)?;
            if child.media_type == DOCKER_MANIFEST && !accept.allows(DOCKER_MANIFEST) {
                return Err(ApiError::new(ErrorCode::ManifestInvalid)
                    .message("Schema 2 manifest not supported by client"));
            }
            Ok(child)
        }
        _ => Ok(rev),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(values: &[&str]) -> Accept {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(header::ACCEPT, v.parse().unwrap());
        }
        Accept::from_headers(&h)
    }

    #[test]
    fn accept_lists_and_wildcards() {
        let docker = accept(&[
            &format!("{DOCKER_MANIFEST}, {DOCKER_MANIFEST_LIST};q=0.9"),
            "application/json",
        ]);
        assert!(docker.allows(DOCKER_MANIFEST_LIST));
        assert!(!docker.allows(OCI_INDEX));
        let oci = accept(&[OCI_MANIFEST, OCI_INDEX]);
        assert!(oci.allows(OCI_INDEX) && !oci.allows(DOCKER_MANIFEST));
        for any in [accept(&[]), accept(&["*/*"]), accept(&["application/json"])] {
            assert!(any.allows(OCI_INDEX) && any.allows(DOCKER_MANIFEST_LIST));
        }
    }
}
