//! The image store: content-addressed blobs, layers by diff ID and chain ID (unpacked once,
//! shared by every image), images identified by their config digest, and tags per repository.
//! Also the archive formats that move images in and out: `import`, `save`, `load`.
//!
//! Writes are crash-safe (temp, fsync, rename; an image becomes visible only when its record is
//! written, after its config and layers) and concurrent `strata` processes serialize their
//! changes on one store lock. The library never prints; callers render results.

pub mod archive;
mod atomic;
pub mod changes;
mod commit;
pub mod compress;
pub mod config;
mod delete;
mod error;
mod images;
mod import;
pub mod layer;
mod lock;
mod store;
mod tags;

pub use archive::{LoadedImage, SaveFormat};
pub use commit::{ChangeSource, CommitOptions, EMPTY_LAYER_DIFF_ID, HashingWriter};
pub use delete::{DeleteEvent, ImageUser, RemoveOptions};
pub use error::{Result, StoreError};
pub use images::{Image, ImageRecord};
pub use import::ImportOptions;
pub use lock::StoreLock;
pub use store::{StagedLayer, Store};
