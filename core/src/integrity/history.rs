//! Every change to a record keeps its history: events appended only, each allowed where its author
//! stood, no clock from the future, sealed inspections sealed.

use super::*;
use crate::directory::Roster;
use crate::error::Refusal;
use crate::lifecycle::fold;
use crate::records::{self as records, DocKind, EventKey, StoredEvent};
use automerge::{AutoCommit, Change};
use std::collections::{BTreeMap, HashMap, HashSet};

/// How far ahead of the clock of whoever receives it an event's time may be. Phones' clocks
/// drift and are set by hand; ten minutes covers drift, not a clock set to another day.
pub const CLOCK_BOUND_MS: i64 = 10 * 60_000;

/// What a batch of changes to a record is checked against where it arrives.
#[derive(Clone, Copy)]
pub struct UpdateContext<'a> {
    /// Who wrote what: actor → user, and roles and scopes.
    pub roster: &'a dyn Roster,
    /// The receiver's clock (milliseconds since the epoch) when events from the future are to be
    /// refused (the relay); `None` where they are merged but not believed (a phone: the relay
    /// checked them against its clock, and the phone's own may be the wrong one).
    pub now_ms: Option<i64>,
    /// Whether every author is known (the relay, which bound each actor to a device). A phone
    /// may not know an author yet: it merges such events, and the fold applies them once the
    /// relay has told it who wrote them.
    pub authors_known: bool,
}

impl std::fmt::Debug for UpdateContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpdateContext")
            .field("now_ms", &self.now_ms)
            .finish_non_exhaustive()
    }
}

pub(crate) fn refused(code: &str, zh: &str, en: String) -> Refusal {
    refuse(code, zh.to_owned(), en)
}

/// Checks what `changes` did to record `id`, turning `before` (`None`: a record this replica did
/// not have) into `after`, on a relay or a phone receiving them:
/// - a hazard's header never changes, and its events are appended only: none deleted, reordered
///   or modified, none written by another actor than its creator; each new event is one the
///   lifecycle rules allowed in the state its author saw (the change's causal past), and its time
///   is not more than [`CLOCK_BOUND_MS`] ahead of the receiver's clock;
/// - an inspection's header never changes, and once sealed, neither do its answers, photos and
///   seal;
/// - a public report's verdict, once given, stays.
///
/// Histories that break these are refused whole; nothing of them is applied.
pub fn check_update(
    id: &str,
    before: Option<&AutoCommit>,
    after: &mut AutoCommit,
    changes: &[Change],
    cx: UpdateContext<'_>,
) -> Result<(), Refusal> {
    let bad = |e: crate::error::Error| {
        refused(
            "malformed",
            "记录格式错误",
            format!("record {id} does not read: {e}"),
        )
    };
    match records::doc_kind(after, id).map_err(bad)? {
        DocKind::Hazard => check_hazard(id, before, after, changes, cx),
        DocKind::Inspection => {
            let new = records::read_inspection(after, id).map_err(bad)?;
            let Some(b) = before else { return Ok(()) };
            let old = records::read_inspection(b, id).map_err(bad)?;
            if old.header != new.header {
                return Err(refused(
                    "header_changed",
                    "检查记录的基本信息不能修改",
                    format!("inspection {id}: its header cannot change"),
                ));
            }
            if old.finish.is_some()
                && (old.answers != new.answers
                    || old.photos != new.photos
                    || old.finish != new.finish)
            {
                return Err(refused(
                    "sealed",
                    "已完成并封存的检查记录不能修改（答案、照片、封存）",
                    format!(
                        "inspection {id} is finished and sealed: its answers, photos and seal cannot change"
                    ),
                ));
            }
            Ok(())
        }
        DocKind::Task => {
            let Some(b) = before else { return Ok(()) };
            let old = records::read_task(b, id).map_err(bad)?;
            let new = records::read_task(after, id).map_err(bad)?;
            if old.outcome.is_some() && old.outcome != new.outcome {
                return Err(refused(
                    "verdict_changed",
                    "群众举报的核查结论已给出，不能修改",
                    format!("report {id} was verified; its verdict cannot change"),
                ));
            }
            Ok(())
        }
        DocKind::Venue => check_venue_stamps(id, before, after, cx),
    }
}

