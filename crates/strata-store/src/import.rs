//! `import`: one root filesystem tarball (any supported compression) becomes a one-layer image.

use std::io::Read;

use strata_reference::{Digest, Reference};

use crate::changes::apply_changes;
use crate::compress::decompressed;
use crate::config::{
    ContainerConfig, History, ImageConfig, RootFs, go_rfc3339_nano, host_architecture,
};
use crate::error::{Result, StoreError};
use crate::store::Store;

#[derive(Debug, Default, Clone)]
pub struct ImportOptions {
    /// `-c/--change` instructions.
    pub changes: Vec<String>,
    /// `-m/--message`; when empty the comment says where the tar came from, as Docker's does.
    pub message: String,
    /// What the tar came from, for the default comment (`-` for standard input).
    pub source: String,
    pub reference: Option<Reference>,
    pub platform_os: Option<String>,
}

impl Store {
    pub fn import(&self, reader: impl Read, opts: &ImportOptions) -> Result<Digest> {
        let mut container_config = ContainerConfig::default();
        apply_changes(&mut container_config, &opts.changes)?;
        let _lock = self.lock()?;
        let (stream, _kind) = decompressed(reader)
            .map_err(StoreError::io("reading the import source", &opts.source))?;
        let layer = self.register_layer(None, stream, None)?;
        let created = go_rfc3339_nano(chrono::Utc::now());
        let comment = if opts.message.is_empty() {
            format!("Imported from {}", opts.source)
        } else {
            opts.message.clone()
        };
        let config = ImageConfig {
            architecture: host_architecture().to_owned(),
            comment: comment.clone(),
            config: Some(container_config),
            created: Some(created.clone()),
            os: opts
                .platform_os
                .clone()
                .unwrap_or_else(|| "linux".to_owned()),
            rootfs: RootFs {
                kind: "layers".into(),
                diff_ids: vec![layer.diff_id],
            },
            history: vec![History {
                created: Some(created),
                comment,
                ..History::default()
            }],
            ..ImageConfig::default()
        };
        let raw =
            serde_json::to_vec(&config).map_err(|e| StoreError::InvalidArchive(e.to_string()))?;
        let id = self.create_image(&raw, None)?;
        if let Some(r) = &opts.reference {
            let mut repos = self.read_repositories()?;
            repos.insert(r, &id);
            self.write_repositories(&repos)?;
            self.touch_tag_time(&id)?;
        }
        Ok(id)
    }
}
