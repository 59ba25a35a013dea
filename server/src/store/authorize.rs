//! Who may write a checked record, decided at commit for every record however it arrived (a
//! phone's push, a dashboard action, an office import): the pusher's scope by the record's
//! venue's current grid and the departments of that venue's hazards (asked of core's `policy`),
//! a new hazard's header against its venue, inspection and checklist (core's `integrity`), the
//! length of every text, and photos bound to the records that reference them.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use gridsafe_core::directory::{Directory, User};
use gridsafe_core::integrity::{self, HazardContext};
use gridsafe_core::policy;
use gridsafe_core::records::{self, DocKind};
use gridsafe_core::store::split_list;
use gridsafe_core::template::Template;

use super::{Loaded, Prepared, Record, RelayError, RelayStore, Result};
use crate::db::Val;

/// Where a record is written in the `docs` table: what pulls and photo downloads are scoped by.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Scope {
    /// The grid of the record's venue now (a task's own grid).
    pub grid: String,
    /// A hazard's lead departments; for a venue and its inspections, the departments that lead
    /// a hazard at the venue.
    pub depts: Vec<String>,
    /// The record's venue (its own id for a venue; empty for a task).
    pub venue_id: String,
    /// Photos this record adds that records outside the pusher's scope already reference: the
    /// record is kept, but its reference gives access to the photo only once the pusher's device
    /// has sent the photo's bytes itself.
    pub ungranted: Vec<String>,
}

/// What authorising a batch needs from the relay, read under the lock in one go.
#[derive(Debug, Default)]
pub struct Context {
    venues: HashMap<String, records::Venue>,
    inspections: HashMap<String, records::Inspection>,
    /// venue id → departments leading a hazard there (stored and pushed).
    venue_depts: HashMap<String, HashSet<String>>,
    /// photo hash → the scopes of the stored records that reference it.
    photo_refs: HashMap<String, Vec<(DocKind, String, Vec<String>)>>,
    templates: Arc<HashMap<String, Arc<Template>>>,
    directory: Directory,
}

fn venue_of(r: &Record) -> Option<&str> {
    match r {
        Record::Venue(v) => Some(&v.id),
        Record::Inspection(i) => Some(&i.header.venue_id),
        Record::Hazard(h, _) => Some(&h.venue_id),
        Record::Task(_) => None,
    }
}

fn photos_added<'a>(p: &'a Prepared, before: Option<&Loaded>) -> Vec<&'a String> {
    let old: HashSet<&String> = before
        .map(|b| b.place.photos.iter().collect())
        .unwrap_or_default();
    p.loaded
        .place
        .photos
        .iter()
        .filter(|s| !old.contains(s))
        .collect()
}

impl RelayStore {
    /// Reads what [`authorize`] needs for `batch`: the venues and inspections the records name
    /// (from the batch itself, else from the relay), the departments of each venue's hazards,
    /// and who already references the photos the batch adds.
    pub(super) fn context(&mut self, batch: &[(&Prepared, Option<&Loaded>)]) -> Result<Context> {
        let mut cx = Context {
            templates: self.loaded_templates.clone(),
            directory: self.dir.clone().unwrap_or_default(),
            ..Context::default()
        };
        for (p, _) in batch {
            match &p.loaded.place.record {
                Record::Venue(v) => {
                    cx.venues.insert(v.id.clone(), (**v).clone());
                }
                Record::Inspection(i) => {
                    cx.inspections.insert(i.header.id.clone(), (**i).clone());
                }
                Record::Hazard(h, _) => {
                    cx.venue_depts
                        .entry(h.venue_id.clone())
                        .or_default()
                        .extend(h.lead_depts.iter().cloned());
                }
                Record::Task(_) => {}
            }
        }
        let mut venues = HashSet::new();
        let mut inspections = HashSet::new();
        let mut shas = Vec::new();
        for (p, before) in batch {
            let r = &p.loaded.place.record;
            if let Some(v) = venue_of(r) {
                venues.insert(v.to_owned());
            }
            if let (Record::Hazard(h, _), None) = (r, before)
                && let Some(i) = &h.inspection_id
            {
                inspections.insert(i.clone());
            }
            shas.extend(photos_added(p, *before).into_iter().cloned());
        }
        for id in venues
            .iter()
            .filter(|v| !cx.venues.contains_key(*v))
            .cloned()
            .collect::<Vec<_>>()
        {
            if gridsafe_core::store::check_id("venue", &id).is_ok()
                && let Some(l) = self.load(&id)?
                && let Record::Venue(v) = &l.place.record
            {
                cx.venues.insert(id, (**v).clone());
            }
        }
        for id in inspections
            .iter()
            .filter(|i| !cx.inspections.contains_key(*i))
            .cloned()
            .collect::<Vec<_>>()
        {
            if gridsafe_core::store::check_id("inspection", &id).is_ok()
                && let Some(l) = self.load(&id)?
                && let Record::Inspection(i) = &l.place.record
            {
                cx.inspections.insert(id, (**i).clone());
            }
        }
        let venue_ids: Vec<String> = venues.into_iter().collect();
        if !venue_ids.is_empty() {
            let rows = self.db().query(
                &format!(
                    "SELECT venue_id, depts FROM docs WHERE kind = 'hazard' AND venue_id IN ({})",
                    marks(venue_ids.len())
                ),
                &venue_ids.iter().map(Val::from).collect::<Vec<_>>(),
            )?;
            for r in rows {
                cx.venue_depts
                    .entry(r.text(0)?)
                    .or_default()
                    .extend(split_list(&r.text(1)?));
            }
        }
        if !shas.is_empty() {
            shas.sort();
            shas.dedup();
            let rows = self.db().query(
                &format!(
                    "SELECT b.sha256, d.kind, d.grid_id, d.depts FROM blob_refs b JOIN docs d ON d.id = b.doc_id WHERE b.sha256 IN ({})",
                    marks(shas.len())
                ),
                &shas.iter().map(Val::from).collect::<Vec<_>>(),
            )?;
            for r in rows {
                let kind = DocKind::parse(&r.text(1)?).unwrap_or(DocKind::Venue);
                cx.photo_refs.entry(r.text(0)?).or_default().push((
                    kind,
                    r.text(2)?,
                    split_list(&r.text(3)?),
                ));
            }
        }
        Ok(cx)
    }
}

