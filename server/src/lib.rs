//! gridsafe-server: the relay. HTTP (axum) over [`store::RelayStore`]; every merge and record check
//! is gridsafe-core's.
//!
//! Endpoints (protocol v1, docs/protocol.md):
//! - `POST /v1/enroll` (JSON) — user name and password → device token and actor bindings.
//! - `POST /v1/sync` (CBOR, `Authorization: Bearer TOKEN`) — push and pull in one round trip.
//! - `GET /healthz`, `GET /metrics` (Prometheus text format).
//! - The office dashboard ([`web`]): `/login`, `/hazards` (ledger, CSV), `/hazards/{id}`.

pub mod backup;
pub mod blobs;
pub mod db;
pub mod demo;
pub mod error;
pub mod intake;
pub mod owner;
pub mod report;
pub mod store;
pub mod web;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path as AxPath, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use gridsafe_core::sync::{PROTOCOL, SyncRequest, SyncResponse};
use serde::Deserialize;
use store::{Readers, RelayError, RelayStore};

/// Largest sync request body accepted.
pub const MAX_SYNC_BODY: usize = 32 * 1024 * 1024;

#[derive(Debug, Default)]
struct Metrics {
    syncs: AtomicU64,
    sync_errors: AtomicU64,
    docs_accepted: AtomicU64,
    docs_refused: AtomicU64,
    enrolments: AtomicU64,
}

/// Read-only connections for pulls: one per core is enough to keep both cores busy.
const READERS: usize = 4;

#[derive(Clone, Debug)]
pub struct AppState {
    store: Arc<Mutex<RelayStore>>,
    pub(crate) readers: Arc<Readers>,
    metrics: Arc<Metrics>,
    pub(crate) blobs: Arc<dyn blobs::BlobStore>,
}

/// Where a relay keeps its data.
#[derive(Clone, Debug, Default)]
pub struct Config {
    /// The local directory: the SQLite file (every table, or with `database` the office's and
    /// the projections) and, unless `blobs` says otherwise, the photos.
    pub data: PathBuf,
    /// A `postgres://` URL: the shared tables live there, for several relays on one database.
    pub database: Option<String>,
    /// The photos' directory, when it is not `DATA/blobs` (a path every relay mounts).
    pub blobs: Option<PathBuf>,
}

impl Config {
    pub fn local(data: impl Into<PathBuf>) -> Config {
        Config {
            data: data.into(),
            ..Config::default()
        }
    }

    pub fn blob_root(&self) -> PathBuf {
        self.blobs
            .clone()
            .unwrap_or_else(|| self.data.join("blobs"))
    }

    /// Opens the store this configuration names (as the admin commands do).
    pub fn open_store(&self) -> Result<RelayStore, RelayError> {
        RelayStore::open_with(&self.data, self.database.as_deref())
    }
}

impl AppState {
    /// The relay's state as `cfg` places it (database, photos).
    pub fn open_with(cfg: &Config) -> Result<AppState, RelayError> {
        let store = cfg.open_store()?;
        let readers = Readers::open_with(&cfg.data, cfg.database.as_deref(), READERS)?;
        Ok(AppState {
            store: Arc::new(Mutex::new(store)),
            readers: Arc::new(readers),
            metrics: Arc::default(),
            blobs: Arc::new(blobs::FsBlobStore::new(cfg.blob_root())),
        })
    }

    /// Runs blocking work off the async runtime, without the store lock.
    pub(crate) async fn blocking<T: Send + 'static>(
        f: impl FnOnce() -> Result<T, RelayError> + Send + 'static,
    ) -> Result<T, ApiError> {
        tokio::task::spawn_blocking(f)
            .await
            .map_err(|e| ApiError(RelayError::Storage(e.to_string())))?
            .map_err(ApiError)
    }

    /// Runs `f` on the store off the async runtime (SQLite and automerge work is blocking).
    pub(crate) async fn with_store<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut RelayStore) -> Result<T, RelayError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = store
                .lock()
                .map_err(|_| RelayError::Storage("store lock poisoned".into()))?;
            f(&mut guard)
        })
        .await
        .map_err(|e| ApiError(RelayError::Storage(e.to_string())))?
        .map_err(ApiError)
    }
}

