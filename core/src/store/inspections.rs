//! Inspections: starting one, answering, evaluating, finishing (which registers the hazards).

use crate::template::FixMode;
use std::collections::BTreeMap;
use std::sync::Arc;

use automerge::{AutoCommit, ChangeHash};
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::Store;
use crate::clock::{format_date, ms_to_date, ms_to_rfc3339};
use crate::directory::User;
use crate::error::{Error, Result};
use crate::eval::{ItemResult, Outcome, evaluate_item, parse_answer, propose};
use crate::evidence::{self};
use crate::ids::{check_id, new_id};
use crate::lifecycle::{EventKind, event};
use crate::policy;
use crate::projection;
use crate::projection::HazardRow;
use crate::records::{self, AnswerRecord, DocKind, Finish, Inspection, InspectionHeader};
use crate::template::{self, Template};
use crate::workflow;
use crate::workflow::evaluate_all;

/// An inspection as listed (from the projection).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InspectionRow {
    pub id: String,
    pub venue_id: String,
    pub venue_name: String,
    pub template_id: String,
    pub template_version: String,
    pub inspector: String,
    pub started_at: String,
    pub finished: bool,
    pub failed: u32,
    pub hazards: u32,
}

/// The result of finishing an inspection.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FinishReport {
    pub inspection_id: String,
    pub results: Vec<ItemResult>,
    /// Hazards registered by this inspection.
    pub hazards: Vec<HazardRow>,
    /// item id → the hazard already open for it at this venue (not registered twice).
    pub already_open: BTreeMap<String, String>,
    /// Open hazards at this venue tagged as GB 35181 combined elements, after this inspection.
    pub combined_elements_open: u32,
}

/// An inspection loaded for writing: the user, the document (with the user's actor), the heads it
/// was loaded at, its content and its pinned template.
pub(super) type OpenInspection = (User, AutoCommit, Vec<ChangeHash>, Inspection, Arc<Template>);

impl Store {
    /// Starts an inspection of a venue with the newest version of a template (or `version`).
    pub fn start_inspection(
        &mut self,
        as_user: &str,
        venue_id: &str,
        template_id: &str,
        version: Option<&str>,
    ) -> Result<InspectionHeader> {
        check_id("venue", venue_id)?;
        let (user, actor) = self.act_as(as_user)?;
        policy::check_inspect(&user).map_err(Error::Forbidden)?;
        let venue = self.venue(venue_id)?;
        self.check_venue_scope(&user, &venue)?;
        if venue.archived {
            return Err(Error::invalid(format!("venue {venue_id} is archived")));
        }
        let t = match version {
            Some(v) => self.template_cached(template_id, v)?,
            None => {
                let t = self.latest_template(template_id)?;
                self.templates.insert(t.key(), t.clone());
                t
            }
        };
        let now = self.now();
        let header = InspectionHeader {
            id: new_id(),
            venue_id: venue.id.clone(),
            venue_name: venue.name.clone(),
            village: venue.village.clone(),
            grid_id: venue.grid_id.clone(),
            template_id: t.template_id.clone(),
            template_version: t.version.clone(),
            template_hash: t.hash.clone(),
            inspector: user.id.clone(),
            started_at: ms_to_rfc3339(now),
            started_ms: now,
            profile: venue.profile.clone(),
        };
        let mut doc = records::new_inspection_doc(&actor, &header)?;
        let insp = Inspection {
            header: header.clone(),
            answers: BTreeMap::new(),
            photos: vec![],
            finish: None,
        };
        let tx = self.conn.transaction()?;
        Store::insert_doc(&tx, &header.id, DocKind::Inspection, &mut doc)?;
        projection::index_inspection(&tx, &insp)?;
        tx.commit()?;
        Ok(header)
    }

    pub fn inspection(&self, id: &str) -> Result<Inspection> {
        check_id("inspection", id)?;
        let (doc, _) = self.doc(id, DocKind::Inspection)?;
        records::read_inspection(&doc, id)
    }

