//! A reviewer's to-do list (待办): what waits for them in their department's scope (the whole
//! town for the town office) — rectification claims and owners' photos to review, major
//! candidates to confirm, deadlines this week, overdue hazards. SQL over the projections and the
//! owner reports on a read-only connection; what may be done with each is the hazard page's
//! (core's rules).

use gridsafe_core::clock::format_date;
use gridsafe_core::directory::{Directory, User};
use gridsafe_core::projection::{hazard_scope, hazard_scope_of};
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
    /// Open hazards whose handler (指派承办人) is this user, soonest deadline first. They are in
    /// the lists below too, so the menu's count leaves them out.
    pub assigned: TodoList,
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

/// A row read as [`COLUMNS`] (no time received).
fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TodoRow> {
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
}

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
                received_ms: if received { r.get(7)? } else { None },
                ..row(r)?
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
    let (per_row, per_row_args) = hazard_scope_of(dir, &user.id, "h.id")?;
    let per_row_args: Vec<V> = per_row_args.into_iter().map(V::from).collect();
    // The numbered parameters come before the scope's, so its `?` count after them.
    let (t, week_end) = (
        format_date(today),
        format_date(today + time::Duration::days(6)),
    );
    // A department's hazards are found through `hazard_depts` (a sub-query of some 40,000 ids
    // at town scale): read once in one statement for all four lists. Grids and the whole town
    // are on the hazard table's own indexes: a count and the first ROWS rows per list, each
    // walking an index, is quicker there. (At 100,000 hazards the first version — every
    // matching row into Rust — took the town office 166 ms; one statement for everyone, 199 ms
    // for the office; four queries per list, 420 ms for a department.)
    let by_department = matches!(
        gridsafe_core::policy::hazard_scope(user),
        Ok(gridsafe_core::policy::HazardScope::Department(_))
    );
    let [claims, majors_to_confirm, due_this_week, overdue] = if by_department {
        one_pass(conn, &scope, &with(&[&t, &week_end]))?
    } else {
        let each = |cond: &str, order: &str, first: &[&str]| {
            list(
                conn,
                &format!("FROM hazards_idx h WHERE {cond} AND {scope}"),
                order,
                &with(first),
                false,
            )
        };
        [
            each(LISTS[0].0, LISTS[0].1, &[])?,
            each(LISTS[1].0, LISTS[1].1, &[])?,
            each(LISTS[2].0, LISTS[2].1, &[&t, &week_end])?,
            each(LISTS[3].0, LISTS[3].1, &[&t])?,
        ]
    };
    Ok(Todo {
        assigned: list(
            conn,
            "FROM hazards_idx h WHERE h.assignee = ?1 AND h.is_open = 1",
            "h.due_date IS NULL, h.due_date, h.id",
            &[V::from(user.id.clone())],
            false,
        )?,
        claims,
        owner_photos: list(
            conn,
            &format!(
                "FROM owner_reports o JOIN hazards_idx h ON h.id = o.hazard_id
                 WHERE o.status = 'pending' AND h.is_open = 1{}",
                // The scope asked of each pending report's hazard (a handful), never as a list
                // of every hazard in scope.
                if scope == "1 = 1" {
                    String::new()
                } else {
                    format!(" AND {per_row}")
                }
            ),
            "o.received_ms, o.id",
            &per_row_args,
            true,
        )?,
        majors_to_confirm,
        due_this_week,
        overdue,
    })
}

/// The four hazard lists (condition, order): claims, majors to confirm, due this week (`?1`
/// today, `?2` six days on), overdue.
const LISTS: [(&str, &str); 4] = [
    ("h.state = 'rectified_claimed'", "h.updated_ms, h.id"),
    (
        "h.severity = 'major_candidate' AND h.is_open = 1",
        "h.found_ms, h.id",
    ),
    (
        "h.awaiting = 1 AND h.due_date >= ?1 AND h.due_date <= ?2",
        "h.due_date, h.id",
    ),
    ("h.awaiting = 1 AND h.due_date < ?1", "h.due_date, h.id"),
];

