//! A venue's fields as people edit them: each edit stamps the field with the editor's hybrid
//! logical clock, and when two edits of a field were concurrent, the later one by that clock is
//! kept — on every replica the same (ties by the editor's id) — while the other stays visible
//! beside it until someone resolves it by choosing or re-entering. Moving a venue to another grid
//! is recorded in its history with who and when.
//!
//! Layout (schema 2): the venue's values stay where they were (`venue.*`, so a record reads as
//! before), `stamps` maps each field's path to `{ms, c, by}` written in the same change as the
//! value, and `moves` lists the venue's changes of grid. Concurrent values of a field are
//! automerge's conflicting values at its key; each is paired with the stamp its writer wrote.

use std::collections::BTreeMap;

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjId, ObjType, ROOT, ReadDoc, ScalarValue, Value};
use serde::{Deserialize, Serialize};

use super::{Venue, doc_err};
use crate::error::Result;

/// Who edited a field and when (their hybrid logical clock).
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Stamp {
    pub ms: i64,
    pub counter: u32,
    /// The editor's user id.
    pub by: String,
}

/// One value a field was given, by whom and when.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldVersion {
    pub value: serde_json::Value,
    pub by: String,
    pub ms: i64,
}

/// A field two people set concurrently: the value kept (the later edit) and the others, shown
/// until someone resolves the field.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldConflict {
    /// The field's path, e.g. `responsible.phone`, `profile.floors_above_ground`.
    pub field: String,
    pub kept: FieldVersion,
    pub others: Vec<FieldVersion>,
}

/// A venue's move to another grid.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VenueMove {
    pub from_grid: String,
    pub to_grid: String,
    pub by: String,
    pub ms: i64,
}

/// Fields that never change after registration (the village follows the grid).
const FIXED: &[&str] = &["id", "created_at", "created_by"];

/// Fields set only by moving the venue (the village follows the grid, written with the same
/// stamp so that concurrent moves resolve to one consistent place).
const MOVED_ONLY: &[&str] = &["grid_id", "village"];

/// The venue's editable fields as (path, value): nested maps are walked, lists and scalars are
/// fields.
pub fn fields(v: &Venue) -> BTreeMap<String, serde_json::Value> {
    fn walk(prefix: &str, v: &serde_json::Value, out: &mut BTreeMap<String, serde_json::Value>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, x) in m {
                    let path = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&path, x, out);
                }
            }
            other => {
                out.insert(prefix.to_owned(), other.clone());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk("", &serde_json::to_value(v).unwrap_or_default(), &mut out);
    out.retain(|k, _| !FIXED.contains(&k.as_str()));
    out
}

/// `v` with `field` set to `value` (one of the values shown, or one typed in again: text for a
/// number field is read as a number), checked as any edit is. Moving the venue is not done this
/// way but by changing its grid.
pub fn set_field(v: &Venue, field: &str, value: serde_json::Value) -> Result<Venue> {
    let (zh, en) = label(field);
    let current = fields(v).remove(field);
    let current = match current {
        Some(c) if !MOVED_ONLY.contains(&field) => c,
        _ => {
            return Err(crate::Error::invalid(format!(
                "没有这个可修改的场所字段 / no editable venue field {field:?}"
            )));
        }
    };
    let value = match (&current, value) {
        (serde_json::Value::Number(_), serde_json::Value::String(t)) => t
            .trim()
            .parse::<serde_json::Number>()
            .map(serde_json::Value::Number)
            .map_err(|_| crate::Error::invalid(format!("{zh}应填写数字 / {en}: enter a number")))?,
        (_, v) => v,
    };
    let mut json = serde_json::to_value(v)?;
    let mut at = &mut json;
    let parts: Vec<&str> = field.split('.').collect();
    for p in &parts[..parts.len() - 1] {
        at = &mut at[*p];
    }
    at[parts[parts.len() - 1]] = value;
    let after: Venue = serde_json::from_value(json).map_err(|_| {
        crate::Error::invalid(format!(
            "{zh}的取值格式不对，请重新填写 / {en}: the value does not fit, enter it again"
        ))
    })?;
    after.profile.validate()?;
    crate::limits::check_all(&serde_json::to_value(&after)?)?;
    Ok(after)
}

