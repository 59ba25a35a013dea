//! A report's period: a week, a month up to the configurable cut-off day, a quarter, a half-year,
//! a year (each made of whole report months, so they tile) or a custom range; and the settings.

use super::*;
use crate::error::RelayError;
use gridsafe_core::clock::{Month, format_date, parse_date, start_of_day_ms};
use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use time::{Date, Weekday};

/// What kind of period a report covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Span {
    /// Monday to Sunday (the weekly overdue list).
    Week,
    Month,
    Quarter,
    Half,
    Year,
    /// Any range of days, both ends included.
    Custom,
}

/// A report period: the days from `from` to `to`, both included (Shanghai dates).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    pub span: Span,
    /// What names the period in links and the register of issued reports: `2026-11`, `2026-W49`,
    /// `2026-Q4`, `2026-H2`, `2026`, `2026-10-01~2026-10-31`.
    pub key: String,
    pub from: String,
    pub to: String,
    pub cutoff_day: u8,
}

/// The longest custom range a report covers.
const MAX_CUSTOM_DAYS: i64 = 3 * 366;

fn bad_key(key: &str) -> RelayError {
    RelayError::BadRequest(format!(
        "period {key:?} is not one of YYYY-MM (month), YYYY-Www (week), YYYY-Qn (quarter), \
         YYYY-H1 or YYYY-H2 (half-year), YYYY (year) or YYYY-MM-DD~YYYY-MM-DD (days)"
    ))
}

fn year_of(y: &str, key: &str) -> Result<i32> {
    let y: i32 = y.parse().map_err(|_| bad_key(key))?;
    if y.to_string().len() == 4 && (2000..=2100).contains(&y) {
        Ok(y)
    } else {
        Err(bad_key(key))
    }
}

impl Period {
    /// The period a key names (see [`Period::key`]), with the cut-off day for month-based ones.
    pub fn parse(key: &str, cutoff_day: u8) -> Result<Period> {
        check_cutoff(cutoff_day)?;
        let key = key.trim();
        if let Some((a, b)) = key.split_once('~') {
            let (from, to) = (
                parse_date(a.trim()).map_err(|_| bad_key(key))?,
                parse_date(b.trim()).map_err(|_| bad_key(key))?,
            );
            if to < from {
                return Err(RelayError::BadRequest(format!(
                    "the period {key:?} ends before it starts"
                )));
            }
            if (to - from).whole_days() >= MAX_CUSTOM_DAYS {
                return Err(RelayError::BadRequest(format!(
                    "the period {key:?} is longer than three years; choose a shorter range"
                )));
            }
            return Ok(Period::days(from, to, Span::Custom, cutoff_day));
        }
        if key.len() == 4 {
            let y = year_of(key, key)?;
            return Period::months(y, 1, 12, Span::Year, key, cutoff_day);
        }
        let (y, rest) = key.split_once('-').ok_or_else(|| bad_key(key))?;
        let y = year_of(y, key)?;
        match rest.as_bytes() {
            [b'Q', q @ b'1'..=b'4'] => {
                let q = q - b'0';
                Period::months(y, q * 3 - 2, q * 3, Span::Quarter, key, cutoff_day)
            }
            [b'H', h @ b'1'..=b'2'] => {
                let h = h - b'0';
                Period::months(y, h * 6 - 5, h * 6, Span::Half, key, cutoff_day)
            }
            [b'W', ..] => {
                let w: u8 = rest[1..].parse().map_err(|_| bad_key(key))?;
                let monday =
                    Date::from_iso_week_date(y, w, Weekday::Monday).map_err(|_| bad_key(key))?;
                let sunday = monday + time::Duration::days(6);
                Ok(Period::days(monday, sunday, Span::Week, cutoff_day))
            }
            [a, b] if a.is_ascii_digit() && b.is_ascii_digit() => {
                let m: u8 = rest.parse().map_err(|_| bad_key(key))?;
                if !(1..=12).contains(&m) {
                    return Err(bad_key(key));
                }
                Period::months(y, m, m, Span::Month, key, cutoff_day)
            }
            _ => Err(bad_key(key)),
        }
    }

    /// The report month `month` (`YYYY-MM`): from the day after the previous month's cut-off to
    /// this month's cut-off day.
    pub fn of_month(month: &str, cutoff_day: u8) -> Result<Period> {
        let p = Period::parse(month, cutoff_day)?;
        if p.span == Span::Month {
            Ok(p)
        } else {
            Err(RelayError::BadRequest(format!(
                "month {month:?} is not YYYY-MM"
            )))
        }
    }

