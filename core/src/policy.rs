//! Who may do what: every rule about roles, scope and state, in one place. Each function answers,
//! for a user, a record and an action, "may they" — and when not, why not, in words that can be
//! shown as they are. The lifecycle fold, the phone store, the relay and the dashboard ask here;
//! none of them decides a role or scope on its own.
//!
//! The answers are pinned by two table tests (`core/tests/policy_table.rs` for every role × event
//! × state × scope, `tests/tests/policy_records.rs` for record writes on the phone and the relay).

use time::Date;

use crate::clock::parse_date;
use crate::directory::{Role, User};
use crate::error::Refusal;
use crate::hazard_state::{Confirmation, EventKind, HazardStatus, State};
use crate::records::{DocKind, HazardHeader};

fn refuse(code: &str, zh: &str, en: &str) -> Refusal {
    Refusal {
        code: code.into(),
        zh: zh.into(),
        en: en.into(),
    }
}

// ---------------------------------------------------------------------------------------------
// Hazards

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
    if !hazard_in_scope(user, &h.grid_id, &h.lead_depts) {
        return Err(refuse(
            "out_of_scope",
            "不在本人网格或牵头部门范围内",
            "the hazard is outside this user's grids or department",
        ));
    }
    let office_or_dept = matches!(user.role, Role::Reviewer | Role::TownOffice);
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
                return Err(pending());
            }
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
                return Err(pending());
            }
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
    }
    Ok(())
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

// ---------------------------------------------------------------------------------------------
// Records on the phone

/// May `user` work on records in `grid` on the phone? Inspectors only in their own grids; the
/// office roles anywhere. The message names the grid and the user.
pub fn check_grid(user: &User, grid: &str) -> Result<(), String> {
    if user.role == Role::Inspector && !user.grids.iter().any(|g| g == grid) {
        return Err(format!("grid {grid} is not one of {}'s grids", user.id));
    }
    Ok(())
}

/// May `user` register a venue?
pub fn check_register_venue(user: &User) -> Result<(), String> {
    if user.role == Role::Admin {
        return Err("administrators do not register venues".into());
    }
    Ok(())
}

/// May `user` edit a venue?
pub fn check_edit_venue(user: &User) -> Result<(), String> {
    if user.role == Role::Admin {
        return Err("administrators do not edit venues".into());
    }
    Ok(())
}

/// May `user` start an inspection?
pub fn check_inspect(user: &User) -> Result<(), String> {
    if !matches!(
        user.role,
        Role::Inspector | Role::Reviewer | Role::TownOffice
    ) {
        return Err(format!(
            "{} ({}) cannot inspect",
            user.id,
            user.role.label_zh()
        ));
    }
    Ok(())
}

/// The grids whose venues `user` lists on the phone (`None`: every grid).
pub fn venue_list_grids(user: &User) -> Option<&[String]> {
    match user.role {
        Role::Inspector => Some(&user.grids),
        _ => None,
    }
}

/// May `user` issue a venue's rectification notice? Inspectors only in their own grids.
pub fn may_issue_notice(user: &User, venue_grid: &str) -> bool {
    user.role != Role::Inspector || user.grids.iter().any(|g| g == venue_grid)
}

/// May `user` verify a public report of `grid` on site? The inspector of that grid only.
pub fn may_verify_report(user: &User, grid: &str) -> bool {
    user.role == Role::Inspector && user.grids.iter().any(|g| g == grid)
}

// ---------------------------------------------------------------------------------------------
// Records at the relay

/// May `user` write (push changes to) a record of this kind in `grid`, with lead departments
/// `depts` for a hazard? The relay's rule, which answers more widely than the phone's for
/// reviewers (see `tests/tests/policy/records.tsv`).
pub fn may_write_record(user: &User, kind: DocKind, grid: &str, depts: &[String]) -> bool {
    match user.role {
        Role::Admin => false,
        Role::TownOffice => true,
        Role::Inspector => user.grids.iter().any(|g| g == grid),
        Role::Reviewer => match kind {
            DocKind::Hazard => user.department.as_ref().is_some_and(|d| depts.contains(d)),
            // Public reports are verified by the grid's inspector; the office enters them.
            DocKind::Task => false,
            DocKind::Venue | DocKind::Inspection => true,
        },
    }
}

