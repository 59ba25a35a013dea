//! Nothing typed is lost when history is refused. A change the relay refused is set aside with
//! its reason and the record rebuilt from what the relay accepted, with this phone's honest
//! events recorded again on top, so the record's later events still sync. A change pulled from
//! the relay that rewrites history is set aside and not merged. A phone whose clock is behind
//! what it has seen records no lifecycle event until the clock is set.

use std::collections::{HashMap, HashSet};

use automerge::{ActorId, AutoCommit};
use rusqlite::{OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};

use super::Store;
use crate::clock::{Hlc, format_date, ms_to_date, ms_to_rfc3339, parse_date};
use crate::error::{Error, Result};
use crate::integrity::CLOCK_BOUND_MS;
use crate::labels::span;
use crate::projection;
use crate::records::{self, DocKind};

/// A change kept aside, never applied, with why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SetAside {
    pub doc_id: String,
    /// `local`: this phone's, refused by the relay; `pulled`: the relay's, refused here.
    pub origin: String,
    pub reason: String,
    pub at: String,
}

impl Store {
    pub(super) fn set_aside(
        tx: &Transaction<'_>,
        doc_id: &str,
        origin: &str,
        reason: &str,
        changes: &[Vec<u8>],
    ) -> Result<()> {
        for bytes in changes {
            tx.execute(
                "INSERT OR IGNORE INTO set_aside (doc_id, origin, reason, at_ms, bytes) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![doc_id, origin, reason, crate::clock::now_ms(), bytes],
            )?;
        }
        Ok(())
    }

    /// The changes set aside, newest first.
    pub fn set_aside_entries(&self) -> Result<Vec<SetAside>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT doc_id, origin, reason, max(at_ms) FROM set_aside GROUP BY doc_id, origin, reason ORDER BY max(at_ms) DESC LIMIT 100",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(SetAside {
                doc_id: r.get(0)?,
                origin: r.get(1)?,
                reason: r.get(2)?,
                at: ms_to_rfc3339(r.get(3)?),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Remembers how far this phone's clock is from the relay's (`server_ms`: the relay's clock
    /// when it answered; 0 from relays that do not say) and pulls this phone's logical clock back
    /// to at most the bound ahead of the relay's: every event the relay ever accepted is within
    /// that, so only events it refused (and will have rebuilt) were later. Returns whether this
    /// phone's clock is within the bound of the relay's.
    pub(super) fn note_relay_clock(&self, tx: &Transaction<'_>, server_ms: i64) -> Result<bool> {
        if server_ms <= 0 {
            return Ok(true);
        }
        let offset = server_ms - self.now();
        tx.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('relay_offset_ms', ?1)",
            params![offset.to_string()],
        )?;
        let limit = server_ms.saturating_add(CLOCK_BOUND_MS);
        if Store::read_hlc(tx)?.ms > limit {
            Store::write_hlc(
                tx,
                Hlc {
                    ms: limit,
                    counter: 0,
                },
            )?;
        }
        tx.execute(
            "UPDATE meta SET value = ?1 WHERE key = 'seen_ahead_ms' AND CAST(value AS INTEGER) > ?2",
            params![limit.to_string(), limit],
        )?;
        Ok(offset.abs() <= CLOCK_BOUND_MS)
    }

    /// What is wrong with this phone's clock, in words, or `None`: behind records it received
    /// (it may not record lifecycle events until the clock is set: they would sort before what
    /// they answer), or more than the bound from the relay's at the last sync (its events would
    /// be refused, and wait, kept, until the clock is set).
    pub fn clock_warning(&self) -> Result<Option<String>> {
        Ok(self.clock_words()?.map(|(zh, en)| format!("{zh} / {en}")))
    }

