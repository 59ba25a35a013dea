//! Checking a phone's pushed changes for one record, without storing anything: the chunks, the
//! actors bound to the device, the record's shape, its scope, and what may never change.

use automerge::{AutoCommit, Change};
use gridsafe_core::records::{self, DocKind};
use gridsafe_core::sync::{Acked, DocChanges, Refused, TemplateFile};

use super::{RelayError, Result, Scope, heads_of};
use serde_bytes::ByteBuf;

use super::Device;

/// Where a record belongs and what it references: what routing and authorisation need. Read
/// with one full hydration of the record, which is also the shape check (a record the phones
/// could not read is refused here, not discovered on every phone).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Placement {
    pub(crate) kind: DocKind,
    pub(crate) grid: String,
    /// Lead departments (hazards only).
    pub(crate) depts: Vec<String>,
    /// Every photo hash the record references (all variants), for download authorisation.
    pub(crate) photos: Vec<String>,
    /// The record as read, for the projections.
    pub(crate) record: Record,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Record {
    Venue(Box<records::Venue>),
    Inspection(Box<records::Inspection>),
    Hazard(Box<records::HazardHeader>, Vec<records::StoredEvent>),
    Task(Box<records::Task>),
}

pub(super) fn place(doc: &AutoCommit, id: &str) -> Result<Placement> {
    let kind = records::doc_kind(doc, id)?;
    let mut photos = Vec::new();
    let mut push = |p: &records::PhotoRef| {
        photos.push(p.sha256.clone());
        photos.extend(p.thumb_sha256.clone());
        photos.extend(p.original_sha256.clone());
    };
    let (inner, grid, depts, record) = match kind {
        DocKind::Venue => {
            let v = records::read_venue(doc, id)?;
            (
                v.id.clone(),
                v.grid_id.clone(),
                vec![],
                Record::Venue(Box::new(v)),
            )
        }
        DocKind::Inspection => {
            let i = records::read_inspection(doc, id)?;
            i.photos.iter().for_each(&mut push);
            (
                i.header.id.clone(),
                i.header.grid_id.clone(),
                vec![],
                Record::Inspection(Box::new(i)),
            )
        }
        DocKind::Hazard => {
            let (h, evs) = records::read_hazard(doc, id)?;
            h.photos.iter().for_each(&mut push);
            photos.extend(evs.iter().filter_map(|e| e.record.photo.clone()));
            (
                h.id.clone(),
                h.grid_id.clone(),
                h.lead_depts.clone(),
                Record::Hazard(Box::new(h), evs),
            )
        }
        DocKind::Task => {
            let t = records::read_task(doc, id)?;
            (
                t.id.clone(),
                t.grid_id.clone(),
                vec![],
                Record::Task(Box::new(t)),
            )
        }
    };
    if inner != id {
        return Err(RelayError::BadRequest(format!(
            "record {id} holds record {inner}"
        )));
    }
    Ok(Placement {
        kind,
        grid,
        depts,
        photos,
        record,
    })
}

/// A record as the relay holds it. Shared read-only between requests; a request that changes it
/// works on its own copy.
#[derive(Debug)]
pub struct Loaded {
    pub(crate) doc: AutoCommit,
    pub(crate) place: Placement,
    /// Sorted hex heads, joined by commas (as in the `docs` table).
    pub(crate) heads: String,
}

/// A record whose pushed changes passed every check, ready to be written.
#[derive(Debug)]
pub struct Prepared {
    pub(crate) doc_id: String,
    /// The heads it was checked against (`None`: the relay did not have the record).
    pub(crate) based_on: Option<String>,
    pub(crate) changes: Vec<(String, Vec<u8>)>,
    pub(crate) loaded: Loaded,
    /// Where it is written, decided by [`super::authorize::authorize`] at commit.
    pub(crate) scope: Scope,
}

/// What a commit answers: the records written and refused, and what the phone lacks of the
/// directory and templates.
#[derive(Debug)]
pub struct Committed {
    pub accepted: Vec<Acked>,
    pub refused: Vec<Refused>,
    pub directory: Option<ByteBuf>,
    pub templates: Vec<TemplateFile>,
}

/// Checks one record's pushed changes against the device (every change's actor bound to it), the
/// automerge bytes, the record's shape and what may never change, on top of `before` (the
/// relay's version). Pure: nothing is stored here. Who may write the record is decided at
/// commit ([`super::authorize`]), against what the relay holds then.
pub fn check(device: &Device, d: &DocChanges, before: Option<&Loaded>) -> Result<Prepared> {
    gridsafe_core::store::check_id("record", &d.doc_id)?;
    let changes = d
        .changes
        .iter()
        .map(|c| {
            records::check_chunks(
                &d.doc_id,
                c,
                &[records::CHUNK_CHANGE, records::CHUNK_COMPRESSED_CHANGE],
            )
            .map_err(|e| RelayError::BadRequest(e.to_string()))?;
            records::untrusted(&d.doc_id, || Change::from_bytes(c.to_vec()))
                .map_err(|e| RelayError::BadRequest(e.to_string()))?
                .map_err(|e| RelayError::BadRequest(format!("not an automerge change: {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    for c in &changes {
        let actor = c.actor_id().to_hex_string();
        if !device.actors.contains(&actor) {
            return Err(RelayError::Forbidden(format!(
                "change {} carries actor {actor}, which is not bound to this device",
                c.hash()
            )));
        }
    }
    let hashes: Vec<String> = changes.iter().map(|c| c.hash().to_string()).collect();
    let mut doc = before.map(|b| b.doc.clone()).unwrap_or_default();
    records::untrusted(&d.doc_id, || doc.apply_changes(changes))
        .map_err(|e| RelayError::BadRequest(e.to_string()))?
        .map_err(|e| RelayError::BadRequest(format!("changes do not apply: {e}")))?;
    if !doc.get_missing_deps(&[]).is_empty() {
        return Err(RelayError::BadRequest(
            "changes depend on history the relay does not have; push the earlier changes first"
                .into(),
        ));
    }
    let heads = heads_of(&mut doc);
    let place = match before {
        // Nothing new (a replay): the stored reading stands.
        Some(b) if b.heads == heads => b.place.clone(),
        _ => place(&doc, &d.doc_id)?,
    };
    if let Some(b) = before
        && b.place.kind != place.kind
    {
        return Err(RelayError::BadRequest(
            "the change would alter the record's kind".into(),
        ));
    }
    let changes = hashes
        .into_iter()
        .zip(&d.changes)
        .map(|(h, raw)| (h, raw.to_vec()))
        .collect();
    Ok(Prepared {
        doc_id: d.doc_id.clone(),
        based_on: before.map(|b| b.heads.clone()),
        changes,
        loaded: Loaded { doc, place, heads },
        scope: Scope::default(),
    })
}

/// Lead departments as the `docs` table keeps them: ",cyzx,pcs," ("" for none), so a scope
/// test is one LIKE.
pub(super) fn depts_text(depts: &[String]) -> String {
    if depts.is_empty() {
        String::new()
    } else {
        format!(",{},", depts.join(","))
    }
}
