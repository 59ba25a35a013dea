//! Answers that fail a checklist item, for seeding a relay through its own write path: the relay
//! registers an inspection's hazard only when the inspection's answer fails the item by the
//! checklist's rule (history integrity), so the dashboard benchmark records real failing answers
//! and builds each hazard with core's `inspection_hazard`, as a phone does.

use gridsafe_core::eval::{Proposal, evaluate_item, parse_answer, propose};
use gridsafe_core::profile::VenueProfile;
use gridsafe_core::template::{FieldKind, Item, Template};
use serde_json::{Value, json};

/// One item of one checklist, with an answer that fails it and what it proposes.
pub(crate) struct Failing {
    pub template: usize,
    pub item: usize,
    pub answer: Value,
    pub proposal: Proposal,
}

/// Every item of `templates` (with lead departments) that some simple answer fails at a venue
/// of `profile`, split into general findings and major candidates.
pub(crate) fn failing(
    templates: &[Template],
    profile: &VenueProfile,
) -> (Vec<Failing>, Vec<Failing>) {
    let (mut general, mut major) = (Vec::new(), Vec::new());
    for (ti, t) in templates.iter().enumerate() {
        for (ii, item) in t.items.iter().enumerate() {
            if item.lead_depts.is_empty() {
                continue;
            }
            let Some((answer, proposal)) = failing_answer(item, profile) else {
                continue;
            };
            let f = Failing {
                template: ti,
                item: ii,
                answer,
                proposal,
            };
            if f.proposal.severity == gridsafe_core::template::Level::MajorCandidate {
                major.push(f);
            } else {
                general.push(f);
            }
        }
    }
    (general, major)
}

/// The first combination of plain values for the item's fields that fails it.
fn failing_answer(item: &Item, profile: &VenueProfile) -> Option<(Value, Proposal)> {
    let choices: Vec<Vec<Value>> = item
        .fields
        .iter()
        .map(|f| match f.kind {
            FieldKind::Yn => vec![json!("no"), json!("yes")],
            FieldKind::Count => vec![json!(20), json!(0)],
            FieldKind::Measure => vec![json!(0.1), json!(500.0), json!(3.0)],
            FieldKind::Choice => f.options.iter().map(|o| json!(o.key)).collect(),
            FieldKind::Multi => {
                let mut v = vec![json!([])];
                v.extend(f.options.iter().map(|o| json!([o.key])));
                v
            }
            FieldKind::Text => vec![json!("压测")],
        })
        .collect();
    let mut pick = vec![0usize; choices.len()];
    for _ in 0..512 {
        let answer = Value::Object(
            item.fields
                .iter()
                .zip(&pick)
                .zip(&choices)
                .filter_map(|((f, &i), c)| c.get(i).map(|v| (f.key.clone(), v.clone())))
                .collect(),
        );
        if let Ok(parsed) = parse_answer(item, &answer) {
            let result = evaluate_item(item, profile, Some(&parsed));
            if let Some(p) = propose(item, profile, &parsed, &result) {
                return Some((answer, p));
            }
        }
        // The next combination, odometer order.
        let mut k = 0;
        loop {
            if k == pick.len() {
                return None;
            }
            pick[k] += 1;
            if pick[k] < choices[k].len().max(1) {
                break;
            }
            pick[k] = 0;
            k += 1;
        }
    }
    None
}
