//! gridsafe-server: the relay. HTTP (axum) over [`store::RelayStore`]; every merge and record check
//! is gridsafe-core's.
//!
//! Endpoints (protocol v1, docs/protocol.md):
//! - `POST /v1/enroll` (JSON) — user name and password → device token and actor bindings.
//! - `POST /v1/sync` (CBOR, `Authorization: Bearer TOKEN`) — push and pull in one round trip.
//! - `GET /healthz`, `GET /metrics` (Prometheus text format).
//! - The office dashboard ([`web`]): `/login`, `/hazards` (ledger, CSV), `/hazards/{id}`.

pub mod api;
pub mod backup;
pub mod blobs;
pub mod db;
pub mod demo;
pub mod error;
pub mod intake;
pub mod metrics;
pub mod owner;
pub mod report;
pub mod state;
pub mod store;
pub mod web;

use std::net::SocketAddr;
use std::path::PathBuf;

pub use api::{BlobStatus, MAX_BLOB, MAX_CHUNK};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
pub use state::{AppState, Config};

/// Largest sync request body accepted.
pub const MAX_SYNC_BODY: usize = 32 * 1024 * 1024;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(metrics::metrics))
        .route(
            "/v1/enroll",
            post(api::enroll).layer(DefaultBodyLimit::max(64 * 1024)),
        )
        .route(
            "/v1/sync",
            post(api::sync).layer(DefaultBodyLimit::max(MAX_SYNC_BODY)),
        )
        .route(
            "/v1/blobs/{sha}",
            get(api::blob_get)
                .put(api::blob_put)
                .layer(DefaultBodyLimit::max(MAX_CHUNK)),
        )
        .route("/v1/blobs/{sha}/status", get(api::blob_status))
        .route("/v1/owner-key", get(api::owner_key))
        .merge(web::routes())
        .with_state(state)
}

/// Serves until `shutdown` resolves, then finishes in-flight requests.
pub async fn serve(
    data: PathBuf,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    serve_with(Config::local(data), listener, shutdown).await
}

/// [`serve`] with the shared database and blob directory of a multi-relay deployment.
pub async fn serve_with(
    cfg: Config,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let c = cfg.clone();
    let state = tokio::task::spawn_blocking(move || AppState::open_with(&c)).await??;
    let addr: SocketAddr = listener.local_addr()?;
    let database = cfg.database.as_deref().map(db::redact);
    tracing::info!(%addr, data = %cfg.data.display(), database = database.as_deref().unwrap_or("sqlite"), "relay listening");
    let keep = state.clone();
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await?;
    // The PostgreSQL client closes its connection by blocking: not on an async worker.
    tokio::task::spawn_blocking(move || drop(keep)).await?;
    tracing::info!("relay stopped");
    Ok(())
}
