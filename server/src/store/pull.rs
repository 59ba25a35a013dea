//! Pulls: every change in a device's scope after its cursor, read in one snapshot on a read-only
//! connection, and the pool of such connections.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use gridsafe_core::policy::{self, Capability, HazardScope};
use gridsafe_core::store::split_list;
use gridsafe_core::sync::DocChanges;
use rusqlite::{Connection, OpenFlags};

use super::Device;
use super::{RelayError, Result};
use crate::db::{Db, Pg};
use serde_bytes::ByteBuf;

/// Most change bytes returned by one pull; the phone asks again when `more` is set.
pub const PULL_BYTES: usize = 8 * 1024 * 1024;

/// Most changes read for one pull (rows are read whole before the byte limit applies).
pub const PULL_ROWS: usize = 20_000;

/// Administrators manage the relay; they hold no records.
pub fn refuse_admin(device: &Device) -> Result<()> {
    policy::check(&device.user, Capability::SyncRecords).map_err(RelayError::Forbidden)
}

/// What a pull returns: the records' changes, the next cursor, whether more wait, the actor →
/// user table, and the records that left the device's scope (their venue moved away).
pub type Pulled = (
    Vec<DocChanges>,
    u64,
    bool,
    Vec<(String, String)>,
    Vec<String>,
);

/// Phase 4: every change in the user's scope after `cursor` that another device wrote, up to
/// [`PULL_BYTES`], read in one snapshot.
pub fn pull(db: &mut Db, device: &Device, cursor: u64) -> Result<Pulled> {
    // One read snapshot: the scope query and the newest sequence number see the same log.
    db.begin_read()?;
    let r = pull_in_snapshot(db, device, cursor);
    db.end_read()?;
    r
}

pub(super) fn pull_in_snapshot(db: &mut Db, device: &Device, cursor: u64) -> Result<Pulled> {
    let u = &device.user;
    // Parameters ?1 and ?2 are the cursor and the device; the scope's follow.
    let (clause, args): (String, Vec<String>) = match policy::record_scope(u) {
        HazardScope::Grids(grids) => {
            let marks: Vec<String> = (0..grids.len().max(1))
                .map(|i| format!("?{}", i + 3))
                .collect();
            let mut grids = grids.to_vec();
            if grids.is_empty() {
                grids.push(String::new());
            }
            (format!("d.grid_id IN ({})", marks.join(",")), grids)
        }
        HazardScope::Department(dept) => ("d.depts LIKE ?3".into(), vec![format!("%,{dept},%")]),
        HazardScope::All => ("1 = 1".into(), vec![]),
    };
    let sql = format!(
        "SELECT c.seq, c.doc_id, c.bytes, d.kind, d.heads FROM changes c JOIN docs d ON d.id = c.doc_id
         WHERE c.seq > ?1 AND c.device_id != ?2 AND {clause} ORDER BY c.seq"
    );
    let mut params: Vec<crate::db::Val> = vec![(cursor as i64).into(), device.id.clone().into()];
    params.extend(args.iter().cloned().map(crate::db::Val::from));
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
    // Records that came into this device's scope after its cursor (their venue moved here): the
    // whole history, which the phone has no base for otherwise; and those that left it.
    let mut scope_params: Vec<crate::db::Val> =
        vec![(cursor as i64).into(), device.id.clone().into()];
    scope_params.extend(args.iter().cloned().map(crate::db::Val::from));
    let arrived = db.query(
        &format!(
            "SELECT d.id, d.kind, d.heads FROM docs d WHERE d.scoped_seq > ?1 AND d.id != ?2 AND {clause}"
        ),
        &scope_params,
    )?;
    for r in &arrived {
        let doc_id = r.text(0)?;
        let changes = db
            .query(
                "SELECT bytes FROM changes WHERE doc_id = ?1 ORDER BY seq",
                crate::vals![&doc_id],
            )?
            .iter()
            .map(|c| c.blob(0).map(ByteBuf::from))
            .collect::<Result<Vec<_>>>()?;
        let whole = DocChanges {
            doc_id: doc_id.clone(),
            kind: r.text(1)?,
            changes,
            heads: split_list(&r.text(2)?),
        };
        match index.get(&doc_id) {
            Some(&n) => out[n] = whole,
            None => {
                index.insert(doc_id, out.len());
                out.push(whole);
            }
        }
    }
    let dropped = db
        .query(
            &format!(
                "SELECT d.id FROM docs d WHERE d.scoped_seq > ?1 AND d.id != ?2 AND NOT ({clause})"
            ),
            &scope_params,
        )?
        .iter()
        .map(|r| r.text(0))
        .collect::<Result<Vec<_>>>()?;
    let actors = db
        .query("SELECT actor, user_id FROM actors ORDER BY actor", &[])?
        .iter()
        .map(|r| Ok((r.text(0)?, r.text(1)?)))
        .collect::<Result<_>>()?;
    Ok((out, last, more, actors, dropped))
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
