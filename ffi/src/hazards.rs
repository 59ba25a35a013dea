//! Hazards: the list, one hazard with its history, lifecycle actions, the venue's notice.

use crate::{GridSafeError, GridStore, PhotoInput, off_thread, photo_of};
use gridsafe_core::lifecycle::EventKind;
use gridsafe_core::store::{Action, HazardQuery};
use std::sync::Arc;

/// Which hazards to list.
#[derive(Debug, Clone, Default, uniffi::Record)]
pub struct HazardFilter {
    /// Only what this user is responsible for (their grids or department).
    #[uniffi(default)]
    pub scope_user: Option<String>,
    #[uniffi(default)]
    pub venue_id: Option<String>,
    #[uniffi(default)]
    pub open_only: bool,
    #[uniffi(default)]
    pub overdue_only: bool,
    #[uniffi(default)]
    pub limit: Option<u32>,
}

/// A hazard as listed.
#[derive(Debug, Clone, uniffi::Record)]
pub struct Hazard {
    pub id: String,
    pub venue_id: String,
    pub venue_name: String,
    pub village: String,
    pub grid_id: String,
    pub item_id: String,
    pub domain: String,
    pub title_zh: String,
    pub title_en: String,
    /// `general`, `major_candidate` or `major`.
    pub severity: String,
    /// `registered`, `notified`, `rectifying`, `rectified_claimed`, `closed`, `escalated`, ...
    pub state: String,
    pub due_date: Option<String>,
    pub overdue: bool,
    pub lead_depts: Vec<String>,
    pub source: String,
    pub fix_mode: String,
    pub focus: bool,
    pub found_at: String,
}

/// A 整改通知书 ready to print or share.
#[derive(Debug, Clone, uniffi::Record)]
pub struct NoticeDocument {
    /// 吕巷安改〔2026〕第0101号.
    pub number: String,
    pub venue: String,
    /// Each hazard it lists, with its severity and what it requires.
    pub hazards: Vec<crate::Line>,
    /// The page as printed (A4), self-contained.
    pub html: String,
}

/// A lifecycle action on a hazard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum HazardAction {
    /// 整改通知: sets the deadline.
    Notify,
    /// 即改: fixed during the visit; needs an after photo.
    Rectify,
    /// Rectification claimed with an after photo.
    Claim,
    /// 审核销号 (reviewer or town office).
    Close,
    /// The review refuses a claimed rectification; needs a reason.
    Reject,
    /// Overdue → referral / 挂牌督办 proposal.
    Escalate,
    Reopen,
    ConfirmMajor,
    Downgrade,
    SetDeadline,
    /// 治理方案 for a major hazard; `plan` gives its six contents.
    Plan,
    /// Second person's on-site verification of a major hazard; with a photo taken on site.
    Recheck,
    /// 不予上账 (lead department): duplicate, not substantiated or outside scope; needs a reason.
    Dismiss,
    /// 临时管控措施: the measures as `text`.
    Control,
    /// 挂牌督办 (lead department): level `city` or `district` as `text`, the document number as
    /// `reason`.
    Supervise,
}

impl From<HazardAction> for EventKind {
    fn from(a: HazardAction) -> EventKind {
        match a {
            HazardAction::Notify => EventKind::Notify,
            HazardAction::Rectify => EventKind::Rectify,
            HazardAction::Claim => EventKind::Claim,
            HazardAction::Close => EventKind::Close,
            HazardAction::Reject => EventKind::Reject,
            HazardAction::Escalate => EventKind::Escalate,
            HazardAction::Reopen => EventKind::Reopen,
            HazardAction::ConfirmMajor => EventKind::ConfirmMajor,
            HazardAction::Downgrade => EventKind::Downgrade,
            HazardAction::SetDeadline => EventKind::SetDeadline,
            HazardAction::Plan => EventKind::Plan,
            HazardAction::Recheck => EventKind::Recheck,
            HazardAction::Dismiss => EventKind::Dismiss,
            HazardAction::Control => EventKind::Control,
            HazardAction::Supervise => EventKind::Supervise,
        }
    }
}