/// The map holding the field at `path` (created when missing) and the field's key.
fn parent(doc: &mut AutoCommit, path: &str) -> Result<(ObjId, String)> {
    let mut obj = match doc.get(ROOT, "venue")? {
        Some((Value::Object(ObjType::Map), o)) => o,
        _ => return Err(doc_err("venue", "no venue map")),
    };
    let mut parts: Vec<&str> = path.split('.').collect();
    let key = parts.pop().unwrap_or_default().to_owned();
    for p in parts {
        obj = match doc.get(&obj, p)? {
            Some((Value::Object(ObjType::Map), o)) => o,
            _ => doc.put_object(&obj, p, ObjType::Map)?,
        };
    }
    Ok((obj, key))
}

fn find_parent(doc: &AutoCommit, path: &str) -> Option<(ObjId, String)> {
    let mut obj = match doc.get(ROOT, "venue").ok()? {
        Some((Value::Object(ObjType::Map), o)) => o,
        _ => return None,
    };
    let mut parts: Vec<&str> = path.split('.').collect();
    let key = parts.pop()?.to_owned();
    for p in parts {
        obj = match doc.get(&obj, p).ok()? {
            Some((Value::Object(ObjType::Map), o)) => o,
            _ => return None,
        };
    }
    Some((obj, key))
}

fn scalar(v: &serde_json::Value) -> ScalarValue {
    match v {
        serde_json::Value::Null => ScalarValue::Null,
        serde_json::Value::Bool(b) => ScalarValue::Boolean(*b),
        serde_json::Value::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => ScalarValue::Uint(u),
            (None, Some(i)) => ScalarValue::Int(i),
            _ => ScalarValue::F64(n.as_f64().unwrap_or_default()),
        },
        serde_json::Value::String(s) => ScalarValue::Str(s.as_str().into()),
        other => ScalarValue::Str(other.to_string().into()),
    }
}

fn json_of(v: &ScalarValue) -> serde_json::Value {
    match v {
        ScalarValue::Str(s) => serde_json::Value::String(s.to_string()),
        ScalarValue::Int(i) => (*i).into(),
        ScalarValue::Uint(u) => (*u).into(),
        ScalarValue::F64(f) => serde_json::Number::from_f64(*f)
            .map_or(serde_json::Value::Null, serde_json::Value::Number),
        ScalarValue::Boolean(b) => (*b).into(),
        ScalarValue::Counter(c) => i64::from(c).into(),
        ScalarValue::Timestamp(t) => (*t).into(),
        _ => serde_json::Value::Null,
    }
}

fn stamps_map(doc: &mut AutoCommit) -> Result<ObjId> {
    Ok(match doc.get(ROOT, "stamps")? {
        Some((Value::Object(ObjType::Map), o)) => o,
        _ => doc.put_object(ROOT, "stamps", ObjType::Map)?,
    })
}