#[derive(Debug)]
struct ApiError(RelayError);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match &self.0 {
            RelayError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            RelayError::Forbidden(_) => StatusCode::FORBIDDEN,
            RelayError::BadRequest(_) => StatusCode::BAD_REQUEST,
            RelayError::NotFound(_) => StatusCode::NOT_FOUND,
            RelayError::Refused(_) => StatusCode::CONFLICT,
            RelayError::TooMany(_) => StatusCode::TOO_MANY_REQUESTS,
            RelayError::Storage(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %self.0, "request failed");
            // The details (SQL, database host, file paths) are for the relay's log, not for
            // whoever sent the request; the phone keeps its work and tries again.
            return (
                status,
                "storage error on the relay (logged there); try again later",
            )
                .into_response();
        }
        tracing::info!(error = %self.0, status = status.as_u16(), "request refused");
        (status, self.0.to_string()).into_response()
    }
}

/// `password` or `code` (a one-time enrolment code from `gridsafe-server admin enrol-code`).
#[derive(Debug, Deserialize)]
struct EnrollBody {
    user: String,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    device_name: String,
    #[serde(default)]
    actors: Vec<String>,
}

async fn enroll(
    State(s): State<AppState>,
    Json(b): Json<EnrollBody>,
) -> Result<impl IntoResponse, ApiError> {
    let name = if b.device_name.trim().is_empty() {
        "phone".to_owned()
    } else {
        b.device_name.chars().take(64).collect()
    };
    let e = s
        .with_store(move |st| match (&b.password, &b.code) {
            (Some(p), None) => st.enroll(&b.user, p, &name, &b.actors),
            (None, Some(c)) => st.enroll_with_code(&b.user, c, &name, &b.actors),
            _ => Err(RelayError::BadRequest(
                "give either a password or an enrolment code".into(),
            )),
        })
        .await?;
    s.metrics.enrolments.fetch_add(1, Ordering::Relaxed);
    tracing::info!(user = %e.user_id, device = %e.device_id, "device enrolled");
    Ok(Json(e))
}

fn bearer(h: &HeaderMap) -> Result<String, ApiError> {
    h.get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned)
        .ok_or_else(|| ApiError(RelayError::Unauthorized("missing bearer token".into())))
}

/// One sync round trip, in the phases described in `store`: only looking up the stored records
/// and writing the accepted ones hold the store lock; decoding, checking, pulling and encoding
/// run beside other requests.
async fn sync_phases(s: &AppState, token: String, body: Bytes) -> Result<Vec<u8>, ApiError> {
    let device = s.with_store(move |st| st.authenticate(&token)).await?;
    store::refuse_admin(&device).map_err(ApiError)?;
    let req = AppState::blocking(move || {
        SyncRequest::decode(&body).map_err(|e| RelayError::BadRequest(e.to_string()))
    })
    .await?;
    let req = Arc::new(req);
    let r = req.clone();
    let stored = s.with_store(move |st| st.stored(&r)).await?;
    let (r, dev) = (req.clone(), device.clone());
    let checked = AppState::blocking(move || {
        Ok(r.push
            .iter()
            .zip(&stored)
            .map(|(d, b)| store::check(&dev, d, b.as_deref()))
            .collect::<Vec<_>>())
    })
    .await?;
    let (r, dev) = (req.clone(), device.clone());
    let store::Committed {
        accepted,
        refused,
        directory,
        templates,
    } = s.with_store(move |st| st.commit(&dev, &r, checked)).await?;
    let (readers, dev, cursor) = (s.readers.clone(), device.clone(), req.cursor);
    let metrics = s.metrics.clone();
    AppState::blocking(move || {
        let (pull, cursor, more, actors) = readers.with_db(|db| store::pull(db, &dev, cursor))?;
        tracing::info!(device = %dev.id, user = %dev.user.id, pushed = req.push.len(), accepted = accepted.len(),
            refused = refused.len(), pulled = pull.len(), cursor, "sync");
        metrics.docs_accepted.fetch_add(accepted.len() as u64, Ordering::Relaxed);
        metrics.docs_refused.fetch_add(refused.len() as u64, Ordering::Relaxed);
        let resp = SyncResponse { protocol: PROTOCOL, accepted, refused, pull, cursor, more, directory, templates, actors };
        Ok(resp.encode())
    })
    .await
}

async fn sync(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let token = bearer(&headers)?;
    s.metrics.syncs.fetch_add(1, Ordering::Relaxed);
    match sync_phases(&s, token, body).await {
        Ok(bytes) => Ok(([(header::CONTENT_TYPE, "application/cbor")], bytes).into_response()),
        Err(e) => {
            s.metrics.sync_errors.fetch_add(1, Ordering::Relaxed);
            Err(e)
        }
    }
}

