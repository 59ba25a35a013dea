//! The venue owner's self-report channel on the relay: owner keys per device, checking owner
//! links, the owner's page data, receiving after photos and notes (rate- and size-limited), and
//! the lead department's decision on them (accepted as a lifecycle `owner_claim`, or rejected with
//! a reason the owner sees).

mod findings;
mod notice;

pub use findings::OwnerFinding;
pub(crate) use findings::template_title;

use gridsafe_core::directory::User;
use gridsafe_core::lifecycle::EventKind;
use gridsafe_core::owner_link::{self, OwnerLink};
use gridsafe_core::policy::{self};
use rand_core::{OsRng, RngCore};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use crate::store::{Device, Record, RelayError, RelayStore};

type Result<T> = std::result::Result<T, RelayError>;

/// Reports one venue may send in 24 hours (a page left open or a script cannot flood the office).
pub const REPORTS_PER_DAY: i64 = 30;
/// Largest photo an owner may upload.
pub const MAX_PHOTO_BYTES: usize = 15 * 1024 * 1024;
/// Longest note, in characters.
pub const MAX_NOTE_CHARS: usize = 500;

/// A hazard as its owner sees it: what to fix, by when, on what basis, and what they sent.
#[derive(Clone, Debug, Serialize)]
pub struct OwnerHazard {
    pub id: String,
    pub title_zh: String,
    pub title_en: String,
    pub finding_zh: String,
    pub finding_en: String,
    pub basis: String,
    pub deadline: String,
    /// The state (code; pages show its label).
    pub state: String,
    /// The owner may still send a rectification (the hazard awaits one).
    pub open_for_report: bool,
    /// Closed (销号): the day, and the department's remark when it gave one.
    pub closed_on: Option<String>,
    pub remark: Option<String>,
    pub reports: Vec<OwnerReport>,
}

#[derive(Clone, Debug, Serialize)]
pub struct OwnerReport {
    pub id: String,
    pub hazard_id: String,
    pub photo: String,
    pub thumb: String,
    pub note: String,
    pub received: String,
    /// pending / accepted / rejected
    pub status: String,
    pub reason: Option<String>,
    pub decided_by: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct OwnerPage {
    pub venue_name: String,
    pub venue_address: String,
    pub expires: String,
    pub hazards: Vec<OwnerHazard>,
}

fn report_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<OwnerReport> {
    Ok(OwnerReport {
        id: r.get(0)?,
        hazard_id: r.get(1)?,
        photo: r.get(2)?,
        thumb: r.get(3)?,
        note: r.get(4)?,
        received: gridsafe_core::clock::ms_to_minute(r.get(5)?),
        status: r.get(6)?,
        reason: r.get(7)?,
        decided_by: r.get(8)?,
    })
}

const REPORT_COLUMNS: &str =
    "id, hazard_id, photo, thumb, note, received_ms, status, reason, decided_by";

impl RelayStore {
    /// The device's owner key, created for devices enrolled before owner links existed.
    pub fn owner_key(&mut self, device: &Device) -> Result<String> {
        let key = self
            .db()
            .one(
                "SELECT owner_key FROM devices WHERE id = ?1",
                crate::vals![&device.id],
            )?
            .map(|r| r.opt_text(0))
            .transpose()?
            .flatten();
        if let Some(k) = key {
            return Ok(k);
        }
        let mut raw = [0u8; 32];
        OsRng.fill_bytes(&mut raw);
        let k = hex::encode(raw);
        let mut db = self.db();
        db.exec(
            "UPDATE devices SET owner_key = ?2 WHERE id = ?1 AND owner_key IS NULL",
            crate::vals![&device.id, k],
        )?;
        // Another request (or relay) may have set one first: the stored key is the one.
        db.one(
            "SELECT owner_key FROM devices WHERE id = ?1",
            crate::vals![&device.id],
        )?
        .ok_or_else(|| RelayError::NotFound(format!("device {}", device.id)))?
        .text(0)
    }

