//! Adding or editing a venue (新增/编辑场所): the questions to ask, each with why it matters —
//! which checklists and how many of their items it decides, read from the templates' own
//! applicability rules — and saving the answers as one venue.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::{Error, Result};
use crate::field::input;
use crate::field::walk::{FieldInput, Input};
use crate::labels::{Labels, Lang};
use crate::profile::{Condition, GAS_SUPPLIES, VENUE_TYPES, VenueProfile};
use crate::records::{Responsible, Venue, venue_fields};
use crate::store::{NewVenue, Store, VenueEdit};

/// One question of the venue form.
#[derive(Clone, Debug, PartialEq)]
pub struct Question {
    /// The venue field it sets (`name`, `profile.has_basement`...).
    pub key: String,
    pub label: String,
    pub input: FieldInput,
    pub required: bool,
    /// The current value, in words (editing).
    pub value: Option<String>,
    /// Why it is asked: what it decides, in words.
    pub why: String,
}

/// The profile questions, in the order asked, with the profile field each sets.
const PROFILE: [(&str, &str); 9] = [
    ("profile.venue_type", "venue_type"),
    ("profile.gas_supplies", "gas_supply"),
    ("profile.floors_above_ground", "floors_above_ground"),
    ("profile.max_floor_area_m2", "max_floor_area_m2"),
    ("profile.building_height_m", "building_height_m"),
    ("profile.has_basement", "has_basement"),
    ("profile.residents_count", "residents_count"),
    ("profile.is_crowded_place", "is_crowded_place"),
    (
        "profile.roof_or_floors_combustible",
        "roof_or_floors_combustible",
    ),
];

/// The form for a new venue (`venue_id` none) or an existing one, for `user`.
pub fn venue_form(
    store: &Store,
    user: &str,
    venue_id: Option<&str>,
    lang: Lang,
) -> Result<Vec<Question>> {
    let dir = store.directory()?;
    let me = dir
        .user(user)
        .ok_or_else(|| Error::Forbidden(format!("unknown user {user:?}")))?;
    let l = Labels::new(Some(&dir), lang);
    let venue = venue_id.map(|id| store.venue(id)).transpose()?;
    let current = venue.as_ref().map(serde_json::to_value).transpose()?;
    let value_of = |path: &str| -> Option<String> {
        let v = path
            .split('.')
            .try_fold(current.as_ref()?, |v, k| v.get(k))?;
        (!v.is_null()).then(|| l.venue_value(path, v))
    };
    let uses = item_uses(store)?;
    let text = |key: &str, required: bool, why: (&str, &str)| {
        let (zh, en) = venue_fields::label(key);
        Question {
            key: key.to_owned(),
            label: l.pick(zh, en).to_owned(),
            input: FieldInput::Text,
            required,
            value: value_of(key),
            why: l.pick(why.0, why.1).to_owned(),
        }
    };
    let mut qs = vec![
        text(
            "name",
            true,
            (
                "写在整改通知书和台账上",
                "Printed on the notice and the ledger",
            ),
        ),
        text(
            "address",
            true,
            (
                "写在整改通知书上，供复查找到场所",
                "On the notice; how the re-check finds the venue",
            ),
        ),
    ];
    let grids: Vec<(String, String)> = dir
        .grids
        .iter()
        .filter(|g| crate::policy::check_grid(me, &g.id).is_ok())
        .map(|g| (g.id.clone(), l.grid(&g.id)))
        .collect();
    qs.push(Question {
        key: "grid_id".into(),
        label: l.pick("网格", "Grid").to_owned(),
        input: FieldInput::Choice { options: grids },
        required: true,
        value: value_of("grid_id"),
        why: l
            .pick(
                "决定由哪位网格员负责复查",
                "Decides which grid worker follows it up",
            )
            .to_owned(),
    });
    qs.push(text(
        "responsible.name",
        true,
        ("整改通知书送达的主要负责人", "Who the notice is served on"),
    ));
    qs.push(text(
        "responsible.phone",
        true,
        (
            "通知整改和复查时联系",
            "Called about rectification and re-checks",
        ),
    ));
    for (key, field) in PROFILE {
        let (zh, en) = venue_fields::label(key);
        let options = |list: &[(&str, &str, &str)]| {
            list.iter()
                .map(|(c, zh, en)| ((*c).to_owned(), l.pick(zh, en).to_owned()))
                .collect()
        };
        let input = match field {
            "venue_type" => FieldInput::Multi {
                options: options(VENUE_TYPES),
            },
            "gas_supply" => FieldInput::Multi {
                options: options(GAS_SUPPLIES),
            },
            "floors_above_ground" | "residents_count" => FieldInput::Count,
            "max_floor_area_m2" => FieldInput::Number {
                unit: l.unit("m²")
            },
            "building_height_m" => FieldInput::Number { unit: l.unit("m") },
            _ => FieldInput::YesNo,
        };
        qs.push(Question {
            key: key.to_owned(),
            label: l.pick(zh, en).to_owned(),
            input,
            required: field != "residents_count",
            value: value_of(key),
            why: why(&l, field, uses.get(field)),
        });
    }
    Ok(qs)
}

