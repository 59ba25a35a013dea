//! Sync (protocol v1, see `crate::sync`): the phone side — what to push, applying the answer,
//! photo uploads, and what the worker sees of it.

use rusqlite::params;
use serde::{Deserialize, Serialize};

use super::{SetAside, Store};
use crate::clock::{ms_to_rfc3339, now_ms};
use crate::error::{Error, Result};
use crate::ids::check_id;
use crate::sync::{self, DeviceStatus, DocChanges, SyncRequest, SyncResponse};
use crate::template::TemplateSource;
use serde_bytes::ByteBuf;

/// The result of applying one sync response.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SyncOutcome {
    pub pushed: usize,
    /// (record id, reason) the relay refused; they stay pending.
    pub refused: Vec<(String, String)>,
    pub pulled: usize,
    /// Records rebuilt on the relay's instruction, to push again.
    pub rebuilt: usize,
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
    /// Changes set aside (refused by the relay, or refused from it), kept with the reason.
    #[serde(default)]
    pub set_aside: Vec<SetAside>,
    /// This phone's clock is behind what it has seen by more than the bound: the worker must
    /// set it before recording lifecycle events (the reason, in words).
    #[serde(default)]
    pub clock_warning: Option<String>,
    /// Notice numbers left for this year, and, when they run low, what to do (in words).
    #[serde(default)]
    pub notice_numbers_left: u32,
    #[serde(default)]
    pub notice_numbers_warning: Option<String>,
}

impl Store {
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
                // What this phone's changes lead to: the relay acknowledges these for a record
                // leaving the phone's scope, whose other changes the phone will never pull.
                heads: doc.get_heads().iter().map(|h| h.to_string()).collect(),
            });
        }
        let cursor: u64 = self
            .meta("sync_cursor")?
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let pending_photos = self.pending_photo_count()?;
        let (numbers_left, block_last) = self.notice_numbers_left()?;
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
                notice_numbers_left: Some(numbers_left),
                notice_block_last: block_last,
                notices: self.unreported_notices()?,
            },
            push,
            more_to_push: more,
        })
    }

    /// Evidence copies and thumbnails not yet on the relay (originals wait for an unmetered network).
    pub(super) fn pending_photo_count(&self) -> Result<i64> {
        Ok(self.conn.query_row(
            "SELECT count(*) FROM blobs WHERE uploaded_ms IS NULL AND kind != 'original'",
            [],
            |r| r.get(0),
        )?)
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
        let clock_right = self.note_relay_clock(&tx, resp.server_ms)?;
        Store::apply_notice_answer(&tx, resp)?;
        let mut refused_ids = Vec::new();
        let mut rebuilt = 0;
        for a in &resp.accepted {
            check_id("record", &a.doc_id)?;
            let acked = Store::heads_text(&Store::parse_heads(&a.heads.join(","))?);
            tx.execute(
                "UPDATE docs SET server_heads = ?2, dirty = (heads != ?2) WHERE id = ?1",
                params![a.doc_id, acked],
            )?;
        }
        for r in &resp.refused {
            check_id("record", &r.doc_id)?;
            refused_ids.push((r.doc_id.clone(), r.reason.clone()));
            // Rebuilt on a clock still wrong, the record would carry the same wrong times and
            // be refused again: it waits, as it is, until the clock is set.
            if r.rebuild && clock_right && self.rebuild_doc(&tx, &r.doc_id, &r.reason)? {
                rebuilt += 1;
            }
        }
        let mut pulled = 0;
        // Venues first: a hazard's events are judged where its venue is now (a venue moved in the
        // same pull takes its hazards along).
        let mut pull: Vec<&sync::DocChanges> = resp.pull.iter().collect();
        pull.sort_by_key(|d| d.kind != "venue");
        for d in pull {
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
            let raw: Vec<Vec<u8>> = d.changes.iter().map(|c| c.to_vec()).collect();
            let heads = match self.merge_changes(&tx, &d.doc_id, changes) {
                Ok((_, heads)) => heads,
                // Changes that rewrite history (or do not read) are set aside, not merged: the
                // rest of the pull goes on, and the worker sees which record and why.
                Err(e @ (Error::Refused(_) | Error::Document { .. })) => {
                    let reason = e.to_string();
                    Store::set_aside(&tx, &d.doc_id, "pulled", &reason, &raw)?;
                    refused_ids.push((
                        d.doc_id.clone(),
                        format!("not taken from the relay: {reason}"),
                    ));
                    continue;
                }
                Err(e) => return Err(e),
            };
            let server = Store::heads_text(&Store::parse_heads(&d.heads.join(","))?);
            tx.execute(
                "UPDATE docs SET server_heads = ?2, dirty = (?3 != ?2) WHERE id = ?1",
                params![d.doc_id, server, Store::heads_text(&heads)],
            )?;
            pulled += 1;
        }
        // Records whose venue moved to another grid: dropped now, or once this phone's own
        // changes to them are sent (nothing unsynced is lost).
        for id in &resp.dropped {
            check_id("record", id)?;
            tx.execute(
                "INSERT OR IGNORE INTO pending_drops (doc_id) VALUES (?1)",
                params![id],
            )?;
        }
        Store::drop_clean(&tx)?;
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
            rebuilt,
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
            set_aside: self.set_aside_entries()?,
            clock_warning: self.clock_warning()?,
            notice_numbers_left: self.notice_numbers_left()?.0,
            notice_numbers_warning: self.notice_numbers_warning()?,
            cursor: self
                .meta("sync_cursor")?
                .and_then(|c| c.parse().ok())
                .unwrap_or(0),
        })
    }

    /// Drops the records waiting to leave that have nothing of this phone's left to send: the
    /// document, its chunks and its rows in the lists.
    fn drop_clean(tx: &rusqlite::Transaction<'_>) -> Result<()> {
        let ids: Vec<String> = {
            let mut stmt = tx.prepare(
                "SELECT p.doc_id FROM pending_drops p LEFT JOIN docs d ON d.id = p.doc_id
                 WHERE d.id IS NULL OR d.dirty = 0",
            )?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        for id in ids {
            for sql in [
                "DELETE FROM doc_chunks WHERE doc_id = ?1",
                "DELETE FROM docs WHERE id = ?1",
                "DELETE FROM venues_idx WHERE id = ?1",
                "DELETE FROM inspections_idx WHERE id = ?1",
                "DELETE FROM hazard_depts WHERE hazard_id = ?1",
                "DELETE FROM hazards_idx WHERE id = ?1",
                "DELETE FROM tasks_idx WHERE id = ?1",
                "DELETE FROM pending_drops WHERE doc_id = ?1",
            ] {
                tx.execute(sql, params![id])?;
            }
        }
        Ok(())
    }
}
