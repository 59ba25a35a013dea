//! The reports to 镇安委办 (checklists.md §6.4, the town plan; definitions in docs/reports.md):
//! per domain × village, venues inspected, hazards found (general / major; candidates apart),
//! 即改, rectified, closed, open, overdue and found by source; per-village coverage and rates;
//! focus items; typical cases with photos; the major-hazard ledger with stock and increment by
//! the year found; the overdue list. For a week, a month up to the cut-off day, a quarter, a
//! half-year, a year or any days.
//!
//! Every figure reads each hazard as it stood at the period's end (its steps up to then), so a
//! closed period gives the same figures whenever it is generated. Issuing freezes a report; what
//! arrives later dated inside an issued period is listed in the next report as late. SQL over the
//! projections on a read-only connection, so a report never holds the store lock.

mod figures;
mod load;
mod model;
mod period;

pub use figures::source_bucket;
pub use model::{Case, Counts, DomainBlock, DomainRow, FocusRow, Issued, LateRow, MajorRow};
pub use model::{OverdueRow, Report, VillageStats, YearRow};
pub use period::{Period, Span, cutoff_day, set_cutoff_day, set_stock_year, stock_year};

use std::collections::{BTreeMap, HashMap, HashSet};

use gridsafe_core::clock::{Month, ms_to_date, parse_date, start_of_day_ms};
use gridsafe_core::directory::{Directory, User};
use rusqlite::Connection;
use time::Date;

use crate::error::RelayError;

type Result<T> = std::result::Result<T, RelayError>;

/// The cut-off day when none is configured: the 28th, 24:00, for the report due on the 29th.
pub const DEFAULT_CUTOFF_DAY: u8 = 28;
/// The town plan's stock: majors found in 2024 or earlier.
pub const DEFAULT_STOCK_YEAR: i32 = 2024;
/// Typical cases shown in a report.
pub const CASES: usize = 6;
/// How far back a report looks for issued periods with late records.
const LATE_WINDOW_DAYS: i64 = 400;

pub use gridsafe_core::labels::{DOMAINS, REPORT_SOURCES};

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

/// The report for `period` in `user`'s scope (an inspector's grids, a reviewer's department, the
/// whole town for the town office), as of `today`, computed from the records as they are now.
pub fn generate(
    conn: &Connection,
    dir: &Directory,
    user: &User,
    period: &Period,
    today: Date,
) -> Result<Report> {
    Ok(compute(conn, dir, user, period, today)?.0)
}

fn compute(
    conn: &Connection,
    dir: &Directory,
    user: &User,
    period: &Period,
    today: Date,
) -> Result<(Report, load::Loaded)> {
    let (from_ms, end_ms) = period.bounds_ms()?;
    let to = parse_date(&period.to)?;
    let year_start = Date::from_calendar_date(to.year(), Month::January, 1)
        .map_err(|e| RelayError::BadRequest(e.to_string()))?;
    let data = load::load(
        conn,
        dir,
        user,
        from_ms,
        end_ms,
        start_of_day_ms(year_start),
    )?;
    let village_zh = |code: &str| {
        dir.villages
            .iter()
            .find(|v| v.code == code)
            .map_or_else(|| code.to_owned(), |v| v.name_zh.clone())
    };
    let village_of_grid = |grid: &str| {
        dir.grid(grid)
            .map_or_else(|| grid.to_owned(), |g| g.village.clone())
    };
    let domain_of_template = |t: &str| {
        TEMPLATE_DOMAINS
            .get(t)
            .cloned()
            .unwrap_or_else(|| "other".into())
    };
    let depts = |codes: &[String]| {
        use gridsafe_core::labels::{Labels, Lang};
        (
            Labels::new(Some(dir), Lang::Zh).depts(codes),
            Labels::new(Some(dir), Lang::En).depts(codes),
        )
    };
    let cx = figures::Context {
        period,
        from_ms,
        end_ms,
        overdue_day: to.min(today),
        year_start_ms: start_of_day_ms(year_start),
        stock_year: stock_year(conn)?,
        village_zh: &village_zh,
        village_of_grid: &village_of_grid,
        domain_of_template: &domain_of_template,
        depts: &depts,
    };
    Ok((figures::compute(&cx, &data), data))
}