/// For each profile field, the checklists (by title) and the number of their items whose
/// applicability reads it.
fn item_uses(store: &Store) -> Result<BTreeMap<String, (BTreeSet<String>, u32)>> {
    let mut uses: BTreeMap<String, (BTreeSet<String>, u32)> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    for row in store.list_templates()? {
        if !seen.insert(row.template_id.clone()) {
            continue;
        }
        let t = store.latest_template(&row.template_id)?;
        for item in &t.items {
            let mut fields = BTreeSet::new();
            let conds = item
                .applies_if
                .iter()
                .chain(item.fields.iter().filter_map(|f| f.applies_if.as_ref()));
            for c in conds {
                fields_of(c, &mut fields);
            }
            for f in fields {
                let e = uses.entry(f).or_default();
                e.0.insert(t.title_zh.clone());
                e.1 += 1;
            }
        }
    }
    Ok(uses)
}

fn fields_of(c: &Condition, out: &mut BTreeSet<String>) {
    match c {
        Condition::All { all: cs } | Condition::Any { any: cs } => {
            cs.iter().for_each(|c| fields_of(c, out));
        }
        Condition::Not { not } => fields_of(not, out),
        Condition::Field { field, .. } => {
            out.insert(field.clone());
        }
    }
}

fn why(l: &Labels<'_>, field: &str, uses: Option<&(BTreeSet<String>, u32)>) -> String {
    let whole = match field {
        "venue_type" => Some((
            "决定是否检查经营性自建房、三合一·群租",
            "Decides whether the self-built-house and mixed-use checklists apply",
        )),
        "gas_supply" => Some((
            "使用燃气的场所检查燃气安全",
            "A venue that uses gas gets the gas checklist",
        )),
        _ => None,
    };
    let items = uses.map(|(lists, n)| {
        format!(
            "{}{n}{}（{}）",
            l.pick("决定", "Decides whether "),
            l.pick(" 项检查是否适用", " items apply"),
            lists
                .iter()
                .cloned()
                .collect::<Vec<_>>()
                .join(l.pick("、", ", "))
        )
    });
    match (whole, items) {
        (Some((zh, en)), Some(i)) => format!("{}；{i}", l.pick(zh, en)),
        (Some((zh, en)), None) => l.pick(zh, en).to_owned(),
        (None, Some(i)) => i,
        (None, None) => l
            .pick("记入场所档案", "Kept in the venue's file")
            .to_owned(),
    }
}

