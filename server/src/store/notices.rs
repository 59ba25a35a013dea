//! Rectification notices at the relay: the issuing body (set by the administrator, sent to every
//! phone), blocks of notice numbers handed to devices at sync, the register of numbers used, and
//! the numbers the office's own printed notices take (ADR 0015).

use gridsafe_core::clock::now_ms;
use gridsafe_core::directory::User;
use gridsafe_core::issuer::{ASK_BELOW, BLOCK_SIZE, Issuer, NoticeBlock};
use gridsafe_core::policy::{self, Capability};
use gridsafe_core::sync::DeviceStatus;

use super::{Device, RelayError, RelayStore, Result};
use crate::vals;

/// One block of the register: who holds it and which of its numbers were used.
#[derive(Clone, Debug)]
pub struct RegisterBlock {
    pub block: NoticeBlock,
    pub user_id: String,
    pub device_name: String,
    pub allotted_ms: i64,
    /// Numbers used, with the venue and when.
    pub used: Vec<(u32, String, i64)>,
}

impl RelayStore {
    pub fn issuer(&mut self) -> Result<Option<Issuer>> {
        let row = self.db().one("SELECT json FROM issuer WHERE id = 1", &[])?;
        match row {
            Some(r) => Ok(Some(
                serde_json::from_str(&r.text(0)?)
                    .map_err(|e| RelayError::Storage(e.to_string()))?,
            )),
            None => Ok(None),
        }
    }

    /// The administrator sets the issuing body; phones receive it on their next sync.
    pub fn set_issuer(&mut self, user: &User, issuer: Issuer) -> Result<()> {
        policy::check(user, Capability::ManageUsers).map_err(RelayError::Forbidden)?;
        issuer.validate()?;
        let json =
            serde_json::to_string(&issuer).map_err(|e| RelayError::Storage(e.to_string()))?;
        self.db().exec(
            "INSERT INTO issuer (id, json, updated_ms, updated_by) VALUES (1, ?1, ?2, ?3)
             ON CONFLICT (id) DO UPDATE SET json = excluded.json, updated_ms = excluded.updated_ms, updated_by = excluded.updated_by",
            vals![json, now_ms(), &user.id],
        )?;
        Ok(())
    }

    /// What a sync answers about notices: the issuer, a block of numbers when the phone runs low
    /// (the same block again when its answer was lost), and which reported numbers the register
    /// now holds. A reported number outside the blocks this device holds is not recorded.
    pub fn notice_answer(
        &mut self,
        device: &Device,
        status: &DeviceStatus,
    ) -> Result<(Option<Issuer>, Option<NoticeBlock>, Vec<String>)> {
        let mut recorded = Vec::new();
        for n in status.notices.iter().take(500) {
            gridsafe_core::store::check_id("venue", &n.venue_id)?;
            let held = self
                .db()
                .one(
                    "SELECT 1 FROM notice_blocks WHERE device_id = ?1 AND year = ?2 AND first <= ?3 AND last >= ?3",
                    vals![&device.id, i64::from(n.year), i64::from(n.n)],
                )?
                .is_some();
            if !held {
                tracing::warn!(device = %device.id, year = n.year, n = n.n, "reported notice number outside the device's blocks");
                continue;
            }
            self.db().exec(
                "INSERT INTO notice_register (year, n, device_id, venue_id, issued_ms, received_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT DO NOTHING",
                vals![i64::from(n.year), i64::from(n.n), &device.id, &n.venue_id, n.issued_ms, now_ms()],
            )?;
            recorded.push(n.key());
        }
        let block = match status.notice_numbers_left {
            // Phones before numbered notices ask for nothing.
            None => None,
            Some(left) => {
                let year = gridsafe_core::clock::today().year();
                let newest = self.newest_block(&device.id, year)?;
                match newest {
                    Some(b) if b.last > status.notice_block_last => Some(b),
                    _ if left < ASK_BELOW => Some(self.allot(&device.id, year, BLOCK_SIZE)?),
                    _ => None,
                }
            }
        };
        Ok((self.issuer()?, block, recorded))
    }