/// Largest photo accepted, and the largest chunk of one upload request.
pub const MAX_BLOB: u64 = 40 * 1024 * 1024;
pub const MAX_CHUNK: usize = 1024 * 1024;

pub(crate) fn check_sha(sha: &str) -> Result<(), ApiError> {
    // Also what keeps a blob id from ever naming a path outside the blob directory.
    if sha.len() == 64
        && sha
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        Ok(())
    } else {
        Err(ApiError(RelayError::BadRequest(format!(
            "blob id {sha:?} is not a lowercase SHA-256 hex string"
        ))))
    }
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct BlobStatus {
    /// Bytes the relay holds of this photo (the client resumes from here).
    pub have: u64,
    pub complete: bool,
}

async fn blob_status(
    State(s): State<AppState>,
    headers: HeaderMap,
    AxPath(sha): AxPath<String>,
) -> Result<Json<BlobStatus>, ApiError> {
    let token = bearer(&headers)?;
    check_sha(&sha)?;
    let complete = s
        .with_store(move |st| {
            st.authenticate(&token)?;
            st.blob_complete(&sha).map(|c| (sha, c))
        })
        .await?;
    let blobs = s.blobs.clone();
    let st = AppState::blocking(move || {
        let (sha, complete) = complete;
        if complete && let Some(size) = blobs.size(&sha)? {
            return Ok(BlobStatus {
                have: size,
                complete: true,
            });
        }
        Ok(BlobStatus {
            have: blobs.partial(&sha)?,
            complete: false,
        })
    })
    .await?;
    Ok(Json(st))
}

#[derive(Debug, Deserialize)]
struct ChunkQuery {
    offset: u64,
    total: u64,
}

/// Appends one chunk at `offset`; on the last chunk the whole file is checked against its SHA-256
/// before it becomes visible. An offset other than the bytes held → 409 with the relay's count,
/// from which the client resumes. File work runs without the store lock.
async fn blob_put(
    State(s): State<AppState>,
    headers: HeaderMap,
    AxPath(sha): AxPath<String>,
    Query(q): Query<ChunkQuery>,
    body: Bytes,
) -> Result<(StatusCode, Json<BlobStatus>), ApiError> {
    let token = bearer(&headers)?;
    check_sha(&sha)?;
    if q.total == 0 || q.total > MAX_BLOB {
        return Err(ApiError(RelayError::BadRequest(format!(
            "photo size {} is outside 1..={MAX_BLOB} bytes",
            q.total
        ))));
    }
    if q.offset + body.len() as u64 > q.total {
        return Err(ApiError(RelayError::BadRequest(
            "chunk runs past the declared total".into(),
        )));
    }
    let (device, complete) = {
        let sha = sha.clone();
        s.with_store(move |st| {
            let device = st.authenticate(&token)?;
            Ok((device, st.blob_complete(&sha)?))
        })
        .await?
    };
    if complete {
        return Ok((
            StatusCode::OK,
            Json(BlobStatus {
                have: q.total,
                complete: true,
            }),
        ));
    }
    let blobs = s.blobs.clone();
    let sha2 = sha.clone();
    let appended =
        AppState::blocking(move || blobs.append(&sha2, q.offset, &body, q.total)).await?;
    match appended {
        // Not an error the client must show: it resumes from what the relay holds.
        blobs::Appended::Resume { have } => Ok((
            StatusCode::CONFLICT,
            Json(BlobStatus {
                have,
                complete: false,
            }),
        )),
        blobs::Appended::Partial { have } => Ok((
            StatusCode::OK,
            Json(BlobStatus {
                have,
                complete: false,
            }),
        )),
        blobs::Appended::Complete { size } => {
            s.with_store(move |st| st.blob_completed(&sha, size, &device))
                .await?;
            Ok((
                StatusCode::OK,
                Json(BlobStatus {
                    have: size,
                    complete: true,
                }),
            ))
        }
    }
}

async fn blob_get(
    State(s): State<AppState>,
    headers: HeaderMap,
    AxPath(sha): AxPath<String>,
) -> Result<Response, ApiError> {
    let token = bearer(&headers)?;
    check_sha(&sha)?;
    let sha = s
        .with_store(move |st| {
            let device = st.authenticate(&token)?;
            if !st.may_read_blob(&device, &sha)? {
                return Err(RelayError::Forbidden(
                    "no record in your scope references this photo".into(),
                ));
            }
            if !st.blob_complete(&sha)? {
                return Err(RelayError::BadRequest(
                    "this photo has not been uploaded yet".into(),
                ));
            }
            Ok(sha)
        })
        .await?;
    let blobs = s.blobs.clone();
    let bytes = AppState::blocking(move || blobs.get(&sha)).await?;
    Ok(([(header::CONTENT_TYPE, "image/jpeg")], bytes).into_response())
}

