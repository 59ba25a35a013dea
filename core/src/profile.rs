//! The venue profile (checklists.md §0.6) and the conditions templates write over it.
//! The profile drives applicability and severity escalation; it is never scored itself.

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Venue types of §0.6, as stable codes with their Chinese names.
pub const VENUE_TYPES: &[(&str, &str, &str)] = &[
    (
        "selfbuilt_business",
        "经营性自建房",
        "Self-built house used for business",
    ),
    ("street_shop", "沿街商铺", "Street shop"),
    ("small_restaurant", "小餐饮", "Small restaurant"),
    (
        "entertainment",
        "公共娱乐场所（歌舞厅、KTV、网吧等）",
        "Public entertainment venue (KTV, internet café, ...)",
    ),
    ("market", "商场、集贸市场", "Shopping mall or market"),
    (
        "three_in_one",
        "三合一",
        "Mixed living/business/storage (三合一)",
    ),
    ("group_rental", "群租房", "Overcrowded rental (群租)"),
    ("small_workshop", "小作坊", "Small workshop"),
    ("small_warehouse", "小仓库", "Small warehouse"),
    ("other", "其他", "Other"),
];

/// Gas supply of §0.6.
pub const GAS_SUPPLIES: &[(&str, &str, &str)] = &[
    ("piped_ng", "管道天然气", "Piped natural gas"),
    ("lpg", "瓶装液化石油气", "Bottled LPG"),
    (
        "other_fuel",
        "其他(醇基、二甲醚等)",
        "Other fuel (alcohol-based, DME, ...)",
    ),
    ("none", "不用气", "No gas"),
];

/// Venue types that are 人员密集场所 by law (消防法 §73: 饭店, 商场, 集贸市场 and 公共娱乐场所 are
/// 公众聚集场所): the profile cannot say otherwise.
pub const CROWDED_BY_TYPE: &[&str] = &["small_restaurant", "entertainment", "market"];

/// The venue profile, captured once per venue and snapshotted into each inspection so that an
/// evaluation can always be reproduced.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
#[serde(default, deny_unknown_fields)]
pub struct VenueProfile {
    pub venue_type: Vec<String>,
    pub floors_above_ground: u32,
    pub max_floor_area_m2: f64,
    pub building_height_m: f64,
    pub has_basement: bool,
    pub roof_or_floors_combustible: bool,
    pub uses_by_floor: String,
    /// People who sleep on site; `None` when the worker does not know (asked, never assumed 0:
    /// an unknown count keeps every item for sleeping quarters applicable).
    pub residents_count: Option<u32>,
    pub is_crowded_place: bool,
    /// The first (or only) gas supply; kept for records written before a venue could name
    /// several.
    pub gas_supply: String,
    /// Every gas supply the venue uses (piped gas and LPG cylinders together, say); when set, it
    /// is the whole list and includes `gas_supply`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[autosurgeon(missing = "Default::default")]
    pub gas_supplies: Vec<String>,
    /// Set by the lead department, never by the worker (a figure a grid worker cannot know):
    /// exits this venue must have, their required total clear width, and the distance a
    /// flammable or explosive goods site must keep from it. Unset: the rules that need them are
    /// not judged.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[autosurgeon(missing = "Default::default")]
    pub dept_required_exits: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[autosurgeon(missing = "Default::default")]
    pub dept_required_exit_width_m: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[autosurgeon(missing = "Default::default")]
    pub dept_hazmat_gap_m: Option<f64>,
}

