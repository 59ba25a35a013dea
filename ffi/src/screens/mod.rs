//! The field app's screens (core's `field` layer) as typed records: one call per screen or
//! action, text already in the asked language, choices already decided by core. Nothing here
//! decides anything; it converts.

mod convert;
mod types;

use gridsafe_core::field;

use crate::{GridSafeError, GridStore, HazardAction};
use convert::{line, today_screen, walk_screen};
pub use types::*;

#[uniffi::export]
impl GridStore {
    /// Today for `user`: overdue hazards, re-checks due, tickets to verify, venues not
    /// inspected this month, and what waits to sync.
    pub fn today(&self, user: String, lang: Language) -> Result<TodayScreen, GridSafeError> {
        let t = self
            .with(|s| field::today::today(s, &user, lang.into(), gridsafe_core::clock::today()))?;
        Ok(today_screen(t))
    }

    /// A page of `user`'s venues matching `filter`.
    pub fn venue_list(
        &self,
        user: String,
        filter: VenueFilter,
        lang: Language,
    ) -> Result<VenueListScreen, GridSafeError> {
        let f = field::VenueFilter {
            text: filter.text,
            not_inspected_this_month: filter.not_inspected_this_month,
            with_open_hazards: filter.with_open_hazards,
            page: filter.page,
        };
        let l = self.with(|s| {
            field::venues::venue_list(s, &user, &f, lang.into(), gridsafe_core::clock::today())
        })?;
        Ok(VenueListScreen {
            rows: l
                .rows
                .into_iter()
                .map(|r| VenueListRow {
                    id: r.id,
                    name: r.name,
                    address: r.address,
                    last_inspection: r.last_inspection,
                    open_hazards: r.open_hazards,
                })
                .collect(),
            total: l.total,
            page: l.page,
            pages: l.pages,
        })
    }

    /// The file of venue `venue_id`: profile, the checklists that apply and why, inspections,
    /// open hazards, conflicting edits.
    pub fn venue_file(
        &self,
        user: String,
        venue_id: String,
        lang: Language,
    ) -> Result<VenueFileScreen, GridSafeError> {
        let f = self.with(|s| field::venues::venue_file(s, &user, &venue_id, lang.into()))?;
        Ok(VenueFileScreen {
            id: f.id,
            name: f.name,
            address: f.address,
            grid: f.grid,
            responsible: f.responsible,
            profile: f
                .profile
                .into_iter()
                .map(|(label, value)| LabelValue { label, value })
                .collect(),
            checklists: f
                .checklists
                .into_iter()
                .map(|c| ChecklistChoice {
                    template_id: c.template_id,
                    title: c.title,
                    applies: c.applies,
                    why: c.why,
                })
                .collect(),
            inspections: f.inspections.into_iter().map(line).collect(),
            open_hazards: f.open_hazards.into_iter().map(line).collect(),
            conflicts: f
                .conflicts
                .into_iter()
                .map(|c| ConflictLine {
                    field: c.field,
                    field_label: c.field_label,
                    kept: c.kept,
                    others: c.others,
                })
                .collect(),
        })
    }

    /// The walk of inspection `inspection_id` as it stands (where it resumes after a restart).
    pub fn walk(&self, inspection_id: String, lang: Language) -> Result<WalkScreen, GridSafeError> {
        Ok(walk_screen(self.with(|s| {
            field::walk::walk(s, &inspection_id, lang.into())
        })?))
    }

    /// Answers one field of an item and saves it at once; the walk as it now stands. A value of
    /// the wrong kind or out of range is refused with the reason and nothing is saved.
    pub fn answer_field(
        &self,
        user: String,
        inspection_id: String,
        item_id: String,
        field_key: String,
        answer: FieldAnswer,
        lang: Language,
    ) -> Result<WalkScreen, GridSafeError> {
        let input = convert::answer(answer);
        Ok(walk_screen(self.with(|s| {
            field::walk::answer_field(
                s,
                &user,
                &inspection_id,
                &item_id,
                &field_key,
                input,
                lang.into(),
            )
        })?))
    }

    /// Marks a whole item not applicable (不适用); the walk as it now stands.
    pub fn mark_not_applicable(
        &self,
        user: String,
        inspection_id: String,
        item_id: String,
        lang: Language,
    ) -> Result<WalkScreen, GridSafeError> {
        Ok(walk_screen(self.with(|s| {
            field::walk::mark_not_applicable(s, &user, &inspection_id, &item_id, lang.into())
        })?))
    }

