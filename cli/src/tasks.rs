//! `gridsafe tasks`: public reports to verify on site.

use crate::ctx::{Ctx, photo};
use anyhow::Result;
use clap::Subcommand;
use gridsafe_core::Store;
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub(crate) enum TasksCmd {
    /// Reports in my grids, unverified first.
    List,
    /// Record what was found on site: --substantiated with the venue (a hazard is registered,
    /// source public_report), or --reason why it is not substantiated.
    Verify {
        id: String,
        #[arg(long)]
        substantiated: bool,
        #[arg(long)]
        venue: Option<String>,
        /// What was found (the hazard's finding; the report's description when absent).
        #[arg(long, default_value = "")]
        finding: String,
        #[arg(long, default_value = "")]
        reason: String,
        /// A photo of what was found.
        #[arg(long)]
        photo: Option<PathBuf>,
        /// The checklist item the finding matches (gas.hose_length …): registered with that
        /// item's severity, basis and departments.
        #[arg(long)]
        item: Option<String>,
    },
}

pub(crate) fn run(ctx: &Ctx, store: &mut Store, cmd: TasksCmd) -> Result<()> {
    match cmd {
        TasksCmd::List => {
            let rows = store.list_tasks(Some(ctx.user()?))?;
            ctx.emit(&rows, || {
                rows.iter()
                    .map(|t| {
                        format!(
                            "{} {} {} [{}] {} · {} · {}",
                            t.id,
                            t.channel,
                            t.ticket_no,
                            t.status,
                            t.grid_id,
                            t.address,
                            t.description
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        TasksCmd::Verify {
            id,
            substantiated,
            venue,
            finding,
            reason,
            photo: p,
            item,
        } => {
            let verdict = gridsafe_core::store::TaskVerdict {
                substantiated,
                reason,
                venue_id: venue,
                finding,
                photo: photo(&p, "before")?,
                item_id: item,
            };
            let hazard = store.verify_task(ctx.user()?, &id, verdict)?;
            let out = serde_json::json!({"task": id, "substantiated": substantiated, "hazard_id": hazard});
            ctx.emit(&out, || match &hazard {
                Some(h) => {
                    format!("查实 substantiated: hazard {h} registered (source public_report)")
                }
                None => "不属实 not substantiated: the report is closed with the reason".to_owned(),
            })
        }
    }
}