/// The four lists from one pass over the scope: each row in the pass is put in its lists as it
/// streams by (ids and sort keys only), each list keeps its count and its first [`ROWS`] ids in
/// its own order, and only those are read back for their text. A window over the pass sorted
/// every waiting hazard of the department first (13,000 of 100,000; docs/benchmarks.md).
/// `args`: today, six days on, then the scope's.
fn one_pass(conn: &Connection, scope: &str, args: &[V]) -> Result<[TodoList; 4]> {
    let (today, week_end) = match args {
        [V::Text(t), V::Text(w), ..] => (t.as_str(), w.as_str()),
        _ => return Err(crate::error::RelayError::Storage("to-do: no dates".into())),
    };
    let mut stmt = conn.prepare(&format!(
        "SELECT h.id, h.state = 'rectified_claimed', h.severity = 'major_candidate' AND h.is_open = 1,
                h.awaiting = 1, h.due_date, h.updated_ms, h.found_ms
         FROM hazards_idx h
         WHERE (h.state = 'rectified_claimed'
                OR (h.severity = 'major_candidate' AND h.is_open = 1)
                OR (h.awaiting = 1 AND h.due_date <= ?2)) AND {scope}"
    ))?;
    // Each list's order as LISTS gives it: claims by update, majors by when found, deadlines by
    // date; the id breaks ties.
    type Key = (Option<String>, i64, String);
    let mut keys: [Vec<Key>; 4] = Default::default();
    let mut rows = stmt.query(params_from_iter(args.iter()))?;
    while let Some(r) = rows.next()? {
        let id: String = r.get(0)?;
        let (claim, major, awaiting): (bool, bool, bool) = (r.get(1)?, r.get(2)?, r.get(3)?);
        let due: Option<String> = r.get(4)?;
        if claim {
            keys[0].push((None, r.get(5)?, id.clone()));
        }
        if major {
            keys[1].push((None, r.get(6)?, id.clone()));
        }
        if let Some(d) = due.filter(|_| awaiting) {
            let list = if d.as_str() < today {
                3
            } else if d.as_str() <= week_end {
                2
            } else {
                continue;
            };
            keys[list].push((Some(d), 0, id));
        }
    }
    drop(rows);
    let mut text = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM hazards_idx h WHERE h.id = ?1"
    ))?;
    let mut lists: [TodoList; 4] = Default::default();
    for (list, mut k) in lists.iter_mut().zip(keys) {
        list.count = k.len() as i64;
        if k.len() > ROWS {
            k.select_nth_unstable(ROWS);
            k.truncate(ROWS);
        }
        k.sort_unstable();
        for (_, _, id) in k {
            list.rows.push(text.query_row([&id], row)?);
        }
    }
    Ok(lists)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::RelayStore;
    use rusqlite::params;

    /// A department's to-do comes from one pass sorted in Rust; it must list exactly what each
    /// list's own query (the town office's way) lists in the department's scope, in the same
    /// order, with the same counts, also past the first [`ROWS`].
    #[test]
    fn a_departments_lists_match_each_lists_own_query() {
        let data = tempfile::tempdir().unwrap();
        RelayStore::open(data.path())
            .unwrap()
            .import_directory(crate::demo::DIRECTORY)
            .unwrap();
        let dir = Directory::from_json(crate::demo::DIRECTORY).unwrap();
        let conn = Connection::open(data.path().join("relay.sqlite")).unwrap();
        let today = time::macros::date!(2026 - 12 - 07);
        let states = ["registered", "notified", "rectified_claimed", "closed"];
        let severities = ["general", "major_candidate", "major"];
        for n in 0..400_i64 {
            let id = format!("h{n:03}");
            let state = states[(n % 4) as usize];
            let severity = severities[(n % 7 % 3) as usize];
            // Deadlines from three weeks ago to three weeks on; some none; ties on purpose.
            let due = (n % 9 != 0).then(|| format_date(today + time::Duration::days(n % 43 - 21)));
            let open = state != "closed";
            conn.execute(
                "INSERT INTO hazards_idx (id, venue_id, venue_name, village, grid_id, item_id,
                     domain, title_zh, title_en, severity, confirmation, state, is_open, awaiting,
                     due_date, lead_depts, source, fix_mode, focus, found_ms, refused_events,
                     updated_ms)
                 VALUES (?1, 'v', '场所', 'heping', 'heping-1', 'gas.item', 'gas', '隐患', 'hazard',
                     ?2, 'not_required', ?3, ?4, ?5, ?6, ?7, 'inspection', 'deadline', 0, ?8, 0, ?9)",
                params![
                    id,
                    severity,
                    state,
                    open,
                    matches!(state, "registered" | "notified"),
                    due,
                    if n % 5 == 0 { "cyzx" } else { "gjb" },
                    1_000 + n % 13,
                    2_000 + n % 17
                ],
            )
            .unwrap();
            let dept = if n % 5 == 0 { "cyzx" } else { "gjb" };
            conn.execute(
                "INSERT INTO hazard_depts (dept, hazard_id) VALUES (?1, ?2)",
                params![dept, id],
            )
            .unwrap();
        }
        let reviewer = dir.user("zheng").unwrap().clone();
        let got = todo(&conn, &dir, &reviewer, today).unwrap();
        let (scope, scope_args) = gridsafe_core::projection::hazard_scope(&dir, "zheng").unwrap();
        let (t, week_end) = (
            format_date(today),
            format_date(today + time::Duration::days(6)),
        );
        let firsts: [&[&str]; 4] = [&[], &[], &[&t, &week_end], &[&t]];
        let lists = [
            &got.claims,
            &got.majors_to_confirm,
            &got.due_this_week,
            &got.overdue,
        ];
        for (((cond, order), first), got) in LISTS.iter().zip(firsts).zip(lists) {
            let args: Vec<V> = first
                .iter()
                .map(|s| V::from((*s).to_owned()))
                .chain(scope_args.iter().cloned().map(V::from))
                .collect();
            let want = list(
                &conn,
                &format!("FROM hazards_idx h WHERE {cond} AND {scope}"),
                order,
                &args,
                false,
            )
            .unwrap();
            assert!(want.count > 0, "{cond}: the fixture has rows for it");
            assert_eq!(got.count, want.count, "{cond}");
            let ids = |l: &TodoList| l.rows.iter().map(|r| r.id.clone()).collect::<Vec<_>>();
            assert_eq!(ids(got), ids(&want), "{cond}");
        }
        assert!(
            got.overdue.count > ROWS as i64,
            "the overdue list runs past one page"
        );
    }
}
