//! The overview's charts and the departments' performance (issue #32): found and closed by
//! month, open by domain, village and lead department, and per department how many it closed,
//! how many on time, the average days to close and how many are overdue — in the user's scope.
//! SQL over the projections and the hazards' steps on a read-only connection.

use std::collections::BTreeMap;

use gridsafe_core::clock::{format_date, start_of_day_ms};
use gridsafe_core::directory::{Directory, User};
use gridsafe_core::projection::{hazard_scope, hazard_scope_of};
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
    // The months' rows are checked against the scope one by one (a few thousand a month),
    // steps through their hazard: no list of every hazard in scope to build first.
    let (found_scope, found_args) = hazard_scope_of(dir, &user.id, "h.id")?;
    let (step_scope, step_args) = hazard_scope_of(dir, &user.id, "s.hazard_id")?;
    // The last six months' found hazards and closing steps, read on their time indexes
    // (hazards_by_found; the partial index of closing steps) as bare times and put into months
    // here: no per-row date formatting, and a department's scope read once per chart.
    let since = months_back(today, MONTHS - 1);
    let mut starts: Vec<(String, i64)> = Vec::with_capacity(MONTHS as usize);
    let mut d = since;
    for _ in 0..MONTHS {
        starts.push((format_date(d)[..7].to_owned(), start_of_day_ms(d)));
        d = (d + time::Duration::days(32)).replace_day(1).unwrap_or(d);
    }
    let mut months: BTreeMap<String, MonthRow> = starts
        .iter()
        .map(|(m, _)| {
            (
                m.clone(),
                MonthRow {
                    month: m.clone(),
                    ..MonthRow::default()
                },
            )
        })
        .collect();
    let since_ms = start_of_day_ms(since);
    let mut bucket =
        |sql: String, scope_args: Vec<String>, add: &dyn Fn(&mut MonthRow)| -> Result<()> {
            let a: Vec<V> = std::iter::once(V::from(since_ms))
                .chain(scope_args.into_iter().map(V::from))
                .collect();
            let mut stmt = conn.prepare(&sql)?;
            let mut rows = stmt.query(params_from_iter(a.iter()))?;
            while let Some(r) = rows.next()? {
                let ms: i64 = r.get(0)?;
                let i = starts.partition_point(|(_, start)| *start <= ms);
                if let Some(row) = i.checked_sub(1).and_then(|i| months.get_mut(&starts[i].0)) {
                    add(row);
                }
            }
            Ok(())
        };
    bucket(
        format!(
            "SELECT h.found_ms FROM hazards_idx h WHERE h.found_ms >= ?1
             AND h.state NOT IN ('draft', 'rejected') AND {found_scope}"
        ),
        found_args,
        &|m| m.found += 1,
    )?;
    bucket(
        format!(
            "SELECT s.at_ms FROM hazard_steps s WHERE s.kind = 'close' AND s.at_ms >= ?1
             AND {step_scope}"
        ),
        step_args,
        &|m| m.closed += 1,
    )?;
    // One pass over the hazards in scope, grouped by their lead departments, domain and village:
    // the open counts per domain and village and the departments' figures come from it (a
    // hazard led by two departments counts for each).
    let today_text = format_date(today);
    // Days to close: the closing date's day number less the found day's, both days since
    // 1970-01-01 (julianday 2440587.5); the found day in Shanghai as integer arithmetic on
    // found_ms, not a date() per row.
    // Grouped in Rust as the rows stream by: SQLite's GROUP BY sorted all 100,000 rows first.
    let mut stmt = conn.prepare(&format!(
        "SELECT lead_depts, domain, village, is_open = 1, state = 'closed',
                coalesce(state = 'closed' AND due_date IS NOT NULL
                         AND substr(closed_at, 1, 10) <= due_date, 0),
                CASE WHEN state = 'closed' THEN
                    julianday(substr(closed_at, 1, 10)) - 2440587.5
                    - (found_ms + 28800000) / 86400000 END,
                coalesce(awaiting = 1 AND due_date < ?1, 0)
         FROM hazards_idx h
         WHERE state NOT IN ('draft', 'rejected') AND {scope}"
    ))?;
    // Keyed by "lead\u{1f}domain\u{1f}village" in one reused buffer: a few hundred groups,
    // looked up without allocating for each of the 100,000 rows.
    let mut groups: std::collections::HashMap<String, ([i64; 4], f64)> =
        std::collections::HashMap::new();
    let mut key = String::new();
    let mut q = stmt.query(params_from_iter(args(vec![V::from(today_text)]).iter()))?;
    while let Some(r) = q.next()? {
        let text = |i: usize| -> rusqlite::Result<&str> {
            r.get_ref(i)?.as_str().map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(
                    i,
                    rusqlite::types::Type::Text,
                    Box::new(e),
                )
            })
        };
        let (lead, domain, village) = (text(0)?, text(1)?, text(2)?);
        let flags = [r.get::<_, i64>(3)?, r.get(4)?, r.get(5)?, r.get(7)?];
        let days = r.get::<_, Option<f64>>(6)?.unwrap_or(0.0);
        key.clear();
        for (i, part) in [lead, domain, village].into_iter().enumerate() {
            if i > 0 {
                key.push('\u{1f}');
            }
            key.push_str(part);
        }
        if !groups.contains_key(key.as_str()) {
            groups.insert(key.clone(), ([0; 4], 0.0));
        }
        let Some(g) = groups.get_mut(key.as_str()) else {
            continue;
        };
        for (sum, f) in g.0.iter_mut().zip(flags) {
            *sum += f;
        }
        g.1 += days;
    }
    drop(q);
    let rows = groups.into_iter().map(|(key, (flags, days))| {
        let mut parts = key.split('\u{1f}').map(str::to_owned);
        let mut next = || parts.next().unwrap_or_default();
        (next(), next(), next(), flags, days)
    });
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
