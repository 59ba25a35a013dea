//! What a record must agree with when it arrives from another replica. A new hazard's
//! registration data is checked against the venue it names, the inspection and pinned checklist
//! item it comes from, the directory, and the person who pushed it ([`check_new_hazard`]). Every
//! change to a record keeps its history: events appended only, each allowed where its author
//! stood, no clock from the future, sealed inspections sealed ([`check_update`]). The relay runs
//! both on what phones push; a phone runs the second on what it pulls, so a compromised relay
//! cannot rewrite history either. What fails is refused for that record alone, with the reason.

use std::collections::{BTreeMap, HashMap, HashSet};

use automerge::{AutoCommit, Change};

use crate::directory::{Directory, Role, Roster, User};
use crate::error::Refusal;
use crate::eval::{Answer, evaluate_item, propose};
use crate::lifecycle::fold;
use crate::records::{self as records, DocKind, EventKey, StoredEvent};
use crate::records::{HazardHeader, Inspection, Venue};
use crate::template::{Item, Level, Template};

fn refuse(code: &str, zh: String, en: String) -> Refusal {
    Refusal {
        code: code.into(),
        zh,
        en,
    }
}

fn same_set(a: &[String], b: &[String]) -> bool {
    let (mut a, mut b) = (a.to_vec(), b.to_vec());
    a.sort();
    a.dedup();
    b.sort();
    b.dedup();
    a == b
}

/// What a new hazard's header is checked against, as far as the relay holds it.
#[derive(Clone, Copy, Debug)]
pub struct HazardContext<'a> {
    /// Who pushed it.
    pub author: &'a User,
    /// The venue it names (`None`: the relay has no such venue).
    pub venue: Option<&'a Venue>,
    /// The inspection it names (`None`: none named, or the relay has no such inspection).
    pub inspection: Option<&'a Inspection>,
    /// The checklist version the hazard names (`None`: unknown to the relay).
    pub template: Option<&'a Template>,
    pub directory: &'a Directory,
}

/// Checks a hazard's header when it first arrives: the venue exists and the header's village
/// and grid are the venue's; `found_by` is the person who pushed it; for an inspection's
/// finding, the item is in the pinned checklist, the inspection's answer to it fails, the
/// severity is not below what the checklist's rule gives for that answer and venue, and the lead
/// departments are the item's; for a verified public report, the departments are the
/// directory's for its domain. Scope (may this person write in this grid) is `policy`'s.
pub fn check_new_hazard(h: &HazardHeader, cx: HazardContext<'_>) -> Result<(), Refusal> {
    let venue = cx.venue.ok_or_else(|| {
        refuse(
            "unknown_venue",
            format!("场所 {} 不在中继上，请先同步场所", h.venue_name),
            format!(
                "venue {} ({}) is not on the relay; sync the venue first",
                h.venue_name, h.venue_id
            ),
        )
    })?;
    if h.village != venue.village || h.grid_id != venue.grid_id {
        return Err(refuse(
            "wrong_place",
            "隐患所属村居、网格与场所不一致".into(),
            format!(
                "the hazard says village {} grid {}, its venue is in village {} grid {}",
                h.village, h.grid_id, venue.village, venue.grid_id
            ),
        ));
    }
    if h.found_by != cx.author.id {
        return Err(refuse(
            "not_the_finder",
            "发现人须为上报本隐患的用户".into(),
            format!(
                "found_by is {}, but {} pushed the hazard",
                h.found_by, cx.author.id
            ),
        ));
    }
    match h.source.as_str() {
        "inspection" => check_finding(h, venue, cx),
        "public_report" => {
            let routed = cx
                .directory
                .routing
                .get(&h.domain)
                .cloned()
                .unwrap_or_default();
            if h.item_id != format!("public_report.{}", h.domain)
                || h.severity_proposed != "general"
                || h.ticket_no.as_deref().is_none_or(|t| t.trim().is_empty())
            {
                return Err(refuse(
                    "bad_public_report",
                    "群众举报隐患的领域、等级或工单号不正确".into(),
                    "a public report's hazard needs its domain's item, general severity and the ticket number".into(),
                ));
            }
            if routed.is_empty() || !same_set(&h.lead_depts, &routed) {
                return Err(refuse(
                    "wrong_departments",
                    "牵头部门与目录中该领域的部门不一致".into(),
                    format!(
                        "lead departments {:?} are not the directory's for {} ({routed:?})",
                        h.lead_depts, h.domain
                    ),
                ));
            }
            Ok(())
        }
        "self_report" => check_self_report(h, cx),
        other => Err(refuse(
            "bad_source",
            "手机只能上报检查发现或查实的群众举报".into(),
            format!("a phone registers hazards from inspections and public reports, not {other:?}"),
        )),
    }
}

