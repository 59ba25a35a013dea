//! GridSafe for Android and iOS: the uniffi surface over `gridsafe-core` (the phone store,
//! checklists, photo evidence, hazard lifecycle) and `gridsafe-client` (enrolment, sync, photo
//! upload). Every method is one core or client call plus conversions; no rule lives here.
//!
//! Slow calls (photo ingest, hazard transitions with a photo, enrolment, sync) are `async`: they
//! run on a small runtime owned by this library, never on the caller's thread. A sync works on its
//! own connection to the store file, so the app keeps reading and writing while photos upload.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, Mutex};

use gridsafe_core::Store;
use gridsafe_core::lifecycle::EventKind;
use gridsafe_core::store::{Action, HazardQuery, NewPhoto, NewVenue};
use gridsafe_core::store_key::StoreKey;

uniffi::setup_scaffolding!();

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
async fn off_thread<T: Send + 'static>(
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

/// What went wrong, by what the app should do about it. Every variant carries a reason that can
/// be shown as is (Chinese first, English after, where core provides both).
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum GridSafeError {
    /// The input is wrong (an id, an answer, a date, a photo that is not usable): show the reason
    /// and let the user correct it. Nothing was saved.
    #[error("{reason}")]
    InvalidInput { reason: String },
    /// The rules refuse this (hazard lifecycle, role or scope): show the reason; nothing changed.
    /// `code` is stable (e.g. `needs_after_photo`, `forbidden`) for the app to branch on.
    #[error("{reason}")]
    Refused { code: String, reason: String },
    /// No such venue, inspection or hazard.
    #[error("{reason}")]
    NotFound { reason: String },
    /// The inspection cannot be finished yet (unanswered items, missing required photos).
    #[error("{reason}")]
    Incomplete { reason: String },
    /// The store file is damaged, foreign or from a newer app version: do not retry; offer support.
    #[error("{reason}")]
    Storage { reason: String },
    /// The store is encrypted and this key does not open it (or the file is damaged). Nothing was
    /// read or changed. After an interrupted key rotation, try the other key (see
    /// `StoreKeys` in the app).
    #[error("{reason}")]
    WrongKey { reason: String },
    /// The relay could not be reached or answered with an error: retry later (automatic sync does).
    #[error("{reason}")]
    Network { reason: String },
    /// The relay does not accept this phone or these credentials (revoked, wrong password or code):
    /// enrol again.
    #[error("{reason}")]
    Unauthorized { reason: String },
    /// The sync was cancelled; everything confirmed before is kept and the next sync continues.
    #[error("{reason}")]
    Cancelled { reason: String },
    /// The store was closed; open it again.
    #[error("{reason}")]
    Closed { reason: String },
}

impl From<gridsafe_core::Error> for GridSafeError {
    fn from(e: gridsafe_core::Error) -> Self {
        use gridsafe_core::Error as E;
        let reason = e.to_string();
        match e {
            E::Refused(r) => GridSafeError::Refused {
                code: r.code,
                reason,
            },
            E::Forbidden(_) => GridSafeError::Refused {
                code: "forbidden".into(),
                reason,
            },
            E::NotFound { .. } => GridSafeError::NotFound { reason },
            E::Incomplete { .. } => GridSafeError::Incomplete { reason },
            E::Template { .. }
            | E::Answer { .. }
            | E::Photo(_)
            | E::Invalid(_)
            | E::Document { .. }
            | E::Json(_) => GridSafeError::InvalidInput { reason },
            E::WrongKey { .. } => GridSafeError::WrongKey { reason },
            E::Store { .. } | E::Sqlite(_) | E::Automerge(_) | E::Reconcile(_) | E::Hydrate(_) => {
                GridSafeError::Storage { reason }
            }
        }
    }
}

/// Errors from the HTTP client: a cancel, a core error, an authorisation failure or the network.
fn client_error(e: anyhow::Error) -> GridSafeError {
    if e.downcast_ref::<gridsafe_client::Cancelled>().is_some() {
        return GridSafeError::Cancelled {
            reason: e.to_string(),
        };
    }
    let e = match e.downcast::<gridsafe_core::Error>() {
        Ok(core) => return core.into(),
        Err(e) => e,
    };
    let reason = format!("{e:#}");
    // The client names the relay's status in its message: 401 (token, password, code) and 403
    // (e.g. an actor bound to another phone) mean this phone must enrol again.
    if reason.contains("(401") || reason.contains("(403") || reason.contains("enrol again") {
        GridSafeError::Unauthorized { reason }
    } else {
        GridSafeError::Network { reason }
    }
}