/// Writes an edit of venue `before` into `after` as `stamp`: each changed field (and each field
/// in `resolve`, even unchanged: choosing the kept value resolves a conflict) with its stamp, a
/// change of grid as a move, and the schema that says fields are stamped.
pub fn write_edit(
    doc: &mut AutoCommit,
    before: &Venue,
    after: &Venue,
    stamp: &Stamp,
    resolve: &[String],
) -> Result<()> {
    let (old, new) = (fields(before), fields(after));
    let stamps = stamps_map(doc)?;
    for (path, value) in &new {
        // A move writes the village with the grid even when it stays the same, so that
        // concurrent moves leave the grid and village of one of them.
        let moved = before.grid_id != after.grid_id && path == "village";
        if old.get(path) == Some(value) && !resolve.contains(path) && !moved {
            continue;
        }
        let (obj, key) = parent(doc, path)?;
        match value {
            serde_json::Value::Array(items) => {
                let list = doc.put_object(&obj, key.as_str(), ObjType::List)?;
                for (i, x) in items.iter().enumerate() {
                    doc.insert(&list, i, scalar(x))?;
                }
            }
            v => doc.put(&obj, key.as_str(), scalar(v))?,
        }
        let s = doc.put_object(&stamps, path.as_str(), ObjType::Map)?;
        doc.put(&s, "ms", stamp.ms)?;
        doc.put(&s, "c", u64::from(stamp.counter))?;
        doc.put(&s, "by", stamp.by.as_str())?;
    }
    // A field the edit emptied is left out of `after`'s fields (an empty list, an unset number):
    // clear it too, or the recorded value would stay.
    for (path, was) in old.iter().filter(|(p, _)| !new.contains_key(*p)) {
        let (obj, key) = parent(doc, path)?;
        match was {
            serde_json::Value::Array(_) => {
                doc.put_object(&obj, key.as_str(), ObjType::List)?;
            }
            _ => doc.delete(&obj, key.as_str())?,
        }
        let s = doc.put_object(&stamps, path.as_str(), ObjType::Map)?;
        doc.put(&s, "ms", stamp.ms)?;
        doc.put(&s, "c", u64::from(stamp.counter))?;
        doc.put(&s, "by", stamp.by.as_str())?;
    }
    if before.grid_id != after.grid_id {
        let moves = match doc.get(ROOT, "moves")? {
            Some((Value::Object(ObjType::List), o)) => o,
            _ => doc.put_object(ROOT, "moves", ObjType::List)?,
        };
        let at = doc.length(&moves);
        let m = doc.insert_object(&moves, at, ObjType::Map)?;
        doc.put(&m, "from_grid", before.grid_id.as_str())?;
        doc.put(&m, "to_grid", after.grid_id.as_str())?;
        doc.put(&m, "by", stamp.by.as_str())?;
        doc.put(&m, "ms", stamp.ms)?;
    }
    doc.put(ROOT, "schema", super::SCHEMA)?;
    Ok(())
}

fn stamp_of(doc: &AutoCommit, m: &ObjId) -> Stamp {
    let int = |k: &str| match doc.get(m, k).ok().flatten() {
        Some((Value::Scalar(s), _)) => match s.as_ref() {
            ScalarValue::Int(i) => *i,
            ScalarValue::Uint(u) => *u as i64,
            _ => 0,
        },
        _ => 0,
    };
    let by = match doc.get(m, "by").ok().flatten() {
        Some((Value::Scalar(s), _)) => match s.as_ref() {
            ScalarValue::Str(t) => t.to_string(),
            _ => String::new(),
        },
        _ => String::new(),
    };
    Stamp {
        ms: int("ms"),
        counter: u32::try_from(int("c")).unwrap_or(u32::MAX),
        by,
    }
}

fn actor_of(id: &automerge::ObjId) -> String {
    super::hazard::actor_of(id).unwrap_or_default()
}

/// Every map or list at a root key: a record edited first on two phones at once may hold two
/// (each made its own); their entries count together.
fn all_at_root(doc: &AutoCommit, key: &str, kind: ObjType) -> Vec<ObjId> {
    doc.get_all(ROOT, key)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(v, id)| (v == Value::Object(kind)).then_some(id))
        .collect()
}

/// The stamp of each concurrent value of field `path`, by the actor that wrote it.
fn stamps_by_actor(doc: &AutoCommit, path: &str) -> BTreeMap<String, Stamp> {
    all_at_root(doc, "stamps", ObjType::Map)
        .iter()
        .flat_map(|stamps| doc.get_all(stamps, path).unwrap_or_default())
        .filter_map(|(v, id)| match v {
            Value::Object(ObjType::Map) => Some((actor_of(&id), stamp_of(doc, &id))),
            _ => None,
        })
        .collect()
}

