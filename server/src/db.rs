//! The shared tables (change log, record index, snapshots, devices, actors, credentials, the
//! directory, enrolment codes, photo records) behind one interface with two implementations:
//! the embedded SQLite file (one relay) or PostgreSQL (several relays on one database, ADR 0011).
//!
//! Statements are written once, in the dialect both accept (`?N` placeholders, `INSERT … ON
//! CONFLICT`, `RETURNING`), and run through [`Db`]; only the schema differs (`sql/` for SQLite,
//! `sql/pg/` for PostgreSQL). One exception: on PostgreSQL a commit writes a whole request's rows
//! with `unnest` over array parameters (`store::RelayStore::write_records_pg`), because it runs
//! under the lock every relay's commits queue for.

use std::collections::HashMap;

use postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use postgres::{Client, NoTls, Statement};
use rusqlite::Connection;
use rusqlite::types::ValueRef;

use crate::error::{RelayError, Result};

/// One SQL value, as both databases store it: integers are 64-bit (BIGINT in PostgreSQL).
#[derive(Clone, Debug, PartialEq)]
pub enum Val {
    Null,
    Int(i64),
    Text(String),
    Blob(Vec<u8>),
    /// Arrays, for PostgreSQL's `unnest` (a whole request's rows in one statement); SQLite has none.
    Texts(Vec<String>),
    Blobs(Vec<Vec<u8>>),
    Ints(Vec<i64>),
}

impl From<i64> for Val {
    fn from(v: i64) -> Val {
        Val::Int(v)
    }
}
impl From<bool> for Val {
    fn from(v: bool) -> Val {
        Val::Int(i64::from(v))
    }
}
impl From<&str> for Val {
    fn from(v: &str) -> Val {
        Val::Text(v.to_owned())
    }
}
impl From<String> for Val {
    fn from(v: String) -> Val {
        Val::Text(v)
    }
}
impl From<&String> for Val {
    fn from(v: &String) -> Val {
        Val::Text(v.clone())
    }
}
impl From<&[u8]> for Val {
    fn from(v: &[u8]) -> Val {
        Val::Blob(v.to_vec())
    }
}
impl From<Vec<u8>> for Val {
    fn from(v: Vec<u8>) -> Val {
        Val::Blob(v)
    }
}
impl<T: Into<Val>> From<Option<T>> for Val {
    fn from(v: Option<T>) -> Val {
        v.map_or(Val::Null, Into::into)
    }
}

/// Parameters for [`Db`] calls: `vals![a, b]`.
#[macro_export]
macro_rules! vals {
    ($($v:expr),* $(,)?) => { &[$($crate::db::Val::from($v)),*][..] };
}

/// One result row.
#[derive(Debug)]
pub struct Row(Vec<Val>);

impl Row {
    fn at(&self, i: usize) -> Result<&Val> {
        self.0
            .get(i)
            .ok_or_else(|| RelayError::Storage(format!("result has no column {i}")))
    }
    pub fn opt_int(&self, i: usize) -> Result<Option<i64>> {
        match self.at(i)? {
            Val::Null => Ok(None),
            Val::Int(v) => Ok(Some(*v)),
            other => Err(RelayError::Storage(format!(
                "column {i}: expected an integer, found {other:?}"
            ))),
        }
    }
    pub fn int(&self, i: usize) -> Result<i64> {
        self.opt_int(i)?
            .ok_or_else(|| RelayError::Storage(format!("column {i}: unexpected NULL")))
    }
    pub fn opt_text(&self, i: usize) -> Result<Option<String>> {
        match self.at(i)? {
            Val::Null => Ok(None),
            Val::Text(v) => Ok(Some(v.clone())),
            other => Err(RelayError::Storage(format!(
                "column {i}: expected text, found {other:?}"
            ))),
        }
    }
    pub fn text(&self, i: usize) -> Result<String> {
        self.opt_text(i)?
            .ok_or_else(|| RelayError::Storage(format!("column {i}: unexpected NULL")))
    }
    pub fn blob(&self, i: usize) -> Result<Vec<u8>> {
        match self.at(i)? {
            Val::Blob(v) => Ok(v.clone()),
            other => Err(RelayError::Storage(format!(
                "column {i}: expected bytes, found {other:?}"
            ))),
        }
    }
}