/// Saves the form's answers as a new venue (`venue_id` none) or an edit; returns the venue.
/// Every answer is checked (a type that does not fit, a code not in the list, a missing required
/// field) and nothing is saved unless all are right.
pub fn save_venue(
    store: &mut Store,
    user: &str,
    venue_id: Option<&str>,
    answers: &[(String, Input)],
    lang: Lang,
) -> Result<Venue> {
    // Refusals name the question as the form asked it.
    let labels: BTreeMap<String, String> = venue_form(store, user, venue_id, lang)?
        .into_iter()
        .map(|q| (q.key, q.label))
        .collect();
    let dir = store.directory().ok();
    let l = Labels::new(dir.as_deref(), lang);
    let base = venue_id.map(|id| store.venue(id)).transpose()?;
    let mut name = base.as_ref().map(|v| v.name.clone()).unwrap_or_default();
    let mut address = base.as_ref().map(|v| v.address.clone()).unwrap_or_default();
    let mut grid = base.as_ref().map(|v| v.grid_id.clone()).unwrap_or_default();
    let mut who: Responsible = base
        .as_ref()
        .map(|v| v.responsible.clone())
        .unwrap_or_default();
    let mut p: VenueProfile = base.as_ref().map(|v| v.profile.clone()).unwrap_or_default();
    for (key, input) in answers {
        let Some(label) = labels.get(key) else {
            return Err(Error::Words(
                l.pick(
                    "表单中没有这个问题，请关闭后重新打开场所表单",
                    "The form has no such question: close it and open the venue form again",
                )
                .to_owned(),
            ));
        };
        let text = || input::text(&l, label, input);
        let count = || input::count(&l, label, input, 10_000).map(|n| n as u32);
        let number = || {
            let unit = l.unit(if key.ends_with("_m2") { "m2" } else { "m" });
            input::number(&l, label, &unit, input, 100_000.0)
        };
        let yes_no = || input::yes_no(&l, label, input, false).map(|b| b == Some(true));
        let codes = |list: &[(&str, &str, &str)]| {
            let keys: Vec<String> = list.iter().map(|(c, ..)| (*c).to_owned()).collect();
            input::multi(&l, label, input, &keys)
        };
        match key.as_str() {
            "name" => name = text()?,
            "address" => address = text()?,
            "grid_id" => {
                grid = match input {
                    Input::Choice(g) => g.clone(),
                    _ => {
                        return Err(input::refuse(
                            &l,
                            label,
                            "请从列表中选择网格",
                            "choose a grid from the list",
                        ));
                    }
                }
            }
            "responsible.name" => who.name = text()?,
            "responsible.phone" => who.phone = text()?,
            "profile.venue_type" => p.venue_type = codes(VENUE_TYPES)?,
            "profile.gas_supplies" => {
                // None ticked is "不用气", written as such: an empty list would not replace a
                // recorded one.
                let mut g = codes(GAS_SUPPLIES)?;
                if g.is_empty() {
                    g.push("none".into());
                }
                p.gas_supply = g[0].clone();
                p.gas_supplies = g;
            }
            "profile.floors_above_ground" => p.floors_above_ground = count()?,
            "profile.max_floor_area_m2" => p.max_floor_area_m2 = number()?,
            "profile.building_height_m" => p.building_height_m = number()?,
            "profile.has_basement" => p.has_basement = yes_no()?,
            "profile.residents_count" => p.residents_count = Some(count()?),
            "profile.is_crowded_place" => p.is_crowded_place = yes_no()?,
            "profile.roof_or_floors_combustible" => p.roof_or_floors_combustible = yes_no()?,
            _ => {
                return Err(input::refuse(
                    &l,
                    label,
                    "此版本的应用无法保存这个问题，请更新应用",
                    "this version of the app cannot save this question: update the app",
                ));
            }
        }
    }
    for (key, v) in [("name", &name), ("address", &address), ("grid_id", &grid)] {
        if v.is_empty() {
            let label = labels.get(key).map_or(key, String::as_str);
            return Err(input::refuse(&l, label, "必须填写", "is required"));
        }
    }
    p.validate()?;
    match venue_id {
        None => store.add_venue(
            user,
            NewVenue {
                name,
                address,
                grid_id: grid,
                profile: p,
                responsible: who,
            },
        ),
        Some(id) => store.edit_venue(
            user,
            id,
            VenueEdit {
                name: Some(name),
                address: Some(address),
                grid_id: Some(grid),
                profile: Some(p),
                responsible: Some(who),
                archived: None,
            },
        ),
    }
}
