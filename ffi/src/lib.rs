//! GridSafe for Android and iOS: the uniffi surface over `gridsafe-core` (the phone store,
//! checklists, photo evidence, hazard lifecycle) and `gridsafe-client` (enrolment, sync, photo
//! upload). Every method is one core or client call plus conversions; no rule lives here.
//!
//! Slow calls (photo ingest, hazard transitions with a photo, enrolment, sync) are `async`: they
//! run on a small runtime owned by this library, never on the caller's thread. A sync works on its
//! own connection to the store file, so the app keeps reading and writing while photos upload.

use std::path::PathBuf;
use std::sync::{Arc, LazyLock, Mutex};

use gridsafe_core::Store;
use gridsafe_core::store_key::StoreKey;

uniffi::setup_scaffolding!();

mod changes;
mod error;
mod hazards;
mod inspections;
mod reports;
mod screens;
mod sync;
mod venues;

pub use changes::{ListenerHandle, StoreChange, StoreListener};
pub use error::GridSafeError;
use error::client_error;
pub use hazards::{
    ActionInput, Hazard, HazardAction, HazardDetail, HazardEvent, HazardFilter, NoticeDocument,
};
use inspections::photo_of;
pub use inspections::{
    ChecklistField, ChecklistItem, Finished, InspectionStarted, ItemResult, Outcome, Photo,
    PhotoInput,
};
pub use reports::{
    PublicReport, ReportVerdict, TicketItem, TicketScreen, TicketVenue, TicketVerdict,
};
pub use screens::{
    ChecklistChoice, ConflictLine, FieldAnswer, FieldInput, FindingLine, FormAnswer, HazardScreen,
    HistoryLine, ItemState, LabelValue, Language, Line, Need, Offer, Opens, OptionLabel, TodayKind,
    TodayRow, TodayScreen, TodaySection, VenueFileScreen, VenueFilter, VenueListRow,
    VenueListScreen, VenueQuestion, WalkBlocker, WalkField, WalkItem, WalkScreen,
};
pub use sync::{
    CancelHandle, EnrolSecret, RefusedRecord, SyncListener, SyncProgress, SyncReport, SyncState,
};
pub use venues::{NewVenueInput, Venue, VenueProfile};

/// Worker threads for the slow calls; a phone has few cores and the UI needs one.
static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .max_blocking_threads(4)
        .thread_name("gridsafe-ffi")
        .build()
        .unwrap_or_else(|e| panic!("cannot start the GridSafe worker threads: {e}"))
});

/// Runs blocking work on the library's threads and awaits it from any executor.
pub(crate) async fn off_thread<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, GridSafeError> + Send + 'static,
) -> Result<T, GridSafeError> {
    RUNTIME
        .spawn_blocking(f)
        .await
        .map_err(|e| GridSafeError::Storage {
            reason: format!("worker thread failed: {e}"),
        })?
}

// ---------------------------------------------------------------------------------------------
// Errors

// ---------------------------------------------------------------------------------------------
// Records crossing the boundary

// ---------------------------------------------------------------------------------------------
// The store

/// The phone's store: one file holding records, photos and the sync state. Open one per file;
/// `close_store` it when done (calls after that fail with [`GridSafeError::Closed`]).
#[derive(Debug, uniffi::Object)]
pub struct GridStore {
    path: PathBuf,
    /// The key the store was opened with (`None`: unencrypted); a sync opens its own connection.
    key: Mutex<Option<StoreKey>>,
    inner: Mutex<Option<Store>>,
    /// Held by a running sync: a key rotation replaces the file and must not run beside it.
    syncing: Mutex<()>,
    /// Who hears that the store changed (a sync finished).
    listeners: changes::Listeners,
}

/// A lock of the store object; a poisoned one (a panic while held) is a storage error.
pub(crate) fn locked<'a, T>(
    m: &'a Mutex<T>,
    what: &str,
) -> Result<std::sync::MutexGuard<'a, T>, GridSafeError> {
    m.lock().map_err(|_| GridSafeError::Storage {
        reason: format!("{what} lock poisoned"),
    })
}

