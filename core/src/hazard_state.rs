//! The vocabulary of the hazard lifecycle (checklists.md §6.3): events, states, the confirmation
//! of a major candidate, and a hazard's derived status with its history. [`crate::lifecycle`]
//! derives the status; [`crate::policy`] says who may record which event in which state.

use serde::{Deserialize, Serialize};

use crate::clock::{Hlc, parse_date};
use crate::directory::Role;
use crate::error::Refusal;

/// The lifecycle rules new hazards are registered under. 2 (December 2026): a notice needs proof
/// of service; a claim comes after the notice; the lead department alone reviews, closes and
/// rechecks (a recheck with an on-site photo); a failed review sets a new deadline (ADR 0013); a
/// 治理方案 has the six contents. Hazards registered under 1 keep folding as they did.
pub const RULES: u32 = 2;

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
    /// 不予上账: the lead department finds a report a duplicate, not substantiated or outside
    /// its remit (reason required); the hazard ends.
    Dismiss,
    /// 临时管控措施 while a hazard is open (the measures in words).
    Control,
    /// 挂牌督办 by the government that holds it, recorded by the lead department: level
    /// (`city` / `district`) and the document number.
    Supervise,
    /// 指派承办人: the lead department or the town office names who in a lead department
    /// handles the hazard (the user's id in the event's text); it shows on their to-do list.
    Assign,
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
        EventKind::Dismiss,
        EventKind::Control,
        EventKind::Supervise,
        EventKind::Assign,
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
            EventKind::Dismiss => "dismiss",
            EventKind::Control => "control",
            EventKind::Supervise => "supervise",
            EventKind::Assign => "assign",
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
            EventKind::Dismiss => "不予上账",
            EventKind::Control => "临时管控措施",
            EventKind::Supervise => "挂牌督办",
            EventKind::Assign => "指派承办人",
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
    /// 不予上账: dismissed by the lead department (duplicate, not substantiated, outside scope).
    Rejected,
}

impl State {
    pub const ALL: [State; 8] = [
        State::Draft,
        State::Registered,
        State::Notified,
        State::Rectifying,
        State::RectifiedClaimed,
        State::Escalated,
        State::Closed,
        State::Rejected,
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
            State::Rejected => "rejected",
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
            State::Rejected => "不予上账",
        }
    }
    pub fn is_open(self) -> bool {
        !matches!(self, State::Draft | State::Closed | State::Rejected)
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
    /// 临时管控措施 recorded while open, oldest first.
    #[serde(default)]
    pub controls: Vec<String>,
    /// 挂牌督办: level (`city` / `district`) and document number.
    #[serde(default)]
    pub supervision: Option<(String, String)>,
    pub rechecked_by: Vec<String>,
    /// 承办人: who in a lead department handles it (a user id), the latest assignment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    pub closed_at: Option<String>,
    pub closed_by: Option<String>,
    pub rectified_at: Option<String>,
    pub last_hlc: Hlc,
    pub history: Vec<HistoryEntry>,
    /// The grid the hazard's venue is in now, when known and other than where it was found (a
    /// venue moved to another grid): its grid worker works on the hazard there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub venue_grid: Option<String>,
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
