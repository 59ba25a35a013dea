//! Hazard documents: the immutable header and the append-only list of lifecycle events, read back
//! with the actor that created each event.

use super::*;
use crate::error::Result;
use automerge::{ActorId, AutoCommit, ObjType, ROOT, ReadDoc, Value};
use autosurgeon::{Hydrate, Reconcile, hydrate_prop, reconcile, reconcile_insert};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// 隐患: the registration data. Never edited after creation; everything that changes is an event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct HazardHeader {
    pub id: String,
    pub venue_id: String,
    pub venue_name: String,
    pub village: String,
    pub grid_id: String,
    pub inspection_id: Option<String>,
    pub template_id: String,
    pub template_version: String,
    pub item_id: String,
    pub domain: String,
    pub title_zh: String,
    pub title_en: String,
    pub finding_zh: String,
    pub finding_en: String,
    pub basis_refs: Vec<String>,
    pub basis_edition: BTreeMap<String, String>,
    /// general / major_candidate
    pub severity_proposed: String,
    pub focus: bool,
    pub combined_group: Option<String>,
    pub lead_depts: Vec<String>,
    /// inspection / self_report / public_report / referral
    pub source: String,
    pub ticket_no: Option<String>,
    /// on_spot / deadline
    pub fix_mode: String,
    /// Default deadline (YYYY-MM-DD) from the item; a notice or reviewer may change it.
    pub deadline: Option<String>,
    pub recurrence_of: Option<String>,
    pub found_at: String,
    pub found_ms: i64,
    pub found_by: String,
    /// Before photos.
    pub photos: Vec<PhotoRef>,
    /// Another party the finding refers to a department (a gas supplier to 规建办), from
    /// checklists of December 2026 on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[autosurgeon(missing = "Default::default")]
    pub referral: Option<HazardReferral>,
    /// What the rectification order demands at once ("立即撤出住宿人员").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[autosurgeon(missing = "Default::default")]
    pub order_zh: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[autosurgeon(missing = "Default::default")]
    pub order_en: Option<String>,
    /// Which lifecycle rules this hazard follows (see [`crate::lifecycle::RULES`]): hazards
    /// registered before a rule change keep the rules they were registered under, so their
    /// history folds as it always did. Absent on older records: 1.
    #[serde(default = "first_rules")]
    #[autosurgeon(missing = "first_rules")]
    pub lifecycle: u32,
}

fn first_rules() -> u32 {
    1
}

/// A referral registered with a hazard: to which department, how serious there, and what.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct HazardReferral {
    pub dept: String,
    /// general / major_candidate
    pub severity: String,
    pub zh: String,
    pub en: String,
}

/// A lifecycle event as stored. Who wrote it is not a field: it is the actor of the change that
/// created the event object.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct EventRecord {
    pub id: String,
    pub kind: String,
    /// Hybrid logical clock: wall milliseconds and counter.
    pub ms: i64,
    pub counter: u32,
    pub reason: Option<String>,
    pub deadline: Option<String>,
    pub photo: Option<String>,
    pub inspection_id: Option<String>,
    pub text: Option<String>,
}

/// An event with its provenance, read back from a document.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredEvent {
    pub record: EventRecord,
    /// Hex actor id of the change that created the event.
    pub actor: String,
    /// True when any field of the event was written by another actor than its creator.
    pub tampered: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub(crate) struct HazardRoot {
    schema: u64,
    kind: String,
    hazard: HazardHeader,
    events: Vec<EventRecord>,
}

/// A new hazard document holding its header and its first event (registration), in one change.
pub fn new_hazard_doc(
    actor: &ActorId,
    header: &HazardHeader,
    register: &EventRecord,
) -> Result<AutoCommit> {
    let mut doc = new_doc(actor);
    reconcile(
        &mut doc,
        HazardRoot {
            schema: SCHEMA,
            kind: "hazard".into(),
            hazard: header.clone(),
            events: vec![register.clone()],
        },
    )?;
    Ok(doc)
}

pub fn append_event(doc: &mut AutoCommit, id: &str, ev: &EventRecord) -> Result<()> {
    let events = obj(doc, &ROOT, "events", id)?;
    let len = doc.length(&events);
    reconcile_insert(doc, events, len, ev)?;
    Ok(())
}

pub(crate) fn actor_of(id: &automerge::ObjId) -> Option<String> {
    match id {
        automerge::ObjId::Id(_, actor, _) => Some(actor.to_hex_string()),
        automerge::ObjId::Root => None,
    }
}

/// Which object holds an event: the operation that created it (counter and actor). Stable across
/// replicas, so two versions of a hazard can be compared event by event.
pub type EventKey = (u64, String);

/// Reads the header and every event with the actor that created it.
pub fn read_hazard(doc: &AutoCommit, id: &str) -> Result<(HazardHeader, Vec<StoredEvent>)> {
    let (header, events) = read_hazard_keyed(doc, id)?;
    Ok((header, events.into_iter().map(|(_, e)| e).collect()))
}

/// [`read_hazard`], each event with the key of the object that holds it.
pub fn read_hazard_keyed(
    doc: &AutoCommit,
    id: &str,
) -> Result<(HazardHeader, Vec<(EventKey, StoredEvent)>)> {
    expect_kind(doc, id, DocKind::Hazard)?;
    let header: HazardHeader = hydrate_prop(doc, ROOT, "hazard")?;
    let events = obj(doc, &ROOT, "events", id)?;
    let n = doc.length(&events);
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let Some((Value::Object(ObjType::Map), ev_obj)) = doc.get(&events, i)? else {
            return Err(doc_err(id, format!("event {i} is not a map")));
        };
        let record: EventRecord = hydrate_prop(doc, &events, i)?;
        let actor = actor_of(&ev_obj).unwrap_or_default();
        let key = match &ev_obj {
            automerge::ObjId::Id(counter, _, _) => (*counter, actor.clone()),
            automerge::ObjId::Root => (0, String::new()),
        };
        // Any value of any field written by someone else marks the event as tampered with.
        let mut tampered = false;
        for k in doc.keys(&ev_obj) {
            for (_, vid) in doc.get_all(&ev_obj, k.as_str())? {
                if actor_of(&vid).is_some_and(|a| a != actor) {
                    tampered = true;
                }
            }
        }
        out.push((
            key,
            StoredEvent {
                record,
                actor,
                tampered,
            },
        ));
    }
    Ok((header, out))
}