impl ToSql for Val {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut postgres::types::private::BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Val::Null => Ok(IsNull::Yes),
            Val::Int(v) if *ty == Type::INT4 => i32::try_from(*v)?.to_sql(ty, out),
            Val::Int(v) if *ty == Type::INT2 => i16::try_from(*v)?.to_sql(ty, out),
            Val::Int(v) if *ty == Type::BOOL => (*v != 0).to_sql(ty, out),
            Val::Int(v) => v.to_sql(ty, out),
            Val::Text(v) => v.to_sql(ty, out),
            Val::Blob(v) => v.to_sql(ty, out),
            Val::Texts(v) => v.to_sql(ty, out),
            Val::Blobs(v) => v.to_sql(ty, out),
            Val::Ints(v) => v.to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

fn pg_err(e: postgres::Error) -> RelayError {
    RelayError::Storage(format!("postgresql: {e}"))
}

/// `?N` (SQLite's numbered parameters) → `$N` (PostgreSQL's). The project's statements hold no
/// `?` inside string literals.
fn to_pg(sql: &str) -> String {
    sql.replace('?', "$")
}

/// A PostgreSQL connection with its prepared statements (each statement is parsed once per
/// connection, not once per call).
///
/// A connection the server dropped (a restart, a failover, an administrator ending sessions) is
/// opened again before the next statement outside a transaction, so a relay outlives its
/// database's restarts: the requests that met the dropped connection fail, the phones try again.
/// Inside a transaction it is not reopened: the transaction is gone with the connection, and the
/// statements after it must not run on their own.
pub struct Pg {
    /// Always present; taken only by [`Pg`]'s `Drop`, which closes it (see there).
    client: Option<Client>,
    stmts: HashMap<String, Statement>,
    url: String,
    in_tx: bool,
}

impl std::fmt::Debug for Pg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pg")
            .field("statements", &self.stmts.len())
            .finish()
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        if let Some(c) = self.client.take() {
            close(c);
        }
    }
}

/// Closes a connection. The synchronous client closes by blocking on a runtime of its own, which
/// panics on a thread already driving async tasks; the relay's last handle to its store can be
/// dropped there (a connection task outliving shutdown), so there it closes on a thread of its own.
fn close(client: Client) {
    if tokio::runtime::Handle::try_current().is_ok() {
        let _ = std::thread::spawn(move || drop(client)).join();
    } else {
        drop(client);
    }
}

/// The key of the advisory lock that orders writers of the change log (see [`Pg::begin_write`]).
const WRITE_LOCK: i64 = 0x6772_6964_7361_6665; // "gridsafe"
/// The key of the advisory lock migrations run under, so relays started together do not race.
const MIGRATE_LOCK: i64 = 0x6772_6964_6d69_6772; // "gridmigr"

/// PostgreSQL schema versions, applied in order (`gridsafe_schema` records the applied ones).
const PG_MIGRATIONS: &[&str] = &[
    include_str!("../sql/pg/001_shared.sql"),
    include_str!("../sql/pg/002_docs_venue.sql"),
    include_str!("../sql/pg/003_refused_changes.sql"),
    include_str!("../sql/pg/004_scoped_seq.sql"),
    include_str!("../sql/pg/005_notices.sql"),
    include_str!("../sql/pg/006_reports.sql"),
    include_str!("../sql/pg/007_form_tokens.sql"),
    include_str!("../sql/pg/008_disabled_users.sql"),
];

impl Pg {
    pub fn connect(url: &str) -> Result<Pg> {
        Ok(Pg {
            client: Some(Self::open(url)?),
            stmts: HashMap::new(),
            url: url.to_owned(),
            in_tx: false,
        })
    }

    fn open(url: &str) -> Result<Client> {
        Client::connect(url, NoTls)
            .map_err(|e| RelayError::Storage(format!("cannot connect to {}: {e}", redact(url))))
    }

    /// Reopens a dropped connection, outside a transaction (see [`Pg`]).
    fn live(&mut self) -> Result<()> {
        if self.client.as_ref().is_none_or(Client::is_closed) {
            if self.in_tx {
                return Err(RelayError::Storage(
                    "postgresql: the connection was lost during a transaction".into(),
                ));
            }
            if let Some(lost) = self.client.replace(Self::open(&self.url)?) {
                close(lost);
            }
            self.stmts.clear();
            tracing::warn!(database = %redact(&self.url), "postgresql: connected again after the connection was dropped");
        }
        Ok(())
    }

