//! Removing images with the daemon's rules (`daemon/images/image_delete.go`): untag versus
//! delete, conflicts with containers and child images, untagged parents pruned, and layers
//! released once no image uses them.

use std::collections::HashSet;
use std::fs;

use strata_reference::{Digest, ImageRef, Reference};

use crate::error::{Result, StoreError};
use crate::images::Image;
use crate::store::Store;

/// One line of `rmi`'s output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeleteEvent {
    Untagged(String),
    Deleted(Digest),
}

/// A container that uses an image, as the runtime reports it.
#[derive(Debug, Clone)]
pub struct ImageUser {
    pub container_id: String,
    pub image_id: Digest,
    pub running: bool,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct RemoveOptions {
    pub force: bool,
    /// `--no-prune`: keep untagged parents.
    pub no_prune: bool,
}

fn short(s: &str) -> &str {
    let hex = s.strip_prefix("sha256:").unwrap_or(s);
    &hex[..hex.len().min(12)]
}

impl Store {
    /// `rmi INPUT`.
    pub fn remove_image(
        &self,
        input: &str,
        opts: RemoveOptions,
        users: &[ImageUser],
    ) -> Result<Vec<DeleteEvent>> {
        let _lock = self.lock()?;
        let id = self.resolve_image(input)?;
        let mut events = Vec::new();
        let mut repos = self.read_repositories()?;
        let refs = repos.references_to(&id);
        let by_id = self.is_id_reference(input, &id);

        if !by_id {
            let named = match ImageRef::parse(input)? {
                ImageRef::Named(n) => n.with_default_tag(),
                ImageRef::Id(_) => unreachable_named(input)?,
            };
            let last_reference = refs.len() == 1;
            if last_reference && !opts.force {
                if let Some(user) = users.iter().find(|u| u.image_id == id) {
                    return Err(StoreError::Conflict(format!(
                        "conflict: unable to remove repository reference \"{}\" (must force) - container {} is using its referenced image {}",
                        input,
                        short(&user.container_id),
                        short(id.hex())
                    )));
                }
            }
            repos.remove(&named);
            self.write_repositories(&repos)?;
            events.push(DeleteEvent::Untagged(named.familiar_string()));
            if !last_reference {
                return Ok(events);
            }
            self.delete_image_quietly_or(&id, opts, users, true, &mut events)?;
            return Ok(events);
        }

        if !refs.is_empty() {
            let repositories: HashSet<String> = refs.iter().map(Reference::name).collect();
            if !opts.force && repositories.len() > 1 {
                return Err(StoreError::Conflict(format!(
                    "conflict: unable to delete {} (must be forced) - image is referenced in multiple repositories",
                    short(id.hex())
                )));
            }
        }
        // Check conflicts before untagging, so a refused delete changes nothing.
        if let Some(err) = self.delete_conflict(&id, opts.force, users)? {
            return Err(err);
        }
        for r in &refs {
            repos.remove(r);
            events.push(DeleteEvent::Untagged(r.familiar_string()));
        }
        self.write_repositories(&repos)?;
        self.delete_image_quietly_or(&id, opts, users, false, &mut events)?;
        Ok(events)
    }

    fn delete_conflict(
        &self,
        id: &Digest,
        force: bool,
        users: &[ImageUser],
    ) -> Result<Option<StoreError>> {
        let conflict = |hard: bool, what: String| {
            let how = if hard {
                "cannot be forced"
            } else {
                "must be forced"
            };
            StoreError::Conflict(format!(
                "conflict: unable to delete {} ({how}) - {what}",
                short(id.hex())
            ))
        };
        if !self.children(id)?.is_empty() {
            return Ok(Some(conflict(
                true,
                "image has dependent child images".into(),
            )));
        }
        if let Some(u) = users.iter().find(|u| &u.image_id == id && u.running) {
            return Ok(Some(conflict(
                true,
                format!(
                    "image is being used by running container {}",
                    short(&u.container_id)
                ),
            )));
        }
        if !force {
            if let Some(u) = users.iter().find(|u| &u.image_id == id) {
                return Ok(Some(conflict(
                    false,
                    format!(
                        "image is being used by stopped container {}",
                        short(&u.container_id)
                    ),
                )));
            }
        }
        Ok(None)
    }

