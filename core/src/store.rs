//! The phone store: SQLite (WAL, one writer connection, migrations keyed on `user_version`),
//! automerge documents saved incrementally with compaction, photos content-addressed, and
//! projection tables for every list the app shows.
//!
//! Every public operation is one transaction: it is either saved whole or not at all, and when it
//! returns `Ok` it is on disk (`synchronous = FULL`), so a crash or a flat battery loses nothing
//! the worker was told was saved.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

use automerge::{ActorId, AutoCommit, ChangeHash};
use rusqlite::{Connection, OpenFlags, OptionalExtension, Transaction, params};
use rusqlite_migration::{M, Migrations};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::clock::{Hlc, format_date, ms_to_date, ms_to_rfc3339, now_ms};
use crate::directory::{Directory, Role, User};
use crate::error::{Error, Result};
use crate::eval::{Answer, ItemResult, Outcome, evaluate_item, parse_answer, propose};
use crate::evidence::{self, IngestContext};
use crate::lifecycle::{EventKind, HazardStatus, event};
use crate::profile::VenueProfile;
use crate::projection;
use crate::records::{
    self, AnswerRecord, DocKind, EventRecord, Finish, HazardHeader, Inspection, InspectionHeader,
    PhotoRef, Responsible, Venue,
};
use crate::store_key::{self, StoreKey};
use crate::sync::{self, DeviceStatus, DocChanges, SyncRequest, SyncResponse};
use crate::template::{self, Level, Template, TemplateSource};
use serde_bytes::ByteBuf;

/// `PRAGMA application_id` of a GridSafe store ("GSAF"): tells our file from any other SQLite file.
pub const APPLICATION_ID: i32 = 0x4753_4146;
/// Incremental chunks kept per document before it is compacted into one snapshot.
pub const COMPACT_AFTER: i64 = 32;
/// Largest photo accepted, in bytes.
pub const MAX_PHOTO_BYTES: usize = 40 * 1024 * 1024;

static MIGRATIONS: LazyLock<Migrations<'static>> = LazyLock::new(|| {
    Migrations::new(vec![
        M::up(include_str!("../sql/001_init.sql")),
        M::up(include_str!("../sql/002_evidence.sql")),
        M::up(include_str!("../sql/003_sync.sql")),
        // Schema 4: public reports to verify on site.
        M::up(include_str!("../sql/004_tasks.sql")),
        M::up(include_str!("../sql/tasks.sql")),
    ])
});

/// The schema version this build writes.
pub const STORE_SCHEMA: usize = 5;

/// A venue as listed (from the projection).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VenueRow {
    pub id: String,
    pub name: String,
    pub address: String,
    pub village: String,
    pub grid_id: String,
    pub venue_types: Vec<String>,
    pub archived: bool,
    pub last_inspected: Option<String>,
}

/// A public report to verify, as listed (from the projection).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskRow {
    pub id: String,
    pub ticket_no: String,
    pub channel: String,
    pub received_at: String,
    pub address: String,
    pub description: String,
    pub category: String,
    pub village: String,
    pub grid_id: String,
    /// to_verify / substantiated / not_substantiated
    pub status: String,
    pub reason: Option<String>,
    pub hazard_id: Option<String>,
}

/// The grid worker's verdict on a public report, checked on site (查实).
#[derive(Clone, Debug, Default)]
pub struct TaskVerdict {
    pub substantiated: bool,
    /// Why it is not substantiated (required then); a note otherwise.
    pub reason: String,
    /// The venue the hazard is registered at (required when substantiated).
    pub venue_id: Option<String>,
    /// What was found on site (the hazard's finding; the report's description when empty).
    pub finding: String,
    /// A photo of what was found (role before).
    pub photo: Option<NewPhoto>,
}

/// Days a verified public report's hazard gets to be rectified unless a notice sets otherwise.
pub const PUBLIC_REPORT_DEADLINE_DAYS: i64 = 7;

/// A hazard as listed (from the projection).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HazardRow {
    pub id: String,
    pub venue_id: String,
    pub venue_name: String,
    pub village: String,
    pub grid_id: String,
    pub item_id: String,
    pub domain: String,
    pub title_zh: String,
    pub title_en: String,
    pub severity: String,
    pub confirmation: String,
    pub state: String,
    pub due_date: Option<String>,
    pub overdue: bool,
    pub lead_depts: Vec<String>,
    pub source: String,
    pub fix_mode: String,
    pub focus: bool,
    pub combined_group: Option<String>,
    pub found_at: String,
    pub recurrence_of: Option<String>,
}

/// An inspection as listed (from the projection).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InspectionRow {
    pub id: String,
    pub venue_id: String,
    pub venue_name: String,
    pub template_id: String,
    pub template_version: String,
    pub inspector: String,
    pub started_at: String,
    pub finished: bool,
    pub failed: u32,
    pub hazards: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TemplateRow {
    pub template_id: String,
    pub version: String,
    pub hash: String,
    pub domain: String,
    pub title_zh: String,
    pub title_en: String,
    pub items: u32,
}

/// A hazard with its derived state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HazardView {
    pub header: HazardHeader,
    pub status: HazardStatus,
    pub overdue: bool,
}

/// What to create a venue with.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NewVenue {
    pub name: String,
    pub address: String,
    pub grid_id: String,
    pub profile: VenueProfile,
    pub responsible: Responsible,
}

/// A partial edit of a venue; `None` leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VenueEdit {
    pub name: Option<String>,
    pub address: Option<String>,
    pub grid_id: Option<String>,
    pub profile: Option<VenueProfile>,
    pub responsible: Option<Responsible>,
    pub archived: Option<bool>,
}

/// The result of applying one sync response.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SyncOutcome {
    pub pushed: usize,
    /// (record id, reason) the relay refused; they stay pending.
    pub refused: Vec<(String, String)>,
    pub pulled: usize,
    pub more: bool,
}

/// What the worker sees: what is still waiting and when the last sync succeeded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SyncStatus {
    pub pending_docs: u64,
    pub pending_photos: u64,
    pub last_sync: Option<String>,
    /// Records the relay refused at the last sync, with the reason.
    pub refused: Vec<String>,
    pub cursor: u64,
}

/// What happens to camera originals after processing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OriginalsPolicy {
    /// Kept until uploaded (the default).
    Keep,
    /// Dropped once the evidence copy and thumbnail exist; only its hash is recorded.
    Drop,
}

/// A photo handed to the store.
#[derive(Clone, Debug, Default)]
pub struct NewPhoto {
    pub bytes: Vec<u8>,
    pub item_id: Option<String>,
    /// before / after / document / signature
    pub role: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
}

/// A lifecycle action requested by a user.
#[derive(Clone, Debug)]
pub struct Action {
    pub kind: EventKind,
    pub reason: Option<String>,
    pub deadline: Option<String>,
    pub text: Option<String>,
    pub photo: Option<NewPhoto>,
}

impl Action {
    pub fn new(kind: EventKind) -> Action {
        Action {
            kind,
            reason: None,
            deadline: None,
            text: None,
            photo: None,
        }
    }
}

/// The result of finishing an inspection.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FinishReport {
    pub inspection_id: String,
    pub results: Vec<ItemResult>,
    /// Hazards registered by this inspection.
    pub hazards: Vec<HazardRow>,
    /// item id → the hazard already open for it at this venue (not registered twice).
    pub already_open: BTreeMap<String, String>,
    /// Open hazards at this venue tagged as GB 35181 combined elements, after this inspection.
    pub combined_elements_open: u32,
}

/// An inspection loaded for writing: the user, the document (with the user's actor), the heads it
/// was loaded at, its content and its pinned template.
type OpenInspection = (User, AutoCommit, Vec<ChangeHash>, Inspection, Arc<Template>);

/// Which hazards to list.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HazardQuery {
    /// Restrict to what the user is responsible for (grids, department).
    pub scope_user: Option<String>,
    pub venue_id: Option<String>,
    pub open_only: bool,
    pub overdue_only: bool,
    pub limit: Option<u32>,
    /// Rows to skip (pages of the office ledger).
    #[serde(default)]
    pub offset: Option<u32>,
    /// Exact-match filters of the office ledger (village code, domain, state, severity, lead
    /// department, source).
    #[serde(default)]
    pub village: Option<String>,
    #[serde(default)]
    pub domain: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub severity: Option<String>,
    #[serde(default)]
    pub dept: Option<String>,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub grid: Option<String>,
    /// Found on or after / on or before these Shanghai dates (`YYYY-MM-DD`).
    #[serde(default)]
    pub found_from: Option<String>,
    #[serde(default)]
    pub found_to: Option<String>,
    /// Order of the rows: [`SORTS`]; soonest deadline first when absent.
    #[serde(default)]
    pub sort: Option<String>,
}

/// The orders a hazard list can be sorted in, and their SQL.
pub const SORTS: [(&str, &str); 6] = [
    ("due", "due_date IS NULL, due_date, found_ms, id"),
    ("found_desc", "found_ms DESC, id"),
    ("found", "found_ms, id"),
    ("village", "village, due_date IS NULL, due_date, id"),
    (
        "severity",
        "severity = 'general', severity, due_date IS NULL, due_date, id",
    ),
    ("updated", "updated_ms DESC, id"),
];

/// The phone store. One per phone; one writer connection.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: PathBuf,
    templates: HashMap<String, Arc<Template>>,
    directory: Option<Arc<Directory>>,
    actors: HashMap<String, String>,
    /// How far this phone's wall clock is taken to be off (see [`Store::set_clock_skew`]).
    skew_ms: i64,
}

fn store_err(path: &Path, reason: impl Into<String>) -> Error {
    Error::Store {
        path: path.display().to_string(),
        reason: reason.into(),
    }
}

/// A new record or event id: a UUIDv7 (time-ordered).
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Ids are UUIDs; anything else is refused before it reaches SQL or a document.
pub fn check_id(kind: &str, id: &str) -> Result<()> {
    uuid::Uuid::parse_str(id)
        .map(|_| ())
        .map_err(|_| Error::invalid(format!("{kind} id {id:?} is not a UUID")))
}

const PHOTO_ROLES: &[&str] = &["before", "after", "document", "signature"];

impl Store {
    /// Creates a new, unencrypted store at `path`. Refuses to touch an existing file.
    pub fn create(path: impl AsRef<Path>) -> Result<Store> {
        Store::create_with(path, None)
    }

