//! Answers as the inspector gives them: parsed and checked against the item's fields (type, range,
//! options) before anything is saved.

use crate::error::{Error, Result};
use crate::template::{FieldKind, Item};
use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Largest measurement accepted (metres, m², kg, hours...): anything larger is a typing error.
pub const MAX_MEASURE: f64 = 100_000.0;

/// Largest count accepted.
pub const MAX_COUNT: i64 = 100_000;

/// Longest free-text answer, in characters.
pub const MAX_TEXT: usize = 2_000;

/// One answered field, as stored in the inspection document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
#[serde(rename_all = "snake_case")]
pub enum FieldValue {
    // The aliases are the variant names autosurgeon writes into documents, so the one-pass
    // reader (`records::read_fast`) reads what the field-by-field writer wrote.
    /// "yes", "no" or "na".
    #[serde(alias = "Yn")]
    Yn(String),
    #[serde(alias = "Number")]
    Number(f64),
    #[serde(alias = "Count")]
    Count(i64),
    #[serde(alias = "Choice")]
    Choice(String),
    #[serde(alias = "Multi")]
    Multi(Vec<String>),
    #[serde(alias = "Text")]
    Text(String),
}

/// A parsed answer to one item: either not applicable as a whole, or field values.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct Answer {
    pub na: bool,
    pub fields: BTreeMap<String, FieldValue>,
}

pub(crate) fn yn_of(item: &str, key: &str, v: &serde_json::Value) -> Result<String> {
    let s = match v {
        serde_json::Value::Bool(true) => "yes",
        serde_json::Value::Bool(false) => "no",
        serde_json::Value::String(s) => match s.trim().to_lowercase().as_str() {
            "yes" | "y" | "是" => "yes",
            "no" | "n" | "否" => "no",
            "na" | "n/a" | "不适用" => "na",
            _ => {
                return Err(Error::answer(
                    item,
                    format!("field {key}: {s:?} is not yes, no or na (是/否/不适用)"),
                ));
            }
        },
        other => {
            return Err(Error::answer(
                item,
                format!("field {key}: expected yes, no or na, got {other}"),
            ));
        }
    };
    Ok(s.to_owned())
}