    /// [`Store::clock_warning`] in each language (zh, en), for a screen that shows one.
    pub fn clock_words(&self) -> Result<Option<(String, String)>> {
        let now = self.now();
        let seen: Option<i64> = self.meta("seen_ahead_ms")?.and_then(|v| v.parse().ok());
        if let Some(s) = seen.filter(|s| *s > now + CLOCK_BOUND_MS) {
            let (zh, en) = span(s - now);
            return Ok(Some((
                format!("手机时间比收到的记录慢约{zh}，请在手机设置中校准时间后再处置隐患"),
                format!(
                    "This phone's clock is about {en} behind records it received: set the clock before recording lifecycle events"
                ),
            )));
        }
        let offset: Option<i64> = self.meta("relay_offset_ms")?.and_then(|v| v.parse().ok());
        Ok(offset.filter(|o| o.abs() > CLOCK_BOUND_MS).map(|o| {
            let (zh, en) = span(o.abs());
            let (fast_zh, fast_en) = if o < 0 { ("快", "ahead of") } else { ("慢", "behind") };
            (
                format!("手机时间比服务器{fast_zh}约{zh}，请在手机设置中校准时间，然后同步一次"),
                format!(
                    "This phone's clock is about {en} {fast_en} the relay's: set the clock, then sync"
                ),
            )
        }))
    }

    /// Refuses a lifecycle event while this phone's clock is behind what it has seen.
    pub(super) fn check_clock(&self) -> Result<()> {
        let now = self.now();
        let seen: Option<i64> = self.meta("seen_ahead_ms")?.and_then(|v| v.parse().ok());
        if seen.is_some_and(|s| s > now + CLOCK_BOUND_MS) {
            return Err(Error::Words(self.clock_warning()?.unwrap_or_default()));
        }
        Ok(())
    }

