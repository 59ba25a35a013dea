//! Writing accepted changes: the change log, the record index and snapshots, and the projections
//! (at once on SQLite; caught up from the shared log on PostgreSQL).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use automerge::{AutoCommit, Change};
use gridsafe_core::store::split_list;
use gridsafe_core::sync::{Acked, PROTOCOL, Refused, SyncRequest, SyncResponse, TemplateFile};

use super::Device;
use super::{Committed, Loaded, Prepared, authorize, check, depts_text, place, project};
use super::{RelayError, RelayStore, Result, heads_of, now_ms};
use super::{pull, refuse_admin};
use crate::vals;
use serde_bytes::ByteBuf;

/// A record gets a new snapshot once this many changes were logged after its last one.
pub const SNAPSHOT_EVERY: i64 = 16;

impl RelayStore {
    /// The stored heads of the records a request pushes (those the relay has), in one query.
    pub(super) fn heads_of(&mut self, req: &SyncRequest) -> Result<HashMap<String, String>> {
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

    /// The relay's version of a record, from the cache or rebuilt from the change log.
    pub(crate) fn load(&mut self, id: &str) -> Result<Option<Arc<Loaded>>> {
        if let Some(d) = self.cache.get(id).cloned() {
            // Another relay on the shared database, or the writer beside a reader, may have
            // changed the record since.
            if (self.pg.is_none() && self.writer)
                || self.stored_heads(id)?.as_deref() == Some(d.heads.as_str())
            {
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

    /// The heads the relay holds for a record now (cheap: the cache or one indexed row).
    pub(super) fn current_heads(&mut self, id: &str) -> Result<Option<String>> {
        // Only this process's writer writes an SQLite relay, so its cache is current;
        // PostgreSQL (and a reader) asks.
        if self.pg.is_none()
            && self.writer
            && let Some(d) = self.cache.peek(id)
        {
            return Ok(Some(d.heads.clone()));
        }
        self.stored_heads(id)
    }

    /// The heads the shared tables hold for a record.
    pub(super) fn stored_heads(&mut self, id: &str) -> Result<Option<String>> {
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
    pub(super) fn commit_in_tx(
        &mut self,
        device: &Device,
        req: &SyncRequest,
        checked: Vec<Result<Prepared>>,
    ) -> Result<(Vec<Acked>, Vec<Refused>, Vec<Prepared>)> {
        if let Some(m) = gridsafe_core::limits::violation("app_version", &req.status.app_version) {
            return Err(RelayError::BadRequest(format!("status.{m}")));
        }
        if self.pg.is_some() {
            self.refresh_actors()?;
        }
        let mut accepted = Vec::new();
        let mut refused = Vec::new();
        let mut batch = Vec::new();
        let current = self.heads_of(req)?;
        self.last_refusals.clear();
        let mut seen = HashSet::new();
        // Checked against the relay's current version (again, if another request changed the
        // record since), then authorised together: who may write what is decided here, under
        // the lock, against what the relay holds now.
        let mut ready: Vec<(Prepared, Option<Arc<Loaded>>)> = Vec::new();
        for (d, c) in req.push.iter().zip(checked) {
            if !seen.insert(d.doc_id.as_str()) {
                // Its second copy would be checked against the relay's version, not the first's.
                refused.push(Refused {
                    doc_id: d.doc_id.clone(),
                    reason: format!("record {} is pushed twice in one request", d.doc_id),
                    rebuild: false,
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
                    let before = match p.based_on {
                        Some(_) => self.load(&p.doc_id)?,
                        None => None,
                    };
                    ready.push((p, before));
                }
                Err(RelayError::Storage(e)) => return Err(RelayError::Storage(e)),
                Err(e) => {
                    refused.push(Refused {
                        doc_id: d.doc_id.clone(),
                        reason: e.to_string(),
                        rebuild: false,
                    });
                    self.last_refusals.push(e);
                }
            }
        }
        let cx = {
            let pairs: Vec<(&Prepared, Option<&Loaded>)> =
                ready.iter().map(|(p, b)| (p, b.as_deref())).collect();
            self.context(&pairs)?
        };
        for (mut p, before) in ready {
            match authorize(&device.user, &p, before.as_deref(), &cx) {
                Ok(scope) => {
                    // History is appended, never rewritten (core's integrity rules): a change that
                    // breaks them is set aside here, and the phone is told to rebuild the record.
                    if let Err(why) = self.check_history(&mut p, before.as_deref(), &cx) {
                        let reason = format!("record {}: {why}", p.doc_id);
                        self.set_aside(device, &p, &why)?;
                        refused.push(Refused {
                            doc_id: p.doc_id.clone(),
                            reason: reason.clone(),
                            rebuild: true,
                        });
                        self.last_refusals.push(RelayError::Refused(reason));
                        continue;
                    }
                    p.scope = scope;
                    accepted.push(Acked {
                        doc_id: p.doc_id.clone(),
                        heads: split_list(&p.loaded.heads),
                    });
                    batch.push(p);
                }
                Err(RelayError::Storage(e)) => return Err(RelayError::Storage(e)),
                Err(e) => {
                    refused.push(Refused {
                        doc_id: p.doc_id.clone(),
                        reason: e.to_string(),
                        rebuild: false,
                    });
                    self.last_refusals.push(e);
                }
            }
        }
        let now = now_ms();
        let since = if self.pg.is_some() {
            self.write_records_pg(device, &batch, now)?
        } else {
            self.write_records(device, &batch, now)?
        };
        self.spread_scope(&batch)?;
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
        // The phone counted its pending records before this request; those accepted now are no
        // longer pending (the device page showed the count from before the push).
        let still_pending = req
            .status
            .pending_docs
            .saturating_sub(accepted.len() as u64);
        self.db().exec(
            "UPDATE devices SET last_sync_ms = ?2, pending_docs = ?3, pending_photos = ?4, app_version = ?5, protocol = ?6 WHERE id = ?1",
            vals![
                &device.id,
                now,
                still_pending as i64,
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
    pub(super) fn write_records(
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
            let sc = &p.scope;
            db.exec(
                "INSERT INTO docs (id, kind, grid_id, depts, heads, updated_ms, venue_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (id) DO UPDATE SET grid_id = excluded.grid_id, depts = excluded.depts, heads = excluded.heads, updated_ms = excluded.updated_ms, venue_id = excluded.venue_id,
                     scoped_seq = CASE WHEN docs.grid_id != excluded.grid_id THEN (SELECT coalesce(max(seq), 0) FROM changes) ELSE docs.scoped_seq END",
                vals![&p.doc_id, pl.kind.as_str(), &sc.grid, depts_text(&sc.depts), &p.loaded.heads, now, &sc.venue_id],
            )?;
            for sha in &pl.photos {
                let granted = !p.scope.ungranted.contains(sha);
                db.exec(
                    "INSERT INTO blob_refs (sha256, doc_id, granted) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
                    vals![sha, &p.doc_id, granted],
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
    pub(super) fn write_records_pg(
        &mut self,
        device: &Device,
        batch: &[Prepared],
        now: i64,
    ) -> Result<HashMap<String, i64>> {
        use crate::db::Val;
        let (mut hashes, mut change_docs, mut bytes) = (Vec::new(), Vec::new(), Vec::new());
        let (mut ids, mut kinds, mut grids, mut depts, mut heads, mut counts) =
            (vec![], vec![], vec![], vec![], vec![], vec![]);
        let mut venues = vec![];
        let (mut shas, mut sha_docs, mut grants) = (Vec::new(), Vec::new(), Vec::new());
        for p in batch {
            for (hash, raw) in &p.changes {
                hashes.push(hash.clone());
                change_docs.push(p.doc_id.clone());
                bytes.push(raw.clone());
            }
            let pl = &p.loaded.place;
            ids.push(p.doc_id.clone());
            kinds.push(pl.kind.as_str().to_owned());
            grids.push(p.scope.grid.clone());
            depts.push(depts_text(&p.scope.depts));
            venues.push(p.scope.venue_id.clone());
            heads.push(p.loaded.heads.clone());
            counts.push(p.changes.len() as i64);
            for sha in &pl.photos {
                shas.push(sha.clone());
                sha_docs.push(p.doc_id.clone());
                grants.push(i64::from(!p.scope.ungranted.contains(sha)));
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
            "INSERT INTO docs (id, kind, grid_id, depts, heads, updated_ms, since_snapshot, venue_id)
             SELECT i, k, g, dp, hd, ?6, n, v FROM unnest(?1::text[], ?2::text[], ?3::text[], ?4::text[], ?5::text[], ?7::bigint[], ?8::text[]) AS t(i, k, g, dp, hd, n, v)
             ON CONFLICT (id) DO UPDATE SET grid_id = excluded.grid_id, depts = excluded.depts, heads = excluded.heads,
                 updated_ms = excluded.updated_ms, since_snapshot = docs.since_snapshot + excluded.since_snapshot, venue_id = excluded.venue_id,
                 scoped_seq = CASE WHEN docs.grid_id != excluded.grid_id THEN (SELECT coalesce(max(seq), 0) FROM changes) ELSE docs.scoped_seq END
             RETURNING id, since_snapshot",
            &[Val::Texts(ids), Val::Texts(kinds), Val::Texts(grids), Val::Texts(depts), Val::Texts(heads), Val::Int(now), Val::Ints(counts), Val::Texts(venues)],
        )?;
        if !shas.is_empty() {
            db.exec(
                "INSERT INTO blob_refs (sha256, doc_id, granted) SELECT s, d, g FROM unnest(?1::text[], ?2::text[], ?3::bigint[]) AS t(s, d, g) ON CONFLICT DO NOTHING",
                &[Val::Texts(shas), Val::Texts(sha_docs), Val::Ints(grants)],
            )?;
        }
        rows.iter().map(|r| Ok((r.text(0)?, r.int(1)?))).collect()
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
        let (pull, cursor, more, actors, dropped) = pull(&mut self.db(), device, req.cursor)?;
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
            server_ms: now_ms(),
            dropped,
            issuer: None,
            notice_block: None,
            notices_recorded: vec![],
        })
    }
}
