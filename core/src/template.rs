//! Checklist templates: versioned, immutable, content-hashed data files (see `core/templates/`).
//!
//! A template file is parsed item by item so that every error names the file, the item and the
//! reason; a bundle loads whole or not at all. Items included from another template keep their id
//! and their home domain, and are copied in resolved form so that the hash covers exactly what an
//! inspection answered.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::profile::Condition;

mod bundled {
    include!(concat!(env!("OUT_DIR"), "/bundled_templates.rs"));
}

/// Units a measurement may use. Anything else is a template error.
pub const UNITS: &[&str] = &["m", "m²", "kg", "h", "%", "km/h"];

/// The template file format this build understands.
pub const FORMAT: u32 = 1;

/// A source to load: the file name (used in errors) and its bytes.
#[derive(Clone, Debug)]
pub struct TemplateSource {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// Every template version shipped inside this build.
pub fn bundled_sources() -> Vec<TemplateSource> {
    bundled::BUNDLED
        .iter()
        .map(|(n, b)| TemplateSource {
            name: (*n).to_owned(),
            bytes: b.to_vec(),
        })
        .collect()
}

/// A resolved, validated template version. Its `hash` is the SHA-256 of its canonical JSON
/// (this struct serialised without the hash), so any change to any item changes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Template {
    pub template_id: String,
    pub version: String,
    pub domain: String,
    pub title_zh: String,
    pub title_en: String,
    pub effective_from: String,
    pub basis_edition: BTreeMap<String, String>,
    pub items: Vec<Item>,
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub hash: String,
}

