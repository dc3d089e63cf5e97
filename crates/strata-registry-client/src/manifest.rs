//! Manifests and indexes (Docker schema2, manifest list, OCI manifest, OCI index) and choosing
//! an index entry for a platform.

use serde::{Deserialize, Serialize};
use strata_reference::Digest;

use crate::error::{RegistryError, Result};

pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
pub const OCI_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const OCI_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
const SCHEMA1: &[&str] = &[
    "application/vnd.docker.distribution.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
];

/// What `GET /v2/<name>/manifests/<ref>` accepts.
pub const ACCEPT: &str = "application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub media_type: String,
    pub size: u64,
    pub digest: Digest,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub urls: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Platform {
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub os: String,
    #[serde(
        default,
        rename = "os.version",
        skip_serializing_if = "String::is_empty"
    )]
    pub os_version: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub variant: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageManifest {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageIndex {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    pub manifests: Vec<Descriptor>,
}

#[derive(Debug, Clone)]
pub enum Manifest {
    Image(ImageManifest),
    Index(ImageIndex),
}

impl ImageManifest {
    pub fn is_oci(&self) -> bool {
        self.media_type.as_deref() != Some(DOCKER_MANIFEST)
            && self.config.media_type != DOCKER_CONFIG
    }
}

/// Parses a manifest, trusting the body's `mediaType`, then the `Content-Type` header.
pub fn parse(content_type: Option<&str>, bytes: &[u8]) -> Result<Manifest> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Probe {
        media_type: Option<String>,
        schema_version: Option<u32>,
        manifests: Option<serde_json::Value>,
    }
    let probe: Probe =
        serde_json::from_slice(bytes).map_err(|e| RegistryError::BadManifest(e.to_string()))?;
    let header = content_type.map(|c| c.split(';').next().unwrap_or(c).trim().to_owned());
    let media_type = probe.media_type.clone().or(header).unwrap_or_else(|| {
        if probe.manifests.is_some() {
            OCI_INDEX.to_owned()
        } else {
            OCI_MANIFEST.to_owned()
        }
    });
    if SCHEMA1.contains(&media_type.as_str()) || probe.schema_version == Some(1) {
        return Err(RegistryError::UnsupportedMediaType(format!(
            "{media_type} (Docker image manifest schema 1 is no longer supported)"
        )));
    }
    let bad = |e: serde_json::Error| RegistryError::BadManifest(e.to_string());
    match media_type.as_str() {
        DOCKER_MANIFEST | OCI_MANIFEST => {
            Ok(Manifest::Image(serde_json::from_slice(bytes).map_err(bad)?))
        }
        DOCKER_MANIFEST_LIST | OCI_INDEX => {
            Ok(Manifest::Index(serde_json::from_slice(bytes).map_err(bad)?))
        }
        // Some registries answer `application/json`; the shape decides.
        "application/json" | "" if probe.manifests.is_some() => {
            Ok(Manifest::Index(serde_json::from_slice(bytes).map_err(bad)?))
        }
        "application/json" | "" => Ok(Manifest::Image(serde_json::from_slice(bytes).map_err(bad)?)),
        other => Err(RegistryError::UnsupportedMediaType(other.to_owned())),
    }
}

/// A wanted platform: `os/arch[/variant]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformSpec {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

impl PlatformSpec {
    pub fn parse(s: &str) -> Result<PlatformSpec> {
        let parts: Vec<&str> = s.split('/').collect();
        let bad = || RegistryError::BadPlatform(s.to_owned());
        let (os, arch, variant) = match parts.as_slice() {
            [os, arch] => (*os, *arch, None),
            [os, arch, variant] if !variant.is_empty() => (*os, *arch, Some(variant.to_string())),
            _ => return Err(bad()),
        };
        if os.is_empty() || arch.is_empty() {
            return Err(bad());
        }
        let (architecture, variant) = normalize_arch(&arch.to_lowercase(), variant);
        Ok(PlatformSpec {
            os: os.to_lowercase(),
            architecture,
            variant,
        })
    }

    /// The platform this binary runs on, in OCI's names.
    pub fn host() -> PlatformSpec {
        let (architecture, variant) = match std::env::consts::ARCH {
            "x86_64" => ("amd64".to_owned(), None),
            "aarch64" => ("arm64".to_owned(), Some("v8".to_owned())),
            "arm" => ("arm".to_owned(), Some("v7".to_owned())),
            "x86" => ("386".to_owned(), None),
            "powerpc64" => ("ppc64le".to_owned(), None),
            other => (other.to_owned(), None),
        };
        PlatformSpec {
            os: "linux".to_owned(),
            architecture,
            variant,
        }
    }

    /// Whether an image of this OS, architecture and variant (an image config's fields) is
    /// of this platform, with the same normalization as index entries.
    pub fn matches_image(&self, os: &str, architecture: &str, variant: &str) -> bool {
        self.matches(&Platform {
            architecture: architecture.to_owned(),
            os: os.to_owned(),
            os_version: String::new(),
            variant: variant.to_owned(),
        })
    }

    fn matches(&self, p: &Platform) -> bool {
        let (arch, variant) = normalize_arch(
            &p.architecture.to_lowercase(),
            Some(p.variant.clone()).filter(|v| !v.is_empty()),
        );
        if p.os.to_lowercase() != self.os || arch != self.architecture {
            return false;
        }
        match (&self.variant, &variant) {
            (None, _) => true,
            (Some(want), Some(have)) => want == have,
            // arm64 images often omit the (default) v8 variant.
            (Some(want), None) => self.architecture == "arm64" && want == "v8",
        }
    }