impl GridStore {
    fn open_keyed(path: String, key: Option<StoreKey>) -> Result<Arc<Self>, GridSafeError> {
        let p = PathBuf::from(&path);
        let store = if p.exists() {
            Store::open_with(&p, key.as_ref())?
        } else {
            Store::create_with(&p, key.as_ref())?
        };
        Ok(Arc::new(GridStore {
            path: p,
            key: Mutex::new(key),
            inner: Mutex::new(Some(store)),
            syncing: Mutex::new(()),
            listeners: changes::Listeners::default(),
        }))
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut Store) -> gridsafe_core::Result<T>,
    ) -> Result<T, GridSafeError> {
        let mut guard = locked(&self.inner, "store")?;
        let store = guard.as_mut().ok_or_else(|| GridSafeError::Closed {
            reason: format!("store {} is closed", self.path.display()),
        })?;
        Ok(f(store)?)
    }
}

#[uniffi::export]
impl GridStore {
    /// Opens the store at `path`, creating it if there is no file yet, unencrypted (desktop tools
    /// and tests; the apps use [`GridStore::open_encrypted`]). A file that is not a GridSafe
    /// store, is damaged, is encrypted or comes from a newer app is refused and left untouched.
    #[uniffi::constructor]
    pub fn open(path: String) -> Result<Arc<Self>, GridSafeError> {
        Self::open_keyed(path, None)
    }

    /// Opens or creates the store at `path` encrypted with `key` (32 bytes, kept by the Android
    /// Keystore or iOS Keychain). A wrong key is [`GridSafeError::WrongKey`] and changes nothing;
    /// an unencrypted store from an older app is encrypted with `key` on the way in.
    #[uniffi::constructor]
    pub fn open_encrypted(path: String, key: Vec<u8>) -> Result<Arc<Self>, GridSafeError> {
        let key = StoreKey::from_bytes(&zeroize::Zeroizing::new(key))?;
        Self::open_keyed(path, Some(key))
    }

    /// Re-encrypts the store under `new_key` (key rotation). Keep both keys until this returns:
    /// if the app dies during it, the store opens with exactly one of them. Refused while a sync
    /// is running.
    pub fn rekey(&self, new_key: Vec<u8>) -> Result<(), GridSafeError> {
        let new_key = StoreKey::from_bytes(&zeroize::Zeroizing::new(new_key))?;
        let _no_sync = self
            .syncing
            .try_lock()
            .map_err(|_| GridSafeError::Refused {
                code: "sync_running".into(),
                reason: "同步进行中，请稍后再更换密钥 a sync is running; change the key after it"
                    .into(),
            })?;
        let mut guard = locked(&self.inner, "store")?;
        let store = guard.take().ok_or_else(|| GridSafeError::Closed {
            reason: format!("store {} is closed", self.path.display()),
        })?;
        match store.rekey(&new_key) {
            Ok(s) => {
                *guard = Some(s);
                *locked(&self.key, "key")? = Some(new_key);
                Ok(())
            }
            Err(e) => {
                // The old file and key still stand; reopen so the app keeps working.
                let old = locked(&self.key, "key")?.clone();
                *guard = Store::open_with(&self.path, old.as_ref()).ok();
                Err(e.into())
            }
        }
    }

    /// True when the store file is encrypted.
    pub fn is_encrypted(&self) -> Result<bool, GridSafeError> {
        Ok(gridsafe_core::store_key::is_encrypted(&self.path)?)
    }

    /// Installs the directory (villages, grids, departments, users) from its JSON; returns its
    /// version. Sync installs newer ones by itself.
    pub fn import_directory(&self, json: Vec<u8>) -> Result<u64, GridSafeError> {
        self.with(|s| s.import_directory(&json).map(|d| d.version))
    }

    /// Closes the store file now; later calls fail with [`GridSafeError::Closed`]. Closing twice
    /// is fine. (Dropping the object — `close()`/`use {}` in Kotlin — also closes it.)
    pub fn close_store(&self) {
        if let Ok(mut guard) = self.inner.lock() {
            guard.take();
        }
    }
}
