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

#[cfg(test)]
mod tests {
    use strata_reference::Reference;
    use strata_store::Store;

    use super::*;
    use crate::{BuildContext, BuildOptions, Quiet};

    /// Records what it is asked for; "pulls" by storing a config-only image.
    struct FakePuller<'s> {
        store: &'s Store,
        asked: Vec<String>,
        fail: bool,
    }

    impl ImagePuller for FakePuller<'_> {
        fn pull(&mut self, name: &str) -> std::result::Result<Digest, String> {
            self.asked.push(name.to_string());
            if self.fail {
                return Err(format!("manifest for {name} not found"));
            }
            let mut config = crate::image::scratch_config();
            config.created = Some(format!("2020-01-0{}T00:00:00Z", self.asked.len()));
            let raw = serde_json::to_vec(&config).map_err(|e| e.to_string())?;
            let id = self
                .store
                .create_image(&raw, None)
                .map_err(|e| e.to_string())?;
            let reference = Reference::parse_normalized(name)
                .map_err(|e| e.to_string())?
                .with_default_tag();
            self.store.tag(&id, &reference).map_err(|e| e.to_string())?;
            Ok(id)
        }
    }

    fn build_with(
        store: &Store,
        dockerfile: &str,
        pull: bool,
        puller: &mut FakePuller<'_>,
    ) -> Result<Digest> {
        let ctx_dir = tempfile::tempdir().expect("context");
        let context = BuildContext::from_dir(ctx_dir.path(), None).expect("context");
        let opts = BuildOptions {
            dockerfile: dockerfile.as_bytes().to_vec(),
            pull,
            ..BuildOptions::default()
        };
        crate::build(store, &context, &opts, &mut Quiet, puller)
    }

    #[test]
    fn the_puller_is_asked_for_missing_images_and_for_every_from_with_pull() {
        let root = tempfile::tempdir().expect("root");
        let store = Store::open(root.path()).expect("store");
        let mut puller = FakePuller {
            store: &store,
            asked: Vec::new(),
            fail: false,
        };
        let df = "FROM base\nLABEL a=1\n";
        build_with(&store, df, false, &mut puller).expect("pulled and built");
        assert_eq!(puller.asked, ["base"]);
        build_with(&store, df, false, &mut puller).expect("stored now");
        assert_eq!(puller.asked, ["base"], "a stored image is not pulled");
        build_with(
            &store,
            "FROM base AS a\nFROM base\nFROM a\n",
            true,
            &mut puller,
        )
        .expect("--pull");
        assert_eq!(
            puller.asked,
            ["base", "base", "base"],
            "--pull: each FROM of an image, never a stage"
        );
    }

    #[test]
    fn a_failed_pull_fails_the_from_step_with_the_pullers_message() {
        let root = tempfile::tempdir().expect("root");
        let store = Store::open(root.path()).expect("store");
        let mut puller = FakePuller {
            store: &store,
            asked: Vec::new(),
            fail: true,
        };
        let err = build_with(
            &store,
            "FROM scratch\nCOPY --from=gone /x /x\n",
            false,
            &mut puller,
        )
        .expect_err("missing");
        assert_eq!(err.line(), Some(2));
        assert_eq!(
            err.to_string(),
            "invalid from flag value gone: manifest for gone not found"
        );
        let err = build_with(&store, "FROM gone\n", false, &mut puller).expect_err("missing");
        assert_eq!(err.line(), Some(1));
        assert_eq!(err.to_string(), "manifest for gone not found");
    }
}
