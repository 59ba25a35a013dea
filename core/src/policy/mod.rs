//! Who may do what: every rule about roles, scope and state, in one place. Each function answers,
//! for a user, a record and an action, "may they" — and when not, why not, in words that can be
//! shown as they are. The lifecycle fold, the phone store, the relay and the dashboard ask here;
//! none of them decides a role or scope on its own.
//!
//! The answers are pinned by table tests: `core/tests/policy_table.rs` for every role × event ×
//! state × scope and every role × capability, `tests/tests/policy_records.rs` for record writes on
//! the phone and the relay.
//!
//! Here: hazards (scope and the §6.3 event rules); [`records`]: records on the phone and at the
//! relay; [`office`]: the office's pages.

mod office;
mod records;

pub use office::{Capability, check, role_may};
pub use records::{
    check_edit_venue, check_grid, check_inspect, check_move_venue, check_register_venue,
    check_venue_scope, may_issue_notice, may_print_venue_notice, may_sign_owner_link,
    may_verify_report, may_write_record, record_scope, venue_list_grids,
};

use time::Date;

use crate::clock::parse_date;
use crate::directory::{Role, User};
use crate::error::Refusal;
use crate::hazard_state::{Confirmation, EventKind, HazardStatus, State};
use crate::records::HazardHeader;

fn refuse(code: &str, zh: &str, en: &str) -> Refusal {
    Refusal {
        code: code.into(),
        zh: zh.into(),
        en: en.into(),
    }
}

/// Whether a hazard in `grid` with lead departments `depts` is `user`'s to see and act on: an
/// inspector's grids, a reviewer's department, everything for the town office, nothing for an
/// administrator.
pub fn hazard_in_scope(user: &User, grid: &str, depts: &[String]) -> bool {
    match user.role {
        Role::Inspector => user.grids.iter().any(|g| g == grid),
        Role::Reviewer => user.department.as_ref().is_some_and(|d| depts.contains(d)),
        Role::TownOffice => true,
        Role::Admin => false,
    }
}

/// The hazards a user may list, as the list queries need it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HazardScope<'a> {
    /// The town office: every hazard.
    All,
    /// An inspector: the hazards of these grids.
    Grids(&'a [String]),
    /// A reviewer: the hazards this department leads.
    Department(&'a str),
}

/// What `user` may list; administrators list no hazards.
pub fn hazard_scope(user: &User) -> Result<HazardScope<'_>, Refusal> {
    match user.role {
        Role::Inspector => Ok(HazardScope::Grids(&user.grids)),
        Role::Reviewer => Ok(HazardScope::Department(
            user.department.as_deref().unwrap_or(""),
        )),
        Role::TownOffice => Ok(HazardScope::All),
        Role::Admin => Err(refuse(
            "admin",
            "管理员不查看隐患",
            "administrators do not see hazards",
        )),
    }
}