    /// The best index entry for this platform: matching OS and architecture, the exact variant
    /// preferred, and otherwise the first in the list, as containerd's matcher orders them.
    pub fn select<'a>(&self, manifests: &'a [Descriptor]) -> Result<&'a Descriptor> {
        let candidates: Vec<&Descriptor> = manifests
            .iter()
            .filter(|d| d.platform.as_ref().is_some_and(|p| self.matches(p)))
            .collect();
        let exact = candidates.iter().find(|d| {
            let v = d
                .platform
                .as_ref()
                .map(|p| p.variant.as_str())
                .unwrap_or("");
            self.variant.as_deref().unwrap_or("") == v
        });
        exact
            .or(candidates.first())
            .copied()
            .ok_or_else(|| RegistryError::NoMatchingPlatform(self.to_string()))
    }
}

impl std::fmt::Display for PlatformSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// containerd's normalization: `x86_64` → `amd64`, `aarch64` → `arm64` (v8), `armhf` → `arm` v7.
fn normalize_arch(arch: &str, variant: Option<String>) -> (String, Option<String>) {
    match arch {
        "x86_64" | "x86-64" | "amd64" => ("amd64".to_owned(), variant.filter(|v| v != "v1")),
        "aarch64" | "arm64" => (
            "arm64".to_owned(),
            variant.map(|v| if v == "8" { "v8".to_owned() } else { v }),
        ),
        "armhf" => ("arm".to_owned(), Some("v7".to_owned())),
        "armel" => ("arm".to_owned(), Some("v6".to_owned())),
        "arm" => (
            "arm".to_owned(),
            variant.map(|v| {
                if v.starts_with('v') {
                    v
                } else {
                    format!("v{v}")
                }
            }),
        ),
        "i386" | "i686" => ("386".to_owned(), variant),
        other => (other.to_owned(), variant),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(arch: &str, variant: &str, n: u8) -> Descriptor {
        Descriptor {
            media_type: DOCKER_MANIFEST.into(),
            size: 1,
            digest: Digest::sha256_of(&[n]),
            urls: vec![],
            platform: Some(Platform {
                architecture: arch.into(),
                os: "linux".into(),
                os_version: String::new(),
                variant: variant.into(),
            }),
        }
    }

    #[test]
    fn selects_platform_from_a_list() {
        let list = vec![
            entry("amd64", "", 1),
            entry("arm", "v6", 2),
            entry("arm", "v7", 3),
            entry("arm64", "", 4),
            entry("s390x", "", 5),
        ];
        let pick = |s: &str| {
            PlatformSpec::parse(s)
                .expect("spec")
                .select(&list)
                .map(|d| d.digest.clone())
        };
        assert_eq!(pick("linux/amd64").expect("amd64"), Digest::sha256_of(&[1]));
        assert_eq!(pick("linux/arm/v7").expect("v7"), Digest::sha256_of(&[3]));
        assert_eq!(pick("linux/arm/v6").expect("v6"), Digest::sha256_of(&[2]));
        assert_eq!(
            pick("linux/arm64/v8").expect("arm64"),
            Digest::sha256_of(&[4])
        );
        assert_eq!(
            pick("linux/aarch64").expect("aarch64"),
            Digest::sha256_of(&[4])
        );
        assert_eq!(
            pick("linux/x86_64").expect("x86_64"),
            Digest::sha256_of(&[1])
        );
        let err = pick("linux/ppc64le").expect_err("no ppc");
        assert_eq!(
            err.to_string(),
            "no matching manifest for linux/ppc64le in the manifest list entries"
        );
        assert!(PlatformSpec::parse("linux").is_err());
        assert!(PlatformSpec::parse("linux/").is_err());
    }

    #[test]
    fn host_platform_is_linux() {
        assert_eq!(PlatformSpec::host().os, "linux");
    }

    #[test]
    fn parses_each_manifest_kind() {
        let d = Digest::sha256_of(b"x");
        let image = format!(
            r#"{{"schemaVersion":2,"mediaType":"{DOCKER_MANIFEST}","config":{{"mediaType":"{DOCKER_CONFIG}","size":1,"digest":"{d}"}},"layers":[]}}"#
        );
        assert!(matches!(
            parse(None, image.as_bytes()).expect("image"),
            Manifest::Image(_)
        ));
        let oci = format!(
            r#"{{"schemaVersion":2,"config":{{"mediaType":"{OCI_CONFIG}","size":1,"digest":"{d}"}},"layers":[]}}"#
        );
        match parse(Some(OCI_MANIFEST), oci.as_bytes()).expect("oci") {
            Manifest::Image(m) => assert!(m.is_oci()),
            other => panic!("{other:?}"),
        }
        let index = r#"{"schemaVersion":2,"manifests":[]}"#;
        assert!(matches!(
            parse(None, index.as_bytes()).expect("index"),
            Manifest::Index(_)
        ));
        let s1 = r#"{"schemaVersion":1,"name":"x","fsLayers":[]}"#;
        assert!(matches!(
            parse(None, s1.as_bytes()),
            Err(RegistryError::UnsupportedMediaType(_))
        ));
        let odd = r#"{"schemaVersion":2,"mediaType":"application/x-weird","layers":[]}"#;
        assert!(matches!(
            parse(None, odd.as_bytes()),
            Err(RegistryError::UnsupportedMediaType(_))
        ));
    }

    proptest::proptest! {
        #[test]
        fn platform_parser_never_panics(s in ".{0,40}") {
            let _ = PlatformSpec::parse(&s);
        }
    }
}
