//! `gridsafe templates`: list, show, import checklist template versions.

use crate::ctx::{Ctx, read_file};
use anyhow::Result;
use clap::Subcommand;
use gridsafe_core::Store;
use gridsafe_core::template::TemplateSource;
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub(crate) enum TemplatesCmd {
    /// List installed template versions.
    List,
    /// Show one template: ID or ID@VERSION.
    Show { id: String },
    /// Install template version files (all or nothing).
    Import { files: Vec<PathBuf> },
}

pub(crate) fn run(ctx: &Ctx, store: &mut Store, cmd: Option<TemplatesCmd>) -> Result<()> {
    match cmd {
        None if ctx.json => {
            let all: Vec<_> = store
                .list_templates()?
                .iter()
                .map(|r| store.template(&r.template_id, &r.version))
                .collect::<Result<_, _>>()?;
            let all: Vec<_> = all.iter().map(|t| &**t).collect();
            ctx.emit(&all, String::new)
        }
        None | Some(TemplatesCmd::List) => {
            let rows = store.list_templates()?;
            ctx.emit(&rows, || {
                rows.iter()
                    .map(|r| {
                        format!(
                            "{:<14} {:<10} {:>3} 项  {} / {}  {}",
                            r.template_id,
                            r.version,
                            r.items,
                            r.title_zh,
                            r.title_en,
                            &r.hash[..12]
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        Some(TemplatesCmd::Show { id }) => {
            let t = match id.split_once('@') {
                Some((i, v)) => store.template(i, v)?,
                None => store.latest_template(&id)?,
            };
            ctx.emit(&*t, || {
                let mut s = format!(
                    "{} {} — {} / {}\nhash {}\n",
                    t.template_id, t.version, t.title_zh, t.title_en, t.hash
                );
                for i in &t.items {
                    let sev = match i.severity.level {
                        gridsafe_core::template::Level::MajorCandidate => "重大隐患(待认定)",
                        gridsafe_core::template::Level::Info => "信息",
                        gridsafe_core::template::Level::General if i.severity.focus => "一般隐患★",
                        gridsafe_core::template::Level::General => "一般隐患",
                    };
                    s.push_str(&format!(
                        "\n{}  [{}] {}\n  {}\n  {}\n",
                        i.id,
                        sev,
                        i.lead_depts.join("、"),
                        i.q_zh,
                        i.q_en
                    ));
                    for f in &i.fields {
                        s.push_str(&format!(
                            "    - {} ({:?}{}) {}\n",
                            f.key,
                            f.kind,
                            f.unit
                                .as_deref()
                                .map(|u| format!(", {u}"))
                                .unwrap_or_default(),
                            f.label_zh
                        ));
                    }
                    s.push_str(&format!(
                        "  依据 basis: {}\n",
                        gridsafe_core::citations::for_item(&t.template_id, &t.version, &i.id)
                            .iter()
                            .map(|c| c.text.as_str())
                            .collect::<Vec<_>>()
                            .join("；")
                    ));
                }
                s
            })
        }
        Some(TemplatesCmd::Import { files }) => {
            let sources = files
                .iter()
                .map(|f| {
                    Ok(TemplateSource {
                        name: f.display().to_string(),
                        bytes: read_file(f)?,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let rows = store.import_templates(&sources)?;
            ctx.emit(&rows, || {
                format!("已安装 installed {} 个版本 versions", rows.len())
            })
        }
    }
}
