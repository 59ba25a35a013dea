//! The hazard lifecycle of checklists.md §6.3 as a pure fold.
//!
//! A hazard document holds an append-only list of events. The current state is the fold of those
//! events in one total order that every replica agrees on (hybrid logical clock, then actor, then
//! event id), applying the state machine and the role rules. Events the rules refuse stay in the
//! history, marked as not applied, with the reason. The author of an event is the actor of the
//! change that created it, resolved through the roster — never a field a client writes.

use serde::{Deserialize, Serialize};

use crate::clock::{Hlc, format_date, ms_to_date, ms_to_rfc3339, parse_date};
use crate::directory::{Role, Roster, User};
use crate::records::{EventRecord, HazardHeader, StoredEvent};

/// Why an event was refused, in both languages, with a stable code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    pub code: String,
    pub zh: String,
    pub en: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}) [{}]", self.en, self.zh, self.code)
    }
}

fn refuse(code: &str, zh: &str, en: &str) -> Refusal {
    Refusal {
        code: code.into(),
        zh: zh.into(),
        en: en.into(),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// 上账.
    Register,
    /// 整改通知 served; sets the deadline.
    Notify,
    /// 即改: fixed during the visit, with an after photo from the same visit.
    Rectify,
    /// Rectification claimed with an after photo (限期整改 path).
    Claim,
    /// The venue owner's self-reported rectification (企业自查上报: after photo from the owner's
    /// page), accepted by the lead department or the town office as the claim.
    OwnerClaim,
    /// 审核销号.
    Close,
    /// The review refuses a claimed rectification.
    Reject,
    /// Overdue → referral / 挂牌督办 proposal.
    Escalate,
    /// A closed hazard's rectification was found false.
    Reopen,
    /// The lead department confirms a major candidate.
    ConfirmMajor,
    /// The lead department downgrades a major candidate to general.
    Downgrade,
    SetDeadline,
    /// 治理方案 for a major hazard.
    Plan,
    /// Second-person on-site verification before closing a major hazard.
    Recheck,
}

impl EventKind {
    pub const ALL: &'static [EventKind] = &[
        EventKind::Register,
        EventKind::Notify,
        EventKind::Rectify,
        EventKind::Claim,
        EventKind::OwnerClaim,
        EventKind::Close,
        EventKind::Reject,
        EventKind::Escalate,
        EventKind::Reopen,
        EventKind::ConfirmMajor,
        EventKind::Downgrade,
        EventKind::SetDeadline,
        EventKind::Plan,
        EventKind::Recheck,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Register => "register",
            EventKind::Notify => "notify",
            EventKind::Rectify => "rectify",
            EventKind::Claim => "claim",
            EventKind::OwnerClaim => "owner_claim",
            EventKind::Close => "close",
            EventKind::Reject => "reject",
            EventKind::Escalate => "escalate",
            EventKind::Reopen => "reopen",
            EventKind::ConfirmMajor => "confirm_major",
            EventKind::Downgrade => "downgrade",
            EventKind::SetDeadline => "set_deadline",
            EventKind::Plan => "plan",
            EventKind::Recheck => "recheck",
        }
    }
    pub fn parse(s: &str) -> Option<EventKind> {
        Self::ALL.iter().copied().find(|k| k.as_str() == s)
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            EventKind::Register => "上账登记",
            EventKind::Notify => "送达整改通知",
            EventKind::Rectify => "即查即改",
            EventKind::Claim => "申报整改完成",
            EventKind::OwnerClaim => "采纳业主自查整改",
            EventKind::Close => "审核销号",
            EventKind::Reject => "整改审核不通过",
            EventKind::Escalate => "升级督办",
            EventKind::Reopen => "重新打开",
            EventKind::ConfirmMajor => "认定重大隐患",
            EventKind::Downgrade => "降为一般隐患",
            EventKind::SetDeadline => "设定整改期限",
            EventKind::Plan => "治理方案",
            EventKind::Recheck => "现场复核",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Captured, not yet registered (no applied registration event).
    Draft,
    Registered,
    Notified,
    Rectifying,
    RectifiedClaimed,
    Escalated,
    Closed,
}

