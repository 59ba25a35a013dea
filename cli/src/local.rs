//! The store itself: integrity, encryption key, directory, raw documents, photo evidence,
//! settings.

use crate::ctx::{Ctx, read_file};
use anyhow::{Context, Result};
use clap::Subcommand;
use gridsafe_core::Store;
use gridsafe_core::store::OriginalsPolicy;
use gridsafe_core::store_key::StoreKey;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Subcommand, Debug)]
pub(crate) enum DirectoryCmd {
    /// Load the directory from a JSON file (replaces the current one).
    Import { file: PathBuf },
    /// Show the directory.
    Show,
}

#[derive(Subcommand, Debug)]
pub(crate) enum DocCmd {
    /// Write a record's automerge bytes to stdout or --out.
    Export {
        id: String,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Merge automerge bytes from a file into record ID.
    Import { id: String, file: PathBuf },
}

#[derive(Subcommand, Debug)]
pub(crate) enum EvidenceCmd {
    /// Check a finished inspection's answers and photos against the manifest sealed at finishing.
    /// Exit code 4 when anything was altered.
    Verify { id: String },
    /// Write a stored photo (evidence copy, thumbnail or original, by SHA-256) to a file.
    Export {
        sha256: String,
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
pub(crate) enum SettingsCmd {
    /// Keep camera originals until uploaded (keep, the default) or drop them after processing.
    Originals { policy: String },
}

/// Checks the store file and shows what it holds.
pub(crate) fn check(ctx: &Ctx, store: &Store, path: &Path) -> Result<()> {
    store.integrity_check()?;
    let counts = store.counts()?;
    let encrypted = gridsafe_core::store_key::is_encrypted(path)?;
    ctx.emit(
        &serde_json::json!({"counts": counts, "encrypted": encrypted}),
        || {
            format!(
                "完好 ok{}: {counts:?}",
                if encrypted {
                    "，已加密 encrypted"
                } else {
                    ""
                }
            )
        },
    )
}

/// Re-encrypts the store under a new key.
pub(crate) fn rekey(ctx: &Ctx, store: Store, path: &Path, new_key_file: &Path) -> Result<()> {
    let new_key = StoreKey::from_file(new_key_file)?;
    let store = store.rekey(&new_key)?;
    store.integrity_check()?;
    ctx.emit(
        &serde_json::json!({"store": path, "encrypted": true}),
        || {
            format!(
                "已用新密钥加密 re-encrypted {} with {}",
                path.display(),
                new_key_file.display()
            )
        },
    )
}

pub(crate) fn directory(ctx: &Ctx, store: &mut Store, cmd: DirectoryCmd) -> Result<()> {
    match cmd {
        DirectoryCmd::Import { file } => {
            let d = store.import_directory(&read_file(&file)?)?;
            ctx.emit(&d, || {
                format!(
                    "目录已导入 directory v{}: {} 村居, {} 网格, {} 部门, {} 用户",
                    d.version,
                    d.villages.len(),
                    d.grids.len(),
                    d.departments.len(),
                    d.users.len()
                )
            })
        }
        DirectoryCmd::Show => {
            let d = store.directory()?;
            ctx.emit(&*d, || {
                let mut s = format!("{} (v{})\n", d.town_zh, d.version);
                for u in &d.users {
                    s.push_str(&format!(
                        "  {:<12} {:<8} {} {} {}\n",
                        u.id,
                        u.name,
                        u.role.label_zh(),
                        u.department.as_deref().unwrap_or(""),
                        u.grids.join(",")
                    ));
                }
                s
            })
        }
    }
}

pub(crate) fn doc(ctx: &Ctx, store: &mut Store, cmd: DocCmd) -> Result<()> {
    match cmd {
        DocCmd::Export { id, out } => {
            let (_, bytes) = store.export_doc(&id)?;
            match out {
                Some(p) => std::fs::write(&p, &bytes)
                    .with_context(|| format!("cannot write {}", p.display()))?,
                None => std::io::stdout().lock().write_all(&bytes)?,
            }
            Ok(())
        }
        DocCmd::Import { id, file } => {
            let kind = store.merge_doc(&id, &read_file(&file)?)?;
            ctx.emit(&serde_json::json!({"id": id, "kind": kind}), || {
                format!("已合并 merged {} {id}", kind.as_str())
            })
        }
    }
}

pub(crate) fn evidence(ctx: &Ctx, store: &Store, cmd: EvidenceCmd) -> Result<()> {
    match cmd {
        EvidenceCmd::Verify { id } => {
            let r = store.verify_evidence(&id)?;
            ctx.emit(&r, || {
                if r.intact {
                    format!(
                        "完好 intact: {} answers and {} photo files match the seal",
                        r.answers_checked, r.photo_files_checked
                    )
                } else {
                    format!(
                        "已被改动 ALTERED:\n{}",
                        r.problems
                            .iter()
                            .map(|p| format!("  - {p}"))
                            .collect::<Vec<_>>()
                            .join("\n")
                    )
                }
            })?;
            if !r.intact {
                std::process::exit(4);
            }
            Ok(())
        }
        EvidenceCmd::Export { sha256, out } => {
            let bytes = store.blob(&sha256)?;
            std::fs::write(&out, &bytes)
                .with_context(|| format!("cannot write {}", out.display()))?;
            ctx.emit(
                &serde_json::json!({"sha256": sha256, "bytes": bytes.len(), "out": out}),
                || format!("{} bytes → {}", bytes.len(), out.display()),
            )
        }
    }
}

pub(crate) fn settings(ctx: &Ctx, store: &mut Store, cmd: SettingsCmd) -> Result<()> {
    match cmd {
        SettingsCmd::Originals { policy } => {
            let p = match policy.as_str() {
                "keep" => OriginalsPolicy::Keep,
                "drop" => OriginalsPolicy::Drop,
                other => anyhow::bail!("originals policy must be keep or drop, not {other:?}"),
            };
            store.set_originals_policy(p)?;
            ctx.emit(&p, || format!("原图 originals: {policy}"))
        }
    }
}
