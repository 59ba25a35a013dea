//! The overview's charts and the departments' performance (issue #32): found and closed by
//! month, open by domain, village and lead department, and per department how many it closed,
//! how many on time, the average days to close and how many are overdue — in the user's scope.
//! SQL over the projections and the hazards' steps on a read-only connection.

use std::collections::BTreeMap;

use gridsafe_core::clock::{format_date, start_of_day_ms};
use gridsafe_core::directory::{Directory, User};
use gridsafe_core::projection::hazard_scope;
use rusqlite::types::Value as V;
use rusqlite::{Connection, params_from_iter};
use serde::Serialize;
use time::Date;

use crate::error::Result;

/// Months the trend covers, this one included.
pub const MONTHS: u32 = 6;

#[derive(Clone, Debug, Default, Serialize)]
pub struct MonthRow {
    /// `YYYY-MM` (Shanghai).
    pub month: String,
    pub found: i64,
    pub closed: i64,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct DeptRow {
    pub dept: String,
    pub open: i64,
    pub closed: i64,
    /// Closed on or before their deadline.
    pub closed_on_time: i64,
    /// From found to closed, in days (one decimal), over those closed.
    pub avg_days_to_close: Option<f64>,
    pub overdue: i64,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Charts {
    pub months: Vec<MonthRow>,
    /// Open hazards per domain, village and lead department (code, count).
    pub by_domain: Vec<(String, i64)>,
    pub by_village: Vec<(String, i64)>,
    pub depts: Vec<DeptRow>,
}

/// The first day of the month `n` months before `day`'s.
fn months_back(day: Date, n: u32) -> Date {
    let mut d = day.replace_day(1).unwrap_or(day);
    for _ in 0..n {
        d = d
            .previous_day()
            .and_then(|p| p.replace_day(1).ok())
            .unwrap_or(d);
    }
    d
}

/// The charts of `user`'s scope on `today`.
pub fn charts(conn: &Connection, dir: &Directory, user: &User, today: Date) -> Result<Charts> {
    let (scope, scope_args) = hazard_scope(dir, &user.id)?;
    let args = |first: Vec<V>| -> Vec<V> {
        first
            .into_iter()
            .chain(scope_args.iter().cloned().map(V::from))
            .collect()
    };
    let in_scope = format!("IN (SELECT id FROM hazards_idx WHERE {scope})");
    let since = months_back(today, MONTHS - 1);
    let since_ms = start_of_day_ms(since);
    let month_of = "strftime('%Y-%m', {}/1000, 'unixepoch', '+8 hours')";
    let mut months: BTreeMap<String, MonthRow> = BTreeMap::new();
    let mut d = since;
    for _ in 0..MONTHS {
        let m = format_date(d)[..7].to_owned();
        months.insert(
            m.clone(),
            MonthRow {
                month: m,
                ..MonthRow::default()
            },
        );
        d = (d + time::Duration::days(32)).replace_day(1).unwrap_or(d);
    }
    let grouped = |sql: String, a: Vec<V>| -> Result<Vec<(String, i64)>> {
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt
            .query_map(params_from_iter(a.iter()), |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    };
    for (m, n) in grouped(
        format!(
            "SELECT {}, count(*) FROM hazards_idx h WHERE h.found_ms >= ?1
             AND h.state NOT IN ('draft', 'rejected') AND h.id {in_scope} GROUP BY 1",
            month_of.replace("{}", "h.found_ms")
        ),
        args(vec![V::from(since_ms)]),
    )? {
        if let Some(row) = months.get_mut(&m) {
            row.found = n;
        }
    }
    for (m, n) in grouped(
        format!(
            "SELECT {}, count(*) FROM hazard_steps s WHERE s.kind = 'close' AND s.at_ms >= ?1
             AND s.hazard_id {in_scope} GROUP BY 1",
            month_of.replace("{}", "s.at_ms")
        ),
        args(vec![V::from(since_ms)]),
    )? {
        if let Some(row) = months.get_mut(&m) {
            row.closed = n;
        }
    }
    let open_by = |col: &str| {
        grouped(
            format!(
                "SELECT {col}, count(*) FROM hazards_idx h WHERE h.is_open = 1 AND h.id {in_scope}
                 GROUP BY 1 ORDER BY 2 DESC, 1"
            ),
            args(vec![]),
        )
    };
    let by_domain = open_by("h.domain")?;
    let by_village = open_by("h.village")?;
    let today_text = format_date(today);
    let mut stmt = conn.prepare(&format!(
        "SELECT d.dept,
                coalesce(sum(h.is_open = 1), 0),
                coalesce(sum(h.state = 'closed'), 0),
                coalesce(sum(h.state = 'closed' AND h.due_date IS NOT NULL
                             AND substr(h.closed_at, 1, 10) <= h.due_date), 0),
                avg(CASE WHEN h.state = 'closed' THEN
                    julianday(substr(h.closed_at, 1, 10))
                    - julianday(date(h.found_ms / 1000, 'unixepoch', '+8 hours')) END),
                coalesce(sum(h.awaiting = 1 AND h.due_date < ?1), 0)
         FROM hazard_depts d JOIN hazards_idx h ON h.id = d.hazard_id
         WHERE h.state NOT IN ('draft', 'rejected') AND h.id {in_scope}
         GROUP BY d.dept ORDER BY d.dept"
    ))?;
    let depts = stmt
        .query_map(
            params_from_iter(args(vec![V::from(today_text)]).iter()),
            |r| {
                Ok(DeptRow {
                    dept: r.get(0)?,
                    open: r.get(1)?,
                    closed: r.get(2)?,
                    closed_on_time: r.get(3)?,
                    avg_days_to_close: r
                        .get::<_, Option<f64>>(4)?
                        .map(|d| (d * 10.0).round() / 10.0),
                    overdue: r.get(5)?,
                })
            },
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Charts {
        months: months.into_values().collect(),
        by_domain,
        by_village,
        depts,
    })
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    #[test]
    fn six_months_back_from_any_day() {
        assert_eq!(
            super::months_back(date!(2026 - 12 - 07), 5),
            date!(2026 - 07 - 01)
        );
        assert_eq!(
            super::months_back(date!(2026 - 03 - 31), 5),
            date!(2025 - 10 - 01)
        );
    }
}
