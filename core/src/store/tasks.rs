//! Public reports (12345, 随申拍) to verify on site (查实), and the verdict.

use super::Store;
use super::photos::NewPhoto;
use crate::clock::ms_to_rfc3339;
use crate::error::{Error, Result};
use crate::ids::{check_id, new_id};
use crate::lifecycle::{EventKind, event};
use crate::policy;
use crate::projection;
use crate::projection::TaskRow;
use crate::records::{self, DocKind};
use crate::template::{Item, Template};
use crate::workflow;
use std::sync::Arc;

/// The grid worker's verdict on a public report, checked on site (查实).
#[derive(Clone, Debug, Default)]
pub struct TaskVerdict {
    pub substantiated: bool,
    /// Why it is not substantiated (required then); a note otherwise.
    pub reason: String,
    /// The venue the hazard is registered at (required when substantiated).
    pub venue_id: Option<String>,
    /// What was found on site (the hazard's finding; the report's description when empty).
    pub finding: String,
    /// A photo of what was found (role before).
    pub photo: Option<NewPhoto>,
    /// The checklist item the finding matches (gas.hose_length …): the hazard then registers
    /// with that item's severity, basis, departments and period, like any finding.
    pub item_id: Option<String>,
}

impl Store {
    /// Public reports to verify, in `scope_user`'s grids when given; unverified first.
    pub fn list_tasks(&self, scope_user: Option<&str>) -> Result<Vec<TaskRow>> {
        let grids: Vec<String> = match scope_user {
            Some(u) => self
                .directory()?
                .user(u)
                .map(|u| u.grids.clone())
                .ok_or_else(|| Error::Forbidden(format!("unknown user {u:?}")))?,
            None => vec![],
        };
        let filter = if scope_user.is_some() {
            format!(
                "WHERE grid_id IN ({})",
                projection::placeholders(grids.len())
            )
        } else {
            String::new()
        };
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {} FROM tasks_idx {filter} ORDER BY status != 'to_verify', received_at",
            projection::TASK_COLUMNS
        ))?;
        let rows = stmt.query_map(
            rusqlite::params_from_iter(grids.iter()),
            projection::task_row,
        )?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Public report `task_id` as recorded, with its verdict (who checked it on site, and when).
    pub fn task(&self, task_id: &str) -> Result<records::Task> {
        check_id("task", task_id)?;
        let (doc, _) = self.doc(task_id, DocKind::Task)?;
        records::read_task(&doc, task_id)
    }

    /// Records the verdict on a public report after checking on site: substantiated → a hazard
    /// registered at the venue with source `public_report` and the ticket number, routed to the
    /// directory's lead departments for the report's domain; not substantiated → closed with the
    /// reason. Once only; the inspector of the report's grid only. Returns the new hazard's id.
    pub fn verify_task(
        &mut self,
        as_user: &str,
        task_id: &str,
        v: TaskVerdict,
    ) -> Result<Option<String>> {
        check_id("task", task_id)?;
        let (user, actor) = self.act_as(as_user)?;
        let (doc, since) = self.doc(task_id, DocKind::Task)?;
        let mut doc = doc.with_actor(actor.clone());
        let task = records::read_task(&doc, task_id)?;
        if !policy::may_verify_report(&user, &task.grid_id) {
            return Err(Error::Forbidden(format!(
                "report {} is for grid {}, not {as_user}'s",
                task.ticket_no, task.grid_id
            )));
        }
        if let Some(o) = &task.outcome {
            let verdict = if o.substantiated {
                "substantiated"
            } else {
                "not substantiated"
            };
            return Err(Error::invalid(format!(
                "report {} was already verified ({verdict}) by {}",
                task.ticket_no, o.by
            )));
        }
        if !v.substantiated && v.reason.trim().is_empty() {
            return Err(Error::invalid(
                "a report that is not substantiated needs the reason (查无此事, 已自行整改, 地址不符 …)",
            ));
        }
        let dir = self.directory()?;
        let matched = match (&v.item_id, v.substantiated) {
            (Some(item), true) => Some(self.current_item(item)?),
            _ => None,
        };
        let venue = match (v.substantiated, v.venue_id.as_deref()) {
            (false, _) => None,
            (true, None) => {
                return Err(Error::invalid(
                    "a substantiated report needs the venue the hazard is at",
                ));
            }
            (true, Some(venue_id)) => {
                check_id("venue", venue_id)?;
                let (vdoc, _) = self.doc(venue_id, DocKind::Venue)?;
                let venue = records::read_venue(&vdoc, venue_id)?;
                if !policy::may_verify_report(&user, &venue.grid_id) {
                    return Err(Error::Forbidden(format!(
                        "venue {} is outside {as_user}'s grids",
                        venue.name
                    )));
                }
                Some(venue)
            }
        };
        // Unchecked: the photo is stored through `&self` in the same transaction (as attach_photo).
        let wall = self.now();
        let tx = self.conn.unchecked_transaction()?;
        let mut hazard_id = None;
        if let Some(venue) = venue {
            let venue_id = venue.id.as_str();
            let lead_depts = match &matched {
                Some((_, item)) => item.lead_depts.clone(),
                None => dir.routing.get(&task.category).cloned().filter(|d| !d.is_empty()).ok_or_else(|| {
                    Error::invalid(format!("the directory routes no lead department for domain {:?}; the office must add it", task.category))
                })?,
            };
            let hlc = Store::next_hlc(&tx, wall)?;
            let photos = match &v.photo {
                Some(p) => vec![self.store_photo(
                    &tx,
                    &NewPhoto {
                        role: "before".into(),
                        ..p.clone()
                    },
                    venue_id,
                    &user.id,
                    false,
                )?],
                None => vec![],
            };
            let header = workflow::public_report_hazard(
                &task,
                &venue,
                &v.finding,
                lead_depts,
                photos,
                workflow::Registration {
                    id: new_id(),
                    hlc,
                    by: &user.id,
                    today: self.today(),
                },
                matched.as_ref().map(|(t, i)| (&**t, i)),
            );
            let reg = event(new_id(), EventKind::Register, hlc);
            let mut hdoc = records::new_hazard_doc(&actor, &header, &reg)?;
            Store::insert_doc(&tx, &header.id, DocKind::Hazard, &mut hdoc)?;
            let (_, evs) = records::read_hazard(&hdoc, &header.id)?;
            let status = projection::fold_with(Some(&dir), &self.actors, &header, &evs, None);
            projection::index_hazard(&tx, &header, &status)?;
            hazard_id = Some(header.id.clone());
        }
        let outcome = records::TaskOutcome {
            at: ms_to_rfc3339(self.now()),
            by: user.id.clone(),
            substantiated: v.substantiated,
            reason: v.reason.trim().to_owned(),
            hazard_id: hazard_id.clone(),
        };
        records::put_task_outcome(&mut doc, task_id, &outcome)?;
        Store::save_doc(&tx, task_id, &mut doc, &since)?;
        projection::index_task(&tx, &records::read_task(&doc, task_id)?)?;
        tx.commit()?;
        Ok(hazard_id)
    }

    /// A checklist item in the newest installed version of the checklist that holds it.
    fn current_item(&self, item_id: &str) -> Result<(Arc<Template>, Item)> {
        for t in self.current_templates()? {
            if let Some(i) = t
                .items
                .iter()
                .find(|i| i.id == item_id && i.included_from.is_none())
            {
                let item = i.clone();
                return Ok((t, item));
            }
        }
        Err(Error::invalid(format!(
            "没有这个检查项 / no checklist item {item_id:?}"
        )))
    }
}
