//! Image references (`docker.io/library/busybox:latest`, `localhost:5000/x@sha256:…`) and content
//! digests, with the grammar and normalization of Docker's `distribution/reference` package.
//!
//! Everything here is pure: no I/O, no store access. Other crates resolve a parsed reference
//! against the image store or a registry.

mod digest;
mod grammar;
mod reference;

pub use digest::{Algorithm, Digest, DigestError, Digester};
/// True when `path` is a valid repository path (`library/busybox`, `a/b/c`): lower-case
/// components joined by `/`, as the distribution spec's name grammar requires (no domain).
pub fn is_repository_path(path: &str) -> bool {
    grammar::is_path(path)
}

/// True when `tag` matches `[\w][\w.-]{0,127}`.
pub fn is_tag(tag: &str) -> bool {
    grammar::is_tag(tag)
}

pub use reference::{
    DEFAULT_DOMAIN, DEFAULT_TAG, ImageRef, Reference, ReferenceError, is_short_id_prefix,
};