impl State {
    pub const ALL: [State; 7] = [
        State::Draft,
        State::Registered,
        State::Notified,
        State::Rectifying,
        State::RectifiedClaimed,
        State::Escalated,
        State::Closed,
    ];

    pub fn parse(s: &str) -> Option<State> {
        Self::ALL.iter().copied().find(|k| k.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            State::Draft => "draft",
            State::Registered => "registered",
            State::Notified => "notified",
            State::Rectifying => "rectifying",
            State::RectifiedClaimed => "rectified_claimed",
            State::Escalated => "escalated",
            State::Closed => "closed",
        }
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            State::Draft => "草稿",
            State::Registered => "已上账",
            State::Notified => "已通知",
            State::Rectifying => "整改中",
            State::RectifiedClaimed => "待审核销号",
            State::Escalated => "已升级督办",
            State::Closed => "已销号",
        }
    }
    pub fn is_open(self) -> bool {
        !matches!(self, State::Draft | State::Closed)
    }
    /// States whose deadline runs: the owner still has to act.
    pub fn awaits_rectification(self) -> bool {
        matches!(
            self,
            State::Registered | State::Notified | State::Rectifying | State::Escalated
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Confirmation {
    /// A general hazard: nothing to confirm.
    NotRequired,
    /// 重大隐患(待认定).
    Pending,
    Confirmed,
    Downgraded,
}

/// One event in the derived history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub id: String,
    pub kind: String,
    pub at: String,
    pub hlc: Hlc,
    pub actor: String,
    pub user: Option<String>,
    pub role: Option<Role>,
    pub applied: bool,
    pub refusal: Option<Refusal>,
    pub reason: Option<String>,
    pub deadline: Option<String>,
    pub photo: Option<String>,
    pub text: Option<String>,
}

/// The derived state of a hazard.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HazardStatus {
    pub state: State,
    pub confirmation: Confirmation,
    /// general / major / major_candidate
    pub severity: String,
    pub deadline: Option<String>,
    pub fix_mode: String,
    pub reopened: u32,
    pub escalations: u32,
    pub plan: Option<String>,
    pub rechecked_by: Vec<String>,
    pub closed_at: Option<String>,
    pub closed_by: Option<String>,
    pub rectified_at: Option<String>,
    pub last_hlc: Hlc,
    pub history: Vec<HistoryEntry>,
}

impl HazardStatus {
    /// Overdue on `today` (Shanghai date): open, still awaiting rectification, deadline passed.
    pub fn is_overdue(&self, today: time::Date) -> bool {
        self.state.awaits_rectification()
            && self
                .deadline
                .as_deref()
                .and_then(|d| parse_date(d).ok())
                .is_some_and(|d| d < today)
    }
}

