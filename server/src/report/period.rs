//! A report's period: the month up to the configurable cut-off day, and the setting itself.

use super::*;
use crate::error::RelayError;
use gridsafe_core::clock::{Month, format_date, parse_date, start_of_day_ms};
use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;
use time::Date;

/// A report period: the days from `from` to `to`, both included (Shanghai dates).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Period {
    /// The report's month, `YYYY-MM`: the month the cut-off day falls in.
    pub month: String,
    pub from: String,
    pub to: String,
    pub cutoff_day: u8,
}

impl Period {
    /// The period of the report for `month` (`YYYY-MM`) with the cut-off on `cutoff_day` (1–28,
    /// so that every month has it).
    pub fn of_month(month: &str, cutoff_day: u8) -> Result<Period> {
        check_cutoff(cutoff_day)?;
        let bad = || RelayError::BadRequest(format!("month {month:?} is not YYYY-MM"));
        let (y, m) = month.split_once('-').ok_or_else(bad)?;
        let (y, m): (i32, u8) = (y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
        if !(2000..=2100).contains(&y) {
            return Err(bad());
        }
        let m = Month::try_from(m).map_err(|_| bad())?;
        let to = Date::from_calendar_date(y, m, cutoff_day).map_err(|_| bad())?;
        let (py, pm) = if m == Month::January {
            (y - 1, Month::December)
        } else {
            (y, m.previous())
        };
        let prev = Date::from_calendar_date(py, pm, cutoff_day).map_err(|_| bad())?;
        let from = prev.next_day().ok_or_else(bad)?;
        Ok(Period {
            month: format!("{y:04}-{:02}", u8::from(m)),
            from: format_date(from),
            to: format_date(to),
            cutoff_day,
        })
    }

    /// The period `today` falls in: after the cut-off day, next month's report.
    pub fn containing(today: Date, cutoff_day: u8) -> Result<Period> {
        let (mut y, mut m) = (today.year(), today.month());
        if today.day() > cutoff_day {
            if m == Month::December {
                y += 1;
            }
            m = m.next();
        }
        Period::of_month(&format!("{y:04}-{:02}", u8::from(m)), cutoff_day)
    }

    /// The previous month's period (for the "previous report" link).
    pub fn previous(&self) -> Result<Period> {
        let from = parse_date(&self.from)?;
        Period::containing(from.previous_day().unwrap_or(from), self.cutoff_day)
    }

    pub fn next(&self) -> Result<Period> {
        let to = parse_date(&self.to)?;
        Period::containing(to.next_day().unwrap_or(to), self.cutoff_day)
    }

    /// Milliseconds of the period's first instant and of the instant after its last day.
    pub(crate) fn bounds_ms(&self) -> Result<(i64, i64)> {
        let from = parse_date(&self.from)?;
        let to = parse_date(&self.to)?;
        Ok((
            start_of_day_ms(from),
            start_of_day_ms(to.next_day().unwrap_or(to)),
        ))
    }
}

pub(crate) fn check_cutoff(day: u8) -> Result<()> {
    if (1..=28).contains(&day) {
        Ok(())
    } else {
        Err(RelayError::BadRequest(format!(
            "the report cut-off day must be 1–28 (every month has it), not {day}"
        )))
    }
}

/// The configured cut-off day (`gridsafe-server admin report-cutoff`), or the default.
pub fn cutoff_day(conn: &Connection) -> Result<u8> {
    let v: Option<String> = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'report_cutoff_day'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    Ok(v.and_then(|v| v.parse().ok()).unwrap_or(DEFAULT_CUTOFF_DAY))
}

pub fn set_cutoff_day(conn: &Connection, day: u8) -> Result<()> {
    check_cutoff(day)?;
    conn.execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES ('report_cutoff_day', ?1)",
        [day.to_string()],
    )?;
    Ok(())
}