/// Whether `user`'s reports are the town's (those the town office issues).
pub fn town_wide(user: &User) -> bool {
    gridsafe_core::policy::role_may(user.role, gridsafe_core::policy::Capability::IssueReports)
}

/// The report a person opens: for the town office, the issued one when `period` was issued,
/// otherwise generated now with the records that arrived late for earlier issued periods;
/// `issued` holds the issued reports of the period's span.
pub fn report(
    conn: &Connection,
    dir: &Directory,
    user: &User,
    period: &Period,
    today: Date,
    issued: &[Report],
) -> Result<Report> {
    if !town_wide(user) {
        return generate(conn, dir, user, period, today);
    }
    if let Some(r) = issued.iter().find(|r| r.period.key == period.key) {
        return Ok(r.clone());
    }
    let mut r = generate(conn, dir, user, period, today)?;
    r.late = late(conn, dir, user, period, today, issued)?;
    Ok(r)
}

/// Records dated inside earlier issued periods of the same span that were not in the issued
/// figures, and not yet listed by an issued report since.
fn late(
    conn: &Connection,
    dir: &Directory,
    user: &User,
    period: &Period,
    today: Date,
    issued: &[Report],
) -> Result<Vec<LateRow>> {
    let from = parse_date(&period.from)?;
    let window = format_day(from - time::Duration::days(LATE_WINDOW_DAYS));
    let mut out = Vec::new();
    for q in issued
        .iter()
        .filter(|q| q.period.to < period.from && q.period.to >= window)
    {
        let listed: HashSet<&str> = issued
            .iter()
            .filter(|r| r.period.from > q.period.to && r.period.to < period.from)
            .flat_map(|r| r.late.iter().map(|l| l.key.as_str()))
            .collect();
        let (q_from, q_end) = q.period.bounds_ms()?;
        let issued_ms = q.issued.as_ref().map_or(0, |i| i.issued_ms);
        let inspections = q.members.iter().filter(|m| m.starts_with("i:")).count();
        if !load::may_have_late(conn, q_from, q_end, issued_ms, inspections)? {
            continue;
        }
        let frozen: HashSet<&str> = q.members.iter().map(String::as_str).collect();
        let frozen_ids: HashSet<&str> = q.members.iter().filter_map(|m| member_id(m)).collect();
        let (live, data) = compute(conn, dir, user, &q.period, today)?;
        let hazards: HashMap<&str, &load::HazardRow> =
            data.hazards.iter().map(|h| (h.id.as_str(), h)).collect();
        let inspections: HashMap<&str, &load::InspectionRow> = data
            .inspections
            .iter()
            .map(|i| (i.id.as_str(), i))
            .collect();
        for m in &live.members {
            if frozen.contains(m.as_str()) || listed.contains(m.as_str()) {
                continue;
            }
            let Some(id) = member_id(m) else { continue };
            let known = frozen_ids.contains(id);
            // What the record is, when, and what it would change in the issued figures.
            let (kind, venue, title, day, change) = if let Some(h) = hazards.get(id) {
                let change = if known {
                    (
                        "签发后补报的状态变化",
                        "a change reported after the report was issued",
                    )
                } else {
                    (
                        "统计期内发现，签发后才上报",
                        "found in the period, reported after issue",
                    )
                };
                let title = (h.title_zh.clone(), h.title_en.clone());
                let day = format_day(ms_to_date(h.found_ms));
                ("hazard", &h.venue_name, title, day, change)
            } else if let Some(i) = inspections.get(id) {
                let title = ("检查记录".to_owned(), "Inspection".to_owned());
                let change = (
                    "统计期内检查，签发后才上报",
                    "inspected in the period, reported after issue",
                );
                ("inspection", &i.venue_name, title, i.day.clone(), change)
            } else {
                continue;
            };
            let row = LateRow {
                period_key: q.period.key.clone(),
                period_zh: q.period.title(false),
                period_en: q.period.title(true),
                kind: kind.into(),
                id: id.to_owned(),
                venue_name: venue.clone(),
                title_zh: title.0,
                title_en: title.1,
                day,
                change_zh: change.0.into(),
                change_en: change.1.into(),
                key: m.clone(),
            };
            out.push(row);
        }
    }
    Ok(out)
}

