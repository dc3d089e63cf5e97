//! Running the service: plain HTTP or TLS (rustls, certificate files), with graceful shutdown.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::config::TlsConfig;
use crate::{App, router};

/// How long in-flight requests may run after shutdown is asked for.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Auth(#[from] crate::auth::AuthError),
    #[error(transparent)]
    Storage(#[from] crate::storage::StorageError),
    #[error("creating storage root {path}: {source}")]
    Root {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("loading TLS certificate {cert} / key {key}: {source}")]
    Tls {
        cert: String,
        key: String,
        #[source]
        source: std::io::Error,
    },
    #[error("serving: {0}")]
    Io(#[from] std::io::Error),
}

/// Serve `app` on `listener` until `shutdown` completes, then drain open requests.
pub async fn serve(
    listener: std::net::TcpListener,
    app: Arc<App>,
    tls: Option<&TlsConfig>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    listener.set_nonblocking(true)?;
    let handle = axum_server::Handle::new();
    let h = handle.clone();
    tokio::spawn(async move {
        shutdown.await;
        tracing::info!("shutting down: draining in-flight requests");
        h.graceful_shutdown(Some(DRAIN_TIMEOUT));
    });
    let service = router(app).into_make_service();
    match tls {
        None => {
            axum_server::from_tcp(listener)
                .handle(handle)
                .serve(service)
                .await?
        }
        Some(t) => {
            // Several crypto providers may be compiled in; pick ring explicitly.
            let _ = rustls::crypto::ring::default_provider().install_default();
            let config = axum_server::tls_rustls::RustlsConfig::from_pem_file(&t.cert, &t.key)
                .await
                .map_err(|source| ServeError::Tls {
                    cert: t.cert.display().to_string(),
                    key: t.key.display().to_string(),
                    source,
                })?;
            axum_server::from_tcp_rustls(listener, config)
                .handle(handle)
                .serve(service)
                .await?
        }
    }
    Ok(())
}

/// Serve on a runtime of its own until SIGINT or SIGTERM, then drain (for the CLI).
pub fn serve_until_signal(
    listener: std::net::TcpListener,
    app: Arc<App>,
    tls: Option<&TlsConfig>,
) -> Result<(), ServeError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(serve(listener, app, tls, shutdown_signal()))
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}
