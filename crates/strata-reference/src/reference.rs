//! Named references and their normalization (`ubuntu` = `docker.io/library/ubuntu:latest`).

use std::fmt;

use crate::digest::{Digest, DigestError};
use crate::grammar;

pub const DEFAULT_DOMAIN: &str = "docker.io";
pub const DEFAULT_TAG: &str = "latest";
const LEGACY_DEFAULT_DOMAIN: &str = "index.docker.io";
const OFFICIAL_REPO_PREFIX: &str = "library/";
const NAME_TOTAL_LENGTH_MAX: usize = 255;

/// Errors carry the exact text of Docker's `distribution/reference`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    #[error("invalid reference format")]
    InvalidFormat,
    #[error("invalid reference format: repository name ({0}) must be lowercase")]
    RemoteNameUppercase(String),
    #[error("repository name must be lowercase")]
    NameContainsUppercase,
    #[error("repository name must have at least one component")]
    NameEmpty,
    #[error("repository name must not be more than 255 characters")]
    NameTooLong,
    #[error("invalid repository name ({0}), cannot specify 64-byte hexadecimal strings")]
    HexRepositoryName(String),
    #[error(transparent)]
    Digest(#[from] DigestError),
}

/// A fully qualified, named reference: domain, path, and an optional tag and digest.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reference {
    domain: String,
    path: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

impl Reference {
    /// Docker's `ParseNormalizedNamed`: accepts familiar names and fills in the default domain
    /// and the `library/` namespace. It does not add a default tag; see [`Self::with_default_tag`].
    pub fn parse_normalized(s: &str) -> Result<Reference, ReferenceError> {
        if is_full_hex_id(s) {
            return Err(ReferenceError::HexRepositoryName(s.to_owned()));
        }
        let (domain, remainder) = split_docker_domain(s);
        let remote_name = remainder.split(':').next().unwrap_or_default();
        if remote_name.to_lowercase() != remote_name {
            return Err(ReferenceError::RemoteNameUppercase(remote_name.to_owned()));
        }
        let reference = parse(&format!("{domain}/{remainder}"))?;
        Ok(reference)
    }

    /// Docker's `TagNameOnly`: a reference with neither tag nor digest gets `:latest`.
    pub fn with_default_tag(mut self) -> Reference {
        if self.tag.is_none() && self.digest.is_none() {
            self.tag = Some(DEFAULT_TAG.to_owned());
        }
        self
    }

    /// This repository with another tag and no digest.
    pub fn with_tag(&self, tag: &str) -> Result<Reference, ReferenceError> {
        if !grammar::is_tag(tag) {
            return Err(ReferenceError::InvalidFormat);
        }
        Ok(Reference {
            domain: self.domain.clone(),
            path: self.path.clone(),
            tag: Some(tag.to_owned()),
            digest: None,
        })
    }

    /// This repository pinned to a digest, without a tag.
    pub fn with_digest(&self, digest: Digest) -> Reference {
        Reference {
            domain: self.domain.clone(),
            path: self.path.clone(),
            tag: None,
            digest: Some(digest),
        }
    }

    /// The repository alone, without tag or digest.
    pub fn repository(&self) -> Reference {
        Reference {
            domain: self.domain.clone(),
            path: self.path.clone(),
            tag: None,
            digest: None,
        }
    }

    pub fn domain(&self) -> &str {
        &self.domain
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// `docker.io/library/busybox`
    pub fn name(&self) -> String {
        format!("{}/{}", self.domain, self.path)
    }

    /// `busybox`, `me/busybox`, `localhost:5000/x`: the name as Docker prints it.
    pub fn familiar_name(&self) -> String {
        if self.domain != DEFAULT_DOMAIN {
            return self.name();
        }
        match self.path.strip_prefix(OFFICIAL_REPO_PREFIX) {
            Some(rest) if !rest.contains('/') => rest.to_owned(),
            _ => self.path.clone(),
        }
    }

    /// The familiar name with its tag and digest, as Docker prints it (`busybox:latest`).
    pub fn familiar_string(&self) -> String {
        let mut s = self.familiar_name();
        push_tag_and_digest(&mut s, self);
        s
    }
}

fn push_tag_and_digest(s: &mut String, r: &Reference) {
    if let Some(tag) = &r.tag {
        s.push(':');
        s.push_str(tag);
    }
    if let Some(digest) = &r.digest {
        s.push('@');
        s.push_str(&digest.to_string());
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = self.name();
        push_tag_and_digest(&mut s, self);
        f.write_str(&s)
    }
}

/// What a user may type where Docker takes an image: a name, a full ID, or `sha256:<hex>`.
/// Short ID prefixes parse as names (they are valid names too); the store tries both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageRef {
    Named(Reference),
    Id(Digest),
}

