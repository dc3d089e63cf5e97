//! Base images the store lacks: the classic builder asks the daemon to pull them, and its
//! pull output becomes part of the build output. This crate knows no registry, so the caller
//! brings one: the CLI pulls through strata-registry-client and prints Docker's pull lines.

use strata_reference::Digest;
use strata_store::{Image, StoreError};

use crate::builder::Builder;
use crate::error::{BuildError, Result};

/// Pulls base images into the store for the build.
pub trait ImagePuller {
    /// Pulls `name` (a FROM or `COPY --from` image, variables expanded) into the store and
    /// returns its image ID, or the message the build fails with, in Docker's wording
    /// (`manifest for x:1 not found: manifest unknown: manifest unknown`).
    fn pull(&mut self, name: &str) -> std::result::Result<Digest, String>;
}

/// No registry: a missing base image fails the build.
pub struct NoPull;

impl ImagePuller for NoPull {
    fn pull(&mut self, name: &str) -> std::result::Result<Digest, String> {
        Err(format!(
            "pull access denied for {name}: no registry access in this build; load or import it first"
        ))
    }
}

impl Builder<'_> {
    /// The image `name` from the store, pulled first when missing or when `--pull` asks to
    /// (Docker's `GetImageAndReleasableLayer` with `PullOptionForcePull`).
    pub fn base_image(&mut self, name: &str) -> Result<Image> {
        if !self.opts.pull {
            match self.store.resolve_image(name) {
                Ok(id) => return Ok(self.store.image(&id)?),
                Err(StoreError::ImageNotFound(_)) => {}
                Err(other) => return Err(BuildError::Other(other.to_string())),
            }
        }
        tracing::debug!(image = name, force = self.opts.pull, "pulling a base image");
        let id = self.puller.pull(name).map_err(BuildError::Other)?;
        Ok(self.store.image(&id)?)
    }
}