// ---------------------------------------------------------------------------------------------
// Records crossing the boundary

/// The venue profile (checklists.md §0.6): what decides which checklist items apply.
#[derive(Debug, Clone, uniffi::Record)]
pub struct VenueProfile {
    /// Codes such as `small_restaurant`, `shop`, `self_built_house`, `three_in_one`, `group_rental`.
    pub venue_type: Vec<String>,
    pub floors_above_ground: u32,
    pub max_floor_area_m2: f64,
    pub building_height_m: f64,
    pub has_basement: bool,
    pub roof_or_floors_combustible: bool,
    pub uses_by_floor: String,
    pub residents_count: u32,
    pub is_crowded_place: bool,
    /// `none`, `lpg_cylinder`, `pipeline`, `other_fuel`, ...
    pub gas_supply: String,
}

/// A venue to create.
#[derive(Debug, Clone, uniffi::Record)]
pub struct NewVenueInput {
    pub name: String,
    pub address: String,
    pub grid_id: String,
    pub profile: VenueProfile,
    /// 主要负责人 / 实际控制人 (name, phone); the ID card's last four characters only.
    pub responsible_name: String,
    pub responsible_phone: String,
    pub responsible_id_last4: String,
}

/// A public report (12345, 随申拍) to verify on site.
#[derive(Debug, Clone, uniffi::Record)]
pub struct PublicReport {
    pub id: String,
    pub ticket_no: String,
    pub channel: String,
    pub received_at: String,
    pub address: String,
    pub description: String,
    pub category: String,
    pub grid_id: String,
    /// to_verify / substantiated / not_substantiated
    pub status: String,
    pub reason: Option<String>,
    pub hazard_id: Option<String>,
}

/// What the grid worker found on site.
#[derive(Debug, Clone, uniffi::Record)]
pub struct ReportVerdict {
    pub substantiated: bool,
    /// Required when not substantiated.
    pub reason: String,
    /// Required when substantiated: the venue the hazard is at.
    pub venue_id: Option<String>,
    pub finding: String,
    pub photo: Option<PhotoInput>,
}

/// A venue as listed.
#[derive(Debug, Clone, uniffi::Record)]
pub struct Venue {
    pub id: String,
    pub name: String,
    pub address: String,
    pub village: String,
    pub grid_id: String,
    pub venue_types: Vec<String>,
    pub archived: bool,
    /// Shanghai date of the last finished inspection.
    pub last_inspected: Option<String>,
}

/// An inspection just started: the checklist version it is pinned to.
#[derive(Debug, Clone, uniffi::Record)]
pub struct InspectionStarted {
    pub id: String,
    pub venue_id: String,
    pub template_id: String,
    pub template_version: String,
}

/// How one checklist item came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Outcome {
    Pass,
    Fail,
    NotApplicable,
    Info,
    Unanswered,
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct ItemResult {
    pub item_id: String,
    pub outcome: Outcome,
    /// Why it failed or what is missing, Chinese and English.
    pub findings_zh: Vec<String>,
    pub findings_en: Vec<String>,
}

/// One field of a checklist item, as the form shows it.
#[derive(Debug, Clone, uniffi::Record)]
pub struct ChecklistField {
    pub key: String,
    /// `yn`, `count`, `measure`, `choice`, `multi` or `text`.
    pub kind: String,
    pub label_zh: String,
    pub label_en: String,
    pub unit: Option<String>,
    /// For `choice`/`multi`: option keys with their labels.
    pub option_keys: Vec<String>,
    pub option_labels_zh: Vec<String>,
    pub option_labels_en: Vec<String>,
}

/// One item of an inspection's checklist with its result so far.
#[derive(Debug, Clone, uniffi::Record)]
pub struct ChecklistItem {
    pub id: String,
    pub domain: String,
    pub question_zh: String,
    pub question_en: String,
    pub fields: Vec<ChecklistField>,
    /// A before photo is required when the item fails.
    pub photo_required: bool,
    pub note_zh: Option<String>,
    pub note_en: Option<String>,
    pub result: ItemResult,
}

