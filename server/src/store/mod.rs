//! The relay's storage: SQLite (WAL, synchronous=FULL), an append-only change log keyed by change
//! hash, documents rebuilt on demand from it through a bounded cache, devices and actor bindings.
//! Merging and record checks are core's (`gridsafe_core::records`); nothing here merges by itself.

mod accounts;
mod audit;
mod authorize;
mod check;
mod commit;
mod dashboard;
mod devices;
mod directory;
mod notices;
mod photos;
mod projections;
mod pull;
mod reports;
mod review;
mod scope;
mod sessions;
mod venue_file;
mod venues;

pub use crate::error::{RelayError, Result};

/// The version of what the projections derive from the records; a relay holding projections of
/// another version derives them again when it opens. 2: printed citations (issue #28).
const PROJECTION_RULES: &str = "2";
pub use audit::AuditEntry;
pub use authorize::{Context, Scope, authorize};
pub(crate) use check::Record;
pub use check::{Committed, Loaded, Prepared, check};
use check::{depts_text, place};
pub use commit::SNAPSHOT_EVERY;
pub use dashboard::{ActionDetail, HazardCount, Overview, STALE_DAYS, VillageRow};
pub(crate) use dashboard::{dashboard_actor, whole_doc};
pub use devices::{
    Device, DeviceRow, Enrolled, LOCKOUT_FAILURES, LOCKOUT_MS, RELAY_FAILURES_PER_MINUTE,
    RefusedSummary,
};
pub use photos::BlobAccess;
use projections::project;
pub use pull::{PULL_BYTES, PULL_ROWS, Pulled, Readers, pull, refuse_admin};
pub use review::{BatchCandidate, CombinedAlert, DEFAULT_COMBINED_ALERT_AT};
pub use sessions::SESSION_MS;
pub use sessions::new_form_token;
pub use venue_file::{InspectionEntry, NoticeEntry, VenueFile};

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::path::Path;
use std::sync::{Arc, LazyLock};

use automerge::AutoCommit;
use gridsafe_core::directory::Directory;
use gridsafe_core::records::{self};
use gridsafe_core::store::split_list;
use gridsafe_core::template;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use crate::db::{Db, Pg};
use crate::vals;
use rusqlite_migration::{M, Migrations};
use sha2::{Digest, Sha256};

static MIGRATIONS: LazyLock<Migrations<'static>> = LazyLock::new(|| {
    Migrations::new(vec![
        M::up(include_str!("../../sql/001_relay.sql")),
        M::up(include_str!("../../sql/002_blobs.sql")),
        // Schema 3: the projection tables, the same as the phone's.
        M::up(gridsafe_core::projection::DDL),
        M::up(include_str!("../../sql/004_dashboard.sql")),
        M::up(include_str!("../../sql/005_snapshots.sql")),
        M::up(include_str!("../../sql/006_enrol_codes.sql")),
        M::up(include_str!("../../sql/007_web.sql")),
        M::up(include_str!("../../sql/008_report.sql")),
        M::up(include_str!("../../sql/009_owner.sql")),
        // Schema 10: public reports to verify (12345, 随申拍), the same table as the phone's.
        M::up(gridsafe_core::projection::TASKS_DDL),
        M::up(include_str!("../../sql/011_self_check.sql")),
        M::up(include_str!("../../sql/012_audit.sql")),
        M::up(include_str!("../../sql/013_docs_venue.sql")),
        M::up(include_str!("../../sql/014_refused_changes.sql")),
        M::up(include_str!("../../sql/015_scoped_seq.sql")),
        M::up(include_str!("../../sql/016_notices.sql")),
        M::up(include_str!("../../sql/017_reports.sql")),
        M::up(include_str!("../../sql/018_form_tokens.sql")),
        M::up(include_str!("../../sql/019_disabled_users.sql")),
        M::up(include_str!("../../sql/020_chart_indexes.sql")),
        // Schema 21: the hazard's handler, the same statement as the phone's schema 9.
        M::up(gridsafe_core::projection::ASSIGNEE_DDL),
        M::up(include_str!("../../sql/022_office_indexes.sql")),
    ])
});

