//! Rectification notices on the phone: the issuing body the relay sent, the blocks of numbers it
//! handed out, and the number each notice takes — offline, unique town-wide, the same number
//! when the same notice is printed again (ADR 0015).

use rusqlite::{OptionalExtension, params};

use super::{Store, check_id};
use crate::error::{Error, Result};
use crate::issuer::{ASK_BELOW, IssuedNotice, Issuer};
use crate::sync::SyncResponse;

impl Store {
    /// The issuing body, as the relay last sent it (`None` before the first sync with one).
    pub fn issuer(&self) -> Result<Option<Issuer>> {
        Ok(match self.meta("issuer")? {
            Some(j) => Some(serde_json::from_str(&j)?),
            None => None,
        })
    }

    /// Numbers left for this year's notices, and the last number of the newest block held.
    pub fn notice_numbers_left(&self) -> Result<(u32, u32)> {
        let year = self.today().year();
        let left: i64 = self.conn.query_row(
            "SELECT coalesce(sum(last - next + 1), 0) FROM notice_blocks WHERE year = ?1 AND next <= last",
            params![year],
            |r| r.get(0),
        )?;
        let newest: i64 = self.conn.query_row(
            "SELECT coalesce(max(last), 0) FROM notice_blocks WHERE year = ?1",
            params![year],
            |r| r.get(0),
        )?;
        Ok((left as u32, newest as u32))
    }

    /// When this phone runs low on notice numbers, what the worker should do before a day's
    /// visits (in words); `None` while enough are left.
    pub fn notice_numbers_warning(&self) -> Result<Option<String>> {
        let left = self.notice_numbers_left()?.0;
        Ok(match left {
            0 => Some(
                "本机没有整改通知书编号了：请联网同步领取，再出发检查 / no notice numbers left: sync to receive some before the visits"
                    .into(),
            ),
            n if n < ASK_BELOW / 2 => Some(format!(
                "本机仅剩 {n} 个整改通知书编号：请尽快联网同步领取 / only {n} notice numbers left: sync soon to receive more"
            )),
            _ => None,
        })
    }

    /// Numbers given to notices that the relay's register does not hold yet.
    pub(super) fn unreported_notices(&self) -> Result<Vec<IssuedNotice>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT year, n, venue_id, issued_ms FROM notices_issued WHERE reported = 0 ORDER BY year, n LIMIT 500",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(IssuedNotice {
                year: r.get(0)?,
                n: r.get(1)?,
                venue_id: r.get(2)?,
                issued_ms: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Keeps what the relay answered about notices: the issuer, a new block, and which reported
    /// numbers its register now holds.
    pub(super) fn apply_notice_answer(
        tx: &rusqlite::Transaction<'_>,
        resp: &SyncResponse,
    ) -> Result<()> {
        if let Some(i) = &resp.issuer {
            tx.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('issuer', ?1)",
                params![serde_json::to_string(i)?],
            )?;
        }
        if let Some(b) = resp.notice_block {
            if b.first == 0 || b.last < b.first {
                return Err(Error::invalid(format!(
                    "sync response: notice numbers {}–{} are not a block",
                    b.first, b.last
                )));
            }
            tx.execute(
                "INSERT OR IGNORE INTO notice_blocks (year, first, last, next) VALUES (?1, ?2, ?3, ?2)",
                params![b.year, b.first, b.last],
            )?;
        }
        for key in &resp.notices_recorded {
            let Some((y, n)) = key.split_once('-') else {
                continue;
            };
            if let (Ok(y), Ok(n)) = (y.parse::<i32>(), n.parse::<u32>()) {
                tx.execute(
                    "UPDATE notices_issued SET reported = 1 WHERE year = ?1 AND n = ?2",
                    params![y, n],
                )?;
            }
        }
        Ok(())
    }

    /// The number of the notice listing `hazards` (sorted ids) at `venue_id`: the one it was
    /// given before if it lists the same hazards, else the next of this phone's numbers. A phone
    /// with none left says what to do.
    pub(super) fn notice_number_for(
        &mut self,
        venue_id: &str,
        hazards: &[String],
        by: &str,
    ) -> Result<(i32, u32)> {
        check_id("venue", venue_id)?;
        let key = hazards.join(",");
        let year = self.today().year();
        let tx = self.conn.unchecked_transaction()?;
        let given: Option<(i32, u32)> = tx
            .query_row(
                "SELECT year, n FROM notices_issued WHERE venue_id = ?1 AND hazards = ?2 AND year = ?3
                 ORDER BY n DESC LIMIT 1",
                params![venue_id, key, year],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        if let Some(g) = given {
            return Ok(g);
        }
        let block: Option<(u32, u32)> = tx
            .query_row(
                "SELECT first, next FROM notice_blocks WHERE year = ?1 AND next <= last ORDER BY first LIMIT 1",
                params![year],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((first, n)) = block else {
            return Err(Error::invalid(
                "本机的整改通知书编号已用完：请联网同步，领取新的编号后再出具通知书 / this phone has no notice numbers left: sync to receive a new block before issuing a notice",
            ));
        };
        tx.execute(
            "UPDATE notice_blocks SET next = next + 1 WHERE year = ?1 AND first = ?2",
            params![year, first],
        )?;
        tx.execute(
            "INSERT INTO notices_issued (year, n, venue_id, hazards, issued_ms, issued_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![year, n, venue_id, key, self.now(), by],
        )?;
        tx.commit()?;
        Ok((year, n))
    }
}