/// The device's owner key (phones enrolled before owner links existed fetch it once).
async fn owner_key(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    let token = bearer(&headers)?;
    let key = s
        .with_store(move |st| {
            let device = st.authenticate(&token)?;
            st.owner_key(&device)
        })
        .await?;
    Ok(Json(serde_json::json!({ "owner_key": key })))
}

async fn metrics(State(s): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let today = gridsafe_core::clock::format_date(gridsafe_core::clock::today());
    let ((docs, changes, devices), hazards, by_dept) = s
        .with_store(move |st| {
            // The hazard gauges read the projections: bring in what other relays took first.
            st.catch_up()?;
            Ok((
                st.counts()?,
                st.hazard_summary(&today)?,
                st.open_by_department()?,
            ))
        })
        .await?;
    let m = &s.metrics;
    let mut out = String::new();
    for (name, help, kind, v) in [
        (
            "gridsafe_syncs_total",
            "Sync requests received",
            "counter",
            m.syncs.load(Ordering::Relaxed) as i64,
        ),
        (
            "gridsafe_sync_errors_total",
            "Sync requests that failed",
            "counter",
            m.sync_errors.load(Ordering::Relaxed) as i64,
        ),
        (
            "gridsafe_docs_accepted_total",
            "Records accepted from phones",
            "counter",
            m.docs_accepted.load(Ordering::Relaxed) as i64,
        ),
        (
            "gridsafe_docs_refused_total",
            "Records refused (scope, actor, shape)",
            "counter",
            m.docs_refused.load(Ordering::Relaxed) as i64,
        ),
        (
            "gridsafe_enrolments_total",
            "Devices enrolled",
            "counter",
            m.enrolments.load(Ordering::Relaxed) as i64,
        ),
        ("gridsafe_documents", "Records stored", "gauge", docs),
        ("gridsafe_changes", "Changes in the log", "gauge", changes),
        ("gridsafe_devices", "Active devices", "gauge", devices),
    ] {
        out.push_str(&format!(
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}\n"
        ));
    }
    // From the projections: what the town office tracks to zero.
    out.push_str("# HELP gridsafe_hazards Hazards by village, domain, state and severity\n# TYPE gridsafe_hazards gauge\n");
    for h in &hazards {
        out.push_str(&format!(
            "gridsafe_hazards{{village=\"{}\",domain=\"{}\",state=\"{}\",severity=\"{}\"}} {}\n",
            label(&h.village),
            label(&h.domain),
            label(&h.state),
            label(&h.severity),
            h.count
        ));
    }
    out.push_str("# HELP gridsafe_hazards_overdue Hazards past their deadline, still awaiting rectification\n# TYPE gridsafe_hazards_overdue gauge\n");
    let mut overdue: std::collections::BTreeMap<(&str, &str), i64> =
        std::collections::BTreeMap::new();
    for h in &hazards {
        *overdue.entry((&h.village, &h.domain)).or_default() += h.overdue;
    }
    for ((village, domain), n) in overdue {
        out.push_str(&format!(
            "gridsafe_hazards_overdue{{village=\"{}\",domain=\"{}\"}} {n}\n",
            label(village),
            label(domain)
        ));
    }
    out.push_str(
        "# HELP gridsafe_hazards_open_by_department Open hazards per lead department\n# TYPE gridsafe_hazards_open_by_department gauge\n",
    );
    for (dept, n) in by_dept {
        out.push_str(&format!(
            "gridsafe_hazards_open_by_department{{department=\"{}\"}} {n}\n",
            label(&dept)
        ));
    }
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out))
}

/// A Prometheus label value, escaped.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(metrics))
        .route(
            "/v1/enroll",
            post(enroll).layer(DefaultBodyLimit::max(64 * 1024)),
        )
        .route(
            "/v1/sync",
            post(sync).layer(DefaultBodyLimit::max(MAX_SYNC_BODY)),
        )
        .route(
            "/v1/blobs/{sha}",
            get(blob_get)
                .put(blob_put)
                .layer(DefaultBodyLimit::max(MAX_CHUNK)),
        )
        .route("/v1/blobs/{sha}/status", get(blob_status))
        .route("/v1/owner-key", get(owner_key))
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