    /// Deletes an untagged image; `quiet` turns a conflict into "keep it" (as after an untag).
    fn delete_image_quietly_or(
        &self,
        id: &Digest,
        opts: RemoveOptions,
        users: &[ImageUser],
        quiet: bool,
        events: &mut Vec<DeleteEvent>,
    ) -> Result<()> {
        if let Some(err) = self.delete_conflict(id, opts.force, users)? {
            return if quiet { Ok(()) } else { Err(err) };
        }
        let image = self.image(id)?;
        self.delete_untagged(&image, events)?;
        if let (Some(parent), false) = (image.record.parent.clone(), opts.no_prune) {
            let parent_untagged =
                self.image_exists(&parent) && self.references(&parent)?.is_empty();
            if parent_untagged {
                self.delete_image_quietly_or(&parent, opts, users, true, events)?;
            }
        }
        Ok(())
    }

    /// Removes the record and config of an image that has no references, then its unused layers.
    pub(crate) fn delete_untagged(
        &self,
        image: &Image,
        events: &mut Vec<DeleteEvent>,
    ) -> Result<()> {
        self.remove_record(&image.id)?;
        let blob = self.blob_path(&image.id);
        let _ = fs::remove_file(&blob);
        events.push(DeleteEvent::Deleted(image.id.clone()));
        let in_use = self.chain_ids_in_use()?;
        for chain in image.chain_ids().iter().rev() {
            if in_use.contains(chain) || !self.layer_exists(chain) {
                continue;
            }
            self.remove_layer(chain)?;
            events.push(DeleteEvent::Deleted(chain.clone()));
        }
        Ok(())
    }

    fn chain_ids_in_use(&self) -> Result<HashSet<Digest>> {
        let mut used = HashSet::new();
        for id in self.image_ids()? {
            if let Ok(img) = self.image(&id) {
                used.extend(img.chain_ids());
            }
        }
        Ok(used)
    }

    /// Renames the layer out of sight first, so it vanishes atomically, then deletes it.
    fn remove_layer(&self, chain: &Digest) -> Result<()> {
        let path = self.layer_path(chain);
        let staging = self.staging()?;
        let graveyard = staging.path().join("layer");
        fs::rename(&path, &graveyard).map_err(StoreError::io("removing layer", &path))?;
        drop(staging); // removes the directory tree
        Ok(())
    }

    /// `image prune`: dangling images (no references, no children), or with `all` every image
    /// no container uses. Returns the events and the bytes reclaimed.
    pub fn prune_images(
        &self,
        all: bool,
        users: &[ImageUser],
        keep: impl Fn(&Image) -> bool,
    ) -> Result<(Vec<DeleteEvent>, u64)> {
        let _lock = self.lock()?;
        let mut events = Vec::new();
        let mut reclaimed = 0u64;
        // Deleting a child can make its parent prunable, so go until nothing changes.
        loop {
            let mut progressed = false;
            for (image, refs) in self.list_images()? {
                if users.iter().any(|u| u.image_id == image.id)
                    || !self.children(&image.id)?.is_empty()
                {
                    continue;
                }
                if (!all && !refs.is_empty()) || keep(&image) {
                    continue;
                }
                let mut repos = self.read_repositories()?;
                for r in &refs {
                    repos.remove(r);
                    events.push(DeleteEvent::Untagged(r.familiar_string()));
                }
                self.write_repositories(&repos)?;
                let before = self.layer_bytes(&image);
                let mut local = Vec::new();
                self.delete_untagged(&image, &mut local)?;
                reclaimed += local
                    .iter()
                    .skip(1)
                    .filter_map(|e| match e {
                        DeleteEvent::Deleted(d) => {
                            before.iter().find(|(c, _)| c == d).map(|(_, s)| *s)
                        }
                        _ => None,
                    })
                    .sum::<u64>();
                events.extend(local);
                progressed = true;
            }
            if !progressed {
                break;
            }
        }
        Ok((events, reclaimed))
    }

    fn layer_bytes(&self, image: &Image) -> Vec<(Digest, u64)> {
        image
            .chain_ids()
            .into_iter()
            .filter_map(|c| self.layer_meta(&c).ok().map(|m| (c, m.size)))
            .collect()
    }
}

fn unreachable_named(input: &str) -> Result<Reference> {
    Err(StoreError::ImageNotFound(input.to_owned()))
}