/// A photograph from the camera (JPEG or PNG bytes as captured).
#[derive(Debug, Clone, uniffi::Record)]
pub struct PhotoInput {
    pub bytes: Vec<u8>,
    /// The checklist item it documents.
    #[uniffi(default)]
    pub item_id: Option<String>,
    /// `before`, `after`, `document` or `signature`.
    pub role: String,
    /// The phone's own location, used when the photo carries no GPS in its EXIF.
    #[uniffi(default)]
    pub lat: Option<f64>,
    #[uniffi(default)]
    pub lon: Option<f64>,
}

/// The stored evidence copy of a photo.
#[derive(Debug, Clone, uniffi::Record)]
pub struct Photo {
    pub sha256: String,
    pub size: u64,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub thumb_sha256: Option<String>,
}

/// A finished inspection and the hazards it registered.
#[derive(Debug, Clone, uniffi::Record)]
pub struct Finished {
    pub inspection_id: String,
    pub hazard_ids: Vec<String>,
    /// Items already open as a hazard at this venue (not registered twice).
    pub already_open: Vec<String>,
}

/// Which hazards to list.
#[derive(Debug, Clone, Default, uniffi::Record)]
pub struct HazardFilter {
    /// Only what this user is responsible for (their grids or department).
    #[uniffi(default)]
    pub scope_user: Option<String>,
    #[uniffi(default)]
    pub venue_id: Option<String>,
    #[uniffi(default)]
    pub open_only: bool,
    #[uniffi(default)]
    pub overdue_only: bool,
    #[uniffi(default)]
    pub limit: Option<u32>,
}

/// A hazard as listed.
#[derive(Debug, Clone, uniffi::Record)]
pub struct Hazard {
    pub id: String,
    pub venue_id: String,
    pub venue_name: String,
    pub village: String,
    pub grid_id: String,
    pub item_id: String,
    pub domain: String,
    pub title_zh: String,
    pub title_en: String,
    /// `general`, `major_candidate` or `major`.
    pub severity: String,
    /// `registered`, `notified`, `rectifying`, `rectified_claimed`, `closed`, `escalated`, ...
    pub state: String,
    pub due_date: Option<String>,
    pub overdue: bool,
    pub lead_depts: Vec<String>,
    pub source: String,
    pub fix_mode: String,
    pub focus: bool,
    pub found_at: String,
}

/// A lifecycle action on a hazard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum HazardAction {
    /// 整改通知: sets the deadline.
    Notify,
    /// 即改: fixed during the visit; needs an after photo.
    Rectify,
    /// Rectification claimed with an after photo.
    Claim,
    /// 审核销号 (reviewer or town office).
    Close,
    /// The review refuses a claimed rectification; needs a reason.
    Reject,
    /// Overdue → referral / 挂牌督办 proposal.
    Escalate,
    Reopen,
    ConfirmMajor,
    Downgrade,
    SetDeadline,
    /// 治理方案 for a major hazard; needs the text.
    Plan,
    /// Second person's on-site verification of a major hazard.
    Recheck,
}

impl From<HazardAction> for EventKind {
    fn from(a: HazardAction) -> EventKind {
        match a {
            HazardAction::Notify => EventKind::Notify,
            HazardAction::Rectify => EventKind::Rectify,
            HazardAction::Claim => EventKind::Claim,
            HazardAction::Close => EventKind::Close,
            HazardAction::Reject => EventKind::Reject,
            HazardAction::Escalate => EventKind::Escalate,
            HazardAction::Reopen => EventKind::Reopen,
            HazardAction::ConfirmMajor => EventKind::ConfirmMajor,
            HazardAction::Downgrade => EventKind::Downgrade,
            HazardAction::SetDeadline => EventKind::SetDeadline,
            HazardAction::Plan => EventKind::Plan,
            HazardAction::Recheck => EventKind::Recheck,
        }
    }
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct ActionInput {
    pub action: HazardAction,
    #[uniffi(default)]
    pub reason: Option<String>,
    /// YYYY-MM-DD.
    #[uniffi(default)]
    pub deadline: Option<String>,
    #[uniffi(default)]
    pub text: Option<String>,
    #[uniffi(default)]
    pub photo: Option<PhotoInput>,
}

/// One event of a hazard's history: who did what, and whether the rules applied it.
#[derive(Debug, Clone, uniffi::Record)]
pub struct HazardEvent {
    pub kind: String,
    pub at: String,
    pub user: Option<String>,
    pub applied: bool,
    pub refusal_zh: Option<String>,
    pub refusal_en: Option<String>,
    pub reason: Option<String>,
    pub deadline: Option<String>,
    pub text: Option<String>,
}

/// A hazard with its derived state and history.
#[derive(Debug, Clone, uniffi::Record)]
pub struct HazardDetail {
    pub id: String,
    pub venue_name: String,
    pub item_id: String,
    pub title_zh: String,
    pub title_en: String,
    pub finding_zh: String,
    pub basis_refs: Vec<String>,
    pub state: String,
    pub severity: String,
    pub deadline: Option<String>,
    pub overdue: bool,
    pub lead_depts: Vec<String>,
    pub plan: Option<String>,
    pub history: Vec<HazardEvent>,
}

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
}

