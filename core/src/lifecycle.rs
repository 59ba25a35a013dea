//! The hazard lifecycle of checklists.md §6.3 as a pure fold.
//!
//! A hazard document holds an append-only list of events. The current state is the fold of those
//! events in one total order that every replica agrees on (hybrid logical clock, then actor, then
//! event id), applying the state machine and the role rules. Events the rules refuse stay in the
//! history, marked as not applied, with the reason. The author of an event is the actor of the
//! change that created it, resolved through the roster — never a field a client writes.

use crate::clock::{Hlc, format_date, ms_to_date, ms_to_rfc3339, parse_date};
use crate::directory::{Roster, User};
use crate::policy;
use crate::records::{EventRecord, HazardHeader, StoredEvent};

pub use crate::error::Refusal;
pub use crate::hazard_state::{Confirmation, EventKind, HazardStatus, HistoryEntry, RULES, State};

/// The six contents of a 治理方案 (checklists.md §6.3 rule 3), as the keys of the plan's JSON
/// text and their names.
pub const PLAN_PARTS: [(&str, &str, &str); 6] = [
    ("goal", "目标和任务", "goal and task"),
    ("method", "方法和措施", "method and measures"),
    ("funds", "经费和物资", "funds and materials"),
    ("owner", "负责机构和人员", "responsible body and person"),
    ("timeline", "时限和要求", "time limit and requirements"),
    (
        "safety",
        "安全措施和应急预案",
        "safety measures and emergency plan",
    ),
];

/// A 治理方案 with its six contents; its text is what a plan event carries.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TreatmentPlan {
    pub goal: String,
    pub method: String,
    pub funds: String,
    pub owner: String,
    pub timeline: String,
    pub safety: String,
}

impl TreatmentPlan {
    /// The event text: a JSON object keyed as [`PLAN_PARTS`].
    pub fn to_text(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// 挂牌督办 levels: who holds it (上海市消防条例 §10(五): the city and district governments).
pub const SUPERVISION_LEVELS: [(&str, &str); 2] = [("city", "市级"), ("district", "区级")];

fn refuse(code: &str, zh: &str, en: &str) -> Refusal {
    Refusal {
        code: code.into(),
        zh: zh.into(),
        en: en.into(),
    }
}

/// Sorts events into the order every replica agrees on. Clock, actor and id decide; the rest of
/// the event only breaks ties between forged copies that share all three (found by fuzzing: the
/// copy applied must not depend on the order a replica happened to read them in).
pub fn order(events: &mut [StoredEvent]) {
    fn key(e: &StoredEvent) -> impl Ord + '_ {
        let r = &e.record;
        (
            (r.ms, r.counter, &e.actor, &r.id),
            (
                &r.kind,
                &r.reason,
                &r.deadline,
                &r.photo,
                &r.inspection_id,
                &r.text,
                e.tampered,
            ),
        )
    }
    events.sort_by(|a, b| key(a).cmp(&key(b)));
}

/// Folds a hazard's events into its state. Deterministic: the same header, events (in any order)
/// and roster give the same result on every replica.
pub fn fold(header: &HazardHeader, events: &[StoredEvent], roster: &dyn Roster) -> HazardStatus {
    fold_observed(header, events, roster, &mut |_| {})
}

/// A hazard as it stood after one event that applied: what a report for a past period reads, so
/// that its figures are those of the period's end and not of today (docs/reports.md).
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// The event's clock (milliseconds): when it happened on the device that wrote it.
    pub at_ms: i64,
    pub kind: String,
    pub state: State,
    /// general / major / major_candidate
    pub severity: String,
    pub deadline: Option<String>,
}

/// [`fold`], with the hazard's state after each event that applied, in the agreed order.
pub fn fold_steps(
    header: &HazardHeader,
    events: &[StoredEvent],
    roster: &dyn Roster,
) -> (HazardStatus, Vec<Step>) {
    let mut steps = Vec::new();
    let s = fold_observed(header, events, roster, &mut |s| {
        if let Some(e) = s.history.last() {
            steps.push(Step {
                at_ms: e.hlc.ms,
                kind: e.kind.clone(),
                state: s.state,
                severity: s.severity.clone(),
                deadline: s.deadline.clone(),
            });
        }
    });
    (s, steps)
}

