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
pub use crate::hazard_state::{Confirmation, EventKind, HazardStatus, HistoryEntry, State};

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
        rechecked_by: vec![],
        closed_at: None,
        closed_by: None,
        rectified_at: None,
        last_hlc: Hlc::default(),
        history: Vec::with_capacity(evs.len()),
    };
    let mut seen_ids = std::collections::HashSet::new();
    for e in &evs {
        let user = roster.user_of_actor(&e.actor);
        let outcome = if !seen_ids.insert(e.record.id.clone()) {
            Err(refuse("duplicate_event", "重复事件", "duplicate event id"))
        } else {
            apply(&mut s, header, e, user)
        };
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
    match kind {
        EventKind::Register => {
            s.state = State::Registered;
            s.deadline = h.deadline.clone();
            if h.severity_proposed == "major_candidate" {
                s.confirmation = Confirmation::Pending;
            }
        }
        EventKind::Notify => {
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
            s.plan = r.text.clone();
        }
        EventKind::Recheck => {
            if !s.rechecked_by.contains(&user.id) {
                s.rechecked_by.push(user.id.clone());
            }
        }
    }
    Ok(())
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