pub(crate) fn check_hazard(
    id: &str,
    before: Option<&AutoCommit>,
    after: &mut AutoCommit,
    changes: &[Change],
    cx: UpdateContext<'_>,
) -> Result<(), Refusal> {
    let bad = |e: crate::error::Error| {
        refused(
            "malformed",
            "记录格式错误",
            format!("hazard {id} does not read: {e}"),
        )
    };
    let (header, events) = records::read_hazard_keyed(after, id).map_err(bad)?;
    let old: Vec<(EventKey, StoredEvent)> = match before {
        Some(b) => {
            let (old_header, old_events) = records::read_hazard_keyed(b, id).map_err(bad)?;
            if old_header != header {
                return Err(refused(
                    "header_changed",
                    "隐患登记信息不能修改，请记录处置事件",
                    format!(
                        "hazard {id}: its registration data cannot change; record an event instead"
                    ),
                ));
            }
            old_events
        }
        None => vec![],
    };
    // Every stored event is still there, unchanged, in the same order.
    let at: HashMap<&EventKey, (usize, &StoredEvent)> = events
        .iter()
        .enumerate()
        .map(|(i, (k, e))| (k, (i, e)))
        .collect();
    let mut last = None;
    for (k, e) in &old {
        let Some((i, now)) = at.get(k) else {
            return Err(refused(
                "event_deleted",
                "处置记录只能追加，不能删除",
                format!(
                    "hazard {id}: event {} ({}) was deleted",
                    e.record.id, e.record.kind
                ),
            ));
        };
        if *now != e {
            return Err(refused(
                "event_modified",
                "处置记录只能追加，不能修改",
                format!(
                    "hazard {id}: event {} ({}) was modified",
                    e.record.id, e.record.kind
                ),
            ));
        }
        if last.is_some_and(|l| *i < l) {
            return Err(refused(
                "event_reordered",
                "处置记录的顺序不能改变",
                format!("hazard {id}: event {} was moved", e.record.id),
            ));
        }
        last = Some(*i);
    }
    // Each new event: within the clock bound, and allowed where its author stood.
    let known: HashSet<&EventKey> = old.iter().map(|(k, _)| k).collect();
    let mut by_change: BTreeMap<usize, Vec<&StoredEvent>> = BTreeMap::new();
    for (k, e) in events.iter().filter(|(k, _)| !known.contains(k)) {
        if let Some(now) = cx.now_ms
            && e.record.ms > now.saturating_add(CLOCK_BOUND_MS)
        {
            return Err(refused(
                "clock_ahead",
                "事件时间超前于接收方时钟，请校准手机时间",
                format!(
                    "hazard {id}: event {} is dated {} minutes ahead of this clock (at most {} allowed); set the phone's clock",
                    e.record.id,
                    (e.record.ms - now) / 60_000,
                    CLOCK_BOUND_MS / 60_000
                ),
            ));
        }
        let c = changes
            .iter()
            .position(|c| {
                c.actor_id().to_hex_string() == k.1
                    && c.start_op().get() <= k.0
                    && k.0 <= c.max_op()
            })
            .ok_or_else(|| {
                refused(
                    "event_outside_change",
                    "事件不属于本次提交的修改",
                    format!(
                        "hazard {id}: event {} was not written by these changes",
                        e.record.id
                    ),
                )
            })?;
        by_change.entry(c).or_default().push(e);
    }
    for (c, new) in by_change {
        let seen: Vec<StoredEvent> = match after.fork_at(changes[c].deps()) {
            Ok(past) => records::read_hazard(&past, id)
                .map(|(_, evs)| evs)
                .unwrap_or_default(),
            Err(_) => vec![],
        };
        let mut evs = seen;
        evs.extend(new.iter().map(|e| (*e).clone()));
        let folded = fold(&header, &evs, cx.roster);
        for e in new {
            let entry = folded.history.iter().find(|h| h.id == e.record.id);
            if let Some(r) = entry.and_then(|h| h.refusal.clone())
                && (cx.authors_known || r.code != "unknown_actor")
            {
                return Err(refused(
                    "event_not_allowed",
                    "该处置事件在当时的状态下不被允许",
                    format!(
                        "hazard {id}: event {} ({}) was not allowed where its author stood: {}",
                        e.record.id, e.record.kind, r.en
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// A venue field's stamp says who edited it and when, and decides which of two concurrent edits
/// is kept: it must name the author of the change that wrote it, and (where the receiver's clock
/// counts) not be from the future.
fn check_venue_stamps(
    id: &str,
    before: Option<&AutoCommit>,
    after: &AutoCommit,
    cx: UpdateContext<'_>,
) -> Result<(), Refusal> {
    for (field, actor, stamp) in records::venue_fields::new_stamps(before, after) {
        if let Some(user) = cx.roster.user_of_actor(&actor)
            && user.id != stamp.by
        {
            return Err(refused(
                "stamp_forged",
                "场所字段的修改人与实际提交人不一致",
                format!(
                    "venue {id}: field {field} says {} edited it; {} wrote it",
                    stamp.by, user.id
                ),
            ));
        }
        if cx.authors_known && cx.roster.user_of_actor(&actor).is_none() {
            return Err(refused(
                "unknown_actor",
                "未知设备或用户",
                format!("venue {id}: field {field} was written by an unknown device"),
            ));
        }
        if let Some(now) = cx.now_ms
            && stamp.ms > now.saturating_add(CLOCK_BOUND_MS)
        {
            return Err(refused(
                "clock_ahead",
                "修改时间超前于接收方时钟，请校准手机时间",
                format!(
                    "venue {id}: field {field} is stamped {} minutes ahead of this clock; set the phone's clock",
                    (stamp.ms - now) / 60_000
                ),
            ));
        }
    }
    Ok(())
}
