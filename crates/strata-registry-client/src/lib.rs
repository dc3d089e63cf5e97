//! Registry client: the Docker Registry HTTP API v2 / OCI distribution protocol (auth with
//! anonymous, Basic and bearer-token challenges; manifests and indexes; verified, resumable
//! blob transfer; chunked uploads and cross-repository mounts), Docker's credential file and
//! helpers, and pull into / push from the image store. The library never prints: progress is
//! reported through [`PullProgress`] and [`PushProgress`].

mod api;
mod blob_stream;
pub mod challenge;
mod client;
pub mod credentials;
pub mod distribution;
mod error;
pub mod hosts;
pub mod manifest;
pub mod pull;
pub mod push;
mod search;

pub use api::{CHUNK_SIZE, FetchedManifest, MONOLITHIC_MAX, MountResult, ProgressFn};
pub use blob_stream::BlobStream;
pub use client::{Registry, Scope};
pub use credentials::{Credentials, DockerConfig};
pub use error::{RegistryError, Result};
pub use hosts::HostSettings;
pub use manifest::PlatformSpec;
pub use pull::{PullOptions, PullProgress, PullResult, PullStatus, pull};
pub use push::{LayerCompression, PushOptions, PushProgress, PushResult, PushStatus, push};
pub use search::SearchResult;
