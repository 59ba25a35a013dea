//! Checklist templates: versioned, immutable, content-hashed data files (see `core/templates/`).
//!
//! A template file is parsed item by item so that every error names the file, the item and the
//! reason; a bundle loads whole or not at all. Items included from another template keep their id
//! and their home domain, and are copied in resolved form so that the hash covers exactly what an
//! inspection answered.

mod extras;
mod load;

pub use extras::placeholders;
pub use load::{content_hash, from_stored, load_bundle};

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

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
    /// What a failure of this item says on the notice, the hazard page and the report, e.g.
    /// "燃气软管长度{length}米，超过2米" (`{key}`: a field's value or a check's total). A field or
    /// check with its own finding text says that instead.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub finding_zh: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub finding_en: Option<String>,
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
    /// Asked once the item fails (how serious it is depends on it): a failed item with this
    /// field unanswered stays unanswered.
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub ask_on_fail: bool,
    /// What this field's failure says (see [`Item::finding_zh`]).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub finding_zh: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub finding_en: Option<String>,
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
    /// The check's failure is excused when the answer has this value (e.g. more than 100 kg of
    /// LPG is kept in a dedicated cylinder room).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub unless: Option<AnswerCondition>,
    /// Judged only when its inputs are given (a detail recorded in some cases only); a check
    /// is otherwise fail-closed: a missing input leaves the item unanswered.
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub optional: bool,
    /// What this check's failure says (see [`Item::finding_zh`]).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub finding_zh: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub finding_en: Option<String>,
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
    /// Raise to a major candidate when any of these rules holds (each: the venue, the answer
    /// and a failed check together, as the reference words the element).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub major_when: Vec<MajorRule>,
    /// A failure here also refers another party to a department (the gas supplier, to 规建办):
    /// registered with the hazard, shown to the department.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub referral: Option<Referral>,
    /// What the rectification order demands at once (e.g. move the sleepers out).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub order_zh: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub order_en: Option<String>,
}

/// One way an item's failure becomes a major candidate: every part given must hold.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MajorRule {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub profile: Option<Condition>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub answers: Vec<AnswerCondition>,
    /// The check (by key) that must have failed.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub failed_check: Option<String>,
}

/// A referral a failure carries: to whom, about what, and how serious it is there.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Referral {
    pub dept: String,
    pub level: Level,
    pub zh: String,
    pub en: String,
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

// ---------------------------------------------------------------------------------------------
// Raw file format.

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn none(_: &str, _: &str) -> Option<Arc<Template>> {
        None
    }

    #[test]
    fn bundled_templates_load_with_every_item() {
        let ts = load_bundle(&bundled_sources(), &none).unwrap();
        assert_eq!(
            ts.len(),
            11,
            "five checklists, two versions each, and lx.gas's 2026.12-b"
        );
        for version in ["2026.11-a", "2026.12-a"] {
            let own: usize = ts
                .iter()
                .filter(|t| t.version == version)
                .map(|t| t.items.iter().filter(|i| i.included_from.is_none()).count())
                .sum();
            assert_eq!(own, 103, "all 103 items of checklists.md §1–5 in {version}");
        }
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
