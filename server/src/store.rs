//! The relay's storage: SQLite (WAL, synchronous=FULL), an append-only change log keyed by change
//! hash, documents rebuilt on demand from it through a bounded cache, devices and actor bindings.
//! Merging and record checks are core's (`gridsafe_core::records`); nothing here merges by itself.

use std::collections::{HashMap, HashSet};
use std::num::NonZeroUsize;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use automerge::{AutoCommit, Change};
use gridsafe_core::directory::{Directory, Role, User};
use gridsafe_core::records::{self, DocKind};
use gridsafe_core::store::split_list;
use gridsafe_core::sync::{
    Acked, DocChanges, PROTOCOL, Refused, SyncRequest, SyncResponse, TemplateFile,
};
use gridsafe_core::{projection, template};
use rand_core::{OsRng, RngCore};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use crate::db::{Db, Pg};
use crate::vals;
use rusqlite_migration::{M, Migrations};
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;
use sha2::{Digest, Sha256};

static MIGRATIONS: LazyLock<Migrations<'static>> = LazyLock::new(|| {
    Migrations::new(vec![
        M::up(include_str!("../sql/001_relay.sql")),
        M::up(include_str!("../sql/002_blobs.sql")),
        // Schema 3: the projection tables, the same as the phone's.
        M::up(gridsafe_core::projection::DDL),
        M::up(include_str!("../sql/004_dashboard.sql")),
        M::up(include_str!("../sql/005_snapshots.sql")),
        M::up(include_str!("../sql/006_enrol_codes.sql")),
        M::up(include_str!("../sql/007_web.sql")),
        M::up(include_str!("../sql/008_report.sql")),
        M::up(include_str!("../sql/009_owner.sql")),
        // Schema 10: public reports to verify (12345, 随申拍), the same table as the phone's.
        M::up(gridsafe_core::projection::TASKS_DDL),
        M::up(include_str!("../sql/011_self_check.sql")),
        M::up(include_str!("../sql/012_audit.sql")),
    ])
});

/// Most change bytes returned by one pull; the phone asks again when `more` is set.
pub const PULL_BYTES: usize = 8 * 1024 * 1024;
/// Most changes read for one pull (rows are read whole before the byte limit applies).
pub const PULL_ROWS: usize = 20_000;
/// Documents kept loaded (automerge costs ~17 kB of heap per document).
pub const DOC_CACHE: usize = 512;
/// A dashboard session lasts a working day.
pub const SESSION_MS: i64 = 10 * 3_600_000;
/// Failed logins that lock a user name, and the window they count in.
pub const LOCKOUT_FAILURES: i64 = 5;
pub const LOCKOUT_MS: i64 = 15 * 60_000;
/// Changes of the shared log [`RelayStore::catch_up`] projects per step.
pub const CATCH_UP_STEP: i64 = 20_000;
/// Failed sign-ins and enrolments the whole relay takes per minute, whatever the user name: past
/// it everyone waits a minute (a spray over many user names, which the per-user lockout misses).
pub const RELAY_FAILURES_PER_MINUTE: i64 = 30;
/// A record gets a new snapshot once this many changes were logged after its last one.
pub const SNAPSHOT_EVERY: i64 = 16;

/// The hash the first audit entry chains to.
const AUDIT_GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One entry of the audit log.
#[derive(Clone, Debug, Serialize)]
pub struct AuditEntry {
    pub seq: i64,
    pub at_ms: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: String,
    pub hash: String,
}

/// SHA-256 over the previous hash and this entry's fields, JSON-encoded so no field can bleed
/// into the next.
fn audit_hash(
    prev: &str,
    seq: i64,
    at: i64,
    actor: &str,
    action: &str,
    target: &str,
    detail: &str,
) -> String {
    sha256_hex(
        serde_json::json!([prev, seq, at, actor, action, target, detail])
            .to_string()
            .as_bytes(),
    )
}

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("not found: {0}")]
    NotFound(String),
    /// The hazard lifecycle rules refuse the action (the reason is the rule's, bilingual).
    #[error("{0}")]
    Refused(String),
    /// A rate limit (owner reports per venue and day).
    #[error("too many: {0}")]
    TooMany(String),
    #[error("storage: {0}")]
    Storage(String),
}

impl From<rusqlite::Error> for RelayError {
    fn from(e: rusqlite::Error) -> Self {
        RelayError::Storage(e.to_string())
    }
}

impl From<gridsafe_core::Error> for RelayError {
    fn from(e: gridsafe_core::Error) -> Self {
        RelayError::BadRequest(e.to_string())
    }
}

pub type Result<T, E = RelayError> = std::result::Result<T, E>;

