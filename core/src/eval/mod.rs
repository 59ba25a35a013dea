//! Answers and their evaluation: answers → a result per item → proposed hazards.
//!
//! Pure functions over a template item, the venue profile and the answer; the store calls them
//! and the relay will call the same ones.

mod answer;
mod finding;

pub use answer::{
    Answer, FieldValue, MAX_COUNT, MAX_MEASURE, MAX_TEXT, answers_from_json, parse_answer,
};

use serde::{Deserialize, Serialize};

use crate::profile::{Value, VenueProfile};
use crate::template::{FieldKind, FixMode, Item, Level, Referral, Threshold, YnPass};

/// Outcome of one item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Pass,
    Fail,
    /// Not applicable to this venue (by profile) or marked N/A by the inspector.
    NotApplicable,
    /// Recorded for statistics; never a hazard.
    Info,
    /// Not answered, or answered only in part.
    Unanswered,
}

impl Outcome {
    pub fn code(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "fail",
            Outcome::NotApplicable => "na",
            Outcome::Info => "info",
            Outcome::Unanswered => "unanswered",
        }
    }
}

/// A finding in both languages, e.g. "软管长度 2.5 m，应 ≤ 2 m" / "Hose length 2.5 m, must be ≤ 2 m".
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub zh: String,
    pub en: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ItemResult {
    pub item_id: String,
    pub outcome: Outcome,
    /// Why it failed, or which fields are missing.
    pub findings: Vec<Finding>,
    /// The checks (by key) that failed: what a severity rule may ask for.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub failed_checks: Vec<String>,
}

fn fmt_num(n: f64) -> String {
    if n.fract() == 0.0 {
        format!("{n:.0}")
    } else {
        format!("{n}")
    }
}

fn yn_zh(s: &str) -> &'static str {
    match s {
        "yes" => "是",
        "no" => "否",
        _ => "不适用",
    }
}

fn threshold_value(t: &Threshold, profile: &VenueProfile, answer: &Answer) -> Option<f64> {
    match t {
        Threshold::Number(n) => Some(*n),
        Threshold::Profile { profile: f, factor } => match profile.value(f) {
            Some(Value::Num(v)) => Some(v * factor),
            _ => None,
        },
        Threshold::Answer { answer: f, factor } => {
            numeric(answer.fields.get(f)).map(|v| v * factor)
        }
    }
}

fn numeric(v: Option<&FieldValue>) -> Option<f64> {
    match v {
        Some(FieldValue::Number(n)) => Some(*n),
        Some(FieldValue::Count(c)) => Some(*c as f64),
        _ => None,
    }
}

