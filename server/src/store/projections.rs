//! The relay's projections: the same list tables as the phone's, plus the relay-only facts the
//! monthly report reads, written for each record a commit or a catch-up touches.

use super::{DOC_CACHE, RelayStore, Result, now_ms};
use super::{Loaded, Record};
use gridsafe_core::directory::Directory;
use gridsafe_core::projection;
use gridsafe_core::records::{self};
use rusqlite::{Connection, params};
use std::collections::HashMap;
use std::sync::Arc;

/// Writes a record's projection rows (the same code as on the phone).
pub(super) fn project(
    conn: &Connection,
    dir: Option<&Directory>,
    actors: &HashMap<String, String>,
    record: &Record,
) -> Result<()> {
    match record {
        Record::Venue(v) => {
            projection::index_venue(conn, v)?;
            conn.execute(
                "INSERT OR REPLACE INTO venue_facts (venue_id, responsible, phone) VALUES (?1, ?2, ?3)",
                params![v.id, v.responsible.name, v.responsible.phone],
            )?;
        }
        Record::Inspection(i) => projection::index_inspection(conn, i)?,
        Record::Task(t) => projection::index_task(conn, t)?,
        Record::Hazard(h, evs) => {
            let grid = projection::venue_grid(conn, &h.venue_id)?;
            let (status, steps) = projection::fold_steps_with(dir, actors, h, evs, grid.as_deref());
            projection::index_hazard(conn, h, &status)?;
            index_facts(conn, h, &status)?;
            index_steps(conn, &h.id, &steps)?;
        }
    }
    Ok(())
}

/// The relay-only facts of a hazard for the monthly report (see `sql/008_report.sql`).
pub(super) fn index_facts(
    conn: &Connection,
    h: &records::HazardHeader,
    s: &gridsafe_core::lifecycle::HazardStatus,
) -> Result<()> {
    let before = h
        .photos
        .iter()
        .find(|p| p.role == "before")
        .or(h.photos.first())
        .map(|p| p.thumb_sha256.clone().unwrap_or_else(|| p.sha256.clone()));
    let last_step = s
        .history
        .iter()
        .filter(|e| e.applied)
        .map(|e| e.hlc.ms)
        .max()
        .unwrap_or(0);
    let after = s
        .history
        .iter()
        .rev()
        .filter(|e| e.applied)
        .find_map(|e| e.photo.clone());
    conn.execute(
        "INSERT OR REPLACE INTO hazard_facts (hazard_id, basis, plan, escalations, reopened, rectified_at, before_thumb, after_photo, ticket_no, last_step_ms, supervision_level, supervision_no)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        params![h.id, gridsafe_core::citations::printed(h).join("；"), s.plan.is_some(), s.escalations, s.reopened, s.rectified_at, before, after, h.ticket_no, last_step, s.supervision.as_ref().map(|x| &x.0), s.supervision.as_ref().map(|x| &x.1)],
    )?;
    Ok(())
}

/// What the hazard was after each applied event (see `sql/017_reports.sql`), keeping when each
/// step was first seen.
fn index_steps(
    conn: &Connection,
    hazard_id: &str,
    steps: &[gridsafe_core::lifecycle::Step],
) -> Result<()> {
    let mut seen: HashMap<(i64, String), i64> = HashMap::new();
    {
        let mut stmt = conn
            .prepare_cached("SELECT at_ms, kind, seen_ms FROM hazard_steps WHERE hazard_id = ?1")?;
        let rows = stmt.query_map([hazard_id], |r| Ok(((r.get(0)?, r.get(1)?), r.get(2)?)))?;
        for row in rows {
            let (k, v) = row?;
            seen.insert(k, v);
        }
    }
    conn.execute("DELETE FROM hazard_steps WHERE hazard_id = ?1", [hazard_id])?;
    let mut stmt = conn.prepare_cached(
        "INSERT INTO hazard_steps (hazard_id, n, at_ms, kind, state, severity, deadline, seen_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    let now = now_ms();
    for (n, st) in steps.iter().enumerate() {
        let first_seen = seen
            .get(&(st.at_ms, st.kind.clone()))
            .copied()
            .unwrap_or(now);
        stmt.execute(params![
            hazard_id,
            n as i64,
            st.at_ms,
            st.kind,
            st.state.as_str(),
            st.severity,
            st.deadline,
            first_seen
        ])?;
    }
    Ok(())
}

impl RelayStore {
    /// Derives every projection row again from the stored records (schema upgrades, repairs:
    /// `gridsafe-server admin reindex`). Returns the number of records read.
    pub fn rebuild_projections(&mut self) -> Result<usize> {
        let upto = self
            .db()
            .one("SELECT coalesce(max(seq), 0) FROM changes", &[])?
            .map_or(Ok(0), |r| r.int(0))?;
        let ids: Vec<String> = self
            .db()
            .query("SELECT id FROM docs ORDER BY id", &[])?
            .iter()
            .map(|r| r.text(0))
            .collect::<Result<_>>()?;
        // Until the flag below is written again, an interrupted rebuild restarts on the next open.
        self.conn.execute_batch(
            "DELETE FROM meta WHERE key = 'projections'; DELETE FROM venues_idx; DELETE FROM inspections_idx; DELETE FROM hazards_idx;
             DELETE FROM hazard_depts; DELETE FROM hazard_facts; DELETE FROM tasks_idx;
             DELETE FROM hazard_steps; DELETE FROM venue_facts;",
        )?;
        self.project_records(&ids)?;
        self.conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('projections', ?1)",
            params![now_ms().to_string()],
        )?;
        self.conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('projected_seq', ?1)",
            params![upto.to_string()],
        )?;
        Ok(ids.len())
    }

    /// Reads each record and writes its projection rows, [`DOC_CACHE`] records per transaction.
    pub(super) fn project_records(&mut self, ids: &[String]) -> Result<()> {
        let mut batch = Vec::with_capacity(ids.len().min(DOC_CACHE));
        for id in ids {
            if let Some(l) = self.load(id)? {
                batch.push(l);
            }
            if batch.len() == DOC_CACHE {
                self.write_projections(std::mem::take(&mut batch))?;
            }
        }
        self.write_projections(batch)
    }

    pub(super) fn write_projections(&mut self, batch: Vec<Arc<Loaded>>) -> Result<()> {
        let tx = self.conn.transaction()?;
        for l in &batch {
            project(&tx, self.dir.as_ref(), &self.actors, &l.place.record)?;
        }
        tx.commit()?;
        Ok(())
    }
}
