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
    // Steps carry no scope of their own: their hazard's (all of them for the town office).
    let in_scope = if scope == "1 = 1" {
        "IS NOT NULL".to_owned()
    } else {
        format!("IN (SELECT id FROM hazards_idx WHERE {scope})")
    };
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
             AND h.state NOT IN ('draft', 'rejected') AND {scope} GROUP BY 1",
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
    // One pass over the hazards in scope, grouped by their lead departments, domain and village:
    // the open counts per domain and village and the departments' figures come from it (a
    // hazard led by two departments counts for each).
    let today_text = format_date(today);
    let mut stmt = conn.prepare(&format!(
        "SELECT lead_depts, domain, village,
                coalesce(sum(is_open = 1), 0),
                coalesce(sum(state = 'closed'), 0),
                coalesce(sum(state = 'closed' AND due_date IS NOT NULL
                             AND substr(closed_at, 1, 10) <= due_date), 0),
                sum(CASE WHEN state = 'closed' THEN
                    julianday(substr(closed_at, 1, 10))
                    - julianday(date(found_ms / 1000, 'unixepoch', '+8 hours')) END),
                coalesce(sum(awaiting = 1 AND due_date < ?1), 0)
         FROM hazards_idx h
         WHERE state NOT IN ('draft', 'rejected') AND {scope}
         GROUP BY lead_depts, domain, village"
    ))?;
    let rows = stmt
        .query_map(
            params_from_iter(args(vec![V::from(today_text)]).iter()),
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    [r.get::<_, i64>(3)?, r.get(4)?, r.get(5)?, r.get(7)?],
                    r.get::<_, Option<f64>>(6)?.unwrap_or(0.0),
                ))
            },
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let (mut domains, mut villages) = (BTreeMap::new(), BTreeMap::new());
    let mut depts: BTreeMap<String, (DeptRow, f64)> = BTreeMap::new();
    // A department's reviewer sees their department's row only.
    let only = user
        .department
        .as_deref()
        .filter(|_| user.role == gridsafe_core::directory::Role::Reviewer);
    for (lead, domain, village, [open, closed, on_time, overdue], days) in rows {
        *domains.entry(domain).or_insert(0) += open;
        *villages.entry(village).or_insert(0) += open;
        for d in lead.split(',').filter(|d| !d.is_empty()) {
            if only.is_some_and(|o| o != d) {
                continue;
            }
            let e = depts.entry(d.to_owned()).or_insert_with(|| {
                (
                    DeptRow {
                        dept: d.to_owned(),
                        ..DeptRow::default()
                    },
                    0.0,
                )
            });
            e.0.open += open;
            e.0.closed += closed;
            e.0.closed_on_time += on_time;
            e.0.overdue += overdue;
            e.1 += days;
        }
    }
    let sorted = |m: BTreeMap<String, i64>| {
        let mut v: Vec<(String, i64)> = m.into_iter().filter(|(_, n)| *n > 0).collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        v
    };
    let by_domain = sorted(domains);
    let by_village = sorted(villages);
    let depts = depts
        .into_values()
        .map(|(mut d, days)| {
            d.avg_days_to_close =
                (d.closed > 0).then(|| (days / d.closed as f64 * 10.0).round() / 10.0);
            d
        })
        .collect();
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
