//! The audit log: every administrative and review action, hash-chained so an edit shows.

use rusqlite::{OptionalExtension, params};

use super::{RelayError, RelayStore, Result, now_ms, sha256_hex};
use serde::Serialize;

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
pub(super) fn audit_hash(
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

impl RelayStore {
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
}