    fn days(from: Date, to: Date, span: Span, cutoff_day: u8) -> Period {
        let key = match span {
            Span::Week => {
                let (y, w, _) = from.to_iso_week_date();
                format!("{y:04}-W{w:02}")
            }
            _ => format!("{}~{}", format_date(from), format_date(to)),
        };
        Period {
            span,
            key,
            from: format_date(from),
            to: format_date(to),
            cutoff_day,
        }
    }

    /// Report months `first..=last` of year `y`, as one period.
    fn months(
        y: i32,
        first: u8,
        last: u8,
        span: Span,
        key: &str,
        cutoff_day: u8,
    ) -> Result<Period> {
        let bad = || bad_key(key);
        let cut = |y: i32, m: u8| -> Result<Date> {
            Date::from_calendar_date(y, Month::try_from(m).map_err(|_| bad())?, cutoff_day)
                .map_err(|_| bad())
        };
        let to = cut(y, last)?;
        let before = if first == 1 {
            cut(y - 1, 12)?
        } else {
            cut(y, first - 1)?
        };
        Ok(Period {
            span,
            key: key.to_owned(),
            from: format_date(before.next_day().ok_or_else(bad)?),
            to: format_date(to),
            cutoff_day,
        })
    }

    /// The report month `today` falls in: after the cut-off day, next month's report.
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

    /// The period of this span holding `day` (a custom span has none: the month is given).
    pub fn of_span(span: Span, day: Date, cutoff_day: u8) -> Result<Period> {
        let month = Period::containing(day, cutoff_day)?;
        let (y, m) = month.year_month();
        let key = match span {
            Span::Week => {
                let (y, w, _) = day.to_iso_week_date();
                format!("{y:04}-W{w:02}")
            }
            Span::Month | Span::Custom => return Ok(month),
            Span::Quarter => format!("{y:04}-Q{}", (m - 1) / 3 + 1),
            Span::Half => format!("{y:04}-H{}", (m - 1) / 6 + 1),
            Span::Year => format!("{y:04}"),
        };
        Period::parse(&key, cutoff_day)
    }

    /// The year and month of the period's last report month (or of its last day).
    pub fn year_month(&self) -> (i32, u8) {
        let to = parse_date(&self.to).unwrap_or(time::macros::date!(2000 - 01 - 01));
        (to.year(), u8::from(to.month()))
    }

    /// The previous period of the same span (a custom range: the same number of days before).
    pub fn previous(&self) -> Result<Period> {
        let from = parse_date(&self.from)?;
        let day = from.previous_day().unwrap_or(from);
        if self.span == Span::Custom {
            let to = parse_date(&self.to)?;
            let len = to - from;
            return Ok(Period::days(day - len, day, Span::Custom, self.cutoff_day));
        }
        Period::of_span(self.span, day, self.cutoff_day)
    }

    pub fn next(&self) -> Result<Period> {
        let to = parse_date(&self.to)?;
        let day = to.next_day().unwrap_or(to);
        if self.span == Span::Custom {
            let from = parse_date(&self.from)?;
            let len = to - from;
            return Ok(Period::days(day, day + len, Span::Custom, self.cutoff_day));
        }
        Period::of_span(self.span, day, self.cutoff_day)
    }

    /// The report months this period is made of, when it is made of whole months.
    pub fn months_in(&self) -> Vec<Period> {
        if matches!(self.span, Span::Week | Span::Custom) {
            return vec![];
        }
        let mut out = Vec::new();
        let mut p = Period::parse(&self.key, self.cutoff_day)
            .and_then(|p| Period::containing(parse_date(&p.from)?, p.cutoff_day));
        while let Ok(m) = p {
            if m.to > self.to {
                break;
            }
            p = m.next();
            out.push(m);
        }
        out
    }

    /// Milliseconds of the period's first instant and of the instant after its last day.
    pub fn bounds_ms(&self) -> Result<(i64, i64)> {
        let from = parse_date(&self.from)?;
        let to = parse_date(&self.to)?;
        Ok((
            start_of_day_ms(from),
            start_of_day_ms(to.next_day().unwrap_or(to)),
        ))
    }

