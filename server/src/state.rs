//! What every request shares: the store behind its lock, the read-only connections, the photo
//! store and the counters; and where a relay keeps its data.

use crate::blobs;
use crate::error::ApiError;
use crate::error::RelayError;
use crate::store::{Readers, RelayStore};
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

#[derive(Debug, Default)]
pub(crate) struct Metrics {
    pub(crate) syncs: AtomicU64,
    pub(crate) sync_errors: AtomicU64,
    pub(crate) docs_accepted: AtomicU64,
    pub(crate) docs_refused: AtomicU64,
    pub(crate) enrolments: AtomicU64,
}

/// Read-only connections for pulls: one per core is enough to keep both cores busy.
pub(crate) const READERS: usize = 4;
/// Read-only stores for the office's pages and `/metrics`, which never wait for the writer.
pub(crate) const OFFICE_READERS: usize = 3;

#[derive(Clone, Debug)]
pub struct AppState {
    store: Arc<Mutex<RelayStore>>,
    pub(crate) readers: Arc<Readers>,
    /// Read-only stores (their own connections; a read transaction per call): the office's
    /// pages and `/metrics` read these, so a burst of syncs holding the writer never stalls a
    /// page, and a slow page never stalls a sync.
    office: Arc<Vec<Mutex<RelayStore>>>,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) blobs: Arc<dyn blobs::BlobStore>,
    pub(crate) options: Arc<ServeOptions>,
}

/// How a relay serves, beyond where its data is.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// `/metrics` answers a request carrying `Authorization: Bearer TOKEN`; without a token it
    /// answers only requests from this machine (a scraper on localhost).
    pub metrics_token: Option<String>,
    /// With several relays on one database, how often this one brings the office's figures up
    /// to what the others took (the pages are at most this far behind another relay's syncs).
    pub catch_up_every: std::time::Duration,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            metrics_token: None,
            catch_up_every: std::time::Duration::from_secs(2),
        }
    }
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
        AppState::open_opts(cfg, ServeOptions::default())
    }

    /// [`AppState::open_with`] with serving options.
    pub fn open_opts(cfg: &Config, options: ServeOptions) -> Result<AppState, RelayError> {
        let store = cfg.open_store()?;
        let readers = Readers::open_with(&cfg.data, cfg.database.as_deref(), READERS)?;
        let office = (0..OFFICE_READERS)
            .map(|_| RelayStore::open_reader(&cfg.data, cfg.database.as_deref()).map(Mutex::new))
            .collect::<Result<Vec<_>, RelayError>>()?;
        Ok(AppState {
            store: Arc::new(Mutex::new(store)),
            readers: Arc::new(readers),
            office: Arc::new(office),
            metrics: Arc::default(),
            blobs: Arc::new(blobs::FsBlobStore::new(cfg.blob_root())),
            options: Arc::new(options),
        })
    }

    /// Runs `f` on a read-only store off the async runtime, without the writer's lock: what the
    /// office's pages read. The store's directory and actor table are brought up to date first.
    pub(crate) async fn with_reader<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut RelayStore) -> Result<T, RelayError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let office = self.office.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = match office.iter().find_map(|m| m.try_lock().ok()) {
                Some(g) => g,
                None => office[0]
                    .lock()
                    .map_err(|_| RelayError::Storage("reader lock poisoned".into()))?,
            };
            guard.refresh()?;
            f(&mut guard)
        })
        .await
        .map_err(|e| ApiError(RelayError::Storage(e.to_string())))?
        .map_err(ApiError)
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
