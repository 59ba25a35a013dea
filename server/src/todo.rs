//! A reviewer's to-do list (待办): what waits for them in their department's scope (the whole
//! town for the town office) — rectification claims and owners' photos to review, major
//! candidates to confirm, deadlines this week, overdue hazards. SQL over the projections and the
//! owner reports on a read-only connection; what may be done with each is the hazard page's
//! (core's rules).

use gridsafe_core::clock::format_date;
use gridsafe_core::directory::{Directory, User};
use gridsafe_core::projection::hazard_scope;
use rusqlite::types::Value as V;
use rusqlite::{Connection, params_from_iter};
use serde::Serialize;
use time::Date;

use crate::error::Result;

/// Rows shown per list; the count says how many there are in all.
pub const ROWS: usize = 50;

/// One hazard waiting.
#[derive(Clone, Debug, Serialize)]
pub struct TodoRow {
    pub id: String,
    pub title_zh: String,
    pub title_en: String,
    pub venue_name: String,
    pub village: String,
    pub state: String,
    pub due_date: Option<String>,
    /// For owners' photos: when it came.
    pub received_ms: Option<i64>,
}

/// One list of the to-do page: how many in all and the first [`ROWS`].
#[derive(Clone, Debug, Default, Serialize)]
pub struct TodoList {
    pub count: i64,
    pub rows: Vec<TodoRow>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Todo {
    /// Rectification claimed (待审核销号): the photo to check, then close or reject.
    pub claims: TodoList,
    /// An owner's after photo sent from the notice's link, not yet accepted or returned.
    pub owner_photos: TodoList,
    /// 重大隐患(待认定): to confirm or downgrade.
    pub majors_to_confirm: TodoList,
    /// Deadline today or in the next six days, still awaiting rectification.
    pub due_this_week: TodoList,
    pub overdue: TodoList,
}

impl Todo {
    /// Everything waiting (the menu's count).
    pub fn total(&self) -> i64 {
        self.claims.count
            + self.owner_photos.count
            + self.majors_to_confirm.count
            + self.due_this_week.count
            + self.overdue.count
    }
}

const COLUMNS: &str = "h.id, h.title_zh, h.title_en, h.venue_name, h.village, h.state, h.due_date";

fn list(
    conn: &Connection,
    from_where: &str,
    order: &str,
    args: &[V],
    received: bool,
) -> Result<TodoList> {
    let count: i64 = conn.query_row(
        &format!("SELECT count(*) {from_where}"),
        params_from_iter(args.iter()),
        |r| r.get(0),
    )?;
    let extra = if received { ", o.received_ms" } else { "" };
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS}{extra} {from_where} ORDER BY {order} LIMIT {ROWS}"
    ))?;
    let rows = stmt
        .query_map(params_from_iter(args.iter()), |r| {
            Ok(TodoRow {
                id: r.get(0)?,
                title_zh: r.get(1)?,
                title_en: r.get(2)?,
                venue_name: r.get(3)?,
                village: r.get(4)?,
                state: r.get(5)?,
                due_date: r.get(6)?,
                received_ms: if received { r.get(7)? } else { None },
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(TodoList { count, rows })
}

/// `user`'s to-do list on `today`.
pub fn todo(conn: &Connection, dir: &Directory, user: &User, today: Date) -> Result<Todo> {
    let (scope, scope_args) = hazard_scope(dir, &user.id)?;
    let with = |first: &[&str]| -> Vec<V> {
        first
            .iter()
            .map(|s| V::from((*s).to_owned()))
            .chain(scope_args.iter().cloned().map(V::from))
            .collect()
    };
    // The numbered parameters come before the scope's, so its `?` count after them. The scope's
    // columns are the hazard table's, read here on the one table (no sub-query to build).
    let scoped = |cond: &str| format!("FROM hazards_idx h WHERE {cond} AND {scope}");
    let (t, week_end) = (
        format_date(today),
        format_date(today + time::Duration::days(6)),
    );
    // The four counts in one pass over the scope, with nothing but integers leaving SQLite; then
    // each list's first rows in its order (the overdue and due lists walk the deadline index
    // and stop after ROWS). Reading every overdue hazard to count them cost the town office
    // 166 ms at 100,000 hazards.
    let counts: [i64; 4] = conn.query_row(
        &format!(
            "SELECT coalesce(sum(h.state = 'rectified_claimed'), 0),
                    coalesce(sum(h.severity = 'major_candidate' AND h.is_open = 1), 0),
                    coalesce(sum(h.awaiting = 1 AND h.due_date >= ?1 AND h.due_date <= ?2), 0),
                    coalesce(sum(h.awaiting = 1 AND h.due_date < ?1), 0)
             {}",
            scoped("(h.state = 'rectified_claimed' OR h.severity = 'major_candidate' OR h.awaiting = 1)")
        ),
        params_from_iter(with(&[&t, &week_end]).iter()),
        |r| Ok([r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?]),
    )?;
    let first = |cond: &str, order: &str, args: &[&str], count: i64| -> Result<TodoList> {
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLUMNS} {} ORDER BY {order} LIMIT {ROWS}",
            scoped(cond)
        ))?;
        let rows = stmt
            .query_map(params_from_iter(with(args).iter()), |r| {
                Ok(TodoRow {
                    id: r.get(0)?,
                    title_zh: r.get(1)?,
                    title_en: r.get(2)?,
                    venue_name: r.get(3)?,
                    village: r.get(4)?,
                    state: r.get(5)?,
                    due_date: r.get(6)?,
                    received_ms: None,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(TodoList { count, rows })
    };
    Ok(Todo {
        claims: first(
            "h.state = 'rectified_claimed'",
            "h.updated_ms, h.id",
            &[],
            counts[0],
        )?,
        owner_photos: list(
            conn,
            &format!(
                "FROM owner_reports o JOIN hazards_idx h ON h.id = o.hazard_id
                 WHERE o.status = 'pending' AND h.is_open = 1
                 AND h.id IN (SELECT id FROM hazards_idx WHERE {scope})"
            ),
            "o.received_ms, o.id",
            &with(&[]),
            true,
        )?,
        majors_to_confirm: first(
            "h.severity = 'major_candidate' AND h.is_open = 1",
            "h.found_ms, h.id",
            &[],
            counts[1],
        )?,
        due_this_week: first(
            "h.awaiting = 1 AND h.due_date >= ?1 AND h.due_date <= ?2",
            "h.due_date, h.id",
            &[&t, &week_end],
            counts[2],
        )?,
        overdue: first(
            "h.awaiting = 1 AND h.due_date < ?1",
            "h.due_date, h.id",
            &[&t],
            counts[3],
        )?,
    })
}