impl ImageRef {
    /// Docker's `ParseAnyReference`.
    pub fn parse(s: &str) -> Result<ImageRef, ReferenceError> {
        if is_full_hex_id(s) {
            return Ok(ImageRef::Id(Digest::from_sha256_hex(s)?));
        }
        if let Ok(d) = Digest::parse(s) {
            return Ok(ImageRef::Id(d));
        }
        Reference::parse_normalized(s).map(ImageRef::Named)
    }
}

/// True for strings that may abbreviate an image or container ID (1 to 64 lower-case hex).
pub fn is_short_id_prefix(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn is_full_hex_id(s: &str) -> bool {
    s.len() == 64 && is_short_id_prefix(s)
}

fn split_docker_domain(name: &str) -> (&str, String) {
    let Some((maybe_domain, maybe_remote)) = name.split_once('/') else {
        return (DEFAULT_DOMAIN, format!("{OFFICIAL_REPO_PREFIX}{name}"));
    };
    let (domain, remote) = if maybe_domain == "localhost"
        || maybe_domain.contains(['.', ':'])
        || maybe_domain.to_lowercase() != maybe_domain
    {
        if maybe_domain == LEGACY_DEFAULT_DOMAIN {
            (DEFAULT_DOMAIN, maybe_remote.to_owned())
        } else {
            (maybe_domain, maybe_remote.to_owned())
        }
    } else {
        (DEFAULT_DOMAIN, name.to_owned())
    };
    if domain == DEFAULT_DOMAIN && !remote.contains('/') {
        return (domain, format!("{OFFICIAL_REPO_PREFIX}{remote}"));
    }
    (domain, remote)
}

/// Docker's `reference.Parse` on an already qualified string.
fn parse(s: &str) -> Result<Reference, ReferenceError> {
    let Some((name, tag, digest)) = split_reference(s) else {
        if s.is_empty() {
            return Err(ReferenceError::NameEmpty);
        }
        if split_reference(&s.to_lowercase()).is_some() {
            return Err(ReferenceError::NameContainsUppercase);
        }
        return Err(ReferenceError::InvalidFormat);
    };
    if name.len() > NAME_TOTAL_LENGTH_MAX {
        return Err(ReferenceError::NameTooLong);
    }
    let digest = digest.map(Digest::parse).transpose()?;
    // A parsed name always has a domain here: parse_normalized prepended one.
    let (domain, path) = name.split_once('/').ok_or(ReferenceError::InvalidFormat)?;
    Ok(Reference {
        domain: domain.to_owned(),
        path: path.to_owned(),
        tag: tag.map(str::to_owned),
        digest,
    })
}

/// Splits `name[:tag][@digest]` when every part matches the grammar.
fn split_reference(s: &str) -> Option<(&str, Option<&str>, Option<&str>)> {
    let (name_tag, digest) = match s.split_once('@') {
        Some((nt, d)) => (nt, Some(d)),
        None => (s, None),
    };
    if let Some(d) = digest {
        if !grammar::is_digest_shape(d) {
            return None;
        }
    }
    let (name, tag) = match name_tag.rsplit_once(':') {
        Some((n, t)) if !t.contains('/') => (n, Some(t)),
        _ => (name_tag, None),
    };
    if let Some(t) = tag {
        if !grammar::is_tag(t) {
            return None;
        }
    }
    grammar::is_name(name).then_some((name, tag, digest))
}

#[cfg(test)]
mod tests;
