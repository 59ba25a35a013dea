//! The phone's workflows as pure functions over records: what finishing an inspection registers,
//! what a verified public report registers, the event a lifecycle action records. The store only
//! loads, calls these, and saves; the same functions are unit-tested here without a database.

use std::collections::BTreeMap;

use time::Date;

use crate::clock::{Hlc, format_date, ms_to_rfc3339};
use crate::error::{Error, Result};
use crate::eval::{Answer, ItemResult, Outcome, Proposal, evaluate_item};
use crate::lifecycle::{EventKind, event};
use crate::records::{EventRecord, HazardHeader, Inspection, PhotoRef, Task, Venue};
use crate::template::{FixMode, Item, Level, Template};

pub fn answer_of(insp: &Inspection, item_id: &str) -> Answer {
    insp.answers
        .get(item_id)
        .map(|a| Answer {
            na: a.na,
            fields: a.fields.clone(),
        })
        .unwrap_or_default()
}

/// Evaluates every item of the pinned template against the inspection's answers.
pub fn evaluate_all(t: &Template, insp: &Inspection) -> Vec<ItemResult> {
    t.items
        .iter()
        .map(|item| {
            let a = insp.answers.get(&item.id).map(|a| Answer {
                na: a.na,
                fields: a.fields.clone(),
            });
            evaluate_item(item, &insp.header.profile, a.as_ref())
        })
        .collect()
}

/// Why an inspection cannot be finished yet: an applicable item unanswered, or a failed item
/// whose photo rule asks for a before photo that was not taken.
pub fn check_finishable(t: &Template, insp: &Inspection, results: &[ItemResult]) -> Result<()> {
    // Each unanswered item by its question, with what it still needs (a partial answer names
    // the missing field): the worker goes straight to it.
    let unanswered: Vec<String> = results
        .iter()
        .filter(|r| r.outcome == Outcome::Unanswered)
        .map(|r| {
            let question = t.item(&r.item_id).map_or(r.item_id.as_str(), |i| &i.q_zh);
            match r.findings.first() {
                Some(f) if f.zh.starts_with("缺少") => format!("{question}（{}）", f.zh),
                _ => question.to_owned(),
            }
        })
        .collect();
    if !unanswered.is_empty() {
        return Err(Error::Incomplete {
            id: insp.header.id.clone(),
            reason: format!(
                "尚未作答（请作答或标为不适用） / unanswered (answer or mark n/a): {}",
                unanswered.join("；")
            ),
        });
    }
    let missing_photo: Vec<&str> = results
        .iter()
        .filter(|r| r.outcome == Outcome::Fail)
        .filter(|r| {
            t.item(&r.item_id)
                .is_some_and(|i| i.photo.requires_photo_on_fail())
        })
        .filter(|r| {
            !insp
                .photos
                .iter()
                .any(|p| p.item_id.as_deref() == Some(r.item_id.as_str()) && p.role == "before")
        })
        .map(|r| t.item(&r.item_id).map_or(r.item_id.as_str(), |i| &i.q_zh))
        .collect();
    if !missing_photo.is_empty() {
        return Err(Error::Incomplete {
            id: insp.header.id.clone(),
            reason: format!(
                "不合格项需拍整改前照片 / failed items need a before photo: {}",
                missing_photo.join("；")
            ),
        });
    }
    Ok(())
}

/// Every registered finding's deadline (rules 2): 即改 — the day of the visit (not fixed that
/// day, it is overdue the next); 限期整改 — the item's configured period from the visit.
pub fn deadline_of(found: Date, mode: FixMode, days: u32) -> String {
    match mode {
        FixMode::OnSpot => format_date(found),
        FixMode::Deadline => format_date(found + time::Duration::days(i64::from(days))),
    }
}

