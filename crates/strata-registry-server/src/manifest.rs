//! Manifest validation: which media types the registry accepts, what they reference, and the
//! OCI 1.1 `subject` / `artifactType` fields the referrers API needs.

use serde_json::Value;
use strata_reference::Digest;

pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const DOCKER_SCHEMA1: &str = "application/vnd.docker.distribution.manifest.v1+json";
const DOCKER_SCHEMA1_SIGNED: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";
const DOCKER_FOREIGN_LAYER: &str = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefKind {
    /// A config or layer blob.
    Blob,
    /// A child manifest of an index or manifest list.
    Manifest,
}

#[derive(Debug, Clone)]
pub struct Descriptor {
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
}

#[derive(Debug, Clone)]
pub struct Parsed {
    pub media_type: String,
    /// What must already exist in the repository for the manifest to be accepted.
    pub references: Vec<(RefKind, Digest)>,
    pub subject: Option<Descriptor>,
    pub artifact_type: Option<String>,
    pub annotations: Option<Value>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ManifestError {
    #[error("manifest is not valid JSON: {0}")]
    Json(String),
    #[error("{0}")]
    Invalid(String),
    #[error("media type {0} is not supported")]
    UnsupportedMediaType(String),
    #[error("invalid digest {0}")]
    Digest(String),
}

fn descriptor(v: &Value, what: &str) -> Result<Descriptor, ManifestError> {
    let obj = v
        .as_object()
        .ok_or_else(|| ManifestError::Invalid(format!("{what} is not an object")))?;
    let media_type = obj
        .get("mediaType")
        .and_then(Value::as_str)
        .ok_or_else(|| ManifestError::Invalid(format!("{what} has no mediaType")))?
        .to_owned();
    let digest_str = obj
        .get("digest")
        .and_then(Value::as_str)
        .ok_or_else(|| ManifestError::Invalid(format!("{what} has no digest")))?;
    let digest =
        Digest::parse(digest_str).map_err(|_| ManifestError::Digest(digest_str.to_owned()))?;
    let size = obj
        .get("size")
        .and_then(Value::as_u64)
        .ok_or_else(|| ManifestError::Invalid(format!("{what} has no valid size")))?;
    Ok(Descriptor {
        media_type,
        digest,
        size,
    })
}

/// Foreign (non-distributable) layers are fetched from their URLs, not from the registry.
fn is_foreign(v: &Value, media_type: &str) -> bool {
    let has_urls = v
        .get("urls")
        .and_then(Value::as_array)
        .is_some_and(|u| !u.is_empty());
    has_urls && (media_type == DOCKER_FOREIGN_LAYER || media_type.contains("nondistributable"))
}

/// The digest of the first `os`/`architecture` entry of a manifest list or index.
pub fn platform_manifest(list: &[u8], os: &str, architecture: &str) -> Option<Digest> {
    let v: Value = serde_json::from_slice(list).ok()?;
    v.get("manifests")?
        .as_array()?
        .iter()
        .find(|m| m["platform"]["os"] == os && m["platform"]["architecture"] == architecture)
        .and_then(|m| Digest::parse(m["digest"].as_str()?).ok())
}

/// Validate a manifest body sent with `content_type`.
pub fn parse(bytes: &[u8], content_type: Option<&str>) -> Result<Parsed, ManifestError> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| ManifestError::Json(e.to_string()))?;
    let obj = v
        .as_object()
        .ok_or_else(|| ManifestError::Invalid("manifest is not a JSON object".to_owned()))?;
    let body_type = obj.get("mediaType").and_then(Value::as_str);
    let header_type = content_type
        .map(|c| c.split(';').next().unwrap_or("").trim())
        .filter(|c| !c.is_empty() && *c != "application/json" && *c != "application/octet-stream");
    if let (Some(b), Some(h)) = (body_type, header_type)
        && b != h
    {
        return Err(ManifestError::Invalid(format!(
            "mediaType {b} in manifest does not match Content-Type {h}"
        )));
    }
    // OCI manifests may omit mediaType; then the shape decides.
    let media_type = match body_type.or(header_type) {
        Some(t) => t.to_owned(),
        None if obj.contains_key("manifests") => OCI_INDEX.to_owned(),
        None if obj.contains_key("config") => OCI_MANIFEST.to_owned(),
        None => return Err(ManifestError::Invalid("unknown manifest type".to_owned())),
    };
    if media_type == DOCKER_SCHEMA1 || media_type == DOCKER_SCHEMA1_SIGNED {
        return Err(ManifestError::UnsupportedMediaType(media_type));
    }
    if obj.get("schemaVersion").and_then(Value::as_u64) != Some(2) {
        return Err(ManifestError::Invalid("schemaVersion must be 2".to_owned()));
    }
    let mut references = Vec::new();
    match media_type.as_str() {
        DOCKER_MANIFEST | OCI_MANIFEST => {
            let config = obj
                .get("config")
                .ok_or_else(|| ManifestError::Invalid("manifest has no config".to_owned()))?;
            references.push((RefKind::Blob, descriptor(config, "config")?.digest));
            let layers = obj
                .get("layers")
                .and_then(Value::as_array)
                .ok_or_else(|| ManifestError::Invalid("manifest has no layers array".to_owned()))?;
            if media_type == DOCKER_MANIFEST && layers.is_empty() {
                return Err(ManifestError::Invalid("manifest has no layers".to_owned()));
            }
            for (i, layer) in layers.iter().enumerate() {
                let d = descriptor(layer, &format!("layer {i}"))?;
                if !is_foreign(layer, &d.media_type) {
                    references.push((RefKind::Blob, d.digest));
                }
            }
        }
        DOCKER_MANIFEST_LIST | OCI_INDEX => {
            let manifests = obj
                .get("manifests")
                .and_then(Value::as_array)
                .ok_or_else(|| ManifestError::Invalid("index has no manifests array".to_owned()))?;
            for (i, m) in manifests.iter().enumerate() {
                references.push((
                    RefKind::Manifest,
                    descriptor(m, &format!("manifest {i}"))?.digest,
                ));
            }
        }
        other => return Err(ManifestError::UnsupportedMediaType(other.to_owned())),
    }
    let subject = match obj.get("subject") {
        Some(s) if !s.is_null() => Some(descriptor(s, "subject")?),
        _ => None,
    };
    let artifact_type = match obj.get("artifactType") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            return Err(ManifestError::Invalid(
                "artifactType must be a string".to_owned(),
            ));
        }
    };
    // The referrers API reports an image manifest's config media type as its artifact type.
    let artifact_type = artifact_type.or_else(|| {
        if media_type == OCI_MANIFEST {
            obj.get("config")
                .and_then(|c| c.get("mediaType"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        } else {
            None
        }
    });
    Ok(Parsed {
        media_type,
        references,
        subject,
        artifact_type,
        annotations: obj.get("annotations").filter(|a| a.is_object()).cloned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(c: &str) -> String {
        Digest::sha256_of(c.as_bytes()).to_string()
    }

    #[test]
    fn docker_manifest_references_config_and_layers() {
        let m = format!(
            r#"{{"schemaVersion":2,"mediaType":"{DOCKER_MANIFEST}","config":{{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"{}","size":2}},"layers":[{{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","digest":"{}","size":3}}]}}"#,
            d("c"),
            d("l")
        );
        let p = parse(m.as_bytes(), Some(DOCKER_MANIFEST)).unwrap();
        assert_eq!(p.references.len(), 2);
        assert!(p.subject.is_none());
    }

    #[test]
    fn oci_artifact_with_subject() {
        let m = format!(
            r#"{{"schemaVersion":2,"artifactType":"application/x-sbom","config":{{"mediaType":"application/vnd.oci.empty.v1+json","digest":"{}","size":2}},"layers":[],"subject":{{"mediaType":"{OCI_MANIFEST}","digest":"{}","size":10}}}}"#,
            d("{}"),
            d("s")
        );
        let p = parse(m.as_bytes(), Some(OCI_MANIFEST)).unwrap();
        assert_eq!(p.media_type, OCI_MANIFEST);
        assert_eq!(p.artifact_type.as_deref(), Some("application/x-sbom"));
        assert_eq!(p.subject.unwrap().digest.to_string(), d("s"));
    }

    #[test]
    fn index_references_manifests() {
        let m = format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","manifests":[{{"mediaType":"{OCI_MANIFEST}","digest":"{}","size":5}}]}}"#,
            d("m")
        );
        let p = parse(m.as_bytes(), None).unwrap();
        assert_eq!(
            p.references,
            vec![(RefKind::Manifest, Digest::parse(&d("m")).unwrap())]
        );
    }

    #[test]
    fn bad_manifests_are_rejected() {
        assert!(matches!(parse(b"{", None), Err(ManifestError::Json(_))));
        assert!(parse(b"[]", None).is_err());
        assert!(parse(br#"{"schemaVersion":1,"config":{}}"#, None).is_err());
        let mismatch = format!(r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","manifests":[]}}"#);
        assert!(parse(mismatch.as_bytes(), Some(OCI_MANIFEST)).is_err());
        assert!(matches!(
            parse(br#"{"schemaVersion":1}"#, Some(DOCKER_SCHEMA1_SIGNED)),
            Err(ManifestError::UnsupportedMediaType(_))
        ));
        let bad_digest = format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","manifests":[{{"mediaType":"x","digest":"sha256:zz","size":1}}]}}"#
        );
        assert!(matches!(
            parse(bad_digest.as_bytes(), None),
            Err(ManifestError::Digest(_))
        ));
    }
}
