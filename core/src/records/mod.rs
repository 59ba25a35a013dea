//! Records as automerge documents: one per venue, inspection and hazard, mapped with autosurgeon.
//!
//! Every document carries `schema` and `kind` at its root. Lists that several replicas append to
//! (answers, photos, lifecycle events) are created together with the document, so concurrent
//! appends always land in the same list object. Photos are never inside documents: only their
//! SHA-256 and metadata are.

mod hazard;

pub use hazard::{
    EventKey, EventRecord, HazardHeader, HazardReferral, StoredEvent, append_event, new_hazard_doc,
    read_hazard, read_hazard_keyed,
};

mod chunks;
pub mod venue_fields;

pub use chunks::{CHUNK_CHANGE, CHUNK_COMPRESSED_CHANGE, CHUNK_DOCUMENT, check_chunks, untrusted};

use std::collections::BTreeMap;

use automerge::{ActorId, AutoCommit, ROOT, ReadDoc, Value};
use autosurgeon::{Hydrate, Reconcile, hydrate_prop, reconcile, reconcile_insert, reconcile_prop};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::eval::FieldValue;
use crate::profile::VenueProfile;

/// Schema version written into every document. Readers refuse documents from a newer schema.
/// The newest record layout this build reads and writes. 2: venue fields carry the stamp of their
/// last edit (see [`venue_fields`]); a build that reads 1 refuses 2 politely ("update the app").
pub const SCHEMA: u64 = 2;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocKind {
    Venue,
    Inspection,
    Hazard,
    /// A public report (12345, 随申拍) for the grid worker to verify on site (查实).
    Task,
}

impl DocKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DocKind::Venue => "venue",
            DocKind::Inspection => "inspection",
            DocKind::Hazard => "hazard",
            DocKind::Task => "task",
        }
    }
    pub fn parse(s: &str) -> Option<DocKind> {
        match s {
            "venue" => Some(DocKind::Venue),
            "inspection" => Some(DocKind::Inspection),
            "hazard" => Some(DocKind::Hazard),
            "task" => Some(DocKind::Task),
            _ => None,
        }
    }
}

/// 主要负责人 / 实际控制人.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
#[serde(default, deny_unknown_fields)]
pub struct Responsible {
    pub name: String,
    pub phone: String,
    /// Last four characters of the ID card only: the phone never holds the full number.
    pub id_last4: String,
}

/// 场所档案.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct Venue {
    pub id: String,
    pub name: String,
    pub address: String,
    pub village: String,
    pub grid_id: String,
    pub profile: VenueProfile,
    pub responsible: Responsible,
    pub created_at: String,
    pub created_by: String,
    pub archived: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
struct VenueRoot {
    schema: u64,
    kind: String,
    venue: Venue,
}

/// 检查记录: what does not change after the start.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct InspectionHeader {
    pub id: String,
    pub venue_id: String,
    pub venue_name: String,
    pub village: String,
    pub grid_id: String,
    pub template_id: String,
    pub template_version: String,
    pub template_hash: String,
    pub inspector: String,
    pub started_at: String,
    pub started_ms: i64,
    /// The venue profile as it was at the start, so the evaluation is reproducible.
    pub profile: VenueProfile,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct AnswerRecord {
    pub na: bool,
    pub fields: BTreeMap<String, FieldValue>,
    pub at: String,
    pub by: String,
}

/// A photo referenced from a record. The bytes live in the blob store, keyed by `sha256`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct PhotoRef {
    pub sha256: String,
    pub item_id: Option<String>,
    /// before / after / document / signature
    pub role: String,
    pub size: u64,
    pub mime: String,
    pub captured_at: String,
    pub taken_by: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    /// Evidence pipeline output (absent for photos recorded before it existed).
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub thumb_sha256: Option<String>,
    pub thumb_size: Option<u64>,
    /// The camera original, kept or dropped by policy; its hash is recorded either way.
    pub original_sha256: Option<String>,
    pub original_size: Option<u64>,
    /// exif / app / none
    pub gps_source: Option<String>,
    pub camera: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct Finish {
    pub at: String,
    pub by: String,
    /// item id → outcome code (pass, fail, na, info).
    pub results: BTreeMap<String, String>,
    pub hazard_ids: Vec<String>,
    /// Tamper evidence sealed at finishing.
    pub manifest: Option<Manifest>,
}