    /// Checks an owner link: the signing device exists and is not revoked, the signature and the
    /// expiry hold, no revocation of the venue's links came after it was issued, and the device's
    /// user still covers the venue. Every failure reads the same to the owner (nothing about the
    /// venue is revealed); the log keeps the reason.
    pub fn check_owner_link(&mut self, token: &str) -> Result<OwnerLink> {
        let refuse = |why: String| {
            tracing::info!(reason = %why, "owner link refused");
            RelayError::Forbidden("此链接无效或已过期，请联系网格员 This link is invalid or has expired; ask your grid worker".into())
        };
        let claimed = owner_link::parse(token).map_err(|e| refuse(e.to_string()))?;
        let row: Option<(Option<String>, Option<i64>, String)> = self
            .db()
            .one(
                "SELECT owner_key, revoked_ms, user_id FROM devices WHERE id = ?1",
                crate::vals![&claimed.device_id],
            )?
            .map(|r| Ok::<_, RelayError>((r.opt_text(0)?, r.opt_int(1)?, r.text(2)?)))
            .transpose()?;
        let (key, revoked, user_id) =
            row.ok_or_else(|| refuse(format!("unknown device {}", claimed.device_id)))?;
        let key = key.ok_or_else(|| refuse("device has no owner key".into()))?;
        if revoked.is_some() {
            return Err(refuse(format!("device {} is revoked", claimed.device_id)));
        }
        let link = owner_link::verify(&key, token, gridsafe_core::clock::now_ms())
            .map_err(|e| refuse(e.to_string()))?;
        let revoked_at: Option<i64> = self
            .conn
            .query_row(
                "SELECT revoked_ms FROM owner_link_revocations WHERE venue_id = ?1",
                params![link.venue_id],
                |r| r.get(0),
            )
            .optional()?;
        if revoked_at.is_some_and(|t| link.issued_ms <= t) {
            return Err(refuse(format!(
                "links of venue {} were revoked",
                link.venue_id
            )));
        }
        let grid: Option<String> = self
            .conn
            .query_row(
                "SELECT grid_id FROM venues_idx WHERE id = ?1",
                params![link.venue_id],
                |r| r.get(0),
            )
            .optional()?;
        let grid =
            grid.ok_or_else(|| refuse(format!("venue {} is not on the relay", link.venue_id)))?;
        let user = self
            .dir
            .as_ref()
            .and_then(|d| d.user(&user_id))
            .cloned()
            .ok_or_else(|| refuse(format!("user {user_id} is gone")))?;
        if !policy::may_sign_owner_link(&user, &grid) {
            return Err(refuse(format!(
                "venue {} is outside {user_id}'s scope",
                link.venue_id
            )));
        }
        Ok(link)
    }

