//! Core's screens into the boundary's records.

use gridsafe_core::field;

use super::types::*;

pub(super) fn today_screen(t: field::Today) -> TodayScreen {
    TodayScreen {
        sections: t
            .sections
            .into_iter()
            .map(|s| TodaySection {
                kind: match s.kind {
                    field::TodayKind::Overdue => TodayKind::Overdue,
                    field::TodayKind::RecheckDue => TodayKind::RecheckDue,
                    field::TodayKind::TicketsToVerify => TodayKind::TicketsToVerify,
                    field::TodayKind::NotInspectedThisMonth => TodayKind::NotInspectedThisMonth,
                },
                title: s.title,
                count: s.count,
                rows: s
                    .rows
                    .into_iter()
                    .map(|r| TodayRow {
                        opens: match r.opens {
                            field::Opens::Hazard(id) => Opens::Hazard { id },
                            field::Opens::Ticket(id) => Opens::Ticket { id },
                            field::Opens::Venue(id) => Opens::Venue { id },
                        },
                        title: r.title,
                        detail: r.detail,
                    })
                    .collect(),
            })
            .collect(),
        pending_records: t.pending_records,
        pending_photos: t.pending_photos,
        sync_line: t.sync_line,
        sync_warning: t.sync_warning,
    }
}

fn options(o: Vec<(String, String)>) -> Vec<OptionLabel> {
    o.into_iter()
        .map(|(key, label)| OptionLabel { key, label })
        .collect()
}

pub(super) fn walk_screen(w: field::Walk) -> WalkScreen {
    let can_finish = w.can_finish();
    let next_item_id = w.next_item().map(|i| i.id.clone());
    WalkScreen {
        inspection_id: w.inspection_id,
        venue_name: w.venue_name,
        checklist: w.checklist,
        items: w
            .items
            .into_iter()
            .map(|i| WalkItem {
                id: i.id,
                number: i.number,
                question: i.question,
                help: i.help,
                fields: i
                    .fields
                    .into_iter()
                    .map(|f| WalkField {
                        key: f.key,
                        label: f.label,
                        input: input(f.input),
                        rule: f.rule,
                        answer: f.answer,
                        chosen: f.chosen,
                    })
                    .collect(),
                photo: i.photo,
                photos_taken: i.photos_taken,
                state: match i.state {
                    field::ItemState::Unanswered => ItemState::Unanswered,
                    field::ItemState::Pass => ItemState::Pass,
                    field::ItemState::Fail => ItemState::Fail,
                    field::ItemState::NeedsPhoto => ItemState::NeedsPhoto,
                    field::ItemState::NotApplicable => ItemState::NotApplicable,
                    field::ItemState::Info => ItemState::Info,
                },
                findings: i.findings,
            })
            .collect(),
        answered: w.answered,
        total: w.total,
        blockers: w
            .blockers
            .into_iter()
            .map(|b| WalkBlocker {
                item_id: b.item_id,
                number: b.number,
                question: b.question,
                why: b.why,
            })
            .collect(),
        finished: w.finished,
        can_finish,
        next_item_id,
    }
}

pub(super) fn line(l: field::venues::FileLine) -> Line {
    Line {
        id: l.id,
        title: l.title,
        detail: l.detail,
    }
}

pub(super) fn input(i: field::FieldInput) -> FieldInput {
    match i {
        field::FieldInput::YesNo => FieldInput::YesNo,
        field::FieldInput::Number { unit } => FieldInput::Number { unit },
        field::FieldInput::Count => FieldInput::Count,
        field::FieldInput::Choice { options: o } => FieldInput::Choice {
            options: options(o),
        },
        field::FieldInput::Multi { options: o } => FieldInput::Multi {
            options: options(o),
        },
        field::FieldInput::Text => FieldInput::Text,
    }
}

pub(super) fn answer(a: FieldAnswer) -> field::walk::Input {
    use field::walk::Input;
    match a {
        FieldAnswer::Yes => Input::Yes,
        FieldAnswer::No => Input::No,
        FieldAnswer::NotApplicable => Input::NotApplicable,
        FieldAnswer::Number { value } => Input::Number(value),
        FieldAnswer::Count { value } => Input::Count(value),
        FieldAnswer::Choice { key } => Input::Choice(key),
        FieldAnswer::Multi { keys } => Input::Multi(keys),
        FieldAnswer::Text { value } => Input::Text(value),
        FieldAnswer::Typed { text } => Input::Typed(text),
    }
}