/// Documents kept loaded (automerge costs ~17 kB of heap per document).
pub const DOC_CACHE: usize = 512;
/// Changes of the shared log [`RelayStore::catch_up`] projects per step.
pub const CATCH_UP_STEP: i64 = 20_000;

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
    /// The same versions loaded, by `id@version`: what new hazards are checked against.
    loaded_templates: Arc<HashMap<String, Arc<template::Template>>>,
    /// actor (hex) → user id: who wrote each lifecycle event, for the hazard projection.
    pub(crate) actors: HashMap<String, String>,
    /// The relay's one writer (false: a read-only store for the office's pages, whose cached
    /// records are checked against the stored heads before use).
    writer: bool,
    /// The refusals of the last commit, with their kind (in-process callers such as the
    /// dashboard answer with the right status; phones get the reasons in the sync answer).
    last_refusals: Vec<RelayError>,
}

pub(crate) fn now_ms() -> i64 {
    gridsafe_core::clock::now_ms()
}

pub(super) fn sha256_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

pub(super) fn heads_of(doc: &mut AutoCommit) -> String {
    let mut v: Vec<String> = doc.get_heads().iter().map(ToString::to_string).collect();
    v.sort();
    v.join(",")
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
        let templates: Vec<(String, template::TemplateSource)> = template::bundled_sources()
            .into_iter()
            .map(|t| (t.name.trim_end_matches(".json").replacen('/', "@", 1), t))
            .collect();
        let sources: Vec<template::TemplateSource> = templates
            .iter()
            .map(|(_, t): &(String, template::TemplateSource)| t.clone())
            .collect();
        let loaded_templates = template::load_bundle(&sources, &|_, _| None)
            .map_err(|e| RelayError::Storage(format!("bundled templates: {e}")))?
            .into_iter()
            .map(|t| (t.key(), Arc::new(t)))
            .collect();
        let cache = lru::LruCache::new(NonZeroUsize::new(DOC_CACHE).unwrap_or(NonZeroUsize::MIN));
        let mut st = RelayStore {
            conn,
            pg,
            cache,
            dir: None,
            templates,
            loaded_templates: Arc::new(loaded_templates),
            actors: HashMap::new(),
            writer: true,
            last_refusals: vec![],
        };
        st.dir = st.read_directory()?;
        st.refresh_actors()?;
        st.backfill_scope()?;
        let rules: Option<String> = st
            .conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'projection_rules'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        if rules.as_deref() != Some(PROJECTION_RULES) {
            // What the projections derive changed (printed citations, say): derive them again.
            st.rebuild_projections()?;
            st.conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('projection_rules', ?1)",
                [PROJECTION_RULES],
            )?;
        }
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

    /// A read-only store on the same data (its own connections): the office's pages and
    /// `/metrics` read through these, beside the writer. Anything that writes fails on it.
    pub fn open_reader(dir: &Path, database: Option<&str>) -> Result<RelayStore> {
        let conn = Connection::open_with_flags(
            dir.join("relay.sqlite"),
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        let pg = database.map(Pg::connect).transpose()?;
        let cache = lru::LruCache::new(NonZeroUsize::new(DOC_CACHE).unwrap_or(NonZeroUsize::MIN));
        let mut st = RelayStore {
            conn,
            pg,
            cache,
            dir: None,
            templates: vec![],
            loaded_templates: Arc::default(),
            actors: HashMap::new(),
            writer: false,
            last_refusals: vec![],
        };
        st.refresh()?;
        Ok(st)
    }

    /// Re-reads the directory and the actor table when another writer changed them.
    pub(crate) fn refresh(&mut self) -> Result<()> {
        self.refresh_directory()?;
        self.refresh_actors()
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

    // -----------------------------------------------------------------------------------------
    // Audit log

    // -----------------------------------------------------------------------------------------
    // Devices

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

    // -----------------------------------------------------------------------------------------
    // Photos

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

    // -----------------------------------------------------------------------------------------
    // Office dashboard: sessions and reads from the projections

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
