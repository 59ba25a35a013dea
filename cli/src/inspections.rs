//! `gridsafe inspect`: start, answer, photograph, evaluate, finish an inspection.

use crate::ctx::{Ctx, read_file, value_arg};
use anyhow::{Context, Result};
use clap::Subcommand;
use gridsafe_core::Store;
use gridsafe_core::store::NewPhoto;
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub(crate) enum InspectCmd {
    /// Start an inspection of a venue with a template (newest version unless --version).
    Start {
        #[arg(long)]
        venue: String,
        #[arg(long)]
        template: String,
        #[arg(long)]
        version: Option<String>,
    },
    /// Answer one item. VALUE is JSON (2.5, "no", {"yn":"yes","clear_height":1.1}) or plain text.
    Answer {
        id: String,
        item: String,
        #[arg(allow_hyphen_values = true)]
        value: String,
    },
    /// Answer many items from a JSON file {"item.id": value, ...} (all or nothing).
    Answers { id: String, file: PathBuf },
    /// Attach a photo (stored content-addressed).
    Attach {
        id: String,
        #[arg(long)]
        photo: PathBuf,
        #[arg(long)]
        item: Option<String>,
        /// before, after, document, signature
        #[arg(long, default_value = "before")]
        role: String,
        #[arg(long)]
        lat: Option<f64>,
        #[arg(long)]
        lon: Option<f64>,
    },
    /// Evaluate without finishing.
    Evaluate { id: String },
    /// Finish: check completeness and photo rules, register hazards.
    Finish {
        id: String,
        /// 即改 or 限期 for a failed item, e.g. `--fix ebike.flying_lead=on_spot` (repeatable);
        /// items not named keep the checklist's default.
        #[arg(long = "fix", value_name = "ITEM=on_spot|deadline")]
        fix: Vec<String>,
    },
    /// Show an inspection.
    Show { id: String },
    /// My inspections today.
    Today,
}

pub(crate) fn print_results(results: &[gridsafe_core::eval::ItemResult]) -> String {
    results
        .iter()
        .map(|r| {
            let mark = match r.outcome {
                gridsafe_core::eval::Outcome::Pass => "✓ 合格",
                gridsafe_core::eval::Outcome::Fail => "✗ 不合格",
                gridsafe_core::eval::Outcome::NotApplicable => "– 不适用",
                gridsafe_core::eval::Outcome::Info => "i 记录",
                gridsafe_core::eval::Outcome::Unanswered => "? 未答",
            };
            let why = r
                .findings
                .iter()
                .map(|f| format!("{} / {}", f.zh, f.en))
                .collect::<Vec<_>>()
                .join("; ");
            format!("{mark:<8} {:<40} {why}", r.item_id)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub(crate) fn run(ctx: &Ctx, store: &mut Store, cmd: InspectCmd) -> Result<()> {
    match cmd {
        InspectCmd::Start {
            venue,
            template,
            version,
        } => {
            let h = store.start_inspection(ctx.user()?, &venue, &template, version.as_deref())?;
            ctx.emit(&h, || h.id.clone())
        }
        InspectCmd::Answer { id, item, value } => {
            let r = store.answer(ctx.user()?, &id, &[(item, value_arg(&value))])?;
            ctx.emit(&r, || print_results(&r))
        }
        InspectCmd::Answers { id, file } => {
            let answers = gridsafe_core::eval::answers_from_json(&read_file(&file)?)
                .with_context(|| file.display().to_string())?;
            let r = store.answer(ctx.user()?, &id, &answers)?;
            ctx.emit(&r, || print_results(&r))
        }
        InspectCmd::Attach {
            id,
            photo,
            item,
            role,
            lat,
            lon,
        } => {
            let p = NewPhoto {
                bytes: read_file(&photo)?,
                item_id: item,
                role,
                lat,
                lon,
            };
            let r = store.attach_photo(ctx.user()?, &id, p)?;
            ctx.emit(&r, || {
                format!(
                    "{}  {}×{} {} bytes  拍摄 {}  GPS {}",
                    r.sha256,
                    r.width.unwrap_or(0),
                    r.height.unwrap_or(0),
                    r.size,
                    r.captured_at,
                    r.gps_source.as_deref().unwrap_or("none")
                )
            })
        }
        InspectCmd::Evaluate { id } => {
            let r = store.evaluate(&id)?;
            ctx.emit(&r, || print_results(&r))
        }
        InspectCmd::Finish { id, fix } => {
            let mut modes = std::collections::BTreeMap::new();
            for f in &fix {
                let (item, mode) = f.split_once('=').ok_or_else(|| {
                    anyhow::anyhow!("--fix {f:?}: write ITEM=on_spot or ITEM=deadline")
                })?;
                let mode = match mode {
                    "on_spot" | "即改" => gridsafe_core::template::FixMode::OnSpot,
                    "deadline" | "限期" => gridsafe_core::template::FixMode::Deadline,
                    other => {
                        anyhow::bail!("--fix {item}: {other:?} is neither on_spot nor deadline")
                    }
                };
                modes.insert(item.to_owned(), mode);
            }
            let r = store.finish_inspection_with(ctx.user()?, &id, &modes)?;
            ctx.emit(&r, || {
                let mut s = print_results(&r.results);
                s.push_str(&format!(
                    "\n\n登记隐患 hazards registered: {}\n",
                    r.hazards.len()
                ));
                for h in &r.hazards {
                    s.push_str(&format!(
                        "  {} {} [{}] {} → {}\n",
                        h.id,
                        h.item_id,
                        h.severity,
                        h.due_date.as_deref().unwrap_or("即改"),
                        h.lead_depts.join("、")
                    ));
                }
                for (item, hid) in &r.already_open {
                    s.push_str(&format!("  已有未销号隐患 already open: {item} → {hid}\n"));
                }
                if r.combined_elements_open >= 3 {
                    s.push_str(&format!(
                        "  注意：该场所有 {} 项综合判定要素隐患未销号，请牵头部门研判\n",
                        r.combined_elements_open
                    ));
                }
                s
            })
        }
        InspectCmd::Show { id } => {
            let i = store.inspection(&id)?;
            ctx.emit(&i, || serde_json::to_string_pretty(&i).unwrap_or_default())
        }
        InspectCmd::Today => {
            let rows = store.todays_inspections(ctx.user()?)?;
            ctx.emit(&rows, || {
                rows.iter()
                    .map(|i| {
                        format!(
                            "{} {} {} {}",
                            i.started_at, i.id, i.venue_name, i.template_id
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
    }
}