/// Reads the venue with the later edit of every field kept, and the conflicts still open.
pub fn read_resolved(doc: &AutoCommit, base: Venue) -> Result<(Venue, Vec<FieldConflict>)> {
    let mut json = serde_json::to_value(&base)?;
    let mut conflicts = Vec::new();
    for path in fields(&base).keys() {
        let Some((obj, key)) = find_parent(doc, path) else {
            continue;
        };
        let all = doc.get_all(&obj, key.as_str())?;
        if all.len() < 2 {
            continue;
        }
        let stamps = stamps_by_actor(doc, path);
        let mut versions: Vec<(Stamp, String, serde_json::Value)> = all
            .into_iter()
            .filter_map(|(v, id)| match v {
                Value::Scalar(s) => {
                    let actor = actor_of(&id);
                    let stamp = stamps.get(&actor).cloned().unwrap_or_default();
                    Some((stamp, actor, json_of(&s)))
                }
                // Lists merge element by element; only scalars conflict.
                Value::Object(_) => None,
            })
            .collect();
        if versions.len() < 2 {
            continue;
        }
        // The later edit by the hybrid logical clock; ties by the editor, then the writer.
        versions.sort_by(|a, b| (&b.0, &b.1).cmp(&(&a.0, &a.1)));
        let version = |(s, _, v): &(Stamp, String, serde_json::Value)| FieldVersion {
            value: v.clone(),
            by: s.by.clone(),
            ms: s.ms,
        };
        let kept = version(&versions[0]);
        let mut at = &mut json;
        let parts: Vec<&str> = path.split('.').collect();
        for p in &parts[..parts.len() - 1] {
            at = &mut at[*p];
        }
        at[parts[parts.len() - 1]] = kept.value.clone();
        conflicts.push(FieldConflict {
            field: path.clone(),
            kept,
            others: versions[1..].iter().map(version).collect(),
        });
    }
    let venue: Venue = serde_json::from_value(json)
        .map_err(|e| doc_err(&base.id, format!("venue fields do not read: {e}")))?;
    Ok((venue, conflicts))
}

/// The venue's moves between grids, oldest first.
pub fn moves(doc: &AutoCommit) -> Vec<VenueMove> {
    let mut all: Vec<VenueMove> = all_at_root(doc, "moves", ObjType::List)
        .iter()
        .flat_map(|list| moves_in(doc, list))
        .collect();
    all.sort_by_key(|m| m.ms);
    all
}

fn moves_in(doc: &AutoCommit, list: &ObjId) -> Vec<VenueMove> {
    let list = list.clone();
    let text = |m: &ObjId, k: &str| match doc.get(m, k).ok().flatten() {
        Some((Value::Scalar(s), _)) => match s.as_ref() {
            ScalarValue::Str(t) => t.to_string(),
            _ => String::new(),
        },
        _ => String::new(),
    };
    (0..doc.length(&list))
        .filter_map(|i| match doc.get(&list, i).ok().flatten() {
            Some((Value::Object(ObjType::Map), m)) => Some(VenueMove {
                from_grid: text(&m, "from_grid"),
                to_grid: text(&m, "to_grid"),
                by: text(&m, "by"),
                ms: stamp_of(doc, &m).ms,
            }),
            _ => None,
        })
        .collect()
}