/// Evaluates one item. `answer` is `None` when the item was not answered.
pub fn evaluate_item(item: &Item, profile: &VenueProfile, answer: Option<&Answer>) -> ItemResult {
    let result = |outcome, findings| ItemResult {
        item_id: item.id.clone(),
        outcome,
        findings,
        failed_checks: vec![],
    };
    if item.applies_if.as_ref().is_some_and(|c| !c.eval(profile)) {
        return result(Outcome::NotApplicable, vec![]);
    }
    let Some(answer) = answer else {
        return result(
            Outcome::Unanswered,
            vec![Finding {
                zh: "未作答".into(),
                en: "not answered".into(),
            }],
        );
    };
    if answer.na {
        return result(Outcome::NotApplicable, vec![]);
    }
    let mut fails = Vec::new();
    let mut missing = Vec::new();
    for f in item.scored_fields() {
        if f.applies_if.as_ref().is_some_and(|c| !c.eval(profile)) {
            continue;
        }
        let Some(v) = answer.fields.get(&f.key) else {
            missing.push(f);
            continue;
        };
        match (f.kind, v) {
            (FieldKind::Yn, FieldValue::Yn(s)) => {
                let pass = match f.pass {
                    Some(YnPass::Yes) => s != "no",
                    Some(YnPass::No) => s != "yes",
                    _ => true,
                };
                if !pass {
                    fails.push(finding::of_field(item, f, answer, &[]).unwrap_or_else(|| {
                        Finding {
                            zh: format!("{}：{}", f.label_zh, yn_zh(s)),
                            en: format!("{}: {s}", f.label_en),
                        }
                    }));
                }
            }
            (FieldKind::Count | FieldKind::Measure, v) => {
                let Some(x) = numeric(Some(v)) else { continue };
                let unit = f
                    .unit
                    .as_deref()
                    .map(|u| format!(" {u}"))
                    .unwrap_or_default();
                let rule = f
                    .rules
                    .iter()
                    .find(|r| r.when.as_ref().is_none_or(|c| c.eval(profile)));
                if let Some(r) = rule
                    && let Some(t) = threshold_value(&r.threshold, profile, answer)
                    && !r.cmp.holds(x, t)
                {
                    fails.push(finding::of_field(item, f, answer, &[]).unwrap_or_else(|| {
                        Finding {
                            zh: format!(
                                "{} {}{unit}，应 {} {}{unit}",
                                f.label_zh,
                                fmt_num(x),
                                r.cmp.symbol(),
                                fmt_num(t)
                            ),
                            en: format!(
                                "{} {}{unit}, must be {} {}{unit}",
                                f.label_en,
                                fmt_num(x),
                                r.cmp.symbol(),
                                fmt_num(t)
                            ),
                        }
                    }));
                }
            }
            (FieldKind::Choice, FieldValue::Choice(c)) => {
                if let Some(o) = f.options.iter().find(|o| &o.key == c)
                    && !o.pass
                {
                    fails.push(finding::of_field(item, f, answer, &[]).unwrap_or_else(|| {
                        Finding {
                            zh: format!("{}：{}", f.label_zh, o.zh),
                            en: format!("{}: {}", f.label_en, o.en),
                        }
                    }));
                }
            }
            (FieldKind::Multi, FieldValue::Multi(cs)) => {
                for o in f.options.iter().filter(|o| !o.pass && cs.contains(&o.key)) {
                    fails.push(Finding {
                        zh: format!("{}：{}", f.label_zh, o.zh),
                        en: format!("{}: {}", f.label_en, o.en),
                    });
                }
            }
            _ => {}
        }
    }
    let mut totals: Vec<(&str, f64)> = Vec::new();
    let mut failed_checks = Vec::new();
    for c in &item.checks {
        // Fail closed: every input a check needs must be answered (a partial answer is not a
        // pass), except fields this venue is not asked.
        let mut parts = Vec::with_capacity(c.sum.len());
        let mut complete = true;
        for (k, w) in &c.sum {
            let field = item.fields.iter().find(|f| &f.key == k);
            if field.is_some_and(|f| f.applies_if.as_ref().is_some_and(|a| !a.eval(profile))) {
                continue;
            }
            match numeric(answer.fields.get(k)) {
                Some(v) => parts.push(v * w),
                None if c.optional => complete = false,
                None => {
                    complete = false;
                    if let Some(f) = field
                        && !missing
                            .iter()
                            .any(|m: &&crate::template::Field| m.key == f.key)
                    {
                        missing.push(f);
                    }
                }
            }
        }
        if let Threshold::Answer { answer: k, .. } = &c.threshold
            && numeric(answer.fields.get(k)).is_none()
        {
            complete = false;
            if let Some(f) = item.fields.iter().find(|f| &f.key == k)
                && !missing.iter().any(|m| m.key == f.key)
            {
                missing.push(f);
            }
        }
        if !complete {
            continue;
        }
        let total: f64 = parts.iter().sum();
        totals.push((c.key.as_str(), total));
        // A threshold only the department can give (the profile's `dept_*`): not judged
        // until it has.
        let Some(t) = threshold_value(&c.threshold, profile, answer) else {
            continue;
        };
        if c.cmp.holds(total, t) {
            continue;
        }
        if let Some(u) = &c.unless {
            match answer.fields.get(&u.field) {
                Some(FieldValue::Yn(v) | FieldValue::Choice(v)) if v == &u.eq => continue,
                Some(_) => {}
                None => {
                    if let Some(f) = item.fields.iter().find(|f| f.key == u.field)
                        && !missing.iter().any(|m| m.key == f.key)
                    {
                        missing.push(f);
                    }
                    continue;
                }
            }
        }
        failed_checks.push(c.key.clone());
        if let Some(text) = finding::of_check(item, c, answer, &totals) {
            fails.push(text);
        } else {
            fails.push(Finding {
                zh: format!(
                    "{} {}，应 {} {}",
                    c.label_zh,
                    fmt_num(total),
                    c.cmp.symbol(),
                    fmt_num(t)
                ),
                en: format!(
                    "{} {}, must be {} {}",
                    c.label_en,
                    fmt_num(total),
                    c.cmp.symbol(),
                    fmt_num(t)
                ),
            });
        }
    }
    if !fails.is_empty() {
        // How serious a failure is may depend on more than the failure: those fields must be
        // answered too.
        let unasked: Vec<&crate::template::Field> = item
            .fields
            .iter()
            .filter(|f| f.ask_on_fail && !answer.fields.contains_key(&f.key))
            .filter(|f| f.applies_if.as_ref().is_none_or(|a| a.eval(profile)))
            .collect();
        if !unasked.is_empty() {
            return missing_result(item, &unasked);
        }
        fails.dedup();
        return ItemResult {
            failed_checks,
            ..result(
                if item.severity.level == Level::Info {
                    Outcome::Info
                } else {
                    Outcome::Fail
                },
                fails,
            )
        };
    }
    if !missing.is_empty() {
        return missing_result(item, &missing);
    }
    if item.severity.level == Level::Info {
        return result(Outcome::Info, vec![]);
    }
    result(Outcome::Pass, vec![])
}