impl VenueProfile {
    /// Checks codes and ranges; names the field that is wrong.
    pub fn validate(&self) -> Result<()> {
        if self.venue_type.is_empty() {
            return Err(Error::invalid(
                "venue_type: at least one venue type is required",
            ));
        }
        for t in &self.venue_type {
            if !VENUE_TYPES.iter().any(|(c, ..)| c == t) {
                return Err(Error::invalid(format!(
                    "venue_type: unknown type {t:?} (one of {})",
                    VENUE_TYPES
                        .iter()
                        .map(|v| v.0)
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        }
        for g in std::iter::once(&self.gas_supply).chain(&self.gas_supplies) {
            if !GAS_SUPPLIES.iter().any(|(c, ..)| c == g) {
                return Err(Error::invalid(format!(
                    "gas_supply: unknown value {g:?} (one of {})",
                    GAS_SUPPLIES
                        .iter()
                        .map(|v| v.0)
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        }
        let supplies = self.gas_supplies();
        if supplies.len() > 1 && supplies.iter().any(|g| g == "none") {
            return Err(Error::invalid(
                "gas_supply: \"none\" (不用气) cannot be combined with a gas supply",
            ));
        }
        if !self.gas_supplies.is_empty() && !self.gas_supplies.contains(&self.gas_supply) {
            return Err(Error::invalid(format!(
                "gas_supply: {:?} is not among gas_supplies",
                self.gas_supply
            )));
        }
        for (name, v) in [
            (
                "dept_required_exit_width_m",
                self.dept_required_exit_width_m,
            ),
            ("dept_hazmat_gap_m", self.dept_hazmat_gap_m),
        ] {
            if v.is_some_and(|v| !v.is_finite() || !(0.0..=10_000.0).contains(&v)) {
                return Err(Error::invalid(format!("{name}: out of range 0..10000")));
            }
        }
        if self.residents_count.is_some_and(|n| n > 10_000) {
            return Err(Error::invalid("residents_count: out of range 0..10000"));
        }
        for (name, v, max) in [
            ("max_floor_area_m2", self.max_floor_area_m2, 1_000_000.0),
            ("building_height_m", self.building_height_m, 1_000.0),
        ] {
            if !v.is_finite() || v < 0.0 || v > max {
                return Err(Error::invalid(format!(
                    "{name}: {v} is out of range 0..{max}"
                )));
            }
        }
        if self.floors_above_ground > 200 {
            return Err(Error::invalid(format!(
                "floors_above_ground: {} is out of range",
                self.floors_above_ground
            )));
        }
        Ok(())
    }

    /// A profile with every optional value given: what conditions and thresholds are checked
    /// against when a template loads.
    pub fn sample() -> VenueProfile {
        VenueProfile {
            residents_count: Some(0),
            dept_required_exits: Some(0),
            dept_required_exit_width_m: Some(0.0),
            dept_hazmat_gap_m: Some(0.0),
            ..Default::default()
        }
    }

    /// Every gas supply: the list when given, else the single value.
    pub fn gas_supplies(&self) -> Vec<String> {
        if self.gas_supplies.is_empty() {
            vec![self.gas_supply.clone()]
        } else {
            self.gas_supplies.clone()
        }
    }

    /// Whether the checklist of `domain` applies to this venue: gas where it uses gas, the
    /// self-built-house checklist for 经营性自建房, 三合一/群租 for those; e-bikes and fire lifelines
    /// everywhere (any venue may park or charge e-bikes, every venue has exits).
    pub fn checklist_applies(&self, domain: &str) -> bool {
        let is = |t: &str| self.venue_type.iter().any(|v| v == t);
        match domain {
            "gas" => self
                .gas_supplies()
                .iter()
                .any(|g| !g.is_empty() && g != "none"),
            "selfbuilt" => is("selfbuilt_business"),
            "mixed" => is("three_in_one") || is("group_rental"),
            _ => true,
        }
    }

    /// A crowded place (人员密集场所): as recorded, or by its type.
    pub fn is_crowded(&self) -> bool {
        self.is_crowded_place
            || self
                .venue_type
                .iter()
                .any(|t| CROWDED_BY_TYPE.contains(&t.as_str()))
    }

    /// Value of a profile field, including derived ones, for conditions and thresholds.
    pub fn value(&self, field: &str) -> Option<Value> {
        Some(match field {
            "venue_type" => Value::Set(self.venue_type.clone()),
            "floors_above_ground" => Value::Num(f64::from(self.floors_above_ground)),
            "max_floor_area_m2" => Value::Num(self.max_floor_area_m2),
            "building_height_m" => Value::Num(self.building_height_m),
            "has_basement" => Value::Bool(self.has_basement),
            "roof_or_floors_combustible" => Value::Bool(self.roof_or_floors_combustible),
            "residents_count" => match self.residents_count {
                Some(n) => Value::Num(f64::from(n)),
                None => Value::Unknown,
            },
            "is_crowded_place" => Value::Bool(self.is_crowded()),
            "gas_supply" => Value::Set(self.gas_supplies()),
            "dept_required_exits" => match self.dept_required_exits {
                Some(n) => Value::Num(f64::from(n)),
                None => Value::Unknown,
            },
            "dept_required_exit_width_m" => self
                .dept_required_exit_width_m
                .map_or(Value::Unknown, Value::Num),
            "dept_hazmat_gap_m" => self.dept_hazmat_gap_m.map_or(Value::Unknown, Value::Num),
            // Derived. Total area is estimated from the largest floor: the profile does not
            // record every floor's area.
            "total_floor_area_m2" => {
                Value::Num(self.max_floor_area_m2 * f64::from(self.floors_above_ground.max(1)))
            }
            // 高层: residential > 27 m, other buildings > 24 m.
            "is_high_rise" => {
                let residential_only = self.venue_type.iter().all(|t| t == "group_rental");
                Value::Bool(self.building_height_m > if residential_only { 27.0 } else { 24.0 })
            }
            _ => return None,
        })
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Num(f64),
    Bool(bool),
    Str(String),
    Set(Vec<String>),
    /// Not known (a resident count the worker could not give): a condition on it holds, so the
    /// items it guards are asked rather than skipped.
    Unknown,
}

/// A condition over the venue profile, written in templates as JSON:
/// `{"field": "residents_count", "op": "gt", "value": 0}`, `{"all": [...]}`, `{"any": [...]}`,
/// `{"not": {...}}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged, deny_unknown_fields)]
pub enum Condition {
    All {
        all: Vec<Condition>,
    },
    Any {
        any: Vec<Condition>,
    },
    Not {
        not: Box<Condition>,
    },
    Field {
        field: String,
        op: Op,
        value: serde_json::Value,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    Contains,
}

impl Condition {
    /// Load-time check: every field exists and every value has the field's type.
    pub fn check(&self) -> std::result::Result<(), String> {
        match self {
            Condition::All { all: cs } | Condition::Any { any: cs } => {
                cs.iter().try_for_each(Condition::check)
            }
            Condition::Not { not } => not.check(),
            Condition::Field { field, op, value } => {
                let sample = VenueProfile::sample()
                    .value(field)
                    .ok_or_else(|| format!("unknown profile field {field:?}"))?;
                let ok = match (&sample, op, value) {
                    (Value::Num(_), Op::Eq | Op::Ne | Op::Gt | Op::Ge | Op::Lt | Op::Le, v) => {
                        v.is_number()
                    }
                    (Value::Bool(_), Op::Eq | Op::Ne, v) => v.is_boolean(),
                    (Value::Str(_), Op::Eq | Op::Ne, v) => v.is_string(),
                    (Value::Set(_), Op::Contains | Op::Eq | Op::Ne, v) => v.is_string(),
                    _ => false,
                };
                if ok {
                    Ok(())
                } else {
                    Err(format!(
                        "condition on {field:?}: operator {op:?} with value {value} does not fit the field"
                    ))
                }
            }
        }
    }

    pub fn eval(&self, p: &VenueProfile) -> bool {
        match self {
            Condition::All { all } => all.iter().all(|c| c.eval(p)),
            Condition::Any { any } => any.iter().any(|c| c.eval(p)),
            Condition::Not { not } => !not.eval(p),
            Condition::Field { field, op, value } => match (p.value(field), op) {
                (Some(Value::Num(a)), op) => value.as_f64().is_some_and(|b| cmp_num(a, *op, b)),
                (Some(Value::Bool(a)), Op::Eq) => value.as_bool() == Some(a),
                (Some(Value::Bool(a)), Op::Ne) => value.as_bool() != Some(a),
                (Some(Value::Str(a)), Op::Eq) => value.as_str() == Some(a.as_str()),
                (Some(Value::Str(a)), Op::Ne) => value.as_str() != Some(a.as_str()),
                // A set "equals" a value it holds: `gas_supply eq lpg` holds for a venue with
                // piped gas and LPG cylinders both.
                (Some(Value::Set(a)), Op::Contains | Op::Eq) => {
                    value.as_str().is_some_and(|v| a.iter().any(|x| x == v))
                }
                (Some(Value::Set(a)), Op::Ne) => {
                    value.as_str().is_some_and(|v| !a.iter().any(|x| x == v))
                }
                (Some(Value::Unknown), _) => true,
                _ => false,
            },
        }
    }
}

pub fn cmp_num(a: f64, op: Op, b: f64) -> bool {
    match op {
        Op::Eq => (a - b).abs() < 1e-9,
        Op::Ne => (a - b).abs() >= 1e-9,
        Op::Gt => a > b,
        Op::Ge => a >= b - 1e-9,
        Op::Lt => a < b,
        Op::Le => a <= b + 1e-9,
        Op::Contains => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn restaurant() -> VenueProfile {
        VenueProfile {
            venue_type: vec!["small_restaurant".into()],
            floors_above_ground: 2,
            max_floor_area_m2: 120.0,
            building_height_m: 7.5,
            residents_count: Some(3),
            is_crowded_place: true,
            gas_supply: "lpg".into(),
            ..Default::default()
        }
    }

    #[test]
    fn conditions_evaluate_on_the_profile() {
        let c: Condition = serde_json::from_str(
            r#"{"all":[{"field":"is_crowded_place","op":"eq","value":true},{"field":"residents_count","op":"gt","value":0}]}"#,
        )
        .unwrap();
        assert!(c.check().is_ok());
        assert!(c.eval(&restaurant()));
        let mut p = restaurant();
        p.residents_count = Some(0);
        assert!(!c.eval(&p));
        let hi: Condition =
            serde_json::from_str(r#"{"field":"is_high_rise","op":"eq","value":true}"#).unwrap();
        assert!(!hi.eval(&p));
        p.building_height_m = 25.0;
        assert!(hi.eval(&p), "a 25 m business building is high-rise");
        p.venue_type = vec!["group_rental".into()];
        assert!(!hi.eval(&p), "a 25 m residential building is not (> 27 m)");
        let any: Condition = serde_json::from_str(r#"{"any":[{"field":"venue_type","op":"contains","value":"street_shop"},{"not":{"field":"gas_supply","op":"eq","value":"none"}}]}"#).unwrap();
        assert!(any.eval(&restaurant()));
    }

    #[test]
    fn the_profile_cannot_hide_what_the_law_says() {
        // A small restaurant is a crowded place whatever the box says (消防法 §73).
        let mut p = restaurant();
        p.is_crowded_place = false;
        let crowded: Condition =
            serde_json::from_str(r#"{"field":"is_crowded_place","op":"eq","value":true}"#).unwrap();
        assert!(crowded.eval(&p));
        // An unknown resident count keeps items for sleeping quarters applicable.
        let sleeps: Condition =
            serde_json::from_str(r#"{"field":"residents_count","op":"gt","value":0}"#).unwrap();
        p.residents_count = None;
        assert!(sleeps.eval(&p));
        p.residents_count = Some(0);
        assert!(!sleeps.eval(&p));
        // Piped gas and LPG cylinders together: the LPG items apply.
        let lpg: Condition =
            serde_json::from_str(r#"{"field":"gas_supply","op":"eq","value":"lpg"}"#).unwrap();
        p.gas_supply = "piped_ng".into();
        assert!(!lpg.eval(&p));
        p.gas_supplies = vec!["piped_ng".into(), "lpg".into()];
        assert!(lpg.eval(&p));
        assert!(p.validate().is_ok());
        p.gas_supplies = vec!["none".into(), "lpg".into()];
        assert!(p.validate().is_err());
    }

    #[test]
    fn bad_conditions_are_named() {
        let c: Condition =
            serde_json::from_str(r#"{"field":"floor_count","op":"gt","value":1}"#).unwrap();
        assert!(c.check().unwrap_err().contains("floor_count"));
        let c: Condition =
            serde_json::from_str(r#"{"field":"has_basement","op":"gt","value":1}"#).unwrap();
        assert!(c.check().is_err());
    }

    #[test]
    fn profile_validation_names_the_field() {
        let mut p = restaurant();
        assert!(p.validate().is_ok());
        p.gas_supply = "coal".into();
        assert!(p.validate().unwrap_err().to_string().contains("gas_supply"));
        let mut p = restaurant();
        p.venue_type = vec!["castle".into()];
        assert!(p.validate().unwrap_err().to_string().contains("castle"));
        let mut p = restaurant();
        p.building_height_m = -3.0;
        assert!(
            p.validate()
                .unwrap_err()
                .to_string()
                .contains("building_height_m")
        );
    }
}
