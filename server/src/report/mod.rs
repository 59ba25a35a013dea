//! The monthly report to 镇安委办 (checklists.md §6.4): per domain × village, venues inspected,
//! hazards found (general / major), 即改, rectified, closed, open, overdue and found by source;
//! per-village coverage and rates; focus items; typical cases with photos; the major-hazard
//! ledger with stock and increment. Pure SQL over the projections on a read-only connection, so a
//! report never holds the store lock.
//!
//! The period ends on the cut-off day (default the 28th, 24:00, for a report due the 29th) and
//! starts the day after the previous month's cut-off. Flows (found, 即改, rectified, closed) count
//! inside the period; stocks (open, overdue) are as of the moment the report is generated.

mod model;

use model::pct;
pub use model::{Case, Counts, DomainBlock, DomainRow, FocusRow, MajorRow, Report, VillageStats};

mod period;

pub use period::{Period, cutoff_day, set_cutoff_day};

use std::collections::BTreeMap;

use gridsafe_core::clock::{Month, format_date, ms_to_date, parse_date, start_of_day_ms};
use gridsafe_core::directory::{Directory, User};
use gridsafe_core::projection::hazard_scope;
use rusqlite::types::Value as V;
use rusqlite::{Connection, params_from_iter};
use time::Date;

use crate::error::RelayError;

type Result<T> = std::result::Result<T, RelayError>;

/// The cut-off day when none is configured: the 28th, 24:00, for the report due on the 29th.
pub const DEFAULT_CUTOFF_DAY: u8 = 28;
/// Typical cases shown in a report.
pub const CASES: usize = 6;

pub use gridsafe_core::labels::{DOMAINS, SOURCES};

/// Template id → its domain, from the templates this build ships (each template id covers one
/// domain in every version).
static TEMPLATE_DOMAINS: std::sync::LazyLock<BTreeMap<String, String>> =
    std::sync::LazyLock::new(|| {
        gridsafe_core::template::bundled_sources()
            .iter()
            .filter_map(|t| serde_json::from_slice::<serde_json::Value>(&t.bytes).ok())
            .filter_map(|v| {
                Some((
                    v.get("template_id")?.as_str()?.to_owned(),
                    v.get("domain")?.as_str()?.to_owned(),
                ))
            })
            .collect()
    });

pub fn domain_label(code: &str) -> (&'static str, &'static str) {
    gridsafe_core::labels::domain(code)
}

