//! The inspection walk (检查): the pinned checklist's applicable items in order, each field typed
//! with its question, the rule in words and the photo it needs; each answer saved at once and
//! judged at once; the progress; and what still blocks finishing, item by item. An app killed
//! mid-walk rebuilds this screen from the store exactly where it was.

use std::collections::BTreeMap;

use serde_json::{Value as Json, json};

use crate::error::{Error, Result};
use crate::eval::{FieldValue, ItemResult, Outcome};
use crate::field::input;
use crate::labels::{Labels, Lang};
use crate::profile::VenueProfile;
use crate::records::Inspection;
use crate::store::Store;
use crate::template::{Field, FieldKind, Item, PhotoRule, Threshold, YnPass};

/// How a field is answered, with what the shell needs to draw its input.
#[derive(Clone, Debug, PartialEq)]
pub enum FieldInput {
    /// 是 / 否 / 不适用 (this question does not apply here).
    YesNo,
    /// A measurement in `unit` (米, 千克...), at least 0.
    Number { unit: String },
    /// A whole number of things, at least 0.
    Count,
    /// One of the options (key, label).
    Choice { options: Vec<(String, String)> },
    /// Any of the options (key, label).
    Multi { options: Vec<(String, String)> },
    /// Free text (a note, a name).
    Text,
}

/// One field of an item, as the walk shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct WalkField {
    pub key: String,
    pub label: String,
    pub input: FieldInput,
    /// What passes, in words: "≤ 2 米", "应为“否”"; none for a recorded detail.
    pub rule: Option<String>,
    /// The answer so far, in words ("是", "1.5 米", "瓶装液化气").
    pub answer: Option<String>,
    /// Which of the input's choices the answer is (`yes` / `no` / `na`, option keys), so a shell
    /// marks what was tapped; empty for figures and text.
    pub chosen: Vec<String>,
}

/// Where an item stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ItemState {
    Unanswered,
    Pass,
    Fail,
    /// Failed, and its before photo is still to be taken.
    NeedsPhoto,
    NotApplicable,
    /// Recorded for statistics, never a hazard.
    Info,
}

/// One applicable item of the walk.
#[derive(Clone, Debug, PartialEq)]
pub struct WalkItem {
    pub id: String,
    pub number: u32,
    pub question: String,
    /// The checklist's note (how to measure, what counts).
    pub help: Option<String>,
    pub fields: Vec<WalkField>,
    /// The photo rule in words ("不合格须拍照（含量具读数）"), none when no photo is asked.
    pub photo: Option<String>,
    pub photos_taken: u32,
    pub state: ItemState,
    /// Why it failed, or what is still missing, in words.
    pub findings: Vec<String>,
}

/// Why finishing is not possible yet, for one item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WalkBlocker {
    pub item_id: String,
    pub number: u32,
    pub question: String,
    pub why: String,
}

/// The walk screen.
#[derive(Clone, Debug, PartialEq)]
pub struct Walk {
    pub inspection_id: String,
    pub venue_name: String,
    pub checklist: String,
    pub items: Vec<WalkItem>,
    /// Items answered (pass, fail, info or marked not applicable) of those that apply.
    pub answered: u32,
    pub total: u32,
    pub blockers: Vec<WalkBlocker>,
    pub finished: bool,
}

impl Walk {
    pub fn can_finish(&self) -> bool {
        !self.finished && self.blockers.is_empty()
    }

    /// The first item still to answer or photograph: where the walk resumes.
    pub fn next_item(&self) -> Option<&WalkItem> {
        self.items
            .iter()
            .find(|i| matches!(i.state, ItemState::Unanswered | ItemState::NeedsPhoto))
    }
}

/// A typed answer to one field.
#[derive(Clone, Debug, PartialEq)]
pub enum Input {
    Yes,
    No,
    /// 不适用 for one yes/no question (an LPG kitchen's natural-gas detector, an elevator's
    /// blocker where there is no elevator); the item's other questions still count. Only yes/no
    /// questions take it: a figure that does not apply is the whole item's 不适用.
    NotApplicable,
    Number(f64),
    Count(i64),
    Choice(String),
    Multi(Vec<String>),
    Text(String),
    /// What was typed into a number or count box, as typed: the core reads it (full-width digits,
    /// a decimal comma) or says in words why it cannot.
    Typed(String),
}

