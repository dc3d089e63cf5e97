//! Layers: identified by diff ID (sha256 of the uncompressed tar) and stored by chain ID, so
//! the same stack of layers is unpacked once and shared by every image that uses it.
//!
//! On disk, `layers/sha256/<chain-id-hex>/` holds `diff/` (the unpacked layer in overlay
//! format), `layer.tar` (the exact uncompressed tar, so `save` and `push` reproduce the diff ID
//! byte for byte) and `meta.json`.

pub mod changes;
pub mod pack;
mod size;
pub mod unpack;

use serde::{Deserialize, Serialize};
use strata_reference::Digest;

pub use size::directory_size;

/// Docker's chain ID: the identity of a layer together with everything beneath it.
pub fn chain_id(parent: Option<&Digest>, diff_id: &Digest) -> Digest {
    match parent {
        None => diff_id.clone(),
        Some(p) => Digest::sha256_of(format!("{p} {diff_id}").as_bytes()),
    }
}

/// The chain IDs of every prefix of a layer stack, bottom first.
pub fn chain_ids(diff_ids: &[Digest]) -> Vec<Digest> {
    let mut out: Vec<Digest> = Vec::with_capacity(diff_ids.len());
    for d in diff_ids {
        let next = chain_id(out.last(), d);
        out.push(next);
    }
    out
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LayerMeta {
    pub diff_id: Digest,
    pub chain_id: Digest,
    pub parent: Option<Digest>,
    /// Docker's DiffSize: bytes of the unpacked files, each inode counted once.
    pub size: u64,
    /// Bytes of the uncompressed tar.
    pub tar_size: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_ids_follow_the_image_spec() {
        let a = Digest::sha256_of(b"a");
        let b = Digest::sha256_of(b"b");
        let ids = chain_ids(&[a.clone(), b.clone()]);
        assert_eq!(ids[0], a);
        assert_eq!(ids[1], Digest::sha256_of(format!("{a} {b}").as_bytes()));
    }
}
