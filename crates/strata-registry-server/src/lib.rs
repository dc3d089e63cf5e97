//! `strata registry serve`: an OCI distribution spec v1.1 / Docker Registry HTTP API v2 server.
//!
//! - [`Config`] is the YAML configuration; [`App::from_config`] builds the state (storage
//!   driver, auth, metrics) and [`router`] the axum service; [`serve`] runs it on a listener with
//!   optional TLS and graceful shutdown.
//! - [`gc::collect`] is the mark-and-sweep garbage collector behind `strata registry gc`.
//! - Storage goes through the [`storage::Driver`] trait; [`storage::FsDriver`] is the filesystem
//!   backend.

#![allow(
    clippy::result_large_err,
    reason = "ApiError (code, detail, headers) is built once per failed request, off the hot path"
)]

use std::path::PathBuf;
use std::sync::Arc;

pub mod auth;
pub mod config;
pub mod error;
pub mod gc;
pub mod manifest;
mod metrics;
pub mod names;
mod routes;
mod server;
pub mod storage;
mod store;
mod uploads;

pub use config::{Config, ConfigError};
pub use metrics::Metrics;
pub use server::{ServeError, serve, serve_until_signal};
pub use store::Store;

/// Behaviour switches taken from the config and flags.
#[derive(Debug, Clone)]
pub struct Options {
    pub read_only: bool,
    pub delete_enabled: bool,
    pub max_manifest_bytes: u64,
    pub max_blob_bytes: Option<u64>,
    pub max_concurrent_requests: Option<usize>,
    /// Served over TLS (decides the scheme of the default token realm).
    pub tls: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            read_only: false,
            delete_enabled: false,
            max_manifest_bytes: config::DEFAULT_MAX_MANIFEST_BYTES,
            max_blob_bytes: None,
            max_concurrent_requests: None,
            tls: false,
        }
    }
}

/// Everything a request handler needs.
pub struct App {
    pub store: Store,
    pub options: Options,
    pub auth: Option<auth::Auth>,
    pub metrics: Metrics,
    /// Requests being served now (for `max_concurrent_requests`).
    pub(crate) in_flight: std::sync::atomic::AtomicUsize,
}

impl App {
    pub fn new(
        driver: Arc<dyn storage::Driver>,
        options: Options,
        auth: Option<auth::Auth>,
    ) -> App {
        let mut store = Store::new(driver);
        store.max_blob_bytes = options.max_blob_bytes;
        App {
            store,
            options,
            auth,
            metrics: Metrics::default(),
            in_flight: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// Build the state from a config; `default_root` is used when the config names no root.
    pub fn from_config(config: &Config, default_root: PathBuf) -> Result<App, ServeError> {
        let storage = config.storage_config()?;
        let driver: Arc<dyn storage::Driver> = if storage.driver == "s3" {
            let bucket = storage.bucket.as_deref().unwrap_or_default();
            Arc::new(
                storage::S3Driver::connect(
                    bucket,
                    storage.region.as_deref().unwrap_or("us-east-1"),
                    storage.endpoint.as_deref(),
                    storage.access_key.as_deref(),
                    storage.secret_key.as_deref(),
                )?
                .with_prefix(storage.prefix.as_deref().unwrap_or(""))?,
            )
        } else {
            let root = storage.root.unwrap_or(default_root);
            std::fs::create_dir_all(&root).map_err(|source| ServeError::Root {
                path: root.display().to_string(),
                source,
            })?;
            Arc::new(storage::FsDriver::new(root))
        };
        let auth = match &config.auth {
            Some(a) => Some(auth::Auth::from_config(a)?),
            None => None,
        };
        let options = Options {
            read_only: config.read_only,
            delete_enabled: config.delete_enabled,
            max_manifest_bytes: config.limits.max_manifest_bytes,
            max_blob_bytes: config.limits.max_blob_bytes,
            max_concurrent_requests: config.limits.max_concurrent_requests,
            tls: config.tls.is_some(),
        };
        Ok(App::new(driver, options, auth))
    }
}

/// The axum service for an `App`.
pub fn router(app: Arc<App>) -> axum::Router {
    axum::Router::new().fallback(routes::handle).with_state(app)
}
