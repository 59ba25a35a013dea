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
pub mod charts;
pub mod db;
pub mod demo;
pub mod error;
pub mod export;
pub mod intake;
pub mod metrics;
pub mod owner;
pub mod report;
pub mod search;
pub mod state;
pub mod store;
pub mod todo;
pub mod web;

use std::net::SocketAddr;
use std::path::PathBuf;

pub use api::{BlobStatus, MAX_BLOB, MAX_CHUNK};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
pub use state::{AppState, Config, ServeOptions};

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
        .merge(web::routes(state.clone()))
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
    serve_opts(cfg, ServeOptions::default(), listener, shutdown).await
}

/// [`serve_with`] with serving options (the `/metrics` token, the catch-up interval).
pub async fn serve_opts(
    cfg: Config,
    options: ServeOptions,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let c = cfg.clone();
    let every = options.catch_up_every;
    let state = tokio::task::spawn_blocking(move || AppState::open_opts(&c, options)).await??;
    let addr: SocketAddr = listener.local_addr()?;
    let database = cfg.database.as_deref().map(db::redact);
    tracing::info!(%addr, data = %cfg.data.display(), database = database.as_deref().unwrap_or("sqlite"), "relay listening");
    let keep = state.clone();
    // With several relays on one database, the office's figures follow the others' syncs on a
    // schedule of their own, never inside a page's request.
    let catching_up = cfg.database.is_some().then(|| {
        let s = state.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if let Err(e) = s.with_store(|st| st.catch_up()).await {
                    tracing::warn!(error = %e.0, "catching up with the shared change log failed; trying again");
                }
            }
        })
    });
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await?;
    if let Some(t) = catching_up {
        t.abort();
        // Its copy of the state must be gone before the last one is dropped off the runtime.
        let _ = t.await;
    }
    // The PostgreSQL client closes its connection by blocking: not on an async worker.
    tokio::task::spawn_blocking(move || drop(keep)).await?;
    tracing::info!("relay stopped");
    Ok(())
}