/// The inspector's 即改 / 限期 choices name failed items only, and never make a major candidate
/// 即改.
pub fn check_fix_modes(
    t: &Template,
    insp: &Inspection,
    results: &[ItemResult],
    fix_modes: &std::collections::BTreeMap<String, FixMode>,
) -> Result<()> {
    for (id, mode) in fix_modes {
        let r = results
            .iter()
            .find(|r| &r.item_id == id && r.outcome == Outcome::Fail);
        let (Some(r), Some(item)) = (r, t.item(id)) else {
            return Err(Error::invalid(format!(
                "整改方式只能为不合格项选择 / a fix mode is chosen for failed items only: {id}"
            )));
        };
        let answer = answer_of(insp, id);
        let major = crate::eval::propose(item, &insp.header.profile, &answer, r)
            .is_some_and(|p| p.severity == Level::MajorCandidate);
        if major && *mode == FixMode::OnSpot {
            return Err(Error::invalid(format!(
                "重大隐患（待认定）不能即改，须交牵头部门处置 / a major candidate cannot be fixed on the spot: {}",
                item.q_zh
            )));
        }
    }
    Ok(())
}

/// Who registers a hazard, when, and under which id.
#[derive(Clone, Debug)]
pub struct Registration<'a> {
    pub id: String,
    pub hlc: Hlc,
    pub by: &'a str,
    /// The registering phone's date (the default deadline counts from it).
    pub today: Date,
}

/// The hazard a failed checklist item registers: its header, built from the inspection, the
/// pinned template's item and the evaluation's proposal. `recurrence_of` links it to the last
/// closed hazard of the same venue and item.
pub fn inspection_hazard(
    t: &Template,
    insp: &Inspection,
    item: &Item,
    p: &Proposal,
    reg: Registration<'_>,
    recurrence_of: Option<String>,
) -> HazardHeader {
    let deadline = Some(deadline_of(reg.today, p.fix_mode, p.deadline_days));
    HazardHeader {
        id: reg.id,
        venue_id: insp.header.venue_id.clone(),
        venue_name: insp.header.venue_name.clone(),
        village: insp.header.village.clone(),
        grid_id: insp.header.grid_id.clone(),
        inspection_id: Some(insp.header.id.clone()),
        template_id: t.template_id.clone(),
        template_version: t.version.clone(),
        item_id: item.id.clone(),
        domain: item.domain.clone(),
        title_zh: item.q_zh.clone(),
        title_en: item.q_en.clone(),
        finding_zh: p
            .findings
            .iter()
            .map(|f| f.zh.as_str())
            .collect::<Vec<_>>()
            .join("；"),
        finding_en: p
            .findings
            .iter()
            .map(|f| f.en.as_str())
            .collect::<Vec<_>>()
            .join("; "),
        // Printed citations, not the template's tagged references (docs/domain-changes.md).
        basis_refs: crate::citations::for_item(&t.template_id, &t.version, &item.id)
            .into_iter()
            .map(|c| c.text)
            .collect(),
        basis_edition: t.basis_edition.clone(),
        severity_proposed: if p.severity == Level::MajorCandidate {
            "major_candidate".into()
        } else {
            "general".into()
        },
        focus: p.focus,
        combined_group: p.combined_group.clone(),
        lead_depts: p.lead_depts.clone(),
        source: "inspection".into(),
        ticket_no: None,
        fix_mode: if p.fix_mode == FixMode::OnSpot {
            "on_spot".into()
        } else {
            "deadline".into()
        },
        deadline,
        recurrence_of,
        found_at: ms_to_rfc3339(reg.hlc.ms),
        found_ms: reg.hlc.ms,
        found_by: reg.by.to_owned(),
        photos: insp
            .photos
            .iter()
            .filter(|ph| ph.item_id.as_deref() == Some(item.id.as_str()))
            .cloned()
            .collect(),
        referral: p.referral.as_ref().map(|r| crate::records::HazardReferral {
            dept: r.dept.clone(),
            severity: if r.level == Level::MajorCandidate {
                "major_candidate".into()
            } else {
                "general".into()
            },
            zh: r.zh.clone(),
            en: r.en.clone(),
        }),
        order_zh: p.order.as_ref().map(|o| o.zh.clone()),
        order_en: p.order.as_ref().map(|o| o.en.clone()),
        lifecycle: crate::lifecycle::RULES,
    }
}

/// The channel of a ticket a department or a higher level refers to the town (转办): its hazard
/// counts as a referral, not a public report.
pub const REFERRAL_CHANNEL: &str = "转办";

/// A verified ticket's hazard source: `referral` for [`REFERRAL_CHANNEL`], else `public_report`.
pub fn ticket_source(channel: &str) -> &'static str {
    if channel == REFERRAL_CHANNEL {
        "referral"
    } else {
        "public_report"
    }
}