/// Parses what a user or a file gave for `item`. Accepts `"na"` for the whole item, a scalar for
/// the item's first field, or an object keyed by field. Names the item and field that are wrong.
pub fn parse_answer(item: &Item, v: &serde_json::Value) -> Result<Answer> {
    let id = item.id.as_str();
    if let serde_json::Value::String(s) = v
        && matches!(s.trim().to_lowercase().as_str(), "na" | "n/a" | "不适用")
    {
        return Ok(Answer {
            na: true,
            fields: BTreeMap::new(),
        });
    }
    let pairs: Vec<(&str, &serde_json::Value)> = match v {
        serde_json::Value::Object(m) => {
            if m.is_empty() {
                return Err(Error::answer(id, "empty answer"));
            }
            m.iter().map(|(k, v)| (k.as_str(), v)).collect()
        }
        serde_json::Value::Null => return Err(Error::answer(id, "empty answer")),
        scalar => vec![(item.fields[0].key.as_str(), scalar)],
    };
    let mut fields = BTreeMap::new();
    for (key, val) in pairs {
        let f = item.fields.iter().find(|f| f.key == key).ok_or_else(|| {
            Error::answer(
                id,
                format!(
                    "unknown field {key:?} (fields: {})",
                    item.fields
                        .iter()
                        .map(|f| f.key.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })?;
        let fv = match f.kind {
            FieldKind::Yn => FieldValue::Yn(yn_of(id, key, val)?),
            FieldKind::Measure => {
                let n = val
                    .as_f64()
                    .or_else(|| val.as_str().and_then(|s| s.trim().parse::<f64>().ok()));
                let n = n.ok_or_else(|| {
                    Error::answer(
                        id,
                        format!(
                            "field {key}: expected a number in {}, got {val}",
                            f.unit.as_deref().unwrap_or("")
                        ),
                    )
                })?;
                if !n.is_finite() || n < 0.0 {
                    return Err(Error::answer(
                        id,
                        format!(
                            "field {key}: {n} {} is negative or not a number",
                            f.unit.as_deref().unwrap_or("")
                        ),
                    ));
                }
                if n > MAX_MEASURE {
                    return Err(Error::answer(
                        id,
                        format!("field {key}: {n} is out of range (at most {MAX_MEASURE})"),
                    ));
                }
                FieldValue::Number(n)
            }
            FieldKind::Count => {
                let n = match val {
                    serde_json::Value::Number(n) => n
                        .as_i64()
                        .or_else(|| n.as_f64().filter(|x| x.fract() == 0.0).map(|x| x as i64)),
                    serde_json::Value::String(s) => s.trim().parse::<i64>().ok(),
                    _ => None,
                };
                let n = n.ok_or_else(|| {
                    Error::answer(
                        id,
                        format!("field {key}: expected a whole number (count), got {val}"),
                    )
                })?;
                if !(0..=MAX_COUNT).contains(&n) {
                    return Err(Error::answer(
                        id,
                        format!("field {key}: count {n} is out of range 0..={MAX_COUNT}"),
                    ));
                }
                FieldValue::Count(n)
            }
            FieldKind::Choice => {
                let s = val.as_str().ok_or_else(|| {
                    Error::answer(id, format!("field {key}: expected one option, got {val}"))
                })?;
                if !f.options.iter().any(|o| o.key == s) {
                    return Err(Error::answer(
                        id,
                        format!(
                            "field {key}: unknown option {s:?} (options: {})",
                            option_list(f)
                        ),
                    ));
                }
                FieldValue::Choice(s.to_owned())
            }
            FieldKind::Multi => {
                let list: Vec<String> = match val {
                    serde_json::Value::Array(a) => a
                        .iter()
                        .map(|x| x.as_str().map(str::to_owned))
                        .collect::<Option<_>>(),
                    serde_json::Value::String(s) => Some(
                        s.split(',')
                            .map(|x| x.trim().to_owned())
                            .filter(|x| !x.is_empty())
                            .collect(),
                    ),
                    _ => None,
                }
                .ok_or_else(|| {
                    Error::answer(
                        id,
                        format!("field {key}: expected a list of options, got {val}"),
                    )
                })?;
                for s in &list {
                    if !f.options.iter().any(|o| &o.key == s) {
                        return Err(Error::answer(
                            id,
                            format!(
                                "field {key}: unknown option {s:?} (options: {})",
                                option_list(f)
                            ),
                        ));
                    }
                }
                FieldValue::Multi(list)
            }
            FieldKind::Text => {
                let s = val.as_str().ok_or_else(|| {
                    Error::answer(id, format!("field {key}: expected text, got {val}"))
                })?;
                if s.chars().count() > MAX_TEXT {
                    return Err(Error::answer(
                        id,
                        format!("field {key}: text longer than {MAX_TEXT} characters"),
                    ));
                }
                FieldValue::Text(s.to_owned())
            }
        };
        fields.insert(key.to_owned(), fv);
    }
    Ok(Answer { na: false, fields })
}

pub(crate) fn option_list(f: &crate::template::Field) -> String {
    f.options
        .iter()
        .map(|o| o.key.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Reads an answers file: a JSON object of item id → answer (in any form [`parse_answer`] takes).
/// Each answer is checked against its item when it is recorded.
pub fn answers_from_json(bytes: &[u8]) -> Result<Vec<(String, serde_json::Value)>> {
    let v: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| Error::invalid(format!("answers file is not JSON: {e}")))?;
    let obj = v
        .as_object()
        .ok_or_else(|| Error::invalid("answers file must be a JSON object of item id → answer"))?;
    Ok(obj.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
}
