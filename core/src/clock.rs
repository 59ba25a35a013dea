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
    pub fn tick(self, wall_ms: i64) -> Hlc {
        if wall_ms > self.ms {
            Hlc {
                ms: wall_ms,
                counter: 0,
            }
        } else {
            Hlc {
                ms: self.ms,
                counter: self.counter + 1,
            }
        }
    }
    /// Fold in a reading observed from another replica.
    pub fn observe(self, other: Hlc) -> Hlc {
        self.max(other)
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