/// Days a verified public report's hazard gets to be rectified unless a notice sets otherwise.
pub const PUBLIC_REPORT_DEADLINE_DAYS: i64 = 7;

/// The hazard a substantiated public report registers at `venue`: source `public_report` with
/// the channel and ticket number, routed to `lead_depts` (the directory's departments for the
/// report's domain), with what the worker found (the report's description when left empty).
///
/// With the checklist item the worker matched it to (rules 2), it registers like any finding of
/// that item: its question, severity (raised by the venue where the item says so), basis, lead
/// departments and period.
pub fn public_report_hazard(
    task: &Task,
    venue: &Venue,
    finding: &str,
    lead_depts: Vec<String>,
    photos: Vec<PhotoRef>,
    reg: Registration<'_>,
    item: Option<(&Template, &Item)>,
) -> HazardHeader {
    let short: String = task.description.chars().take(40).collect();
    if let Some((t, item)) = item {
        let level = report_severity(item, &venue.profile);
        let found_day = reg.today;
        return HazardHeader {
            id: reg.id,
            venue_id: venue.id.clone(),
            venue_name: venue.name.clone(),
            village: venue.village.clone(),
            grid_id: venue.grid_id.clone(),
            inspection_id: None,
            template_id: t.template_id.clone(),
            template_version: t.version.clone(),
            item_id: item.id.clone(),
            domain: item.domain.clone(),
            title_zh: item.q_zh.clone(),
            title_en: item.q_en.clone(),
            finding_zh: if finding.trim().is_empty() {
                item.finding_zh
                    .clone()
                    .unwrap_or_else(|| task.description.clone())
            } else {
                finding.trim().to_owned()
            },
            finding_en: item.finding_en.clone().unwrap_or_default(),
            basis_refs: crate::citations::for_item(&t.template_id, &t.version, &item.id)
                .into_iter()
                .map(|c| c.text)
                .collect(),
            basis_edition: t.basis_edition.clone(),
            severity_proposed: if level == Level::MajorCandidate {
                "major_candidate".into()
            } else {
                "general".into()
            },
            focus: item.severity.focus,
            combined_group: item.severity.combined_group.clone(),
            lead_depts: item.lead_depts.clone(),
            source: ticket_source(&task.channel).into(),
            ticket_no: Some(format!("{} {}", task.channel, task.ticket_no)),
            fix_mode: "deadline".into(),
            deadline: Some(deadline_of(
                found_day,
                FixMode::Deadline,
                item.deadline_days,
            )),
            recurrence_of: None,
            found_at: ms_to_rfc3339(reg.hlc.ms),
            found_ms: reg.hlc.ms,
            found_by: reg.by.to_owned(),
            photos,
            referral: None,
            order_zh: item.severity.order_zh.clone(),
            order_en: item.severity.order_en.clone(),
            lifecycle: crate::lifecycle::RULES,
        };
    }
    HazardHeader {
        id: reg.id,
        venue_id: venue.id.clone(),
        venue_name: venue.name.clone(),
        village: venue.village.clone(),
        grid_id: venue.grid_id.clone(),
        inspection_id: None,
        template_id: "public_report".into(),
        template_version: "1".into(),
        item_id: format!("public_report.{}", task.category),
        domain: task.category.clone(),
        title_zh: if task.channel == REFERRAL_CHANNEL {
            format!("部门转办查实：{short}")
        } else {
            format!("群众举报查实：{short}")
        },
        title_en: format!("Public report {} substantiated", task.ticket_no),
        finding_zh: if finding.trim().is_empty() {
            task.description.clone()
        } else {
            finding.trim().to_owned()
        },
        finding_en: String::new(),
        basis_refs: vec![],
        basis_edition: BTreeMap::new(),
        severity_proposed: "general".into(),
        focus: false,
        combined_group: None,
        lead_depts,
        source: ticket_source(&task.channel).into(),
        ticket_no: Some(format!("{} {}", task.channel, task.ticket_no)),
        fix_mode: "deadline".into(),
        deadline: Some(format_date(
            reg.today + time::Duration::days(PUBLIC_REPORT_DEADLINE_DAYS),
        )),
        recurrence_of: None,
        found_at: ms_to_rfc3339(reg.hlc.ms),
        found_ms: reg.hlc.ms,
        found_by: reg.by.to_owned(),
        photos,
        referral: None,
        order_zh: None,
        order_en: None,
        lifecycle: crate::lifecycle::RULES,
    }
}