fn fold_observed(
    header: &HazardHeader,
    events: &[StoredEvent],
    roster: &dyn Roster,
    applied: &mut dyn FnMut(&HazardStatus),
) -> HazardStatus {
    let mut evs = events.to_vec();
    order(&mut evs);
    let mut s = HazardStatus {
        state: State::Draft,
        confirmation: Confirmation::NotRequired,
        severity: header.severity_proposed.clone(),
        deadline: None,
        fix_mode: header.fix_mode.clone(),
        reopened: 0,
        escalations: 0,
        plan: None,
        controls: vec![],
        supervision: None,
        rechecked_by: vec![],
        assignee: None,
        closed_at: None,
        closed_by: None,
        rectified_at: None,
        last_hlc: Hlc::default(),
        history: Vec::with_capacity(evs.len()),
        venue_grid: roster
            .venue_grid()
            .filter(|g| *g != header.grid_id)
            .map(str::to_owned),
    };
    let mut seen_ids = std::collections::HashSet::new();
    for e in &evs {
        let user = roster.user_of_actor(&e.actor);
        let outcome = if !seen_ids.insert(e.record.id.clone()) {
            Err(refuse("duplicate_event", "重复事件", "duplicate event id"))
        } else {
            apply(&mut s, header, e, user, roster)
        };
        let ok = outcome.is_ok();
        let r = &e.record;
        let hlc = Hlc {
            ms: r.ms,
            counter: r.counter,
        };
        s.last_hlc = s.last_hlc.max(hlc);
        s.history.push(HistoryEntry {
            id: r.id.clone(),
            kind: r.kind.clone(),
            at: ms_to_rfc3339(r.ms),
            hlc,
            actor: e.actor.clone(),
            user: user.map(|u| u.id.clone()),
            role: user.map(|u| u.role),
            applied: outcome.is_ok(),
            refusal: outcome.err(),
            reason: r.reason.clone(),
            deadline: r.deadline.clone(),
            photo: r.photo.clone(),
            text: r.text.clone(),
        });
        if ok {
            applied(&s);
        }
    }
    s
}

fn nonempty(v: &Option<String>) -> bool {
    v.as_deref().is_some_and(|x| !x.trim().is_empty())
}

fn apply(
    s: &mut HazardStatus,
    h: &HazardHeader,
    e: &StoredEvent,
    user: Option<&User>,
    roster: &dyn Roster,
) -> Result<(), Refusal> {
    let r = &e.record;
    if e.tampered {
        return Err(refuse(
            "tampered",
            "事件被他人改写",
            "event fields were written by another actor",
        ));
    }
    let kind = EventKind::parse(&r.kind)
        .ok_or_else(|| refuse("unknown_kind", "未知事件类型", "unknown event kind"))?;
    let event_day = ms_to_date(r.ms);
    policy::check_event(user, h, s, kind, event_day)?;
    // `check_event` refuses an unknown actor, so from here on the author is known.
    let Some(user) = user else {
        return Err(refuse(
            "unknown_actor",
            "未知设备或用户",
            "the writing device is not bound to a known user",
        ));
    };
    let check_deadline = |d: &Option<String>| -> Result<Option<String>, Refusal> {
        match d {
            None => Ok(None),
            Some(d) => {
                let date = parse_date(d).map_err(|_| {
                    refuse(
                        "bad_deadline",
                        "整改期限格式错误",
                        "deadline is not a date (YYYY-MM-DD)",
                    )
                })?;
                if date < event_day {
                    return Err(refuse(
                        "deadline_past",
                        "整改期限早于当日",
                        "deadline is before the day of the event",
                    ));
                }
                Ok(Some(format_date(date)))
            }
        }
    };
    let need_reason = || {
        if nonempty(&r.reason) {
            Ok(())
        } else {
            Err(refuse(
                "reason_required",
                "须填写原因",
                "a reason is required",
            ))
        }
    };
    let after_photo = || {
        if nonempty(&r.photo) {
            Ok(())
        } else {
            Err(refuse(
                "after_photo_missing",
                "缺少整改后照片",
                "an after photo is required",
            ))
        }
    };
    let st = s.state;
    let v2 = h.lifecycle >= 2;
    match kind {
        EventKind::Register => {
            s.state = State::Registered;
            s.deadline = h.deadline.clone();
            if h.severity_proposed == "major_candidate" {
                s.confirmation = Confirmation::Pending;
            }
        }
        EventKind::Notify => {
            if v2 && !nonempty(&r.photo) {
                return Err(refuse(
                    "proof_required",
                    "送达整改通知须拍摄签收的通知书或现场电子签名",
                    "serving a notice needs proof: a photo of the signed notice or an e-signature",
                ));
            }
            if let Some(d) = check_deadline(&r.deadline)? {
                s.deadline = Some(d);
            }
            s.state = State::Notified;
        }
        EventKind::Rectify => {
            if h.photos.iter().all(|p| p.role != "before") {
                return Err(refuse(
                    "before_photo_missing",
                    "缺少整改前照片",
                    "no before photo was taken",
                ));
            }
            after_photo()?;
            if h.inspection_id.is_none()
                || r.inspection_id != h.inspection_id
                || event_day != ms_to_date(h.found_ms)
            {
                return Err(refuse(
                    "not_same_visit",
                    "即改须在同一次检查中完成",
                    "an on-the-spot fix must be recorded in the same visit",
                ));
            }
            s.state = State::RectifiedClaimed;
            s.fix_mode = "on_spot".into();
            s.rectified_at = Some(ms_to_rfc3339(r.ms));
        }
        EventKind::Claim | EventKind::OwnerClaim => {
            after_photo()?;
            s.state = State::RectifiedClaimed;
            s.rectified_at = Some(ms_to_rfc3339(r.ms));
        }
        EventKind::Close => {
            s.state = State::Closed;
            s.closed_at = Some(ms_to_rfc3339(r.ms));
            s.closed_by = Some(user.id.clone());
        }
        EventKind::Reject => {
            need_reason()?;
            if v2 {
                // A failed review gives a new deadline (ADR 0013): without one the hazard would
                // be overdue the moment it is sent back.
                let d = check_deadline(&r.deadline)?.ok_or_else(|| {
                    refuse(
                        "deadline_required",
                        "退回整改须给出新的整改期限",
                        "a failed review sets a new deadline",
                    )
                })?;
                s.deadline = Some(d);
            }
            s.state = State::Rectifying;
            s.reopened += 1;
            s.rechecked_by.clear();
        }
        EventKind::Escalate => {
            need_reason()?;
            s.state = State::Escalated;
            s.escalations += 1;
        }
        EventKind::Reopen => {
            need_reason()?;
            s.state = State::Rectifying;
            s.reopened += 1;
            s.closed_at = None;
            s.closed_by = None;
            s.rechecked_by.clear();
        }
        EventKind::ConfirmMajor => {
            s.confirmation = Confirmation::Confirmed;
            s.severity = "major".into();
        }
        EventKind::Downgrade => {
            need_reason()?;
            s.confirmation = Confirmation::Downgraded;
            s.severity = "general".into();
        }
        EventKind::SetDeadline => {
            let d = check_deadline(&r.deadline)?.ok_or_else(|| {
                refuse(
                    "deadline_required",
                    "须填写整改期限",
                    "a deadline is required",
                )
            })?;
            s.deadline = Some(d);
            if st == State::Escalated {
                s.state = State::Rectifying;
            }
        }
        EventKind::Plan => {
            if !nonempty(&r.text) {
                return Err(refuse(
                    "text_required",
                    "须填写治理方案内容",
                    "the plan text is required",
                ));
            }
            if v2 {
                check_plan(r.text.as_deref().unwrap_or_default())?;
            }
            s.plan = r.text.clone();
        }
        EventKind::Recheck => {
            if v2 && !nonempty(&r.photo) {
                return Err(refuse(
                    "photo_required",
                    "现场复核须拍摄现场照片",
                    "an on-site recheck carries a photo taken on site",
                ));
            }
            if !s.rechecked_by.contains(&user.id) {
                s.rechecked_by.push(user.id.clone());
            }
        }
        EventKind::Dismiss => {
            need_reason()?;
            s.state = State::Rejected;
        }
        EventKind::Control => {
            if !nonempty(&r.text) {
                return Err(refuse(
                    "text_required",
                    "须填写临时管控措施",
                    "the control measures are required",
                ));
            }
            s.controls.push(r.text.clone().unwrap_or_default());
        }
        EventKind::Supervise => {
            let level = r.text.as_deref().unwrap_or_default();
            if !SUPERVISION_LEVELS.iter().any(|(k, _)| *k == level) {
                return Err(refuse(
                    "level_required",
                    "须选择挂牌督办级别（市级或区级）",
                    "the supervision level is city or district",
                ));
            }
            need_reason().map_err(|_| {
                refuse(
                    "document_required",
                    "须填写挂牌督办文号",
                    "the supervision document number is required",
                )
            })?;
            s.supervision = Some((
                level.to_owned(),
                r.reason.clone().unwrap_or_default().trim().to_owned(),
            ));
        }
        EventKind::Assign => {
            let who = r.text.as_deref().map(str::trim).unwrap_or_default();
            let assignee = roster.user(who).ok_or_else(|| {
                refuse(
                    "assignee_required",
                    "须从名单中选择承办人",
                    "choose the handler from the list",
                )
            })?;
            policy::check_assignee(assignee, h)?;
            s.assignee = Some(assignee.id.clone());
        }
    }
    Ok(())
}