fn in_scope(user: &User, h: &HazardHeader) -> bool {
    match user.role {
        Role::Inspector => user.grids.iter().any(|g| g == &h.grid_id),
        Role::Reviewer => user
            .department
            .as_ref()
            .is_some_and(|d| h.lead_depts.contains(d)),
        Role::TownOffice => true,
        Role::Admin => false,
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
    let user = user.ok_or_else(|| {
        refuse(
            "unknown_actor",
            "未知设备或用户",
            "the writing device is not bound to a known user",
        )
    })?;
    if user.role == Role::Admin {
        return Err(refuse(
            "admin",
            "管理员不参与隐患处置",
            "administrators manage users, not hazards",
        ));
    }
    if !in_scope(user, h) {
        return Err(refuse(
            "out_of_scope",
            "不在本人网格或牵头部门范围内",
            "the hazard is outside this user's grids or department",
        ));
    }
    let office_or_dept = matches!(user.role, Role::Reviewer | Role::TownOffice);
    let event_day = ms_to_date(r.ms);
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
    let st = s.state;
    let wrong_state = || Refusal {
        code: "wrong_state".into(),
        zh: format!("当前状态（{}）不允许此操作", st.label_zh()),
        en: format!("not allowed in state {}", st.as_str()),
    };
    match kind {
        EventKind::Register => {
            if st != State::Draft {
                return Err(refuse("already_registered", "已上账", "already registered"));
            }
            s.state = State::Registered;
            s.deadline = h.deadline.clone();
            if h.severity_proposed == "major_candidate" {
                s.confirmation = Confirmation::Pending;
            }
        }
        EventKind::Notify => {
            if !matches!(st, State::Registered | State::Notified) {
                return Err(wrong_state());
            }
            if let Some(d) = check_deadline(&r.deadline)? {
                s.deadline = Some(d);
            }
            s.state = State::Notified;
        }
        EventKind::Rectify => {
            if user.role != Role::Inspector {
                return Err(refuse(
                    "inspector_only",
                    "即改由现场网格员记录",
                    "an on-the-spot fix is recorded by the inspector on site",
                ));
            }
            if !matches!(st, State::Registered | State::Notified) {
                return Err(wrong_state());
            }
            if matches!(
                s.confirmation,
                Confirmation::Pending | Confirmation::Confirmed
            ) {
                return Err(refuse(
                    "major_not_on_spot",
                    "重大隐患不得即改销号，须牵头部门处置",
                    "a major hazard cannot be fixed on the spot; it goes to the lead department",
                ));
            }
            if h.photos.iter().all(|p| p.role != "before") {
                return Err(refuse(
                    "before_photo_missing",
                    "缺少整改前照片",
                    "no before photo was taken",
                ));
            }
            if !nonempty(&r.photo) {
                return Err(refuse(
                    "after_photo_missing",
                    "缺少整改后照片",
                    "an after photo is required",
                ));
            }
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
        EventKind::Claim => {
            if !matches!(
                st,
                State::Registered | State::Notified | State::Rectifying | State::Escalated
            ) {
                return Err(wrong_state());
            }
            if user.role != Role::Inspector {
                return Err(refuse(
                    "inspector_only",
                    "整改申报由网格员提交",
                    "a rectification is claimed by the inspector",
                ));
            }
            if s.confirmation == Confirmation::Pending {
                return Err(refuse(
                    "confirmation_pending",
                    "重大隐患待认定",
                    "the major candidate awaits the department's confirmation",
                ));
            }
            if !nonempty(&r.photo) {
                return Err(refuse(
                    "after_photo_missing",
                    "缺少整改后照片",
                    "an after photo is required",
                ));
            }
            s.state = State::RectifiedClaimed;
            s.rectified_at = Some(ms_to_rfc3339(r.ms));
        }
        EventKind::OwnerClaim => {
            if !matches!(
                st,
                State::Registered | State::Notified | State::Rectifying | State::Escalated
            ) {
                return Err(wrong_state());
            }
            if !office_or_dept {
                return Err(refuse(
                    "reviewer_only",
                    "业主自查上报须由牵头部门或镇安委办采纳",
                    "an owner's self-report is accepted by the lead department or the town office",
                ));
            }
            if s.confirmation == Confirmation::Pending {
                return Err(refuse(
                    "confirmation_pending",
                    "重大隐患待认定",
                    "the major candidate awaits the department's confirmation",
                ));
            }
            if !nonempty(&r.photo) {
                return Err(refuse(
                    "after_photo_missing",
                    "缺少整改后照片",
                    "an after photo is required",
                ));
            }
            s.state = State::RectifiedClaimed;
            s.rectified_at = Some(ms_to_rfc3339(r.ms));
        }
        EventKind::Close => {
            if !office_or_dept {
                return Err(refuse(
                    "reviewer_only",
                    "须由牵头部门审核销号，网格员不能销号",
                    "only the lead department or town office can close (审核销号); an inspector cannot",
                ));
            }
            if st != State::RectifiedClaimed {
                return Err(wrong_state());
            }
            if s.confirmation == Confirmation::Pending {
                return Err(refuse(
                    "confirmation_pending",
                    "重大隐患待认定，须先认定或降级",
                    "confirm or downgrade the major candidate first",
                ));
            }
            if s.confirmation == Confirmation::Confirmed {
                if s.plan.is_none() {
                    return Err(refuse(
                        "plan_required",
                        "重大隐患须有治理方案",
                        "a major hazard needs a treatment plan (治理方案)",
                    ));
                }
                if !s.rechecked_by.iter().any(|u| u != &user.id) {
                    return Err(refuse(
                        "second_person_required",
                        "重大隐患销号前须由他人现场复核",
                        "a major hazard needs an on-site recheck by a second person before closing",
                    ));
                }
            }
            s.state = State::Closed;
            s.closed_at = Some(ms_to_rfc3339(r.ms));
            s.closed_by = Some(user.id.clone());
        }
        EventKind::Reject => {
            if !office_or_dept {
                return Err(refuse(
                    "reviewer_only",
                    "须由牵头部门审核",
                    "only the lead department or town office reviews rectifications",
                ));
            }
            if st != State::RectifiedClaimed {
                return Err(wrong_state());
            }
            need_reason()?;
            s.state = State::Rectifying;
            s.reopened += 1;
            s.rechecked_by.clear();
        }
        EventKind::Escalate => {
            if !office_or_dept {
                return Err(refuse(
                    "reviewer_only",
                    "须由牵头部门或镇安委办升级",
                    "only the lead department or town office escalates",
                ));
            }
            if !matches!(st, State::Registered | State::Notified | State::Rectifying) {
                return Err(wrong_state());
            }
            let overdue = s
                .deadline
                .as_deref()
                .and_then(|d| parse_date(d).ok())
                .is_some_and(|d| d < event_day);
            if !overdue {
                return Err(refuse(
                    "not_overdue",
                    "未逾期，不能升级督办",
                    "only an overdue hazard can be escalated",
                ));
            }
            need_reason()?;
            s.state = State::Escalated;
            s.escalations += 1;
        }
        EventKind::Reopen => {
            if !office_or_dept {
                return Err(refuse(
                    "reviewer_only",
                    "须由牵头部门或镇安委办重新打开",
                    "only the lead department or town office reopens",
                ));
            }
            if st != State::Closed {
                return Err(wrong_state());
            }
            need_reason()?;
            s.state = State::Rectifying;
            s.reopened += 1;
            s.closed_at = None;
            s.closed_by = None;
            s.rechecked_by.clear();
        }
        EventKind::ConfirmMajor | EventKind::Downgrade => {
            if user.role != Role::Reviewer {
                return Err(refuse(
                    "department_only",
                    "重大隐患由牵头部门认定",
                    "only the lead department confirms or downgrades a major candidate",
                ));
            }
            if s.confirmation != Confirmation::Pending {
                return Err(refuse(
                    "not_pending",
                    "不是待认定的重大隐患",
                    "not a major candidate awaiting confirmation",
                ));
            }
            if st == State::Closed {
                return Err(wrong_state());
            }
            if kind == EventKind::Downgrade {
                need_reason()?;
                s.confirmation = Confirmation::Downgraded;
                s.severity = "general".into();
            } else {
                s.confirmation = Confirmation::Confirmed;
                s.severity = "major".into();
            }
        }
        EventKind::SetDeadline => {
            if !office_or_dept {
                return Err(refuse(
                    "reviewer_only",
                    "整改期限由牵头部门设定",
                    "only the lead department or town office sets deadlines",
                ));
            }
            if !st.awaits_rectification() {
                return Err(wrong_state());
            }
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
            if !st.is_open() {
                return Err(wrong_state());
            }
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
            if !office_or_dept {
                return Err(refuse(
                    "reviewer_only",
                    "现场复核由牵头部门或镇安委办进行",
                    "only the lead department or town office rechecks",
                ));
            }
            if st != State::RectifiedClaimed {
                return Err(wrong_state());
            }
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