    /// Brings the schema to the latest version, each step in its own transaction, under an
    /// advisory lock; returns the version.
    pub fn migrate(&mut self) -> Result<usize> {
        let c = self.conn()?;
        c.execute("SELECT pg_advisory_lock($1)", &[&MIGRATE_LOCK])
            .map_err(pg_err)?;
        let run = (|| {
            // Under the lock too: two relays creating it at once would collide in the catalog.
            c.batch_execute("CREATE TABLE IF NOT EXISTS gridsafe_schema (version BIGINT PRIMARY KEY, applied_ms BIGINT NOT NULL)")
                .map_err(pg_err)?;
            let at: i64 = c
                .query_one("SELECT coalesce(max(version), 0) FROM gridsafe_schema", &[])
                .map_err(pg_err)?
                .get(0);
            if at as usize > PG_MIGRATIONS.len() {
                return Err(RelayError::Storage(format!(
                    "the database is at schema {at}, newer than this relay's {}; upgrade the relay",
                    PG_MIGRATIONS.len()
                )));
            }
            for (n, sql) in PG_MIGRATIONS.iter().enumerate().skip(at as usize) {
                let mut tx = c.transaction().map_err(pg_err)?;
                tx.batch_execute(sql)
                    .map_err(|e| RelayError::Storage(format!("migration {}: {e}", n + 1)))?;
                tx.execute(
                    "INSERT INTO gridsafe_schema (version, applied_ms) VALUES ($1, $2)",
                    &[&(n as i64 + 1), &gridsafe_core::clock::now_ms()],
                )
                .map_err(pg_err)?;
                tx.commit().map_err(pg_err)?;
            }
            Ok(PG_MIGRATIONS.len())
        })();
        c.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATE_LOCK])
            .map_err(pg_err)?;
        run
    }

    fn stmt(&mut self, sql: &str) -> Result<Statement> {
        self.live()?;
        if let Some(s) = self.stmts.get(sql) {
            return Ok(s.clone());
        }
        let s = self
            .conn()?
            .prepare(&to_pg(sql))
            .map_err(|e| RelayError::Storage(format!("postgresql: {e} in {sql}")))?;
        self.stmts.insert(sql.to_owned(), s.clone());
        Ok(s)
    }

    /// Starts a write transaction holding the change-log lock until it ends. Sequence numbers
    /// are then assigned in commit order across every relay, which is what lets a pull's cursor
    /// jump to the newest one it saw (no smaller one can commit later).
    pub fn begin_write(&mut self) -> Result<()> {
        self.begin(&format!(
            "BEGIN; SELECT pg_advisory_xact_lock({WRITE_LOCK})"
        ))
    }

    /// A read-only snapshot for a pull: every statement until [`Pg::end`] sees one state.
    pub fn begin_snapshot(&mut self) -> Result<()> {
        self.begin("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
    }

    fn begin(&mut self, sql: &str) -> Result<()> {
        self.live()?;
        self.in_tx = true;
        if let Err(e) = self.conn()?.batch_execute(sql) {
            // A failed start ends here: the caller does not call `end`.
            let _ = self.conn()?.batch_execute("ROLLBACK");
            self.in_tx = false;
            return Err(pg_err(e));
        }
        Ok(())
    }

    pub fn end(&mut self, commit: bool) -> Result<()> {
        self.in_tx = false;
        self.conn()?
            .batch_execute(if commit { "COMMIT" } else { "ROLLBACK" })
            .map_err(pg_err)
    }

    /// The connection itself, for tools (backup) that need more than [`Db`] offers.
    pub fn client(&mut self) -> Result<&mut Client> {
        self.live()?;
        self.conn()
    }

    fn conn(&mut self) -> Result<&mut Client> {
        self.client
            .as_mut()
            .ok_or_else(|| RelayError::Storage("postgresql: the connection is closed".into()))
    }
}

