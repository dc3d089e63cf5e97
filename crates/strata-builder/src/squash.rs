//! `--squash`: the layers a build added on top of its final stage's base become one layer,
//! as dockerd's squash does: the build's history entries stay (marked empty) and a
//! `merge <id> to <base>` entry records the merged layer.

use strata_reference::Digest;
use strata_store::config::History;
use strata_store::{Image, Store};

use crate::error::{BuildError, Result};
use crate::image::{register_changes, staging_dir};

pub fn squash(store: &Store, img: &Image, base: Option<&Digest>, created: &str) -> Result<Digest> {
    let base_img = base.map(|b| store.image(b)).transpose()?;
    let base_layers = base_img
        .as_ref()
        .map_or(0, |b| b.config.rootfs.diff_ids.len());
    let base_history = base_img.as_ref().map_or(0, |b| b.config.history.len());
    let chains = img.chain_ids();
    let merged = staging_dir(store, "squash")?;
    for chain in &chains[base_layers..] {
        let path = store.layer_tar_path(chain);
        let file = std::fs::File::open(&path).map_err(BuildError::io("opening", &path))?;
        strata_store::layer::unpack::unpack_layer(std::io::BufReader::new(file), merged.path())
            .map_err(|e| BuildError::Other(format!("squashing layer {chain}: {e}")))?;
    }
    let base_chain = base_img
        .as_ref()
        .and_then(|b| b.chain_ids().last().cloned());
    let diff = register_changes(store, base_chain.as_ref(), merged.path(), &[])?;
    let mut config = img.config.clone();
    config.rootfs.diff_ids.truncate(base_layers);
    let mut history: Vec<History> = config.history.clone();
    for h in history.iter_mut().skip(base_history) {
        h.empty_layer = true;
    }
    let comment = match base {
        Some(b) => format!("merge {} to {}", img.id, b),
        None => format!("create new from {}", img.id),
    };
    history.push(History {
        created: Some(created.to_string()),
        comment,
        empty_layer: diff.is_none(),
        ..History::default()
    });
    if let Some(d) = diff {
        config.rootfs.diff_ids.push(d);
    }
    config.history = history;
    config.created = Some(created.to_string());
    let raw = serde_json::to_vec(&config).map_err(|e| BuildError::Other(e.to_string()))?;
    Ok(store.create_image(&raw, base.cloned())?)
}