/// The walk of inspection `id` as it stands.
pub fn walk(store: &Store, id: &str, lang: Lang) -> Result<Walk> {
    let insp = store.inspection(id)?;
    let t = store.template(&insp.header.template_id, &insp.header.template_version)?;
    let dir = store.directory().ok();
    let l = Labels::new(dir.as_deref(), lang);
    let results = crate::workflow::evaluate_all(&t, &insp);
    let mut items = Vec::new();
    let mut blockers = Vec::new();
    let mut number = 0;
    for (item, r) in t.items.iter().zip(&results) {
        // Not applicable to this venue by its profile: not asked at all.
        if r.outcome == Outcome::NotApplicable && !insp.answers.contains_key(&item.id) {
            continue;
        }
        number += 1;
        let w = walk_item(&l, item, r, &insp, number);
        let why = match w.state {
            ItemState::Unanswered => Some(match w.findings.first() {
                Some(f) => f.clone(),
                None => l
                    .pick(
                        "尚未作答（请作答或标为不适用）",
                        "Not answered (answer it or mark it n/a)",
                    )
                    .to_owned(),
            }),
            ItemState::NeedsPhoto => Some(
                l.pick("不合格，须拍整改前照片", "Failed: take the before photo")
                    .to_owned(),
            ),
            _ => None,
        };
        if let Some(why) = why {
            blockers.push(WalkBlocker {
                item_id: w.id.clone(),
                number,
                question: w.question.clone(),
                why,
            });
        }
        items.push(w);
    }
    let answered = items
        .iter()
        .filter(|i| !matches!(i.state, ItemState::Unanswered))
        .count() as u32;
    Ok(Walk {
        inspection_id: insp.header.id.clone(),
        venue_name: insp.header.venue_name.clone(),
        checklist: l.pick(&t.title_zh, &t.title_en).to_owned(),
        total: items.len() as u32,
        answered,
        items,
        blockers,
        finished: insp.finish.is_some(),
    })
}

fn walk_item(
    l: &Labels<'_>,
    item: &Item,
    r: &ItemResult,
    insp: &Inspection,
    number: u32,
) -> WalkItem {
    let answer = insp.answers.get(&item.id);
    let photos_taken = insp
        .photos
        .iter()
        .filter(|p| p.item_id.as_deref() == Some(item.id.as_str()))
        .count() as u32;
    let has_before = insp
        .photos
        .iter()
        .any(|p| p.item_id.as_deref() == Some(item.id.as_str()) && p.role == "before");
    let state = match r.outcome {
        Outcome::Pass => ItemState::Pass,
        Outcome::Fail if item.photo.requires_photo_on_fail() && !has_before => {
            ItemState::NeedsPhoto
        }
        Outcome::Fail => ItemState::Fail,
        Outcome::NotApplicable => ItemState::NotApplicable,
        Outcome::Info => ItemState::Info,
        Outcome::Unanswered => ItemState::Unanswered,
    };
    let fields = item
        .fields
        .iter()
        .filter(|f| {
            f.applies_if
                .as_ref()
                .is_none_or(|c| c.eval(&insp.header.profile))
        })
        .map(|f| WalkField {
            key: f.key.clone(),
            label: l.pick(&f.label_zh, &f.label_en).to_owned(),
            input: input_of(l, f),
            rule: rule_words(l, f, item, &insp.header.profile),
            answer: answer
                .and_then(|a| a.fields.get(&f.key))
                .map(|v| value_words(l, f, v)),
            chosen: match answer.and_then(|a| a.fields.get(&f.key)) {
                Some(FieldValue::Yn(k) | FieldValue::Choice(k)) => vec![k.clone()],
                Some(FieldValue::Multi(ks)) => ks.clone(),
                _ => vec![],
            },
        })
        .collect();
    WalkItem {
        id: item.id.clone(),
        number,
        question: l.pick(&item.q_zh, &item.q_en).to_owned(),
        help: match (&item.note_zh, &item.note_en) {
            (Some(zh), en) => Some(l.pick(zh, en.as_deref().unwrap_or(zh)).to_owned()),
            _ => None,
        },
        fields,
        photo: photo_words(l, item.photo),
        photos_taken,
        state,
        findings: r
            .findings
            .iter()
            .map(|f| l.pick(&f.zh, &f.en).to_owned())
            .collect(),
    }
}

