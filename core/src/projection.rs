//! Projections: the list tables (venues, inspections, hazards) derived from the records. The
//! phone's store and the relay fill the same tables with these functions, so a hazard's state,
//! deadline and departments are derived by one piece of code wherever they are read. The tables'
//! DDL is [`DDL`] (the phone's first migration holds the same tables).

use std::collections::HashMap;

use rusqlite::{Connection, params};

use crate::clock::{format_date, ms_to_date, ms_to_rfc3339, now_ms, today};
use crate::directory::{Directory, DirectoryRoster, Role};
use crate::error::{Error, Result};
use crate::lifecycle::{HazardStatus, fold};
use crate::records::{HazardHeader, Inspection, StoredEvent, Venue};
use crate::store::{HazardQuery, HazardRow, check_id, placeholders, split_list};

/// The projection tables, for a database that does not have them yet (the relay's).
pub const DDL: &str = include_str!("../sql/projections.sql");
/// The public-report task table (phone migration 4, relay migration 10).
pub const TASKS_DDL: &str = include_str!("../sql/tasks.sql");

/// A hazard's derived state: the lifecycle fold over its events, with authorship from the actor
/// map (actor hex → user id) and roles and scopes from the directory.
pub fn fold_with(
    dir: Option<&Directory>,
    actors: &HashMap<String, String>,
    h: &HazardHeader,
    evs: &[StoredEvent],
) -> HazardStatus {
    let empty = Directory::default();
    let roster = DirectoryRoster {
        directory: dir.unwrap_or(&empty),
        actors,
    };
    fold(h, evs, &roster)
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
) -> Result<HazardStatus> {
    let actor = doc.get_actor().to_hex_string();
    events.push(StoredEvent {
        record: ev.clone(),
        actor,
        tampered: false,
    });
    let status = fold_with(dir, actors, header, events);
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

pub fn index_venue(tx: &Connection, v: &Venue) -> Result<()> {
    tx.execute(
        "INSERT INTO venues_idx (id, name, address, village, grid_id, venue_types, archived) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, address = excluded.address, village = excluded.village,
           grid_id = excluded.grid_id, venue_types = excluded.venue_types, archived = excluded.archived",
        params![v.id, v.name, v.address, v.village, v.grid_id, v.profile.venue_type.join(","), v.archived],
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
pub fn task_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<crate::store::TaskRow> {
    Ok(crate::store::TaskRow {
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

/// The SQL condition (over `hazards_idx`) for the hazards `user_id` is responsible for: an
/// inspector's grids, a reviewer's department, everything for the town office; administrators
/// see none.
pub fn hazard_scope(dir: &Directory, user_id: &str) -> Result<(String, Vec<String>)> {
    let user = dir
        .user(user_id)
        .ok_or_else(|| Error::Forbidden(format!("unknown user {user_id:?}")))?;
    Ok(match user.role {
        Role::Inspector => (
            format!("grid_id IN ({})", placeholders(user.grids.len())),
            user.grids.clone(),
        ),
        Role::Reviewer => (
            "id IN (SELECT hazard_id FROM hazard_depts WHERE dept = ?)".into(),
            vec![user.department.clone().unwrap_or_default()],
        ),
        Role::TownOffice => ("1 = 1".into(), vec![]),
        Role::Admin => return Err(Error::Forbidden("administrators do not see hazards".into())),
    })
}

/// Hazards from the projection, in the user's scope when `q.scope_user` is set, soonest deadline
/// first; with the number of rows matching before `limit`/`offset` (for the ledger's pages). The
/// phone's lists and the office ledger run this same query.
pub fn list_hazards(
    conn: &Connection,
    dir: &Directory,
    q: &HazardQuery,
) -> Result<(Vec<HazardRow>, u64)> {
    let mut rows = Vec::new();
    let total = for_each_hazard(conn, dir, q, &mut |r| {
        rows.push(r);
        Ok(())
    })?;
    Ok((rows, total))
}

/// [`list_hazards`] one row at a time, so an export of 100,000 rows never holds them all.
pub fn for_each_hazard(
    conn: &Connection,
    dir: &Directory,
    q: &HazardQuery,
    f: &mut dyn FnMut(HazardRow) -> Result<()>,
) -> Result<u64> {
    let mut clauses: Vec<String> = Vec::new();
    let mut args: Vec<String> = Vec::new();
    if let Some(u) = &q.scope_user {
        let (clause, a) = hazard_scope(dir, u)?;
        clauses.push(clause);
        args.extend(a);
    }
    if let Some(v) = &q.venue_id {
        check_id("venue", v)?;
        clauses.push("venue_id = ?".into());
        args.push(v.clone());
    }
    for (col, v) in [
        ("village", &q.village),
        ("grid_id", &q.grid),
        ("domain", &q.domain),
        ("state", &q.state),
        ("severity", &q.severity),
        ("source", &q.source),
    ] {
        if let Some(v) = v {
            clauses.push(format!("{col} = ?"));
            args.push(v.clone());
        }
    }
    if let Some(d) = &q.dept {
        clauses.push("id IN (SELECT hazard_id FROM hazard_depts WHERE dept = ?)".into());
        args.push(d.clone());
    }
    if q.open_only {
        clauses.push("is_open = 1".into());
    }
    for (bound, op, v) in [
        ("found_from", ">=", &q.found_from),
        ("found_to", "<", &q.found_to),
    ] {
        if let Some(v) = v {
            let d = crate::clock::parse_date(v).map_err(|_| {
                Error::invalid(format!("{bound}: {v:?} is not a date (YYYY-MM-DD)"))
            })?;
            // found_to includes its day: compare with the start of the next one.
            let d = if op == "<" {
                d.next_day().unwrap_or(d)
            } else {
                d
            };
            clauses.push(format!("found_ms {op} ?"));
            args.push(crate::clock::start_of_day_ms(d).to_string());
        }
    }
    let order = match q.sort.as_deref() {
        None | Some("") => crate::store::SORTS[0].1,
        Some(s) => crate::store::SORTS
            .iter()
            .find(|(k, _)| *k == s)
            .map(|(_, o)| *o)
            .ok_or_else(|| {
                Error::invalid(format!(
                    "sort: unknown order {s:?} (one of {})",
                    crate::store::SORTS.map(|(k, _)| k).join(", ")
                ))
            })?,
    };
    let today_s = format_date(today());
    if q.overdue_only {
        clauses.push("awaiting = 1 AND due_date < ?".into());
        args.push(today_s.clone());
    }
    let filter = if clauses.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", clauses.join(" AND "))
    };
    let total: i64 = conn.query_row(
        &format!("SELECT count(*) FROM hazards_idx{filter}"),
        rusqlite::params_from_iter(args.iter()),
        |r| r.get(0),
    )?;
    let mut sql = format!(
        "SELECT id, venue_id, venue_name, village, grid_id, item_id, domain, title_zh, title_en, severity, confirmation, state, due_date, awaiting,
                lead_depts, source, fix_mode, focus, combined_group, found_ms, recurrence_of FROM hazards_idx{filter}
         ORDER BY {order}"
    );
    if q.limit.is_some() || q.offset.is_some() {
        sql.push_str(&format!(
            " LIMIT {} OFFSET {}",
            q.limit.map_or(-1, i64::from),
            q.offset.unwrap_or(0)
        ));
    }
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(args.iter()), |r| {
        let due: Option<String> = r.get(12)?;
        let awaiting: bool = r.get(13)?;
        let depts: String = r.get(14)?;
        Ok(HazardRow {
            id: r.get(0)?,
            venue_id: r.get(1)?,
            venue_name: r.get(2)?,
            village: r.get(3)?,
            grid_id: r.get(4)?,
            item_id: r.get(5)?,
            domain: r.get(6)?,
            title_zh: r.get(7)?,
            title_en: r.get(8)?,
            severity: r.get(9)?,
            confirmation: r.get(10)?,
            state: r.get(11)?,
            overdue: awaiting && due.as_deref().is_some_and(|d| d < today_s.as_str()),
            due_date: due,
            lead_depts: split_list(&depts),
            source: r.get(15)?,
            fix_mode: r.get(16)?,
            focus: r.get(17)?,
            combined_group: r.get(18)?,
            found_at: ms_to_rfc3339(r.get(19)?),
            recurrence_of: r.get(20)?,
        })
    })?;
    for row in rows {
        f(row?)?;
    }
    Ok(total as u64)
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
        let (a, b) = (schema(phone.raw()), schema(&other));
        assert_eq!(a.len(), 10, "{a:?}");
        assert_eq!(a, b);
    }
}