/// A venue owner's self-inspection finding, registered by a lead department or the town office
/// after review: the item is in the checklist named, with its departments, and not below its
/// severity.
fn check_self_report(h: &HazardHeader, cx: HazardContext<'_>) -> Result<(), Refusal> {
    if !matches!(cx.author.role, Role::Reviewer | Role::TownOffice) {
        return Err(refuse(
            "bad_source",
            "场所自查发现由牵头部门或镇安委办审核后上账".into(),
            "an owner's self-inspection finding is registered by a lead department or the town office".into(),
        ));
    }
    let item = template_item(h, cx.template)?;
    if item.severity.level == Level::MajorCandidate && h.severity_proposed != "major_candidate" {
        return Err(refuse(
            "severity_too_low",
            "隐患等级低于检查表规则（应为重大隐患待认定）".into(),
            format!(
                "{} is a major candidate by its checklist, not {}",
                item.id, h.severity_proposed
            ),
        ));
    }
    if !same_set(&h.lead_depts, &item.lead_depts) || h.domain != item.domain {
        return Err(wrong_departments(h, &item.lead_depts, &item.domain));
    }
    Ok(())
}

fn wrong_departments(h: &HazardHeader, depts: &[String], domain: &str) -> Refusal {
    refuse(
        "wrong_departments",
        "牵头部门或领域与检查表不一致".into(),
        format!(
            "lead departments {:?} ({}) are not the checklist's {depts:?} ({domain})",
            h.lead_depts, h.domain
        ),
    )
}

/// The hazard's item in the checklist version it names.
fn template_item<'a>(h: &HazardHeader, t: Option<&'a Template>) -> Result<&'a Item, Refusal> {
    let t = t
        .filter(|t| t.template_id == h.template_id && t.version == h.template_version)
        .ok_or_else(|| {
            refuse(
                "unknown_template",
                "中继上没有该检查表版本".into(),
                format!(
                    "checklist {}@{} is not known to the relay",
                    h.template_id, h.template_version
                ),
            )
        })?;
    t.item(&h.item_id).ok_or_else(|| {
        refuse(
            "unknown_item",
            "检查项不在所用检查表中".into(),
            format!(
                "item {} is not in {}@{}",
                h.item_id, t.template_id, t.version
            ),
        )
    })
}

fn check_finding(h: &HazardHeader, venue: &Venue, cx: HazardContext<'_>) -> Result<(), Refusal> {
    let insp = cx
        .inspection
        .filter(|i| Some(&i.header.id) == h.inspection_id.as_ref())
        .ok_or_else(|| {
            refuse(
                "unknown_inspection",
                "隐患所依据的检查记录不在中继上，请先同步检查记录".into(),
                format!(
                    "the inspection {:?} this hazard comes from is not on the relay; sync it first",
                    h.inspection_id
                ),
            )
        })?;
    if insp.header.venue_id != venue.id
        || insp.header.template_id != h.template_id
        || insp.header.template_version != h.template_version
    {
        return Err(refuse(
            "wrong_inspection",
            "隐患与其检查记录的场所或检查表不一致".into(),
            "the hazard's venue or checklist differs from its inspection's".into(),
        ));
    }
    let item = template_item(h, cx.template)?;
    let answer = insp
        .answers
        .get(&item.id)
        .map(|a| Answer {
            na: a.na,
            fields: a.fields.clone(),
        })
        .unwrap_or_default();
    let result = evaluate_item(item, &insp.header.profile, Some(&answer));
    let proposal = propose(item, &insp.header.profile, &answer, &result).ok_or_else(|| {
        refuse(
            "item_not_failed",
            "检查记录中该项并未判定为不合格".into(),
            format!("the inspection's answer to {} does not fail it", item.id),
        )
    })?;
    if proposal.severity == Level::MajorCandidate && h.severity_proposed != "major_candidate" {
        return Err(refuse(
            "severity_too_low",
            "隐患等级低于检查表规则（应为重大隐患待认定）".into(),
            format!(
                "the checklist's rule makes {} a major candidate here, not {}",
                item.id, h.severity_proposed
            ),
        ));
    }
    if !same_set(&h.lead_depts, &proposal.lead_depts) || h.domain != proposal.domain {
        return Err(wrong_departments(h, &proposal.lead_depts, &proposal.domain));
    }
    // What the checklist refers onward (a gas supplier) or orders at once cannot be left out.
    let referred = proposal.referral.as_ref().map(|r| r.dept.as_str());
    if h.referral.as_ref().map(|r| r.dept.as_str()) != referred
        || h.order_zh.is_some() != proposal.order.is_some()
    {
        return Err(refuse(
            "wrong_referral",
            "隐患缺少检查表规定的转办或立即整改要求".into(),
            format!(
                "{}: the checklist's referral or immediate order is missing or altered",
                item.id
            ),
        ));
    }
    Ok(())
}

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

fn refused(code: &str, zh: &str, en: String) -> Refusal {
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
        DocKind::Venue => Ok(()),
    }
}

fn check_hazard(
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