    /// The hazards finishing inspection `inspection_id` will register, with the 即改 / 限期整改
    /// choice each allows and the deadline each gives.
    pub fn findings(
        &self,
        inspection_id: String,
        lang: Language,
    ) -> Result<Vec<FindingLine>, GridSafeError> {
        let f = self.with(|s| {
            field::hazard::findings(
                s,
                &inspection_id,
                lang.into(),
                gridsafe_core::clock::today(),
            )
        })?;
        Ok(f.into_iter()
            .map(|f| FindingLine {
                item_id: f.item_id,
                question: f.question,
                finding: f.finding,
                severity: f.severity,
                major_candidate: f.major_candidate,
                departments: f.departments,
                basis: f.basis,
                on_spot_allowed: f.on_spot_allowed,
                default_on_spot: f.default_on_spot,
                on_spot_deadline: f.on_spot_deadline,
                deadline: f.deadline,
                already_open: f.already_open,
            })
            .collect())
    }

    /// Hazard `hazard_id` for `user`: state and history in words, and only the actions they may
    /// take now with the inputs each needs.
    pub fn hazard_screen(
        &self,
        user: String,
        hazard_id: String,
        lang: Language,
    ) -> Result<HazardScreen, GridSafeError> {
        let h = self.with(|s| {
            field::hazard::hazard_screen(
                s,
                &user,
                &hazard_id,
                lang.into(),
                gridsafe_core::clock::today(),
            )
        })?;
        Ok(HazardScreen {
            id: h.id,
            title: h.title,
            venue: h.venue,
            finding: h.finding,
            state: h.state,
            severity: h.severity,
            deadline: h.deadline,
            overdue: h.overdue,
            departments: h.departments,
            handler: h.handler,
            basis: h.basis,
            history: h
                .history
                .into_iter()
                .map(|e| HistoryLine {
                    at: e.at,
                    what: e.what,
                    who: e.who,
                    note: e.note,
                    refused: e.refused,
                })
                .collect(),
            actions: h
                .actions
                .into_iter()
                .filter_map(|o| {
                    Some(Offer {
                        action: HazardAction::of(o.kind)?,
                        label: o.label,
                        needs: o
                            .needs
                            .into_iter()
                            .map(|n| match n {
                                field::Need::Photo { role, label } => Need::Photo { role, label },
                                field::Need::Deadline { label } => Need::Deadline { label },
                                field::Need::Text { label } => Need::Text { label },
                            })
                            .collect(),
                    })
                })
                .collect(),
        })
    }

    /// The Sync screen: last sync, what waits, refused records with why and what to do, a wrong
    /// clock, notice numbers left.
    pub fn sync_screen(&self, lang: Language) -> Result<SyncScreen, GridSafeError> {
        let s = self.with(|s| field::sync::sync_screen(s, lang.into()))?;
        Ok(SyncScreen {
            last_sync: s.last_sync,
            pending: s.pending,
            pending_records: s.pending_records,
            pending_photos: s.pending_photos,
            refused: s
                .refused
                .into_iter()
                .map(|r| RefusedLine {
                    what: r.what,
                    why: r.why,
                    what_to_do: r.what_to_do,
                    at: r.at,
                })
                .collect(),
            clock_warning: s.clock_warning,
            notice_numbers: s.notice_numbers,
            notice_numbers_warning: s.notice_numbers_warning,
        })
    }

    /// The questions for a new venue (`venue_id` none) or an existing one, each saying why it is
    /// asked (what it decides).
    pub fn venue_form(
        &self,
        user: String,
        venue_id: Option<String>,
        lang: Language,
    ) -> Result<Vec<VenueQuestion>, GridSafeError> {
        let qs = self
            .with(|s| field::venue_form::venue_form(s, &user, venue_id.as_deref(), lang.into()))?;
        Ok(qs
            .into_iter()
            .map(|q| VenueQuestion {
                key: q.key,
                label: q.label,
                input: convert::input(q.input),
                required: q.required,
                value: q.value,
                why: q.why,
            })
            .collect())
    }

    /// Saves the venue form's answers (a new venue when `venue_id` is none); returns the venue's
    /// file. A wrong answer is refused by name and nothing is saved.
    pub fn save_venue(
        &self,
        user: String,
        venue_id: Option<String>,
        answers: Vec<FormAnswer>,
        lang: Language,
    ) -> Result<VenueFileScreen, GridSafeError> {
        let answers: Vec<(String, field::walk::Input)> = answers
            .into_iter()
            .map(|a| (a.key, convert::answer(a.answer)))
            .collect();
        let v = self.with(|s| {
            field::venue_form::save_venue(s, &user, venue_id.as_deref(), &answers, lang.into())
        })?;
        self.venue_file(user, v.id, lang)
    }
}