/// A 治理方案's text: a JSON object with each of the six contents, none empty.
pub fn check_plan(text: &str) -> Result<(), Refusal> {
    let parts: serde_json::Map<String, serde_json::Value> = serde_json::from_str(text)
        .map_err(|_| {
            refuse(
                "plan_incomplete",
                "治理方案须包括目标和任务、方法和措施、经费和物资、负责机构和人员、时限和要求、安全措施和应急预案",
                "a treatment plan gives its six contents",
            )
        })?;
    let missing: Vec<&str> = PLAN_PARTS
        .iter()
        .filter(|(k, ..)| {
            parts
                .get(*k)
                .and_then(|v| v.as_str())
                .is_none_or(|v| v.trim().is_empty())
        })
        .map(|(_, zh, _)| *zh)
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Refusal {
            code: "plan_incomplete".into(),
            zh: format!("治理方案缺少：{}", missing.join("、")),
            en: format!(
                "the treatment plan lacks {} of its six contents",
                missing.len()
            ),
        })
    }
}

/// Builds an event record (the store fills in the HLC and id).
pub fn event(id: String, kind: EventKind, hlc: Hlc) -> EventRecord {
    EventRecord {
        id,
        kind: kind.as_str().into(),
        ms: hlc.ms,
        counter: hlc.counter,
        reason: None,
        deadline: None,
        photo: None,
        inspection_id: None,
        text: None,
    }
}