/// A database URL for messages: the password left out.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            let user = creds.split(':').next().unwrap_or("");
            format!("{}{user}{}", &url[..s + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

/// Where the shared tables are: the local SQLite connection, or PostgreSQL.
#[derive(Debug)]
pub enum Db<'a> {
    Lite(&'a Connection),
    Pg(&'a mut Pg),
}

impl Db<'_> {
    /// Runs a statement; returns the rows it changed.
    pub fn exec(&mut self, sql: &str, params: &[Val]) -> Result<u64> {
        match self {
            Db::Lite(c) => {
                let params = params.iter().map(lite_val).collect::<Result<Vec<_>>>()?;
                let mut s = c.prepare_cached(sql)?;
                Ok(s.execute(rusqlite::params_from_iter(params))? as u64)
            }
            Db::Pg(pg) => {
                let s = pg.stmt(sql)?;
                let p: Vec<&(dyn ToSql + Sync)> =
                    params.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
                pg.conn()?
                    .execute(&s, &p)
                    .map_err(|e| RelayError::Storage(format!("postgresql: {e} in {sql}")))
            }
        }
    }

    /// Every row a query returns.
    pub fn query(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Row>> {
        match self {
            Db::Lite(c) => {
                let params = params.iter().map(lite_val).collect::<Result<Vec<_>>>()?;
                let mut s = c.prepare_cached(sql)?;
                let n = s.column_count();
                let mut rows = s.query(rusqlite::params_from_iter(params))?;
                let mut out = Vec::new();
                while let Some(r) = rows.next()? {
                    let row = (0..n)
                        .map(|i| {
                            Ok(match r.get_ref(i)? {
                                ValueRef::Null => Val::Null,
                                ValueRef::Integer(v) => Val::Int(v),
                                ValueRef::Real(v) => Val::Int(v as i64),
                                ValueRef::Text(t) => {
                                    Val::Text(String::from_utf8_lossy(t).into_owned())
                                }
                                ValueRef::Blob(b) => Val::Blob(b.to_vec()),
                            })
                        })
                        .collect::<rusqlite::Result<Vec<_>>>()?;
                    out.push(Row(row));
                }
                Ok(out)
            }
            Db::Pg(pg) => {
                let s = pg.stmt(sql)?;
                let p: Vec<&(dyn ToSql + Sync)> =
                    params.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
                let rows = pg
                    .conn()?
                    .query(&s, &p)
                    .map_err(|e| RelayError::Storage(format!("postgresql: {e} in {sql}")))?;
                rows.iter().map(pg_row).collect()
            }
        }
    }

    /// The first row, if any.
    pub fn one(&mut self, sql: &str, params: &[Val]) -> Result<Option<Row>> {
        Ok(self.query(sql, params)?.into_iter().next())
    }

    /// Starts a read snapshot: every query until [`Db::end_read`] sees one state of the tables.
    pub fn begin_read(&mut self) -> Result<()> {
        match self {
            Db::Lite(c) => Ok(c.execute_batch("BEGIN DEFERRED")?),
            Db::Pg(pg) => pg.begin_snapshot(),
        }
    }

    pub fn end_read(&mut self) -> Result<()> {
        match self {
            Db::Lite(c) => Ok(c.execute_batch("COMMIT")?),
            Db::Pg(pg) => pg.end(true),
        }
    }
}

fn lite_val(v: &Val) -> Result<rusqlite::types::Value> {
    use rusqlite::types::Value as V;
    Ok(match v {
        Val::Null => V::Null,
        Val::Int(i) => V::Integer(*i),
        Val::Text(t) => V::Text(t.clone()),
        Val::Blob(b) => V::Blob(b.clone()),
        Val::Texts(_) | Val::Blobs(_) | Val::Ints(_) => {
            return Err(RelayError::Storage(
                "SQLite takes no array parameters (a PostgreSQL-only statement)".into(),
            ));
        }
    })
}

fn pg_row(r: &postgres::Row) -> Result<Row> {
    let get = |i: usize, ty: &Type| -> std::result::Result<Val, postgres::Error> {
        Ok(match *ty {
            Type::INT8 => r.get::<_, Option<i64>>(i).map_or(Val::Null, Val::Int),
            Type::INT4 => r
                .get::<_, Option<i32>>(i)
                .map_or(Val::Null, |v| Val::Int(v.into())),
            Type::INT2 => r
                .get::<_, Option<i16>>(i)
                .map_or(Val::Null, |v| Val::Int(v.into())),
            Type::BOOL => r
                .get::<_, Option<bool>>(i)
                .map_or(Val::Null, |v| Val::Int(v.into())),
            Type::BYTEA => r.get::<_, Option<Vec<u8>>>(i).map_or(Val::Null, Val::Blob),
            _ => r
                .try_get::<_, Option<String>>(i)?
                .map_or(Val::Null, Val::Text),
        })
    };
    r.columns()
        .iter()
        .enumerate()
        .map(|(i, c)| get(i, c.type_()).map_err(pg_err))
        .collect::<Result<Vec<_>>>()
        .map(Row)
}
