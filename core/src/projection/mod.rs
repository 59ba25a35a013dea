//! Projections: the list tables (venues, inspections, hazards) derived from the records. The
//! phone's store and the relay fill the same tables with these functions, so a hazard's state,
//! deadline and departments are derived by one piece of code wherever they are read. The tables'
//! DDL is [`DDL`] (the phone's first migration holds the same tables).

mod query;

pub use query::{for_each_hazard, hazard_scope, hazard_scope_of, list_hazards, venue_scope};

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use rusqlite::{Connection, OptionalExtension, params};

use crate::clock::{format_date, ms_to_date, now_ms};
use crate::directory::{Directory, DirectoryRoster};
use crate::error::{Error, Result};
use crate::lifecycle::{HazardStatus, fold};
use crate::records::{HazardHeader, Inspection, StoredEvent, Venue};

/// The projection tables, for a database that does not have them yet (the relay's).
pub const DDL: &str = include_str!("../../sql/projections.sql");
/// The public-report task table (phone migration 4, relay migration 10).
pub const TASKS_DDL: &str = include_str!("../../sql/tasks.sql");
/// The hazard's handler (指派承办人) added to [`DDL`]'s hazard table: the phone's schema 9 and the
/// relay's 21 run this same statement.
pub const ASSIGNEE_DDL: &str = include_str!("../../sql/009_assignee.sql");

/// A hazard as listed (from the projection).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HazardRow {
    pub id: String,
    pub venue_id: String,
    pub venue_name: String,
    pub village: String,
    pub grid_id: String,
    pub item_id: String,
    pub domain: String,
    pub title_zh: String,
    pub title_en: String,
    pub severity: String,
    pub confirmation: String,
    pub state: String,
    pub due_date: Option<String>,
    pub overdue: bool,
    pub lead_depts: Vec<String>,
    pub source: String,
    pub fix_mode: String,
    pub focus: bool,
    pub combined_group: Option<String>,
    pub found_at: String,
    pub recurrence_of: Option<String>,
    /// Who in a lead department handles it (a user id), once assigned.
    #[serde(default)]
    pub assignee: Option<String>,
}

/// A public report to verify, as listed (from the projection).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskRow {
    pub id: String,
    pub ticket_no: String,
    pub channel: String,
    pub received_at: String,
    pub address: String,
    pub description: String,
    pub category: String,
    pub village: String,
    pub grid_id: String,
    /// to_verify / substantiated / not_substantiated
    pub status: String,
    pub reason: Option<String>,
    pub hazard_id: Option<String>,
}

/// Which hazards to list.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HazardQuery {
    /// Restrict to what the user is responsible for (grids, department).
    pub scope_user: Option<String>,
    pub venue_id: Option<String>,
    pub open_only: bool,
    pub overdue_only: bool,
    pub limit: Option<u32>,
    /// Rows to skip (pages of the office ledger).
    #[serde(default)]
    pub offset: Option<u32>,
    /// Exact-match filters of the office ledger (village code, domain, state, severity, lead
    /// department, source).
    #[serde(default)]
    pub village: Option<String>,
    #[serde(default)]
    pub domain: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub severity: Option<String>,
    #[serde(default)]
    pub dept: Option<String>,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub grid: Option<String>,
    /// Found on or after / on or before these Shanghai dates (`YYYY-MM-DD`).
    #[serde(default)]
    pub found_from: Option<String>,
    #[serde(default)]
    pub found_to: Option<String>,
    /// Order of the rows: [`SORTS`]; soonest deadline first when absent.
    #[serde(default)]
    pub sort: Option<String>,
    /// Only these hazards: a list kept outside the projection (the relay's owners' photos
    /// awaiting review), narrowed further by the other filters.
    #[serde(default)]
    pub ids: Option<Vec<String>>,
    /// Only the hazards assigned to this user (指派承办人).
    #[serde(default)]
    pub assignee: Option<String>,
}

