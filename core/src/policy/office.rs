//! What a signed-in person may open or do at the office, beyond single records.

use crate::directory::{Role, User};

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
    /// Issuing a period's report to the town (its figures frozen, numbered): the town office,
    /// whose reports cover the whole town.
    IssueReports,
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
        C::FollowUpSilentPhones | C::EnterPublicReports | C::IssueReports => {
            role == Role::TownOffice
        }
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
        C::IssueReports => "reports are issued by the town office",
    }
    .to_owned())
}