    fn newest_block(&mut self, device: &str, year: i32) -> Result<Option<NoticeBlock>> {
        let row = self.db().one(
            "SELECT first, last FROM notice_blocks WHERE device_id = ?1 AND year = ?2 ORDER BY first DESC LIMIT 1",
            vals![device, i64::from(year)],
        )?;
        row.map(|r| {
            Ok(NoticeBlock {
                year,
                first: r.int(0)? as u32,
                last: r.int(1)? as u32,
            })
        })
        .transpose()
    }

    /// Hands `size` numbers of `year` to `device`, after every number handed out so far (a
    /// concurrent allotment at another relay takes the next range: the key is the range start).
    fn allot(&mut self, device: &str, year: i32, size: u32) -> Result<NoticeBlock> {
        for _ in 0..5 {
            let next = self
                .db()
                .one(
                    "SELECT coalesce(max(last), 0) + 1 FROM notice_blocks WHERE year = ?1",
                    vals![i64::from(year)],
                )?
                .map(|r| r.int(0))
                .transpose()?
                .unwrap_or(1) as u32;
            let block = NoticeBlock {
                year,
                first: next,
                last: next + size - 1,
            };
            let inserted = self.db().exec(
                "INSERT INTO notice_blocks (year, first, last, device_id, allotted_ms) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT DO NOTHING",
                vals![i64::from(year), i64::from(block.first), i64::from(block.last), device, now_ms()],
            )?;
            if inserted == 1 {
                return Ok(block);
            }
        }
        Err(RelayError::Storage(
            "could not allot notice numbers after five tries".into(),
        ))
    }

    /// The number of a notice the office prints for `venue` listing `hazards` (sorted ids): the
    /// one it took before for the same hazards, else the next of the office's own numbers.
    pub fn office_notice_number(
        &mut self,
        user: &User,
        venue: &str,
        hazards: &[String],
    ) -> Result<(i32, u32)> {
        let device = self.dashboard_device(user)?;
        let key = hazards.join(",");
        let year = gridsafe_core::clock::today().year();
        if let Some(r) = self.db().one(
            "SELECT n FROM notice_register WHERE venue_id = ?1 AND hazards = ?2 AND year = ?3 ORDER BY n DESC LIMIT 1",
            vals![venue, &key, i64::from(year)],
        )? {
            return Ok((year, r.int(0)? as u32));
        }
        let used = self
            .db()
            .one(
                "SELECT coalesce(max(r.n), 0) FROM notice_register r JOIN notice_blocks b
                   ON b.year = r.year AND r.n BETWEEN b.first AND b.last
                 WHERE b.device_id = ?1 AND b.year = ?2",
                vals![&device.id, i64::from(year)],
            )?
            .map(|r| r.int(0))
            .transpose()?
            .unwrap_or(0) as u32;
        let n = match self.newest_block(&device.id, year)? {
            Some(b) if used < b.last => used.max(b.first - 1) + 1,
            _ => self.allot(&device.id, year, 10)?.first,
        };
        self.db().exec(
            "INSERT INTO notice_register (year, n, device_id, venue_id, hazards, issued_ms, received_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
            vals![i64::from(year), i64::from(n), &device.id, venue, &key, now_ms()],
        )?;
        Ok((year, n))
    }

    /// The register of `year`: every block handed out, oldest first, with the numbers used.
    pub fn notice_register(&mut self, year: i32) -> Result<Vec<RegisterBlock>> {
        let blocks = self.db().query(
            "SELECT b.first, b.last, b.allotted_ms, d.user_id, d.name FROM notice_blocks b
             JOIN devices d ON d.id = b.device_id WHERE b.year = ?1 ORDER BY b.first",
            vals![i64::from(year)],
        )?;
        let mut out = Vec::new();
        for b in blocks {
            let (first, last) = (b.int(0)? as u32, b.int(1)? as u32);
            let used = self
                .db()
                .query(
                    "SELECT n, venue_id, issued_ms FROM notice_register WHERE year = ?1 AND n BETWEEN ?2 AND ?3 ORDER BY n",
                    vals![i64::from(year), i64::from(first), i64::from(last)],
                )?
                .iter()
                .map(|r| Ok((r.int(0)? as u32, r.text(1)?, r.int(2)?)))
                .collect::<Result<Vec<_>>>()?;
            out.push(RegisterBlock {
                block: NoticeBlock { year, first, last },
                allotted_ms: b.int(2)?,
                user_id: b.text(3)?,
                device_name: b.text(4)?,
                used,
            });
        }
        Ok(out)
    }
}