/// The stamps a set of changes wrote, as (field, writing actor, stamp): what the relay checks
/// against the author and its clock.
pub fn new_stamps(before: Option<&AutoCommit>, after: &AutoCommit) -> Vec<(String, String, Stamp)> {
    let read = |doc: &AutoCommit| -> Vec<(String, String, Stamp)> {
        all_at_root(doc, "stamps", ObjType::Map)
            .into_iter()
            .flat_map(|stamps| {
                doc.keys(&stamps)
                    .map(|k| (stamps.clone(), k))
                    .collect::<Vec<_>>()
            })
            .flat_map(|(stamps, k)| {
                doc.get_all(&stamps, k.as_str())
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|(v, id)| match v {
                        Value::Object(ObjType::Map) => {
                            Some((k.clone(), id.to_string(), stamp_of(doc, &id)))
                        }
                        _ => None,
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    let old: std::collections::HashSet<String> = before
        .map(|b| read(b).into_iter().map(|(_, id, _)| id).collect())
        .unwrap_or_default();
    read(after)
        .into_iter()
        .filter(|(_, id, _)| !old.contains(id))
        .map(|(k, id, s)| {
            let actor = id.split_once('@').map_or("", |(_, a)| a).to_owned();
            (k, actor, s)
        })
        .collect()
}

/// A field's name for people (zh, en).
pub fn label(path: &str) -> (&'static str, &'static str) {
    match path {
        "name" => ("场所名称", "Name"),
        "address" => ("地址", "Address"),
        "grid_id" => ("网格", "Grid"),
        "village" => ("村（居）", "Village"),
        "archived" => ("已停用", "Archived"),
        "responsible.name" => ("负责人", "Responsible person"),
        "responsible.phone" => ("负责人电话", "Responsible person's phone"),
        "responsible.id_last4" => ("身份证后四位", "ID card, last four"),
        "profile.venue_type" => ("场所类型", "Venue type"),
        "profile.floors_above_ground" => ("地上层数", "Floors above ground"),
        "profile.max_floor_area_m2" => ("最大单层面积（平方米）", "Largest floor area (m²)"),
        "profile.building_height_m" => ("建筑高度（米）", "Building height (m)"),
        "profile.has_basement" => ("有地下室", "Has a basement"),
        "profile.roof_or_floors_combustible" => ("屋顶或楼板可燃", "Combustible roof or floors"),
        "profile.uses_by_floor" => ("各层用途", "Use of each floor"),
        "profile.residents_count" => ("住宿人数", "People sleeping on site"),
        "profile.is_crowded_place" => ("人员密集场所", "Crowded place"),
        "profile.gas_supply" => ("用气类型", "Gas supply"),
        "profile.gas_supplies" => ("用气类型（多项）", "Gas supplies"),
        "profile.dept_required_exits" => (
            "应设安全出口数（主管部门核定）",
            "Exits required (department)",
        ),
        "profile.dept_required_exit_width_m" => (
            "应有出口总宽（米，主管部门核定）",
            "Exit width required (m, department)",
        ),
        "profile.dept_hazmat_gap_m" => (
            "危险品场所应有间距（米，主管部门核定）",
            "Hazmat distance required (m, department)",
        ),
        _ => ("其他字段", "Other field"),
    }
}

/// A field's value for people: text as it is, yes/no in words, lists joined, nothing as "—".
pub fn display(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "—".into(),
        serde_json::Value::Bool(true) => "是".into(),
        serde_json::Value::Bool(false) => "否".into(),
        serde_json::Value::String(s) if s.is_empty() => "—".into(),
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(a) => a.iter().map(display).collect::<Vec<_>>().join("、"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::{Responsible, new_venue_doc, read_venue_full};
    use automerge::ActorId;

    fn venue() -> Venue {
        Venue {
            id: "v1".into(),
            name: "老王饭店".into(),
            address: "和平村12号".into(),
            village: "heping".into(),
            grid_id: "heping-1".into(),
            profile: crate::profile::VenueProfile {
                venue_type: vec!["small_restaurant".into()],
                gas_supply: "lpg".into(),
                ..Default::default()
            },
            responsible: Responsible::default(),
            created_at: String::new(),
            created_by: "wang".into(),
            archived: false,
        }
    }

    fn stamp(ms: i64, by: &str) -> Stamp {
        Stamp {
            ms,
            counter: 0,
            by: by.into(),
        }
    }

    #[test]
    fn an_edit_that_empties_a_list_or_unsets_a_number_clears_the_recorded_value() {
        let mut v = venue();
        v.profile.gas_supplies = vec!["lpg".into(), "piped_ng".into()];
        v.profile.dept_required_exits = Some(2);
        let mut d = new_venue_doc(&ActorId::random(), &v).unwrap();
        let mut after = v.clone();
        after.profile.gas_supplies = vec![];
        after.profile.dept_required_exits = None;
        write_edit(&mut d, &v, &after, &stamp(1000, "wang"), &[]).unwrap();
        let (read, _) = read_venue_full(&d, "v1").unwrap();
        assert!(read.profile.gas_supplies.is_empty(), "{:?}", read.profile);
        assert_eq!(read.profile.dept_required_exits, None);
        assert_eq!(read.profile.gas_supply, "lpg", "the rest as it was");
    }

    #[test]
    fn the_later_edit_wins_on_every_replica_and_the_other_stays_visible() {
        let v = venue();
        let base = new_venue_doc(&ActorId::random(), &v).unwrap();
        let phone = |actor: ActorId, by: &str, ms: i64, value: &str| {
            let mut d = base.clone().with_actor(actor);
            let mut after = v.clone();
            after.responsible.phone = value.into();
            write_edit(&mut d, &v, &after, &stamp(ms, by), &[]).unwrap();
            d
        };
        // The office at 10:00, the grid worker at 10:01 — whatever automerge's own order.
        for (office_actor, worker_actor) in [
            (ActorId::from([0xffu8; 16]), ActorId::from([0x01u8; 16])),
            (ActorId::from([0x01u8; 16]), ActorId::from([0xffu8; 16])),
        ] {
            let mut a = phone(office_actor, "office", 1000, "021-1111");
            let mut b = phone(worker_actor, "wang", 2000, "138-2222");
            a.merge(&mut b).unwrap();
            b.merge(&mut a.clone()).unwrap();
            for d in [&a, &b] {
                let (v, conflicts) = read_venue_full(d, "v1").unwrap();
                assert_eq!(v.responsible.phone, "138-2222");
                assert_eq!(conflicts.len(), 1);
                assert_eq!(conflicts[0].field, "responsible.phone");
                assert_eq!(conflicts[0].kept.by, "wang");
                assert_eq!(conflicts[0].others[0].value, "021-1111");
                assert_eq!(conflicts[0].others[0].by, "office");
            }
            // Resolving (choosing the office's number) is an edit like any other: gone everywhere.
            let now = read_venue_full(&a, "v1").unwrap().0;
            let mut chosen = now.clone();
            chosen.responsible.phone = "021-1111".into();
            write_edit(
                &mut a,
                &now,
                &chosen,
                &stamp(3000, "office"),
                &["responsible.phone".into()],
            )
            .unwrap();
            b.merge(&mut a).unwrap();
            let (v, conflicts) = read_venue_full(&b, "v1").unwrap();
            assert_eq!(v.responsible.phone, "021-1111");
            assert!(conflicts.is_empty());
        }
    }

    #[test]
    fn an_old_record_reads_and_merges_with_a_stamped_edit() {
        // Schema 1: values only, no stamps (clock 0): any new edit wins.
        let v = venue();
        let mut old = new_venue_doc(&ActorId::random(), &v).unwrap();
        old.put(ROOT, "schema", 1_u64).unwrap();
        let mut legacy = old.clone().with_actor(ActorId::random());
        let mut renamed = v.clone();
        renamed.name = "王记".into();
        autosurgeon::reconcile_prop(&mut legacy, ROOT, "venue", &renamed).unwrap();
        let mut new = old.clone().with_actor(ActorId::random());
        let mut moved = v.clone();
        moved.name = "王家饭店".into();
        write_edit(&mut new, &v, &moved, &stamp(5, "wang"), &[]).unwrap();
        new.merge(&mut legacy).unwrap();
        let (read, conflicts) = read_venue_full(&new, "v1").unwrap();
        assert_eq!(
            read.name, "王家饭店",
            "a stamped edit beats an unstamped one"
        );
        assert_eq!(conflicts[0].others[0].value, "王记");
    }
}