impl RelayStore {
    /// Core's history rules for the changes `p` brings on top of `before`, with the relay's own
    /// clock (events more than ten minutes ahead of it are refused).
    pub(super) fn check_history(
        &self,
        p: &mut Prepared,
        before: Option<&Loaded>,
        cx: &Context,
    ) -> std::result::Result<(), gridsafe_core::error::Refusal> {
        let venue_grid = match &p.loaded.place.record {
            Record::Hazard(h, _) => cx.venues.get(&h.venue_id).map(|v| v.grid_id.clone()),
            _ => None,
        };
        let roster = gridsafe_core::directory::DirectoryRoster {
            directory: &cx.directory,
            actors: &self.actors,
            venue_grid: venue_grid.as_deref(),
        };
        let changes: Vec<automerge::Change> = p
            .changes
            .iter()
            .filter_map(|(_, raw)| automerge::Change::from_bytes(raw.clone()).ok())
            .collect();
        integrity::check_update(
            &p.doc_id,
            before.map(|b| &b.doc),
            &mut p.loaded.doc,
            &changes,
            integrity::UpdateContext {
                roster: &roster,
                now_ms: Some(gridsafe_core::clock::now_ms()),
                authors_known: true,
            },
        )
    }

    /// Keeps a refused change's bytes with the reason, for the office's device page: evidence of
    /// what a phone tried, never applied.
    pub(super) fn set_aside(
        &mut self,
        device: &super::Device,
        p: &Prepared,
        why: &gridsafe_core::error::Refusal,
    ) -> Result<()> {
        let reason = why.to_string();
        for (hash, raw) in &p.changes {
            self.db().exec(
                "INSERT INTO refused_changes (hash, doc_id, device_id, reason, reason_zh, received_ms, bytes) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (hash) DO NOTHING",
                crate::vals![hash, &p.doc_id, &device.id, &reason, &why.zh, gridsafe_core::clock::now_ms(), &raw[..]],
            )?;
        }
        Ok(())
    }
}

/// The venue as the pushing phone had it: the pushed changes' dependencies outside the push.
fn base_venue(p: &Prepared) -> Option<gridsafe_core::records::Venue> {
    let changes: Vec<automerge::Change> = p
        .changes
        .iter()
        .filter_map(|(_, raw)| automerge::Change::from_bytes(raw.clone()).ok())
        .collect();
    let pushed: std::collections::HashSet<automerge::ChangeHash> =
        changes.iter().map(|c| c.hash()).collect();
    let mut base: Vec<automerge::ChangeHash> = changes
        .iter()
        .flat_map(|c| c.deps().iter().copied())
        .filter(|d| !pushed.contains(d))
        .collect();
    base.sort();
    base.dedup();
    let mut doc = p.loaded.doc.clone();
    let past = doc.fork_at(&base).ok()?;
    gridsafe_core::records::read_venue(&past, &p.doc_id).ok()
}