/// An item left unanswered for want of `missing`, named in both languages.
fn missing_result(item: &Item, missing: &[&crate::template::Field]) -> ItemResult {
    let zh = missing
        .iter()
        .map(|f| f.label_zh.as_str())
        .collect::<Vec<_>>()
        .join("、");
    let en = missing
        .iter()
        .map(|f| f.label_en.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    ItemResult {
        item_id: item.id.clone(),
        outcome: Outcome::Unanswered,
        findings: vec![Finding {
            zh: format!("缺少：{zh}"),
            en: format!("missing: {en}"),
        }],
        failed_checks: vec![],
    }
}

/// What a failed item proposes to register.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Proposal {
    pub item_id: String,
    pub domain: String,
    pub severity: Level,
    pub focus: bool,
    pub combined_group: Option<String>,
    pub lead_depts: Vec<String>,
    pub fix_mode: FixMode,
    pub deadline_days: u32,
    pub findings: Vec<Finding>,
    /// Another party this failure refers to a department (see [`crate::template::Referral`]).
    pub referral: Option<Referral>,
    /// What the order demands at once, in both languages.
    pub order: Option<Finding>,
}

/// The hazard a failed item proposes, with its severity raised to a major candidate where the
/// venue or the answer matches the item's escalation rule.
pub fn propose(
    item: &Item,
    profile: &VenueProfile,
    answer: &Answer,
    result: &ItemResult,
) -> Option<Proposal> {
    if result.outcome != Outcome::Fail || item.severity.level == Level::Info {
        return None;
    }
    let by_profile = item
        .severity
        .major_if
        .as_ref()
        .is_some_and(|c| c.eval(profile));
    let by_answer =
        item.severity
            .major_if_answer
            .as_ref()
            .is_some_and(|a| match answer.fields.get(&a.field) {
                Some(FieldValue::Yn(s) | FieldValue::Choice(s)) => s == &a.eq,
                _ => false,
            });
    let answered = |a: &crate::template::AnswerCondition| match answer.fields.get(&a.field) {
        Some(FieldValue::Yn(s) | FieldValue::Choice(s)) => s == &a.eq,
        _ => false,
    };
    let by_rule = item.severity.major_when.iter().any(|r| {
        r.profile.as_ref().is_none_or(|c| c.eval(profile))
            && r.answers.iter().all(answered)
            && r.failed_check
                .as_ref()
                .is_none_or(|k| result.failed_checks.contains(k))
    });
    let severity = if by_profile || by_answer || by_rule {
        Level::MajorCandidate
    } else {
        item.severity.level
    };
    Some(Proposal {
        item_id: item.id.clone(),
        domain: item.domain.clone(),
        severity,
        focus: item.severity.focus,
        combined_group: item.severity.combined_group.clone(),
        lead_depts: item.lead_depts.clone(),
        // A major candidate is never fixed on the spot: it goes to the department first.
        fix_mode: if severity == Level::MajorCandidate {
            FixMode::Deadline
        } else {
            item.fix_mode_default
        },
        deadline_days: item.deadline_days,
        findings: result.findings.clone(),
        referral: item.severity.referral.clone(),
        order: match (&item.severity.order_zh, &item.severity.order_en) {
            (Some(zh), Some(en)) => Some(Finding {
                zh: zh.clone(),
                en: en.clone(),
            }),
            _ => None,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::{Template, bundled_sources, load_bundle};
    use serde_json::json;

    fn templates() -> Vec<Template> {
        load_bundle(&bundled_sources(), &|_, _| None).unwrap()
    }
    fn item<'a>(ts: &'a [Template], id: &str) -> &'a Item {
        ts.iter()
            .flat_map(|t| t.items.iter())
            .find(|i| i.id == id)
            .unwrap()
    }
    fn restaurant() -> VenueProfile {
        VenueProfile {
            venue_type: vec!["small_restaurant".into()],
            floors_above_ground: 2,
            max_floor_area_m2: 120.0,
            building_height_m: 7.0,
            residents_count: Some(2),
            is_crowded_place: true,
            gas_supply: "lpg".into(),
            ..Default::default()
        }
    }
    fn run(
        ts: &[Template],
        id: &str,
        p: &VenueProfile,
        v: serde_json::Value,
    ) -> (ItemResult, Option<Proposal>) {
        let it = item(ts, id);
        let a = parse_answer(it, &v).unwrap();
        let r = evaluate_item(it, p, Some(&a));
        let prop = propose(it, p, &a, &r);
        (r, prop)
    }

    #[test]
    fn yn_pass_value_in_both_directions() {
        let ts = templates();
        let p = restaurant();
        // pass = no (a negative question)
        assert_eq!(
            run(&ts, "ebike.flying_lead", &p, json!("no")).0.outcome,
            Outcome::Pass
        );
        assert_eq!(
            run(&ts, "ebike.flying_lead", &p, json!("是")).0.outcome,
            Outcome::Fail
        );
        // pass = yes
        assert_eq!(
            run(&ts, "gas.alarm_installed", &p, json!(true)).0.outcome,
            Outcome::Pass
        );
        assert_eq!(
            run(&ts, "gas.alarm_installed", &p, json!("no")).0.outcome,
            Outcome::Fail
        );
        assert_eq!(
            run(&ts, "gas.alarm_installed", &p, json!("na")).0.outcome,
            Outcome::NotApplicable
        );
    }

    #[test]
    fn measure_thresholds_in_every_direction() {
        let ts = templates();
        let p = restaurant();
        // ≤ : gas hose longer than 2.0 m fails; exactly 2.0 passes.
        assert_eq!(
            run(&ts, "gas.hose_length", &p, json!(2.0)).0.outcome,
            Outcome::Pass
        );
        let (r, prop) = run(&ts, "gas.hose_length", &p, json!(2.3));
        assert_eq!(r.outcome, Outcome::Fail);
        assert!(
            r.findings[0].en.contains("2.3 m, must be ≤ 2 m"),
            "{:?}",
            r.findings
        );
        assert_eq!(prop.unwrap().lead_depts, vec!["gjb"]);
        // ≥ : fire lane clear width under 4.0 m fails.
        assert_eq!(
            run(&ts, "lifeline.fire_lane_width", &p, json!(3.9))
                .0
                .outcome,
            Outcome::Fail
        );
        assert_eq!(
            run(&ts, "lifeline.fire_lane_width", &p, json!("4"))
                .0
                .outcome,
            Outcome::Pass
        );
        // grouped: escape window height ≥1.0, width ≥0.8, sill ≤1.2.
        let ok = json!({"yn": "yes", "clear_height": 1.1, "clear_width": 0.8, "sill_height": 1.2});
        assert_eq!(
            run(&ts, "selfbuilt.escape_window", &p, ok).0.outcome,
            Outcome::Pass
        );
        let high_sill =
            json!({"yn": "yes", "clear_height": 1.1, "clear_width": 0.9, "sill_height": 1.5});
        let (r, _) = run(&ts, "selfbuilt.escape_window", &p, high_sill);
        assert_eq!(r.outcome, Outcome::Fail);
        assert_eq!(r.findings.len(), 1);
        assert!(r.findings[0].zh.contains("窗台高度"));
        let partial = json!({"yn": "yes", "clear_height": 1.1});
        assert_eq!(
            run(&ts, "selfbuilt.escape_window", &p, partial).0.outcome,
            Outcome::Unanswered
        );
        // A window that cannot be opened fails without measuring it.
        assert_eq!(
            run(&ts, "selfbuilt.escape_window", &p, json!("no"))
                .0
                .outcome,
            Outcome::Fail
        );
    }

    #[test]
    fn count_rules_use_the_profile() {
        let ts = templates();
        let mut p = restaurant();
        // Two floors, 120 m², non-combustible: one stair is enough.
        assert_eq!(
            run(&ts, "selfbuilt.stair_count", &p, json!(1)).0.outcome,
            Outcome::Pass
        );
        // Four floors triggers the ≥2 rule.
        p.floors_above_ground = 4;
        assert_eq!(
            run(&ts, "selfbuilt.stair_count", &p, json!(1)).0.outcome,
            Outcome::Fail
        );
        assert_eq!(
            run(&ts, "selfbuilt.stair_count", &p, json!(2)).0.outcome,
            Outcome::Pass
        );
        // One extinguisher per floor.
        assert_eq!(
            run(
                &ts,
                "selfbuilt.extinguishers",
                &p,
                json!({"count": 3, "condition_ok": "yes"})
            )
            .0
            .outcome,
            Outcome::Fail
        );
        assert_eq!(
            run(
                &ts,
                "selfbuilt.extinguishers",
                &p,
                json!({"count": 4, "condition_ok": "yes"})
            )
            .0
            .outcome,
            Outcome::Pass
        );
        // Exits present vs required; exit width ≥ 80 % of required.
        assert_eq!(
            run(
                &ts,
                "lifeline.exit_count",
                &p,
                json!({"actual": 1, "required": 2})
            )
            .0
            .outcome,
            Outcome::Fail
        );
        assert_eq!(
            run(
                &ts,
                "lifeline.exit_total_width",
                &p,
                json!({"width": 1.6, "required": 2.0})
            )
            .0
            .outcome,
            Outcome::Pass
        );
        assert_eq!(
            run(
                &ts,
                "lifeline.exit_total_width",
                &p,
                json!({"width": 1.5, "required": 2.0})
            )
            .0
            .outcome,
            Outcome::Fail
        );
        // Weighted sum: 7 × 15 kg = 105 kg > 100 kg.
        assert_eq!(
            run(
                &ts,
                "gas.cylinder_count",
                &p,
                json!({"kg15": 7, "kg5": 0, "kg50": 0})
            )
            .0
            .outcome,
            Outcome::Fail
        );
        assert_eq!(
            run(
                &ts,
                "gas.cylinder_count",
                &p,
                json!({"kg15": 6, "kg5": 2, "kg50": 0})
            )
            .0
            .outcome,
            Outcome::Pass
        );
    }

    #[test]
    fn choice_and_info_items() {
        let ts = templates();
        let p = restaurant();
        assert_eq!(
            run(&ts, "selfbuilt.separation_material", &p, json!("solid"))
                .0
                .outcome,
            Outcome::Pass
        );
        assert_eq!(
            run(&ts, "selfbuilt.separation_material", &p, json!("gypsum"))
                .0
                .outcome,
            Outcome::Fail
        );
        let (r, prop) = run(
            &ts,
            "ebike.facility_available",
            &p,
            json!({"yn": "no", "charging_points": 0}),
        );
        assert_eq!(r.outcome, Outcome::Info);
        assert!(prop.is_none(), "INFO items never become hazards");
    }

    #[test]
    fn applicability_follows_the_profile() {
        let ts = templates();
        let mut p = restaurant();
        p.gas_supply = "piped_ng".into();
        // LPG-only items do not apply to a piped-gas user, answered or not.
        let it = item(&ts, "gas.lpg_underground");
        assert_eq!(evaluate_item(it, &p, None).outcome, Outcome::NotApplicable);
        // Field-level: the NG detector rule applies, the LPG one does not.
        let (r, _) = run(
            &ts,
            "gas.alarm_height",
            &p,
            json!({"ng_to_ceiling": 0.5, "ng_above_appliance": "no"}),
        );
        assert_eq!(r.outcome, Outcome::Fail);
        let (r, _) = run(
            &ts,
            "gas.alarm_height",
            &p,
            json!({"ng_to_ceiling": 0.2, "ng_above_appliance": "no"}),
        );
        assert_eq!(r.outcome, Outcome::Pass);
        // High-rise only.
        assert_eq!(
            evaluate_item(item(&ts, "ebike.highrise_public_area"), &p, None).outcome,
            Outcome::NotApplicable
        );
        p.building_height_m = 30.0;
        assert_eq!(
            evaluate_item(item(&ts, "ebike.highrise_public_area"), &p, None).outcome,
            Outcome::Unanswered
        );
        // Sleeping occupants.
        p.residents_count = Some(0);
        assert_eq!(
            evaluate_item(item(&ts, "selfbuilt.escape_window"), &p, None).outcome,
            Outcome::NotApplicable
        );
    }

    #[test]
    fn domain_rules_of_the_issue() {
        let ts = templates();
        let mut p = restaurant();
        p.has_basement = true;
        // LPG in a basement is a major candidate routed to 规建办.
        let (r, prop) = run(&ts, "gas.lpg_underground", &p, json!("yes"));
        assert_eq!(r.outcome, Outcome::Fail);
        let prop = prop.unwrap();
        assert_eq!(prop.severity, Level::MajorCandidate);
        assert_eq!(prop.lead_depts, vec!["gjb"]);
        assert_eq!(prop.fix_mode, FixMode::Deadline);
        // Flying-lead charging: general, fixable on the spot, a focus item.
        let prop = run(&ts, "ebike.flying_lead", &p, json!("yes")).1.unwrap();
        assert_eq!(
            (prop.severity, prop.fix_mode, prop.focus),
            (Level::General, FixMode::OnSpot, true)
        );
        assert_eq!(prop.lead_depts, vec!["cyzx", "pcs"]);
        // The combined-element tag is kept.
        let prop = run(&ts, "lifeline.corridor_blocked", &p, json!("yes"))
            .1
            .unwrap();
        assert_eq!(prop.combined_group.as_deref(), Some("7.3"));
        assert_eq!(prop.severity, Level::General);
        // Escalation by profile: hazardous goods stored in a crowded place.
        let prop = run(&ts, "selfbuilt.hazmat_storage", &p, json!("yes"))
            .1
            .unwrap();
        assert_eq!(prop.severity, Level::MajorCandidate);
        // A restaurant is a crowded place whatever its box says (消防法 §73, issue #28).
        p.is_crowded_place = false;
        let prop = run(&ts, "selfbuilt.hazmat_storage", &p, json!("yes"))
            .1
            .unwrap();
        assert_eq!(prop.severity, Level::MajorCandidate);
        p.venue_type = vec!["small_workshop".into()];
        let prop = run(&ts, "selfbuilt.hazmat_storage", &p, json!("yes"))
            .1
            .unwrap();
        assert_eq!(prop.severity, Level::General);
        // Escalation by answer: a medium-pressure main encroached.
        let prop = run(
            &ts,
            "gas.pipeline_encroachment",
            &p,
            json!({"yn": "yes", "pressure": "medium_or_higher"}),
        )
        .1
        .unwrap();
        assert_eq!(prop.severity, Level::MajorCandidate);
        // Structural findings go to 规建办 and 城建中心.
        let prop = run(&ts, "selfbuilt.structural_referral", &p, json!("yes"))
            .1
            .unwrap();
        assert_eq!(prop.lead_depts, vec!["gjb", "cjzx"]);
    }

    #[test]
    fn strict_directions_multi_and_text() {
        let t = serde_json::json!({
            "format": 1, "template_id": "lx.t", "version": "1", "domain": "t", "title_zh": "测", "title_en": "T",
            "effective_from": "2026-01-01", "lead_depts": ["cyzx"], "deadline_days": 7,
            "items": [{
                "id": "t.all", "q_zh": "测", "q_en": "T", "severity": {"level": "general"}, "photo": "none",
                "refs": [{"cite": "X", "verify": "L"}], "fix_mode_default": "deadline",
                "fields": [
                    {"key": "gt", "type": "measure", "unit": "m", "label_zh": "大", "label_en": "Gt", "rules": [{"cmp": ">", "threshold": 1.0}]},
                    {"key": "lt", "type": "count", "label_zh": "小", "label_en": "Lt", "rules": [{"cmp": "<", "threshold": 3}]},
                    {"key": "where", "type": "multi", "label_zh": "位", "label_en": "Where", "options": [
                        {"key": "ok", "zh": "好", "en": "ok", "pass": true}, {"key": "bad", "zh": "坏", "en": "bad", "pass": false}]},
                    {"key": "note", "type": "text", "label_zh": "注", "label_en": "Note"}
                ]
            }]
        });
        let src = crate::template::TemplateSource {
            name: "t.json".into(),
            bytes: serde_json::to_vec(&t).unwrap(),
        };
        let ts = load_bundle(&[src], &|_, _| None).unwrap();
        let p = restaurant();
        let ok = json!({"gt": 1.01, "lt": 2, "where": ["ok"], "note": "fine"});
        assert_eq!(run(&ts, "t.all", &p, ok).0.outcome, Outcome::Pass);
        assert_eq!(
            run(
                &ts,
                "t.all",
                &p,
                json!({"gt": 1.0, "lt": 2, "where": ["ok"]})
            )
            .0
            .outcome,
            Outcome::Fail,
            "> is strict"
        );
        assert_eq!(
            run(&ts, "t.all", &p, json!({"gt": 2, "lt": 3, "where": ["ok"]}))
                .0
                .outcome,
            Outcome::Fail,
            "< is strict"
        );
        let (r, _) = run(
            &ts,
            "t.all",
            &p,
            json!({"gt": 2, "lt": 0, "where": "ok,bad"}),
        );
        assert_eq!(r.outcome, Outcome::Fail);
        assert!(r.findings[0].en.contains("bad"));
        let e = parse_answer(
            item(&ts, "t.all"),
            &json!({"note": "x".repeat(MAX_TEXT + 1)}),
        )
        .unwrap_err();
        assert!(e.to_string().contains("longer than"));
        let e = parse_answer(item(&ts, "t.all"), &json!({"note": 5})).unwrap_err();
        assert!(e.to_string().contains("expected text"));
        let e = parse_answer(item(&ts, "t.all"), &json!({"where": ["nowhere"]})).unwrap_err();
        assert!(e.to_string().contains("unknown option"));
        // Text alone never decides: the item stays unanswered until its scored fields are given.
        assert_eq!(
            run(&ts, "t.all", &p, json!({"note": "only a note"}))
                .0
                .outcome,
            Outcome::Unanswered
        );
    }

    #[test]
    fn wrong_answers_name_the_item() {
        let ts = templates();
        let e = |id: &str, v: serde_json::Value| {
            parse_answer(item(&ts, id), &v).unwrap_err().to_string()
        };
        let m = e("gas.hose_length", json!(-1.5));
        assert!(
            m.contains("gas.hose_length") && m.contains("negative"),
            "{m}"
        );
        let m = e("gas.hose_length", json!("long"));
        assert!(
            m.contains("gas.hose_length") && m.contains("expected a number"),
            "{m}"
        );
        let m = e("selfbuilt.stair_count", json!("two"));
        assert!(
            m.contains("selfbuilt.stair_count") && m.contains("whole number"),
            "{m}"
        );
        let m = e("selfbuilt.stair_count", json!(1.5));
        assert!(m.contains("whole number"), "{m}");
        let m = e("ebike.flying_lead", json!("maybe"));
        assert!(
            m.contains("ebike.flying_lead") && m.contains("yes, no or na"),
            "{m}"
        );
        let m = e("selfbuilt.separation_material", json!("brick"));
        assert!(m.contains("unknown option"), "{m}");
        let m = e("selfbuilt.escape_window", json!({"colour": "red"}));
        assert!(m.contains("unknown field"), "{m}");
        let m = e("lifeline.fire_lane_width", json!(1e9));
        assert!(m.contains("out of range"), "{m}");
    }
}