/// May `user` (`None`: the writing device is bound to no known user) record an event of `kind`
/// on hazard `h` in status `s`, on `day`? This is the role, scope and state part of the §6.3
/// rules; what the event must carry (a reason, a photo, a valid deadline) is checked by the
/// lifecycle after this says yes.
pub fn check_event(
    user: Option<&User>,
    h: &HazardHeader,
    s: &HazardStatus,
    kind: EventKind,
    day: Date,
) -> Result<(), Refusal> {
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
    // Where it was found, or where its venue is now (the new grid's worker takes it over).
    if !hazard_in_scope(user, &h.grid_id, &h.lead_depts)
        && !s
            .venue_grid
            .as_deref()
            .is_some_and(|g| hazard_in_scope(user, g, &h.lead_depts))
    {
        return Err(refuse(
            "out_of_scope",
            "不在本人网格或牵头部门范围内",
            "the hazard is outside this user's grids or department",
        ));
    }
    let office_or_dept = matches!(user.role, Role::Reviewer | Role::TownOffice);
    // Rules 2 (December 2026): the lead department alone reviews, closes and rechecks; the town
    // office tracks and proposes (§6.1). A claim comes after the notice.
    let v2 = h.lifecycle >= 2;
    let dept_only = |zh: &str, en: &str| {
        if user.role == Role::Reviewer {
            Ok(())
        } else {
            Err(refuse("department_only", zh, en))
        }
    };
    let st = s.state;
    let wrong_state = || Refusal {
        code: "wrong_state".into(),
        zh: format!("当前状态（{}）不允许此操作", st.label_zh()),
        en: format!("not allowed in state {}", st.as_str()),
    };
    let pending = || {
        refuse(
            "confirmation_pending",
            "重大隐患待认定",
            "the major candidate awaits the department's confirmation",
        )
    };
    match kind {
        EventKind::Register => {
            if st != State::Draft {
                return Err(refuse("already_registered", "已上账", "already registered"));
            }
        }
        EventKind::Notify => {
            if !matches!(st, State::Registered | State::Notified) {
                return Err(wrong_state());
            }
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
        }
        EventKind::Claim => {
            let claimable = if v2 {
                matches!(st, State::Notified | State::Rectifying | State::Escalated)
            } else {
                matches!(
                    st,
                    State::Registered | State::Notified | State::Rectifying | State::Escalated
                )
            };
            if !claimable {
                return Err(if v2 && st == State::Registered {
                    refuse(
                        "not_notified",
                        "须先送达整改通知，才能申报整改完成（当场整改请选“即查即改”）",
                        "serve the notice before claiming a rectification (an on-the-spot fix is recorded as such)",
                    )
                } else {
                    wrong_state()
                });
            }
            if user.role != Role::Inspector {
                return Err(refuse(
                    "inspector_only",
                    "整改申报由网格员提交",
                    "a rectification is claimed by the inspector",
                ));
            }
            if s.confirmation == Confirmation::Pending {
                return Err(pending());
            }
        }
        EventKind::OwnerClaim => {
            let claimable = if v2 {
                matches!(st, State::Notified | State::Rectifying | State::Escalated)
            } else {
                matches!(
                    st,
                    State::Registered | State::Notified | State::Rectifying | State::Escalated
                )
            };
            if !claimable {
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
                return Err(pending());
            }
        }
        EventKind::Close => {
            if v2 {
                dept_only(
                    "审核销号由牵头部门负责，镇安委办跟踪督促",
                    "the lead department closes (审核销号); the town office tracks and proposes",
                )?;
            }
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
        }
        EventKind::Reject => {
            if v2 {
                dept_only(
                    "整改审核由牵头部门负责",
                    "the lead department reviews rectifications",
                )?;
            }
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
                .is_some_and(|d| d < day);
            if !overdue {
                return Err(refuse(
                    "not_overdue",
                    "未逾期，不能升级督办",
                    "only an overdue hazard can be escalated",
                ));
            }
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
        }
        EventKind::Plan => {
            if !st.is_open() {
                return Err(wrong_state());
            }
        }
        EventKind::Recheck => {
            if v2 {
                dept_only(
                    "现场复核由牵头部门进行",
                    "the lead department rechecks on site",
                )?;
            }
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
        }
        EventKind::Dismiss => {
            dept_only(
                "不予上账由牵头部门决定",
                "the lead department decides not to register a report",
            )?;
            if st != State::Registered {
                return Err(wrong_state());
            }
        }
        EventKind::Control => {
            if !matches!(user.role, Role::Reviewer | Role::Inspector) {
                return Err(refuse(
                    "dept_or_inspector",
                    "临时管控措施由牵头部门或现场网格员记录",
                    "control measures are recorded by the lead department or the inspector on site",
                ));
            }
            if !st.is_open() {
                return Err(wrong_state());
            }
        }
        EventKind::Supervise => {
            dept_only(
                "挂牌督办由牵头部门据政府督办文件记录；镇安委办可提出督办建议（升级督办）",
                "the lead department records a government's 挂牌督办; the town office proposes it (escalate)",
            )?;
            if !st.is_open() {
                return Err(wrong_state());
            }
            if s.confirmation != Confirmation::Confirmed {
                return Err(refuse(
                    "not_major",
                    "挂牌督办针对已认定的重大隐患",
                    "挂牌督办 is for a confirmed major hazard",
                ));
            }
        }
        EventKind::Assign => {
            if !office_or_dept {
                return Err(refuse(
                    "reviewer_only",
                    "承办人由牵头部门或镇安委办指派",
                    "the lead department or the town office assigns the handler",
                ));
            }
            if !st.is_open() {
                return Err(wrong_state());
            }
        }
    }
    Ok(())
}

/// Whether `assignee` may handle hazard `h`: a reviewer of one of its lead departments (a
/// department's hazards are handled in that department; the town office tracks them).
pub fn check_assignee(assignee: &User, h: &HazardHeader) -> Result<(), Refusal> {
    let in_lead_dept = assignee.role == Role::Reviewer
        && assignee
            .department
            .as_ref()
            .is_some_and(|d| h.lead_depts.contains(d));
    if in_lead_dept {
        Ok(())
    } else {
        Err(Refusal {
            code: "not_in_lead_department".into(),
            zh: format!("{} 不在该隐患的牵头部门，不能承办", assignee.name),
            en: format!(
                "{} is not in a lead department of this hazard and cannot handle it",
                assignee.name
            ),
        })
    }
}

/// The people `h` can be assigned to, in the directory's order: its lead departments' reviewers.
pub fn assignable<'d>(users: &'d [User], h: &HazardHeader) -> Vec<&'d User> {
    users
        .iter()
        .filter(|u| check_assignee(u, h).is_ok())
        .collect()
}

/// The events `user` may record on this hazard now (their inputs still to be checked): what a
/// screen or a page offers.
pub fn allowed_events(
    user: &User,
    h: &HazardHeader,
    s: &HazardStatus,
    day: Date,
) -> Vec<EventKind> {
    EventKind::ALL
        .iter()
        .copied()
        .filter(|k| check_event(Some(user), h, s, *k, day).is_ok())
        .collect()
}
