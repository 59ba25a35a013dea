//! Record documents on disk: a snapshot plus incremental chunks, compacted; merging changes from
//! outside; and this phone's hybrid logical clock.

use automerge::{AutoCommit, ChangeHash};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::{COMPACT_AFTER, Store};
use crate::clock::{Hlc, now_ms};
use crate::error::{Error, Result};
use crate::ids::check_id;
use crate::projection;
use crate::projection::split_list;
use crate::records::{self, DocKind};

impl Store {
    pub(super) fn read_hlc(tx: &Transaction<'_>) -> Result<Hlc> {
        let v: String =
            tx.query_row("SELECT value FROM meta WHERE key = 'hlc'", [], |r| r.get(0))?;
        let (ms, c) = v.split_once(':').unwrap_or(("0", "0"));
        Ok(Hlc {
            ms: ms.parse().unwrap_or(0),
            counter: c.parse().unwrap_or(0),
        })
    }

    pub(super) fn write_hlc(tx: &Transaction<'_>, h: Hlc) -> Result<()> {
        tx.execute(
            "UPDATE meta SET value = ?1 WHERE key = 'hlc'",
            params![format!("{}:{}", h.ms, h.counter)],
        )?;
        Ok(())
    }

    /// The next reading of this phone's clock; `wall` is its wall clock (read before the
    /// transaction borrowed the connection).
    pub(super) fn next_hlc(tx: &Transaction<'_>, wall: i64) -> Result<Hlc> {
        let next = Store::read_hlc(tx)?.tick(wall);
        Store::write_hlc(tx, next)?;
        Ok(next)
    }

    /// Folds in a reading seen on a merged record, never more than
    /// [`crate::integrity::CLOCK_BOUND_MS`] ahead of this phone's wall clock. A reading beyond
    /// that is remembered: until this phone's clock reaches it, the phone records no lifecycle
    /// event (its events would sort before what they answer) and tells the worker to set the
    /// clock.
    pub(super) fn observe_hlc(tx: &Transaction<'_>, seen: Hlc, wall: i64) -> Result<()> {
        let (next, ahead) =
            Store::read_hlc(tx)?.observe_bounded(seen, wall, crate::integrity::CLOCK_BOUND_MS);
        if ahead {
            let known: i64 = tx
                .query_row(
                    "SELECT value FROM meta WHERE key = 'seen_ahead_ms'",
                    [],
                    |r| r.get::<_, String>(0),
                )
                .optional()?
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            tx.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('seen_ahead_ms', ?1)",
                params![known.max(seen.ms).to_string()],
            )?;
        }
        Store::write_hlc(tx, next)
    }

    pub(super) fn load_doc(
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

    pub(super) fn doc(&self, id: &str, kind: DocKind) -> Result<(AutoCommit, Vec<ChangeHash>)> {
        let (doc, k, heads) =
            Store::load_doc(&self.conn, id)?.ok_or_else(|| Error::not_found(kind.as_str(), id))?;
        if k != kind {
            return Err(Error::not_found(kind.as_str(), id));
        }
        Ok((doc, heads))
    }

    pub(super) fn heads_text(heads: &[ChangeHash]) -> String {
        let mut v: Vec<String> = heads.iter().map(|h| h.to_string()).collect();
        v.sort();
        v.join(",")
    }

    pub(super) fn parse_heads(text: &str) -> Result<Vec<ChangeHash>> {
        text.split(',')
            .filter(|s| !s.is_empty())
            .map(|h| {
                h.parse::<ChangeHash>()
                    .map_err(|_| Error::invalid(format!("{h:?} is not a change hash")))
            })
            .collect()
    }

    pub(super) fn insert_doc(
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
    pub(super) fn save_doc(
        tx: &Transaction<'_>,
        id: &str,
        doc: &mut AutoCommit,
        since: &[ChangeHash],
    ) -> Result<()> {
        Store::save_doc_with(tx, id, doc, since, false)
    }

    /// As [`Store::save_doc`]; `compact` forces a snapshot (e.g. when a record stops changing).
    pub(super) fn save_doc_with(
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
    pub(super) fn merge_changes(
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
        let before = since.is_some().then(|| doc.clone());
        let new_changes = changes.clone();
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
        // History is appended, never rewritten — not even by the relay.
        let empty = crate::directory::Directory::default();
        let venue_grid = match kind {
            DocKind::Hazard => match records::read_hazard(&doc, id) {
                Ok((h, _)) => projection::venue_grid(tx, &h.venue_id)?,
                Err(_) => None,
            },
            _ => None,
        };
        let roster = crate::directory::DirectoryRoster {
            directory: self.directory.as_deref().unwrap_or(&empty),
            actors: &self.actors,
            venue_grid: venue_grid.as_deref(),
        };
        let cx = crate::integrity::UpdateContext {
            roster: &roster,
            now_ms: None,
            authors_known: false,
        };
        crate::integrity::check_update(id, before.as_ref(), &mut doc, &new_changes, cx)
            .map_err(Error::Refused)?;
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
                let grid = projection::venue_grid(tx, &h.venue_id)?;
                let status = projection::fold_with(
                    self.directory.as_deref(),
                    &self.actors,
                    &h,
                    &evs,
                    grid.as_deref(),
                );
                Store::observe_hlc(tx, status.last_hlc, self.now())?;
                projection::index_hazard(tx, &h, &status)?;
            }
            DocKind::Task => projection::index_task(tx, &records::read_task(&doc, id)?)?,
        }
        Ok((kind, doc.get_heads()))
    }
}