/// The record id a member fingerprint names (`h:<id>:…`, `i:<id>`).
fn member_id(m: &str) -> Option<&str> {
    let rest = m.strip_prefix("h:").or_else(|| m.strip_prefix("i:"))?;
    Some(rest.split(':').next().unwrap_or(rest))
}

fn format_day(d: Date) -> String {
    gridsafe_core::clock::format_date(d)
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
            Period::containing(d("2026-11-28"), 28).unwrap().key,
            "2026-11"
        );
        assert_eq!(
            Period::containing(d("2026-11-29"), 28).unwrap().key,
            "2026-12"
        );
        assert_eq!(
            Period::containing(d("2026-12-30"), 28).unwrap().key,
            "2027-01"
        );
        assert_eq!(p.previous().unwrap().key, "2025-12");
        assert_eq!(p.next().unwrap().key, "2026-02");
    }

    #[test]
    fn quarters_halves_and_years_are_whole_report_months_and_tile() {
        let span = |k: &str| {
            let p = Period::parse(k, 28).unwrap();
            (p.from, p.to)
        };
        let s = |a: &str, b: &str| (a.to_owned(), b.to_owned());
        assert_eq!(span("2026-Q4"), s("2026-09-29", "2026-12-28"));
        assert_eq!(span("2026-Q1"), s("2025-12-29", "2026-03-28"));
        assert_eq!(span("2026-H1"), s("2025-12-29", "2026-06-28"));
        assert_eq!(span("2026-H2"), s("2026-06-29", "2026-12-28"));
        assert_eq!(span("2026"), s("2025-12-29", "2026-12-28"));
        assert_eq!(span("2026-W49"), s("2026-11-30", "2026-12-06"));
        assert_eq!(span("2026-11-01~2026-11-30"), s("2026-11-01", "2026-11-30"));
        let q = Period::parse("2026-Q4", 28).unwrap();
        let months: Vec<String> = q.months_in().into_iter().map(|m| m.key).collect();
        assert_eq!(months, ["2026-10", "2026-11", "2026-12"]);
        assert_eq!(Period::parse("2026", 28).unwrap().months_in().len(), 12);
        assert_eq!(q.next().unwrap().key, "2027-Q1");
        assert_eq!(q.previous().unwrap().key, "2026-Q3");
        let w = Period::parse("2026-W01", 28).unwrap();
        assert_eq!(w.previous().unwrap().key, "2025-W52");
        assert_eq!(q.title(false), "2026年第四季度");
        assert_eq!(
            Period::parse("2026-H1", 28).unwrap().title(false),
            "2026年上半年"
        );
        assert_eq!(
            Period::parse("2026-11", 28).unwrap().title_with_days(false),
            "2026年11月（10月29日至11月28日）"
        );
    }

    #[test]
    fn bad_periods_say_what_a_period_is() {
        for k in [
            "2026-Q5",
            "2026-H3",
            "2026-W60",
            "2026-13",
            "20261",
            "2026-11-30~2026-11-01",
        ] {
            let e = Period::parse(k, 28).unwrap_err().to_string();
            assert!(e.contains(k), "{k}: {e}");
        }
        let e = Period::parse("2020-01-01~2026-01-01", 28)
            .unwrap_err()
            .to_string();
        assert!(e.contains("three years"), "{e}");
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
