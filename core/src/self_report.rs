//! The venue's self-inspection (企业/场所自查) as its owner runs it from the owner's page: the
//! applicable checklist items as plain questions, and — once a lead department has reviewed a
//! finding — the hazard it registers, with source `self_report` and the item's cited basis.

use serde::Serialize;

use crate::clock::{format_date, ms_to_date, ms_to_rfc3339};
use crate::profile::VenueProfile;
use crate::records::{HazardHeader, Venue};
use crate::template::{Item, Level, Template};

/// One question of the owner's self-inspection.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SelfCheckItem {
    pub template_id: String,
    pub template_version: String,
    pub item_id: String,
    pub domain: String,
    pub question_zh: String,
    pub question_en: String,
    /// Figures the owner can give instead of ticking (a count or a measurement, with its unit):
    /// the item's rule judges them.
    pub measures: Vec<SelfCheckMeasure>,
}

/// A figure a self-inspection item asks for.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SelfCheckMeasure {
    pub key: String,
    pub label_zh: String,
    pub label_en: String,
    pub unit: String,
    /// A count (whole number) rather than a measurement.
    pub whole: bool,
}

/// Judges the figures an owner gave for `item` (field key → value as typed) by the item's own
/// rule: `Ok(Some(finding))` when they fail it, `Ok(None)` when they pass or leave it open, an
/// error naming the field when a value is not a number.
pub fn judge(
    item: &Item,
    profile: &VenueProfile,
    values: &[(String, String)],
) -> crate::error::Result<Option<String>> {
    let mut obj = serde_json::Map::new();
    for (key, raw) in values {
        let field = item.fields.iter().find(|f| &f.key == key).ok_or_else(|| {
            crate::error::Error::invalid(format!("“{}”没有这一项 / no such figure", item.q_zh))
        })?;
        let n: f64 = raw
            .trim()
            .parse()
            .ok()
            .filter(|n: &f64| n.is_finite() && *n >= 0.0)
            .ok_or_else(|| {
                crate::error::Error::invalid(format!(
                    "“{}”请填写数字 / {}: enter a number",
                    field.label_zh, field.label_en
                ))
            })?;
        obj.insert(key.clone(), serde_json::json!(n));
    }
    if obj.is_empty() {
        return Ok(None);
    }
    let answer = crate::eval::parse_answer(item, &serde_json::Value::Object(obj))?;
    let r = crate::eval::evaluate_item(item, profile, Some(&answer));
    Ok((r.outcome == crate::eval::Outcome::Fail).then(|| {
        r.findings
            .iter()
            .map(|f| f.zh.clone())
            .collect::<Vec<_>>()
            .join("；")
    }))
}

/// The items of `templates` that apply to a venue with this profile and can become a hazard
/// (profile and statistics items are left out), in template order: only the checklists that
/// apply to the venue.
pub fn items(templates: &[Template], profile: &VenueProfile) -> Vec<SelfCheckItem> {
    templates
        .iter()
        .filter(|t| profile.checklist_applies(&t.domain))
        .flat_map(|t| t.items.iter().map(move |i| (t, i)))
        .filter(|(_, i)| i.severity.level != Level::Info && !i.lead_depts.is_empty())
        .filter(|(_, i)| i.applies_if.as_ref().is_none_or(|c| c.eval(profile)))
        .map(|(t, i)| SelfCheckItem {
            template_id: t.template_id.clone(),
            template_version: t.version.clone(),
            item_id: i.id.clone(),
            domain: i.domain.clone(),
            question_zh: i.q_zh.clone(),
            question_en: i.q_en.clone(),
            measures: i
                .scored_fields()
                .filter(|f| {
                    matches!(
                        f.kind,
                        crate::template::FieldKind::Count | crate::template::FieldKind::Measure
                    )
                })
                .map(|f| SelfCheckMeasure {
                    key: f.key.clone(),
                    label_zh: f.label_zh.clone(),
                    label_en: f.label_en.clone(),
                    unit: f.unit.clone().unwrap_or_default(),
                    whole: f.kind == crate::template::FieldKind::Count,
                })
                .collect(),
        })
        .collect()
}

/// The hazard a reviewed self-inspection finding registers: the item's question, basis and lead
/// departments, the owner's note as the finding, found by the reviewer who registered it.
pub fn hazard_header(
    t: &Template,
    item: &Item,
    venue: &Venue,
    note: &str,
    id: String,
    found_by: &str,
    found_ms: i64,
) -> HazardHeader {
    let days = i64::from(item.deadline_days.max(1));
    HazardHeader {
        id,
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
        finding_zh: if note.trim().is_empty() {
            "场所自查发现".to_owned()
        } else {
            format!("场所自查发现：{}", note.trim())
        },
        finding_en: "found by the venue's own self-inspection".to_owned(),
        basis_refs: crate::citations::for_item(&t.template_id, &t.version, &item.id)
            .into_iter()
            .map(|c| c.text)
            .collect(),
        basis_edition: t.basis_edition.clone(),
        severity_proposed: if item.severity.level == Level::MajorCandidate {
            "major_candidate".into()
        } else {
            "general".into()
        },
        focus: item.severity.focus,
        combined_group: item.severity.combined_group.clone(),
        lead_depts: item.lead_depts.clone(),
        source: "self_report".into(),
        ticket_no: None,
        fix_mode: "deadline".into(),
        deadline: Some(format_date(
            ms_to_date(found_ms) + time::Duration::days(days),
        )),
        recurrence_of: None,
        found_at: ms_to_rfc3339(found_ms),
        found_ms,
        found_by: found_by.to_owned(),
        photos: vec![],
        referral: None,
        order_zh: None,
        order_en: None,
        lifecycle: crate::lifecycle::RULES,
    }
}
