//! What a record must agree with when it arrives from another replica. A new hazard's
//! registration data is checked against the venue it names, the inspection and pinned checklist
//! item it comes from, the directory, and the person who pushed it ([`check_new_hazard`]). Every
//! change to a record keeps its history: events appended only, each allowed where its author
//! stood, no clock from the future, sealed inspections sealed ([`check_update`]). The relay runs
//! both on what phones push; a phone runs the second on what it pulls, so a compromised relay
//! cannot rewrite history either. What fails is refused for that record alone, with the reason.

mod history;

pub use history::{CLOCK_BOUND_MS, UpdateContext, check_update};

use crate::directory::{Directory, Role, User};
use crate::error::Refusal;
use crate::eval::{Answer, evaluate_item, propose};
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
    if h.lifecycle < crate::lifecycle::RULES {
        return Err(refuse(
            "old_rules",
            "新登记的隐患须按现行处置规则登记，请更新应用后再同步".into(),
            format!(
                "a new hazard is registered under lifecycle rules {} (this one says {}); update the app and sync again",
                crate::lifecycle::RULES,
                h.lifecycle
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
    // A 转办 ticket registers as a referral, any other ticket as a public report.
    let referral_ticket = h
        .ticket_no
        .as_deref()
        .is_some_and(|t| t.split(' ').next() == Some(crate::workflow::REFERRAL_CHANNEL));
    match h.source.as_str() {
        "inspection" => check_finding(h, venue, cx),
        "public_report" if referral_ticket => Err(refuse(
            "wrong_source",
            "部门转办工单查实的隐患应登记为转办".into(),
            format!(
                "the ticket {:?} is a referral; its hazard registers as one",
                h.ticket_no
            ),
        )),
        "referral" if !referral_ticket => Err(refuse(
            "bad_source",
            "转办隐患须来自部门转办工单".into(),
            "a referral is registered from a referral ticket (转办)".into(),
        )),
        "public_report" | "referral" if h.template_id != "public_report" => {
            check_matched_report(h, venue, cx)
        }
        "public_report" | "referral" => {
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

/// A public report matched to a checklist item registers as that item's finding would.
fn check_matched_report(
    h: &HazardHeader,
    venue: &Venue,
    cx: HazardContext<'_>,
) -> Result<(), Refusal> {
    let item = template_item(h, cx.template)?;
    if h.ticket_no.as_deref().is_none_or(|t| t.trim().is_empty()) {
        return Err(refuse(
            "bad_public_report",
            "群众举报隐患须有工单号".into(),
            "a public report's hazard carries its ticket number".into(),
        ));
    }
    let level = crate::workflow::report_severity(item, &venue.profile);
    if level == Level::MajorCandidate && h.severity_proposed != "major_candidate" {
        return Err(refuse(
            "severity_too_low",
            "隐患等级低于检查表规则（应为重大隐患待认定）".into(),
            format!("{} is a major candidate at this venue", item.id),
        ));
    }
    if !same_set(&h.lead_depts, &item.lead_depts) || h.domain != item.domain {
        return Err(wrong_departments(h, &item.lead_depts, &item.domain));
    }
    let expected = crate::workflow::deadline_of(
        crate::clock::ms_to_date(h.found_ms),
        crate::template::FixMode::Deadline,
        item.deadline_days,
    );
    if h.deadline.as_deref() != Some(expected.as_str()) {
        return Err(refuse(
            "wrong_deadline",
            "整改期限与检查表规定不一致".into(),
            format!(
                "the deadline is {:?}; the checklist gives {expected}",
                h.deadline
            ),
        ));
    }
    Ok(())
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
    // 即改 or 限期 is the inspector's to choose, never 即改 for a major candidate; the deadline
    // follows from the choice and the item's period.
    let mode = match h.fix_mode.as_str() {
        "on_spot" => crate::template::FixMode::OnSpot,
        "deadline" => crate::template::FixMode::Deadline,
        other => {
            return Err(refuse(
                "bad_fix_mode",
                "整改方式须为即改或限期整改".into(),
                format!("fix mode {other:?} is neither on_spot nor deadline"),
            ));
        }
    };
    if mode == crate::template::FixMode::OnSpot && proposal.severity == Level::MajorCandidate {
        return Err(refuse(
            "major_not_on_spot",
            "重大隐患（待认定）不能即改".into(),
            "a major candidate cannot be fixed on the spot".into(),
        ));
    }
    let expected = crate::workflow::deadline_of(
        crate::clock::ms_to_date(h.found_ms),
        mode,
        item.deadline_days,
    );
    if h.deadline.as_deref() != Some(expected.as_str()) {
        return Err(refuse(
            "wrong_deadline",
            "整改期限与检查表规定不一致".into(),
            format!(
                "{}: the deadline is {:?}; the checklist gives {expected}",
                item.id, h.deadline
            ),
        ));
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
