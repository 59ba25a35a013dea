//! `gridsafe hazards` (list, show) and `gridsafe hazard` (lifecycle actions).

use crate::ctx::{Ctx, photo};
use anyhow::Result;
use clap::{Args, Subcommand};
use gridsafe_core::Store;
use gridsafe_core::lifecycle::EventKind;
use gridsafe_core::store::{Action, HazardQuery};
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub(crate) enum HazardsCmd {
    /// Hazards in my scope, by due date.
    List {
        #[arg(long)]
        open: bool,
        #[arg(long)]
        overdue: bool,
        #[arg(long)]
        venue: Option<String>,
        /// Ignore scope (every hazard on this phone).
        #[arg(long)]
        all: bool,
    },
    /// One hazard with its derived state and full event history.
    Show { id: String },
}

#[derive(Args, Debug)]
pub(crate) struct PhotoArg {
    /// After photo (or notice/signature photo for notify).
    #[arg(long)]
    photo: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub(crate) enum HazardCmd {
    /// Serve the rectification notice (整改通知); optionally set the deadline.
    Notify {
        id: String,
        #[arg(long)]
        deadline: Option<String>,
        #[command(flatten)]
        photo: PhotoArg,
    },
    /// 即改: fixed on the spot during the same visit, with an after photo.
    Rectify {
        id: String,
        #[command(flatten)]
        photo: PhotoArg,
    },
    /// Claim rectification with an after photo.
    Claim {
        id: String,
        #[command(flatten)]
        photo: PhotoArg,
    },
    /// 审核销号: close after review.
    Close {
        id: String,
        #[arg(long)]
        note: Option<String>,
    },
    /// Reject a claimed rectification, with the new deadline (rules 2).
    Reject {
        id: String,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        deadline: Option<String>,
    },
    /// 不予上账: a duplicate, unsubstantiated or out-of-scope report (lead department).
    Dismiss {
        id: String,
        #[arg(long)]
        reason: String,
    },
    /// 临时管控措施 while the hazard is open.
    Control {
        id: String,
        #[arg(long)]
        measures: String,
    },
    /// 挂牌督办 recorded by the lead department: level city or district, and the document number.
    Supervise {
        id: String,
        #[arg(long)]
        level: String,
        #[arg(long)]
        document: String,
    },
    /// Escalate an overdue hazard (referral / 挂牌督办 proposal).
    Escalate {
        id: String,
        #[arg(long)]
        reason: String,
    },
    /// Reopen a closed hazard whose rectification was false.
    Reopen {
        id: String,
        #[arg(long)]
        reason: String,
    },
    /// Confirm a major candidate (lead department).
    Confirm { id: String },
    /// Downgrade a major candidate to general (lead department).
    Downgrade {
        id: String,
        #[arg(long)]
        reason: String,
    },
    /// Set a new deadline.
    Deadline {
        id: String,
        #[arg(long)]
        deadline: String,
    },
    /// Record the treatment plan (治理方案) of a major hazard: its six contents.
    Plan {
        id: String,
        /// 目标和任务.
        #[arg(long)]
        goal: String,
        /// 方法和措施.
        #[arg(long)]
        method: String,
        /// 经费和物资.
        #[arg(long)]
        funds: String,
        /// 负责机构和人员.
        #[arg(long)]
        owner: String,
        /// 时限和要求.
        #[arg(long)]
        timeline: String,
        /// 安全措施和应急预案.
        #[arg(long)]
        safety: String,
    },
    /// Second-person on-site recheck before closing a major hazard.
    Recheck {
        id: String,
        #[arg(long)]
        note: Option<String>,
        #[command(flatten)]
        photo: PhotoArg,
    },
}

pub(crate) fn list(ctx: &Ctx, store: &Store, cmd: HazardsCmd) -> Result<()> {
    match cmd {
        HazardsCmd::List {
            open,
            overdue,
            venue,
            all,
        } => {
            let scope_user = if all {
                None
            } else {
                Some(ctx.user()?.to_owned())
            };
            let rows = store.list_hazards(&HazardQuery {
                scope_user,
                venue_id: venue,
                open_only: open,
                overdue_only: overdue,
                ..Default::default()
            })?;
            ctx.emit(&rows, || {
                rows.iter()
                    .map(|h| {
                        format!(
                            "{} {:<18} {:<16} {:<10} {:<36} {}{}",
                            h.id,
                            h.state,
                            h.severity,
                            h.due_date.as_deref().unwrap_or("-"),
                            h.item_id,
                            h.venue_name,
                            if h.overdue { "  逾期 OVERDUE" } else { "" }
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        HazardsCmd::Show { id } => {
            let h = store.hazard(&id)?;
            ctx.emit(&h, || {
                let s = &h.status;
                let mut out = format!(
                    "{} {}\n{} / {}\n发现 finding: {} / {}\n状态 state: {} ({}){}  严重程度 severity: {}  期限 deadline: {}\n牵头部门 lead: {}  依据 basis: {}\n",
                    h.header.id,
                    h.header.venue_name,
                    h.header.title_zh,
                    h.header.title_en,
                    h.header.finding_zh,
                    h.header.finding_en,
                    s.state.label_zh(),
                    s.state.as_str(),
                    if h.overdue { " 逾期 OVERDUE" } else { "" },
                    s.severity,
                    s.deadline.as_deref().unwrap_or("-"),
                    h.header.lead_depts.join("、"),
                    gridsafe_core::citations::printed(&h.header).join("；")
                );
                out.push_str("\n历史 history:\n");
                for e in &s.history {
                    out.push_str(&format!(
                        "  {} {:<13} {:<10} {}{}\n",
                        e.at,
                        e.kind,
                        e.user.as_deref().unwrap_or("?"),
                        if e.applied { "applied" } else { "REFUSED 未生效" },
                        e.refusal.as_ref().map(|r| format!(": {r}")).unwrap_or_default()
                    ));
                }
                out
            })
        }
    }
}

pub(crate) fn act(ctx: &Ctx, store: &mut Store, cmd: HazardCmd) -> Result<()> {
    let (id, action) = match cmd {
        HazardCmd::Notify {
            id,
            deadline,
            photo: p,
        } => (
            id,
            Action {
                deadline,
                photo: photo(&p.photo, "document")?,
                ..Action::new(EventKind::Notify)
            },
        ),
        HazardCmd::Rectify { id, photo: p } => (
            id,
            Action {
                photo: photo(&p.photo, "after")?,
                ..Action::new(EventKind::Rectify)
            },
        ),
        HazardCmd::Claim { id, photo: p } => (
            id,
            Action {
                photo: photo(&p.photo, "after")?,
                ..Action::new(EventKind::Claim)
            },
        ),
        HazardCmd::Close { id, note } => (
            id,
            Action {
                text: note,
                ..Action::new(EventKind::Close)
            },
        ),
        HazardCmd::Reject {
            id,
            reason,
            deadline,
        } => (
            id,
            Action {
                reason: Some(reason),
                deadline,
                ..Action::new(EventKind::Reject)
            },
        ),
        HazardCmd::Dismiss { id, reason } => (
            id,
            Action {
                reason: Some(reason),
                ..Action::new(EventKind::Dismiss)
            },
        ),
        HazardCmd::Control { id, measures } => (
            id,
            Action {
                text: Some(measures),
                ..Action::new(EventKind::Control)
            },
        ),
        HazardCmd::Supervise {
            id,
            level,
            document,
        } => (
            id,
            Action {
                text: Some(level),
                reason: Some(document),
                ..Action::new(EventKind::Supervise)
            },
        ),
        HazardCmd::Escalate { id, reason } => (
            id,
            Action {
                reason: Some(reason),
                ..Action::new(EventKind::Escalate)
            },
        ),
        HazardCmd::Reopen { id, reason } => (
            id,
            Action {
                reason: Some(reason),
                ..Action::new(EventKind::Reopen)
            },
        ),
        HazardCmd::Confirm { id } => (id, Action::new(EventKind::ConfirmMajor)),
        HazardCmd::Downgrade { id, reason } => (
            id,
            Action {
                reason: Some(reason),
                ..Action::new(EventKind::Downgrade)
            },
        ),
        HazardCmd::Deadline { id, deadline } => (
            id,
            Action {
                deadline: Some(deadline),
                ..Action::new(EventKind::SetDeadline)
            },
        ),
        HazardCmd::Plan {
            id,
            goal,
            method,
            funds,
            owner,
            timeline,
            safety,
        } => (
            id,
            Action {
                text: Some(
                    gridsafe_core::lifecycle::TreatmentPlan {
                        goal,
                        method,
                        funds,
                        owner,
                        timeline,
                        safety,
                    }
                    .to_text(),
                ),
                ..Action::new(EventKind::Plan)
            },
        ),
        HazardCmd::Recheck { id, note, photo: p } => (
            id,
            Action {
                text: note,
                photo: photo(&p.photo, "after")?,
                ..Action::new(EventKind::Recheck)
            },
        ),
    };
    let v = store.transition(ctx.user()?, &id, action)?;
    ctx.emit(&v, || {
        format!(
            "{} → {} ({})",
            v.header.id,
            v.status.state.label_zh(),
            v.status.state.as_str()
        )
    })
}
