//! Enrolment and sync: progress to a listener, cancellation, and what is still pending.

use crate::{GridSafeError, GridStore, client_error, locked, off_thread};
use gridsafe_core::Store;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// How to prove who you are when enrolling this phone.
#[derive(Debug, Clone, uniffi::Enum)]
pub enum EnrolSecret {
    Password {
        password: String,
    },
    /// A one-time code printed by the office.
    Code {
        code: String,
    },
}

/// Progress of a sync, reported after every round trip and photo.
#[derive(Debug, Clone, Default, PartialEq, uniffi::Record)]
pub struct SyncProgress {
    pub round_trips: u32,
    pub docs_pushed: u64,
    pub docs_pulled: u64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub photos_uploaded: u64,
}

impl From<&gridsafe_client::Progress> for SyncProgress {
    fn from(p: &gridsafe_client::Progress) -> Self {
        SyncProgress {
            round_trips: p.round_trips,
            docs_pushed: p.docs_pushed as u64,
            docs_pulled: p.docs_pulled as u64,
            bytes_sent: p.bytes_sent as u64,
            bytes_received: p.bytes_received as u64,
            photos_uploaded: p.photos_uploaded as u64,
        }
    }
}

/// A record the relay refused, with its reason (it stays pending on the phone).
#[derive(Debug, Clone, uniffi::Record)]
pub struct RefusedRecord {
    pub doc_id: String,
    /// The relay's reason as sent (ids and the rule's code), for a support log: a person reads
    /// the Sync screen's words (`SyncScreen`), never this.
    pub reason: String,
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct SyncReport {
    pub progress: SyncProgress,
    pub refused: Vec<RefusedRecord>,
}

/// What the sync status screen shows.
#[derive(Debug, Clone, uniffi::Record)]
pub struct SyncState {
    pub enrolled_user: Option<String>,
    pub server: Option<String>,
    pub pending_docs: u64,
    pub pending_photos: u64,
    pub last_sync: Option<String>,
    pub refused: Vec<String>,
    /// The phone's clock is wrong (in words, what to do); `None` when it is right.
    pub clock_warning: Option<String>,
    /// Notice numbers left on this phone, and what to do when they run low.
    pub notice_numbers_left: u32,
    pub notice_numbers_warning: Option<String>,
    /// Changes kept aside (refused by the relay, or refused from it), newest first.
    pub set_aside: Vec<RefusedRecord>,
}

/// Receives sync progress (implemented in Kotlin or Swift; called on a library thread).
#[uniffi::export(with_foreign)]
pub trait SyncListener: Send + Sync {
    fn on_progress(&self, progress: SyncProgress);
}

/// Cancels a sync from another thread: the sync stops at its next safe point (between round
/// trips or photos) with [`GridSafeError::Cancelled`].
#[derive(Debug, Default, uniffi::Object)]
pub struct CancelHandle {
    cancelled: AtomicBool,
}

#[uniffi::export]
impl CancelHandle {
    #[uniffi::constructor]
    pub fn new() -> Arc<Self> {
        Arc::new(CancelHandle::default())
    }

    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::SeqCst);
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::SeqCst)
    }
}

#[uniffi::export]
impl GridStore {
    /// Enrols this phone with a relay; returns the device id.
    pub async fn enroll(
        self: Arc<Self>,
        server: String,
        user: String,
        secret: EnrolSecret,
        device_name: String,
    ) -> Result<String, GridSafeError> {
        off_thread(move || {
            let mut guard = locked(&self.inner, "store")?;
            let store = guard.as_mut().ok_or_else(|| GridSafeError::Closed {
                reason: "store is closed".into(),
            })?;
            let secret = match &secret {
                EnrolSecret::Password { password } => gridsafe_client::Secret::Password(password),
                EnrolSecret::Code { code } => gridsafe_client::Secret::Code(code),
            };
            gridsafe_client::enroll_with(store, &server, &user, secret, &device_name)
                .map_err(client_error)
        })
        .await
    }

    /// Syncs with the relay: records both ways, then photos (originals only if `originals`, e.g.
    /// on an unmetered network). Runs on its own connection to the store file, so the app keeps
    /// working meanwhile; `listener` hears progress, `cancel` stops it at the next safe point.
    pub async fn sync(
        self: Arc<Self>,
        originals: bool,
        listener: Option<Arc<dyn SyncListener>>,
        cancel: Arc<CancelHandle>,
    ) -> Result<SyncReport, GridSafeError> {
        off_thread(move || {
            let _syncing = locked(&self.syncing, "sync")?;
            if locked(&self.inner, "store")?.is_none() {
                return Err(GridSafeError::Closed {
                    reason: format!("store {} is closed", self.path.display()),
                });
            }
            let key = locked(&self.key, "key")?.clone();
            let mut own = Store::open_with(&self.path, key.as_ref())?;
            let mut report = |p: &gridsafe_client::Progress| {
                if let Some(l) = &listener {
                    l.on_progress(SyncProgress::from(p));
                }
            };
            let result = gridsafe_client::sync_all_until(&mut own, originals, &mut report, &|| {
                cancel.is_cancelled()
            });
            drop(own);
            // The app's connection re-reads the directory and actor bindings the sync brought.
            if let Ok(mut guard) = self.inner.lock()
                && guard.is_some()
            {
                *guard = Some(Store::open_with(&self.path, key.as_ref())?);
            }
            let p = result.map_err(client_error)?;
            self.listeners.notify(&crate::StoreChange::Synced {
                pulled: p.docs_pulled as u64,
                pushed: p.docs_pushed as u64,
            });
            Ok(SyncReport {
                progress: SyncProgress::from(&p),
                refused: p
                    .refused
                    .into_iter()
                    .map(|(doc_id, reason)| RefusedRecord { doc_id, reason })
                    .collect(),
            })
        })
        .await
    }

    /// Pending records and photos, the last successful sync, what the relay refused.
    pub fn sync_state(&self) -> Result<SyncState, GridSafeError> {
        self.with(|s| {
            let st = s.sync_status()?;
            let enrolled = s.enrollment()?;
            Ok(SyncState {
                enrolled_user: enrolled.as_ref().map(|e| e.2.clone()),
                server: enrolled.map(|e| e.0),
                pending_docs: st.pending_docs,
                pending_photos: st.pending_photos,
                last_sync: st.last_sync,
                refused: st.refused,
                clock_warning: st.clock_warning,
                notice_numbers_left: st.notice_numbers_left,
                notice_numbers_warning: st.notice_numbers_warning,
                set_aside: st
                    .set_aside
                    .into_iter()
                    .map(|a| RefusedRecord {
                        doc_id: a.doc_id,
                        reason: a.reason,
                    })
                    .collect(),
            })
        })
    }
}