/// The orders a hazard list can be sorted in, and their SQL.
pub const SORTS: [(&str, &str); 6] = [
    ("due", "due_date IS NULL, due_date, found_ms, id"),
    ("found_desc", "found_ms DESC, id"),
    ("found", "found_ms, id"),
    ("village", "village, due_date IS NULL, due_date, id"),
    (
        "severity",
        "severity = 'general', severity, due_date IS NULL, due_date, id",
    ),
    ("updated", "updated_ms DESC, id"),
];

/// Splits a comma-separated column (heads, venue types, departments), skipping empty parts.
pub fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect()
}

pub fn placeholders(n: usize) -> String {
    if n == 0 {
        "NULL".into()
    } else {
        vec!["?"; n].join(",")
    }
}

pub fn hazard_row(h: &HazardHeader, s: &HazardStatus, today: time::Date) -> HazardRow {
    HazardRow {
        id: h.id.clone(),
        venue_id: h.venue_id.clone(),
        venue_name: h.venue_name.clone(),
        village: h.village.clone(),
        grid_id: h.grid_id.clone(),
        item_id: h.item_id.clone(),
        domain: h.domain.clone(),
        title_zh: h.title_zh.clone(),
        title_en: h.title_en.clone(),
        severity: s.severity.clone(),
        confirmation: serde_json::to_value(s.confirmation)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
        state: s.state.as_str().into(),
        due_date: s.deadline.clone(),
        overdue: s.is_overdue(today),
        lead_depts: h.lead_depts.clone(),
        source: h.source.clone(),
        fix_mode: s.fix_mode.clone(),
        focus: h.focus,
        combined_group: h.combined_group.clone(),
        found_at: h.found_at.clone(),
        recurrence_of: h.recurrence_of.clone(),
        assignee: s.assignee.clone(),
    }
}

/// A hazard's derived state: the lifecycle fold over its events, with authorship from the actor
/// map (actor hex → user id) and roles and scopes from the directory.
pub fn fold_with(
    dir: Option<&Directory>,
    actors: &HashMap<String, String>,
    h: &HazardHeader,
    evs: &[StoredEvent],
    venue_grid: Option<&str>,
) -> HazardStatus {
    let empty = Directory::default();
    let roster = DirectoryRoster {
        directory: dir.unwrap_or(&empty),
        actors,
        venue_grid,
    };
    fold(h, evs, &roster)
}

/// [`fold_with`], with the state after each applied event (the relay's report reads them).
pub fn fold_steps_with(
    dir: Option<&Directory>,
    actors: &HashMap<String, String>,
    h: &HazardHeader,
    evs: &[StoredEvent],
    venue_grid: Option<&str>,
) -> (HazardStatus, Vec<crate::lifecycle::Step>) {
    let empty = Directory::default();
    let roster = DirectoryRoster {
        directory: dir.unwrap_or(&empty),
        actors,
        venue_grid,
    };
    crate::lifecycle::fold_steps(h, evs, &roster)
}

/// Records a lifecycle event on a hazard document, written by the document's current actor, if
/// the rules apply it: the event is folded with the others first, and a refused event is not
/// written at all (the caller gets the rule's reason). Returns the hazard's new status. The phone
/// store and the relay's dashboard actions both go through here.
pub fn record_event(
    doc: &mut automerge::AutoCommit,
    header: &HazardHeader,
    events: &mut Vec<StoredEvent>,
    ev: crate::records::EventRecord,
    dir: Option<&Directory>,
    actors: &HashMap<String, String>,
    venue_grid: Option<&str>,
) -> Result<HazardStatus> {
    let actor = doc.get_actor().to_hex_string();
    events.push(StoredEvent {
        record: ev.clone(),
        actor,
        tampered: false,
    });
    let status = fold_with(dir, actors, header, events, venue_grid);
    let mine = status
        .history
        .iter()
        .find(|h| h.id == ev.id)
        .ok_or_else(|| Error::invalid("event lost in fold"))?;
    if !mine.applied {
        let refusal = mine
            .refusal
            .clone()
            .unwrap_or_else(|| crate::lifecycle::Refusal {
                code: "refused".into(),
                zh: "拒绝".into(),
                en: "refused".into(),
            });
        events.pop();
        return Err(Error::Refused(refusal));
    }
    crate::records::append_event(doc, &header.id, &ev)?;
    Ok(status)
}

