//! Time: UTC instants, Shanghai calendar dates, and the hybrid logical clock that orders
//! lifecycle events identically on every replica.

use serde::{Deserialize, Serialize};
pub use time::Month;
use time::{Date, OffsetDateTime, UtcOffset, format_description::well_known::Rfc3339};

use crate::error::{Error, Result};

/// Shanghai has had no daylight saving since 1991: a fixed offset is exact and needs no tz database.
pub const SHANGHAI: UtcOffset = match UtcOffset::from_hms(8, 0, 0) {
    Ok(o) => o,
    Err(_) => panic!("static offset"),
};

pub fn now_ms() -> i64 {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// RFC 3339 in Shanghai local time, e.g. `2026-11-30T15:09:00.123+08:00`.
pub fn ms_to_rfc3339(ms: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
        .to_offset(SHANGHAI);
    t.format(&Rfc3339).unwrap_or_default()
}

/// What a person reads: Shanghai local time to the minute, e.g. `2026-12-03 15:52`.
pub fn ms_to_minute(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
        .to_offset(SHANGHAI)
        .format(time::macros::format_description!(
            "[year]-[month]-[day] [hour]:[minute]"
        ))
        .unwrap_or_default()
}

pub fn ms_to_date(ms: i64) -> Date {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
        .to_offset(SHANGHAI)
        .date()
}

pub fn today() -> Date {
    ms_to_date(now_ms())
}

pub fn parse_date(s: &str) -> Result<Date> {
    Date::parse(s, time::macros::format_description!("[year]-[month]-[day]"))
        .map_err(|_| Error::invalid(format!("not a date (YYYY-MM-DD): {s:?}")))
}

pub fn format_date(d: Date) -> String {
    d.format(time::macros::format_description!("[year]-[month]-[day]"))
        .unwrap_or_default()
}

/// A hybrid logical clock reading. Ordered by wall time, then counter; ties between replicas are
/// broken by the actor id where events are sorted.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Hlc {
    pub ms: i64,
    pub counter: u32,
}

impl Hlc {
    /// The next local reading: never behind the wall clock, never behind anything seen before.
    /// At the counter's end it moves into the next millisecond: never wraps back, never panics.
    pub fn tick(self, wall_ms: i64) -> Hlc {
        if wall_ms > self.ms {
            Hlc {
                ms: wall_ms,
                counter: 0,
            }
        } else if let Some(counter) = self.counter.checked_add(1) {
            Hlc {
                ms: self.ms,
                counter,
            }
        } else {
            Hlc {
                ms: self.ms.saturating_add(1),
                counter: 0,
            }
        }
    }
    /// Fold in a reading observed from another replica.
    pub fn observe(self, other: Hlc) -> Hlc {
        self.max(other)
    }

    /// [`Hlc::observe`], but never more than `bound_ms` ahead of this replica's wall clock: a
    /// reading from a clock set to next year must not drag this one along. Returns the new
    /// reading and whether `other` was beyond the bound (this clock, or the other, is wrong).
    pub fn observe_bounded(self, other: Hlc, wall_ms: i64, bound_ms: i64) -> (Hlc, bool) {
        let limit = wall_ms.saturating_add(bound_ms);
        if other.ms > limit {
            let capped = Hlc {
                ms: limit,
                counter: 0,
            };
            (self.max(capped), true)
        } else {
            (self.observe(other), false)
        }
    }
}

/// The first millisecond of a Shanghai calendar day (month and year boundaries of the reports).
pub fn start_of_day_ms(d: Date) -> i64 {
    let t = d.midnight().assume_offset(SHANGHAI);
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_person_reads_shanghai_time_to_the_minute() {
        // 2025-12-03 07:52:31 UTC
        assert_eq!(ms_to_minute(1_764_748_351_000), "2025-12-03 15:52");
    }

    #[test]
    fn the_counter_never_wraps_and_a_far_reading_is_not_adopted() {
        let end = Hlc {
            ms: 5,
            counter: u32::MAX,
        };
        assert_eq!(end.tick(3), Hlc { ms: 6, counter: 0 });
        assert!(end.tick(3) > end, "never back in time");
        let now = 1_000_000;
        let far = Hlc {
            ms: now + 5 * 365 * 86_400_000,
            counter: 0,
        };
        let (h, wrong) = Hlc::default().observe_bounded(far, now, 600_000);
        assert!(wrong);
        assert_eq!(h.ms, now + 600_000);
        let near = Hlc {
            ms: now + 1000,
            counter: 2,
        };
        assert_eq!(
            Hlc::default().observe_bounded(near, now, 600_000),
            (near, false)
        );
    }

    #[test]
    fn hlc_never_goes_back() {
        let a = Hlc {
            ms: 1000,
            counter: 3,
        };
        assert_eq!(
            a.tick(900),
            Hlc {
                ms: 1000,
                counter: 4
            }
        );
        assert_eq!(
            a.tick(2000),
            Hlc {
                ms: 2000,
                counter: 0
            }
        );
        assert_eq!(
            a.observe(Hlc {
                ms: 5000,
                counter: 1
            })
            .tick(10),
            Hlc {
                ms: 5000,
                counter: 2
            }
        );
    }

    #[test]
    fn dates_are_shanghai_dates() {
        // 2026-11-30T17:00Z is already 2026-12-01 in Shanghai.
        let ms = OffsetDateTime::parse("2026-11-30T17:00:00Z", &Rfc3339)
            .unwrap()
            .unix_timestamp()
            * 1000;
        assert_eq!(format_date(ms_to_date(ms)), "2026-12-01");
        assert!(parse_date("2026-13-01").is_err());
    }
}