    /// The relay refused this phone's latest changes to record `id` (they rewrite its history,
    /// or carry times from the future): they are set aside with `reason`, the record goes back to
    /// what the relay accepted, and this phone's own events that the rules still allow are
    /// recorded again on top, stamped now. A hazard the relay never accepted is made again from
    /// this phone's registration and events. Returns whether the record was rebuilt.
    pub(super) fn rebuild_doc(&self, tx: &Transaction<'_>, id: &str, reason: &str) -> Result<bool> {
        let Some((mut doc, kind, _)) = Store::load_doc(tx, id)? else {
            return Ok(false);
        };
        let server: String = tx
            .query_row(
                "SELECT server_heads FROM docs WHERE id = ?1",
                params![id],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or_default();
        let accepted = Store::parse_heads(&server)?;
        if accepted.is_empty() && kind != DocKind::Hazard {
            // Only a hazard's events can be refused on a record the relay never held.
            return Ok(false);
        }
        let local: HashMap<String, String> = self.local_actors()?.into_iter().collect();
        let (mut base, header, base_events) = if accepted.is_empty() {
            let (mut header, all) = records::read_hazard(&doc, id)?;
            let Some(reg) = all
                .first()
                .filter(|e| e.record.kind == "register" && local.contains_key(&e.actor))
            else {
                return Ok(false);
            };
            let mut reg = reg.clone();
            self.restamp(tx, &mut reg.record)?;
            let found_before = ms_to_date(header.found_ms);
            header.found_ms = header.found_ms.min(reg.record.ms);
            header.found_at = ms_to_rfc3339(header.found_ms);
            // The deadline was counted from the day found on the wrong clock (the checklist's
            // days from that day, or that day for 即改): counted again from the day found now,
            // or the relay refuses it once the clock is set across a midnight.
            let shift = (ms_to_date(header.found_ms) - found_before).whole_days();
            header.deadline = header
                .deadline
                .as_deref()
                .map(|d| shift_day(d, shift))
                .transpose()?;
            reg.record.deadline = reg
                .record
                .deadline
                .as_deref()
                .map(|d| shift_day(d, shift))
                .transpose()?;
            let base = records::new_hazard_doc(&actor_id(id, &reg.actor)?, &header, &reg.record)?;
            (base, Some(header), vec![reg])
        } else {
            let base = doc.fork_at(&accepted).map_err(|e| Error::Document {
                id: id.into(),
                reason: format!("cannot go back to the relay's version: {e}"),
            })?;
            if kind == DocKind::Hazard {
                let (header, evs) = records::read_hazard(&base, id)?;
                (base, Some(header), evs)
            } else {
                (base, None, vec![])
            }
        };
        let mine: Vec<Vec<u8>> = doc
            .get_changes(&accepted)
            .iter()
            .map(|c| c.raw_bytes().to_vec())
            .collect();
        Store::set_aside(tx, id, "local", reason, &mine)?;
        if let Some(header) = header {
            let (_, all) = records::read_hazard(&doc, id)?;
            let known: HashSet<&str> = base_events.iter().map(|e| e.record.id.as_str()).collect();
            let originals: HashSet<&str> = if accepted.is_empty() {
                all.first()
                    .map(|e| e.record.id.as_str())
                    .into_iter()
                    .collect()
            } else {
                HashSet::new()
            };
            let mut evs = base_events.clone();
            for e in all.iter().filter(|e| {
                !known.contains(e.record.id.as_str()) && !originals.contains(e.record.id.as_str())
            }) {
                // Only this phone's own events are recorded again; an edit of someone else's
                // event, or a deletion, has no event to replay.
                if !local.contains_key(&e.actor) || e.tampered {
                    continue;
                }
                let mut fresh = e.record.clone();
                self.restamp(tx, &mut fresh)?;
                let mut with_actor = std::mem::take(&mut base).with_actor(actor_id(id, &e.actor)?);
                // An event the rules no longer allow stays set aside (above), not replayed.
                let _ = projection::record_event(
                    &mut with_actor,
                    &header,
                    &mut evs,
                    fresh,
                    self.directory.as_deref(),
                    &self.actors,
                    projection::venue_grid(tx, &header.venue_id)?.as_deref(),
                );
                base = with_actor;
            }
        }
        Store::replace_doc(tx, id, &mut base)?;
        self.reindex(tx, id, kind, &base)?;
        Ok(true)
    }

    /// A replayed event is a new event: a new id and this phone's clock now.
    fn restamp(&self, tx: &Transaction<'_>, ev: &mut records::EventRecord) -> Result<()> {
        let hlc = Store::next_hlc(tx, self.now())?;
        ev.id = crate::ids::new_id();
        ev.ms = hlc.ms;
        ev.counter = hlc.counter;
        Ok(())
    }

    /// Writes `doc` as record `id`'s whole state (one snapshot, no chunks).
    fn replace_doc(tx: &Transaction<'_>, id: &str, doc: &mut AutoCommit) -> Result<()> {
        let heads = Store::heads_text(&doc.get_heads());
        tx.execute(
            "UPDATE docs SET snapshot = ?2, chunks = 0, heads = ?3, updated_ms = ?4, dirty = (server_heads != ?3) WHERE id = ?1",
            params![id, doc.save(), heads, crate::clock::now_ms()],
        )?;
        tx.execute("DELETE FROM doc_chunks WHERE doc_id = ?1", params![id])?;
        Ok(())
    }

    fn reindex(
        &self,
        tx: &Transaction<'_>,
        id: &str,
        kind: DocKind,
        doc: &AutoCommit,
    ) -> Result<()> {
        match kind {
            DocKind::Venue => projection::index_venue(tx, &records::read_venue(doc, id)?),
            DocKind::Inspection => {
                projection::index_inspection(tx, &records::read_inspection(doc, id)?)
            }
            DocKind::Hazard => {
                let (h, evs) = records::read_hazard(doc, id)?;
                let grid = projection::venue_grid(tx, &h.venue_id)?;
                let status = projection::fold_with(
                    self.directory.as_deref(),
                    &self.actors,
                    &h,
                    &evs,
                    grid.as_deref(),
                );
                projection::index_hazard(tx, &h, &status)
            }
            DocKind::Task => projection::index_task(tx, &records::read_task(doc, id)?),
        }
    }
}

fn actor_id(doc_id: &str, hex_actor: &str) -> Result<ActorId> {
    hex::decode(hex_actor)
        .map(ActorId::from)
        .map_err(|_| Error::Document {
            id: doc_id.into(),
            reason: format!("corrupt actor {hex_actor}"),
        })
}

/// Day `day` (`YYYY-MM-DD`) moved by `days`.
fn shift_day(day: &str, days: i64) -> Result<String> {
    Ok(format_date(parse_date(day)? + time::Duration::days(days)))
}