    /// Loads an open inspection for its inspector, with its pinned template.
    pub(super) fn open_inspection(&mut self, as_user: &str, id: &str) -> Result<OpenInspection> {
        check_id("inspection", id)?;
        let (user, actor) = self.act_as(as_user)?;
        let (doc, since) = self.doc(id, DocKind::Inspection)?;
        let insp = records::read_inspection(&doc, id)?;
        if insp.header.inspector != user.id {
            return Err(Error::Forbidden(format!(
                "inspection {id} belongs to {}",
                insp.header.inspector
            )));
        }
        if insp.finish.is_some() {
            return Err(Error::invalid(format!(
                "inspection {id} is finished; its answers can no longer change"
            )));
        }
        let t = self.template_cached(&insp.header.template_id, &insp.header.template_version)?;
        if t.hash != insp.header.template_hash {
            return Err(Error::Document {
                id: id.into(),
                reason: format!(
                    "pinned template {} does not match its recorded hash",
                    t.key()
                ),
            });
        }
        Ok((user, doc.with_actor(actor), since, insp, t))
    }

    /// Records answers (item id → value as the user gave it). All or nothing: one wrong answer
    /// and none are saved.
    pub fn answer(
        &mut self,
        as_user: &str,
        inspection_id: &str,
        answers: &[(String, serde_json::Value)],
    ) -> Result<Vec<ItemResult>> {
        let (user, mut doc, since, insp, t) = self.open_inspection(as_user, inspection_id)?;
        let at = ms_to_rfc3339(self.now());
        let mut results = Vec::with_capacity(answers.len());
        let mut parsed = Vec::with_capacity(answers.len());
        for (item_id, v) in answers {
            let item = t
                .item(item_id)
                .ok_or_else(|| Error::answer(item_id, format!("not an item of {}", t.key())))?;
            let a = parse_answer(item, v)?;
            results.push(evaluate_item(item, &insp.header.profile, Some(&a)));
            parsed.push((item_id, a));
        }
        for (item_id, a) in parsed {
            let rec = AnswerRecord {
                na: a.na,
                fields: a.fields,
                at: at.clone(),
                by: user.id.clone(),
            };
            records::put_answer(&mut doc, inspection_id, item_id, &rec)?;
        }
        let tx = self.conn.transaction()?;
        Store::save_doc(&tx, inspection_id, &mut doc, &since)?;
        tx.commit()?;
        Ok(results)
    }

    /// Evaluates the inspection without saving anything.
    pub fn evaluate(&self, inspection_id: &str) -> Result<Vec<ItemResult>> {
        let insp = self.inspection(inspection_id)?;
        let t = self.template(&insp.header.template_id, &insp.header.template_version)?;
        Ok(evaluate_all(&t, &insp))
    }

    /// What the checklist screen shows: every item of the inspection's pinned template version
    /// with its result so far (not applicable to this venue, unanswered, pass, fail...).
    pub fn checklist(&self, inspection_id: &str) -> Result<Vec<(template::Item, ItemResult)>> {
        let insp = self.inspection(inspection_id)?;
        let t = self.template(&insp.header.template_id, &insp.header.template_version)?;
        let results = evaluate_all(&t, &insp);
        Ok(t.items.iter().cloned().zip(results).collect())
    }

    /// Finishes an inspection: every applicable item answered, every failed item that needs a
    /// photo has one; registers a hazard per failed item (once per venue and item while one is
    /// open; as a linked recurrence when the last one was closed). One transaction.
    pub fn finish_inspection(
        &mut self,
        as_user: &str,
        inspection_id: &str,
    ) -> Result<FinishReport> {
        self.finish_inspection_with(as_user, inspection_id, &BTreeMap::new())
    }