impl HazardAction {
    /// The action for a lifecycle event a person records (`None` for those the rules record
    /// themselves: registration, an owner's claim accepted as such).
    pub fn of(kind: EventKind) -> Option<HazardAction> {
        Some(match kind {
            EventKind::Notify => HazardAction::Notify,
            EventKind::Rectify => HazardAction::Rectify,
            EventKind::Claim => HazardAction::Claim,
            EventKind::Close => HazardAction::Close,
            EventKind::Reject => HazardAction::Reject,
            EventKind::Escalate => HazardAction::Escalate,
            EventKind::Reopen => HazardAction::Reopen,
            EventKind::ConfirmMajor => HazardAction::ConfirmMajor,
            EventKind::Downgrade => HazardAction::Downgrade,
            EventKind::SetDeadline => HazardAction::SetDeadline,
            EventKind::Plan => HazardAction::Plan,
            EventKind::Recheck => HazardAction::Recheck,
            EventKind::Dismiss => HazardAction::Dismiss,
            EventKind::Control => HazardAction::Control,
            EventKind::Supervise => HazardAction::Supervise,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct ActionInput {
    pub action: HazardAction,
    #[uniffi(default)]
    pub reason: Option<String>,
    /// YYYY-MM-DD.
    #[uniffi(default)]
    pub deadline: Option<String>,
    #[uniffi(default)]
    pub text: Option<String>,
    #[uniffi(default)]
    pub photo: Option<PhotoInput>,
    /// A 治理方案's six contents (for `Plan`; replaces `text`).
    #[uniffi(default)]
    pub plan: Option<TreatmentPlan>,
}

/// A 治理方案: the six contents the reference lists.
#[derive(Debug, Clone, uniffi::Record)]
pub struct TreatmentPlan {
    /// 目标和任务.
    pub goal: String,
    /// 方法和措施.
    pub method: String,
    /// 经费和物资.
    pub funds: String,
    /// 负责机构和人员.
    pub owner: String,
    /// 时限和要求.
    pub timeline: String,
    /// 安全措施和应急预案.
    pub safety: String,
}

/// One event of a hazard's history: who did what, and whether the rules applied it.
#[derive(Debug, Clone, uniffi::Record)]
pub struct HazardEvent {
    pub kind: String,
    pub at: String,
    pub user: Option<String>,
    pub applied: bool,
    pub refusal_zh: Option<String>,
    pub refusal_en: Option<String>,
    pub reason: Option<String>,
    pub deadline: Option<String>,
    pub text: Option<String>,
}

/// A hazard with its derived state and history.
#[derive(Debug, Clone, uniffi::Record)]
pub struct HazardDetail {
    pub id: String,
    pub venue_name: String,
    pub item_id: String,
    pub title_zh: String,
    pub title_en: String,
    pub finding_zh: String,
    /// The basis as printed (《…》第…条), from core's citation table.
    pub basis_refs: Vec<String>,
    pub state: String,
    pub severity: String,
    pub deadline: Option<String>,
    pub overdue: bool,
    pub lead_depts: Vec<String>,
    pub plan: Option<String>,
    pub history: Vec<HazardEvent>,
}

pub(crate) fn hazard_of(h: gridsafe_core::store::HazardRow) -> Hazard {
    Hazard {
        id: h.id,
        venue_id: h.venue_id,
        venue_name: h.venue_name,
        village: h.village,
        grid_id: h.grid_id,
        item_id: h.item_id,
        domain: h.domain,
        title_zh: h.title_zh,
        title_en: h.title_en,
        severity: h.severity,
        state: h.state,
        due_date: h.due_date,
        overdue: h.overdue,
        lead_depts: h.lead_depts,
        source: h.source,
        fix_mode: h.fix_mode,
        focus: h.focus,
        found_at: h.found_at,
    }
}

pub(crate) fn detail_of(v: gridsafe_core::store::HazardView) -> HazardDetail {
    let h = v.header;
    let s = v.status;
    let basis = gridsafe_core::citations::printed(&h);
    HazardDetail {
        id: h.id,
        venue_name: h.venue_name,
        item_id: h.item_id,
        title_zh: h.title_zh,
        title_en: h.title_en,
        finding_zh: h.finding_zh,
        basis_refs: basis,
        state: s.state.as_str().to_owned(),
        severity: s.severity,
        deadline: s.deadline,
        overdue: v.overdue,
        lead_depts: h.lead_depts,
        plan: s.plan,
        history: s
            .history
            .into_iter()
            .map(|e| HazardEvent {
                kind: e.kind,
                at: e.at,
                user: e.user,
                applied: e.applied,
                refusal_zh: e.refusal.as_ref().map(|r| r.zh.clone()),
                refusal_en: e.refusal.map(|r| r.en),
                reason: e.reason,
                deadline: e.deadline,
                text: e.text,
            })
            .collect(),
    }
}

#[uniffi::export]
impl GridStore {
    /// Hazards, soonest deadline first.
    pub fn hazards(&self, filter: HazardFilter) -> Result<Vec<Hazard>, GridSafeError> {
        let q = HazardQuery {
            scope_user: filter.scope_user,
            venue_id: filter.venue_id,
            open_only: filter.open_only,
            overdue_only: filter.overdue_only,
            limit: filter.limit,
            ..HazardQuery::default()
        };
        Ok(self
            .with(|s| s.list_hazards(&q))?
            .into_iter()
            .map(hazard_of)
            .collect())
    }

    pub fn hazard(&self, id: String) -> Result<HazardDetail, GridSafeError> {
        Ok(detail_of(self.with(|s| s.hazard(&id))?))
    }

    /// Applies a lifecycle action as `user`; a refusal comes back as [`GridSafeError::Refused`]
    /// with the rule's reason and the hazard unchanged.
    pub async fn transition(
        self: Arc<Self>,
        user: String,
        hazard_id: String,
        action: ActionInput,
    ) -> Result<HazardDetail, GridSafeError> {
        off_thread(move || {
            let a = Action {
                kind: action.action.into(),
                reason: action.reason,
                deadline: action.deadline,
                text: match action.plan {
                    Some(p) => Some(
                        gridsafe_core::lifecycle::TreatmentPlan {
                            goal: p.goal,
                            method: p.method,
                            funds: p.funds,
                            owner: p.owner,
                            timeline: p.timeline,
                            safety: p.safety,
                        }
                        .to_text(),
                    ),
                    None => action.text,
                },
                photo: action.photo.map(photo_of),
            };
            Ok(detail_of(
                self.with(|s| s.transition(&user, &hazard_id, a))?,
            ))
        })
        .await
    }

    /// The rectification notice (整改通知书) of a venue's open hazards as a self-contained HTML
    /// page (a WebView shows it for the owner to sign; the signature is then attached as the
    /// notify action's photo). Its QR code opens the owner's page, signed by this phone.
    pub fn notice_html(&self, user: String, venue_id: String) -> Result<String, GridSafeError> {
        let n = self.with(|s| s.notice(&user, &venue_id))?;
        Ok(gridsafe_core::notice::to_html(&n)?)
    }

    /// The notice as the phone's screen shows it before it is printed or shared: its number, the
    /// venue, each hazard with what it requires, in `lang`; and the page itself (`html`).
    pub fn notice(
        &self,
        user: String,
        venue_id: String,
        lang: crate::Language,
    ) -> Result<NoticeDocument, GridSafeError> {
        let n = self.with(|s| s.notice(&user, &venue_id))?;
        let zh = lang == crate::Language::Zh;
        Ok(NoticeDocument {
            html: gridsafe_core::notice::to_html(&n)?,
            number: n.number.clone(),
            venue: format!("{} · {}", n.venue_name, n.venue_address),
            hazards: n
                .hazards
                .iter()
                .map(|h| crate::Line {
                    id: h.id.clone(),
                    title: if zh {
                        h.title_zh.clone()
                    } else {
                        h.title_en.clone()
                    },
                    detail: if zh {
                        format!("{} · {}", h.severity_zh, h.requirement_zh)
                    } else {
                        format!("{} · {}", h.severity_en, h.requirement_en)
                    },
                })
                .collect(),
        })
    }
}