fn marks(n: usize) -> String {
    (1..=n)
        .map(|i| format!("?{i}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn forbidden(msg: String) -> RelayError {
    RelayError::Forbidden(msg)
}

/// Decides whether `user` may write `p` on top of `before`, and where it is written. The refusal
/// names the record and the reason; nothing is changed by this.
pub fn authorize(
    user: &User,
    p: &Prepared,
    before: Option<&Loaded>,
    cx: &Context,
) -> Result<Scope> {
    let place = &p.loaded.place;
    let id = &p.doc_id;
    let depts_at = |venue: &str| -> Vec<String> {
        let mut d: Vec<String> = cx
            .venue_depts
            .get(venue)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default();
        d.sort();
        d
    };
    let scope = match &place.record {
        Record::Venue(v) => Scope {
            grid: v.grid_id.clone(),
            depts: depts_at(&v.id),
            venue_id: v.id.clone(),
            ungranted: vec![],
        },
        Record::Inspection(i) => {
            let venue = cx.venues.get(&i.header.venue_id).ok_or_else(|| {
                RelayError::BadRequest(format!(
                    "the venue {} of inspection {id} is not on the relay; sync the venue first",
                    i.header.venue_id
                ))
            })?;
            Scope {
                grid: venue.grid_id.clone(),
                depts: depts_at(&venue.id),
                venue_id: venue.id.clone(),
                ungranted: vec![],
            }
        }
        Record::Hazard(h, _) => Scope {
            grid: cx
                .venues
                .get(&h.venue_id)
                .map_or_else(|| h.grid_id.clone(), |v| v.grid_id.clone()),
            depts: h.lead_depts.clone(),
            venue_id: h.venue_id.clone(),
            ungranted: vec![],
        },
        Record::Task(t) => Scope {
            grid: t.grid_id.clone(),
            depts: vec![],
            venue_id: String::new(),
            ungranted: vec![],
        },
    };
    // An edit written offline before the venue moved away: judged where its author stood (the
    // venue as the author's phone had it), as long as it does not move the venue itself.
    let written_in_scope = match (&place.record, before) {
        (Record::Venue(now), Some(b)) => match (&b.place.record, base_venue(p)) {
            (Record::Venue(was), Some(base)) => {
                now.grid_id == was.grid_id
                    && base.grid_id != was.grid_id
                    && policy::may_write_record(
                        user,
                        place.kind,
                        &base.grid_id,
                        &depts_at(&base.id),
                    )
            }
            _ => false,
        },
        _ => false,
    };
    if let Some(b) = before
        && !written_in_scope
    {
        // Where the record was: a venue moving to another grid must have been the mover's too.
        let was = match &b.place.record {
            Record::Venue(v) => (v.grid_id.clone(), depts_at(&v.id)),
            _ => (scope.grid.clone(), scope.depts.clone()),
        };
        if !policy::may_write_record(user, b.place.kind, &was.0, &was.1) {
            return Err(forbidden(format!(
                "record {id} is outside {}'s scope",
                user.id
            )));
        }
    }
    // A move: only the grid worker of the grid it leaves or the town office (a worker hands a
    // venue to a neighbour whose grid is not theirs).
    let moved_from = match (&place.record, before.map(|b| &b.place.record)) {
        (Record::Venue(now), Some(Record::Venue(was))) if now.grid_id != was.grid_id => {
            Some(was.grid_id.clone())
        }
        _ => None,
    };
    if let Some(from) = &moved_from {
        policy::check_move_venue(user, from).map_err(forbidden)?;
    }
    if !written_in_scope
        && moved_from.is_none()
        && !policy::may_write_record(user, place.kind, &scope.grid, &scope.depts)
    {
        return Err(forbidden(format!(
            "record {id} ({}) is outside {}'s scope",
            scope.grid, user.id
        )));
    }
    let unchanged = before.is_some_and(|b| b.heads == p.loaded.heads);
    if !unchanged {
        let json = match &place.record {
            Record::Venue(v) => serde_json::to_value(v),
            Record::Inspection(i) => serde_json::to_value(i),
            Record::Hazard(h, evs) => {
                serde_json::to_value((h, evs.iter().map(|e| &e.record).collect::<Vec<_>>()))
            }
            Record::Task(t) => serde_json::to_value(t),
        }
        .map_err(|e| RelayError::Storage(e.to_string()))?;
        gridsafe_core::limits::check_all(&json).map_err(|e| match e {
            gridsafe_core::Error::Invalid(m) => RelayError::BadRequest(format!("record {id}: {m}")),
            e => RelayError::from(e),
        })?;
    }
    if let (Record::Hazard(h, _), None) = (&place.record, before) {
        let template = cx
            .templates
            .get(&format!("{}@{}", h.template_id, h.template_version))
            .map(|t| &**t);
        let hc = HazardContext {
            author: user,
            venue: cx.venues.get(&h.venue_id),
            inspection: h.inspection_id.as_ref().and_then(|i| cx.inspections.get(i)),
            template,
            directory: &cx.directory,
        };
        integrity::check_new_hazard(h, hc)
            .map_err(|r| RelayError::Refused(format!("hazard {id}: {r}")))?;
    }
    let mut scope = scope;
    for sha in photos_added(p, before) {
        if let Some(refs) = cx.photo_refs.get(sha)
            && !refs
                .iter()
                .any(|(k, g, d)| policy::may_write_record(user, *k, g, d))
        {
            scope.ungranted.push(sha.clone());
        }
    }
    Ok(scope)
}
