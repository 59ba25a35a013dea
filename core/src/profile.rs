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
    pub residents_count: u32,
    pub is_crowded_place: bool,
    pub gas_supply: String,
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
        if !GAS_SUPPLIES.iter().any(|(c, ..)| *c == self.gas_supply) {
            return Err(Error::invalid(format!(
                "gas_supply: unknown value {:?} (one of {})",
                self.gas_supply,
                GAS_SUPPLIES
                    .iter()
                    .map(|v| v.0)
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
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

    /// Value of a profile field, including derived ones, for conditions and thresholds.
    pub fn value(&self, field: &str) -> Option<Value> {
        Some(match field {
            "venue_type" => Value::Set(self.venue_type.clone()),
            "floors_above_ground" => Value::Num(f64::from(self.floors_above_ground)),
            "max_floor_area_m2" => Value::Num(self.max_floor_area_m2),
            "building_height_m" => Value::Num(self.building_height_m),
            "has_basement" => Value::Bool(self.has_basement),
            "roof_or_floors_combustible" => Value::Bool(self.roof_or_floors_combustible),
            "residents_count" => Value::Num(f64::from(self.residents_count)),
            "is_crowded_place" => Value::Bool(self.is_crowded_place),
            "gas_supply" => Value::Str(self.gas_supply.clone()),
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
                let sample = VenueProfile::default()
                    .value(field)
                    .ok_or_else(|| format!("unknown profile field {field:?}"))?;
                let ok = match (&sample, op, value) {
                    (Value::Num(_), Op::Eq | Op::Ne | Op::Gt | Op::Ge | Op::Lt | Op::Le, v) => {
                        v.is_number()
                    }
                    (Value::Bool(_), Op::Eq | Op::Ne, v) => v.is_boolean(),
                    (Value::Str(_), Op::Eq | Op::Ne, v) => v.is_string(),
                    (Value::Set(_), Op::Contains, v) => v.is_string(),
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
                (Some(Value::Set(a)), Op::Contains) => {
                    value.as_str().is_some_and(|v| a.iter().any(|x| x == v))
                }
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
            residents_count: 3,
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
        p.residents_count = 0;
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
