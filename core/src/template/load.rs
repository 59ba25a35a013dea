//! Loading template files: parsing, validating every item, resolving includes from other
//! templates, and the content hash that pins a version.

use super::*;
use crate::error::{Error, Result};
use crate::profile::Condition;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTemplate {
    format: u32,
    template_id: String,
    version: String,
    domain: String,
    title_zh: String,
    title_en: String,
    effective_from: String,
    #[serde(default)]
    basis_edition: BTreeMap<String, String>,
    lead_depts: Vec<String>,
    deadline_days: u32,
    items: Vec<serde_json::Value>,
    #[serde(default)]
    includes: Vec<Include>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Include {
    template: String,
    version: String,
    item: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawItem {
    id: String,
    q_zh: String,
    q_en: String,
    #[serde(default)]
    applies_if: Option<Condition>,
    fields: Vec<Field>,
    #[serde(default)]
    checks: Vec<Check>,
    severity: Severity,
    photo: PhotoRule,
    #[serde(default)]
    gps_required: bool,
    refs: Vec<Reference>,
    #[serde(default)]
    lead_depts: Option<Vec<String>>,
    fix_mode_default: FixMode,
    #[serde(default)]
    deadline_days: Option<u32>,
    #[serde(default)]
    note_zh: Option<String>,
    #[serde(default)]
    note_en: Option<String>,
    #[serde(default)]
    finding_zh: Option<String>,
    #[serde(default)]
    finding_en: Option<String>,
}

pub(crate) struct Parsed {
    file: String,
    raw: RawTemplate,
    items: Vec<Item>,
}

pub(crate) fn terr(file: &str, item: &str, reason: impl Into<String>) -> Error {
    Error::Template {
        file: file.to_owned(),
        item: item.to_owned(),
        reason: reason.into(),
    }
}

pub(crate) fn is_code(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.')
}

pub(crate) fn parse_one(src: &TemplateSource) -> Result<Parsed> {
    let file = src.name.as_str();
    let raw: RawTemplate = serde_json::from_slice(&src.bytes)
        .map_err(|e| terr(file, "-", format!("not a valid template file: {e}")))?;
    if raw.format != FORMAT {
        return Err(terr(
            file,
            "-",
            format!(
                "template format {} is not supported (this build reads format {FORMAT})",
                raw.format
            ),
        ));
    }
    if !is_code(&raw.template_id) || raw.version.trim().is_empty() || !is_code(&raw.domain) {
        return Err(terr(
            file,
            "-",
            "template_id and domain must be lowercase codes and version must not be empty",
        ));
    }
    if raw.lead_depts.is_empty() || !raw.lead_depts.iter().all(|d| is_code(d)) {
        return Err(terr(
            file,
            "-",
            "lead_depts must list at least one department code",
        ));
    }
    if raw.deadline_days == 0 {
        return Err(terr(file, "-", "deadline_days must be at least 1"));
    }
    if raw.items.is_empty() {
        return Err(terr(file, "-", "a template needs at least one item"));
    }
    let mut items = Vec::with_capacity(raw.items.len());
    let mut seen = HashSet::new();
    for (n, v) in raw.items.iter().enumerate() {
        let id_hint = v
            .get("id")
            .and_then(|i| i.as_str())
            .map_or_else(|| format!("#{}", n + 1), str::to_owned);
        let ri: RawItem =
            serde_json::from_value(v.clone()).map_err(|e| terr(file, &id_hint, e.to_string()))?;
        if !seen.insert(ri.id.clone()) {
            return Err(terr(file, &ri.id, "duplicate item id"));
        }
        let item = validate_item(file, &raw, ri)?;
        items.push(item);
    }
    Ok(Parsed {
        file: file.to_owned(),
        raw,
        items,
    })
}

pub(crate) fn validate_threshold(
    file: &str,
    item: &str,
    t: &Threshold,
    fields: &[Field],
) -> Result<()> {
    match t {
        Threshold::Number(n) if !n.is_finite() || *n < 0.0 => Err(terr(
            file,
            item,
            format!("threshold {n} must be a non-negative number"),
        )),
        Threshold::Number(_) => Ok(()),
        Threshold::Profile { profile, factor } => {
            crate::profile::VenueProfile::sample()
                .value(profile)
                .filter(|v| matches!(v, crate::profile::Value::Num(_)))
                .ok_or_else(|| {
                    terr(
                        file,
                        item,
                        format!("threshold refers to unknown numeric profile field {profile:?}"),
                    )
                })?;
            if !factor.is_finite() || *factor <= 0.0 {
                return Err(terr(file, item, "threshold factor must be positive"));
            }
            Ok(())
        }
        Threshold::Answer { answer, factor } => {
            if !fields.iter().any(|f| {
                &f.key == answer && matches!(f.kind, FieldKind::Count | FieldKind::Measure)
            }) {
                return Err(terr(
                    file,
                    item,
                    format!("threshold refers to unknown numeric field {answer:?}"),
                ));
            }
            if !factor.is_finite() || *factor <= 0.0 {
                return Err(terr(file, item, "threshold factor must be positive"));
            }
            Ok(())
        }
    }
}

pub(crate) fn validate_item(file: &str, t: &RawTemplate, ri: RawItem) -> Result<Item> {
    let id = ri.id.as_str();
    let e = |r: String| terr(file, id, r);
    if !is_code(id) || !id.contains('.') {
        return Err(e(
            "item id must be a dotted lowercase code such as gas.hose_length".into(),
        ));
    }
    if ri.q_zh.trim().is_empty() || ri.q_en.trim().is_empty() {
        return Err(e("question text is required in Chinese and English".into()));
    }
    if let Some(c) = &ri.applies_if {
        c.check().map_err(|r| e(format!("applies_if: {r}")))?;
    }
    if ri.fields.is_empty() {
        return Err(e("an item needs at least one answer field".into()));
    }
    let mut keys = HashSet::new();
    for f in &ri.fields {
        let fe = |r: &str| e(format!("field {:?}: {r}", f.key));
        if !keys.insert(f.key.as_str()) {
            return Err(fe("duplicate field key"));
        }
        if f.label_zh.trim().is_empty() || f.label_en.trim().is_empty() {
            return Err(fe("label is required in Chinese and English"));
        }
        if let Some(c) = &f.applies_if {
            c.check().map_err(|r| fe(&format!("applies_if: {r}")))?;
        }
        match f.kind {
            FieldKind::Yn => {
                if f.pass.is_none() {
                    return Err(fe(
                        "a yes/no field must state its pass value (yes, no or any)",
                    ));
                }
            }
            FieldKind::Measure => {
                let unit = f
                    .unit
                    .as_deref()
                    .ok_or_else(|| fe("a measurement needs a unit"))?;
                if !UNITS.contains(&unit) {
                    return Err(fe(&format!(
                        "unknown unit {unit:?} (known: {})",
                        UNITS.join(", ")
                    )));
                }
                if f.rules.is_empty() && !f.record_only {
                    return Err(fe(
                        "missing threshold: a measurement needs a rule, or record_only",
                    ));
                }
            }
            FieldKind::Count => {
                if f.unit.is_some() {
                    return Err(fe("a count has no unit"));
                }
            }
            FieldKind::Choice | FieldKind::Multi => {
                if f.options.len() < 2 {
                    return Err(fe("a choice needs at least two options"));
                }
                let mut ok = HashSet::new();
                for o in &f.options {
                    if !ok.insert(o.key.as_str()) {
                        return Err(fe(&format!("duplicate option {:?}", o.key)));
                    }
                }
                if !f.record_only && !f.options.iter().any(|o| o.pass) {
                    return Err(fe("a scored choice needs at least one passing option"));
                }
            }
            FieldKind::Text => {}
        }
        if !matches!(f.kind, FieldKind::Count | FieldKind::Measure) && !f.rules.is_empty() {
            return Err(fe("rules apply only to counts and measurements"));
        }
        if f.record_only && !f.rules.is_empty() {
            return Err(fe("a record_only field cannot have rules"));
        }
        for r in &f.rules {
            validate_threshold(file, id, &r.threshold, &ri.fields)?;
            if let Some(w) = &r.when {
                w.check().map_err(|x| fe(&format!("rule condition: {x}")))?;
            }
        }
    }
    for c in &ri.checks {
        if c.sum.is_empty()
            || c.sum.keys().any(|k| {
                !ri.fields
                    .iter()
                    .any(|f| &f.key == k && matches!(f.kind, FieldKind::Count | FieldKind::Measure))
            })
        {
            return Err(e(format!(
                "check {:?} sums unknown or non-numeric fields",
                c.key
            )));
        }
        validate_threshold(file, id, &c.threshold, &ri.fields)?;
    }
    if !ri.fields.iter().any(Field::is_scored)
        && ri.checks.is_empty()
        && ri.severity.level != Level::Info
    {
        return Err(e(
            "an item that can fail needs a scored field or a check (or severity level info)".into(),
        ));
    }
    if let Some(c) = &ri.severity.major_if {
        c.check().map_err(|r| e(format!("major_if: {r}")))?;
    }
    if let Some(a) = &ri.severity.major_if_answer
        && !ri.fields.iter().any(|f| f.key == a.field)
    {
        return Err(e(format!(
            "major_if_answer refers to unknown field {:?}",
            a.field
        )));
    }
    super::extras::validate(
        &ri.fields,
        &ri.checks,
        &ri.severity,
        (&ri.finding_zh, &ri.finding_en),
    )
    .map_err(e)?;
    if ri.refs.is_empty() && ri.severity.level != Level::Info {
        return Err(e(
            "an item that can fail needs at least one reference".into()
        ));
    }
    if ri.refs.iter().any(|r| r.cite.trim().is_empty()) {
        return Err(e("a reference needs a citation".into()));
    }
    let lead_depts = ri.lead_depts.unwrap_or_else(|| t.lead_depts.clone());
    if lead_depts.is_empty() || !lead_depts.iter().all(|d| is_code(d)) {
        return Err(e("lead_depts must list department codes".into()));
    }
    let deadline_days = ri.deadline_days.unwrap_or(t.deadline_days);
    if deadline_days == 0 {
        return Err(e("deadline_days must be at least 1".into()));
    }
    Ok(Item {
        id: ri.id,
        domain: t.domain.clone(),
        included_from: None,
        q_zh: ri.q_zh,
        q_en: ri.q_en,
        applies_if: ri.applies_if,
        fields: ri.fields,
        checks: ri.checks,
        severity: ri.severity,
        photo: ri.photo,
        gps_required: ri.gps_required,
        refs: ri.refs,
        lead_depts,
        fix_mode_default: ri.fix_mode_default,
        deadline_days,
        note_zh: ri.note_zh,
        note_en: ri.note_en,
        finding_zh: ri.finding_zh,
        finding_en: ri.finding_en,
    })
}

/// Canonical content hash of a resolved template.
pub fn content_hash(t: &Template) -> String {
    let mut c = t.clone();
    c.hash.clear();
    let bytes = serde_json::to_vec(&c).unwrap_or_default();
    hex::encode(Sha256::digest(&bytes))
}

/// Loads a bundle of template files. Includes are resolved against the bundle first, then
/// against `known` (versions already installed). Any error rejects the whole bundle.
pub fn load_bundle(
    sources: &[TemplateSource],
    known: &dyn Fn(&str, &str) -> Option<Arc<Template>>,
) -> Result<Vec<Template>> {
    let parsed: Vec<Parsed> = sources.iter().map(parse_one).collect::<Result<_>>()?;
    let mut by_key: HashMap<(String, String), usize> = HashMap::new();
    for (i, p) in parsed.iter().enumerate() {
        if by_key
            .insert((p.raw.template_id.clone(), p.raw.version.clone()), i)
            .is_some()
        {
            return Err(terr(
                &p.file,
                "-",
                format!(
                    "{}@{} appears twice in the bundle",
                    p.raw.template_id, p.raw.version
                ),
            ));
        }
    }
    let mut out = Vec::with_capacity(parsed.len());
    for p in &parsed {
        let mut items = p.items.clone();
        let mut ids: HashSet<String> = items.iter().map(|i| i.id.clone()).collect();
        for inc in &p.raw.includes {
            let from_bundle = by_key
                .get(&(inc.template.clone(), inc.version.clone()))
                .map(|&j| &parsed[j]);
            let item = match from_bundle {
                Some(q) => q.items.iter().find(|i| i.id == inc.item).cloned(),
                None => known(&inc.template, &inc.version)
                    .ok_or_else(|| {
                        terr(
                            &p.file,
                            &inc.item,
                            format!(
                                "included template {}@{} is not available",
                                inc.template, inc.version
                            ),
                        )
                    })?
                    .items
                    .iter()
                    .find(|i| i.id == inc.item && i.included_from.is_none())
                    .cloned(),
            };
            let mut item = item.ok_or_else(|| {
                terr(
                    &p.file,
                    &inc.item,
                    format!(
                        "included item is not defined in {}@{}",
                        inc.template, inc.version
                    ),
                )
            })?;
            if !ids.insert(item.id.clone()) {
                return Err(terr(
                    &p.file,
                    &item.id,
                    "duplicate item id (defined and included)",
                ));
            }
            item.included_from = Some(format!("{}@{}", inc.template, inc.version));
            items.push(item);
        }
        let mut t = Template {
            template_id: p.raw.template_id.clone(),
            version: p.raw.version.clone(),
            domain: p.raw.domain.clone(),
            title_zh: p.raw.title_zh.clone(),
            title_en: p.raw.title_en.clone(),
            effective_from: p.raw.effective_from.clone(),
            basis_edition: p.raw.basis_edition.clone(),
            items,
            hash: String::new(),
        };
        t.hash = content_hash(&t);
        out.push(t);
    }
    Ok(out)
}

/// Parses a stored, already-resolved template and checks that its content still matches its hash.
pub fn from_stored(json: &[u8], expected_hash: &str) -> Result<Template> {
    let mut t: Template = serde_json::from_slice(json)?;
    t.hash = content_hash(&t);
    if t.hash != expected_hash {
        return Err(terr(
            &format!("{}@{}", t.template_id, t.version),
            "-",
            "stored template does not match its content hash",
        ));
    }
    Ok(t)
}