/// The records a device receives on pull: an inspector's grids; for a reviewer every venue,
/// inspection and task but only their department's hazards; everything for the office roles.
pub fn record_scope(user: &User) -> HazardScope<'_> {
    match user.role {
        Role::Inspector => HazardScope::Grids(&user.grids),
        Role::Reviewer => HazardScope::Department(user.department.as_deref().unwrap_or("")),
        Role::TownOffice | Role::Admin => HazardScope::All,
    }
}

/// May `user`'s dashboard device sign an owner link for a venue in `grid`?
pub fn may_sign_owner_link(user: &User, grid: &str) -> bool {
    match user.role {
        Role::Inspector => user.grids.iter().any(|g| g == grid),
        Role::Reviewer | Role::TownOffice => true,
        Role::Admin => false,
    }
}

/// May `user` print the office's notice for a venue in `grid` whose open hazards have these lead
/// departments? A reviewer only where their department leads one of them.
pub fn may_print_venue_notice<'a>(
    user: &User,
    grid: &str,
    mut hazard_depts: impl Iterator<Item = &'a [String]>,
) -> bool {
    match user.role {
        Role::TownOffice => true,
        Role::Inspector => user.grids.iter().any(|g| g == grid),
        Role::Reviewer => hazard_depts.any(|d| {
            user.department
                .as_ref()
                .is_some_and(|mine| d.contains(mine))
        }),
        Role::Admin => false,
    }
}

// ---------------------------------------------------------------------------------------------
// The office's pages

/// What a signed-in person may open or do at the office, beyond single records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Capability {
    /// Hazard lists, reports and exports (everyone but administrators).
    SeeHazards,
    /// Review actions on a hazard (the lead departments and the town office).
    Review,
    /// Device health and the audit log.
    SeeDeviceHealth,
    /// Phones that have not synced, on the overview (the town office follows them up).
    FollowUpSilentPhones,
    RevokeDevices,
    ManageUsers,
    /// Public reports (12345, 随申拍) entered for the grids to verify.
    EnterPublicReports,
    /// Owners' self-inspection findings, reviewed into hazards or dismissed.
    ReviewOwnerFindings,
    /// Ending a venue's owner links (a lost or misused notice).
    RevokeOwnerLinks,
    /// Pushing and pulling records from a phone.
    SyncRecords,
    /// Enrolling a phone for this user.
    EnrolPhones,
}

/// Whether `role` has `cap` (what a page shows in its menu and forms).
pub fn role_may(role: Role, cap: Capability) -> bool {
    use Capability as C;
    match cap {
        C::SeeHazards | C::SyncRecords | C::EnrolPhones => role != Role::Admin,
        C::Review | C::ReviewOwnerFindings | C::RevokeOwnerLinks => {
            matches!(role, Role::Reviewer | Role::TownOffice)
        }
        C::SeeDeviceHealth => matches!(role, Role::TownOffice | Role::Admin),
        C::FollowUpSilentPhones | C::EnterPublicReports => role == Role::TownOffice,
        C::RevokeDevices | C::ManageUsers => role == Role::Admin,
    }
}

/// [`role_may`] for `user`, with the reason shown when not.
pub fn check(user: &User, cap: Capability) -> Result<(), String> {
    if role_may(user.role, cap) {
        return Ok(());
    }
    use Capability as C;
    Err(match cap {
        C::SeeHazards => "administrators manage users and devices; they do not see hazards",
        C::Review => "reviews are the lead departments' and the town office's",
        C::SeeDeviceHealth => "device health is the town office's and the administrator's",
        C::FollowUpSilentPhones => "silent phones are followed up by the town office",
        C::RevokeDevices => "only an administrator revokes devices",
        C::ManageUsers => "user administration is the administrator's",
        C::EnterPublicReports => "public reports are entered by the town office",
        C::ReviewOwnerFindings => {
            "self-inspection findings are reviewed by the lead departments and the town office"
        }
        C::RevokeOwnerLinks => "owner links are revoked by a lead department or the town office",
        C::SyncRecords => "administrators do not sync records",
        C::EnrolPhones => "administrators do not enrol phones",
    }
    .to_owned())
}
