//! Projections: the list tables (venues, inspections, hazards) derived from the records. The
//! phone's store and the relay fill the same tables with these functions, so a hazard's state,
//! deadline and departments are derived by one piece of code wherever they are read. The tables'
//! DDL is [`DDL`] (the phone's first migration holds the same tables).

use std::collections::HashMap;

use rusqlite::{Connection, params};

use crate::clock::{format_date, ms_to_date, now_ms};
use crate::directory::{Directory, DirectoryRoster};
use crate::error::Result;
use crate::lifecycle::{HazardStatus, fold};
use crate::records::{HazardHeader, Inspection, StoredEvent, Venue};

/// The projection tables, for a database that does not have them yet (the relay's).
pub const DDL: &str = include_str!("../sql/projections.sql");

/// A hazard's derived state: the lifecycle fold over its events, with authorship from the actor
/// map (actor hex → user id) and roles and scopes from the directory.
pub fn fold_with(dir: Option<&Directory>, actors: &HashMap<String, String>, h: &HazardHeader, evs: &[StoredEvent]) -> HazardStatus {
    let empty = Directory::default();
    let roster = DirectoryRoster { directory: dir.unwrap_or(&empty), actors };
    fold(h, evs, &roster)
}

pub fn index_venue(tx: &Connection, v: &Venue) -> Result<()> {
    tx.execute(
        "INSERT INTO venues_idx (id, name, address, village, grid_id, venue_types, archived) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, address = excluded.address, village = excluded.village,
           grid_id = excluded.grid_id, venue_types = excluded.venue_types, archived = excluded.archived",
        params![v.id, v.name, v.address, v.village, v.grid_id, v.profile.venue_type.join(","), v.archived],
    )?;
    Ok(())
}

pub fn index_inspection(tx: &Connection, i: &Inspection) -> Result<()> {
    let h = &i.header;
    let (finished, failed, hazards) = match &i.finish {
        Some(f) => (true, f.results.values().filter(|o| *o == "fail").count() as i64, f.hazard_ids.len() as i64),
        None => (false, 0, 0),
    };
    tx.execute(
        "INSERT OR REPLACE INTO inspections_idx (id, venue_id, venue_name, template_id, template_version, inspector, grid_id, started_ms, day, finished, failed, hazards)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        params![h.id, h.venue_id, h.venue_name, h.template_id, h.template_version, h.inspector, h.grid_id, h.started_ms, format_date(ms_to_date(h.started_ms)), finished, failed, hazards],
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
    tx.execute(
        "INSERT OR REPLACE INTO hazards_idx (id, venue_id, venue_name, village, grid_id, inspection_id, item_id, domain, title_zh, title_en, severity, confirmation,
           state, is_open, awaiting, due_date, lead_depts, source, fix_mode, focus, combined_group, found_ms, closed_at, recurrence_of, refused_events, updated_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26)",
        params![
            h.id,
            h.venue_id,
            h.venue_name,
            h.village,
            h.grid_id,
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
            now_ms()
        ],
    )?;
    tx.execute("DELETE FROM hazard_depts WHERE hazard_id = ?1", params![h.id])?;
    for d in &h.lead_depts {
        tx.execute("INSERT OR IGNORE INTO hazard_depts (dept, hazard_id) VALUES (?1, ?2)", params![d, h.id])?;
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
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))).unwrap();
        // Compare the statements without their layout.
        rows.map(|r| r.map(|(n, s)| (n, s.split_whitespace().collect::<Vec<_>>().join(" ")))).collect::<rusqlite::Result<_>>().unwrap()
    }

    #[test]
    fn the_shared_ddl_is_the_phones_tables() {
        let dir = tempfile::tempdir().unwrap();
        let phone = crate::Store::create(dir.path().join("p.sqlite")).unwrap();
        let other = Connection::open_in_memory().unwrap();
        other.execute_batch(DDL).unwrap();
        let (a, b) = (schema(phone.raw()), schema(&other));
        assert_eq!(a.len(), 10, "{a:?}");
        assert_eq!(a, b);
    }
}