    /// What the owner's page shows for a checked link.
    pub fn owner_page(&mut self, link: &OwnerLink) -> Result<OwnerPage> {
        let venue = self.load_venue(&link.venue_id)?;
        let (venue_name, venue_address) = (venue.name, venue.address);
        let ids: Vec<String> = {
            let mut stmt = self.conn.prepare_cached(
                // Open ones, then those closed in the last 90 days (the result the page promised).
                "SELECT id FROM hazards_idx WHERE venue_id = ?1
                   AND (is_open = 1 OR (state = 'closed' AND updated_ms > ?2))
                 ORDER BY is_open DESC, due_date IS NULL, due_date, found_ms",
            )?;
            let since = gridsafe_core::clock::now_ms() - 90 * 86_400_000;
            stmt.query_map(params![link.venue_id, since], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?
        };
        let mut hazards = Vec::new();
        for id in ids {
            let Some(loaded) = self.load(&id)? else {
                continue;
            };
            let Record::Hazard(h, evs) = &loaded.place.record else {
                continue;
            };
            let status = self.fold_hazard(h, evs)?;
            let reports = self.owner_reports(&id)?;
            let closing = status
                .history
                .iter()
                .rev()
                .find(|e| e.applied && e.kind == "close");
            let closed_on = (status.state == gridsafe_core::lifecycle::State::Closed).then(|| {
                status
                    .closed_at
                    .as_deref()
                    .map_or_else(String::new, |t| t.get(..10).unwrap_or(t).to_owned())
            });
            let remark = closing.and_then(|e| {
                [e.reason.as_deref(), e.text.as_deref()]
                    .into_iter()
                    .flatten()
                    .map(str::trim)
                    .find(|t| !t.is_empty())
                    .map(str::to_owned)
            });
            hazards.push(OwnerHazard {
                id: h.id.clone(),
                title_zh: h.title_zh.clone(),
                title_en: h.title_en.clone(),
                finding_zh: h.finding_zh.clone(),
                finding_en: h.finding_en.clone(),
                basis: gridsafe_core::citations::printed(h).join("；"),
                deadline: status.deadline.clone().unwrap_or_else(|| "—".into()),
                state: status.state.as_str().to_owned(),
                open_for_report: status.state.awaits_rectification(),
                closed_on,
                remark,
                reports,
            });
        }
        Ok(OwnerPage {
            venue_name,
            venue_address,
            expires: gridsafe_core::clock::ms_to_minute(link.expires_ms),
            hazards,
        })
    }

    /// Before taking the photo in: the hazard belongs to the link's venue and awaits a
    /// rectification, the note is short enough, and the venue has not used its daily allowance.
    pub fn owner_report_allowed(
        &mut self,
        link: &OwnerLink,
        hazard_id: &str,
        note: &str,
    ) -> Result<()> {
        gridsafe_core::store::check_id("hazard", hazard_id)?;
        if note.chars().count() > MAX_NOTE_CHARS {
            return Err(RelayError::BadRequest(format!(
                "说明不超过 {MAX_NOTE_CHARS} 字 The note is longer than {MAX_NOTE_CHARS} characters"
            )));
        }
        let row: Option<(String, bool)> = self
            .conn
            .query_row(
                "SELECT venue_id, awaiting FROM hazards_idx WHERE id = ?1",
                params![hazard_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        match row {
            Some((v, _)) if v != link.venue_id => {
                return Err(RelayError::Forbidden(
                    "此隐患不属于本场所 This hazard is not this venue's".into(),
                ));
            }
            None => {
                return Err(RelayError::Forbidden(
                    "此隐患不属于本场所 This hazard is not this venue's".into(),
                ));
            }
            Some((_, false)) => {
                return Err(RelayError::Refused(
                    "此隐患当前无需上报整改 This hazard is not waiting for a rectification".into(),
                ));
            }
            Some(_) => {}
        }
        let recent: i64 = self.conn.query_row(
            "SELECT count(*) FROM owner_reports WHERE venue_id = ?1 AND received_ms > ?2",
            params![link.venue_id, gridsafe_core::clock::now_ms() - 86_400_000],
            |r| r.get(0),
        )?;
        if recent >= REPORTS_PER_DAY {
            return Err(RelayError::TooMany(format!(
                "今日上报次数已达上限({REPORTS_PER_DAY}) This venue sent {REPORTS_PER_DAY} reports in 24 hours; try again tomorrow"
            )));
        }
        Ok(())
    }

    /// Records an owner's report whose photo the caller has processed and stored as blobs. The
    /// checks run again here, under the store lock: the hazard or the day's allowance may have
    /// changed while the photo was being processed.
    /// `photos` are the evidence copy and the thumbnail: (SHA-256, size).
    pub fn add_owner_report(
        &mut self,
        link: &OwnerLink,
        hazard_id: &str,
        photos: [(&str, u64); 2],
        note: &str,
    ) -> Result<String> {
        self.owner_report_allowed(link, hazard_id, note)?;
        let id = gridsafe_core::store::new_id();
        let now = gridsafe_core::clock::now_ms();
        self.write_tx(|st| {
            for (sha, size) in photos {
                st.db().exec(
                    "INSERT INTO blobs (sha256, size, device_id, completed_ms) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
                    crate::vals![sha, size as i64, &link.device_id, now],
                )?;
            }
            st.conn.execute(
                "INSERT INTO owner_reports (id, venue_id, hazard_id, device_id, photo, thumb, note, received_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![id, link.venue_id, hazard_id, link.device_id, photos[0].0, photos[1].0, note.trim(), now],
            )?;
            Ok(())
        })?;
        Ok(id)
    }

    /// Hazards with an owner's photo waiting for the lead department (the ledger's "业主照片待审核").
    pub fn owner_photos_pending(&self) -> Result<Vec<String>> {
        pending_owner_photos(&self.conn)
    }

    /// The owner's reports on a hazard, newest first.
    pub fn owner_reports(&self, hazard_id: &str) -> Result<Vec<OwnerReport>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT {REPORT_COLUMNS} FROM owner_reports WHERE hazard_id = ?1 ORDER BY received_ms DESC"))?;
        Ok(stmt
            .query_map(params![hazard_id], report_row)?
            .collect::<rusqlite::Result<_>>()?)
    }

    /// The lead department accepts an owner's report — recorded through core as an `owner_claim`
    /// with the owner's photo, by the reviewer's dashboard actor, so phones see it on their next
    /// sync — or rejects it with a reason the owner sees on their page.
    pub fn decide_owner_report(
        &mut self,
        user: &User,
        hazard_id: &str,
        report_id: &str,
        accept: bool,
        reason: &str,
    ) -> Result<()> {
        gridsafe_core::store::check_id("report", report_id)?;
        let report: Option<OwnerReport> = self
            .conn
            .query_row(
                &format!(
                    "SELECT {REPORT_COLUMNS} FROM owner_reports WHERE id = ?1 AND hazard_id = ?2"
                ),
                params![report_id, hazard_id],
                report_row,
            )
            .optional()?;
        let report =
            report.ok_or_else(|| RelayError::NotFound(format!("owner report {report_id}")))?;
        if report.status != "pending" {
            return Err(RelayError::Refused(format!(
                "该上报已处理 This report was already {}",
                report.status
            )));
        }
        if accept {
            let text = if report.note.is_empty() {
                "业主自查上报".to_owned()
            } else {
                format!("业主自查上报：{}", report.note)
            };
            let detail = crate::store::ActionDetail {
                text: Some(text),
                photo: Some(report.photo.clone()),
                ..Default::default()
            };
            self.web_action(user, hazard_id, EventKind::OwnerClaim, detail)?;
        } else {
            // A rejection changes no record, but it must be in the hazard's scope all the same.
            self.hazard_view(user, hazard_id)?;
            if reason.trim().is_empty() {
                return Err(RelayError::BadRequest(
                    "退回须说明理由 A rejection needs a reason the owner can act on".into(),
                ));
            }
        }
        self.conn.execute(
            "UPDATE owner_reports SET status = ?2, decided_by = ?3, decided_ms = ?4, reason = ?5 WHERE id = ?1",
            params![
                report_id,
                if accept { "accepted" } else { "rejected" },
                user.id,
                gridsafe_core::clock::now_ms(),
                Some(reason.trim()).filter(|r| !r.is_empty())
            ],
        )?;
        Ok(())
    }
}

/// Hazards with an owner's report still pending, on any connection (exports read on their own).
pub fn pending_owner_photos(conn: &rusqlite::Connection) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT DISTINCT hazard_id FROM owner_reports WHERE status = 'pending' ORDER BY hazard_id",
    )?;
    Ok(stmt
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?)
}