    /// The period's name as a person reads it: 2026年11月, 2026年第四季度, 2026年上半年, 2026年,
    /// 2026年第49周, 2026年10月1日至10月31日.
    pub fn title(&self, en: bool) -> String {
        let (y, m) = self.year_month();
        let rest = self.key.split_once('-').map_or("", |r| r.1);
        let n: u8 = rest.get(1..).and_then(|s| s.parse().ok()).unwrap_or(0);
        if en {
            return match self.span {
                Span::Month => {
                    let name = Month::try_from(m).map_or(String::new(), |m| m.to_string());
                    format!("{name} {y}")
                }
                Span::Week => format!("Week {n} of {}", &self.key[..4]),
                Span::Quarter => format!("Q{n} {y}"),
                Span::Half => format!("{} half of {y}", if n == 1 { "First" } else { "Second" }),
                Span::Year => format!("{y}"),
                Span::Custom => format!("{} to {}", self.from, self.to),
            };
        }
        match self.span {
            Span::Month => format!("{y}年{m}月"),
            Span::Week => format!("{}年第{n}周", &self.key[..4]),
            Span::Quarter => {
                let q = ["一", "二", "三", "四"][usize::from(n.clamp(1, 4)) - 1];
                format!("{y}年第{q}季度")
            }
            Span::Half => format!("{y}年{}", if n == 1 { "上半年" } else { "下半年" }),
            Span::Year => format!("{y}年"),
            Span::Custom => format!("{}至{}", day_zh(&self.from, true), day_zh(&self.to, true)),
        }
    }

    /// The report's kind as a person reads it: 月报, 周报, 季报, 半年报, 年报, 专项统计.
    pub fn kind_title(&self, en: bool) -> &'static str {
        match (self.span, en) {
            (Span::Week, false) => "周报",
            (Span::Month, false) => "月报",
            (Span::Quarter, false) => "季报",
            (Span::Half, false) => "半年报",
            (Span::Year, false) => "年报",
            (Span::Custom, false) => "专项统计",
            (Span::Week, true) => "Weekly report",
            (Span::Month, true) => "Monthly report",
            (Span::Quarter, true) => "Quarterly report",
            (Span::Half, true) => "Half-year report",
            (Span::Year, true) => "Annual report",
            (Span::Custom, true) => "Report",
        }
    }

    /// "2026年11月（10月29日至11月28日）".
    pub fn title_with_days(&self, en: bool) -> String {
        if self.span == Span::Custom {
            return self.title(en);
        }
        if en {
            format!("{} ({} to {})", self.title(en), self.from, self.to)
        } else {
            format!(
                "{}（{}至{}）",
                self.title(en),
                day_zh(&self.from, false),
                day_zh(&self.to, false)
            )
        }
    }
}

/// "10月29日" (or "2026年10月29日" with the year).
fn day_zh(day: &str, with_year: bool) -> String {
    parse_date(day).map_or_else(
        |_| day.to_owned(),
        |d| {
            let md = format!("{}月{}日", u8::from(d.month()), d.day());
            if with_year {
                format!("{}年{md}", d.year())
            } else {
                md
            }
        },
    )
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

fn meta(conn: &Connection, key: &str) -> Result<Option<String>> {
    Ok(conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()?)
}

/// The configured cut-off day (`gridsafe-server admin report-cutoff`), or the default.
pub fn cutoff_day(conn: &Connection) -> Result<u8> {
    Ok(meta(conn, "report_cutoff_day")?
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CUTOFF_DAY))
}

pub fn set_cutoff_day(conn: &Connection, day: u8) -> Result<()> {
    check_cutoff(day)?;
    conn.execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES ('report_cutoff_day', ?1)",
        [day.to_string()],
    )?;
    Ok(())
}

/// The last year whose major hazards count as stock (`gridsafe-server admin report-stock-year`):
/// the town plan's 2024 unless set ("2024年及以前排查发现的重大事故隐患存量").
pub fn stock_year(conn: &Connection) -> Result<i32> {
    Ok(meta(conn, "report_stock_year")?
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_STOCK_YEAR))
}

pub fn set_stock_year(conn: &Connection, year: i32) -> Result<()> {
    if !(2000..=2100).contains(&year) {
        return Err(RelayError::BadRequest(format!(
            "the stock year must be a year such as 2024, not {year}"
        )));
    }
    conn.execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES ('report_stock_year', ?1)",
        [year.to_string()],
    )?;
    Ok(())
}