/// A lock of the store object; a poisoned one (a panic while held) is a storage error.
fn locked<'a, T>(
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

fn item_result(r: gridsafe_core::eval::ItemResult) -> ItemResult {
    use gridsafe_core::eval::Outcome as O;
    ItemResult {
        item_id: r.item_id,
        outcome: match r.outcome {
            O::Pass => Outcome::Pass,
            O::Fail => Outcome::Fail,
            O::NotApplicable => Outcome::NotApplicable,
            O::Info => Outcome::Info,
            O::Unanswered => Outcome::Unanswered,
        },
        findings_zh: r.findings.iter().map(|f| f.zh.clone()).collect(),
        findings_en: r.findings.into_iter().map(|f| f.en).collect(),
    }
}

fn photo_of(p: PhotoInput) -> NewPhoto {
    NewPhoto {
        bytes: p.bytes,
        item_id: p.item_id,
        role: p.role,
        lat: p.lat,
        lon: p.lon,
    }
}

fn hazard_of(h: gridsafe_core::store::HazardRow) -> Hazard {
    Hazard {
        id: h.id,
        venue_id: h.venue_id,
        venue_name: h.venue_name,
        village: h.village,
        grid_id: h.grid_id,
        item_id: h.item_id,
        domain: h.domain,
        title_zh: h.title_zh,
        title_en: h.title_en,
        severity: h.severity,
        state: h.state,
        due_date: h.due_date,
        overdue: h.overdue,
        lead_depts: h.lead_depts,
        source: h.source,
        fix_mode: h.fix_mode,
        focus: h.focus,
        found_at: h.found_at,
    }
}

