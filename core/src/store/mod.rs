//! The phone store: SQLite (WAL, one writer connection, migrations keyed on `user_version`),
//! automerge documents saved incrementally with compaction, photos content-addressed, and
//! projection tables for every list the app shows.
//!
//! Every public operation is one transaction: it is either saved whole or not at all, and when it
//! returns `Ok` it is on disk (`synchronous = FULL`), so a crash or a flat battery loses nothing
//! the worker was told was saved.

mod docs;
mod hazards;
mod identity;
mod inspections;
mod notices;
mod photos;
mod recovery;
mod sync_state;
mod tasks;
mod templates;
mod venues;

pub use crate::ids::{check_id, new_id};
pub use crate::projection::{HazardQuery, HazardRow, SORTS, TaskRow, split_list};
pub use crate::workflow::PUBLIC_REPORT_DEADLINE_DAYS;
pub use crate::workflow::evaluate_all;
pub use hazards::{Action, HazardView};
pub use inspections::{FinishReport, InspectionRow};
pub use photos::{MAX_PHOTO_BYTES, NewPhoto, OriginalsPolicy};
pub use recovery::SetAside;
pub use sync_state::{SyncOutcome, SyncStatus};
pub use tasks::TaskVerdict;
pub use templates::TemplateRow;
pub use venues::{NewVenue, VenueEdit, VenueRow};

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use rusqlite_migration::{M, Migrations};

use crate::clock::{ms_to_date, now_ms};
use crate::directory::Directory;
use crate::error::{Error, Result};
use crate::store_key::{self, StoreKey};
use crate::template::Template;

/// `PRAGMA application_id` of a GridSafe store ("GSAF"): tells our file from any other SQLite file.
pub const APPLICATION_ID: i32 = 0x4753_4146;
/// Incremental chunks kept per document before it is compacted into one snapshot.
pub const COMPACT_AFTER: i64 = 32;

static MIGRATIONS: LazyLock<Migrations<'static>> = LazyLock::new(|| {
    Migrations::new(vec![
        M::up(include_str!("../../sql/001_init.sql")),
        M::up(include_str!("../../sql/002_evidence.sql")),
        M::up(include_str!("../../sql/003_sync.sql")),
        // Schema 4: public reports to verify on site.
        M::up(include_str!("../../sql/004_tasks.sql")),
        M::up(include_str!("../../sql/tasks.sql")),
        // Schema 6: changes set aside (refused by the relay or refused from it), never lost.
        M::up(include_str!("../../sql/006_set_aside.sql")),
        M::up(include_str!("../../sql/007_pending_drops.sql")),
        // Schema 8: notice numbers handed out in blocks, and the numbers given.
        M::up(include_str!("../../sql/008_notices.sql")),
        // Schema 9: a hazard's handler (指派承办人) in its projection.
        M::up(crate::projection::ASSIGNEE_DDL),
    ])
});

/// The schema version this build writes.
pub const STORE_SCHEMA: usize = 9;

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

pub(super) fn store_err(path: &Path, reason: impl Into<String>) -> Error {
    Error::Store {
        path: path.display().to_string(),
        reason: reason.into(),
    }
}

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

    // -----------------------------------------------------------------------------------------
    // Directory and actors

    // -----------------------------------------------------------------------------------------
    // Documents

    // -----------------------------------------------------------------------------------------
    // Sync (protocol v1, see `sync.rs`): the phone side.

    fn meta(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", params![key], |r| {
                r.get(0)
            })
            .optional()?)
    }

    // -----------------------------------------------------------------------------------------
    // Venues

    // -----------------------------------------------------------------------------------------
    // Inspections

    // -----------------------------------------------------------------------------------------
    // Hazards

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
