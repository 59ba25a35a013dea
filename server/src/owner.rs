//! The venue owner's self-report channel on the relay: owner keys per device, checking owner
//! links, the owner's page data, receiving after photos and notes (rate- and size-limited), and
//! the lead department's decision on them (accepted as a lifecycle `owner_claim`, or rejected with
//! a reason the owner sees).

use gridsafe_core::directory::{Role, User};
use gridsafe_core::lifecycle::EventKind;
use gridsafe_core::owner_link::{self, OwnerLink};
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
    pub finding_zh: String,
    pub basis: String,
    pub deadline: String,
    pub state: String,
    /// The owner may still send a rectification (the hazard awaits one).
    pub open_for_report: bool,
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
        received: gridsafe_core::clock::ms_to_rfc3339(r.get(5)?),
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
        let covers = match user.role {
            Role::Inspector => user.grids.contains(&grid),
            Role::Reviewer | Role::TownOffice => true,
            Role::Admin => false,
        };
        if !covers {
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
                "SELECT id FROM hazards_idx WHERE venue_id = ?1 AND is_open = 1 ORDER BY due_date IS NULL, due_date, found_ms",
            )?;
            stmt.query_map(params![link.venue_id], |r| r.get(0))?
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
            let status =
                gridsafe_core::projection::fold_with(self.dir.as_ref(), &self.actors, h, evs);
            let reports = self.owner_reports(&id)?;
            hazards.push(OwnerHazard {
                id: h.id.clone(),
                title_zh: h.title_zh.clone(),
                finding_zh: h.finding_zh.clone(),
                basis: h.basis_refs.join("；"),
                deadline: status.deadline.clone().unwrap_or_else(|| "—".into()),
                state: status.state.label_zh().to_owned(),
                open_for_report: status.state.awaits_rectification(),
                reports,
            });
        }
        Ok(OwnerPage {
            venue_name,
            venue_address,
            expires: gridsafe_core::clock::ms_to_rfc3339(link.expires_ms),
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

    /// Ends every owner link of a venue issued until now (a lost or misused notice); phones'
    /// next notices work again.
    pub fn revoke_owner_links(&mut self, user: &User, venue_id: &str) -> Result<()> {
        gridsafe_core::store::check_id("venue", venue_id)?;
        if !matches!(user.role, Role::Reviewer | Role::TownOffice) {
            return Err(RelayError::Forbidden(
                "owner links are revoked by a lead department or the town office".into(),
            ));
        }
        self.conn.execute(
            "INSERT OR REPLACE INTO owner_link_revocations (venue_id, revoked_ms, revoked_by) VALUES (?1, ?2, ?3)",
            params![venue_id, gridsafe_core::clock::now_ms(), user.id],
        )?;
        Ok(())
    }
}

impl RelayStore {
    /// The rectification notice of a venue as the office prints it: core's notice over the
    /// relay's records, with an owner link signed by `user`'s dashboard device, under `base_url`.
    pub fn venue_notice(
        &mut self,
        user: &User,
        venue_id: &str,
        base_url: &str,
    ) -> Result<gridsafe_core::notice::Notice> {
        gridsafe_core::store::check_id("venue", venue_id)?;
        self.refresh_directory()?;
        let venue = self.load_venue(venue_id)?;
        let ids: Vec<String> = {
            let mut stmt = self
                .conn
                .prepare_cached("SELECT id FROM hazards_idx WHERE venue_id = ?1 AND is_open = 1")?;
            stmt.query_map(params![venue_id], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?
        };
        let mut hazards = Vec::new();
        for id in ids {
            if let Some(l) = self.load(&id)?
                && let Record::Hazard(h, evs) = &l.place.record
            {
                hazards.push((
                    (**h).clone(),
                    gridsafe_core::projection::fold_with(self.dir.as_ref(), &self.actors, h, evs),
                ));
            }
        }
        let covers = match user.role {
            Role::TownOffice => true,
            Role::Inspector => user.grids.contains(&venue.grid_id),
            Role::Reviewer => hazards.iter().any(|(h, _)| {
                user.department
                    .as_ref()
                    .is_some_and(|d| h.lead_depts.contains(d))
            }),
            Role::Admin => false,
        };
        if !covers {
            return Err(RelayError::Forbidden(format!(
                "venue {venue_id} is outside {}'s scope",
                user.id
            )));
        }
        let device = self.dashboard_device(user)?;
        let key = self.owner_key(&device)?;
        let now = gridsafe_core::clock::now_ms();
        let link = OwnerLink {
            device_id: device.id.clone(),
            venue_id: venue_id.to_owned(),
            issued_ms: now,
            expires_ms: now + owner_link::VALID_MS,
        };
        let url = format!(
            "{}/o/{}",
            base_url.trim_end_matches('/'),
            owner_link::sign(&key, &link)?
        );
        let inspector = hazards
            .first()
            .map_or_else(|| user.id.clone(), |(h, _)| h.found_by.clone());
        let dir = self.dir.clone().unwrap_or_default();
        Ok(gridsafe_core::notice::build(
            &dir,
            &venue,
            &hazards,
            &inspector,
            gridsafe_core::clock::today(),
            Some(url),
        )?)
    }
}

/// The template versions this build ships, parsed once (the owner's self-inspection asks their
/// items; a registered finding cites them).
static TEMPLATES: std::sync::LazyLock<Vec<gridsafe_core::template::Template>> =
    std::sync::LazyLock::new(|| {
        gridsafe_core::template::load_bundle(
            &gridsafe_core::template::bundled_sources(),
            &|_, _| None,
        )
        .unwrap_or_default()
    });

/// An item of a shipped template version, with its template.
fn template_item(
    template_id: &str,
    version: &str,
    item_id: &str,
) -> Option<(
    &'static gridsafe_core::template::Template,
    &'static gridsafe_core::template::Item,
)> {
    let t = TEMPLATES
        .iter()
        .find(|t| t.template_id == template_id && t.version == version)?;
    Some((t, t.item(item_id)?))
}

/// A self-inspection finding as the office reviews it.
#[derive(Clone, Debug, Serialize)]
pub struct OwnerFinding {
    pub id: String,
    pub venue_id: String,
    pub venue_name: String,
    pub item_id: String,
    pub question_zh: String,
    pub lead_depts: String,
    pub note: String,
    pub received: String,
    pub status: String,
    pub reason: Option<String>,
    pub hazard_id: Option<String>,
}

impl RelayStore {
    /// The venue's self-inspection questions (the items that apply to its profile).
    pub fn owner_self_check(
        &mut self,
        link: &OwnerLink,
    ) -> Result<Vec<gridsafe_core::self_report::SelfCheckItem>> {
        let venue = self.load_venue(&link.venue_id)?;
        let mut items = gridsafe_core::self_report::items(&TEMPLATES, &venue.profile);
        // The newest version of each template only.
        items.sort_by(|a, b| {
            (&a.template_id, &b.template_version).cmp(&(&b.template_id, &a.template_version))
        });
        let newest: std::collections::HashMap<String, String> = items
            .iter()
            .map(|i| (i.template_id.clone(), i.template_version.clone()))
            .rev()
            .collect();
        items.retain(|i| newest.get(&i.template_id) == Some(&i.template_version));
        Ok(items)
    }

    /// Records the items the owner marked as not met, as findings for review (all or none: an
    /// item the venue's checklist does not ask is refused by name).
    pub fn add_owner_findings(
        &mut self,
        link: &OwnerLink,
        item_ids: &[String],
        note: &str,
    ) -> Result<usize> {
        if item_ids.is_empty() {
            return Err(RelayError::BadRequest(
                "请勾选存在问题的项目 Tick the items that are not met".into(),
            ));
        }
        if note.chars().count() > MAX_NOTE_CHARS {
            return Err(RelayError::BadRequest(format!(
                "说明不超过 {MAX_NOTE_CHARS} 字 The note is longer than {MAX_NOTE_CHARS} characters"
            )));
        }
        let asked = self.owner_self_check(link)?;
        let recent: i64 = self.conn.query_row(
            "SELECT (SELECT count(*) FROM owner_reports WHERE venue_id = ?1 AND received_ms > ?2)
                  + (SELECT count(*) FROM owner_findings WHERE venue_id = ?1 AND received_ms > ?2)",
            params![link.venue_id, gridsafe_core::clock::now_ms() - 86_400_000],
            |r| r.get(0),
        )?;
        if recent + item_ids.len() as i64 > REPORTS_PER_DAY {
            return Err(RelayError::TooMany(format!(
                "今日上报次数已达上限({REPORTS_PER_DAY}) This venue's reports for today are used up"
            )));
        }
        let now = gridsafe_core::clock::now_ms();
        let tx = self.conn.transaction()?;
        for id in item_ids {
            let item = asked.iter().find(|i| &i.item_id == id).ok_or_else(|| {
                RelayError::BadRequest(format!("{id:?} is not on this venue's self-inspection"))
            })?;
            let depts = template_item(&item.template_id, &item.template_version, &item.item_id)
                .map(|(_, i)| i.lead_depts.join(","))
                .unwrap_or_default();
            tx.execute(
                "INSERT INTO owner_findings (id, venue_id, device_id, template_id, template_version, item_id, lead_depts, note, received_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    gridsafe_core::store::new_id(),
                    link.venue_id,
                    link.device_id,
                    item.template_id,
                    item.template_version,
                    item.item_id,
                    format!(",{depts},"),
                    note.trim(),
                    now
                ],
            )?;
        }
        tx.commit()?;
        Ok(item_ids.len())
    }

    /// Findings in `user`'s scope (a reviewer: items their department leads; the town office:
    /// all), pending first.
    pub fn owner_findings(&self, user: &User) -> Result<Vec<OwnerFinding>> {
        let (clause, arg) = match user.role {
            Role::TownOffice => ("1 = 1", String::new()),
            Role::Reviewer => (
                "f.lead_depts LIKE ?1",
                format!("%,{},%", user.department.clone().unwrap_or_default()),
            ),
            _ => {
                return Err(RelayError::Forbidden(
                    "self-inspection findings are reviewed by the lead departments and the town office".into(),
                ));
            }
        };
        let sql = format!(
            "SELECT f.id, f.venue_id, coalesce(v.name, ''), f.template_id, f.template_version, f.item_id, f.lead_depts, f.note, f.received_ms,
                    f.status, f.reason, f.hazard_id
             FROM owner_findings f LEFT JOIN venues_idx v ON v.id = f.venue_id
             WHERE {clause} ORDER BY f.status != 'pending', f.received_ms DESC LIMIT 300"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let params: Vec<String> = if arg.is_empty() { vec![] } else { vec![arg] };
        let rows = stmt.query_map(rusqlite::params_from_iter(params.iter()), |r| {
            let (t, v, item): (String, String, String) = (r.get(3)?, r.get(4)?, r.get(5)?);
            let question =
                template_item(&t, &v, &item).map_or_else(|| item.clone(), |(_, i)| i.q_zh.clone());
            Ok(OwnerFinding {
                id: r.get(0)?,
                venue_id: r.get(1)?,
                venue_name: r.get(2)?,
                item_id: item,
                question_zh: question,
                lead_depts: r.get::<_, String>(6)?.trim_matches(',').to_owned(),
                note: r.get(7)?,
                received: gridsafe_core::clock::ms_to_rfc3339(r.get(8)?),
                status: r.get(9)?,
                reason: r.get(10)?,
                hazard_id: r.get(11)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Registers a reviewed finding as a hazard (source self_report; written by the reviewer's
    /// dashboard device, so the grid's phones receive it) or dismisses it with a reason.
    pub fn decide_owner_finding(
        &mut self,
        user: &User,
        finding_id: &str,
        register: bool,
        reason: &str,
    ) -> Result<Option<String>> {
        gridsafe_core::store::check_id("finding", finding_id)?;
        let row: Option<(String, String, String, String, String, String)> = self
            .conn
            .query_row(
                "SELECT venue_id, template_id, template_version, item_id, note, status FROM owner_findings WHERE id = ?1",
                params![finding_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
            )
            .optional()?;
        let (venue_id, t, v, item_id, note, status) =
            row.ok_or_else(|| RelayError::NotFound(format!("finding {finding_id}")))?;
        if status != "pending" {
            return Err(RelayError::Refused(format!(
                "该发现已处理 This finding was already {status}"
            )));
        }
        if !self
            .owner_findings(user)?
            .iter()
            .any(|f| f.id == finding_id)
        {
            return Err(RelayError::Forbidden(format!(
                "finding {finding_id} is outside {}'s scope",
                user.id
            )));
        }
        let mut hazard_id = None;
        if register {
            let (template, item) = template_item(&t, &v, &item_id).ok_or_else(|| {
                RelayError::NotFound(format!("item {item_id} of template {t}@{v}"))
            })?;
            let venue = self.load_venue(&venue_id)?;
            let device = self.dashboard_device(user)?;
            let actor = crate::store::dashboard_actor(&device)?;
            let now = gridsafe_core::clock::now_ms();
            let id = gridsafe_core::store::new_id();
            let header = gridsafe_core::self_report::hazard_header(
                template,
                item,
                &venue,
                &note,
                id.clone(),
                &user.id,
                now,
            );
            let reg = gridsafe_core::lifecycle::event(
                gridsafe_core::store::new_id(),
                EventKind::Register,
                gridsafe_core::clock::Hlc {
                    ms: now,
                    counter: 0,
                },
            );
            let mut doc = gridsafe_core::records::new_hazard_doc(&actor, &header, &reg)?;
            // The rules decide, as for any registration, before anything is written.
            let (_, evs) = gridsafe_core::records::read_hazard(&doc, &id)?;
            let status = gridsafe_core::projection::fold_with(
                self.dir.as_ref(),
                &self.actors,
                &header,
                &evs,
            );
            if status.state.as_str() == "draft" {
                let why = status
                    .history
                    .first()
                    .and_then(|e| e.refusal.clone())
                    .map_or_else(String::new, |r| format!("{} / {}", r.zh, r.en));
                return Err(RelayError::Refused(format!("registration refused: {why}")));
            }
            self.push_as_dashboard(
                &device,
                vec![(crate::store::whole_doc(&mut doc, &id, "hazard"), None)],
            )?;
            hazard_id = Some(id);
        } else if reason.trim().is_empty() {
            return Err(RelayError::BadRequest(
                "驳回须说明理由 A dismissal needs a reason".into(),
            ));
        }
        self.conn.execute(
            "UPDATE owner_findings SET status = ?2, decided_by = ?3, decided_ms = ?4, reason = ?5, hazard_id = ?6 WHERE id = ?1",
            params![
                finding_id,
                if register { "registered" } else { "dismissed" },
                user.id,
                gridsafe_core::clock::now_ms(),
                Some(reason.trim()).filter(|r| !r.is_empty()),
                hazard_id
            ],
        )?;
        Ok(hazard_id)
    }
}