fn detail_of(v: gridsafe_core::store::HazardView) -> HazardDetail {
    let h = v.header;
    let s = v.status;
    HazardDetail {
        id: h.id,
        venue_name: h.venue_name,
        item_id: h.item_id,
        title_zh: h.title_zh,
        title_en: h.title_en,
        finding_zh: h.finding_zh,
        basis_refs: h.basis_refs,
        state: s.state.as_str().to_owned(),
        severity: s.severity,
        deadline: s.deadline,
        overdue: v.overdue,
        lead_depts: h.lead_depts,
        plan: s.plan,
        history: s
            .history
            .into_iter()
            .map(|e| HazardEvent {
                kind: e.kind,
                at: e.at,
                user: e.user,
                applied: e.applied,
                refusal_zh: e.refusal.as_ref().map(|r| r.zh.clone()),
                refusal_en: e.refusal.map(|r| r.en),
                reason: e.reason,
                deadline: e.deadline,
                text: e.text,
            })
            .collect(),
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

    pub fn add_venue(&self, user: String, venue: NewVenueInput) -> Result<Venue, GridSafeError> {
        let p = venue.profile;
        let new = NewVenue {
            name: venue.name,
            address: venue.address,
            grid_id: venue.grid_id,
            profile: gridsafe_core::profile::VenueProfile {
                venue_type: p.venue_type,
                floors_above_ground: p.floors_above_ground,
                max_floor_area_m2: p.max_floor_area_m2,
                building_height_m: p.building_height_m,
                has_basement: p.has_basement,
                roof_or_floors_combustible: p.roof_or_floors_combustible,
                uses_by_floor: p.uses_by_floor,
                residents_count: p.residents_count,
                is_crowded_place: p.is_crowded_place,
                gas_supply: p.gas_supply,
            },
            responsible: gridsafe_core::records::Responsible {
                name: venue.responsible_name,
                phone: venue.responsible_phone,
                id_last4: venue.responsible_id_last4,
            },
        };
        let v = self.with(|s| s.add_venue(&user, new))?;
        Ok(Venue {
            id: v.id,
            name: v.name,
            address: v.address,
            village: v.village,
            grid_id: v.grid_id,
            venue_types: v.profile.venue_type,
            archived: v.archived,
            last_inspected: None,
        })
    }

    /// Venues, those of `user`'s grids when given.
    pub fn venues(&self, user: Option<String>) -> Result<Vec<Venue>, GridSafeError> {
        let rows = self.with(|s| s.list_venues(user.as_deref()))?;
        Ok(rows
            .into_iter()
            .map(|v| Venue {
                id: v.id,
                name: v.name,
                address: v.address,
                village: v.village,
                grid_id: v.grid_id,
                venue_types: v.venue_types,
                archived: v.archived,
                last_inspected: v.last_inspected,
            })
            .collect())
    }

    /// Starts an inspection of a venue with the newest version of a checklist (`lx.gas`,
    /// `lx.ebike`, `lx.selfbuilt`, `lx.lifeline`, `lx.threeinone`).
    pub fn start_inspection(
        &self,
        user: String,
        venue_id: String,
        template_id: String,
    ) -> Result<InspectionStarted, GridSafeError> {
        let h = self.with(|s| s.start_inspection(&user, &venue_id, &template_id, None))?;
        Ok(InspectionStarted {
            id: h.id,
            venue_id: h.venue_id,
            template_id: h.template_id,
            template_version: h.template_version,
        })
    }

    /// The inspection's checklist (its pinned template version) with each item's result so far;
    /// items that do not apply to this venue come back as [`Outcome::NotApplicable`].
    pub fn checklist(&self, inspection_id: String) -> Result<Vec<ChecklistItem>, GridSafeError> {
        use gridsafe_core::template::PhotoRule;
        let items = self.with(|s| s.checklist(&inspection_id))?;
        Ok(items
            .into_iter()
            .map(|(item, result)| ChecklistItem {
                id: item.id,
                domain: item.domain,
                question_zh: item.q_zh,
                question_en: item.q_en,
                fields: item
                    .fields
                    .into_iter()
                    .map(|f| ChecklistField {
                        key: f.key,
                        kind: serde_json::to_value(f.kind)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_owned))
                            .unwrap_or_default(),
                        label_zh: f.label_zh,
                        label_en: f.label_en,
                        unit: f.unit,
                        option_keys: f.options.iter().map(|o| o.key.clone()).collect(),
                        option_labels_zh: f.options.iter().map(|o| o.zh.clone()).collect(),
                        option_labels_en: f.options.into_iter().map(|o| o.en).collect(),
                    })
                    .collect(),
                photo_required: matches!(
                    item.photo,
                    PhotoRule::Required | PhotoRule::RequiredWithMeasure
                ),
                note_zh: item.note_zh,
                note_en: item.note_en,
                result: item_result(result),
            })
            .collect())
    }

    /// Records answers, given as a JSON object of item id → answer (the format of the CLI's
    /// answers files); returns the items' results so far.
    pub fn answer(
        &self,
        user: String,
        inspection_id: String,
        answers_json: String,
    ) -> Result<Vec<ItemResult>, GridSafeError> {
        let answers = gridsafe_core::eval::answers_from_json(answers_json.as_bytes())?;
        let results = self.with(|s| s.answer(&user, &inspection_id, &answers))?;
        Ok(results.into_iter().map(item_result).collect())
    }

    /// Turns a camera photo into its evidence copy and thumbnail and attaches it.
    pub async fn attach_photo(
        self: Arc<Self>,
        user: String,
        inspection_id: String,
        photo: PhotoInput,
    ) -> Result<Photo, GridSafeError> {
        off_thread(move || {
            let p = self.with(|s| s.attach_photo(&user, &inspection_id, photo_of(photo)))?;
            Ok(Photo {
                sha256: p.sha256,
                size: p.size,
                width: p.width,
                height: p.height,
                thumb_sha256: p.thumb_sha256,
            })
        })
        .await
    }

    /// Finishes an inspection: evaluates it, seals it and registers its hazards.
    pub fn finish_inspection(
        &self,
        user: String,
        inspection_id: String,
    ) -> Result<Finished, GridSafeError> {
        let f = self.with(|s| s.finish_inspection(&user, &inspection_id))?;
        Ok(Finished {
            inspection_id: f.inspection_id,
            hazard_ids: f.hazards.into_iter().map(|h| h.id).collect(),
            already_open: f.already_open.into_keys().collect(),
        })
    }

    /// Hazards, soonest deadline first.
    pub fn hazards(&self, filter: HazardFilter) -> Result<Vec<Hazard>, GridSafeError> {
        let q = HazardQuery {
            scope_user: filter.scope_user,
            venue_id: filter.venue_id,
            open_only: filter.open_only,
            overdue_only: filter.overdue_only,
            limit: filter.limit,
            ..HazardQuery::default()
        };
        Ok(self
            .with(|s| s.list_hazards(&q))?
            .into_iter()
            .map(hazard_of)
            .collect())
    }

    pub fn hazard(&self, id: String) -> Result<HazardDetail, GridSafeError> {
        Ok(detail_of(self.with(|s| s.hazard(&id))?))
    }

    /// Public reports in `user`'s grids, unverified first.
    pub fn public_reports(&self, user: String) -> Result<Vec<PublicReport>, GridSafeError> {
        let rows = self.with(|s| s.list_tasks(Some(&user)))?;
        Ok(rows
            .into_iter()
            .map(|t| PublicReport {
                id: t.id,
                ticket_no: t.ticket_no,
                channel: t.channel,
                received_at: t.received_at,
                address: t.address,
                description: t.description,
                category: t.category,
                grid_id: t.grid_id,
                status: t.status,
                reason: t.reason,
                hazard_id: t.hazard_id,
            })
            .collect())
    }

    /// Records the verdict on a public report (查实): returns the registered hazard's id when
    /// substantiated. Refusals (already verified, missing reason or venue) are `InvalidInput`.
    pub async fn verify_public_report(
        self: Arc<Self>,
        user: String,
        report_id: String,
        verdict: ReportVerdict,
    ) -> Result<Option<String>, GridSafeError> {
        off_thread(move || {
            let v = gridsafe_core::store::TaskVerdict {
                substantiated: verdict.substantiated,
                reason: verdict.reason,
                venue_id: verdict.venue_id,
                finding: verdict.finding,
                photo: verdict.photo.map(photo_of),
            };
            self.with(|s| s.verify_task(&user, &report_id, v))
        })
        .await
    }

    /// The rectification notice (整改通知书) of a venue's open hazards as a self-contained HTML
    /// page (a WebView shows it for the owner to sign; the signature is then attached as the
    /// notify action's photo). Its QR code opens the owner's page, signed by this phone.
    pub fn notice_html(&self, user: String, venue_id: String) -> Result<String, GridSafeError> {
        let n = self.with(|s| s.notice(&user, &venue_id))?;
        Ok(gridsafe_core::notice::to_html(&n)?)
    }

    /// Applies a lifecycle action as `user`; a refusal comes back as [`GridSafeError::Refused`]
    /// with the rule's reason and the hazard unchanged.
    pub async fn transition(
        self: Arc<Self>,
        user: String,
        hazard_id: String,
        action: ActionInput,
    ) -> Result<HazardDetail, GridSafeError> {
        off_thread(move || {
            let a = Action {
                kind: action.action.into(),
                reason: action.reason,
                deadline: action.deadline,
                text: action.text,
                photo: action.photo.map(photo_of),
            };
            Ok(detail_of(
                self.with(|s| s.transition(&user, &hazard_id, a))?,
            ))
        })
        .await
    }

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
            })
        })
    }

    /// Closes the store file now; later calls fail with [`GridSafeError::Closed`]. Closing twice
    /// is fine. (Dropping the object — `close()`/`use {}` in Kotlin — also closes it.)
    pub fn close_store(&self) {
        if let Ok(mut guard) = self.inner.lock() {
            guard.take();
        }
    }
}