fn input_of(l: &Labels<'_>, f: &Field) -> FieldInput {
    let options = || {
        f.options
            .iter()
            .map(|o| (o.key.clone(), l.pick(&o.zh, &o.en).to_owned()))
            .collect()
    };
    match f.kind {
        FieldKind::Yn => FieldInput::YesNo,
        FieldKind::Measure => FieldInput::Number {
            unit: l.unit(f.unit.as_deref().unwrap_or_default()),
        },
        FieldKind::Count => FieldInput::Count,
        FieldKind::Choice => FieldInput::Choice { options: options() },
        FieldKind::Multi => FieldInput::Multi { options: options() },
        FieldKind::Text => FieldInput::Text,
    }
}

/// The field's pass rule at this venue, in words.
fn rule_words(l: &Labels<'_>, f: &Field, item: &Item, profile: &VenueProfile) -> Option<String> {
    match f.kind {
        FieldKind::Yn => match f.pass {
            Some(YnPass::Yes) => Some(l.pick("应为“是”", "Passes with “yes”").to_owned()),
            Some(YnPass::No) => Some(l.pick("应为“否”", "Passes with “no”").to_owned()),
            _ => None,
        },
        FieldKind::Measure | FieldKind::Count => {
            let rule = f
                .rules
                .iter()
                .find(|r| r.when.as_ref().is_none_or(|c| c.eval(profile)))?;
            let unit = l.unit(f.unit.as_deref().unwrap_or_default());
            let num = |n: f64| {
                let s = format!("{n:.2}");
                s.trim_end_matches('0').trim_end_matches('.').to_owned()
            };
            let value = match &rule.threshold {
                Threshold::Number(n) => format!("{} {unit}", num(*n)),
                Threshold::Profile { profile: p, factor } => match profile.value(p) {
                    Some(crate::profile::Value::Num(v)) => format!("{} {unit}", num(v * factor)),
                    _ => return None,
                },
                Threshold::Answer { answer, factor } => {
                    let other = item.fields.iter().find(|o| &o.key == answer)?;
                    format!(
                        "{}% × {}",
                        num(factor * 100.0),
                        l.pick(&other.label_zh, &other.label_en)
                    )
                }
            };
            Some(format!("{} {}", rule.cmp.symbol(), value.trim_end()))
        }
        FieldKind::Choice | FieldKind::Multi if !f.record_only => {
            let failing: Vec<&str> = f
                .options
                .iter()
                .filter(|o| !o.pass)
                .map(|o| l.pick(&o.zh, &o.en))
                .collect();
            (!failing.is_empty()).then(|| {
                format!(
                    "{}{}",
                    l.pick("不合格：", "Fails: "),
                    failing.join(l.pick("、", ", "))
                )
            })
        }
        _ => None,
    }
}

fn photo_words(l: &Labels<'_>, rule: PhotoRule) -> Option<String> {
    match rule {
        PhotoRule::Required => Some(
            l.pick("不合格须拍整改前照片", "A before photo if it fails")
                .to_owned(),
        ),
        PhotoRule::RequiredWithMeasure => Some(
            l.pick(
                "不合格须拍整改前照片（含量具及读数）",
                "A before photo if it fails, showing the measuring tool and its reading",
            )
            .to_owned(),
        ),
        PhotoRule::Document => Some(
            l.pick("建议拍摄证件或资料照片", "A document photo is recommended")
                .to_owned(),
        ),
        PhotoRule::None => None,
    }
}