/// Hashes sealed when an inspection is finished: one per answer and one per photo, and a root over
/// them, the inspection id and the template hash. Any later change to an answer or to a photo's
/// bytes no longer matches.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct Manifest {
    pub root: String,
    /// item id → SHA-256 of the answer's canonical JSON.
    pub answers: BTreeMap<String, String>,
    /// `evidence:thumbnail:original:item:role` per photo, in attach order.
    pub photos: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct Inspection {
    pub header: InspectionHeader,
    pub answers: BTreeMap<String, AnswerRecord>,
    pub photos: Vec<PhotoRef>,
    pub finish: Option<Finish>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
struct InspectionRoot {
    schema: u64,
    kind: String,
    inspection: Inspection,
}

fn doc_err(id: &str, reason: impl Into<String>) -> Error {
    Error::Document {
        id: id.to_owned(),
        reason: reason.into(),
    }
}

pub fn new_doc(actor: &ActorId) -> AutoCommit {
    AutoCommit::new().with_actor(actor.clone())
}

/// Reads and checks `schema` and `kind`.
pub fn doc_kind(doc: &AutoCommit, id: &str) -> Result<DocKind> {
    let schema: Option<u64> = hydrate_prop(doc, ROOT, "schema")
        .map_err(|e| doc_err(id, format!("no schema version: {e}")))?;
    let schema = schema.ok_or_else(|| doc_err(id, "not a GridSafe record (no schema version)"))?;
    if schema > SCHEMA {
        return Err(doc_err(
            id,
            format!(
                "schema {schema} is newer than this build understands ({SCHEMA}); update the app"
            ),
        ));
    }
    let kind: Option<String> =
        hydrate_prop(doc, ROOT, "kind").map_err(|e| doc_err(id, e.to_string()))?;
    kind.as_deref()
        .and_then(DocKind::parse)
        .ok_or_else(|| doc_err(id, format!("unknown record kind {kind:?}")))
}

fn expect_kind(doc: &AutoCommit, id: &str, kind: DocKind) -> Result<()> {
    let k = doc_kind(doc, id)?;
    if k != kind {
        return Err(doc_err(
            id,
            format!("is a {} record, not a {}", k.as_str(), kind.as_str()),
        ));
    }
    Ok(())
}

pub fn new_venue_doc(actor: &ActorId, venue: &Venue) -> Result<AutoCommit> {
    let mut doc = new_doc(actor);
    reconcile(
        &mut doc,
        VenueRoot {
            schema: SCHEMA,
            kind: "venue".into(),
            venue: venue.clone(),
        },
    )?;
    // Made with the record, so every later edit stamps into the same map.
    use automerge::transaction::Transactable;
    doc.put_object(ROOT, "stamps", automerge::ObjType::Map)?;
    doc.put_object(ROOT, "moves", automerge::ObjType::List)?;
    Ok(doc)
}

/// A document as JSON, in one pass over it (automerge's `hydrate`): maps by key, lists, text and
/// scalars. Where a key has concurrent values, the winner, as `get` returns it.
fn doc_json(v: &automerge::hydrate::Value) -> serde_json::Value {
    use automerge::ScalarValue as S;
    use automerge::hydrate::Value as H;
    match v {
        H::Map(m) => serde_json::Value::Object(
            m.iter()
                .map(|(k, mv)| (k.clone(), doc_json(&mv.value)))
                .collect(),
        ),
        H::List(l) => serde_json::Value::Array(l.iter().map(|lv| doc_json(&lv.value)).collect()),
        H::Text(t) => serde_json::Value::String(t.to_string()),
        H::Scalar(s) => match s {
            S::Str(s) => serde_json::Value::String(s.to_string()),
            S::Int(i) => (*i).into(),
            S::Uint(u) => (*u).into(),
            S::F64(f) => serde_json::Number::from_f64(*f)
                .map_or(serde_json::Value::Null, serde_json::Value::Number),
            S::Counter(c) => i64::from(c).into(),
            S::Timestamp(t) => (*t).into(),
            S::Boolean(b) => (*b).into(),
            S::Null => serde_json::Value::Null,
            S::Bytes(_) | S::Unknown { .. } => serde_json::Value::Null,
        },
    }
}

/// Reads a whole record in one pass and deserialises it with serde: about twice as fast as
/// autosurgeon's lookup per field, which matters on the relay (every pushed record is read in
/// full) and in the phone's lists. Writing stays autosurgeon's; a test holds the two readers
/// equal on every record kind.
fn read_fast<T: serde::de::DeserializeOwned>(doc: &AutoCommit, id: &str) -> Result<T> {
    let v = doc
        .hydrate(ROOT, None)
        .map_err(|e| doc_err(id, e.to_string()))?;
    serde_path_to_error::deserialize(doc_json(&v)).map_err(|e| {
        doc_err(
            id,
            format!("malformed record at {}: {}", e.path(), e.inner()),
        )
    })
}

/// A venue with the later edit of every field kept (see [`venue_fields`]).
pub fn read_venue(doc: &AutoCommit, id: &str) -> Result<Venue> {
    Ok(read_venue_full(doc, id)?.0)
}

/// A venue, the conflicts still open on its fields, and its moves between grids.
pub fn read_venue_full(
    doc: &AutoCommit,
    id: &str,
) -> Result<(Venue, Vec<venue_fields::FieldConflict>)> {
    expect_kind(doc, id, DocKind::Venue)?;
    let base = read_fast::<VenueRoot>(doc, id)?.venue;
    venue_fields::read_resolved(doc, base)
}

/// A public report to verify on site: a 12345 hotline or 随申拍 ticket, or one entered at the
/// office, routed to the grid of its address.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct Task {
    pub id: String,
    pub ticket_no: String,
    /// 12345 / 随申拍 / other
    pub channel: String,
    pub received_at: String,
    pub address: String,
    pub description: String,
    /// The domain the report is about (routes the hazard's lead departments).
    pub category: String,
    pub village: String,
    pub grid_id: String,
    pub created_at: String,
    pub created_by: String,
    /// The grid worker's verdict, once checked on site.
    pub outcome: Option<TaskOutcome>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct TaskOutcome {
    pub at: String,
    pub by: String,
    /// 查实: a hazard was registered. Otherwise not substantiated, with the reason.
    pub substantiated: bool,
    pub reason: String,
    pub hazard_id: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
struct TaskRoot {
    schema: u64,
    kind: String,
    task: Task,
}

pub fn new_task_doc(actor: &ActorId, task: &Task) -> Result<AutoCommit> {
    let mut doc = new_doc(actor);
    reconcile(
        &mut doc,
        TaskRoot {
            schema: SCHEMA,
            kind: "task".into(),
            task: task.clone(),
        },
    )?;
    Ok(doc)
}

pub fn read_task(doc: &AutoCommit, id: &str) -> Result<Task> {
    expect_kind(doc, id, DocKind::Task)?;
    Ok(read_fast::<TaskRoot>(doc, id)?.task)
}

/// Records the verdict; a task is verified once (a second verdict is refused by the store).
pub fn put_task_outcome(doc: &mut AutoCommit, id: &str, outcome: &TaskOutcome) -> Result<()> {
    let task = obj(doc, &ROOT, "task", id)?;
    reconcile_prop(doc, &task, "outcome", Some(outcome))?;
    Ok(())
}

pub fn new_inspection_doc(actor: &ActorId, header: &InspectionHeader) -> Result<AutoCommit> {
    let mut doc = new_doc(actor);
    let inspection = Inspection {
        header: header.clone(),
        answers: BTreeMap::new(),
        photos: vec![],
        finish: None,
    };
    reconcile(
        &mut doc,
        InspectionRoot {
            schema: SCHEMA,
            kind: "inspection".into(),
            inspection,
        },
    )?;
    Ok(doc)
}

pub fn read_inspection(doc: &AutoCommit, id: &str) -> Result<Inspection> {
    expect_kind(doc, id, DocKind::Inspection)?;
    Ok(read_fast::<InspectionRoot>(doc, id)?.inspection)
}

fn obj(
    doc: &AutoCommit,
    parent: &automerge::ObjId,
    key: &str,
    id: &str,
) -> Result<automerge::ObjId> {
    match doc.get(parent, key)? {
        Some((Value::Object(_), o)) => Ok(o),
        _ => Err(doc_err(id, format!("missing {key}"))),
    }
}

pub fn put_answer(
    doc: &mut AutoCommit,
    id: &str,
    item_id: &str,
    answer: &AnswerRecord,
) -> Result<()> {
    let insp = obj(doc, &ROOT, "inspection", id)?;
    let answers = obj(doc, &insp, "answers", id)?;
    reconcile_prop(doc, &answers, item_id, answer)?;
    Ok(())
}

pub fn push_photo(doc: &mut AutoCommit, id: &str, photo: &PhotoRef) -> Result<()> {
    let insp = obj(doc, &ROOT, "inspection", id)?;
    let photos = obj(doc, &insp, "photos", id)?;
    let len = doc.length(&photos);
    reconcile_insert(doc, photos, len, photo)?;
    Ok(())
}

pub fn put_finish(doc: &mut AutoCommit, id: &str, finish: &Finish) -> Result<()> {
    let insp = obj(doc, &ROOT, "inspection", id)?;
    reconcile_prop(doc, &insp, "finish", Some(finish))?;
    Ok(())
}

/// The actor ids that wrote any change in the document.
pub fn actors_in(doc: &mut AutoCommit) -> Vec<String> {
    let mut a: Vec<String> = doc
        .get_changes(&[])
        .iter()
        .map(|c| c.actor_id().to_hex_string())
        .collect();
    a.sort();
    a.dedup();
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;

    fn photo(n: u32, full: bool) -> PhotoRef {
        PhotoRef {
            sha256: format!("{n:064x}"),
            item_id: full.then(|| "gas.hose".into()),
            role: "before".into(),
            size: 1234 + u64::from(n),
            mime: "image/jpeg".into(),
            captured_at: "2026-11-30T09:41:07+08:00".into(),
            taken_by: "wang".into(),
            lat: full.then_some(30.8312),
            lon: full.then_some(121.2004),
            width: full.then_some(1600),
            height: full.then_some(1200),
            thumb_sha256: full.then(|| format!("{:064x}", n + 1000)),
            thumb_size: full.then_some(9_876),
            original_sha256: None,
            original_size: full.then_some(4_000_000),
            gps_source: full.then(|| "exif".into()),
            camera: full.then(|| "Huawei Mate 60".into()),
        }
    }

    /// The one-pass reader and autosurgeon's reader agree on every kind of value a record holds,
    /// after concurrent edits too.
    #[test]
    fn one_pass_reader_equals_autosurgeon() {
        let a = ActorId::random();
        let profile = VenueProfile {
            venue_type: vec!["restaurant".into(), "shop".into()],
            floors_above_ground: 3,
            max_floor_area_m2: 120.5,
            building_height_m: 9.0,
            has_basement: true,
            uses_by_floor: "1F 餐饮; 2F 住人".into(),
            residents_count: Some(4),
            gas_supply: "lpg_cylinder".into(),
            ..Default::default()
        };
        let venue = Venue {
            id: "v1".into(),
            name: "老王饭店".into(),
            address: "吕巷镇和平村 12 号".into(),
            village: "heping".into(),
            grid_id: "heping-1".into(),
            profile: profile.clone(),
            responsible: Responsible {
                name: "王老板".into(),
                phone: "13800000000".into(),
                id_last4: "123X".into(),
            },
            created_at: "2026-11-30".into(),
            created_by: "wang".into(),
            archived: false,
        };
        let mut vdoc = new_venue_doc(&a, &venue).unwrap();
        let mut other = vdoc.fork().with_actor(ActorId::random());
        let stamp = |ms| venue_fields::Stamp {
            ms,
            counter: 0,
            by: "wang".into(),
        };
        venue_fields::write_edit(
            &mut vdoc,
            &venue,
            &Venue {
                name: "王记饭店".into(),
                ..venue.clone()
            },
            &stamp(1),
            &[],
        )
        .unwrap();
        venue_fields::write_edit(
            &mut other,
            &venue,
            &Venue {
                archived: true,
                ..venue.clone()
            },
            &stamp(2),
            &[],
        )
        .unwrap();
        vdoc.merge(&mut other).unwrap();
        let slow: Venue = hydrate_prop(&vdoc, ROOT, "venue").unwrap();
        assert_eq!(read_venue(&vdoc, "v1").unwrap(), slow);
        assert!(slow.archived && slow.name == "王记饭店");

        let header = InspectionHeader {
            id: "i1".into(),
            venue_id: "v1".into(),
            venue_name: "老王饭店".into(),
            village: "heping".into(),
            grid_id: "heping-1".into(),
            template_id: "lx.gas".into(),
            template_version: "2026.11-a".into(),
            template_hash: "ab".repeat(32),
            inspector: "wang".into(),
            started_at: "2026-11-30T09:00:00+08:00".into(),
            started_ms: 1_796_000_000_000,
            profile,
        };
        let mut doc = new_inspection_doc(&a, &header).unwrap();
        let fields = BTreeMap::from([
            ("yn".to_owned(), FieldValue::Yn("no".into())),
            ("number".to_owned(), FieldValue::Number(1.8)),
            ("whole".to_owned(), FieldValue::Number(2.0)),
            ("count".to_owned(), FieldValue::Count(-3)),
            ("choice".to_owned(), FieldValue::Choice("pipeline".into())),
            (
                "multi".to_owned(),
                FieldValue::Multi(vec!["a".into(), "b".into()]),
            ),
            ("empty".to_owned(), FieldValue::Multi(vec![])),
            (
                "text".to_owned(),
                FieldValue::Text("软管老化，长度 2.5 米".into()),
            ),
        ]);
        put_answer(
            &mut doc,
            "i1",
            "gas.hose",
            &AnswerRecord {
                na: false,
                fields,
                at: "t".into(),
                by: "wang".into(),
            },
        )
        .unwrap();
        put_answer(
            &mut doc,
            "i1",
            "gas.alarm",
            &AnswerRecord {
                na: true,
                fields: BTreeMap::new(),
                at: "t".into(),
                by: "wang".into(),
            },
        )
        .unwrap();
        let mut fork = doc.fork().with_actor(ActorId::random());
        push_photo(&mut doc, "i1", &photo(1, true)).unwrap();
        push_photo(&mut fork, "i1", &photo(2, false)).unwrap();
        doc.merge(&mut fork).unwrap();
        let finish = Finish {
            at: "t2".into(),
            by: "wang".into(),
            results: BTreeMap::from([
                ("gas.hose".into(), "fail".into()),
                ("gas.alarm".into(), "na".into()),
            ]),
            hazard_ids: vec!["h1".into()],
            manifest: Some(Manifest {
                root: "cd".repeat(32),
                answers: BTreeMap::from([("gas.hose".into(), "ef".repeat(32))]),
                photos: vec!["x:y:z:gas.hose:before".into()],
            }),
        };
        put_finish(&mut doc, "i1", &finish).unwrap();
        let slow: InspectionRoot = autosurgeon::hydrate(&doc).unwrap();
        let fast = read_inspection(&doc, "i1").unwrap();
        assert_eq!(fast, slow.inspection);
        assert_eq!(fast.photos.len(), 2);
        assert_eq!(
            fast.answers["gas.hose"].fields["whole"],
            FieldValue::Number(2.0)
        );
        // A field of the wrong type is refused by both readers, and named.
        let insp = obj(&doc, &ROOT, "inspection", "i1").unwrap();
        let h = obj(&doc, &insp, "header", "i1").unwrap();
        doc.put(&h, "started_ms", "yesterday").unwrap();
        assert!(autosurgeon::hydrate::<_, InspectionRoot>(&doc).is_err());
        assert!(
            read_inspection(&doc, "i1")
                .unwrap_err()
                .to_string()
                .contains("started_ms")
        );
    }

    fn header() -> HazardHeader {
        HazardHeader {
            id: "h1".into(),
            venue_id: "v1".into(),
            venue_name: "小店".into(),
            village: "v".into(),
            grid_id: "g".into(),
            inspection_id: None,
            template_id: "t".into(),
            template_version: "1".into(),
            item_id: "i".into(),
            domain: "gas".into(),
            title_zh: "题".into(),
            title_en: "T".into(),
            finding_zh: String::new(),
            finding_en: String::new(),
            basis_refs: vec![],
            basis_edition: BTreeMap::new(),
            severity_proposed: "general".into(),
            focus: false,
            combined_group: None,
            lead_depts: vec!["gjb".into()],
            source: "inspection".into(),
            ticket_no: None,
            fix_mode: "deadline".into(),
            deadline: None,
            recurrence_of: None,
            found_at: String::new(),
            found_ms: 0,
            found_by: "u".into(),
            photos: vec![],
            referral: None,
            order_zh: None,
            order_en: None,
            lifecycle: crate::hazard_state::RULES,
        }
    }

    fn ev(id: &str, kind: &str) -> EventRecord {
        EventRecord {
            id: id.into(),
            kind: kind.into(),
            ms: 1,
            counter: 0,
            reason: None,
            deadline: None,
            photo: None,
            inspection_id: None,
            text: None,
        }
    }

    #[test]
    fn event_authors_come_from_the_change_actor() {
        let a = ActorId::from(&[1u8; 16][..]);
        let b = ActorId::from(&[2u8; 16][..]);
        let mut doc = new_hazard_doc(&a, &header(), &ev("e1", "register")).unwrap();
        let mut other = doc.fork().with_actor(b.clone());
        append_event(&mut other, "h1", &ev("e2", "notify")).unwrap();
        doc.merge(&mut other).unwrap();
        let (_, events) = read_hazard(&doc, "h1").unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].actor, a.to_hex_string());
        assert_eq!(events[1].actor, b.to_hex_string());
        assert!(events.iter().all(|e| !e.tampered));

        // b rewrites a's registration event: detected.
        let events_obj = obj(&other, &ROOT, "events", "h1").unwrap();
        let Some((_, first)) = other.get(&events_obj, 0).unwrap() else {
            panic!()
        };
        other.put(&first, "kind", "close").unwrap();
        let (_, events) = read_hazard(&other, "h1").unwrap();
        assert!(events[0].tampered);
    }

    #[test]
    fn kinds_and_schema_are_checked() {
        let a = ActorId::random();
        let doc = new_hazard_doc(&a, &header(), &ev("e1", "register")).unwrap();
        assert!(
            read_venue(&doc, "h1")
                .unwrap_err()
                .to_string()
                .contains("not a venue")
        );
        let mut newer = doc.clone();
        newer.put(ROOT, "schema", SCHEMA + 1).unwrap();
        assert!(
            doc_kind(&newer, "h1")
                .unwrap_err()
                .to_string()
                .contains("newer")
        );
        let empty = AutoCommit::new();
        assert!(doc_kind(&empty, "x").is_err());
    }
}