impl Template {
    pub fn item(&self, id: &str) -> Option<&Item> {
        self.items.iter().find(|i| i.id == id)
    }
    /// `template_id@version`.
    pub fn key(&self) -> String {
        format!("{}@{}", self.template_id, self.version)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Item {
    pub id: String,
    /// Home domain: an item included into another template keeps the domain it belongs to.
    pub domain: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub included_from: Option<String>,
    pub q_zh: String,
    pub q_en: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub applies_if: Option<Condition>,
    pub fields: Vec<Field>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub checks: Vec<Check>,
    pub severity: Severity,
    pub photo: PhotoRule,
    #[serde(default)]
    pub gps_required: bool,
    pub refs: Vec<Reference>,
    pub lead_depts: Vec<String>,
    pub fix_mode_default: FixMode,
    pub deadline_days: u32,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub note_zh: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub note_en: Option<String>,
}

impl Item {
    /// Fields that decide pass or fail (as opposed to recorded details).
    pub fn scored_fields(&self) -> impl Iterator<Item = &Field> {
        self.fields.iter().filter(|f| f.is_scored())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldKind {
    Yn,
    Count,
    Measure,
    Choice,
    Multi,
    Text,
}

/// Pass value of a yes/no field, stated explicitly because some questions are phrased negatively.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum YnPass {
    Yes,
    No,
    /// Recorded, not scored (e.g. "a central facility exists").
    Any,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Field {
    pub key: String,
    #[serde(rename = "type")]
    pub kind: FieldKind,
    pub label_zh: String,
    pub label_en: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub pass: Option<YnPass>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub unit: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub rules: Vec<Rule>,
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub record_only: bool,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub options: Vec<ChoiceOption>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub applies_if: Option<Condition>,
}

impl Field {
    pub fn is_scored(&self) -> bool {
        match self.kind {
            FieldKind::Yn => self.pass != Some(YnPass::Any),
            FieldKind::Count | FieldKind::Measure => !self.rules.is_empty(),
            FieldKind::Choice | FieldKind::Multi => !self.record_only,
            FieldKind::Text => false,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChoiceOption {
    pub key: String,
    pub zh: String,
    pub en: String,
    pub pass: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Cmp {
    #[serde(rename = ">=")]
    Ge,
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = "<")]
    Lt,
}

impl Cmp {
    pub fn holds(self, a: f64, b: f64) -> bool {
        const EPS: f64 = 1e-9;
        match self {
            Cmp::Ge => a >= b - EPS,
            Cmp::Gt => a > b + EPS,
            Cmp::Le => a <= b + EPS,
            Cmp::Lt => a < b - EPS,
        }
    }
    pub fn symbol(self) -> &'static str {
        match self {
            Cmp::Ge => "≥",
            Cmp::Gt => ">",
            Cmp::Le => "≤",
            Cmp::Lt => "<",
        }
    }
}

/// A pass rule: the value must satisfy `cmp threshold`. With `when`, the rule applies only to
/// venues matching the condition; the first rule that applies decides.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub cmp: Cmp,
    pub threshold: Threshold,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub when: Option<Condition>,
}

/// A fixed number, a profile value times a factor (e.g. one extinguisher per floor), or another
/// field of the same answer times a factor (e.g. exit width ≥ 80 % of required).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Threshold {
    Number(f64),
    Profile { profile: String, factor: f64 },
    Answer { answer: String, factor: f64 },
}

/// A rule over a weighted sum of fields (e.g. total LPG kg = 5·n5 + 15·n15 + 50·n50 ≤ 100).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Check {
    pub key: String,
    pub label_zh: String,
    pub label_en: String,
    pub sum: BTreeMap<String, f64>,
    pub cmp: Cmp,
    pub threshold: Threshold,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// 一般隐患.
    General,
    /// 重大隐患(待认定): only a lead department can confirm it.
    MajorCandidate,
    /// Profile or statistics data; never a hazard.
    Info,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Severity {
    pub level: Level,
    /// GEN★: a focus item of the town plan, counted separately in the monthly report.
    #[serde(default)]
    pub focus: bool,
    /// GB 35181 combined (综合判定) element group, e.g. "7.3".
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub combined_group: Option<String>,
    /// Raise to a major candidate when the venue matches.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub major_if: Option<Condition>,
    /// Raise to a major candidate when a recorded field of the answer has this value.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub major_if_answer: Option<AnswerCondition>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerCondition {
    pub field: String,
    pub eq: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhotoRule {
    /// A before photo is mandatory on failure; an after photo to claim rectification.
    Required,
    /// As `Required`, and the photo must show the measuring tool and its reading.
    RequiredWithMeasure,
    /// A document photo, optional but recommended.
    Document,
    None,
}

impl PhotoRule {
    pub fn requires_photo_on_fail(self) -> bool {
        matches!(self, PhotoRule::Required | PhotoRule::RequiredWithMeasure)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FixMode {
    /// 即改: fixed during the visit.
    OnSpot,
    /// 限期整改.
    Deadline,
}

/// Verification tag of a reference (checklists.md §0.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verify {
    V,
    #[serde(rename = "V*")]
    VStar,
    V2,
    G,
    L,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reference {
    pub cite: String,
    pub verify: Verify,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub note: Option<String>,
}

impl Reference {
    pub fn display(&self) -> String {
        let tag = serde_json::to_value(self.verify)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        format!("{} [{tag}]", self.cite)
    }
}

// ---------------------------------------------------------------------------------------------
// Raw file format.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTemplate {
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
struct Include {
    template: String,
    version: String,
    item: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawItem {
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
}

struct Parsed {
    file: String,
    raw: RawTemplate,
    items: Vec<Item>,
}

fn terr(file: &str, item: &str, reason: impl Into<String>) -> Error {
    Error::Template {
        file: file.to_owned(),
        item: item.to_owned(),
        reason: reason.into(),
    }
}

fn is_code(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.')
}

fn parse_one(src: &TemplateSource) -> Result<Parsed> {
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

fn validate_threshold(file: &str, item: &str, t: &Threshold, fields: &[Field]) -> Result<()> {
    match t {
        Threshold::Number(n) if !n.is_finite() || *n < 0.0 => Err(terr(
            file,
            item,
            format!("threshold {n} must be a non-negative number"),
        )),
        Threshold::Number(_) => Ok(()),
        Threshold::Profile { profile, factor } => {
            crate::profile::VenueProfile::default()
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

fn validate_item(file: &str, t: &RawTemplate, ri: RawItem) -> Result<Item> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn none(_: &str, _: &str) -> Option<Arc<Template>> {
        None
    }

    #[test]
    fn bundled_templates_load_with_every_item() {
        let ts = load_bundle(&bundled_sources(), &none).unwrap();
        assert_eq!(ts.len(), 5);
        let own: usize = ts
            .iter()
            .map(|t| t.items.iter().filter(|i| i.included_from.is_none()).count())
            .sum();
        assert_eq!(own, 103, "all 103 items of checklists.md §1–5");
        let mixed = ts.iter().find(|t| t.template_id == "lx.mixed").unwrap();
        let inc = mixed.item("ebike.flying_lead").unwrap();
        assert_eq!(
            inc.domain, "ebike",
            "an included item keeps its home domain"
        );
        assert_eq!(inc.included_from.as_deref(), Some("lx.ebike@2026.11-a"));
        for t in &ts {
            assert_eq!(t.hash, content_hash(t));
            assert_eq!(t.hash.len(), 64);
        }
    }

    fn with_item(item: serde_json::Value) -> TemplateSource {
        let t = serde_json::json!({
            "format": 1, "template_id": "lx.test", "version": "1", "domain": "test",
            "title_zh": "测试", "title_en": "Test", "effective_from": "2026-01-01",
            "lead_depts": ["cyzx"], "deadline_days": 7,
            "items": [item]
        });
        TemplateSource {
            name: "lx.test/1.json".into(),
            bytes: serde_json::to_vec(&t).unwrap(),
        }
    }

    fn good_item() -> serde_json::Value {
        serde_json::json!({
            "id": "test.len", "q_zh": "长度", "q_en": "Length",
            "fields": [{"key": "len", "type": "measure", "unit": "m", "label_zh": "长", "label_en": "Len",
                        "rules": [{"cmp": "<=", "threshold": 2.0}]}],
            "severity": {"level": "general"}, "photo": "required",
            "refs": [{"cite": "X §1", "verify": "G"}], "fix_mode_default": "deadline"
        })
    }

    fn err_of(item: serde_json::Value) -> String {
        load_bundle(&[with_item(item)], &none)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn bad_templates_name_file_item_and_reason() {
        assert!(load_bundle(&[with_item(good_item())], &none).is_ok());

        let mut i = good_item();
        i["fields"][0]["unit"] = "cm".into();
        let e = err_of(i);
        assert!(
            e.contains("lx.test/1.json")
                && e.contains("test.len")
                && e.contains("unknown unit \"cm\""),
            "{e}"
        );

        let mut i = good_item();
        i["fields"][0].as_object_mut().unwrap().remove("rules");
        let e = err_of(i);
        assert!(
            e.contains("test.len") && e.contains("missing threshold"),
            "{e}"
        );

        let mut i = good_item();
        i["fields"][0]["rules"][0]
            .as_object_mut()
            .unwrap()
            .remove("threshold");
        let e = err_of(i);
        assert!(e.contains("test.len") && e.contains("threshold"), "{e}");

        let mut i = good_item();
        i["fields"][0] =
            serde_json::json!({"key": "yn", "type": "yn", "label_zh": "是", "label_en": "Y"});
        assert!(err_of(i).contains("pass value"));

        let mut i = good_item();
        i["refs"][0]["verify"] = "X".into();
        assert!(err_of(i).contains("test.len"));

        let mut i = good_item();
        i["applies_if"] = serde_json::json!({"field": "storeys", "op": "gt", "value": 1});
        assert!(err_of(i).contains("storeys"));
    }

    #[test]
    fn duplicate_ids_are_refused() {
        let t = serde_json::json!({
            "format": 1, "template_id": "lx.test", "version": "1", "domain": "test",
            "title_zh": "测试", "title_en": "Test", "effective_from": "2026-01-01",
            "lead_depts": ["cyzx"], "deadline_days": 7,
            "items": [good_item(), good_item()]
        });
        let src = TemplateSource {
            name: "dup.json".into(),
            bytes: serde_json::to_vec(&t).unwrap(),
        };
        let e = load_bundle(&[src], &none).unwrap_err().to_string();
        assert!(
            e.contains("dup.json") && e.contains("test.len") && e.contains("duplicate item id"),
            "{e}"
        );
    }

    #[test]
    fn one_bad_file_rejects_the_bundle() {
        let mut srcs = bundled_sources();
        let mut bad = good_item();
        bad["photo"] = "sometimes".into();
        srcs.push(with_item(bad));
        assert!(load_bundle(&srcs, &none).is_err());
    }

    #[test]
    fn hash_changes_with_any_content() {
        let a = load_bundle(&[with_item(good_item())], &none)
            .unwrap()
            .remove(0);
        let mut i = good_item();
        i["fields"][0]["rules"][0]["threshold"] = 2.5.into();
        let b = load_bundle(&[with_item(i)], &none).unwrap().remove(0);
        assert_ne!(a.hash, b.hash);
        let json = serde_json::to_vec(&a).unwrap();
        assert_eq!(from_stored(&json, &a.hash).unwrap(), a);
        assert!(from_stored(&json, &b.hash).is_err());
    }
}