    /// Creates a new store at `path`, encrypted with `key` when one is given. Refuses to touch an
    /// existing file.
    pub fn create_with(path: impl AsRef<Path>, key: Option<&StoreKey>) -> Result<Store> {
        let path = path.as_ref();
        if path.exists() {
            return Err(store_err(path, "already exists; refusing to overwrite it"));
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| store_err(path, e.to_string()))?;
        if let Some(k) = key {
            k.apply(&conn)?;
        }
        conn.pragma_update(None, "application_id", APPLICATION_ID)?;
        let mut store = Store::finish_open(conn, path)?;
        let tx = store.conn.transaction()?;
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('created_ms', ?1), ('hlc', '0:0')",
            params![now_ms().to_string()],
        )?;
        tx.commit()?;
        store.install_bundled()?;
        Ok(store)
    }

    /// Opens an existing, unencrypted store. A missing, foreign, corrupt, encrypted or newer file
    /// is a clear error and is never recreated or overwritten.
    pub fn open(path: impl AsRef<Path>) -> Result<Store> {
        Store::open_with(path, None)
    }

    /// Opens an existing store with its key (`None`: an unencrypted store). A wrong key is
    /// [`Error::WrongKey`] and reads or changes nothing. Given a key and an unencrypted store (a
    /// phone updated from a build without encryption), the store is first rewritten encrypted
    /// with that key, checked, and put in place of the plain file in one rename.
    pub fn open_with(path: impl AsRef<Path>, key: Option<&StoreKey>) -> Result<Store> {
        let path = path.as_ref();
        if !path.is_file() {
            return Err(store_err(
                path,
                "no such store (create it with `gridsafe init`)",
            ));
        }
        match (key, store_key::is_encrypted(path)?) {
            (None, true) => {
                return Err(store_err(
                    path,
                    "is encrypted (or is not a SQLite file): open it with its key",
                ));
            }
            (Some(k), false) => Store::open_with(path, None)?.rewrite(k)?,
            _ => {}
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| store_err(path, e.to_string()))?;
        if let Some(k) = key {
            k.apply(&conn)?;
        }
        let app_id: i32 = conn
            .pragma_query_value(None, "application_id", |r| r.get(0))
            .map_err(|e| {
                if key.is_some() && store_key::is_not_a_database(&e) {
                    Error::WrongKey {
                        path: path.display().to_string(),
                    }
                } else {
                    store_err(
                        path,
                        format!("not a GridSafe store (corrupt or not a SQLite database: {e})"),
                    )
                }
            })?;
        if app_id != APPLICATION_ID {
            return Err(store_err(
                path,
                format!("not a GridSafe store (application id {app_id:#x})"),
            ));
        }
        let mut store = Store::finish_open(conn, path)?;
        store.install_bundled()?;
        Ok(store)
    }

    /// Re-encrypts the store under `key` (key rotation; also encrypts an unencrypted store) and
    /// returns it reopened. The store is written whole to a new file, checked (integrity, every
    /// document, chunk and photo byte counted), and only then renamed over the old one: until
    /// that rename the old file with the old key is untouched, after it the new key is needed.
    /// The caller must keep both keys until this returns (see docs/security.md).
    pub fn rekey(self, key: &StoreKey) -> Result<Store> {
        let path = self.path.clone();
        self.rewrite(key)?;
        Store::open_with(&path, Some(key))
    }

    fn rewrite(self, key: &StoreKey) -> Result<()> {
        let tmp = store_key::rekey_path(&self.path);
        // Left by a rewrite that a crash interrupted; the store itself was never touched.
        let _ = std::fs::remove_file(&tmp);
        let before = store_key::census(&self.conn)?;
        let version: i64 = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?;
        let exported = store_key::export(&self.conn, &tmp, key, version, APPLICATION_ID);
        let path = self.path.clone();
        // Closing the last connection checkpoints and removes the old WAL.
        drop(self);
        let checked = exported.and_then(|()| {
            // Read-write: the copy may be in WAL mode, which a read-only connection cannot open alone.
            let conn = Connection::open_with_flags(
                &tmp,
                OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            key.apply(&conn)?;
            store_key::census(&conn)
        });
        match checked {
            Ok(after) if after == before => store_key::replace(&tmp, &path),
            Ok(after) => {
                let _ = std::fs::remove_file(&tmp);
                Err(store_err(
                    &path,
                    format!(
                        "re-encrypted copy differs ({after:?} vs {before:?}); the store was left as it was"
                    ),
                ))
            }
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                Err(e)
            }
        }
    }

    fn finish_open(mut conn: Connection, path: &Path) -> Result<Store> {
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
            .map_err(|e| store_err(path, format!("cannot open (corrupt?): {e}")))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(store_err(
                path,
                format!("cannot use WAL journal (got {mode})"),
            ));
        }
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // 8 MB of page cache instead of SQLite's 2 MB: with encryption every page that falls out
        // of the cache is decrypted and authenticated again on the next read, and the worker's
        // open-hazards list touches more than 2 MB of pages (docs/benchmarks.md, core).
        conn.pragma_update(None, "cache_size", -8192)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version > STORE_SCHEMA as i64 {
            return Err(store_err(
                path,
                format!(
                    "written by a newer GridSafe (schema {version}, this build knows {STORE_SCHEMA}); update the app"
                ),
            ));
        }
        MIGRATIONS
            .to_latest(&mut conn)
            .map_err(|e| store_err(path, format!("migration failed: {e}")))?;
        let mut store = Store {
            conn,
            path: path.to_owned(),
            templates: HashMap::new(),
            directory: None,
            actors: HashMap::new(),
            skew_ms: 0,
        };
        store.load_cached()?;
        Ok(store)
    }

    fn load_cached(&mut self) -> Result<()> {
        let dir: Option<Vec<u8>> = self
            .conn
            .query_row("SELECT body FROM directory WHERE id = 1", [], |r| r.get(0))
            .optional()?;
        self.directory = match dir {
            Some(b) => Some(Arc::new(serde_json::from_slice(&b).map_err(|e| {
                store_err(&self.path, format!("stored directory unreadable: {e}"))
            })?)),
            None => None,
        };
        let mut stmt = self.conn.prepare("SELECT actor, user_id FROM actors")?;
        self.actors = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs this store as if the phone's clock were `skew_ms` off (positive: ahead). Phones in
    /// the field are hours off more often than one would hope; this lets scenario tests and
    /// simulations run such phones side by side in one process. Lifecycle order never depends on
    /// it: the hybrid logical clock orders events by what each phone has seen.
    pub fn set_clock_skew(&mut self, skew_ms: i64) {
        self.skew_ms = skew_ms;
    }

    /// This phone's wall clock (milliseconds since the epoch).
    fn now(&self) -> i64 {
        now_ms() + self.skew_ms
    }

    /// This phone's calendar date in Shanghai.
    fn today(&self) -> time::Date {
        ms_to_date(self.now())
    }

    /// `PRAGMA integrity_check`; `Ok(())` when the file is sound.
    pub fn integrity_check(&self) -> Result<()> {
        let res: String = self
            .conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        if res == "ok" {
            Ok(())
        } else {
            Err(store_err(
                &self.path,
                format!("integrity check failed: {res}"),
            ))
        }
    }

    // -----------------------------------------------------------------------------------------
    // Templates

    fn install_bundled(&mut self) -> Result<()> {
        let sources = template::bundled_sources();
        let mut h = Sha256::new();
        for s in &sources {
            h.update(s.name.as_bytes());
            h.update(&s.bytes);
        }
        let bundle_hash = hex::encode(h.finalize());
        let seen = self.meta("bundle_hash")?;
        if seen.as_deref() == Some(bundle_hash.as_str()) {
            return Ok(());
        }
        self.import_templates(&sources)?;
        self.conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('bundle_hash', ?1)",
            params![bundle_hash],
        )?;
        Ok(())
    }

    /// Installs template versions. Already-installed versions must be byte-for-byte the same
    /// content (versions are immutable); any error installs nothing.
    pub fn import_templates(&mut self, sources: &[TemplateSource]) -> Result<Vec<TemplateRow>> {
        let loaded = {
            let known = |id: &str, v: &str| self.template(id, v).ok();
            template::load_bundle(sources, &known)?
        };
        let tx = self.conn.transaction()?;
        let mut rows = Vec::new();
        for t in &loaded {
            let existing: Option<String> = tx
                .query_row(
                    "SELECT hash FROM templates WHERE template_id = ?1 AND version = ?2",
                    params![t.template_id, t.version],
                    |r| r.get(0),
                )
                .optional()?;
            match existing {
                Some(h) if h == t.hash => continue,
                Some(_) => {
                    return Err(Error::Template {
                        file: t.key(),
                        item: "-".into(),
                        reason: "this version is already installed with different content; template versions are immutable, publish a new version".into(),
                    });
                }
                None => {}
            }
            tx.execute(
                "INSERT INTO templates (template_id, version, hash, domain, title_zh, title_en, items, body, installed_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![t.template_id, t.version, t.hash, t.domain, t.title_zh, t.title_en, t.items.len() as i64, serde_json::to_vec(t)?, now_ms()],
            )?;
            rows.push(TemplateRow {
                template_id: t.template_id.clone(),
                version: t.version.clone(),
                hash: t.hash.clone(),
                domain: t.domain.clone(),
                title_zh: t.title_zh.clone(),
                title_en: t.title_en.clone(),
                items: t.items.len() as u32,
            });
        }
        tx.commit()?;
        Ok(rows)
    }

    pub fn list_templates(&self) -> Result<Vec<TemplateRow>> {
        let mut stmt = self
            .conn
            .prepare("SELECT template_id, version, hash, domain, title_zh, title_en, items FROM templates ORDER BY template_id, version")?;
        let rows = stmt.query_map([], |r| {
            Ok(TemplateRow {
                template_id: r.get(0)?,
                version: r.get(1)?,
                hash: r.get(2)?,
                domain: r.get(3)?,
                title_zh: r.get(4)?,
                title_en: r.get(5)?,
                items: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// A pinned template version, verified against its content hash.
    pub fn template(&self, id: &str, version: &str) -> Result<Arc<Template>> {
        let key = format!("{id}@{version}");
        if let Some(t) = self.templates.get(&key) {
            return Ok(t.clone());
        }
        let row: Option<(Vec<u8>, String)> = self
            .conn
            .query_row(
                "SELECT body, hash FROM templates WHERE template_id = ?1 AND version = ?2",
                params![id, version],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let (body, hash) = row.ok_or_else(|| Error::not_found("template", &key))?;
        Ok(Arc::new(template::from_stored(&body, &hash)?))
    }

    fn template_cached(&mut self, id: &str, version: &str) -> Result<Arc<Template>> {
        let t = self.template(id, version)?;
        self.templates.insert(t.key(), t.clone());
        Ok(t)
    }

    /// The newest installed version of a template (versions are `YYYY.MM-x` and sort as text).
    pub fn latest_template(&self, id: &str) -> Result<Arc<Template>> {
        let v: Option<String> = self.conn.query_row(
            "SELECT max(version) FROM templates WHERE template_id = ?1",
            params![id],
            |r| r.get(0),
        )?;
        let v = v.ok_or_else(|| Error::not_found("template", id))?;
        self.template(id, &v)
    }

    // -----------------------------------------------------------------------------------------
    // Directory and actors

    /// Replaces the directory (server-authoritative; from a file until sync delivers it).
    pub fn import_directory(&mut self, bytes: &[u8]) -> Result<Directory> {
        let d = Directory::from_json(bytes)?;
        if let Some(old) = &self.directory
            && d.version < old.version
        {
            return Err(Error::invalid(format!(
                "directory version {} is older than the installed version {}",
                d.version, old.version
            )));
        }
        self.conn.execute(
            "INSERT OR REPLACE INTO directory (id, version, body) VALUES (1, ?1, ?2)",
            params![d.version as i64, serde_json::to_vec(&d)?],
        )?;
        self.directory = Some(Arc::new(d.clone()));
        Ok(d)
    }

    pub fn directory(&self) -> Result<Arc<Directory>> {
        self.directory.clone().ok_or_else(|| {
            Error::invalid("no directory loaded (run `gridsafe directory import FILE`)")
        })
    }

    /// Binds a remote actor to a user (the relay tells phones which device wrote what).
    pub fn bind_actor(&mut self, actor_hex: &str, user_id: &str) -> Result<()> {
        hex::decode(actor_hex)
            .map_err(|_| Error::invalid(format!("actor {actor_hex:?} is not hex")))?;
        self.conn.execute(
            "INSERT OR IGNORE INTO actors (actor, user_id, local) VALUES (?1, ?2, 0)",
            params![actor_hex, user_id],
        )?;
        self.actors
            .entry(actor_hex.to_owned())
            .or_insert_with(|| user_id.to_owned());
        Ok(())
    }

    /// Records a relay enrolment: the server, the device token, and the actors the relay bound to
    /// this device for `user_id` (kept as this phone's own).
    pub fn set_enrollment(
        &mut self,
        server: &str,
        device_id: &str,
        token: &str,
        user_id: &str,
        actors: &[String],
    ) -> Result<()> {
        let tx = self.conn.transaction()?;
        for a in actors {
            hex::decode(a).map_err(|_| Error::invalid(format!("actor {a:?} is not hex")))?;
            tx.execute(
                "INSERT OR IGNORE INTO actors (actor, user_id, local) VALUES (?1, ?2, 1)",
                params![a, user_id],
            )?;
        }
        for (k, v) in [
            ("server", server),
            ("device_id", device_id),
            ("device_token", token),
            ("device_user", user_id),
        ] {
            tx.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
                params![k, v],
            )?;
        }
        tx.commit()?;
        for a in actors {
            self.actors.insert(a.clone(), user_id.to_owned());
        }
        Ok(())
    }

    /// (server URL, device token, user) when this phone is enrolled.
    pub fn enrollment(&self) -> Result<Option<(String, String, String)>> {
        Ok(
            match (
                self.meta("server")?,
                self.meta("device_token")?,
                self.meta("device_user")?,
            ) {
                (Some(s), Some(t), Some(u)) => Some((s, t, u)),
                _ => None,
            },
        )
    }

    /// Keeps the owner key the relay issued this device (hex, 32 bytes): it signs the owner links
    /// printed on notices, offline.
    pub fn set_owner_key(&mut self, key_hex: &str) -> Result<()> {
        if key_hex.len() != 64 || hex::decode(key_hex).is_err() {
            return Err(Error::invalid("owner key: expected 64 hex characters"));
        }
        self.conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('owner_key', ?1)",
            params![key_hex],
        )?;
        Ok(())
    }

    pub fn has_owner_key(&self) -> Result<bool> {
        Ok(self.meta("owner_key")?.is_some())
    }

    /// A link to the owner's self-report page of `venue_id`, signed by this phone (valid
    /// [`crate::owner_link::VALID_MS`]); `None` until the phone is enrolled and holds an owner key.
    pub fn owner_url(&self, venue_id: &str) -> Result<Option<String>> {
        check_id("venue", venue_id)?;
        let (Some(server), Some(device_id), Some(key)) = (
            self.meta("server")?,
            self.meta("device_id")?,
            self.meta("owner_key")?,
        ) else {
            return Ok(None);
        };
        let now = self.now();
        let link = crate::owner_link::OwnerLink {
            device_id,
            venue_id: venue_id.to_owned(),
            issued_ms: now,
            expires_ms: now + crate::owner_link::VALID_MS,
        };
        Ok(Some(format!(
            "{}/o/{}",
            server.trim_end_matches('/'),
            crate::owner_link::sign(&key, &link)?
        )))
    }

    /// The rectification notice (整改通知书) for a venue's open hazards, issued by `as_user` today,
    /// with the owner's link when this phone can sign one (see [`crate::notice`]).
    pub fn notice(&self, as_user: &str, venue_id: &str) -> Result<crate::notice::Notice> {
        let dir = self.directory()?;
        let user = dir
            .user(as_user)
            .ok_or_else(|| Error::Forbidden(format!("unknown user {as_user:?}")))?;
        let venue = self.venue(venue_id)?;
        if user.role == crate::directory::Role::Inspector && !user.grids.contains(&venue.grid_id) {
            return Err(Error::Forbidden(format!(
                "venue {} is outside {as_user}'s grids",
                venue.name
            )));
        }
        let rows = self.list_hazards(&HazardQuery {
            venue_id: Some(venue_id.to_owned()),
            open_only: true,
            ..HazardQuery::default()
        })?;
        let hazards = rows
            .iter()
            .map(|r| self.hazard(&r.id).map(|v| (v.header, v.status)))
            .collect::<Result<Vec<_>>>()?;
        crate::notice::build(
            &dir,
            &venue,
            &hazards,
            as_user,
            self.today(),
            self.owner_url(venue_id)?,
        )
    }

    /// Public reports to verify, in `scope_user`'s grids when given; unverified first.
    pub fn list_tasks(&self, scope_user: Option<&str>) -> Result<Vec<TaskRow>> {
        let grids: Vec<String> = match scope_user {
            Some(u) => self
                .directory()?
                .user(u)
                .map(|u| u.grids.clone())
                .ok_or_else(|| Error::Forbidden(format!("unknown user {u:?}")))?,
            None => vec![],
        };
        let filter = if scope_user.is_some() {
            format!("WHERE grid_id IN ({})", placeholders(grids.len()))
        } else {
            String::new()
        };
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {} FROM tasks_idx {filter} ORDER BY status != 'to_verify', received_at",
            projection::TASK_COLUMNS
        ))?;
        let rows = stmt.query_map(
            rusqlite::params_from_iter(grids.iter()),
            projection::task_row,
        )?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Records the verdict on a public report after checking on site: substantiated → a hazard
    /// registered at the venue with source `public_report` and the ticket number, routed to the
    /// directory's lead departments for the report's domain; not substantiated → closed with the
    /// reason. Once only; the inspector of the report's grid only. Returns the new hazard's id.
    pub fn verify_task(
        &mut self,
        as_user: &str,
        task_id: &str,
        v: TaskVerdict,
    ) -> Result<Option<String>> {
        check_id("task", task_id)?;
        let (user, actor) = self.act_as(as_user)?;
        let (doc, since) = self.doc(task_id, DocKind::Task)?;
        let mut doc = doc.with_actor(actor.clone());
        let task = records::read_task(&doc, task_id)?;
        if user.role != crate::directory::Role::Inspector || !user.grids.contains(&task.grid_id) {
            return Err(Error::Forbidden(format!(
                "report {} is for grid {}, not {as_user}'s",
                task.ticket_no, task.grid_id
            )));
        }
        if let Some(o) = &task.outcome {
            let verdict = if o.substantiated {
                "substantiated"
            } else {
                "not substantiated"
            };
            return Err(Error::invalid(format!(
                "report {} was already verified ({verdict}) by {}",
                task.ticket_no, o.by
            )));
        }
        if !v.substantiated && v.reason.trim().is_empty() {
            return Err(Error::invalid(
                "a report that is not substantiated needs the reason (查无此事, 已自行整改, 地址不符 …)",
            ));
        }
        let dir = self.directory()?;
        let venue = match (v.substantiated, v.venue_id.as_deref()) {
            (false, _) => None,
            (true, None) => {
                return Err(Error::invalid(
                    "a substantiated report needs the venue the hazard is at",
                ));
            }
            (true, Some(venue_id)) => {
                check_id("venue", venue_id)?;
                let (vdoc, _) = self.doc(venue_id, DocKind::Venue)?;
                let venue = records::read_venue(&vdoc, venue_id)?;
                if !user.grids.contains(&venue.grid_id) {
                    return Err(Error::Forbidden(format!(
                        "venue {} is outside {as_user}'s grids",
                        venue.name
                    )));
                }
                Some(venue)
            }
        };
        // Unchecked: the photo is stored through `&self` in the same transaction (as attach_photo).
        let wall = self.now();
        let tx = self.conn.unchecked_transaction()?;
        let mut hazard_id = None;
        if let Some(venue) = venue {
            let venue_id = venue.id.as_str();
            let lead_depts = dir.routing.get(&task.category).cloned().filter(|d| !d.is_empty()).ok_or_else(|| {
                Error::invalid(format!("the directory routes no lead department for domain {:?}; the office must add it", task.category))
            })?;
            let hlc = Store::next_hlc(&tx, wall)?;
            let photos = match &v.photo {
                Some(p) => vec![self.store_photo(
                    &tx,
                    &NewPhoto {
                        role: "before".into(),
                        ..p.clone()
                    },
                    venue_id,
                    &user.id,
                )?],
                None => vec![],
            };
            let short: String = task.description.chars().take(40).collect();
            let header = HazardHeader {
                id: new_id(),
                venue_id: venue.id.clone(),
                venue_name: venue.name.clone(),
                village: venue.village.clone(),
                grid_id: venue.grid_id.clone(),
                inspection_id: None,
                template_id: "public_report".into(),
                template_version: "1".into(),
                item_id: format!("public_report.{}", task.category),
                domain: task.category.clone(),
                title_zh: format!("群众举报查实：{short}"),
                title_en: format!("Public report {} substantiated", task.ticket_no),
                finding_zh: if v.finding.trim().is_empty() {
                    task.description.clone()
                } else {
                    v.finding.trim().to_owned()
                },
                finding_en: String::new(),
                basis_refs: vec![],
                basis_edition: BTreeMap::new(),
                severity_proposed: "general".into(),
                focus: false,
                combined_group: None,
                lead_depts,
                source: "public_report".into(),
                ticket_no: Some(format!("{} {}", task.channel, task.ticket_no)),
                fix_mode: "deadline".into(),
                deadline: Some(format_date(
                    self.today() + time::Duration::days(PUBLIC_REPORT_DEADLINE_DAYS),
                )),
                recurrence_of: None,
                found_at: ms_to_rfc3339(hlc.ms),
                found_ms: hlc.ms,
                found_by: user.id.clone(),
                photos,
            };
            let reg = event(new_id(), EventKind::Register, hlc);
            let mut hdoc = records::new_hazard_doc(&actor, &header, &reg)?;
            Store::insert_doc(&tx, &header.id, DocKind::Hazard, &mut hdoc)?;
            let (_, evs) = records::read_hazard(&hdoc, &header.id)?;
            let status = projection::fold_with(Some(&dir), &self.actors, &header, &evs);
            projection::index_hazard(&tx, &header, &status)?;
            hazard_id = Some(header.id.clone());
        }
        let outcome = records::TaskOutcome {
            at: ms_to_rfc3339(self.now()),
            by: user.id.clone(),
            substantiated: v.substantiated,
            reason: v.reason.trim().to_owned(),
            hazard_id: hazard_id.clone(),
        };
        records::put_task_outcome(&mut doc, task_id, &outcome)?;
        Store::save_doc(&tx, task_id, &mut doc, &since)?;
        projection::index_task(&tx, &records::read_task(&doc, task_id)?)?;
        tx.commit()?;
        Ok(hazard_id)
    }

    /// This phone's own actors and the users they act for (what enrolment binds on the relay).
    pub fn local_actors(&self) -> Result<Vec<(String, String)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT actor, user_id FROM actors WHERE local = 1 ORDER BY actor")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The user acting, and this phone's actor for them (created on first use).
    fn act_as(&mut self, user_id: &str) -> Result<(User, ActorId)> {
        let dir = self.directory()?;
        let user = dir
            .user(user_id)
            .cloned()
            .ok_or_else(|| Error::Forbidden(format!("unknown user {user_id:?}")))?;
        let existing: Option<String> = self
            .conn
            .query_row(
                "SELECT actor FROM actors WHERE user_id = ?1 AND local = 1",
                params![user_id],
                |r| r.get(0),
            )
            .optional()?;
        let hex_actor = match existing {
            Some(a) => a,
            None => {
                let a = ActorId::random().to_hex_string();
                self.conn.execute(
                    "INSERT INTO actors (actor, user_id, local) VALUES (?1, ?2, 1)",
                    params![a, user_id],
                )?;
                self.actors.insert(a.clone(), user_id.to_owned());
                a
            }
        };
        let actor = ActorId::from(
            hex::decode(&hex_actor).map_err(|_| store_err(&self.path, "corrupt actor table"))?,
        );
        Ok((user, actor))
    }

    fn read_hlc(tx: &Transaction<'_>) -> Result<Hlc> {
        let v: String =
            tx.query_row("SELECT value FROM meta WHERE key = 'hlc'", [], |r| r.get(0))?;
        let (ms, c) = v.split_once(':').unwrap_or(("0", "0"));
        Ok(Hlc {
            ms: ms.parse().unwrap_or(0),
            counter: c.parse().unwrap_or(0),
        })
    }

    fn write_hlc(tx: &Transaction<'_>, h: Hlc) -> Result<()> {
        tx.execute(
            "UPDATE meta SET value = ?1 WHERE key = 'hlc'",
            params![format!("{}:{}", h.ms, h.counter)],
        )?;
        Ok(())
    }

    /// The next reading of this phone's clock; `wall` is its wall clock (read before the
    /// transaction borrowed the connection).
    fn next_hlc(tx: &Transaction<'_>, wall: i64) -> Result<Hlc> {
        let next = Store::read_hlc(tx)?.tick(wall);
        Store::write_hlc(tx, next)?;
        Ok(next)
    }

    fn observe_hlc(tx: &Transaction<'_>, seen: Hlc) -> Result<()> {
        let next = Store::read_hlc(tx)?.observe(seen);
        Store::write_hlc(tx, next)
    }

    // -----------------------------------------------------------------------------------------
    // Documents

    fn load_doc(
        conn: &Connection,
        id: &str,
    ) -> Result<Option<(AutoCommit, DocKind, Vec<ChangeHash>)>> {
        let row: Option<(String, Vec<u8>)> = conn
            .query_row(
                "SELECT kind, snapshot FROM docs WHERE id = ?1",
                params![id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((kind, snapshot)) = row else {
            return Ok(None);
        };
        let mut doc = AutoCommit::load(&snapshot)?;
        let mut stmt =
            conn.prepare_cached("SELECT data FROM doc_chunks WHERE doc_id = ?1 ORDER BY seq")?;
        let chunks = stmt.query_map(params![id], |r| r.get::<_, Vec<u8>>(0))?;
        for c in chunks {
            doc.load_incremental(&c?)?;
        }
        let kind = DocKind::parse(&kind).ok_or_else(|| Error::Document {
            id: id.into(),
            reason: format!("unknown kind {kind}"),
        })?;
        let heads = doc.get_heads();
        Ok(Some((doc, kind, heads)))
    }

    fn doc(&self, id: &str, kind: DocKind) -> Result<(AutoCommit, Vec<ChangeHash>)> {
        let (doc, k, heads) =
            Store::load_doc(&self.conn, id)?.ok_or_else(|| Error::not_found(kind.as_str(), id))?;
        if k != kind {
            return Err(Error::not_found(kind.as_str(), id));
        }
        Ok((doc, heads))
    }

    fn heads_text(heads: &[ChangeHash]) -> String {
        let mut v: Vec<String> = heads.iter().map(|h| h.to_string()).collect();
        v.sort();
        v.join(",")
    }

    fn parse_heads(text: &str) -> Result<Vec<ChangeHash>> {
        text.split(',')
            .filter(|s| !s.is_empty())
            .map(|h| {
                h.parse::<ChangeHash>()
                    .map_err(|_| Error::invalid(format!("{h:?} is not a change hash")))
            })
            .collect()
    }

    fn insert_doc(
        tx: &Transaction<'_>,
        id: &str,
        kind: DocKind,
        doc: &mut AutoCommit,
    ) -> Result<()> {
        let snapshot = doc.save();
        tx.execute(
            "INSERT INTO docs (id, kind, snapshot, chunks, heads, updated_ms) VALUES (?1, ?2, ?3, 0, ?4, ?5)",
            params![id, kind.as_str(), snapshot, Store::heads_text(&doc.get_heads()), now_ms()],
        )?;
        Ok(())
    }

    /// Appends what changed since `since` as one chunk; compacts into a snapshot every
    /// [`COMPACT_AFTER`] chunks.
    fn save_doc(
        tx: &Transaction<'_>,
        id: &str,
        doc: &mut AutoCommit,
        since: &[ChangeHash],
    ) -> Result<()> {
        Store::save_doc_with(tx, id, doc, since, false)
    }

    /// As [`Store::save_doc`]; `compact` forces a snapshot (e.g. when a record stops changing).
    fn save_doc_with(
        tx: &Transaction<'_>,
        id: &str,
        doc: &mut AutoCommit,
        since: &[ChangeHash],
        compact: bool,
    ) -> Result<()> {
        let heads = doc.get_heads();
        if heads == since {
            return Ok(());
        }
        let chunks: i64 =
            tx.query_row("SELECT chunks FROM docs WHERE id = ?1", params![id], |r| {
                r.get(0)
            })?;
        if compact || chunks + 1 >= COMPACT_AFTER {
            tx.execute(
                "UPDATE docs SET snapshot = ?2, chunks = 0, heads = ?3, updated_ms = ?4, dirty = (server_heads != ?3) WHERE id = ?1",
                params![id, doc.save(), Store::heads_text(&heads), now_ms()],
            )?;
            tx.execute("DELETE FROM doc_chunks WHERE doc_id = ?1", params![id])?;
        } else {
            let inc = doc.save_after(since);
            tx.execute(
                "INSERT INTO doc_chunks (doc_id, seq, data) VALUES (?1, ?2, ?3)",
                params![id, chunks, inc],
            )?;
            tx.execute(
                "UPDATE docs SET chunks = ?2, heads = ?3, updated_ms = ?4, dirty = (server_heads != ?3) WHERE id = ?1",
                params![id, chunks + 1, Store::heads_text(&heads), now_ms()],
            )?;
        }
        Ok(())
    }

    /// A record's heads (sorted hex change hashes).
    pub fn doc_heads(&self, id: &str) -> Result<Vec<String>> {
        check_id("record", id)?;
        let (mut doc, _, _) =
            Store::load_doc(&self.conn, id)?.ok_or_else(|| Error::not_found("record", id))?;
        Ok(split_list(&Store::heads_text(&doc.get_heads())))
    }

    /// A record's full automerge bytes (backup and interop).
    pub fn export_doc(&self, id: &str) -> Result<(DocKind, Vec<u8>)> {
        check_id("record", id)?;
        let (mut doc, kind, _) =
            Store::load_doc(&self.conn, id)?.ok_or_else(|| Error::not_found("record", id))?;
        Ok((kind, doc.save()))
    }

    /// Merges automerge bytes (a whole document or changes) into the record `id`, creating it if
    /// this phone has never seen it, and refreshes its projection. Bytes that are not a GridSafe
    /// record of a known kind, or that change a record's kind, are refused and nothing changes.
    pub fn merge_doc(&mut self, id: &str, bytes: &[u8]) -> Result<DocKind> {
        check_id("record", id)?;
        // A strict load first: `load_incremental` alone silently skips bytes it cannot parse.
        records::check_chunks(
            id,
            bytes,
            &[
                records::CHUNK_DOCUMENT,
                records::CHUNK_CHANGE,
                records::CHUNK_COMPRESSED_CHANGE,
            ],
        )?;
        let mut incoming =
            records::untrusted(id, || AutoCommit::load(bytes))?.map_err(|e| Error::Document {
                id: id.into(),
                reason: format!("not automerge data: {e}"),
            })?;
        let changes = incoming.get_changes(&[]);
        let tx = self.conn.unchecked_transaction()?;
        let kind = self.merge_changes(&tx, id, changes)?.0;
        tx.commit()?;
        Ok(kind)
    }

    /// Applies changes to record `id` inside `tx`, checks that the result is a well-formed record
    /// under that id, saves it and refreshes its projection. Returns the kind and the new heads.
    fn merge_changes(
        &self,
        tx: &Transaction<'_>,
        id: &str,
        changes: Vec<automerge::Change>,
    ) -> Result<(DocKind, Vec<ChangeHash>)> {
        let existing = Store::load_doc(tx, id)?;
        let (mut doc, before_kind, since) = match existing {
            Some((d, k, h)) => (d, Some(k), Some(h)),
            None => (AutoCommit::new(), None, None),
        };
        records::untrusted(id, || doc.apply_changes(changes))??;
        if !doc.get_missing_deps(&[]).is_empty() {
            return Err(Error::Document {
                id: id.into(),
                reason: "changes depend on history this phone does not have".into(),
            });
        }
        let kind = records::doc_kind(&doc, id)?;
        if before_kind.is_some_and(|k| k != kind) {
            return Err(Error::Document {
                id: id.into(),
                reason: "the change would alter the record's kind".into(),
            });
        }
        let header_id = match kind {
            DocKind::Venue => records::read_venue(&doc, id)?.id,
            DocKind::Inspection => records::read_inspection(&doc, id)?.header.id,
            DocKind::Hazard => records::read_hazard(&doc, id)?.0.id,
            DocKind::Task => records::read_task(&doc, id)?.id,
        };
        if header_id != id {
            return Err(Error::Document {
                id: id.into(),
                reason: format!("holds record {header_id}, not {id}"),
            });
        }
        match since {
            Some(since) => Store::save_doc(tx, id, &mut doc, &since)?,
            None => Store::insert_doc(tx, id, kind, &mut doc)?,
        }
        match kind {
            DocKind::Venue => projection::index_venue(tx, &records::read_venue(&doc, id)?)?,
            DocKind::Inspection => {
                projection::index_inspection(tx, &records::read_inspection(&doc, id)?)?
            }
            DocKind::Hazard => {
                let (h, evs) = records::read_hazard(&doc, id)?;
                let status =
                    projection::fold_with(self.directory.as_deref(), &self.actors, &h, &evs);
                Store::observe_hlc(tx, status.last_hlc)?;
                projection::index_hazard(tx, &h, &status)?;
            }
            DocKind::Task => projection::index_task(tx, &records::read_task(&doc, id)?)?,
        }
        Ok((kind, doc.get_heads()))
    }

    // -----------------------------------------------------------------------------------------
    // Sync (protocol v1, see `sync.rs`): the phone side.

    /// Builds the next sync request: every record with changes the relay has not acknowledged
    /// (only those changes), up to about `max_bytes` of changes.
    pub fn sync_request(&self, max_bytes: usize) -> Result<SyncRequest> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, kind, server_heads FROM docs WHERE dirty = 1 ORDER BY updated_ms, id",
        )?;
        let dirty: Vec<(String, String, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let mut push = Vec::new();
        let mut bytes = 0usize;
        let mut more = false;
        for (id, kind, server) in &dirty {
            if bytes >= max_bytes && !push.is_empty() {
                more = true;
                break;
            }
            let Some((mut doc, _, _)) = Store::load_doc(&self.conn, id)? else {
                continue;
            };
            let have = Store::parse_heads(server)?;
            let changes: Vec<ByteBuf> = doc
                .get_changes(&have)
                .iter()
                .map(|c| ByteBuf::from(c.raw_bytes().to_vec()))
                .collect();
            if changes.is_empty() {
                continue;
            }
            bytes += changes.iter().map(|c| c.len()).sum::<usize>();
            push.push(DocChanges {
                doc_id: id.clone(),
                kind: kind.clone(),
                changes,
                heads: vec![],
            });
        }
        let cursor: u64 = self
            .meta("sync_cursor")?
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let pending_photos = self.pending_photo_count()?;
        Ok(SyncRequest {
            protocol: sync::PROTOCOL,
            cursor,
            directory_version: self.directory.as_ref().map_or(0, |d| d.version),
            templates: self
                .list_templates()?
                .into_iter()
                .map(|t| format!("{}@{}", t.template_id, t.version))
                .collect(),
            status: DeviceStatus {
                pending_docs: dirty.len() as u64,
                pending_photos: pending_photos as u64,
                app_version: env!("CARGO_PKG_VERSION").into(),
            },
            push,
            more_to_push: more,
        })
    }

    /// Evidence copies and thumbnails not yet on the relay (originals wait for an unmetered network).
    fn pending_photo_count(&self) -> Result<i64> {
        Ok(self.conn.query_row(
            "SELECT count(*) FROM blobs WHERE uploaded_ms IS NULL AND kind != 'original'",
            [],
            |r| r.get(0),
        )?)
    }

    fn meta(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", params![key], |r| {
                r.get(0)
            })
            .optional()?)
    }

    /// Applies the relay's answer: templates and directory first, then, in one transaction, the
    /// acknowledgements, the pulled changes and the new cursor — so an interrupted apply is simply
    /// applied again next time, with nothing lost or doubled.
    pub fn apply_sync_response(&mut self, resp: &SyncResponse) -> Result<SyncOutcome> {
        if resp.protocol != sync::PROTOCOL {
            return Err(Error::invalid(format!(
                "sync response: protocol version {} is not supported",
                resp.protocol
            )));
        }
        if !resp.templates.is_empty() {
            let sources: Vec<TemplateSource> = resp
                .templates
                .iter()
                .map(|t| TemplateSource {
                    name: t.name.clone(),
                    bytes: t.bytes.to_vec(),
                })
                .collect();
            self.import_templates(&sources)?;
        }
        if let Some(d) = &resp.directory {
            self.import_directory(d)?;
        }
        for (actor, user) in &resp.actors {
            self.bind_actor(actor, user)?;
        }
        let tx = self.conn.unchecked_transaction()?;
        let mut refused_ids = Vec::new();
        for a in &resp.accepted {
            check_id("record", &a.doc_id)?;
            let acked = Store::heads_text(&Store::parse_heads(&a.heads.join(","))?);
            tx.execute(
                "UPDATE docs SET server_heads = ?2, dirty = (heads != ?2) WHERE id = ?1",
                params![a.doc_id, acked],
            )?;
        }
        for r in &resp.refused {
            refused_ids.push((r.doc_id.clone(), r.reason.clone()));
        }
        let mut pulled = 0;
        for d in &resp.pull {
            check_id("record", &d.doc_id)?;
            let changes = d
                .changes
                .iter()
                .map(|c| {
                    automerge::Change::from_bytes(c.to_vec()).map_err(|e| Error::Document {
                        id: d.doc_id.clone(),
                        reason: format!("bad change: {e}"),
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let (_, heads) = self.merge_changes(&tx, &d.doc_id, changes)?;
            let server = Store::heads_text(&Store::parse_heads(&d.heads.join(","))?);
            tx.execute(
                "UPDATE docs SET server_heads = ?2, dirty = (?3 != ?2) WHERE id = ?1",
                params![d.doc_id, server, Store::heads_text(&heads)],
            )?;
            pulled += 1;
        }
        tx.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('sync_cursor', ?1)",
            params![resp.cursor.to_string()],
        )?;
        tx.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('last_sync_ms', ?1)",
            params![now_ms().to_string()],
        )?;
        let refused_text = refused_ids
            .iter()
            .map(|(id, why)| format!("{id}: {why}"))
            .collect::<Vec<_>>()
            .join("\n");
        tx.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('sync_refused', ?1)",
            params![refused_text],
        )?;
        tx.commit()?;
        Ok(SyncOutcome {
            pushed: resp.accepted.len(),
            refused: refused_ids,
            pulled,
            more: resp.more,
        })
    }

    /// Photos not yet uploaded, thumbnails first, then evidence copies, then (only if asked, e.g. on
    /// an unmetered network) originals: (sha256, kind, size).
    pub fn pending_uploads(&self, include_originals: bool) -> Result<Vec<(String, String, u64)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT sha256, kind, size FROM blobs WHERE uploaded_ms IS NULL AND (kind != 'original' OR ?1)
             ORDER BY CASE kind WHEN 'thumbnail' THEN 0 WHEN 'evidence' THEN 1 ELSE 2 END, created_ms, sha256",
        )?;
        let rows = stmt.query_map(params![include_originals], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? as u64))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Marks a photo as held by the relay. A camera original is kept only until then (its hash
    /// stays in the record, so the relay's copy can still be verified).
    pub fn mark_uploaded(&mut self, sha256: &str) -> Result<()> {
        self.conn.execute(
            "DELETE FROM blobs WHERE sha256 = ?1 AND kind = 'original'",
            params![sha256],
        )?;
        self.conn.execute(
            "UPDATE blobs SET uploaded_ms = ?2 WHERE sha256 = ?1",
            params![sha256, now_ms()],
        )?;
        Ok(())
    }

    /// What is still waiting to sync, and when the last sync succeeded.
    pub fn sync_status(&self) -> Result<SyncStatus> {
        let pending_docs: i64 =
            self.conn
                .query_row("SELECT count(*) FROM docs WHERE dirty = 1", [], |r| {
                    r.get(0)
                })?;
        let pending_photos = self.pending_photo_count()?;
        let last: Option<i64> = self.meta("last_sync_ms")?.and_then(|v| v.parse().ok());
        let refused = self.meta("sync_refused")?.unwrap_or_default();
        Ok(SyncStatus {
            pending_docs: pending_docs as u64,
            pending_photos: pending_photos as u64,
            last_sync: last.map(ms_to_rfc3339),
            refused: refused
                .lines()
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect(),
            cursor: self
                .meta("sync_cursor")?
                .and_then(|c| c.parse().ok())
                .unwrap_or(0),
        })
    }

    // -----------------------------------------------------------------------------------------
    // Venues

    fn check_grid_scope(user: &User, grid_id: &str) -> Result<()> {
        if user.role == Role::Inspector && !user.grids.iter().any(|g| g == grid_id) {
            return Err(Error::Forbidden(format!(
                "grid {grid_id} is not one of {}'s grids",
                user.id
            )));
        }
        Ok(())
    }

    pub fn add_venue(&mut self, as_user: &str, v: NewVenue) -> Result<Venue> {
        let (user, actor) = self.act_as(as_user)?;
        let dir = self.directory()?;
        if user.role == Role::Admin {
            return Err(Error::Forbidden(
                "administrators do not register venues".into(),
            ));
        }
        if v.name.trim().is_empty() {
            return Err(Error::invalid("venue name is required"));
        }
        let grid = dir
            .grid(&v.grid_id)
            .ok_or_else(|| Error::invalid(format!("unknown grid {:?}", v.grid_id)))?;
        Store::check_grid_scope(&user, &grid.id)?;
        v.profile.validate()?;
        let venue = Venue {
            id: new_id(),
            name: v.name.trim().to_owned(),
            address: v.address.trim().to_owned(),
            village: grid.village.clone(),
            grid_id: grid.id.clone(),
            profile: v.profile,
            responsible: v.responsible,
            created_at: ms_to_rfc3339(self.now()),
            created_by: user.id.clone(),
            archived: false,
        };
        let mut doc = records::new_venue_doc(&actor, &venue)?;
        let tx = self.conn.transaction()?;
        Store::insert_doc(&tx, &venue.id, DocKind::Venue, &mut doc)?;
        projection::index_venue(&tx, &venue)?;
        tx.commit()?;
        Ok(venue)
    }

    pub fn edit_venue(&mut self, as_user: &str, id: &str, e: VenueEdit) -> Result<Venue> {
        check_id("venue", id)?;
        let (user, actor) = self.act_as(as_user)?;
        let dir = self.directory()?;
        let (doc, since) = self.doc(id, DocKind::Venue)?;
        let mut doc = doc.with_actor(actor);
        let mut v = records::read_venue(&doc, id)?;
        Store::check_grid_scope(&user, &v.grid_id)?;
        if user.role == Role::Admin {
            return Err(Error::Forbidden("administrators do not edit venues".into()));
        }
        if let Some(n) = e.name {
            if n.trim().is_empty() {
                return Err(Error::invalid("venue name is required"));
            }
            v.name = n.trim().to_owned();
        }
        if let Some(a) = e.address {
            v.address = a.trim().to_owned();
        }
        if let Some(g) = e.grid_id {
            let grid = dir
                .grid(&g)
                .ok_or_else(|| Error::invalid(format!("unknown grid {g:?}")))?;
            Store::check_grid_scope(&user, &grid.id)?;
            v.grid_id = grid.id.clone();
            v.village = grid.village.clone();
        }
        if let Some(p) = e.profile {
            p.validate()?;
            v.profile = p;
        }
        if let Some(r) = e.responsible {
            v.responsible = r;
        }
        if let Some(a) = e.archived {
            v.archived = a;
        }
        records::update_venue(&mut doc, &v)?;
        let tx = self.conn.transaction()?;
        Store::save_doc(&tx, id, &mut doc, &since)?;
        projection::index_venue(&tx, &v)?;
        tx.commit()?;
        Ok(v)
    }

    pub fn venue(&self, id: &str) -> Result<Venue> {
        check_id("venue", id)?;
        let (doc, _) = self.doc(id, DocKind::Venue)?;
        records::read_venue(&doc, id)
    }

    /// Venues of the user's grids (all venues for office roles), by name.
    pub fn list_venues(&self, scope_user: Option<&str>) -> Result<Vec<VenueRow>> {
        let grids = self.scope_grids(scope_user)?;
        let mut sql = String::from(
            "SELECT id, name, address, village, grid_id, venue_types, archived, last_inspected_ms FROM venues_idx",
        );
        if let Some(g) = &grids {
            sql.push_str(&format!(" WHERE grid_id IN ({})", placeholders(g.len())));
        }
        sql.push_str(" ORDER BY grid_id, name");
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(grids.iter().flatten()), |r| {
            let types: String = r.get(5)?;
            let last: Option<i64> = r.get(7)?;
            Ok(VenueRow {
                id: r.get(0)?,
                name: r.get(1)?,
                address: r.get(2)?,
                village: r.get(3)?,
                grid_id: r.get(4)?,
                venue_types: split_list(&types),
                archived: r.get(6)?,
                last_inspected: last.map(ms_to_rfc3339),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// `None` = no restriction (office roles, or no user given).
    fn scope_grids(&self, scope_user: Option<&str>) -> Result<Option<Vec<String>>> {
        let Some(u) = scope_user else { return Ok(None) };
        let dir = self.directory()?;
        let user = dir
            .user(u)
            .ok_or_else(|| Error::Forbidden(format!("unknown user {u:?}")))?;
        Ok(match user.role {
            Role::Inspector => Some(user.grids.clone()),
            _ => None,
        })
    }

    // -----------------------------------------------------------------------------------------
    // Inspections

    /// Starts an inspection of a venue with the newest version of a template (or `version`).
    pub fn start_inspection(
        &mut self,
        as_user: &str,
        venue_id: &str,
        template_id: &str,
        version: Option<&str>,
    ) -> Result<InspectionHeader> {
        check_id("venue", venue_id)?;
        let (user, actor) = self.act_as(as_user)?;
        if !matches!(
            user.role,
            Role::Inspector | Role::Reviewer | Role::TownOffice
        ) {
            return Err(Error::Forbidden(format!(
                "{} ({}) cannot inspect",
                user.id,
                user.role.label_zh()
            )));
        }
        let venue = self.venue(venue_id)?;
        Store::check_grid_scope(&user, &venue.grid_id)?;
        if venue.archived {
            return Err(Error::invalid(format!("venue {venue_id} is archived")));
        }
        let t = match version {
            Some(v) => self.template_cached(template_id, v)?,
            None => {
                let t = self.latest_template(template_id)?;
                self.templates.insert(t.key(), t.clone());
                t
            }
        };
        let now = self.now();
        let header = InspectionHeader {
            id: new_id(),
            venue_id: venue.id.clone(),
            venue_name: venue.name.clone(),
            village: venue.village.clone(),
            grid_id: venue.grid_id.clone(),
            template_id: t.template_id.clone(),
            template_version: t.version.clone(),
            template_hash: t.hash.clone(),
            inspector: user.id.clone(),
            started_at: ms_to_rfc3339(now),
            started_ms: now,
            profile: venue.profile.clone(),
        };
        let mut doc = records::new_inspection_doc(&actor, &header)?;
        let insp = Inspection {
            header: header.clone(),
            answers: BTreeMap::new(),
            photos: vec![],
            finish: None,
        };
        let tx = self.conn.transaction()?;
        Store::insert_doc(&tx, &header.id, DocKind::Inspection, &mut doc)?;
        projection::index_inspection(&tx, &insp)?;
        tx.commit()?;
        Ok(header)
    }

    pub fn inspection(&self, id: &str) -> Result<Inspection> {
        check_id("inspection", id)?;
        let (doc, _) = self.doc(id, DocKind::Inspection)?;
        records::read_inspection(&doc, id)
    }

    /// Loads an open inspection for its inspector, with its pinned template.
    fn open_inspection(&mut self, as_user: &str, id: &str) -> Result<OpenInspection> {
        check_id("inspection", id)?;
        let (user, actor) = self.act_as(as_user)?;
        let (doc, since) = self.doc(id, DocKind::Inspection)?;
        let insp = records::read_inspection(&doc, id)?;
        if insp.header.inspector != user.id {
            return Err(Error::Forbidden(format!(
                "inspection {id} belongs to {}",
                insp.header.inspector
            )));
        }
        if insp.finish.is_some() {
            return Err(Error::invalid(format!(
                "inspection {id} is finished; its answers can no longer change"
            )));
        }
        let t = self.template_cached(&insp.header.template_id, &insp.header.template_version)?;
        if t.hash != insp.header.template_hash {
            return Err(Error::Document {
                id: id.into(),
                reason: format!(
                    "pinned template {} does not match its recorded hash",
                    t.key()
                ),
            });
        }
        Ok((user, doc.with_actor(actor), since, insp, t))
    }

    /// Records answers (item id → value as the user gave it). All or nothing: one wrong answer
    /// and none are saved.
    pub fn answer(
        &mut self,
        as_user: &str,
        inspection_id: &str,
        answers: &[(String, serde_json::Value)],
    ) -> Result<Vec<ItemResult>> {
        let (user, mut doc, since, insp, t) = self.open_inspection(as_user, inspection_id)?;
        let at = ms_to_rfc3339(self.now());
        let mut results = Vec::with_capacity(answers.len());
        let mut parsed = Vec::with_capacity(answers.len());
        for (item_id, v) in answers {
            let item = t
                .item(item_id)
                .ok_or_else(|| Error::answer(item_id, format!("not an item of {}", t.key())))?;
            let a = parse_answer(item, v)?;
            results.push(evaluate_item(item, &insp.header.profile, Some(&a)));
            parsed.push((item_id, a));
        }
        for (item_id, a) in parsed {
            let rec = AnswerRecord {
                na: a.na,
                fields: a.fields,
                at: at.clone(),
                by: user.id.clone(),
            };
            records::put_answer(&mut doc, inspection_id, item_id, &rec)?;
        }
        let tx = self.conn.transaction()?;
        Store::save_doc(&tx, inspection_id, &mut doc, &since)?;
        tx.commit()?;
        Ok(results)
    }

    /// Runs the evidence pipeline on a photo and stores its variants (evidence copy, thumbnail,
    /// and the original unless the policy drops it). Nothing is stored if the photo is refused.
    fn store_photo(
        &self,
        tx: &Transaction<'_>,
        p: &NewPhoto,
        venue_id: &str,
        by: &str,
    ) -> Result<PhotoRef> {
        if !PHOTO_ROLES.contains(&p.role.as_str()) {
            return Err(Error::invalid(format!(
                "photo role {:?} is not one of {}",
                p.role,
                PHOTO_ROLES.join(", ")
            )));
        }
        if let (Some(lat), Some(lon)) = (p.lat, p.lon)
            && (!(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon))
        {
            return Err(Error::invalid(format!(
                "GPS position {lat},{lon} is out of range"
            )));
        }
        if p.bytes.len() > MAX_PHOTO_BYTES {
            return Err(Error::Photo(format!(
                "the file is {} bytes; the limit is {MAX_PHOTO_BYTES}",
                p.bytes.len()
            )));
        }
        let ctx = IngestContext {
            venue_short: venue_id.chars().filter(|c| *c != '-').take(8).collect(),
            inspector: by.to_owned(),
            app_gps: p.lat.zip(p.lon),
            now_ms: self.now(),
        };
        let e = evidence::ingest(&p.bytes, &ctx)?;
        let keep_original = self.originals_policy()? == OriginalsPolicy::Keep;
        let now = self.now();
        let put = |sha: &str, bytes: &[u8], mime: &str, kind: &str| {
            tx.execute(
                "INSERT OR IGNORE INTO blobs (sha256, size, mime, data, created_ms, kind) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![sha, bytes.len() as i64, mime, bytes, now, kind],
            )
        };
        put(&e.evidence_sha256, &e.evidence, "image/jpeg", "evidence")?;
        put(&e.thumbnail_sha256, &e.thumbnail, "image/jpeg", "thumbnail")?;
        if keep_original {
            put(&e.original_sha256, &p.bytes, e.original_mime, "original")?;
        }
        Ok(PhotoRef {
            sha256: e.evidence_sha256,
            item_id: p.item_id.clone(),
            role: p.role.clone(),
            size: e.evidence.len() as u64,
            mime: "image/jpeg".into(),
            captured_at: ms_to_rfc3339(e.captured_ms),
            taken_by: by.to_owned(),
            lat: e.gps.map(|g| g.0),
            lon: e.gps.map(|g| g.1),
            width: Some(e.width),
            height: Some(e.height),
            thumb_sha256: Some(e.thumbnail_sha256),
            thumb_size: Some(e.thumbnail.len() as u64),
            original_sha256: Some(e.original_sha256),
            original_size: Some(e.original_size),
            gps_source: Some(e.gps_source.to_owned()),
            camera: e.camera,
        })
    }

    /// Whether camera originals are kept (until uploaded) or dropped once processed.
    pub fn originals_policy(&self) -> Result<OriginalsPolicy> {
        let v = self.meta("originals")?;
        Ok(if v.as_deref() == Some("drop") {
            OriginalsPolicy::Drop
        } else {
            OriginalsPolicy::Keep
        })
    }

    pub fn set_originals_policy(&mut self, p: OriginalsPolicy) -> Result<()> {
        let v = if p == OriginalsPolicy::Drop {
            "drop"
        } else {
            "keep"
        };
        self.conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('originals', ?1)",
            params![v],
        )?;
        Ok(())
    }

    /// Processes a photo through the evidence pipeline, stores it content-addressed and
    /// references it from the inspection.
    pub fn attach_photo(
        &mut self,
        as_user: &str,
        inspection_id: &str,
        photo: NewPhoto,
    ) -> Result<PhotoRef> {
        let (user, mut doc, since, insp, t) = self.open_inspection(as_user, inspection_id)?;
        if let Some(item) = &photo.item_id
            && t.item(item).is_none()
        {
            return Err(Error::answer(item, format!("not an item of {}", t.key())));
        }
        let tx = self.conn.unchecked_transaction()?;
        let r = self.store_photo(&tx, &photo, &insp.header.venue_id, &user.id)?;
        records::push_photo(&mut doc, inspection_id, &r)?;
        Store::save_doc(&tx, inspection_id, &mut doc, &since)?;
        tx.commit()?;
        Ok(r)
    }

    pub fn blob(&self, sha256: &str) -> Result<Vec<u8>> {
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::invalid(format!(
                "{sha256:?} is not a SHA-256 hex string"
            )));
        }
        self.conn
            .query_row(
                "SELECT data FROM blobs WHERE sha256 = ?1",
                params![sha256.to_ascii_lowercase()],
                |r| r.get(0),
            )
            .optional()?
            .ok_or_else(|| Error::not_found("photo", sha256))
    }

    /// Checks a finished inspection against the manifest sealed when it was finished: every
    /// answer, the list of photos, and every stored photo variant's bytes.
    pub fn verify_evidence(&self, inspection_id: &str) -> Result<evidence::EvidenceReport> {
        let insp = self.inspection(inspection_id)?;
        let lookup = |sha: &str| -> Result<Option<Vec<u8>>> {
            Ok(self
                .conn
                .query_row(
                    "SELECT data FROM blobs WHERE sha256 = ?1",
                    params![sha],
                    |r| r.get(0),
                )
                .optional()?)
        };
        evidence::verify(&insp, &lookup)
    }

    /// Evaluates the inspection without saving anything.
    pub fn evaluate(&self, inspection_id: &str) -> Result<Vec<ItemResult>> {
        let insp = self.inspection(inspection_id)?;
        let t = self.template(&insp.header.template_id, &insp.header.template_version)?;
        Ok(evaluate_all(&t, &insp))
    }

    /// What the checklist screen shows: every item of the inspection's pinned template version
    /// with its result so far (not applicable to this venue, unanswered, pass, fail...).
    pub fn checklist(&self, inspection_id: &str) -> Result<Vec<(template::Item, ItemResult)>> {
        let insp = self.inspection(inspection_id)?;
        let t = self.template(&insp.header.template_id, &insp.header.template_version)?;
        let results = evaluate_all(&t, &insp);
        Ok(t.items.iter().cloned().zip(results).collect())
    }

    /// Finishes an inspection: every applicable item answered, every failed item that needs a
    /// photo has one; registers a hazard per failed item (once per venue and item while one is
    /// open; as a linked recurrence when the last one was closed). One transaction.
    pub fn finish_inspection(
        &mut self,
        as_user: &str,
        inspection_id: &str,
    ) -> Result<FinishReport> {
        let (user, mut doc, since, insp, t) = self.open_inspection(as_user, inspection_id)?;
        let actor = doc.get_actor().clone();
        let results = evaluate_all(&t, &insp);
        let unanswered: Vec<&str> = results
            .iter()
            .filter(|r| r.outcome == Outcome::Unanswered)
            .map(|r| r.item_id.as_str())
            .collect();
        if !unanswered.is_empty() {
            return Err(Error::Incomplete {
                id: inspection_id.into(),
                reason: format!(
                    "unanswered items (answer or mark na): {}",
                    unanswered.join(", ")
                ),
            });
        }
        let missing_photo: Vec<&str> = results
            .iter()
            .filter(|r| r.outcome == Outcome::Fail)
            .filter(|r| {
                t.item(&r.item_id)
                    .is_some_and(|i| i.photo.requires_photo_on_fail())
            })
            .filter(|r| {
                !insp
                    .photos
                    .iter()
                    .any(|p| p.item_id.as_deref() == Some(r.item_id.as_str()) && p.role == "before")
            })
            .map(|r| r.item_id.as_str())
            .collect();
        if !missing_photo.is_empty() {
            return Err(Error::Incomplete {
                id: inspection_id.into(),
                reason: format!(
                    "failed items need a before photo: {}",
                    missing_photo.join(", ")
                ),
            });
        }
        let wall = self.now();
        let tx = self.conn.transaction()?;
        let mut hazards = Vec::new();
        let mut already_open = BTreeMap::new();
        let mut hazard_ids = Vec::new();
        let today_date = ms_to_date(wall);
        for r in results.iter().filter(|r| r.outcome == Outcome::Fail) {
            let Some(item) = t.item(&r.item_id) else {
                continue;
            };
            let answer = answer_of(&insp, &r.item_id);
            let Some(p) = propose(item, &insp.header.profile, &answer, r) else {
                continue;
            };
            let prior: Option<(String, bool)> = tx
                .query_row(
                    "SELECT id, is_open FROM hazards_idx WHERE venue_id = ?1 AND item_id = ?2 ORDER BY is_open DESC, found_ms DESC LIMIT 1",
                    params![insp.header.venue_id, item.id],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()?;
            if let Some((open_id, true)) = &prior {
                already_open.insert(item.id.clone(), open_id.clone());
                continue;
            }
            let hlc = Store::next_hlc(&tx, wall)?;
            let deadline = (p.fix_mode == template::FixMode::Deadline).then(|| {
                format_date(today_date + time::Duration::days(i64::from(p.deadline_days)))
            });
            let header = HazardHeader {
                id: new_id(),
                venue_id: insp.header.venue_id.clone(),
                venue_name: insp.header.venue_name.clone(),
                village: insp.header.village.clone(),
                grid_id: insp.header.grid_id.clone(),
                inspection_id: Some(inspection_id.to_owned()),
                template_id: t.template_id.clone(),
                template_version: t.version.clone(),
                item_id: item.id.clone(),
                domain: item.domain.clone(),
                title_zh: item.q_zh.clone(),
                title_en: item.q_en.clone(),
                finding_zh: p
                    .findings
                    .iter()
                    .map(|f| f.zh.as_str())
                    .collect::<Vec<_>>()
                    .join("；"),
                finding_en: p
                    .findings
                    .iter()
                    .map(|f| f.en.as_str())
                    .collect::<Vec<_>>()
                    .join("; "),
                basis_refs: item.refs.iter().map(template::Reference::display).collect(),
                basis_edition: t.basis_edition.clone(),
                severity_proposed: if p.severity == Level::MajorCandidate {
                    "major_candidate".into()
                } else {
                    "general".into()
                },
                focus: p.focus,
                combined_group: p.combined_group.clone(),
                lead_depts: p.lead_depts.clone(),
                source: "inspection".into(),
                ticket_no: None,
                fix_mode: if p.fix_mode == template::FixMode::OnSpot {
                    "on_spot".into()
                } else {
                    "deadline".into()
                },
                deadline,
                recurrence_of: prior.map(|(id, _)| id),
                found_at: ms_to_rfc3339(hlc.ms),
                found_ms: hlc.ms,
                found_by: user.id.clone(),
                photos: insp
                    .photos
                    .iter()
                    .filter(|ph| ph.item_id.as_deref() == Some(item.id.as_str()))
                    .cloned()
                    .collect(),
            };
            let reg = event(new_id(), EventKind::Register, hlc);
            let mut hdoc = records::new_hazard_doc(&actor, &header, &reg)?;
            Store::insert_doc(&tx, &header.id, DocKind::Hazard, &mut hdoc)?;
            let (_, evs) = records::read_hazard(&hdoc, &header.id)?;
            let status =
                projection::fold_with(self.directory.as_deref(), &self.actors, &header, &evs);
            projection::index_hazard(&tx, &header, &status)?;
            hazard_ids.push(header.id.clone());
            hazards.push(row_of(&header, &status, today_date));
        }
        let finish = Finish {
            at: ms_to_rfc3339(wall),
            by: user.id.clone(),
            results: results
                .iter()
                .map(|r| (r.item_id.clone(), r.outcome.code().to_owned()))
                .collect(),
            hazard_ids,
            manifest: Some(evidence::seal(&insp)),
        };
        records::put_finish(&mut doc, inspection_id, &finish)?;
        // A finished inspection no longer changes: one compact snapshot instead of many chunks.
        Store::save_doc_with(&tx, inspection_id, &mut doc, &since, true)?;
        let mut done = insp.clone();
        done.finish = Some(finish);
        projection::index_inspection(&tx, &done)?;
        let combined: u32 = tx.query_row(
            "SELECT count(*) FROM hazards_idx WHERE venue_id = ?1 AND is_open = 1 AND combined_group IS NOT NULL",
            params![insp.header.venue_id],
            |r| r.get(0),
        )?;
        tx.commit()?;
        Ok(FinishReport {
            inspection_id: inspection_id.to_owned(),
            results,
            hazards,
            already_open,
            combined_elements_open: combined,
        })
    }

    /// Inspections of a venue, newest first.
    pub fn venue_inspections(&self, venue_id: &str) -> Result<Vec<InspectionRow>> {
        check_id("venue", venue_id)?;
        self.inspection_rows(
            "WHERE venue_id = ?1 ORDER BY started_ms DESC",
            params![venue_id],
        )
    }

    /// The user's inspections started today (Shanghai date).
    pub fn todays_inspections(&self, user: &str) -> Result<Vec<InspectionRow>> {
        self.inspection_rows(
            "WHERE inspector = ?1 AND day = ?2 ORDER BY started_ms",
            params![user, format_date(self.today())],
        )
    }

    fn inspection_rows(
        &self,
        clause: &str,
        p: &[&dyn rusqlite::ToSql],
    ) -> Result<Vec<InspectionRow>> {
        let sql = format!(
            "SELECT id, venue_id, venue_name, template_id, template_version, inspector, started_ms, finished, failed, hazards FROM inspections_idx {clause}"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(p, |r| {
            Ok(InspectionRow {
                id: r.get(0)?,
                venue_id: r.get(1)?,
                venue_name: r.get(2)?,
                template_id: r.get(3)?,
                template_version: r.get(4)?,
                inspector: r.get(5)?,
                started_at: ms_to_rfc3339(r.get(6)?),
                finished: r.get(7)?,
                failed: r.get(8)?,
                hazards: r.get(9)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    // -----------------------------------------------------------------------------------------
    // Hazards

    pub fn hazard(&self, id: &str) -> Result<HazardView> {
        check_id("hazard", id)?;
        let (doc, _) = self.doc(id, DocKind::Hazard)?;
        let (header, evs) = records::read_hazard(&doc, id)?;
        let status = projection::fold_with(self.directory.as_deref(), &self.actors, &header, &evs);
        let overdue = status.is_overdue(self.today());
        Ok(HazardView {
            header,
            status,
            overdue,
        })
    }

    /// Applies a lifecycle action as `as_user`. Refused actions return the reason and change
    /// nothing (not even the photo store).
    pub fn transition(
        &mut self,
        as_user: &str,
        hazard_id: &str,
        action: Action,
    ) -> Result<HazardView> {
        check_id("hazard", hazard_id)?;
        let (user, actor) = self.act_as(as_user)?;
        let (doc, since) = self.doc(hazard_id, DocKind::Hazard)?;
        let mut doc = doc.with_actor(actor.clone());
        let (header, mut evs) = records::read_hazard(&doc, hazard_id)?;
        let wall = self.now();
        let tx = self.conn.unchecked_transaction()?;
        let hlc = Store::next_hlc(&tx, wall)?;
        let mut ev: EventRecord = event(new_id(), action.kind, hlc);
        ev.reason = action.reason.filter(|s| !s.trim().is_empty());
        ev.deadline = action.deadline;
        ev.text = action.text.filter(|s| !s.trim().is_empty());
        if let Some(p) = &action.photo {
            ev.photo = Some(self.store_photo(&tx, p, &header.venue_id, &user.id)?.sha256);
        }
        if action.kind == EventKind::Rectify {
            ev.inspection_id = header.inspection_id.clone();
        }
        let status = match projection::record_event(
            &mut doc,
            &header,
            &mut evs,
            ev,
            self.directory.as_deref(),
            &self.actors,
        ) {
            Ok(s) => s,
            Err(e) => {
                drop(tx);
                return Err(e);
            }
        };
        Store::save_doc(&tx, hazard_id, &mut doc, &since)?;
        projection::index_hazard(&tx, &header, &status)?;
        tx.commit()?;
        let overdue = status.is_overdue(self.today());
        Ok(HazardView {
            header,
            status,
            overdue,
        })
    }

    /// Lists hazards from the projection. With a scope user: an inspector sees their grids, a
    /// reviewer their department's hazards, the town office everything. Sorted by due date.
    pub fn list_hazards(&self, q: &HazardQuery) -> Result<Vec<HazardRow>> {
        Ok(projection::list_hazards(&self.conn, &*self.directory()?, q)?.0)
    }

    /// Counts of records by kind (status screens, benchmarks).
    pub fn counts(&self) -> Result<BTreeMap<String, u64>> {
        let mut stmt = self
            .conn
            .prepare("SELECT kind, count(*) FROM docs GROUP BY kind")?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The raw connection, for benchmark fixtures and tamper tests only; the app never uses it.
    #[doc(hidden)]
    pub fn raw(&self) -> &Connection {
        &self.conn
    }
}

/// Splits a comma-separated column (heads, venue types, departments), skipping empty parts.
pub fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect()
}

pub(crate) fn placeholders(n: usize) -> String {
    if n == 0 {
        "NULL".into()
    } else {
        vec!["?"; n].join(",")
    }
}

fn answer_of(insp: &Inspection, item_id: &str) -> Answer {
    insp.answers
        .get(item_id)
        .map(|a| Answer {
            na: a.na,
            fields: a.fields.clone(),
        })
        .unwrap_or_default()
}

/// Evaluates every item of the pinned template against the inspection's answers.
pub fn evaluate_all(t: &Template, insp: &Inspection) -> Vec<ItemResult> {
    t.items
        .iter()
        .map(|item| {
            let a = insp.answers.get(&item.id).map(|a| Answer {
                na: a.na,
                fields: a.fields.clone(),
            });
            evaluate_item(item, &insp.header.profile, a.as_ref())
        })
        .collect()
}

fn row_of(h: &HazardHeader, s: &HazardStatus, today: time::Date) -> HazardRow {
    HazardRow {
        id: h.id.clone(),
        venue_id: h.venue_id.clone(),
        venue_name: h.venue_name.clone(),
        village: h.village.clone(),
        grid_id: h.grid_id.clone(),
        item_id: h.item_id.clone(),
        domain: h.domain.clone(),
        title_zh: h.title_zh.clone(),
        title_en: h.title_en.clone(),
        severity: s.severity.clone(),
        confirmation: serde_json::to_value(s.confirmation)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
        state: s.state.as_str().into(),
        due_date: s.deadline.clone(),
        overdue: s.is_overdue(today),
        lead_depts: h.lead_depts.clone(),
        source: h.source.clone(),
        fix_mode: s.fix_mode.clone(),
        focus: h.focus,
        combined_group: h.combined_group.clone(),
        found_at: h.found_at.clone(),
        recurrence_of: h.recurrence_of.clone(),
    }
}

#[cfg(test)]
mod migration_tests {
    use super::*;

    #[test]
    fn the_known_schema_is_the_last_migration() {
        let mut conn = Connection::open_in_memory().unwrap();
        MIGRATIONS.to_latest(&mut conn).unwrap();
        let v: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(
            v, STORE_SCHEMA as i64,
            "bump STORE_SCHEMA with every migration"
        );
    }

    /// Schema 4 rebuilds the documents table to admit task records: a store from before keeps
    /// every document and chunk, and the chunk table still follows its documents.
    #[test]
    fn upgrading_to_tasks_keeps_every_document_and_chunk() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "foreign_keys", "ON").unwrap();
        MIGRATIONS.to_version(&mut conn, 3).unwrap();
        conn.execute_batch(
            "INSERT INTO docs (id, kind, snapshot, chunks, heads, updated_ms, server_heads, dirty) VALUES ('a', 'venue', x'01', 1, 'h', 5, 's', 0);
             INSERT INTO doc_chunks (doc_id, seq, data) VALUES ('a', 1, x'02');",
        )
        .unwrap();
        assert!(conn.execute("INSERT INTO docs (id, kind, snapshot, heads, updated_ms) VALUES ('t', 'task', x'', '', 0)", []).is_err());
        MIGRATIONS.to_latest(&mut conn).unwrap();
        let row: (String, Vec<u8>, i64, String, i64) = conn
            .query_row(
                "SELECT kind, snapshot, chunks, server_heads, dirty FROM docs WHERE id = 'a'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .unwrap();
        assert_eq!(row, ("venue".into(), vec![1], 1, "s".into(), 0));
        let chunk: Vec<u8> = conn
            .query_row("SELECT data FROM doc_chunks WHERE doc_id = 'a'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(chunk, vec![2]);
        conn.execute("INSERT INTO docs (id, kind, snapshot, heads, updated_ms) VALUES ('t', 'task', x'', '', 0)", []).unwrap();
        conn.execute("DELETE FROM docs WHERE id = 'a'", []).unwrap();
        let left: i64 = conn
            .query_row("SELECT count(*) FROM doc_chunks", [], |r| r.get(0))
            .unwrap();
        assert_eq!(left, 0, "chunks still cascade with their document");
    }
}