/// An authenticated device.
#[derive(Clone, Debug)]
pub struct Device {
    pub id: String,
    pub user: User,
    pub actors: HashSet<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Enrolled {
    pub device_id: String,
    pub token: String,
    pub user_id: String,
    /// The actors bound to this device (the phone's own, plus one assigned if it had none).
    pub actors: Vec<String>,
    /// Signs the owner links on this phone's notices (hex, 32 bytes).
    pub owner_key: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DeviceRow {
    pub id: String,
    pub user_id: String,
    pub name: String,
    pub revoked: bool,
    pub last_sync_ms: Option<i64>,
    pub pending_docs: Option<i64>,
    pub pending_photos: Option<i64>,
    pub app_version: Option<String>,
    pub protocol: Option<i64>,
}

/// What a dashboard action carries besides its kind (empty strings count as absent).
#[derive(Clone, Debug, Default)]
pub struct ActionDetail {
    pub reason: Option<String>,
    pub deadline: Option<String>,
    pub text: Option<String>,
    /// An after photo (SHA-256 of its evidence copy), for an accepted owner report.
    pub photo: Option<String>,
}

/// Phones silent for this many days are listed on the overview.
pub const STALE_DAYS: i64 = 3;

/// The overview: hazards open (general / major incl. candidates), overdue, closed this month,
/// the major-hazard stock (found before this year, still open at its start) and increment (found
/// this year) as checklists.md §6.4 defines them; per village, venues and this month's inspection
/// coverage; for the town office, phones that have not synced for [`STALE_DAYS`] days.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Overview {
    pub open_general: i64,
    pub open_major: i64,
    pub overdue: i64,
    pub closed_this_month: i64,
    pub major_stock: i64,
    pub major_increment: i64,
    pub villages: Vec<VillageRow>,
    pub stale_devices: Vec<DeviceRow>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct VillageRow {
    pub village: String,
    pub name_zh: String,
    pub venues: i64,
    pub inspected_venues: i64,
    pub inspections: i64,
    pub open: i64,
    pub overdue: i64,
}

impl VillageRow {
    /// Share of the village's venues inspected this month, in whole percent.
    pub fn coverage_pct(&self) -> i64 {
        if self.venues == 0 {
            0
        } else {
            self.inspected_venues * 100 / self.venues
        }
    }
}

/// One row of [`RelayStore::hazard_summary`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HazardCount {
    pub village: String,
    pub domain: String,
    pub state: String,
    pub severity: String,
    pub count: i64,
    pub overdue: i64,
}

#[derive(Debug)]
pub struct RelayStore {
    /// This instance's own SQLite file: the office's tables and the projections, and (without
    /// PostgreSQL) the shared tables too.
    pub(crate) conn: Connection,
    /// The shared tables on PostgreSQL, when several relays share one database.
    pg: Option<Pg>,
    cache: lru::LruCache<String, Arc<Loaded>>,
    /// The parsed directory: every request needs it, so it is read once and replaced on import.
    pub(crate) dir: Option<Directory>,
    /// The template versions this build ships, offered to phones that lack them.
    templates: Vec<(String, template::TemplateSource)>,
    /// actor (hex) → user id: who wrote each lifecycle event, for the hazard projection.
    pub(crate) actors: HashMap<String, String>,
}

pub(crate) fn now_ms() -> i64 {
    gridsafe_core::clock::now_ms()
}

fn sha256_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

fn heads_of(doc: &mut AutoCommit) -> String {
    let mut v: Vec<String> = doc.get_heads().iter().map(ToString::to_string).collect();
    v.sort();
    v.join(",")
}

/// Where a record belongs and what it references: what routing and authorisation need. Read
/// with one full hydration of the record, which is also the shape check (a record the phones
/// could not read is refused here, not discovered on every phone).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Placement {
    kind: DocKind,
    grid: String,
    /// Lead departments (hazards only).
    depts: Vec<String>,
    /// Every photo hash the record references (all variants), for download authorisation.
    photos: Vec<String>,
    /// The record as read, for the projections.
    pub(crate) record: Record,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Record {
    Venue(Box<records::Venue>),
    Inspection(Box<records::Inspection>),
    Hazard(Box<records::HazardHeader>, Vec<records::StoredEvent>),
    Task(Box<records::Task>),
}

impl Placement {
    /// A hazard's registration data, which may never change.
    fn hazard_header(&self) -> Option<&records::HazardHeader> {
        match &self.record {
            Record::Hazard(h, _) => Some(h),
            _ => None,
        }
    }
}

fn place(doc: &AutoCommit, id: &str) -> Result<Placement> {
    let kind = records::doc_kind(doc, id)?;
    let mut photos = Vec::new();
    let mut push = |p: &records::PhotoRef| {
        photos.push(p.sha256.clone());
        photos.extend(p.thumb_sha256.clone());
        photos.extend(p.original_sha256.clone());
    };
    let (inner, grid, depts, record) = match kind {
        DocKind::Venue => {
            let v = records::read_venue(doc, id)?;
            (
                v.id.clone(),
                v.grid_id.clone(),
                vec![],
                Record::Venue(Box::new(v)),
            )
        }
        DocKind::Inspection => {
            let i = records::read_inspection(doc, id)?;
            i.photos.iter().for_each(&mut push);
            (
                i.header.id.clone(),
                i.header.grid_id.clone(),
                vec![],
                Record::Inspection(Box::new(i)),
            )
        }
        DocKind::Hazard => {
            let (h, evs) = records::read_hazard(doc, id)?;
            h.photos.iter().for_each(&mut push);
            photos.extend(evs.iter().filter_map(|e| e.record.photo.clone()));
            (
                h.id.clone(),
                h.grid_id.clone(),
                h.lead_depts.clone(),
                Record::Hazard(Box::new(h), evs),
            )
        }
        DocKind::Task => {
            let t = records::read_task(doc, id)?;
            (
                t.id.clone(),
                t.grid_id.clone(),
                vec![],
                Record::Task(Box::new(t)),
            )
        }
    };
    if inner != id {
        return Err(RelayError::BadRequest(format!(
            "record {id} holds record {inner}"
        )));
    }
    Ok(Placement {
        kind,
        grid,
        depts,
        photos,
        record,
    })
}

/// A record as the relay holds it. Shared read-only between requests; a request that changes it
/// works on its own copy.
#[derive(Debug)]
pub struct Loaded {
    doc: AutoCommit,
    pub(crate) place: Placement,
    /// Sorted hex heads, joined by commas (as in the `docs` table).
    heads: String,
}

/// A record whose pushed changes passed every check, ready to be written.
#[derive(Debug)]
pub struct Prepared {
    doc_id: String,
    /// The heads it was checked against (`None`: the relay did not have the record).
    based_on: Option<String>,
    changes: Vec<(String, Vec<u8>)>,
    loaded: Loaded,
}

/// What a commit answers: the records written and refused, and what the phone lacks of the
/// directory and templates.
#[derive(Debug)]
pub struct Committed {
    pub accepted: Vec<Acked>,
    pub refused: Vec<Refused>,
    pub directory: Option<ByteBuf>,
    pub templates: Vec<TemplateFile>,
}

/// Checks one record's pushed changes against the device, the record shape and the scope, on top
/// of `before` (the relay's version). Pure: nothing is stored here.
pub fn check(device: &Device, d: &DocChanges, before: Option<&Loaded>) -> Result<Prepared> {
    gridsafe_core::store::check_id("record", &d.doc_id)?;
    let changes = d
        .changes
        .iter()
        .map(|c| {
            records::check_chunks(
                &d.doc_id,
                c,
                &[records::CHUNK_CHANGE, records::CHUNK_COMPRESSED_CHANGE],
            )
            .map_err(|e| RelayError::BadRequest(e.to_string()))?;
            records::untrusted(&d.doc_id, || Change::from_bytes(c.to_vec()))
                .map_err(|e| RelayError::BadRequest(e.to_string()))?
                .map_err(|e| RelayError::BadRequest(format!("not an automerge change: {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    for c in &changes {
        let actor = c.actor_id().to_hex_string();
        if !device.actors.contains(&actor) {
            return Err(RelayError::Forbidden(format!(
                "change {} carries actor {actor}, which is not bound to this device",
                c.hash()
            )));
        }
    }
    if let Some(b) = before
        && !may_write(&device.user, b.place.kind, &b.place.grid, &b.place.depts)
    {
        return Err(RelayError::Forbidden(format!(
            "record {} is outside {}'s scope",
            d.doc_id, device.user.id
        )));
    }
    let hashes: Vec<String> = changes.iter().map(|c| c.hash().to_string()).collect();
    let mut doc = before.map(|b| b.doc.clone()).unwrap_or_default();
    records::untrusted(&d.doc_id, || doc.apply_changes(changes))
        .map_err(|e| RelayError::BadRequest(e.to_string()))?
        .map_err(|e| RelayError::BadRequest(format!("changes do not apply: {e}")))?;
    if !doc.get_missing_deps(&[]).is_empty() {
        return Err(RelayError::BadRequest(
            "changes depend on history the relay does not have; push the earlier changes first"
                .into(),
        ));
    }
    let heads = heads_of(&mut doc);
    let place = match before {
        // Nothing new (a replay): the stored reading stands.
        Some(b) if b.heads == heads => b.place.clone(),
        _ => place(&doc, &d.doc_id)?,
    };
    if let Some(b) = before {
        if b.place.kind != place.kind {
            return Err(RelayError::BadRequest(
                "the change would alter the record's kind".into(),
            ));
        }
        if b.place.hazard_header().is_some() && b.place.hazard_header() != place.hazard_header() {
            return Err(RelayError::Forbidden(
                "a hazard's registration data cannot change; record an event instead".into(),
            ));
        }
    }
    if !may_write(&device.user, place.kind, &place.grid, &place.depts) {
        return Err(RelayError::Forbidden(format!(
            "record {} ({}) is outside {}'s scope",
            d.doc_id, place.grid, device.user.id
        )));
    }
    let changes = hashes
        .into_iter()
        .zip(&d.changes)
        .map(|(h, raw)| (h, raw.to_vec()))
        .collect();
    Ok(Prepared {
        doc_id: d.doc_id.clone(),
        based_on: before.map(|b| b.heads.clone()),
        changes,
        loaded: Loaded { doc, place, heads },
    })
}

/// Lead departments as the `docs` table keeps them: ",cyzx,pcs," ("" for none), so a scope
/// test is one LIKE.
fn depts_text(depts: &[String]) -> String {
    if depts.is_empty() {
        String::new()
    } else {
        format!(",{},", depts.join(","))
    }
}

/// May `user` write a record of this kind in this grid / for these departments?
fn may_write(user: &User, kind: DocKind, grid: &str, depts: &[String]) -> bool {
    match user.role {
        Role::Admin => false,
        Role::TownOffice => true,
        Role::Inspector => user.grids.iter().any(|g| g == grid),
        Role::Reviewer => match kind {
            DocKind::Hazard => user.department.as_ref().is_some_and(|d| depts.contains(d)),
            // Public reports are verified by the grid's inspector; the office enters them.
            DocKind::Task => false,
            DocKind::Venue | DocKind::Inspection => true,
        },
    }
}

impl RelayStore {
    /// The relay's store in `dir` on embedded SQLite.
    pub fn open(dir: &Path) -> Result<RelayStore> {
        RelayStore::open_with(dir, None)
    }

    /// The relay's store: office tables and projections in `dir`; the shared tables there too, or
    /// on PostgreSQL when `database` (a `postgres://` URL) is given.
    pub fn open_with(dir: &Path, database: Option<&str>) -> Result<RelayStore> {
        let pg = match database {
            Some(url) => {
                let mut pg = Pg::connect(url)?;
                pg.migrate()?;
                Some(pg)
            }
            None => None,
        };
        std::fs::create_dir_all(dir)
            .map_err(|e| RelayError::Storage(format!("{}: {e}", dir.display())))?;
        let mut conn = Connection::open(dir.join("relay.sqlite"))?;
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |_| Ok(()))?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        MIGRATIONS
            .to_latest(&mut conn)
            .map_err(|e| RelayError::Storage(format!("migration: {e}")))?;
        let templates = template::bundled_sources()
            .into_iter()
            .map(|t| (t.name.trim_end_matches(".json").replacen('/', "@", 1), t))
            .collect();
        let cache = lru::LruCache::new(NonZeroUsize::new(DOC_CACHE).unwrap_or(NonZeroUsize::MIN));
        let mut st = RelayStore {
            conn,
            pg,
            cache,
            dir: None,
            templates,
            actors: HashMap::new(),
        };
        st.dir = st.read_directory()?;
        st.refresh_actors()?;
        if st.pg.is_some() {
            // Another relay may have written since this one last ran.
            st.catch_up()?;
        } else {
            let built: Option<String> = st
                .conn
                .query_row(
                    "SELECT value FROM meta WHERE key = 'projections'",
                    [],
                    |r| r.get(0),
                )
                .optional()?;
            if built.is_none() {
                // A relay from before the projections existed: derive them once from the change log.
                st.rebuild_projections()?;
            }
        }
        Ok(st)
    }

    /// The shared tables (the admin tools and tests read and repair them through this).
    pub fn db(&mut self) -> Db<'_> {
        match &mut self.pg {
            Some(pg) => Db::Pg(pg),
            None => Db::Lite(&self.conn),
        }
    }

    /// Runs `f` in one write transaction over the shared tables and the local file (one
    /// transaction on SQLite; on PostgreSQL the shared one commits first, under the change-log
    /// lock, and the projections written locally follow: if the local commit fails, they are
    /// derived again by [`RelayStore::catch_up`]).
    pub(crate) fn write_tx<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        if let Some(pg) = &mut self.pg
            && let Err(e) = pg.begin_write()
        {
            let _ = self.conn.execute_batch("ROLLBACK");
            return Err(e);
        }
        match f(self) {
            Ok(v) => {
                if let Some(pg) = &mut self.pg
                    && let Err(e) = pg.end(true)
                {
                    let _ = self.conn.execute_batch("ROLLBACK");
                    return Err(e);
                }
                self.conn.execute_batch("COMMIT")?;
                Ok(v)
            }
            Err(e) => {
                if let Some(pg) = &mut self.pg {
                    let _ = pg.end(false);
                }
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }

    /// Re-reads the actor → user table when devices were enrolled (here or on another relay).
    fn refresh_actors(&mut self) -> Result<()> {
        let n = self
            .db()
            .one("SELECT count(*) FROM actors", &[])?
            .map_or(Ok(0), |r| r.int(0))?;
        if n as usize != self.actors.len() {
            let rows = self.db().query("SELECT actor, user_id FROM actors", &[])?;
            self.actors = rows
                .iter()
                .map(|r| Ok((r.text(0)?, r.text(1)?)))
                .collect::<Result<_>>()?;
        }
        Ok(())
    }

    /// Brings this instance's projections up to the shared change log (PostgreSQL: other relays
    /// write it too). Each record changed after the last change projected here is read again
    /// and projected. Idempotent, and a no-op on SQLite, where every commit projects its records
    /// in the same transaction. See [`RelayStore::catch_up_by`].
    pub fn catch_up(&mut self) -> Result<usize> {
        self.catch_up_by(CATCH_UP_STEP)
    }

    /// [`RelayStore::catch_up`], `step` changes of the log at a time, the progress recorded after
    /// each step: a relay joining a district with a million records holds one step's record ids
    /// in memory, not the whole log's, logs how far it is, and if stopped resumes where it was.
    /// Returns how many records were projected (a record changed in two steps counts twice).
    pub fn catch_up_by(&mut self, step: i64) -> Result<usize> {
        if self.pg.is_none() {
            return Ok(0);
        }
        self.refresh_actors()?;
        let from: i64 = self
            .conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'projected_seq'",
                [],
                |r| r.get::<_, String>(0),
            )
            .optional()?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let upto = self
            .db()
            .one("SELECT coalesce(max(seq), 0) FROM changes", &[])?
            .map_or(Ok(0), |r| r.int(0))?;
        let (mut at, mut projected) = (from, 0);
        while at < upto {
            let to = at.saturating_add(step.max(1)).min(upto);
            let ids: Vec<String> = self
                .db()
                .query(
                    "SELECT DISTINCT doc_id FROM changes WHERE seq > ?1 AND seq <= ?2",
                    vals![at, to],
                )?
                .iter()
                .map(|r| r.text(0))
                .collect::<Result<_>>()?;
            self.project_records(&ids)?;
            self.conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('projected_seq', ?1)",
                params![to.to_string()],
            )?;
            projected += ids.len();
            at = to;
            if upto - from > step {
                tracing::info!(
                    at,
                    upto,
                    "projections catching up with the shared change log"
                );
            }
        }
        Ok(projected)
    }

    // -----------------------------------------------------------------------------------------
    // Directory and credentials

    fn read_directory(&mut self) -> Result<Option<Directory>> {
        let b = self
            .db()
            .one("SELECT body FROM directory WHERE id = 1", &[])?;
        b.map(|b| Directory::from_json(&b.blob(0)?).map_err(RelayError::from))
            .transpose()
    }

    /// Re-reads the directory only when `gridsafe-server admin` (another process) installed a new
    /// version: one indexed lookup per request instead of parsing the JSON every time.
    pub(crate) fn refresh_directory(&mut self) -> Result<()> {
        let v = self
            .db()
            .one("SELECT version FROM directory WHERE id = 1", &[])?
            .map(|r| r.int(0))
            .transpose()?;
        if v.map(|v| v as u64) != self.dir.as_ref().map(|d| d.version) {
            self.dir = self.read_directory()?;
        }
        Ok(())
    }

    pub fn directory(&self) -> Option<&Directory> {
        self.dir.as_ref()
    }

    /// Installs a directory; its version becomes one more than the installed one.
    pub fn import_directory(&mut self, bytes: &[u8]) -> Result<Directory> {
        let mut d = Directory::from_json(bytes)?;
        let current = self.dir.as_ref().map_or(0, |d| d.version);
        d.version = d.version.max(current + 1);
        let body = serde_json::to_vec(&d).map_err(|e| RelayError::Storage(e.to_string()))?;
        self.db().exec(
            "INSERT INTO directory (id, version, body) VALUES (1, ?1, ?2)
             ON CONFLICT (id) DO UPDATE SET version = excluded.version, body = excluded.body",
            vals![d.version as i64, body],
        )?;
        self.dir = Some(d.clone());
        Ok(d)
    }

    pub fn set_password(&mut self, user_id: &str, password: &str) -> Result<()> {
        let dir = self
            .dir
            .as_ref()
            .ok_or_else(|| RelayError::BadRequest("no directory installed".into()))?;
        if dir.user(user_id).is_none() {
            return Err(RelayError::BadRequest(format!("unknown user {user_id:?}")));
        }
        if password.chars().count() < 8 {
            return Err(RelayError::BadRequest(
                "a password needs at least 8 characters".into(),
            ));
        }
        let salt = SaltString::generate(&mut OsRng);
        let hash = Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map_err(|e| RelayError::Storage(e.to_string()))?
            .to_string();
        self.db().exec(
            "INSERT INTO credentials (user_id, pw_hash, updated_ms) VALUES (?1, ?2, ?3)
             ON CONFLICT (user_id) DO UPDATE SET pw_hash = excluded.pw_hash, updated_ms = excluded.updated_ms",
            vals![user_id, hash, now_ms()],
        )?;
        Ok(())
    }

    /// Adds a user or changes one's name, role and scope (the administrator's page): the
    /// directory is checked whole and published as a new version, which phones receive on their
    /// next sync. A change that leaves the directory invalid is refused and changes nothing.
    pub fn upsert_user(&mut self, user: User) -> Result<Directory> {
        let id = user.id.trim();
        if id.is_empty()
            || id.len() > 64
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        {
            return Err(RelayError::BadRequest(format!(
                "user id {:?}: use 1–64 letters, digits, '_', '-' or '.'",
                user.id
            )));
        }
        if user.name.trim().is_empty() {
            return Err(RelayError::BadRequest(format!(
                "user {id}: the name is empty"
            )));
        }
        let mut dir = self
            .dir
            .clone()
            .ok_or_else(|| RelayError::BadRequest("no directory installed".into()))?;
        match dir.users.iter_mut().find(|u| u.id == user.id) {
            Some(u) => *u = user,
            None => dir.users.push(user),
        }
        dir.validate()?;
        let bytes = serde_json::to_vec(&dir).map_err(|e| RelayError::Storage(e.to_string()))?;
        self.import_directory(&bytes)
    }

    /// Sets a new password for a user (the administrator's reset): their dashboard sessions end
    /// and a lockout is lifted. Phones already enrolled keep their device tokens.
    pub fn reset_password(&mut self, user_id: &str, password: &str) -> Result<()> {
        self.set_password(user_id, password)?;
        self.conn.execute(
            "DELETE FROM web_sessions WHERE user_id = ?1",
            params![user_id],
        )?;
        self.conn.execute(
            "DELETE FROM login_failures WHERE user_id = ?1",
            params![user_id],
        )?;
        Ok(())
    }

    /// The monthly report for `month` (`YYYY-MM`; the period holding today when `None`) in
    /// `user_id`'s scope, as the dashboard shows it (`gridsafe-server admin report`).
    pub fn monthly_report(
        &mut self,
        user_id: &str,
        month: Option<&str>,
    ) -> Result<crate::report::Report> {
        self.refresh_directory()?;
        self.catch_up()?;
        let dir = self
            .dir
            .as_ref()
            .ok_or_else(|| RelayError::BadRequest("no directory installed".into()))?;
        let user = dir
            .user(user_id)
            .ok_or_else(|| RelayError::BadRequest(format!("unknown user {user_id:?}")))?;
        let cutoff = crate::report::cutoff_day(&self.conn)?;
        let today = gridsafe_core::clock::today();
        let period = match month {
            Some(m) => crate::report::Period::of_month(m, cutoff)?,
            None => crate::report::Period::containing(today, cutoff)?,
        };
        crate::report::monthly(&self.conn, dir, user, &period, today)
    }

    pub fn report_cutoff_day(&self) -> Result<u8> {
        crate::report::cutoff_day(&self.conn)
    }

    pub fn set_report_cutoff_day(&mut self, day: u8) -> Result<()> {
        crate::report::set_cutoff_day(&self.conn, day)
    }

    fn check_password(&mut self, user_id: &str, password: &str) -> Result<User> {
        let fail = || RelayError::Unauthorized("wrong user name or password".into());
        let dir = self.dir.as_ref().ok_or_else(fail)?;
        let user = dir.user(user_id).cloned().ok_or_else(fail)?;
        let hash = self
            .db()
            .one(
                "SELECT pw_hash FROM credentials WHERE user_id = ?1",
                vals![user_id],
            )?
            .map(|r| r.text(0))
            .transpose()?;
        let hash = hash.ok_or_else(fail)?;
        let parsed = PasswordHash::new(&hash).map_err(|e| RelayError::Storage(e.to_string()))?;
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .map_err(|_| fail())?;
        Ok(user)
    }

    // -----------------------------------------------------------------------------------------
    // Audit log

    /// Appends one entry to the audit log: who (`actor`: a user id, or `console` for the server's
    /// admin commands) did what (`action`, e.g. `hazard.close`, `user.save`) to which `target`.
    /// The entry's hash covers the previous entry's, so a changed or removed row breaks the chain.
    pub fn audit(&mut self, actor: &str, action: &str, target: &str, detail: &str) -> Result<()> {
        let tx = self.conn.transaction()?;
        let last: Option<(i64, String)> = tx
            .query_row(
                "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let (prev_seq, prev_hash) = last.unwrap_or((0, AUDIT_GENESIS.to_owned()));
        let (seq, at) = (prev_seq + 1, now_ms());
        let hash = audit_hash(&prev_hash, seq, at, actor, action, target, detail);
        tx.execute(
            "INSERT INTO audit_log (seq, at_ms, actor, action, target, detail, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![seq, at, actor, action, target, detail, hash],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Audit entries, newest first: `limit` of them before entry `before` (all when `None`).
    pub fn audit_entries(&self, limit: u32, before: Option<i64>) -> Result<Vec<AuditEntry>> {
        let mut stmt = self
            .conn
            .prepare("SELECT seq, at_ms, actor, action, target, detail, hash FROM audit_log WHERE seq < ?1 ORDER BY seq DESC LIMIT ?2")?;
        let rows = stmt.query_map(params![before.unwrap_or(i64::MAX), limit], |r| {
            Ok(AuditEntry {
                seq: r.get(0)?,
                at_ms: r.get(1)?,
                actor: r.get(2)?,
                action: r.get(3)?,
                target: r.get(4)?,
                detail: r.get(5)?,
                hash: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Walks the whole chain; returns how many entries it holds, or names the first entry that
    /// was changed, removed or inserted out of order.
    pub fn verify_audit(&self) -> Result<u64> {
        let mut stmt = self.conn.prepare(
            "SELECT seq, at_ms, actor, action, target, detail, hash FROM audit_log ORDER BY seq",
        )?;
        let mut rows = stmt.query([])?;
        let (mut prev_seq, mut prev_hash, mut n) = (0i64, AUDIT_GENESIS.to_owned(), 0u64);
        while let Some(r) = rows.next()? {
            let (seq, at, actor, action, target, detail, hash): (
                i64,
                i64,
                String,
                String,
                String,
                String,
                String,
            ) = (
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            );
            if seq != prev_seq + 1 {
                return Err(RelayError::Storage(format!(
                    "audit log: entries {} to {} are missing",
                    prev_seq + 1,
                    seq - 1
                )));
            }
            if audit_hash(&prev_hash, seq, at, &actor, &action, &target, &detail) != hash {
                return Err(RelayError::Storage(format!(
                    "audit log: entry {seq} was altered"
                )));
            }
            (prev_seq, prev_hash, n) = (seq, hash, n + 1);
        }
        Ok(n)
    }

    // -----------------------------------------------------------------------------------------
    // Devices

    /// Enrols a phone for a user who gives their password: a random token (stored hashed) and the
    /// phone's actors bound to the new device (an actor already bound elsewhere is refused).
    pub fn enroll(
        &mut self,
        user_id: &str,
        password: &str,
        device_name: &str,
        actors: &[String],
    ) -> Result<Enrolled> {
        self.refresh_directory()?;
        let user = self.guarded(user_id, "enrolment (password)", |st| {
            st.check_password(user_id, password)
        })?;
        self.enroll_user(user, device_name, actors, None)
    }

    /// Runs a credential check for `user_id` under the lockouts: refused without trying while the
    /// user name is locked ([`LOCKOUT_FAILURES`] failures within [`LOCKOUT_MS`], dashboard
    /// sign-ins and enrolments together) or the relay has seen [`RELAY_FAILURES_PER_MINUTE`]
    /// failures in the last minute; a failure is counted, a success clears the user's count.
    /// Failures go to the audit log as `auth.failed` with `what` was tried.
    fn guarded<T>(
        &mut self,
        user_id: &str,
        what: &str,
        check: impl FnOnce(&mut Self) -> Result<T>,
    ) -> Result<T> {
        let now = now_ms();
        self.conn.execute(
            "DELETE FROM login_failures WHERE at_ms < ?1",
            params![now - LOCKOUT_MS],
        )?;
        let (mine, recent): (i64, i64) = self.conn.query_row(
            "SELECT coalesce(sum(user_id = ?1), 0), coalesce(sum(at_ms >= ?2), 0) FROM login_failures",
            params![user_id, now - 60_000],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        if mine >= LOCKOUT_FAILURES {
            return Err(RelayError::TooMany(format!(
                "too many failed attempts for {user_id}; try again in {} minutes",
                LOCKOUT_MS / 60_000
            )));
        }
        if recent >= RELAY_FAILURES_PER_MINUTE {
            return Err(RelayError::TooMany(
                "too many failed sign-ins on this relay; try again in a minute".into(),
            ));
        }
        match check(self) {
            Ok(v) => {
                self.conn.execute(
                    "DELETE FROM login_failures WHERE user_id = ?1",
                    params![user_id],
                )?;
                Ok(v)
            }
            Err(e @ RelayError::Unauthorized(_)) => {
                self.conn.execute(
                    "INSERT INTO login_failures (user_id, at_ms) VALUES (?1, ?2)",
                    params![user_id, now],
                )?;
                self.audit(user_id, "auth.failed", user_id, what)?;
                Err(e)
            }
            Err(e) => Err(e),
        }
    }

    /// Creates a one-time enrolment code for a user, valid for `valid_ms`; returns it for printing
    /// (only its hash is kept).
    pub fn create_enrol_code(&mut self, user_id: &str, valid_ms: i64) -> Result<String> {
        let dir = self
            .dir
            .as_ref()
            .ok_or_else(|| RelayError::BadRequest("no directory installed".into()))?;
        let user = dir
            .user(user_id)
            .ok_or_else(|| RelayError::BadRequest(format!("unknown user {user_id:?}")))?;
        if user.role == Role::Admin {
            return Err(RelayError::BadRequest(
                "administrators do not enrol phones".into(),
            ));
        }
        if !(60_000..=30 * 86_400_000).contains(&valid_ms) {
            return Err(RelayError::BadRequest(
                "a code is valid between one minute and 30 days".into(),
            ));
        }
        // 12 symbols without look-alikes (0/O, 1/I/L): ~59 bits, read out or typed on a phone.
        const ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
        let mut raw = [0u8; 12];
        OsRng.fill_bytes(&mut raw);
        let code: String = raw
            .iter()
            .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
            .collect();
        let now = now_ms();
        self.db().exec(
            "INSERT INTO enrol_codes (code_hash, user_id, created_ms, expires_ms) VALUES (?1, ?2, ?3, ?4)",
            vals![sha256_hex(code.as_bytes()), user_id, now, now + valid_ms],
        )?;
        Ok(format!("{}-{}-{}", &code[..4], &code[4..8], &code[8..]))
    }

    /// Enrols a phone with a user name and a one-time code from [`RelayStore::create_enrol_code`].
    pub fn enroll_with_code(
        &mut self,
        user_id: &str,
        code: &str,
        device_name: &str,
        actors: &[String],
    ) -> Result<Enrolled> {
        self.refresh_directory()?;
        let (user, hash) = self.guarded(user_id, "enrolment (code)", |st| {
            st.check_enrol_code(user_id, code)
        })?;
        self.enroll_user(user, device_name, actors, Some(hash))
    }

    /// The user a one-time code belongs to, and the code's hash, if it is theirs and unspent.
    fn check_enrol_code(&mut self, user_id: &str, code: &str) -> Result<(User, String)> {
        let normal: String = code
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let hash = sha256_hex(normal.as_bytes());
        let row: Option<(String, i64, Option<i64>)> = self
            .db()
            .one(
                "SELECT user_id, expires_ms, used_ms FROM enrol_codes WHERE code_hash = ?1",
                vals![&hash],
            )?
            .map(|r| Ok::<_, RelayError>((r.text(0)?, r.int(1)?, r.opt_int(2)?)))
            .transpose()?;
        let user = match row {
            Some((owner, _, _)) if owner != user_id => None,
            Some((_, _, Some(_))) => {
                return Err(RelayError::Unauthorized(
                    "this enrolment code has already been used".into(),
                ));
            }
            Some((_, expires, None)) if expires <= now_ms() => {
                return Err(RelayError::Unauthorized(
                    "this enrolment code has expired; ask the office for a new one".into(),
                ));
            }
            Some(_) => self.dir.as_ref().and_then(|d| d.user(user_id)).cloned(),
            None => None,
        };
        let user = user
            .ok_or_else(|| RelayError::Unauthorized("wrong user name or enrolment code".into()))?;
        Ok((user, hash))
    }

    /// Creates the device; a code, when given, is spent in the same transaction.
    fn enroll_user(
        &mut self,
        user: User,
        device_name: &str,
        actors: &[String],
        code_hash: Option<String>,
    ) -> Result<Enrolled> {
        if user.role == Role::Admin {
            return Err(RelayError::Forbidden(
                "administrators do not enrol phones".into(),
            ));
        }
        let mut token = [0u8; 32];
        OsRng.fill_bytes(&mut token);
        let token = hex::encode(token);
        let mut id = [0u8; 16];
        OsRng.fill_bytes(&mut id);
        let device_id = hex::encode(id);
        let mut actors: Vec<String> = actors.to_vec();
        if actors.is_empty() {
            let mut a = [0u8; 16];
            OsRng.fill_bytes(&mut a);
            actors.push(hex::encode(a));
        }
        for a in &actors {
            if hex::decode(a).map_or(true, |b| b.is_empty() || b.len() > 32) {
                return Err(RelayError::BadRequest(format!(
                    "actor {a:?} is not a hex actor id"
                )));
            }
        }
        let mut key = [0u8; 32];
        OsRng.fill_bytes(&mut key);
        let owner_key = hex::encode(key);
        self.write_tx(|st| {
            let mut db = st.db();
            for a in &actors {
                if db.one("SELECT device_id FROM actors WHERE actor = ?1", vals![a])?.is_some() {
                    return Err(RelayError::Forbidden(format!("actor {a} is already bound to another device")));
                }
            }
            db.exec(
                "INSERT INTO devices (id, user_id, name, token_hash, created_ms, owner_key) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                vals![&device_id, &user.id, device_name, sha256_hex(token.as_bytes()), now_ms(), &owner_key],
            )?;
            for a in &actors {
                db.exec("INSERT INTO actors (actor, device_id, user_id) VALUES (?1, ?2, ?3)", vals![a, &device_id, &user.id])?;
            }
            if let Some(h) = code_hash {
                let n = db.exec(
                    "UPDATE enrol_codes SET used_ms = ?2, device_id = ?3 WHERE code_hash = ?1 AND used_ms IS NULL",
                    vals![h, now_ms(), &device_id],
                )?;
                if n != 1 {
                    return Err(RelayError::Unauthorized("this enrolment code has already been used".into()));
                }
            }
            Ok(())
        })?;
        self.actors
            .extend(actors.iter().map(|a| (a.clone(), user.id.clone())));
        self.audit(&user.id, "device.enroll", &device_id, device_name)?;
        Ok(Enrolled {
            device_id,
            token,
            user_id: user.id,
            actors,
            owner_key,
        })
    }

    pub fn authenticate(&mut self, token: &str) -> Result<Device> {
        self.refresh_directory()?;
        let row: Option<(String, String, Option<i64>)> = self
            .db()
            .one(
                "SELECT id, user_id, revoked_ms FROM devices WHERE token_hash = ?1",
                vals![sha256_hex(token.as_bytes())],
            )?
            .map(|r| Ok::<_, RelayError>((r.text(0)?, r.text(1)?, r.opt_int(2)?)))
            .transpose()?;
        let (id, user_id, revoked) =
            row.ok_or_else(|| RelayError::Unauthorized("unknown device token".into()))?;
        if revoked.is_some() {
            return Err(RelayError::Unauthorized(
                "this device has been revoked".into(),
            ));
        }
        let dir = self
            .dir
            .as_ref()
            .ok_or_else(|| RelayError::Unauthorized("no directory".into()))?;
        let user = dir
            .user(&user_id)
            .cloned()
            .ok_or_else(|| RelayError::Unauthorized(format!("user {user_id} no longer exists")))?;
        let actors = self.device_actors(&id)?;
        Ok(Device { id, user, actors })
    }

    fn device_actors(&mut self, device_id: &str) -> Result<HashSet<String>> {
        self.db()
            .query(
                "SELECT actor FROM actors WHERE device_id = ?1",
                vals![device_id],
            )?
            .iter()
            .map(|r| r.text(0))
            .collect()
    }

    pub fn revoke(&mut self, device_id: &str) -> Result<()> {
        let n = self.db().exec(
            "UPDATE devices SET revoked_ms = ?2 WHERE id = ?1 AND revoked_ms IS NULL",
            vals![device_id, now_ms()],
        )?;
        if n == 0 {
            return Err(RelayError::BadRequest(format!(
                "no active device {device_id}"
            )));
        }
        Ok(())
    }

    pub fn devices(&mut self) -> Result<Vec<DeviceRow>> {
        let rows = self.db().query(
            "SELECT id, user_id, name, revoked_ms, last_sync_ms, pending_docs, pending_photos, app_version, protocol FROM devices ORDER BY user_id, created_ms",
            &[],
        )?;
        rows.iter()
            .map(|r| {
                Ok(DeviceRow {
                    id: r.text(0)?,
                    user_id: r.text(1)?,
                    name: r.text(2)?,
                    revoked: r.opt_int(3)?.is_some(),
                    last_sync_ms: r.opt_int(4)?,
                    pending_docs: r.opt_int(5)?,
                    pending_photos: r.opt_int(6)?,
                    app_version: r.opt_text(7)?,
                    protocol: r.opt_int(8)?,
                })
            })
            .collect()
    }

    // -----------------------------------------------------------------------------------------
    // Sync
    //
    // A sync runs in phases so that its CPU work (decoding, applying and reading automerge
    // changes) runs outside the store lock, on every core:
    // 1. under the lock, `stored` hands out the relay's versions of the pushed records;
    // 2. without it, [`check`] applies each record's changes and checks actor, shape and scope;
    // 3. under the lock, `commit` writes what passed in one transaction, first re-checking any
    //    record that another request changed in the meantime;
    // 4. without it, [`pull`] reads the user's scope after the cursor on a read-only connection.
    // `sync` runs all four in one call (the admin tools and tests use it).

    /// The relay's version of a record, from the cache or rebuilt from the change log.
    pub(crate) fn load(&mut self, id: &str) -> Result<Option<Arc<Loaded>>> {
        if let Some(d) = self.cache.get(id).cloned() {
            // Another relay on the shared database may have changed the record since.
            if self.pg.is_none() || self.stored_heads(id)?.as_deref() == Some(d.heads.as_str()) {
                return Ok(Some(d));
            }
            self.cache.pop(id);
        }
        let snapshot: Option<(Vec<u8>, i64)> = self
            .db()
            .one(
                "SELECT bytes, upto_seq FROM snapshots WHERE doc_id = ?1",
                vals![id],
            )?
            .map(|r| Ok::<_, RelayError>((r.blob(0)?, r.int(1)?)))
            .transpose()?;
        // A snapshot that does not load is only a lost shortcut: the log has every change.
        let (mut doc, after) =
            match snapshot.and_then(|(b, upto)| AutoCommit::load(&b).ok().map(|d| (d, upto))) {
                Some((d, upto)) => (d, upto),
                None => (AutoCommit::new(), 0),
            };
        let changes = self
            .db()
            .query(
                "SELECT bytes FROM changes WHERE doc_id = ?1 AND seq > ?2 ORDER BY seq",
                vals![id, after],
            )?
            .iter()
            .map(|r| Change::from_bytes(r.blob(0)?).map_err(|e| RelayError::Storage(e.to_string())))
            .collect::<Result<Vec<_>>>()?;
        if changes.is_empty() && after == 0 {
            return Ok(None);
        }
        doc.apply_changes(changes)
            .map_err(|e| RelayError::Storage(e.to_string()))?;
        let place = place(&doc, id)
            .map_err(|e| RelayError::Storage(format!("stored record {id} no longer reads: {e}")))?;
        let heads = heads_of(&mut doc);
        let loaded = Arc::new(Loaded { doc, place, heads });
        self.cache.put(id.to_owned(), loaded.clone());
        Ok(Some(loaded))
    }

    /// Phase 1: the relay's versions of the records a request pushes.
    pub fn stored(&mut self, req: &SyncRequest) -> Result<Vec<Option<Arc<Loaded>>>> {
        if self.pg.is_none() {
            return req
                .push
                .iter()
                .map(|d| {
                    if gridsafe_core::store::check_id("record", &d.doc_id).is_ok() {
                        self.load(&d.doc_id)
                    } else {
                        Ok(None)
                    }
                })
                .collect();
        }
        // On PostgreSQL, one query for every pushed record's heads: a record the database lacks
        // needs no more, and a cached one is current when its heads match.
        let heads = self.heads_of(req)?;
        req.push
            .iter()
            .map(|d| match heads.get(&d.doc_id) {
                None => Ok(None),
                Some(h) => match self.cache.get(&d.doc_id) {
                    Some(c) if &c.heads == h => Ok(Some(c.clone())),
                    _ => {
                        self.cache.pop(&d.doc_id);
                        self.load(&d.doc_id)
                    }
                },
            })
            .collect()
    }

    /// The stored heads of the records a request pushes (those the relay has), in one query.
    fn heads_of(&mut self, req: &SyncRequest) -> Result<HashMap<String, String>> {
        let ids: Vec<String> = req.push.iter().map(|d| d.doc_id.clone()).collect();
        if self.pg.is_none() {
            let mut out = HashMap::new();
            for id in ids {
                if let Some(h) = self.current_heads(&id)? {
                    out.insert(id, h);
                }
            }
            return Ok(out);
        }
        let rows = self.db().query(
            "SELECT id, heads FROM docs WHERE id = ANY(?1::text[])",
            &[crate::db::Val::Texts(ids)],
        )?;
        rows.iter().map(|r| Ok((r.text(0)?, r.text(1)?))).collect()
    }

    /// The heads the relay holds for a record now (cheap: the cache or one indexed row).
    fn current_heads(&mut self, id: &str) -> Result<Option<String>> {
        // Only this process writes an SQLite relay, so its cache is current; PostgreSQL is asked.
        if self.pg.is_none()
            && let Some(d) = self.cache.peek(id)
        {
            return Ok(Some(d.heads.clone()));
        }
        self.stored_heads(id)
    }

    /// The heads the shared tables hold for a record.
    fn stored_heads(&mut self, id: &str) -> Result<Option<String>> {
        self.db()
            .one("SELECT heads FROM docs WHERE id = ?1", vals![id])?
            .map(|r| r.text(0))
            .transpose()
    }

    /// Phase 3: writes the records that passed [`check`] in one transaction (one fsync per
    /// request) and records the device's status. A record another request changed since phase 1
    /// is checked again, here, on top of the relay's current version.
    pub fn commit(
        &mut self,
        device: &Device,
        req: &SyncRequest,
        checked: Vec<Result<Prepared>>,
    ) -> Result<Committed> {
        // On PostgreSQL the re-check runs under the change-log lock, against what every relay wrote.
        let (accepted, refused, batch) =
            self.write_tx(|st| st.commit_in_tx(device, req, checked))?;
        for p in batch {
            self.cache.put(p.doc_id, Arc::new(p.loaded));
        }
        let directory = match &self.dir {
            Some(d) if d.version > req.directory_version => Some(ByteBuf::from(
                serde_json::to_vec(d).map_err(|e| RelayError::Storage(e.to_string()))?,
            )),
            _ => None,
        };
        let templates = self
            .templates
            .iter()
            .filter(|(key, _)| !req.templates.contains(key))
            .map(|(_, t)| TemplateFile {
                name: t.name.clone(),
                bytes: ByteBuf::from(t.bytes.clone()),
            })
            .collect();
        Ok(Committed {
            accepted,
            refused,
            directory,
            templates,
        })
    }

    #[allow(clippy::type_complexity)]
    fn commit_in_tx(
        &mut self,
        device: &Device,
        req: &SyncRequest,
        checked: Vec<Result<Prepared>>,
    ) -> Result<(Vec<Acked>, Vec<Refused>, Vec<Prepared>)> {
        if self.pg.is_some() {
            self.refresh_actors()?;
        }
        let mut accepted = Vec::new();
        let mut refused = Vec::new();
        let mut batch = Vec::new();
        let current = self.heads_of(req)?;
        let mut seen = HashSet::new();
        for (d, c) in req.push.iter().zip(checked) {
            if !seen.insert(d.doc_id.as_str()) {
                // Its second copy would be checked against the relay's version, not the first's.
                refused.push(Refused {
                    doc_id: d.doc_id.clone(),
                    reason: format!("record {} is pushed twice in one request", d.doc_id),
                });
                continue;
            }
            let c = match c {
                Ok(p) if p.based_on.as_ref() != current.get(&p.doc_id) => {
                    let before = self.load(&p.doc_id)?;
                    check(device, d, before.as_deref())
                }
                other => other,
            };
            match c {
                Ok(p) => {
                    accepted.push(Acked {
                        doc_id: p.doc_id.clone(),
                        heads: split_list(&p.loaded.heads),
                    });
                    batch.push(p);
                }
                Err(RelayError::Storage(e)) => return Err(RelayError::Storage(e)),
                Err(e) => refused.push(Refused {
                    doc_id: d.doc_id.clone(),
                    reason: e.to_string(),
                }),
            }
        }
        let now = now_ms();
        let since = if self.pg.is_some() {
            self.write_records_pg(device, &batch, now)?
        } else {
            self.write_records(device, &batch, now)?
        };
        for p in &batch {
            if since.get(&p.doc_id).is_some_and(|n| *n >= SNAPSHOT_EVERY) {
                // The checked document holds every change logged for the record (commit re-checks
                // any record changed since its check), so it is exact up to the newest seq.
                let mut db = self.db();
                let upto = db
                    .one(
                        "SELECT max(seq) FROM changes WHERE doc_id = ?1",
                        vals![&p.doc_id],
                    )?
                    .map_or(Ok(0), |r| r.int(0))?;
                let bytes = p.loaded.doc.clone().save();
                db.exec(
                    "INSERT INTO snapshots (doc_id, bytes, upto_seq) VALUES (?1, ?2, ?3)
                     ON CONFLICT (doc_id) DO UPDATE SET bytes = excluded.bytes, upto_seq = excluded.upto_seq",
                    vals![&p.doc_id, bytes, upto],
                )?;
                db.exec(
                    "UPDATE docs SET since_snapshot = 0 WHERE id = ?1",
                    vals![&p.doc_id],
                )?;
            }
            // Local projections: in the same transaction on SQLite.
            project(
                &self.conn,
                self.dir.as_ref(),
                &self.actors,
                &p.loaded.place.record,
            )?;
        }
        self.db().exec(
            "UPDATE devices SET last_sync_ms = ?2, pending_docs = ?3, pending_photos = ?4, app_version = ?5, protocol = ?6 WHERE id = ?1",
            vals![
                &device.id,
                now,
                req.status.pending_docs as i64,
                req.status.pending_photos as i64,
                &req.status.app_version,
                i64::from(req.protocol)
            ],
        )?;
        // Acknowledged only once durably stored: an error in the commit fails the whole request.
        Ok((accepted, refused, batch))
    }

    /// Writes the accepted records' changes, `docs` rows and photo references, statement by
    /// statement (SQLite: no round trips). Returns each record's changes since its snapshot.
    fn write_records(
        &mut self,
        device: &Device,
        batch: &[Prepared],
        now: i64,
    ) -> Result<HashMap<String, i64>> {
        let mut db = self.db();
        let mut since = HashMap::new();
        for p in batch {
            for (hash, raw) in &p.changes {
                db.exec(
                    "INSERT INTO changes (hash, doc_id, bytes, device_id, received_ms) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
                    vals![hash, &p.doc_id, &raw[..], &device.id, now],
                )?;
            }
            let pl = &p.loaded.place;
            db.exec(
                "INSERT INTO docs (id, kind, grid_id, depts, heads, updated_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (id) DO UPDATE SET grid_id = excluded.grid_id, depts = excluded.depts, heads = excluded.heads, updated_ms = excluded.updated_ms",
                vals![&p.doc_id, pl.kind.as_str(), &pl.grid, depts_text(&pl.depts), &p.loaded.heads, now],
            )?;
            for sha in &pl.photos {
                db.exec(
                    "INSERT INTO blob_refs (sha256, doc_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                    vals![sha, &p.doc_id],
                )?;
            }
            let n = db
                .one(
                    "UPDATE docs SET since_snapshot = since_snapshot + ?2 WHERE id = ?1 RETURNING since_snapshot",
                    vals![&p.doc_id, p.changes.len() as i64],
                )?
                .map_or(Ok(0), |r| r.int(0))?;
            since.insert(p.doc_id.clone(), n);
        }
        Ok(since)
    }

    /// The same writes on PostgreSQL as three statements for the whole request (`unnest` over
    /// arrays), not one round trip per row: they run under the change-log lock.
    fn write_records_pg(
        &mut self,
        device: &Device,
        batch: &[Prepared],
        now: i64,
    ) -> Result<HashMap<String, i64>> {
        use crate::db::Val;
        let (mut hashes, mut change_docs, mut bytes) = (Vec::new(), Vec::new(), Vec::new());
        let (mut ids, mut kinds, mut grids, mut depts, mut heads, mut counts) =
            (vec![], vec![], vec![], vec![], vec![], vec![]);
        let (mut shas, mut sha_docs) = (Vec::new(), Vec::new());
        for p in batch {
            for (hash, raw) in &p.changes {
                hashes.push(hash.clone());
                change_docs.push(p.doc_id.clone());
                bytes.push(raw.clone());
            }
            let pl = &p.loaded.place;
            ids.push(p.doc_id.clone());
            kinds.push(pl.kind.as_str().to_owned());
            grids.push(pl.grid.clone());
            depts.push(depts_text(&pl.depts));
            heads.push(p.loaded.heads.clone());
            counts.push(p.changes.len() as i64);
            for sha in &pl.photos {
                shas.push(sha.clone());
                sha_docs.push(p.doc_id.clone());
            }
        }
        let mut db = self.db();
        db.exec(
            "INSERT INTO changes (hash, doc_id, bytes, device_id, received_ms)
             SELECT h, d, b, ?4, ?5 FROM unnest(?1::text[], ?2::text[], ?3::bytea[]) WITH ORDINALITY AS t(h, d, b, n) ORDER BY n
             ON CONFLICT DO NOTHING",
            &[Val::Texts(hashes), Val::Texts(change_docs), Val::Blobs(bytes), Val::from(&device.id), Val::Int(now)],
        )?;
        let rows = db.query(
            "INSERT INTO docs (id, kind, grid_id, depts, heads, updated_ms, since_snapshot)
             SELECT i, k, g, dp, hd, ?6, n FROM unnest(?1::text[], ?2::text[], ?3::text[], ?4::text[], ?5::text[], ?7::bigint[]) AS t(i, k, g, dp, hd, n)
             ON CONFLICT (id) DO UPDATE SET grid_id = excluded.grid_id, depts = excluded.depts, heads = excluded.heads,
                 updated_ms = excluded.updated_ms, since_snapshot = docs.since_snapshot + excluded.since_snapshot
             RETURNING id, since_snapshot",
            &[Val::Texts(ids), Val::Texts(kinds), Val::Texts(grids), Val::Texts(depts), Val::Texts(heads), Val::Int(now), Val::Ints(counts)],
        )?;
        if !shas.is_empty() {
            db.exec(
                "INSERT INTO blob_refs (sha256, doc_id) SELECT s, d FROM unnest(?1::text[], ?2::text[]) AS t(s, d) ON CONFLICT DO NOTHING",
                &[Val::Texts(shas), Val::Texts(sha_docs)],
            )?;
        }
        rows.iter().map(|r| Ok((r.text(0)?, r.int(1)?))).collect()
    }

    /// Derives every projection row again from the stored records (schema upgrades, repairs:
    /// `gridsafe-server admin reindex`). Returns the number of records read.
    pub fn rebuild_projections(&mut self) -> Result<usize> {
        let upto = self
            .db()
            .one("SELECT coalesce(max(seq), 0) FROM changes", &[])?
            .map_or(Ok(0), |r| r.int(0))?;
        let ids: Vec<String> = self
            .db()
            .query("SELECT id FROM docs ORDER BY id", &[])?
            .iter()
            .map(|r| r.text(0))
            .collect::<Result<_>>()?;
        // Until the flag below is written again, an interrupted rebuild restarts on the next open.
        self.conn.execute_batch(
            "DELETE FROM meta WHERE key = 'projections'; DELETE FROM venues_idx; DELETE FROM inspections_idx; DELETE FROM hazards_idx;
             DELETE FROM hazard_depts; DELETE FROM hazard_facts; DELETE FROM tasks_idx;",
        )?;
        self.project_records(&ids)?;
        self.conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('projections', ?1)",
            params![now_ms().to_string()],
        )?;
        self.conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('projected_seq', ?1)",
            params![upto.to_string()],
        )?;
        Ok(ids.len())
    }

    /// Reads each record and writes its projection rows, [`DOC_CACHE`] records per transaction.
    fn project_records(&mut self, ids: &[String]) -> Result<()> {
        let mut batch = Vec::with_capacity(ids.len().min(DOC_CACHE));
        for id in ids {
            if let Some(l) = self.load(id)? {
                batch.push(l);
            }
            if batch.len() == DOC_CACHE {
                self.write_projections(std::mem::take(&mut batch))?;
            }
        }
        self.write_projections(batch)
    }

    fn write_projections(&mut self, batch: Vec<Arc<Loaded>>) -> Result<()> {
        let tx = self.conn.transaction()?;
        for l in &batch {
            project(&tx, self.dir.as_ref(), &self.actors, &l.place.record)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// One sync round trip in one call: accept what the phone pushed, then return what it lacks
    /// in its scope. The HTTP relay runs the same phases with the lock released in between.
    pub fn sync(&mut self, device: &Device, req: &SyncRequest) -> Result<SyncResponse> {
        refuse_admin(device)?;
        let stored = self.stored(req)?;
        let checked = req
            .push
            .iter()
            .zip(&stored)
            .map(|(d, b)| check(device, d, b.as_deref()))
            .collect();
        let Committed {
            accepted,
            refused,
            directory,
            templates,
        } = self.commit(device, req, checked)?;
        let (pull, cursor, more, actors) = pull(&mut self.db(), device, req.cursor)?;
        Ok(SyncResponse {
            protocol: PROTOCOL,
            accepted,
            refused,
            pull,
            cursor,
            more,
            directory,
            templates,
            actors,
        })
    }

    // -----------------------------------------------------------------------------------------
    // Photos

    /// Records a completed, verified upload.
    pub fn blob_completed(&mut self, sha: &str, size: u64, device: &Device) -> Result<()> {
        self.db().exec(
            "INSERT INTO blobs (sha256, size, device_id, completed_ms) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
            vals![sha, size as i64, &device.id, now_ms()],
        )?;
        Ok(())
    }

    pub fn blob_complete(&mut self, sha: &str) -> Result<bool> {
        Ok(self
            .db()
            .one("SELECT 1 FROM blobs WHERE sha256 = ?1", vals![sha])?
            .is_some())
    }

    /// May this device download the photo? Only when a record in its user's scope references it.
    pub fn may_read_blob(&mut self, device: &Device, sha: &str) -> Result<bool> {
        self.user_may_read_blob(&device.user, sha)
    }

    /// May `user` see the photo? Only when a record in their scope references it.
    pub fn user_may_read_blob(&mut self, user: &User, sha: &str) -> Result<bool> {
        let rows = self
            .db()
            .query("SELECT d.kind, d.grid_id, d.depts FROM blob_refs b JOIN docs d ON d.id = b.doc_id WHERE b.sha256 = ?1", vals![sha])?;
        for row in rows {
            let (kind, grid, depts) = (row.text(0)?, row.text(1)?, row.text(2)?);
            let kind = DocKind::parse(&kind).unwrap_or(DocKind::Venue);
            let depts = split_list(&depts);
            if may_write(user, kind, &grid, &depts) {
                return Ok(true);
            }
        }
        // An owner's photo not (yet) accepted into a record: readable where its hazard is.
        let mut stmt = self.conn.prepare_cached(
            "SELECT h.grid_id, h.lead_depts FROM owner_reports o JOIN hazards_idx h ON h.id = o.hazard_id WHERE o.photo = ?1 OR o.thumb = ?1",
        )?;
        let rows = stmt.query_map(params![sha], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?;
        for row in rows {
            let (grid, depts) = row?;
            if may_write(user, DocKind::Hazard, &grid, &split_list(&depts)) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// A venue record the relay holds (404 when it has none by that id).
    pub(crate) fn load_venue(&mut self, id: &str) -> Result<records::Venue> {
        match self.load(id)?.map(|l| l.place.record.clone()) {
            Some(Record::Venue(v)) => Ok(*v),
            _ => Err(RelayError::NotFound(format!("venue {id}"))),
        }
    }

    /// The relay's heads for a record (sorted hex), if it has the record.
    pub fn doc_heads(&mut self, id: &str) -> Result<Option<Vec<String>>> {
        Ok(self.load(id)?.map(|d| split_list(&d.heads)))
    }

    /// Hazards by village, domain, state and severity from the projection, with how many of them
    /// are past their deadline on `today` (YYYY-MM-DD, Shanghai) while still awaiting the owner.
    pub fn hazard_summary(&self, today: &str) -> Result<Vec<HazardCount>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT village, domain, state, severity, count(*), sum(awaiting = 1 AND due_date IS NOT NULL AND due_date < ?1)
             FROM hazards_idx GROUP BY village, domain, state, severity ORDER BY village, domain, state, severity",
        )?;
        let rows = stmt.query_map(params![today], |r| {
            Ok(HazardCount {
                village: r.get(0)?,
                domain: r.get(1)?,
                state: r.get(2)?,
                severity: r.get(3)?,
                count: r.get(4)?,
                overdue: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Open hazards per lead department (a hazard led by two departments counts for both).
    pub fn open_by_department(&self) -> Result<Vec<(String, i64)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT d.dept, count(*) FROM hazard_depts d JOIN hazards_idx h ON h.id = d.hazard_id WHERE h.is_open = 1 GROUP BY d.dept ORDER BY d.dept",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    // -----------------------------------------------------------------------------------------
    // Office dashboard: sessions and reads from the projections

    /// Signs a user in to the dashboard: a random session token (stored hashed, valid
    /// [`SESSION_MS`]) and a CSRF token for its forms. After [`LOCKOUT_FAILURES`] failed attempts
    /// within [`LOCKOUT_MS`] the user name is locked for the rest of that window, even with the
    /// right password.
    pub fn web_login(&mut self, user_id: &str, password: &str) -> Result<(String, String, User)> {
        self.refresh_directory()?;
        let now = now_ms();
        let user = self.guarded(user_id, "dashboard sign-in", |st| {
            st.check_password(user_id, password)
        })?;
        self.audit(&user.id, "auth.login", &user.id, "dashboard")?;
        let mut raw = [0u8; 32];
        OsRng.fill_bytes(&mut raw);
        let token = hex::encode(raw);
        OsRng.fill_bytes(&mut raw);
        let csrf = hex::encode(raw);
        self.conn.execute(
            "INSERT INTO web_sessions (token_hash, user_id, csrf, created_ms, expires_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![sha256_hex(token.as_bytes()), user.id, csrf, now, now + SESSION_MS],
        )?;
        Ok((token, csrf, user))
    }

    /// The user and CSRF token of a live dashboard session.
    pub fn web_session(&mut self, token: &str) -> Result<(User, String)> {
        self.refresh_directory()?;
        // The office's pages read the projections: bring in what other relays took.
        self.catch_up()?;
        let row: Option<(String, String, i64)> = self
            .conn
            .query_row(
                "SELECT user_id, csrf, expires_ms FROM web_sessions WHERE token_hash = ?1",
                params![sha256_hex(token.as_bytes())],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let (user_id, csrf, expires) =
            row.ok_or_else(|| RelayError::Unauthorized("please sign in".into()))?;
        if expires <= now_ms() {
            return Err(RelayError::Unauthorized(
                "the session has expired; please sign in again".into(),
            ));
        }
        let user = self
            .dir
            .as_ref()
            .and_then(|d| d.user(&user_id))
            .cloned()
            .ok_or_else(|| RelayError::Unauthorized(format!("user {user_id} no longer exists")))?;
        Ok((user, csrf))
    }

    pub fn web_logout(&mut self, token: &str) -> Result<()> {
        self.conn.execute(
            "DELETE FROM web_sessions WHERE token_hash = ?1",
            params![sha256_hex(token.as_bytes())],
        )?;
        Ok(())
    }

    /// The hazard ledger: the projection query the phones use, in `user`'s scope.
    pub fn ledger(
        &self,
        user: &User,
        q: &gridsafe_core::store::HazardQuery,
    ) -> Result<(Vec<gridsafe_core::store::HazardRow>, u64)> {
        if user.role == Role::Admin {
            return Err(RelayError::Forbidden(
                "administrators manage users and devices; they do not see hazards".into(),
            ));
        }
        let dir = self
            .dir
            .as_ref()
            .ok_or_else(|| RelayError::Storage("no directory installed".into()))?;
        let q = gridsafe_core::store::HazardQuery {
            scope_user: Some(user.id.clone()),
            ..q.clone()
        };
        Ok(projection::list_hazards(&self.conn, dir, &q)?)
    }

    /// One hazard with its derived state and history, if it is in `user`'s scope (403 otherwise).
    pub fn hazard_view(
        &mut self,
        user: &User,
        id: &str,
    ) -> Result<(
        records::HazardHeader,
        gridsafe_core::lifecycle::HazardStatus,
    )> {
        gridsafe_core::store::check_id("hazard", id)?;
        let loaded = self
            .load(id)?
            .ok_or_else(|| RelayError::NotFound(format!("hazard {id}")))?;
        let Record::Hazard(h, evs) = &loaded.place.record else {
            return Err(RelayError::NotFound(format!("hazard {id}")));
        };
        let visible = match user.role {
            Role::TownOffice => true,
            Role::Inspector => user.grids.contains(&h.grid_id),
            Role::Reviewer => user
                .department
                .as_ref()
                .is_some_and(|d| h.lead_depts.contains(d)),
            Role::Admin => false,
        };
        if !visible {
            return Err(RelayError::Forbidden(format!(
                "hazard {id} is outside {}'s scope",
                user.id
            )));
        }
        let status = projection::fold_with(self.dir.as_ref(), &self.actors, h, evs);
        Ok(((**h).clone(), status))
    }

    /// The overview's figures in `user`'s scope on `today` (Shanghai): see [`Overview`].
    pub fn overview(&mut self, user: &User, today: &str) -> Result<Overview> {
        let devices = if user.role == Role::TownOffice {
            self.devices()?
        } else {
            vec![]
        };
        let dir = self
            .dir
            .as_ref()
            .ok_or_else(|| RelayError::Storage("no directory installed".into()))?;
        let (scope, scope_args) = projection::hazard_scope(dir, &user.id)?;
        let day = gridsafe_core::clock::parse_date(today)?;
        let month_start = day
            .replace_day(1)
            .map_err(|e| RelayError::BadRequest(e.to_string()))?;
        let year_start = month_start
            .replace_month(gridsafe_core::clock::Month::January)
            .map_err(|e| RelayError::BadRequest(e.to_string()))?;
        let (month_ms, year_ms) = (
            gridsafe_core::clock::start_of_day_ms(month_start),
            gridsafe_core::clock::start_of_day_ms(year_start),
        );
        let (month_text, year_text) = (
            gridsafe_core::clock::format_date(month_start),
            gridsafe_core::clock::format_date(year_start),
        );
        use rusqlite::types::Value as V;
        let mut villages: std::collections::BTreeMap<String, VillageRow> = dir
            .villages
            .iter()
            .map(|v| {
                (
                    v.code.clone(),
                    VillageRow {
                        village: v.code.clone(),
                        name_zh: v.name_zh.clone(),
                        ..VillageRow::default()
                    },
                )
            })
            .collect();
        // Hazards: one pass per village over a covering index (migration 008); the town's
        // figures are the villages' sums.
        let mut args: Vec<V> = vec![
            V::from(today.to_owned()),
            V::from(month_text),
            V::from(year_ms),
            V::from(year_text),
            V::from(year_ms),
        ];
        args.extend(scope_args.iter().cloned().map(V::from));
        let mut o = Overview::default();
        {
            let mut stmt = self.conn.prepare_cached(&format!(
                "SELECT village, coalesce(sum(is_open = 1 AND severity = 'general'), 0), coalesce(sum(is_open = 1 AND severity != 'general'), 0),
                        coalesce(sum(awaiting = 1 AND due_date < ?1), 0), coalesce(sum(closed_at >= ?2), 0),
                        coalesce(sum(severity = 'major' AND found_ms < ?3 AND (is_open = 1 OR closed_at >= ?4)), 0),
                        coalesce(sum(severity = 'major' AND found_ms >= ?5), 0)
                 FROM hazards_idx WHERE {scope} GROUP BY village"
            ))?;
            let rows = stmt.query_map(rusqlite::params_from_iter(args.iter()), |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    [
                        r.get::<_, i64>(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                    ],
                ))
            })?;
            for row in rows {
                let (v, [general, major, overdue, closed, stock, increment]) = row?;
                o.open_general += general;
                o.open_major += major;
                o.overdue += overdue;
                o.closed_this_month += closed;
                o.major_stock += stock;
                o.major_increment += increment;
                let e = villages.entry(v.clone()).or_insert_with(|| VillageRow {
                    village: v,
                    ..VillageRow::default()
                });
                e.open = general + major;
                e.overdue = overdue;
            }
        }
        // Per village: venues and this month's inspection coverage.
        let grids: Vec<String> = if user.role == Role::Inspector {
            user.grids.clone()
        } else {
            vec![]
        };
        let venue_scope = if grids.is_empty() {
            "1 = 1".to_owned()
        } else {
            format!("grid_id IN ({})", vec!["?"; grids.len()].join(","))
        };
        let mut vargs: Vec<V> = vec![V::from(month_ms)];
        vargs.extend(grids.iter().cloned().map(V::from));
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT village, count(*), coalesce(sum(last_inspected_ms >= ?1), 0) FROM venues_idx WHERE archived = 0 AND {venue_scope} GROUP BY village"
        ))?;
        let rows = stmt.query_map(rusqlite::params_from_iter(vargs.iter()), |r| {
            Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?))
        })?;
        for row in rows {
            let (v, n, inspected) = row?;
            let e = villages.entry(v.clone()).or_insert_with(|| VillageRow {
                village: v.clone(),
                ..VillageRow::default()
            });
            e.venues = n;
            e.inspected_venues = inspected;
        }
        // Inspections by grid (a covering index, no join); the directory places grids in villages.
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT grid_id, count(*) FROM inspections_idx WHERE started_ms >= ?1 AND {venue_scope} GROUP BY grid_id"
        ))?;
        let rows = stmt.query_map(rusqlite::params_from_iter(vargs.iter()), |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
        })?;
        for row in rows {
            let (g, n) = row?;
            let v = dir.grid(&g).map_or(g, |g| g.village.clone());
            villages
                .entry(v.clone())
                .or_insert_with(|| VillageRow {
                    village: v,
                    ..VillageRow::default()
                })
                .inspections += n;
        }
        o.villages = villages.into_values().collect();
        // Phones that have not synced for STALE_DAYS (the town office follows them up).
        if user.role == Role::TownOffice {
            let cutoff = now_ms() - STALE_DAYS * 86_400_000;
            o.stale_devices = devices
                .into_iter()
                .filter(|d| {
                    !d.revoked && d.name != "dashboard" && d.last_sync_ms.is_none_or(|t| t < cutoff)
                })
                .collect();
        }
        Ok(o)
    }

    /// The dashboard's device for `user`, created on first use: actions taken on the dashboard
    /// are automerge changes by this device's own actor, so they are authored, checked, stored
    /// and synced exactly like a phone's. Its token is never issued.
    pub(crate) fn dashboard_device(&mut self, user: &User) -> Result<Device> {
        let found = self
            .db()
            .one("SELECT id FROM devices WHERE user_id = ?1 AND name = 'dashboard' AND revoked_ms IS NULL", vals![&user.id])?
            .map(|r| r.text(0))
            .transpose()?;
        let id = match found {
            Some(id) => id,
            None => {
                let mut raw = [0u8; 32];
                OsRng.fill_bytes(&mut raw);
                let mut dev = [0u8; 16];
                OsRng.fill_bytes(&mut dev);
                let mut actor = [0u8; 16];
                OsRng.fill_bytes(&mut actor);
                let (id, actor) = (hex::encode(dev), hex::encode(actor));
                self.write_tx(|st| {
                    let mut db = st.db();
                    db.exec(
                        "INSERT INTO devices (id, user_id, name, token_hash, created_ms) VALUES (?1, ?2, 'dashboard', ?3, ?4)",
                        vals![&id, &user.id, sha256_hex(&raw), now_ms()],
                    )?;
                    db.exec("INSERT INTO actors (actor, device_id, user_id) VALUES (?1, ?2, ?3)", vals![&actor, &id, &user.id])?;
                    Ok(())
                })?;
                self.actors.insert(actor, user.id.clone());
                id
            }
        };
        let actors = self.device_actors(&id)?;
        Ok(Device {
            id,
            user: user.clone(),
            actors,
        })
    }

    /// A review action from the dashboard (close, reject, confirm, downgrade, deadline, plan,
    /// recheck, escalate...): core records the event on the hazard document as the reviewer's
    /// dashboard actor if the lifecycle rules apply it, and the change goes through the same
    /// check and commit as a phone's push. The phones receive it on their next sync.
    pub fn web_action(
        &mut self,
        user: &User,
        hazard_id: &str,
        kind: gridsafe_core::lifecycle::EventKind,
        detail: ActionDetail,
    ) -> Result<gridsafe_core::lifecycle::HazardStatus> {
        let ActionDetail {
            reason,
            deadline,
            text,
            photo,
        } = detail;
        gridsafe_core::store::check_id("hazard", hazard_id)?;
        self.refresh_directory()?;
        let device = self.dashboard_device(user)?;
        let loaded = self
            .load(hazard_id)?
            .ok_or_else(|| RelayError::NotFound(format!("hazard {hazard_id}")))?;
        let Record::Hazard(header, events) = &loaded.place.record else {
            return Err(RelayError::NotFound(format!("hazard {hazard_id}")));
        };
        if !may_write(user, DocKind::Hazard, &header.grid_id, &header.lead_depts) {
            return Err(RelayError::Forbidden(format!(
                "hazard {hazard_id} is outside {}'s scope",
                user.id
            )));
        }
        let actor = dashboard_actor(&device)?;
        let mut doc = loaded.doc.clone().with_actor(actor);
        let before = doc.get_heads();
        let last = projection::fold_with(self.dir.as_ref(), &self.actors, header, events).last_hlc;
        let mut ev = gridsafe_core::lifecycle::event(
            gridsafe_core::store::new_id(),
            kind,
            last.tick(now_ms()),
        );
        ev.reason = reason.filter(|s| !s.trim().is_empty());
        ev.deadline = deadline.filter(|s| !s.trim().is_empty());
        ev.text = text.filter(|s| !s.trim().is_empty());
        ev.photo = photo;
        let mut evs = events.clone();
        let status = projection::record_event(
            &mut doc,
            header,
            &mut evs,
            ev,
            self.dir.as_ref(),
            &self.actors,
        )
        .map_err(|e| match e {
            gridsafe_core::Error::Refused(r) => RelayError::Refused(format!("{} / {}", r.zh, r.en)),
            other => RelayError::from(other),
        })?;
        let changes = doc
            .get_changes(&before)
            .into_iter()
            .map(|c| ByteBuf::from(c.raw_bytes().to_vec()))
            .collect();
        let push = DocChanges {
            doc_id: hazard_id.to_owned(),
            kind: "hazard".into(),
            changes,
            heads: vec![],
        };
        self.push_as_dashboard(&device, vec![(push, Some(loaded))])?;
        Ok(status)
    }

    /// Commits records written on the dashboard as its device's push: the same check and commit
    /// as a phone's, in one transaction; any refusal fails the whole call.
    pub(crate) fn push_as_dashboard(
        &mut self,
        device: &Device,
        docs: Vec<(DocChanges, Option<Arc<Loaded>>)>,
    ) -> Result<()> {
        let (push, before): (Vec<DocChanges>, Vec<Option<Arc<Loaded>>>) = docs.into_iter().unzip();
        let req = SyncRequest {
            protocol: PROTOCOL,
            cursor: 0,
            directory_version: u64::MAX,
            templates: self.templates.iter().map(|(k, _)| k.clone()).collect(),
            push,
            more_to_push: false,
            status: gridsafe_core::sync::DeviceStatus {
                app_version: "dashboard".into(),
                ..Default::default()
            },
        };
        let checked = req
            .push
            .iter()
            .zip(&before)
            .map(|(d, b)| check(device, d, b.as_deref()))
            .collect();
        let committed = self.commit(device, &req, checked)?;
        if let Some(r) = committed.refused.first() {
            return Err(RelayError::Forbidden(r.reason.clone()));
        }
        Ok(())
    }

    /// Counts for /metrics and the demo summary.
    pub fn counts(&mut self) -> Result<(i64, i64, i64)> {
        let mut db = self.db();
        let mut count = |sql: &str| db.one(sql, &[])?.map_or(Ok(0), |r| r.int(0));
        let docs = count("SELECT count(*) FROM docs")?;
        let changes = count("SELECT count(*) FROM changes")?;
        let devices = count("SELECT count(*) FROM devices WHERE revoked_ms IS NULL")?;
        Ok((docs, changes, devices))
    }
}

/// A new record's whole history as one push (records the dashboard creates).
pub(crate) fn whole_doc(doc: &mut AutoCommit, id: &str, kind: &str) -> DocChanges {
    let changes = doc
        .get_changes(&[])
        .into_iter()
        .map(|c| ByteBuf::from(c.raw_bytes().to_vec()))
        .collect();
    DocChanges {
        doc_id: id.to_owned(),
        kind: kind.to_owned(),
        changes,
        heads: vec![],
    }
}

/// The automerge actor of a dashboard device (its only one), for the changes it writes.
pub(crate) fn dashboard_actor(device: &Device) -> Result<automerge::ActorId> {
    let hex_actor = device
        .actors
        .iter()
        .next()
        .ok_or_else(|| RelayError::Storage("dashboard device has no actor".into()))?;
    Ok(automerge::ActorId::from(
        hex::decode(hex_actor).map_err(|e| RelayError::Storage(e.to_string()))?,
    ))
}

/// Writes a record's projection rows (the same code as on the phone).
fn project(
    conn: &Connection,
    dir: Option<&Directory>,
    actors: &HashMap<String, String>,
    record: &Record,
) -> Result<()> {
    match record {
        Record::Venue(v) => projection::index_venue(conn, v)?,
        Record::Inspection(i) => projection::index_inspection(conn, i)?,
        Record::Task(t) => projection::index_task(conn, t)?,
        Record::Hazard(h, evs) => {
            let status = projection::fold_with(dir, actors, h, evs);
            projection::index_hazard(conn, h, &status)?;
            index_facts(conn, h, &status)?;
        }
    }
    Ok(())
}

/// The relay-only facts of a hazard for the monthly report (see `sql/008_report.sql`).
fn index_facts(
    conn: &Connection,
    h: &records::HazardHeader,
    s: &gridsafe_core::lifecycle::HazardStatus,
) -> Result<()> {
    let before = h
        .photos
        .iter()
        .find(|p| p.role == "before")
        .or(h.photos.first())
        .map(|p| p.thumb_sha256.clone().unwrap_or_else(|| p.sha256.clone()));
    let after = s
        .history
        .iter()
        .rev()
        .filter(|e| e.applied)
        .find_map(|e| e.photo.clone());
    conn.execute(
        "INSERT OR REPLACE INTO hazard_facts (hazard_id, basis, plan, escalations, reopened, rectified_at, before_thumb, after_photo, ticket_no)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![h.id, h.basis_refs.join("；"), s.plan.is_some(), s.escalations, s.reopened, s.rectified_at, before, after, h.ticket_no],
    )?;
    Ok(())
}

/// Administrators manage the relay; they hold no records.
pub fn refuse_admin(device: &Device) -> Result<()> {
    if device.user.role == Role::Admin {
        return Err(RelayError::Forbidden(
            "administrators do not sync records".into(),
        ));
    }
    Ok(())
}

/// What a pull returns: the records' changes, the next cursor, whether more wait, and the
/// actor → user table.
pub type Pulled = (Vec<DocChanges>, u64, bool, Vec<(String, String)>);

/// Phase 4: every change in the user's scope after `cursor` that another device wrote, up to
/// [`PULL_BYTES`], read in one snapshot.
pub fn pull(db: &mut Db, device: &Device, cursor: u64) -> Result<Pulled> {
    // One read snapshot: the scope query and the newest sequence number see the same log.
    db.begin_read()?;
    let r = pull_in_snapshot(db, device, cursor);
    db.end_read()?;
    r
}

fn pull_in_snapshot(db: &mut Db, device: &Device, cursor: u64) -> Result<Pulled> {
    let u = &device.user;
    // Parameters ?1 and ?2 are the cursor and the device; the scope's follow.
    let (clause, args): (String, Vec<String>) = match u.role {
        Role::Inspector => {
            let marks: Vec<String> = (0..u.grids.len().max(1))
                .map(|i| format!("?{}", i + 3))
                .collect();
            let mut grids = u.grids.clone();
            if grids.is_empty() {
                grids.push(String::new());
            }
            (format!("d.grid_id IN ({})", marks.join(",")), grids)
        }
        Role::Reviewer => (
            "(d.kind != 'hazard' OR d.depts LIKE ?3)".into(),
            vec![format!("%,{},%", u.department.clone().unwrap_or_default())],
        ),
        _ => ("1 = 1".into(), vec![]),
    };
    let sql = format!(
        "SELECT c.seq, c.doc_id, c.bytes, d.kind, d.heads FROM changes c JOIN docs d ON d.id = c.doc_id
         WHERE c.seq > ?1 AND c.device_id != ?2 AND {clause} ORDER BY c.seq"
    );
    let mut params: Vec<crate::db::Val> = vec![(cursor as i64).into(), device.id.clone().into()];
    params.extend(args.into_iter().map(crate::db::Val::from));
    // Bounded by bytes: rows past the limit are not read (the phone asks again).
    let limit = format!("{sql} LIMIT {}", PULL_ROWS);
    let rows = db.query(&limit, &params)?;
    let mut out: Vec<DocChanges> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut bytes = 0usize;
    let mut last = cursor;
    let mut more = rows.len() == PULL_ROWS;
    for r in &rows {
        let seq = r.int(0)?;
        let doc_id = r.text(1)?;
        let change = r.blob(2)?;
        if bytes + change.len() > PULL_BYTES && bytes > 0 {
            more = true;
            break;
        }
        bytes += change.len();
        last = seq as u64;
        match index.get(&doc_id) {
            Some(&n) => out[n].changes.push(ByteBuf::from(change)),
            None => {
                index.insert(doc_id.clone(), out.len());
                out.push(DocChanges {
                    doc_id,
                    kind: r.text(3)?,
                    changes: vec![ByteBuf::from(change)],
                    heads: split_list(&r.text(4)?),
                });
            }
        }
    }
    if !more {
        // Nothing else in scope up to the newest change in this snapshot: the cursor may jump
        // past the rest. Sequence numbers become visible in order (one writer on SQLite; the
        // change-log lock on PostgreSQL), so no change below the newest can appear later.
        let max = db
            .one("SELECT max(seq) FROM changes", &[])?
            .map(|r| r.opt_int(0))
            .transpose()?
            .flatten();
        last = last.max(max.unwrap_or(0) as u64);
    }
    let actors = db
        .query("SELECT actor, user_id FROM actors ORDER BY actor", &[])?
        .iter()
        .map(|r| Ok((r.text(0)?, r.text(1)?)))
        .collect::<Result<_>>()?;
    Ok((out, last, more, actors))
}

/// Read-only connections beside the writer: local SQLite ones for the dashboard's projection
/// reads (WAL lets readers and one writer work at once), and, when the shared tables are on
/// PostgreSQL, connections there for pulls.
#[derive(Debug)]
pub struct Readers {
    conns: Vec<Mutex<Connection>>,
    pg: Vec<Mutex<Pg>>,
    next: AtomicUsize,
}

impl Readers {
    pub fn open_with(dir: &Path, database: Option<&str>, n: usize) -> Result<Readers> {
        let conns = (0..n.max(1))
            .map(|_| {
                let c = Connection::open_with_flags(
                    dir.join("relay.sqlite"),
                    OpenFlags::SQLITE_OPEN_READ_ONLY
                        | OpenFlags::SQLITE_OPEN_NO_MUTEX
                        | OpenFlags::SQLITE_OPEN_URI,
                )?;
                c.busy_timeout(std::time::Duration::from_secs(10))?;
                Ok(Mutex::new(c))
            })
            .collect::<Result<Vec<_>>>()?;
        let pg = match database {
            Some(url) => (0..n.max(1))
                .map(|_| Pg::connect(url).map(Mutex::new))
                .collect::<Result<Vec<_>>>()?,
            None => vec![],
        };
        Ok(Readers {
            conns,
            pg,
            next: AtomicUsize::new(0),
        })
    }

    /// Runs `f` on a free local connection (or waits for the next one in turn).
    pub fn with<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let guard = Self::take(&self.conns, &self.next)?;
        f(&guard)
    }

    /// Runs `f` on the shared tables: PostgreSQL when configured, else the local file.
    pub fn with_db<T>(&self, f: impl FnOnce(&mut Db) -> Result<T>) -> Result<T> {
        if self.pg.is_empty() {
            return self.with(|c| f(&mut Db::Lite(c)));
        }
        let mut guard = Self::take(&self.pg, &self.next)?;
        f(&mut Db::Pg(&mut guard))
    }

    fn take<'a, C>(
        pool: &'a [Mutex<C>],
        next: &AtomicUsize,
    ) -> Result<std::sync::MutexGuard<'a, C>> {
        for c in pool {
            if let Ok(guard) = c.try_lock() {
                return Ok(guard);
            }
        }
        let n = next.fetch_add(1, Ordering::Relaxed) % pool.len();
        pool[n]
            .lock()
            .map_err(|_| RelayError::Storage("reader lock poisoned".into()))
    }
}
