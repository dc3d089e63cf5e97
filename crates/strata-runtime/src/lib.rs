//! Containers for strata: a container is a writable layer over an image's read-only layers
//! (`storage`), an OCI bundle generated from the image config and the flags (`spec`,
//! `bundle`), run by the embedded libcontainer or an external runc (`oci`) under a
//! per-container monitor process that holds its stdio, logs and exit (`monitor`). No daemon:
//! every command reads and checks the state on disk (`store`, `lifecycle`).
//!
//! Layout of one container, `<root>/containers/<id>/`:
//! `container.json` (record, Docker's inspect names), `.lock`, `bundle/config.json`,
//! `merged/` (rootfs mount point), `diff/` + `work/` (overlay upper and work dirs),
//! `hostname`, `hosts`, `resolv.conf`, `netavark.json` (what teardown undoes),
//! `<id>-json.log`, `init.pid`, `monitor.log`, `runtime.log`. Its network namespace is bound
//! at `/run/strata/netns/<id>` while it runs (`network`). Sockets live in `/run/strata/sock/<id>/`, runtime state in
//! `/run/strata/{youki,runc}/<id>/`; volumes in `<root>/volumes/<name>/_data`.

pub mod attach;
pub mod bundle;
pub mod cgroups;
pub mod copy;
pub mod create;
pub mod error;
pub mod exec;
pub mod lifecycle;
pub mod logs;
pub mod memory;
pub mod monitor;
pub mod names;
pub mod network;
pub mod oci;
pub mod procinfo;
pub mod record;
pub mod signals;
pub mod spec;
pub mod storage;
pub mod store;
pub mod userns;
pub mod volumes;

pub use create::{AttachStreams, CreateOptions, ImageRuntimeConfig, create};
pub use error::{Result, RuntimeError};
/// Re-exported so the CLI uses the same libc bindings for terminal and signal handling.
pub use libc;
pub use lifecycle::image_ids_in_use;
pub use record::ContainerRecord;
pub use store::ContainerStore;