/// The grid a venue is in now, as indexed (what a hazard found there is worked on by).
pub fn venue_grid(conn: &Connection, venue_id: &str) -> Result<Option<String>> {
    Ok(conn
        .query_row(
            "SELECT grid_id FROM venues_idx WHERE id = ?1",
            params![venue_id],
            |r| r.get(0),
        )
        .optional()?)
}

pub fn index_venue(tx: &Connection, v: &Venue) -> Result<()> {
    tx.execute(
        "INSERT INTO venues_idx (id, name, address, village, grid_id, venue_types, archived) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, address = excluded.address, village = excluded.village,
           grid_id = excluded.grid_id, venue_types = excluded.venue_types, archived = excluded.archived",
        params![v.id, v.name, v.address, v.village, v.grid_id, v.profile.venue_type.join(","), v.archived],
    )?;
    // A venue's file follows it to another grid: its inspections and hazards are listed there.
    tx.execute(
        "UPDATE hazards_idx SET grid_id = ?2, village = ?3 WHERE venue_id = ?1 AND grid_id != ?2",
        params![v.id, v.grid_id, v.village],
    )?;
    tx.execute(
        "UPDATE inspections_idx SET grid_id = ?2 WHERE venue_id = ?1 AND grid_id != ?2",
        params![v.id, v.grid_id],
    )?;
    Ok(())
}

pub fn index_task(tx: &Connection, t: &crate::records::Task) -> Result<()> {
    let (status, reason, hazard) = match &t.outcome {
        None => ("to_verify", None, None),
        Some(o) if o.substantiated => ("substantiated", None, o.hazard_id.clone()),
        Some(o) => ("not_substantiated", Some(o.reason.clone()), None),
    };
    tx.execute(
        "INSERT OR REPLACE INTO tasks_idx (id, ticket_no, channel, received_at, address, description, category, village, grid_id, status, reason, hazard_id, created_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        params![t.id, t.ticket_no, t.channel, t.received_at, t.address, t.description, t.category, t.village, t.grid_id, status, reason, hazard, now_ms()],
    )?;
    Ok(())
}

/// The columns [`task_row`] reads, in its order.
pub const TASK_COLUMNS: &str = "id, ticket_no, channel, received_at, address, description, category, village, grid_id, status, reason, hazard_id";

/// A `tasks_idx` row selected with [`TASK_COLUMNS`] (the phone's list and the office's intake page).
pub fn task_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TaskRow> {
    Ok(TaskRow {
        id: r.get(0)?,
        ticket_no: r.get(1)?,
        channel: r.get(2)?,
        received_at: r.get(3)?,
        address: r.get(4)?,
        description: r.get(5)?,
        category: r.get(6)?,
        village: r.get(7)?,
        grid_id: r.get(8)?,
        status: r.get(9)?,
        reason: r.get(10)?,
        hazard_id: r.get(11)?,
    })
}

