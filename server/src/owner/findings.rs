//! The owner's self-check (自查): findings the owner reports from the applicable checklist items,
//! reviewed by the lead department into hazards or dismissed.

use super::*;
use crate::store::{RelayError, RelayStore};
use gridsafe_core::directory::User;
use gridsafe_core::lifecycle::EventKind;
use gridsafe_core::owner_link::OwnerLink;
use gridsafe_core::policy::{self, Capability, HazardScope};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;

/// The template versions this build ships, parsed once (the owner's self-inspection asks their
/// items; a registered finding cites them).
pub(super) static TEMPLATES: std::sync::LazyLock<Vec<gridsafe_core::template::Template>> =
    std::sync::LazyLock::new(|| {
        gridsafe_core::template::load_bundle(
            &gridsafe_core::template::bundled_sources(),
            &|_, _| None,
        )
        .unwrap_or_default()
    });

/// A shipped checklist's title (zh, en): the given version's, else the newest shipped one's
/// (a record made with a version this build no longer ships still names its checklist).
pub(crate) fn template_title(
    template_id: &str,
    version: &str,
) -> Option<(&'static str, &'static str)> {
    let same = || TEMPLATES.iter().filter(|t| t.template_id == template_id);
    let t = same()
        .find(|t| t.version == version)
        .or_else(|| same().max_by(|a, b| a.version.cmp(&b.version)))?;
    Some((t.title_zh.as_str(), t.title_en.as_str()))
}

/// An item of a shipped template version, with its template.
pub(super) fn template_item(
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
        // An item included into several checklists is asked once.
        let mut seen = std::collections::HashSet::new();
        items.retain(|i| seen.insert(i.item_id.clone()));
        Ok(items)
    }

    /// Records the items the owner marked as not met, and the items whose figures (item id →
    /// field key and value as typed) fail the item's rule, as findings for review (all or none:
    /// an item the venue's checklist does not ask is refused by name). Figures that pass record
    /// nothing.
    pub fn add_owner_findings(
        &mut self,
        link: &OwnerLink,
        item_ids: &[String],
        measured: &[(String, Vec<(String, String)>)],
        note: &str,
    ) -> Result<usize> {
        if item_ids.is_empty() && measured.is_empty() {
            return Err(RelayError::BadRequest(
                "请勾选存在问题的项目，或填写数值 / Tick the items that are not met, or give the figures"
                    .into(),
            ));
        }
        let venue = self.load_venue(&link.venue_id)?;
        let asked_now = self.owner_self_check(link)?;
        let mut failing: Vec<(String, String)> = Vec::new();
        for (id, values) in measured {
            let item = asked_now.iter().find(|i| &i.item_id == id).ok_or_else(|| {
                RelayError::BadRequest(format!("{id:?} is not on this venue's self-inspection"))
            })?;
            let (_, template_item) =
                template_item(&item.template_id, &item.template_version, &item.item_id)
                    .ok_or_else(|| RelayError::NotFound(format!("item {id}")))?;
            if let Some(finding) =
                gridsafe_core::self_report::judge(template_item, &venue.profile, values)?
                && !item_ids.contains(id)
            {
                failing.push((id.clone(), finding));
            }
        }
        if item_ids.is_empty() && failing.is_empty() {
            return Ok(0);
        }
        if note.chars().count() > MAX_NOTE_CHARS {
            return Err(RelayError::BadRequest(format!(
                "说明不超过 {MAX_NOTE_CHARS} 字 The note is longer than {MAX_NOTE_CHARS} characters"
            )));
        }
        let asked = asked_now;
        let recent: i64 = self.conn.query_row(
            "SELECT (SELECT count(*) FROM owner_reports WHERE venue_id = ?1 AND received_ms > ?2)
                  + (SELECT count(*) FROM owner_findings WHERE venue_id = ?1 AND received_ms > ?2)",
            params![link.venue_id, gridsafe_core::clock::now_ms() - 86_400_000],
            |r| r.get(0),
        )?;
        if recent + (item_ids.len() + failing.len()) as i64 > REPORTS_PER_DAY {
            return Err(RelayError::TooMany(format!(
                "今日上报次数已达上限({REPORTS_PER_DAY}) This venue's reports for today are used up"
            )));
        }
        let now = gridsafe_core::clock::now_ms();
        let tx = self.conn.transaction()?;
        let ticked = item_ids.iter().map(|i| (i.clone(), String::new()));
        for (id, finding) in ticked.chain(failing.iter().cloned()) {
            let id = &id;
            let note = match (finding.is_empty(), note.trim().is_empty()) {
                (true, _) => note.trim().to_owned(),
                (false, true) => finding.clone(),
                (false, false) => format!("{finding}；{}", note.trim()),
            };
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
                    note,
                    now
                ],
            )?;
        }
        tx.commit()?;
        Ok(item_ids.len() + failing.len())
    }

    /// Findings in `user`'s scope (a reviewer: items their department leads; the town office:
    /// all), pending first.
    pub fn owner_findings(&self, user: &User) -> Result<Vec<OwnerFinding>> {
        policy::check(user, Capability::ReviewOwnerFindings).map_err(RelayError::Forbidden)?;
        let (clause, arg) = match policy::hazard_scope(user) {
            Ok(HazardScope::Department(dept)) => ("f.lead_depts LIKE ?1", format!("%,{dept},%")),
            _ => ("1 = 1", String::new()),
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
                None,
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