/// The monthly report for `period` in `user`'s scope (an inspector's grids, a reviewer's
/// department, the whole town for the town office), as of `today`.
pub fn monthly(
    conn: &Connection,
    dir: &Directory,
    user: &User,
    period: &Period,
    today: Date,
) -> Result<Report> {
    let (scope, scope_args) = hazard_scope(dir, &user.id)?;
    let (from_ms, to_ms) = period.bounds_ms()?;
    let to_day = parse_date(&period.to)?;
    let (from_text, end_text) = (
        period.from.clone(),
        format_date(to_day.next_day().unwrap_or(to_day)),
    );
    let year_start = to_day
        .replace_month(Month::January)
        .and_then(|d| d.replace_day(1))
        .map_err(|e| RelayError::BadRequest(e.to_string()))?;
    let (year_ms, year_text) = (start_of_day_ms(year_start), format_date(year_start));
    let today_text = format_date(today);
    let village_zh = |code: &str| {
        dir.villages
            .iter()
            .find(|v| v.code == code)
            .map_or_else(|| code.to_owned(), |v| v.name_zh.clone())
    };
    let with_scope = |mut a: Vec<V>| {
        a.extend(scope_args.iter().cloned().map(V::from));
        a
    };

    // Hazards per domain × village.
    let args = with_scope(vec![
        V::from(from_ms),
        V::from(to_ms),
        V::from(from_text.clone()),
        V::from(end_text.clone()),
        V::from(today_text.clone()),
    ]);
    let mut cells: BTreeMap<(String, String), Counts> = BTreeMap::new();
    {
        let mut stmt = conn.prepare(&format!(
            "SELECT domain, village,
                coalesce(sum(p AND severity = 'general'), 0), coalesce(sum(p AND severity != 'general'), 0),
                coalesce(sum(p AND fix_mode = 'on_spot'), 0),
                coalesce(sum(rectified_at >= ?3 AND rectified_at < ?4), 0),
                coalesce(sum(closed_at >= ?3 AND closed_at < ?4), 0),
                coalesce(sum(is_open = 1 AND found_ms < ?2), 0),
                coalesce(sum(awaiting = 1 AND due_date < ?5 AND found_ms < ?2), 0),
                coalesce(sum(p AND source = 'inspection'), 0), coalesce(sum(p AND source = 'self_report'), 0),
                coalesce(sum(p AND source = 'public_report'), 0), coalesce(sum(p AND source = 'referral'), 0)
             FROM (SELECT h.*, f.rectified_at, (h.found_ms >= ?1 AND h.found_ms < ?2) AS p
                   FROM hazards_idx h LEFT JOIN hazard_facts f ON f.hazard_id = h.id WHERE {scope})
             GROUP BY domain, village"
        ))?;
        let rows = stmt.query_map(params_from_iter(args.iter()), |r| {
            Ok((
                (r.get::<_, String>(0)?, r.get::<_, String>(1)?),
                Counts {
                    venues_inspected: 0,
                    found_general: r.get(2)?,
                    found_major: r.get(3)?,
                    on_spot: r.get(4)?,
                    rectified: r.get(5)?,
                    closed: r.get(6)?,
                    open: r.get(7)?,
                    overdue: r.get(8)?,
                    by_source: [r.get(9)?, r.get(10)?, r.get(11)?, r.get(12)?],
                },
            ))
        })?;
        for row in rows {
            let (k, c) = row?;
            cells.insert(k, c);
        }
    }

    // Venues inspected per domain (the template's) × village, and per village overall. Venues are
    // scoped by grid for inspectors; a department's reviewer sees the town's inspection effort.
    let grids: Vec<String> = gridsafe_core::policy::venue_list_grids(user)
        .map(<[String]>::to_vec)
        .unwrap_or_default();
    let venue_scope = if grids.is_empty() {
        "1 = 1".to_owned()
    } else {
        format!("grid_id IN ({})", vec!["?"; grids.len()].join(","))
    };
    // Inspections are read by grid through a covering index (migration 008); the directory
    // places each grid in its village.
    let village_of = |grid: String| dir.grid(&grid).map_or(grid, |g| g.village.clone());
    let mut vargs: Vec<V> = vec![V::from(from_ms), V::from(to_ms)];
    vargs.extend(grids.iter().cloned().map(V::from));
    let domain_of = &*TEMPLATE_DOMAINS;
    {
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT template_id, grid_id, count(DISTINCT venue_id) FROM inspections_idx
             WHERE finished = 1 AND started_ms >= ?1 AND started_ms < ?2 AND {venue_scope} GROUP BY template_id, grid_id"
        ))?;
        let rows = stmt.query_map(params_from_iter(vargs.iter()), |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })?;
        for row in rows {
            let (template, grid, n) = row?;
            let domain = domain_of
                .get(&template)
                .cloned()
                .unwrap_or_else(|| "other".into());
            cells
                .entry((domain, village_of(grid)))
                .or_default()
                .venues_inspected += n;
        }
    }

    let mut domains: Vec<DomainBlock> = Vec::new();
    let mut order: Vec<String> = DOMAINS.iter().map(|d| d.0.to_owned()).collect();
    for (d, _) in cells.keys() {
        if !order.contains(d) {
            order.push(d.clone());
        }
    }
    let mut totals = Counts::default();
    for d in order {
        let rows: Vec<DomainRow> = cells
            .iter()
            .filter(|((dom, _), _)| *dom == d)
            .map(|((_, v), c)| DomainRow {
                village: v.clone(),
                village_zh: village_zh(v),
                c: c.clone(),
            })
            .collect();
        let mut total = Counts::default();
        for r in &rows {
            total.add(&r.c);
        }
        totals.add(&total);
        let (zh, en) = domain_label(&d);
        domains.push(DomainBlock {
            label_zh: zh.to_owned(),
            label_en: en.to_owned(),
            domain: d,
            rows,
            total,
        });
    }

    // Per village.
    let mut villages: BTreeMap<String, VillageStats> = dir
        .villages
        .iter()
        .map(|v| {
            (
                v.code.clone(),
                VillageStats {
                    village: v.code.clone(),
                    village_zh: v.name_zh.clone(),
                    ..VillageStats::default()
                },
            )
        })
        .collect();
    {
        let venue_args: Vec<V> = vargs[2..].to_vec();
        let mut stmt = conn
            .prepare_cached(&format!("SELECT village, count(*) FROM venues_idx WHERE archived = 0 AND {venue_scope} GROUP BY village"))?;
        let rows = stmt.query_map(params_from_iter(venue_args.iter()), |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
        })?;
        for row in rows {
            let (v, n) = row?;
            villages
                .entry(v.clone())
                .or_insert_with(|| VillageStats {
                    village_zh: village_zh(&v),
                    village: v,
                    ..VillageStats::default()
                })
                .venues = n;
        }
        // A venue belongs to one grid, so distinct venues per grid add up per village.
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT grid_id, count(*), count(DISTINCT CASE WHEN finished = 1 THEN venue_id END) FROM inspections_idx
             WHERE started_ms >= ?1 AND started_ms < ?2 AND {venue_scope} GROUP BY grid_id"
        ))?;
        let rows = stmt.query_map(params_from_iter(vargs.iter()), |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })?;
        for row in rows {
            let (g, n, inspected) = row?;
            let v = village_of(g);
            let e = villages.entry(v.clone()).or_insert_with(|| VillageStats {
                village_zh: village_zh(&v),
                village: v,
                ..VillageStats::default()
            });
            e.inspections += n;
            e.inspected += inspected;
        }
        let args = with_scope(vec![
            V::from(from_ms),
            V::from(to_ms),
            V::from(today_text.clone()),
        ]);
        let mut stmt = conn.prepare(&format!(
            "SELECT village,
                    coalesce(sum(found_ms >= ?1 AND found_ms < ?2), 0), coalesce(sum(found_ms >= ?1 AND found_ms < ?2 AND fix_mode = 'on_spot'), 0),
                    coalesce(sum(found_ms < ?2), 0), coalesce(sum(found_ms < ?2 AND state = 'closed'), 0),
                    coalesce(sum(awaiting = 1 AND due_date < ?3 AND found_ms < ?2), 0),
                    coalesce(sum(found_ms >= ?1 AND found_ms < ?2 AND recurrence_of IS NOT NULL), 0)
             FROM hazards_idx WHERE {scope} GROUP BY village"
        ))?;
        let rows = stmt.query_map(params_from_iter(args.iter()), |r| {
            Ok((
                r.get::<_, String>(0)?,
                [
                    r.get::<_, i64>(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                ],
            ))
        })?;
        for row in rows {
            let (v, n) = row?;
            let e = villages.entry(v.clone()).or_insert_with(|| VillageStats {
                village_zh: village_zh(&v),
                village: v,
                ..VillageStats::default()
            });
            [
                e.found,
                e.on_spot,
                e.registered_total,
                e.closed_total,
                e.overdue,
                e.recurrences,
            ] = n;
        }
        for ((_, v), c) in &cells {
            if let Some(e) = villages.get_mut(v) {
                e.closed += c.closed;
            }
        }
    }

    // Focus items (GEN★) found in the period.
    let mut focus = Vec::new();
    {
        let args = with_scope(vec![V::from(from_ms), V::from(to_ms)]);
        let mut stmt = conn.prepare(&format!(
            "SELECT item_id, min(title_zh), min(title_en), min(domain), count(*), coalesce(sum(is_open), 0), count(DISTINCT venue_id)
             FROM hazards_idx WHERE focus = 1 AND found_ms >= ?1 AND found_ms < ?2 AND {scope}
             GROUP BY item_id ORDER BY count(*) DESC, item_id"
        ))?;
        let rows = stmt.query_map(params_from_iter(args.iter()), |r| {
            Ok(FocusRow {
                item_id: r.get(0)?,
                title_zh: r.get(1)?,
                title_en: r.get(2)?,
                domain: r.get(3)?,
                found: r.get(4)?,
                open: r.get(5)?,
                venues: r.get(6)?,
                venues_pct: 0,
            })
        })?;
        for row in rows {
            let mut f = row?;
            let inspected: i64 = cells
                .iter()
                .filter(|((d, _), _)| *d == f.domain)
                .map(|(_, c)| c.venues_inspected)
                .sum();
            f.venues_pct = pct(f.venues, inspected);
            focus.push(f);
        }
    }

    // Typical cases: found in the period with a photo; majors first, then focus items, then those
    // already closed (a before and an after), newest first.
    let mut cases = Vec::new();
    {
        let args = with_scope(vec![V::from(from_ms), V::from(to_ms)]);
        let mut stmt = conn.prepare(&format!(
            "SELECT h.id, h.title_zh, h.venue_name, h.village, h.severity, h.state, f.basis, f.before_thumb, f.after_photo
             FROM hazards_idx h JOIN hazard_facts f ON f.hazard_id = h.id
             WHERE h.found_ms >= ?1 AND h.found_ms < ?2 AND f.before_thumb IS NOT NULL AND {scope}
             ORDER BY h.severity != 'general' DESC, h.focus DESC, f.after_photo IS NOT NULL DESC, h.found_ms DESC, h.id LIMIT {CASES}"
        ))?;
        let rows = stmt.query_map(params_from_iter(args.iter()), |r| {
            Ok(Case {
                id: r.get(0)?,
                title_zh: r.get(1)?,
                venue_name: r.get(2)?,
                village_zh: r.get::<_, String>(3)?,
                severity: r.get(4)?,
                state: r.get(5)?,
                basis: r.get(6)?,
                before_thumb: r.get(7)?,
                after_photo: r.get(8)?,
            })
        })?;
        for row in rows {
            let mut c = row?;
            c.village_zh = village_zh(&c.village_zh);
            cases.push(c);
        }
    }

    // The major-hazard ledger: majors and candidates found by the period's end that were open at
    // the start of the report's year or found in it.
    let mut majors = Vec::new();
    {
        let args = with_scope(vec![V::from(to_ms), V::from(year_text.clone())]);
        let mut stmt = conn.prepare(&format!(
            "SELECT h.id, h.venue_name, h.village, h.domain, h.title_zh, coalesce(f.basis, ''), h.found_ms, h.severity, h.state,
                    coalesce(h.due_date, ''), coalesce(f.plan, 0), coalesce(f.escalations, 0)
             FROM hazards_idx h LEFT JOIN hazard_facts f ON f.hazard_id = h.id
             WHERE h.severity != 'general' AND h.found_ms < ?1 AND (h.is_open = 1 OR h.closed_at >= ?2) AND {scope}
             ORDER BY h.found_ms, h.id"
        ))?;
        let rows = stmt.query_map(params_from_iter(args.iter()), |r| {
            let found_ms: i64 = r.get(6)?;
            Ok(MajorRow {
                id: r.get(0)?,
                venue_name: r.get(1)?,
                village_zh: r.get(2)?,
                domain: r.get(3)?,
                title_zh: r.get(4)?,
                basis: r.get(5)?,
                found: format_date(ms_to_date(found_ms)),
                year: ms_to_date(found_ms).year(),
                severity: r.get(7)?,
                state: r.get(8)?,
                due_date: r.get(9)?,
                plan: r.get(10)?,
                escalations: r.get(11)?,
                stock: found_ms < year_ms,
            })
        })?;
        for row in rows {
            let mut m = row?;
            m.village_zh = village_zh(&m.village_zh);
            majors.push(m);
        }
    }
    let confirmed = |stock: bool| {
        majors
            .iter()
            .filter(move |m| m.severity == "major" && m.stock == stock)
    };
    let open = |m: &&MajorRow| !matches!(m.state.as_str(), "closed" | "rejected");
    let (major_stock, major_stock_open) = (
        confirmed(true).count() as i64,
        confirmed(true).filter(open).count() as i64,
    );
    let (major_increment, major_increment_open) = (
        confirmed(false).count() as i64,
        confirmed(false).filter(open).count() as i64,
    );

    Ok(Report {
        period: period.clone(),
        generated_at: gridsafe_core::clock::ms_to_rfc3339(gridsafe_core::clock::now_ms()),
        totals,
        domains,
        villages: villages.into_values().collect(),
        focus,
        cases,
        majors,
        major_stock,
        major_stock_open,
        major_increment,
        major_increment_open,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_end_on_the_cut_off_day_and_start_after_the_previous_one() {
        let p = Period::of_month("2026-11", 28).unwrap();
        assert_eq!(
            (p.from.as_str(), p.to.as_str()),
            ("2026-10-29", "2026-11-28")
        );
        let p = Period::of_month("2026-03", 28).unwrap();
        assert_eq!(
            (p.from.as_str(), p.to.as_str()),
            ("2026-03-01", "2026-03-28"),
            "February has no 29th in 2026"
        );
        let p = Period::of_month("2026-01", 25).unwrap();
        assert_eq!(
            (p.from.as_str(), p.to.as_str()),
            ("2025-12-26", "2026-01-25")
        );
        let d = |s| parse_date(s).unwrap();
        assert_eq!(
            Period::containing(d("2026-11-28"), 28).unwrap().month,
            "2026-11"
        );
        assert_eq!(
            Period::containing(d("2026-11-29"), 28).unwrap().month,
            "2026-12"
        );
        assert_eq!(
            Period::containing(d("2026-12-30"), 28).unwrap().month,
            "2027-01"
        );
        assert_eq!(p.previous().unwrap().month, "2025-12");
        assert_eq!(p.next().unwrap().month, "2026-02");
    }

    #[test]
    fn bad_months_and_cut_off_days_are_named() {
        for m in [
            "2026-13",
            "2026",
            "26-11",
            "2026-00",
            "abcd-ef",
            "2026-11-01",
            "12026-01",
        ] {
            let e = Period::of_month(m, 28).unwrap_err().to_string();
            assert!(e.contains(m), "{m}: {e}");
        }
        for d in [0, 29, 31] {
            assert!(
                Period::of_month("2026-11", d)
                    .unwrap_err()
                    .to_string()
                    .contains("cut-off day")
            );
        }
    }
}