/// A public report's severity when matched to `item` at a venue with `profile`: the item's
/// level, raised to a major candidate by its venue rules (rules that need an answer cannot apply:
/// there was no inspection).
pub fn report_severity(item: &Item, profile: &crate::profile::VenueProfile) -> Level {
    let sev = &item.severity;
    let by_venue = sev.major_if.as_ref().is_some_and(|c| c.eval(profile))
        || sev.major_when.iter().any(|r| {
            r.answers.is_empty()
                && r.failed_check.is_none()
                && r.profile.as_ref().is_some_and(|c| c.eval(profile))
        });
    if by_venue || sev.level == Level::MajorCandidate {
        Level::MajorCandidate
    } else {
        Level::General
    }
}

/// What a lifecycle action carries besides its kind (blank texts count as absent).
#[derive(Clone, Debug, Default)]
pub struct EventInputs {
    pub reason: Option<String>,
    pub deadline: Option<String>,
    pub text: Option<String>,
    /// The SHA-256 of the after photo's evidence copy, already stored.
    pub photo: Option<String>,
}

/// The event a lifecycle action records on hazard `h`. An on-the-spot fix names the hazard's
/// inspection, which is how the fold knows it happened in the same visit.
pub fn action_event(
    h: &HazardHeader,
    id: String,
    hlc: Hlc,
    kind: EventKind,
    inputs: EventInputs,
) -> EventRecord {
    let mut ev = event(id, kind, hlc);
    ev.reason = inputs.reason.filter(|s| !s.trim().is_empty());
    ev.deadline = inputs.deadline;
    ev.text = inputs.text.filter(|s| !s.trim().is_empty());
    ev.photo = inputs.photo;
    if kind == EventKind::Rectify {
        ev.inspection_id = h.inspection_id.clone();
    }
    ev
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::{parse_answer, propose};
    use crate::profile::VenueProfile;
    use crate::records::{AnswerRecord, InspectionHeader, Responsible};
    use crate::template::{bundled_sources, load_bundle};
    use serde_json::json;

    /// 2026-11-18 10:00 in Shanghai.
    const T0: i64 = 1_795_442_400_000;

    fn gas() -> Template {
        load_bundle(&bundled_sources(), &|_, _| None)
            .unwrap()
            .into_iter()
            .filter(|t| t.template_id == "lx.gas")
            .max_by(|a, b| a.version.cmp(&b.version))
            .unwrap()
    }

    fn profile() -> VenueProfile {
        VenueProfile {
            venue_type: vec!["small_restaurant".into()],
            floors_above_ground: 1,
            max_floor_area_m2: 60.0,
            building_height_m: 4.0,
            is_crowded_place: true,
            gas_supply: "lpg".into(),
            ..Default::default()
        }
    }

    fn inspection(t: &Template) -> Inspection {
        Inspection {
            header: InspectionHeader {
                id: "i1".into(),
                venue_id: "v1".into(),
                venue_name: "老王小吃".into(),
                village: "heping".into(),
                grid_id: "heping-1".into(),
                template_id: t.template_id.clone(),
                template_version: t.version.clone(),
                template_hash: t.hash.clone(),
                inspector: "wang".into(),
                started_at: String::new(),
                started_ms: T0,
                profile: profile(),
            },
            answers: BTreeMap::new(),
            photos: vec![],
            finish: None,
        }
    }

    fn answer(t: &Template, insp: &mut Inspection, item: &str, v: serde_json::Value) {
        let a = parse_answer(t.item(item).unwrap(), &v).unwrap();
        insp.answers.insert(
            item.into(),
            AnswerRecord {
                na: a.na,
                fields: a.fields,
                at: String::new(),
                by: "wang".into(),
            },
        );
    }

    fn photo(item: &str, role: &str) -> PhotoRef {
        PhotoRef {
            sha256: "a".repeat(64),
            item_id: Some(item.into()),
            role: role.into(),
            size: 1,
            mime: "image/jpeg".into(),
            captured_at: String::new(),
            taken_by: "wang".into(),
            lat: None,
            lon: None,
            width: None,
            height: None,
            thumb_sha256: None,
            thumb_size: None,
            original_sha256: None,
            original_size: None,
            gps_source: None,
            camera: None,
        }
    }

    fn reg(today: Date) -> Registration<'static> {
        Registration {
            id: "h1".into(),
            hlc: Hlc { ms: T0, counter: 3 },
            by: "wang",
            today,
        }
    }

    #[test]
    fn finishing_names_unanswered_items_then_missing_before_photos() {
        let t = gas();
        let mut insp = inspection(&t);
        let err = check_finishable(&t, &insp, &evaluate_all(&t, &insp)).unwrap_err();
        // By question, never by code (issue #28).
        assert!(
            err.to_string().contains("unanswered")
                && err.to_string().contains("用气场所是否安装可燃气体报警装置")
                && !err.to_string().contains("gas."),
            "{err}"
        );
        for item in &t.items {
            answer(&t, &mut insp, &item.id, json!("na"));
        }
        answer(&t, &mut insp, "gas.hose_length", json!(2.4));
        let results = evaluate_all(&t, &insp);
        let err = check_finishable(&t, &insp, &results).unwrap_err();
        assert!(
            err.to_string()
                .contains("failed items need a before photo: 燃具连接软管长度"),
            "{err}"
        );
        insp.photos.push(photo("gas.hose_length", "after"));
        assert!(
            check_finishable(&t, &insp, &results).is_err(),
            "an after photo is not a before photo"
        );
        insp.photos.push(photo("gas.hose_length", "before"));
        check_finishable(&t, &insp, &results).unwrap();
    }

    #[test]
    fn a_failed_item_registers_a_hazard_with_its_template_rule_and_the_items_photos() {
        let t = gas();
        let mut insp = inspection(&t);
        answer(&t, &mut insp, "gas.hose_length", json!(2.4));
        insp.photos.push(photo("gas.hose_length", "before"));
        insp.photos.push(photo("gas.alarm_installed", "before"));
        let item = t.item("gas.hose_length").unwrap();
        let a = answer_of(&insp, "gas.hose_length");
        let r = evaluate_item(item, &insp.header.profile, Some(&a));
        let p = propose(item, &insp.header.profile, &a, &r).expect("a failed item proposes");
        let today = crate::clock::ms_to_date(T0);
        let h = inspection_hazard(&t, &insp, item, &p, reg(today), Some("old".into()));
        assert_eq!(h.id, "h1");
        assert_eq!(h.inspection_id.as_deref(), Some("i1"));
        assert_eq!((h.found_ms, h.found_by.as_str()), (T0, "wang"));
        assert_eq!(h.item_id, "gas.hose_length");
        assert_eq!(h.lead_depts, p.lead_depts);
        assert_eq!(h.recurrence_of.as_deref(), Some("old"));
        assert_eq!(h.photos.len(), 1, "only the item's own photos");
        // The printed citations, not the template's tagged references (issue #28).
        let printed: Vec<String> = crate::citations::for_item(&t.template_id, &t.version, &item.id)
            .into_iter()
            .map(|c| c.text)
            .collect();
        assert!(!printed.is_empty());
        assert_eq!(h.basis_refs, printed);
        assert!(
            h.basis_refs
                .iter()
                .all(|b| crate::citations::is_printable(b))
        );
        match p.fix_mode {
            FixMode::Deadline => {
                let due = today + time::Duration::days(i64::from(p.deadline_days));
                assert_eq!(h.deadline, Some(format_date(due)));
                assert_eq!(h.fix_mode, "deadline");
            }
            FixMode::OnSpot => {
                assert_eq!(h.deadline, None);
                assert_eq!(h.fix_mode, "on_spot");
            }
        }
    }

    #[test]
    fn a_substantiated_report_registers_at_the_venue_with_its_ticket() {
        let task = Task {
            id: "t1".into(),
            ticket_no: "2026-0001".into(),
            channel: "12345".into(),
            received_at: String::new(),
            address: "和平村10号".into(),
            description: "楼道里有电动车在充电".into(),
            category: "ebike".into(),
            village: "heping".into(),
            grid_id: "heping-1".into(),
            created_at: String::new(),
            created_by: "office".into(),
            outcome: None,
        };
        let venue = Venue {
            id: "v1".into(),
            name: "老王小吃".into(),
            address: "和平村10号".into(),
            village: "heping".into(),
            grid_id: "heping-1".into(),
            profile: profile(),
            responsible: Responsible::default(),
            created_at: String::new(),
            created_by: "wang".into(),
            archived: false,
        };
        let today = crate::clock::ms_to_date(T0);
        let h = public_report_hazard(
            &task,
            &venue,
            "  ",
            vec!["cyzx".into()],
            vec![],
            reg(today),
            None,
        );
        assert_eq!(h.source, "public_report");
        assert_eq!(h.ticket_no.as_deref(), Some("12345 2026-0001"));
        assert_eq!(
            h.finding_zh, task.description,
            "an empty finding keeps the report's words"
        );
        assert_eq!(h.item_id, "public_report.ebike");
        assert_eq!(
            h.deadline,
            Some(format_date(
                today + time::Duration::days(PUBLIC_REPORT_DEADLINE_DAYS)
            ))
        );
        let h = public_report_hazard(&task, &venue, " 充电 ", vec![], vec![], reg(today), None);
        assert_eq!(h.finding_zh, "充电");
        // Matched to a checklist item, it registers as that item's finding (rules 2).
        let t = gas();
        let item = t.item("gas.lpg_underground").unwrap();
        let h = public_report_hazard(
            &task,
            &venue,
            "",
            vec![],
            vec![],
            reg(today),
            Some((&t, item)),
        );
        assert_eq!(
            (h.item_id.as_str(), h.severity_proposed.as_str()),
            ("gas.lpg_underground", "major_candidate")
        );
        assert_eq!(h.lead_depts, item.lead_depts);
        assert!(!h.basis_refs.is_empty());
        assert_eq!(h.title_zh, item.q_zh);
        // A department's referral (转办) registers as a referral, matched or not.
        let referred = Task {
            channel: REFERRAL_CHANNEL.into(),
            ..task.clone()
        };
        let h = public_report_hazard(&referred, &venue, "", vec![], vec![], reg(today), None);
        assert_eq!(
            (h.source.as_str(), h.ticket_no.as_deref()),
            ("referral", Some("转办 2026-0001"))
        );
        assert!(h.title_zh.starts_with("部门转办查实"), "{}", h.title_zh);
        let h = public_report_hazard(
            &referred,
            &venue,
            "",
            vec![],
            vec![],
            reg(today),
            Some((&t, item)),
        );
        assert_eq!(h.source, "referral");
    }

    #[test]
    fn an_action_records_its_inputs_and_an_on_the_spot_fix_names_the_visit() {
        let t = gas();
        let insp = inspection(&t);
        let item = t.item("gas.hose_length").unwrap();
        let mut h = inspection_hazard(
            &t,
            &insp,
            item,
            &Proposal {
                item_id: item.id.clone(),
                domain: item.domain.clone(),
                severity: Level::General,
                focus: false,
                combined_group: None,
                lead_depts: vec![],
                fix_mode: FixMode::OnSpot,
                deadline_days: 0,
                findings: vec![],
                referral: None,
                order: None,
            },
            reg(crate::clock::ms_to_date(T0)),
            None,
        );
        let inputs = EventInputs {
            reason: Some("  ".into()),
            deadline: Some("2026-12-01".into()),
            text: Some("方案".into()),
            photo: Some("b".repeat(64)),
        };
        let hlc = Hlc { ms: T0, counter: 1 };
        let ev = action_event(&h, "e1".into(), hlc, EventKind::Rectify, inputs.clone());
        assert_eq!(ev.kind, "rectify");
        assert_eq!(ev.reason, None, "a blank reason counts as none");
        assert_eq!(ev.text.as_deref(), Some("方案"));
        assert_eq!(ev.inspection_id.as_deref(), Some("i1"));
        assert_eq!((ev.ms, ev.counter), (T0, 1));
        h.inspection_id = Some("i1".into());
        let ev = action_event(&h, "e2".into(), hlc, EventKind::Claim, inputs);
        assert_eq!(
            ev.inspection_id, None,
            "only an on-the-spot fix names the visit"
        );
        assert_eq!(ev.deadline.as_deref(), Some("2026-12-01"));
    }
}
