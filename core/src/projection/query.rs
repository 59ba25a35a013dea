//! The hazard list query: scope by role, the ledger's filters and orders, pages, and a
//! row-at-a-time reader for exports.

use super::{HazardQuery, HazardRow, SORTS, placeholders, split_list};
use crate::clock::{format_date, ms_to_rfc3339, today};
use crate::directory::Directory;
use crate::error::{Error, Result};
use crate::ids::check_id;
use crate::policy::{self, HazardScope};
use rusqlite::Connection;

/// The SQL condition (over `hazards_idx`) for the hazards `user_id` is responsible for: an
/// inspector's grids, a reviewer's department, everything for the town office; administrators
/// see none.
pub fn hazard_scope(dir: &Directory, user_id: &str) -> Result<(String, Vec<String>)> {
    let scope = scope_of(dir, user_id)?;
    Ok(match scope {
        HazardScope::Grids(grids) => (
            format!("grid_id IN ({})", placeholders(grids.len())),
            grids.to_vec(),
        ),
        HazardScope::Department(dept) => (
            "id IN (SELECT hazard_id FROM hazard_depts WHERE dept = ?)".into(),
            vec![dept.to_owned()],
        ),
        HazardScope::All => ("1 = 1".into(), vec![]),
    })
}

/// The hazards `user_id` answers for, by the policy's rule; unknown users and administrators none.
fn scope_of<'d>(dir: &'d Directory, user_id: &str) -> Result<HazardScope<'d>> {
    let user = dir
        .user(user_id)
        .ok_or_else(|| Error::Forbidden(format!("unknown user {user_id:?}")))?;
    policy::hazard_scope(user).map_err(|r| Error::Forbidden(r.en))
}

/// `user`'s venues as a condition on a table with a `grid_id` column (venues, inspections), with
/// its parameters: an inspector's grids (none when they have none); everyone else the town's.
pub fn venue_scope(user: &crate::directory::User) -> (String, Vec<String>) {
    match policy::venue_list_grids(user) {
        Some([]) => ("0 = 1".into(), vec![]),
        Some(g) => (
            format!("grid_id IN ({})", placeholders(g.len())),
            g.to_vec(),
        ),
        None => ("1 = 1".into(), vec![]),
    }
}

/// [`hazard_scope`] as a check on one row whose hazard id is the column `id_col`: a lookup per
/// row, quick where few rows are asked about (the last months' hazards, pending reports), where
/// [`hazard_scope`] has SQLite build the list of every hazard in scope first.
pub fn hazard_scope_of(
    dir: &Directory,
    user_id: &str,
    id_col: &str,
) -> Result<(String, Vec<String>)> {
    let scope = scope_of(dir, user_id)?;
    Ok(match scope {
        HazardScope::Grids(grids) => (
            format!(
                "EXISTS (SELECT 1 FROM hazards_idx x WHERE x.id = {id_col} AND x.grid_id IN ({}))",
                placeholders(grids.len())
            ),
            grids.to_vec(),
        ),
        HazardScope::Department(dept) => (
            format!(
                "EXISTS (SELECT 1 FROM hazard_depts x WHERE x.hazard_id = {id_col} AND x.dept = ?)"
            ),
            vec![dept.to_owned()],
        ),
        HazardScope::All => ("1 = 1".into(), vec![]),
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
        ("assignee", &q.assignee),
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
    if let Some(ids) = &q.ids {
        // One parameter whatever the list's length (SQLite caps bound parameters).
        clauses.push("id IN (SELECT value FROM json_each(?))".into());
        args.push(serde_json::to_string(ids).map_err(|e| Error::invalid(e.to_string()))?);
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
        None | Some("") => SORTS[0].1,
        Some(s) => SORTS
            .iter()
            .find(|(k, _)| *k == s)
            .map(|(_, o)| *o)
            .ok_or_else(|| {
                Error::invalid(format!(
                    "sort: unknown order {s:?} (one of {})",
                    SORTS.map(|(k, _)| k).join(", ")
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
                lead_depts, source, fix_mode, focus, combined_group, found_ms, recurrence_of, assignee FROM hazards_idx{filter}
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
            assignee: r.get(21)?,
        })
    })?;
    for row in rows {
        f(row?)?;
    }
    Ok(total as u64)
}