fn value_words(l: &Labels<'_>, f: &Field, v: &FieldValue) -> String {
    let option = |k: &str| {
        f.options
            .iter()
            .find(|o| o.key == k)
            .map_or_else(|| k.to_owned(), |o| l.pick(&o.zh, &o.en).to_owned())
    };
    match v {
        FieldValue::Yn(s) => match s.as_str() {
            "yes" => l.pick("是", "Yes").to_owned(),
            "no" => l.pick("否", "No").to_owned(),
            _ => l.pick("不适用", "N/A").to_owned(),
        },
        FieldValue::Number(n) => format!("{n} {}", l.unit(f.unit.as_deref().unwrap_or_default()))
            .trim_end()
            .to_owned(),
        FieldValue::Count(c) => c.to_string(),
        FieldValue::Choice(k) => option(k),
        FieldValue::Multi(ks) => ks
            .iter()
            .map(|k| option(k))
            .collect::<Vec<_>>()
            .join(l.pick("、", ", ")),
        FieldValue::Text(t) => t.clone(),
    }
}

/// Answers one field of an item (the item's other fields as they were) and saves it at once;
/// returns the walk as it now stands. A wrong type or a value out of range is refused with the
/// reason, and nothing is saved.
pub fn answer_field(
    store: &mut Store,
    user: &str,
    inspection_id: &str,
    item_id: &str,
    field_key: &str,
    input: Input,
    lang: Lang,
) -> Result<Walk> {
    let insp = store.inspection(inspection_id)?;
    let t = store.template(&insp.header.template_id, &insp.header.template_version)?;
    let dir = store.directory().ok();
    let l = Labels::new(dir.as_deref(), lang);
    let not_asked = || {
        Error::Words(
            l.pick(
                "这一项不在本次检查中，请返回检查列表重新选择",
                "That question is not part of this inspection: go back to the list and choose again",
            )
            .to_owned(),
        )
    };
    let item = t.item(item_id).ok_or_else(not_asked)?;
    let field = item
        .fields
        .iter()
        .find(|f| f.key == field_key)
        .ok_or_else(not_asked)?;
    let label = l.pick(&field.label_zh, &field.label_en).to_owned();
    let options: Vec<String> = field.options.iter().map(|o| o.key.clone()).collect();
    let value = match field.kind {
        FieldKind::Yn => match input::yes_no(&l, &label, &input, true)? {
            Some(true) => json!("yes"),
            Some(false) => json!("no"),
            None => json!("na"),
        },
        FieldKind::Measure => {
            let unit = l.unit(field.unit.as_deref().unwrap_or(""));
            json!(input::number(
                &l,
                &label,
                &unit,
                &input,
                input::MEASURE_MAX
            )?)
        }
        FieldKind::Count => json!(input::count(&l, &label, &input, input::COUNT_MAX)?),
        FieldKind::Choice => json!(input::choice(&l, &label, &input, &options)?),
        FieldKind::Multi => json!(input::multi(&l, &label, &input, &options)?),
        FieldKind::Text => json!(input::text(&l, &label, &input)?),
    };
    // The item's answer so far (never the whole item's "n/a"), with this field set.
    let mut fields: BTreeMap<String, Json> = insp
        .answers
        .get(item_id)
        .filter(|a| !a.na)
        .map(|a| {
            a.fields
                .iter()
                .map(|(k, v)| (k.clone(), stored_json(v)))
                .collect()
        })
        .unwrap_or_default();
    fields.insert(field_key.to_owned(), value);
    let answer = Json::Object(fields.into_iter().collect());
    store.answer(user, inspection_id, &[(item_id.to_owned(), answer)])?;
    walk(store, inspection_id, lang)
}

/// Marks a whole item not applicable (不适用) and saves it.
pub fn mark_not_applicable(
    store: &mut Store,
    user: &str,
    inspection_id: &str,
    item_id: &str,
    lang: Lang,
) -> Result<Walk> {
    store.answer(user, inspection_id, &[(item_id.to_owned(), json!("na"))])?;
    walk(store, inspection_id, lang)
}

fn stored_json(v: &FieldValue) -> Json {
    match v {
        FieldValue::Yn(s) | FieldValue::Choice(s) | FieldValue::Text(s) => json!(s),
        FieldValue::Number(n) => json!(n),
        FieldValue::Count(c) => json!(c),
        FieldValue::Multi(ks) => json!(ks),
    }
}