pub fn index_inspection(tx: &Connection, i: &Inspection) -> Result<()> {
    // Listed where its venue is now (see `index_hazard`).
    let grid: String = tx
        .query_row(
            "SELECT grid_id FROM venues_idx WHERE id = ?1",
            params![i.header.venue_id],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or_else(|| i.header.grid_id.clone());
    let h = &i.header;
    let (finished, failed, hazards) = match &i.finish {
        Some(f) => (
            true,
            f.results.values().filter(|o| *o == "fail").count() as i64,
            f.hazard_ids.len() as i64,
        ),
        None => (false, 0, 0),
    };
    tx.execute(
        "INSERT OR REPLACE INTO inspections_idx (id, venue_id, venue_name, template_id, template_version, inspector, grid_id, started_ms, day, finished, failed, hazards)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        params![h.id, h.venue_id, h.venue_name, h.template_id, h.template_version, h.inspector, grid, h.started_ms, format_date(ms_to_date(h.started_ms)), finished, failed, hazards],
    )?;
    if finished {
        tx.execute(
            "UPDATE venues_idx SET last_inspected_ms = max(coalesce(last_inspected_ms, 0), ?2) WHERE id = ?1",
            params![h.venue_id, h.started_ms],
        )?;
    }
    Ok(())
}

pub fn index_hazard(tx: &Connection, h: &HazardHeader, s: &HazardStatus) -> Result<()> {
    let refused = s.history.iter().filter(|e| !e.applied).count();
    // Listed where its venue is now (a venue moved to another grid takes its hazards along); the
    // header keeps where it was found.
    let (village, grid): (String, String) = tx
        .query_row(
            "SELECT village, grid_id FROM venues_idx WHERE id = ?1",
            params![h.venue_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?
        .unwrap_or_else(|| (h.village.clone(), h.grid_id.clone()));
    tx.execute(
        "INSERT OR REPLACE INTO hazards_idx (id, venue_id, venue_name, village, grid_id, inspection_id, item_id, domain, title_zh, title_en, severity, confirmation,
           state, is_open, awaiting, due_date, lead_depts, source, fix_mode, focus, combined_group, found_ms, closed_at, recurrence_of, refused_events, updated_ms, assignee)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27)",
        params![
            h.id,
            h.venue_id,
            h.venue_name,
            village,
            grid,
            h.inspection_id,
            h.item_id,
            h.domain,
            h.title_zh,
            h.title_en,
            s.severity,
            serde_json::to_value(s.confirmation)?.as_str().unwrap_or_default(),
            s.state.as_str(),
            s.state.is_open(),
            s.state.awaits_rectification(),
            s.deadline,
            h.lead_depts.join(","),
            h.source,
            s.fix_mode,
            h.focus,
            h.combined_group,
            h.found_ms,
            s.closed_at,
            h.recurrence_of,
            refused as i64,
            now_ms(),
            s.assignee
        ],
    )?;
    tx.execute(
        "DELETE FROM hazard_depts WHERE hazard_id = ?1",
        params![h.id],
    )?;
    for d in &h.lead_depts {
        tx.execute(
            "INSERT OR IGNORE INTO hazard_depts (dept, hazard_id) VALUES (?1, ?2)",
            params![d, h.id],
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(conn: &Connection) -> Vec<(String, String)> {
        let mut stmt = conn
            .prepare(
                "SELECT name, sql FROM sqlite_master WHERE tbl_name IN ('venues_idx', 'inspections_idx', 'hazards_idx', 'hazard_depts')
                 AND sql IS NOT NULL ORDER BY name",
            )
            .unwrap();
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .unwrap();
        // Compare the statements without their layout.
        rows.map(|r| r.map(|(n, s)| (n, s.split_whitespace().collect::<Vec<_>>().join(" "))))
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    #[test]
    fn the_shared_ddl_is_the_phones_tables() {
        let dir = tempfile::tempdir().unwrap();
        let phone = crate::Store::create(dir.path().join("p.sqlite")).unwrap();
        let other = Connection::open_in_memory().unwrap();
        other.execute_batch(DDL).unwrap();
        other.execute_batch(ASSIGNEE_DDL).unwrap();
        let (a, b) = (schema(phone.raw()), schema(&other));
        assert_eq!(a.len(), 11, "{a:?}");
        assert_eq!(a, b);
    }
}