    /// [`Store::finish_inspection`] with the inspector's choice, per failed item, between 即改
    /// (fixed during this visit) and 限期整改; items not named keep the checklist's default. A
    /// major candidate is never 即改.
    pub fn finish_inspection_with(
        &mut self,
        as_user: &str,
        inspection_id: &str,
        fix_modes: &BTreeMap<String, FixMode>,
    ) -> Result<FinishReport> {
        let (user, mut doc, since, insp, t) = self.open_inspection(as_user, inspection_id)?;
        let actor = doc.get_actor().clone();
        let results = evaluate_all(&t, &insp);
        workflow::check_finishable(&t, &insp, &results)?;
        workflow::check_fix_modes(&t, &insp, &results, fix_modes)?;
        let wall = self.now();
        let tx = self.conn.transaction()?;
        let mut hazards = Vec::new();
        let mut already_open = BTreeMap::new();
        let mut hazard_ids = Vec::new();
        let today_date = ms_to_date(wall);
        for r in results.iter().filter(|r| r.outcome == Outcome::Fail) {
            let Some(item) = t.item(&r.item_id) else {
                continue;
            };
            let answer = workflow::answer_of(&insp, &r.item_id);
            let Some(mut p) = propose(item, &insp.header.profile, &answer, r) else {
                continue;
            };
            if let Some(m) = fix_modes.get(&item.id) {
                p.fix_mode = *m;
            }
            let prior: Option<(String, bool)> = tx
                .query_row(
                    "SELECT id, is_open FROM hazards_idx WHERE venue_id = ?1 AND item_id = ?2 ORDER BY is_open DESC, found_ms DESC LIMIT 1",
                    params![insp.header.venue_id, item.id],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()?;
            if let Some((open_id, true)) = &prior {
                already_open.insert(item.id.clone(), open_id.clone());
                continue;
            }
            let hlc = Store::next_hlc(&tx, wall)?;
            let header = workflow::inspection_hazard(
                &t,
                &insp,
                item,
                &p,
                workflow::Registration {
                    id: new_id(),
                    hlc,
                    by: &user.id,
                    today: today_date,
                },
                prior.map(|(id, _)| id),
            );
            let reg = event(new_id(), EventKind::Register, hlc);
            let mut hdoc = records::new_hazard_doc(&actor, &header, &reg)?;
            Store::insert_doc(&tx, &header.id, DocKind::Hazard, &mut hdoc)?;
            let (_, evs) = records::read_hazard(&hdoc, &header.id)?;
            let status =
                projection::fold_with(self.directory.as_deref(), &self.actors, &header, &evs, None);
            projection::index_hazard(&tx, &header, &status)?;
            hazard_ids.push(header.id.clone());
            hazards.push(projection::hazard_row(&header, &status, today_date));
        }
        let finish = Finish {
            at: ms_to_rfc3339(wall),
            by: user.id.clone(),
            results: results
                .iter()
                .map(|r| (r.item_id.clone(), r.outcome.code().to_owned()))
                .collect(),
            hazard_ids,
            manifest: Some(evidence::seal(&insp)),
        };
        records::put_finish(&mut doc, inspection_id, &finish)?;
        // A finished inspection no longer changes: one compact snapshot instead of many chunks.
        Store::save_doc_with(&tx, inspection_id, &mut doc, &since, true)?;
        let mut done = insp.clone();
        done.finish = Some(finish);
        projection::index_inspection(&tx, &done)?;
        let combined: u32 = tx.query_row(
            "SELECT count(*) FROM hazards_idx WHERE venue_id = ?1 AND is_open = 1 AND combined_group IS NOT NULL",
            params![insp.header.venue_id],
            |r| r.get(0),
        )?;
        tx.commit()?;
        Ok(FinishReport {
            inspection_id: inspection_id.to_owned(),
            results,
            hazards,
            already_open,
            combined_elements_open: combined,
        })
    }

    /// Inspections of a venue, newest first.
    pub fn venue_inspections(&self, venue_id: &str) -> Result<Vec<InspectionRow>> {
        check_id("venue", venue_id)?;
        self.inspection_rows(
            "WHERE venue_id = ?1 ORDER BY started_ms DESC",
            params![venue_id],
        )
    }

    /// The user's inspections started today (Shanghai date).
    pub fn todays_inspections(&self, user: &str) -> Result<Vec<InspectionRow>> {
        self.inspection_rows(
            "WHERE inspector = ?1 AND day = ?2 ORDER BY started_ms",
            params![user, format_date(self.today())],
        )
    }

    pub(super) fn inspection_rows(
        &self,
        clause: &str,
        p: &[&dyn rusqlite::ToSql],
    ) -> Result<Vec<InspectionRow>> {
        let sql = format!(
            "SELECT id, venue_id, venue_name, template_id, template_version, inspector, started_ms, finished, failed, hazards FROM inspections_idx {clause}"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(p, |r| {
            Ok(InspectionRow {
                id: r.get(0)?,
                venue_id: r.get(1)?,
                venue_name: r.get(2)?,
                template_id: r.get(3)?,
                template_version: r.get(4)?,
                inspector: r.get(5)?,
                started_at: ms_to_rfc3339(r.get(6)?),
                finished: r.get(7)?,
                failed: r.get(8)?,
                hazards: r.get(9)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
