//! Who may create, edit and write records: on the phone (grids) and at the relay (grids and
//! departments), and what a device receives.

use super::*;
use crate::directory::{Role, User};
use crate::records::DocKind;

/// May `user` work on records in `grid` on the phone? Inspectors only in their own grids; the
/// office roles anywhere. The message names the grid and the user.
pub fn check_grid(user: &User, grid: &str) -> Result<(), String> {
    if user.role == Role::Inspector && !user.grids.iter().any(|g| g == grid) {
        return Err(format!("grid {grid} is not one of {}'s grids", user.id));
    }
    Ok(())
}

/// May `user` register a venue? Grid workers and the town office do; a lead department's
/// reviewer works on venues where their department leads a hazard, which a new venue has not.
pub fn check_register_venue(user: &User) -> Result<(), String> {
    match user.role {
        Role::Admin => Err("administrators do not register venues".into()),
        Role::Reviewer => Err(
            "a lead department's reviewer registers no venues; the grid worker or the town office does"
                .into(),
        ),
        Role::Inspector | Role::TownOffice => Ok(()),
    }
}

/// May `user` work on a venue in `grid` where these departments lead a hazard (edit it, inspect
/// it)? Inspectors in their grids, reviewers where their department leads a hazard — the same
/// rule the relay applies to what it accepts ([`may_write_record`]).
pub fn check_venue_scope(user: &User, grid: &str, venue_depts: &[String]) -> Result<(), String> {
    check_grid(user, grid)?;
    if user.role == Role::Reviewer
        && !user
            .department
            .as_ref()
            .is_some_and(|d| venue_depts.contains(d))
    {
        return Err(format!(
            "the venue in grid {grid} has no hazard led by {}'s department",
            user.id
        ));
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

/// May `user` move a venue from `from` to another grid (a venue registered in the wrong grid, or
/// grids redrawn)? The grid worker of the grid it is in, handing it to a neighbour, and the town
/// office; a lead department does not decide where a venue belongs.
pub fn check_move_venue(user: &User, from: &str) -> Result<(), String> {
    match user.role {
        Role::Admin | Role::Reviewer => Err(format!(
            "{} may not move venues between grids; the grid worker or the town office does",
            user.id
        )),
        Role::Inspector => check_grid(user, from),
        Role::TownOffice => Ok(()),
    }
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

/// May `user` write (push changes to), or read, a record of this kind in `grid` — the grid of
/// the record's venue now — with departments `depts`: a hazard's lead departments, or for a
/// venue and its inspections the departments that lead a hazard at the venue? Inspectors in
/// their grids; a lead department's reviewer where their department leads a hazard (a
/// reviewer checks a venue only where their department has something to check); the town
/// office everywhere; administrators nowhere.
pub fn may_write_record(user: &User, kind: DocKind, grid: &str, depts: &[String]) -> bool {
    match user.role {
        Role::Admin => false,
        Role::TownOffice => true,
        Role::Inspector => user.grids.iter().any(|g| g == grid),
        Role::Reviewer => match kind {
            DocKind::Hazard | DocKind::Venue | DocKind::Inspection => {
                user.department.as_ref().is_some_and(|d| depts.contains(d))
            }
            // Public reports are verified by the grid's inspector; the office enters them.
            DocKind::Task => false,
        },
    }
}

/// The records a device receives on pull: an inspector's grids; for a reviewer the hazards their
/// department leads and the venues (with their inspections) where it leads one; everything for
/// the office roles.
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
