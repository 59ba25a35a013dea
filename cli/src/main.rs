//! `gridsafe`: the headless phone. Drives gridsafe-core exactly as the app will, for demos,
//! scripts, load tests and the scenario tests.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use gridsafe_core::lifecycle::EventKind;
use gridsafe_core::profile::VenueProfile;
use gridsafe_core::records::Responsible;
use gridsafe_core::store::{Action, HazardQuery, NewPhoto, NewVenue, OriginalsPolicy, VenueEdit};
use gridsafe_core::store_key::StoreKey;
use gridsafe_core::template::TemplateSource;
use gridsafe_core::{Error, Store};
use serde::Serialize;

#[derive(Parser, Debug)]
#[command(
    name = "gridsafe",
    version,
    about = "GridSafe 网格安全巡查 — headless field client (the phone, without the phone)"
)]
struct Cli {
    /// Store file (the phone's database).
    #[arg(
        long,
        global = true,
        env = "GRIDSAFE_STORE",
        default_value = "gridsafe.sqlite"
    )]
    store: PathBuf,
    /// Machine-readable JSON output.
    #[arg(long, global = true)]
    json: bool,
    /// Acting user (directory user id); role and scope rules apply to them.
    #[arg(long = "as", global = true, env = "GRIDSAFE_USER")]
    as_user: Option<String>,
    /// Key file of an encrypted store (32 bytes, or 64 hex digits); an unencrypted store given a
    /// key is encrypted with it.
    #[arg(long, global = true, env = "GRIDSAFE_KEY_FILE")]
    key_file: Option<PathBuf>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Create a new, empty store (refuses to overwrite an existing file).
    Init,
    /// Check the store file's integrity.
    Check,
    /// Re-encrypt the store under a new key (key rotation; encrypts an unencrypted store).
    Rekey {
        /// The new key file (32 bytes, or 64 hex digits).
        #[arg(long)]
        new_key_file: PathBuf,
    },
    /// The directory: villages, grids, departments, users.
    #[command(subcommand)]
    Directory(DirectoryCmd),
    /// Checklist templates. With --json and no subcommand: export every template in full.
    Templates {
        #[command(subcommand)]
        cmd: Option<TemplatesCmd>,
    },
    /// Venues (场所档案).
    #[command(subcommand)]
    Venue(VenueCmd),
    /// Inspections (检查).
    #[command(subcommand)]
    Inspect(InspectCmd),
    /// List and show hazards (隐患).
    #[command(subcommand)]
    Hazards(HazardsCmd),
    /// Hazard lifecycle transitions.
    #[command(subcommand)]
    Hazard(HazardCmd),
    /// Public reports (12345, 随申拍) to verify on site (查实).
    #[command(subcommand)]
    Tasks(TasksCmd),
    /// Raw record documents (automerge bytes) for backup and interop.
    #[command(subcommand)]
    Doc(DocCmd),
    /// Photo evidence: verify an inspection's seal, export a stored photo.
    #[command(subcommand)]
    Evidence(EvidenceCmd),
    /// Phone settings.
    #[command(subcommand)]
    Settings(SettingsCmd),
    /// Enrol this phone with a relay (user name and password; --as names the user).
    Enroll {
        #[arg(long)]
        server: String,
        #[arg(
            long,
            env = "GRIDSAFE_PASSWORD",
            required_unless_present = "code",
            conflicts_with = "code"
        )]
        password: Option<String>,
        /// A one-time enrolment code from the office, instead of the password.
        #[arg(long)]
        code: Option<String>,
        #[arg(long, default_value = "gridsafe-cli")]
        device_name: String,
    },
    /// Sync with the relay: push what is new here, pull what is new there, then upload photos.
    Sync {
        /// Also upload camera originals (e.g. on an unmetered network).
        #[arg(long)]
        originals: bool,
    },
    /// What is waiting to sync, and when the last sync succeeded.
    Status,
}

#[derive(Subcommand, Debug)]
enum EvidenceCmd {
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
enum SettingsCmd {
    /// Keep camera originals until uploaded (keep, the default) or drop them after processing.
    Originals { policy: String },
}

#[derive(Subcommand, Debug)]
enum DirectoryCmd {
    /// Load the directory from a JSON file (replaces the current one).
    Import { file: PathBuf },
    /// Show the directory.
    Show,
}

#[derive(Subcommand, Debug)]
enum TemplatesCmd {
    /// List installed template versions.
    List,
    /// Show one template: ID or ID@VERSION.
    Show { id: String },
    /// Install template version files (all or nothing).
    Import { files: Vec<PathBuf> },
}

#[derive(Args, Debug, Default)]
struct ProfileArgs {
    /// Venue type code (repeatable): selfbuilt_business, street_shop, small_restaurant,
    /// three_in_one, group_rental, small_workshop, small_warehouse, other.
    #[arg(long = "type")]
    venue_type: Vec<String>,
    #[arg(long)]
    floors: Option<u32>,
    /// Largest floor area, m².
    #[arg(long)]
    area: Option<f64>,
    /// Building height, m.
    #[arg(long)]
    height: Option<f64>,
    #[arg(long)]
    basement: Option<bool>,
    /// Combustible roof members or floors.
    #[arg(long)]
    combustible: Option<bool>,
    #[arg(long)]
    residents: Option<u32>,
    /// 人员密集场所.
    #[arg(long)]
    crowded: Option<bool>,
    /// piped_ng, lpg, other_fuel, none.
    #[arg(long)]
    gas: Option<String>,
    #[arg(long)]
    uses: Option<String>,
    #[arg(long)]
    owner_name: Option<String>,
    #[arg(long)]
    owner_phone: Option<String>,
    /// Last four characters of the owner's ID card.
    #[arg(long)]
    owner_id4: Option<String>,
}

impl ProfileArgs {
    fn apply(&self, p: &mut VenueProfile) -> bool {
        let mut changed = false;
        macro_rules! set {
            ($src:expr, $dst:expr) => {
                if let Some(v) = $src.clone() {
                    $dst = v;
                    changed = true;
                }
            };
        }
        if !self.venue_type.is_empty() {
            p.venue_type = self.venue_type.clone();
            changed = true;
        }
        set!(self.floors, p.floors_above_ground);
        set!(self.area, p.max_floor_area_m2);
        set!(self.height, p.building_height_m);
        set!(self.basement, p.has_basement);
        set!(self.combustible, p.roof_or_floors_combustible);
        set!(self.residents, p.residents_count);
        set!(self.crowded, p.is_crowded_place);
        set!(self.gas, p.gas_supply);
        set!(self.uses, p.uses_by_floor);
        changed
    }
    fn responsible(&self, r: &mut Responsible) -> bool {
        let mut changed = false;
        for (src, dst) in [
            (&self.owner_name, &mut r.name),
            (&self.owner_phone, &mut r.phone),
            (&self.owner_id4, &mut r.id_last4),
        ] {
            if let Some(v) = src {
                *dst = v.clone();
                changed = true;
            }
        }
        changed
    }
}

#[derive(Subcommand, Debug)]
enum VenueCmd {
    /// Register a venue.
    Add {
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "")]
        address: String,
        #[arg(long)]
        grid: String,
        #[command(flatten)]
        profile: ProfileArgs,
    },
    /// Edit a venue (only the fields given change).
    Edit {
        id: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        address: Option<String>,
        #[arg(long)]
        grid: Option<String>,
        #[arg(long)]
        archive: Option<bool>,
        #[command(flatten)]
        profile: ProfileArgs,
    },
    /// Venues of my grids.
    List,
    /// One venue with its inspection and hazard history.
    Show { id: String },
    /// The rectification notice (整改通知书) for the venue's open hazards, as a printable HTML
    /// page with the owner's QR code (signed by this phone once enrolled); --json for its data.
    Notice {
        id: String,
        /// Write the HTML here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Register venues from a JSON-lines file (one venue per line); each is saved on its own and
    /// reported as `saved <id>` as soon as it is on disk.
    Import { file: PathBuf },
}

#[derive(Subcommand, Debug)]
enum InspectCmd {
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
    Finish { id: String },
    /// Show an inspection.
    Show { id: String },
    /// My inspections today.
    Today,
}

#[derive(Subcommand, Debug)]
enum TasksCmd {
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
    },
}

#[derive(Subcommand, Debug)]
enum HazardsCmd {
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
struct PhotoArg {
    /// After photo (or notice/signature photo for notify).
    #[arg(long)]
    photo: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum HazardCmd {
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
    /// Reject a claimed rectification.
    Reject {
        id: String,
        #[arg(long)]
        reason: String,
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
    /// Record the treatment plan (治理方案) of a major hazard.
    Plan {
        id: String,
        #[arg(long)]
        text: String,
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

#[derive(Subcommand, Debug)]
enum DocCmd {
    /// Write a record's automerge bytes to stdout or --out.
    Export {
        id: String,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Merge automerge bytes from a file into record ID.
    Import { id: String, file: PathBuf },
}

struct Ctx {
    json: bool,
    as_user: Option<String>,
}

impl Ctx {
    fn user(&self) -> Result<&str> {
        self.as_user
            .as_deref()
            .context("who is acting? give --as USER (or set GRIDSAFE_USER)")
    }
    fn emit<T: Serialize>(&self, value: &T, human: impl FnOnce() -> String) -> Result<()> {
        let mut out = std::io::stdout().lock();
        if self.json {
            serde_json::to_writer_pretty(&mut out, value)?;
            writeln!(out)?;
        } else {
            writeln!(out, "{}", human())?;
        }
        Ok(())
    }
}

fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

fn photo(path: &Option<PathBuf>, role: &str) -> Result<Option<NewPhoto>> {
    path.as_ref()
        .map(|p| {
            Ok(NewPhoto {
                bytes: read_file(p)?,
                item_id: None,
                role: role.into(),
                lat: None,
                lon: None,
            })
        })
        .transpose()
}

/// VALUE as JSON when it parses, else as a plain string (so `no` and `是` work unquoted).
fn value_arg(v: &str) -> serde_json::Value {
    serde_json::from_str(v).unwrap_or_else(|_| serde_json::Value::String(v.to_owned()))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let refused = matches!(e.downcast_ref::<Error>(), Some(Error::Refused(_)));
            eprintln!("错误 error: {e:#}");
            ExitCode::from(if refused { 3 } else { 1 })
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    let ctx = Ctx {
        json: cli.json,
        as_user: cli.as_user.clone(),
    };
    let key = cli
        .key_file
        .as_deref()
        .map(StoreKey::from_file)
        .transpose()?;
    if let Cmd::Init = cli.cmd {
        let store = Store::create_with(&cli.store, key.as_ref())?;
        let t = store.list_templates()?;
        return ctx.emit(
            &serde_json::json!({"store": cli.store, "templates": t.len()}),
            || {
                format!(
                    "已创建 created {} ({} 个检查表版本 template versions)",
                    cli.store.display(),
                    t.len()
                )
            },
        );
    }
    let mut store = Store::open_with(&cli.store, key.as_ref())?;
    match cli.cmd {
        Cmd::Init => unreachable!("handled above"),
        Cmd::Check => {
            store.integrity_check()?;
            let counts = store.counts()?;
            let encrypted = gridsafe_core::store_key::is_encrypted(&cli.store)?;
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
        Cmd::Rekey { new_key_file } => {
            let new_key = StoreKey::from_file(&new_key_file)?;
            let store = store.rekey(&new_key)?;
            store.integrity_check()?;
            ctx.emit(
                &serde_json::json!({"store": cli.store, "encrypted": true}),
                || {
                    format!(
                        "已用新密钥加密 re-encrypted {} with {}",
                        cli.store.display(),
                        new_key_file.display()
                    )
                },
            )
        }
        Cmd::Directory(DirectoryCmd::Import { file }) => {
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
        Cmd::Directory(DirectoryCmd::Show) => {
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
        Cmd::Templates { cmd } => templates(&ctx, &mut store, cmd),
        Cmd::Venue(cmd) => venue(&ctx, &mut store, cmd),
        Cmd::Inspect(cmd) => inspect(&ctx, &mut store, cmd),
        Cmd::Hazards(cmd) => hazards(&ctx, &store, cmd),
        Cmd::Hazard(cmd) => hazard(&ctx, &mut store, cmd),
        Cmd::Tasks(TasksCmd::List) => {
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
        Cmd::Tasks(TasksCmd::Verify {
            id,
            substantiated,
            venue,
            finding,
            reason,
            photo: p,
        }) => {
            let verdict = gridsafe_core::store::TaskVerdict {
                substantiated,
                reason,
                venue_id: venue,
                finding,
                photo: photo(&p, "before")?,
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
        Cmd::Doc(DocCmd::Export { id, out }) => {
            let (_, bytes) = store.export_doc(&id)?;
            match out {
                Some(p) => std::fs::write(&p, &bytes)
                    .with_context(|| format!("cannot write {}", p.display()))?,
                None => std::io::stdout().lock().write_all(&bytes)?,
            }
            Ok(())
        }
        Cmd::Evidence(EvidenceCmd::Verify { id }) => {
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
        Cmd::Evidence(EvidenceCmd::Export { sha256, out }) => {
            let bytes = store.blob(&sha256)?;
            std::fs::write(&out, &bytes)
                .with_context(|| format!("cannot write {}", out.display()))?;
            ctx.emit(
                &serde_json::json!({"sha256": sha256, "bytes": bytes.len(), "out": out}),
                || format!("{} bytes → {}", bytes.len(), out.display()),
            )
        }
        Cmd::Enroll {
            server,
            password,
            code,
            device_name,
        } => {
            use gridsafe_client::Secret;
            let user = ctx.user()?.to_owned();
            let secret = match (&password, &code) {
                (_, Some(c)) => Secret::Code(c),
                (Some(p), None) => Secret::Password(p),
                (None, None) => anyhow::bail!("give --password (or GRIDSAFE_PASSWORD) or --code"),
            };
            let device =
                gridsafe_client::enroll_with(&mut store, &server, &user, secret, &device_name)?;
            ctx.emit(
                &serde_json::json!({"device_id": device, "server": server, "user": user}),
                || format!("已注册 enrolled {user} on {server} as device {device}"),
            )
        }
        Cmd::Sync { originals } => {
            let bar = indicatif::ProgressBar::new_spinner();
            if ctx.json {
                bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
            }
            let p = gridsafe_client::sync_all(&mut store, originals, &mut |p| {
                bar.set_message(format!(
                    "同步 sync: {} round trips, ↑ {} records, {} photos, {} B, ↓ {} records {} B",
                    p.round_trips,
                    p.docs_pushed,
                    p.photos_uploaded,
                    p.bytes_sent,
                    p.docs_pulled,
                    p.bytes_received
                ));
                bar.tick();
            })?;
            bar.finish_and_clear();
            ctx.emit(&p, || {
                let mut s = format!(
                    "同步完成 synced: {} round trips, ↑ {} records and {} photos ({} B), ↓ {} records ({} B)",
                    p.round_trips, p.docs_pushed, p.photos_uploaded, p.bytes_sent, p.docs_pulled, p.bytes_received
                );
                for (id, why) in &p.refused {
                    s.push_str(&format!("\n  被拒绝 refused {id}: {why}"));
                }
                s
            })
        }
        Cmd::Status => {
            let st = store.sync_status()?;
            ctx.emit(&st, || {
                format!(
                    "待同步 pending: {} records, {} photos; 上次同步 last sync: {}{}",
                    st.pending_docs,
                    st.pending_photos,
                    st.last_sync.as_deref().unwrap_or("never"),
                    st.refused
                        .iter()
                        .map(|r| format!("\n  被拒绝 refused {r}"))
                        .collect::<String>()
                )
            })
        }
        Cmd::Settings(SettingsCmd::Originals { policy }) => {
            let p = match policy.as_str() {
                "keep" => OriginalsPolicy::Keep,
                "drop" => OriginalsPolicy::Drop,
                other => anyhow::bail!("originals policy must be keep or drop, not {other:?}"),
            };
            store.set_originals_policy(p)?;
            ctx.emit(&p, || format!("原图 originals: {policy}"))
        }
        Cmd::Doc(DocCmd::Import { id, file }) => {
            let kind = store.merge_doc(&id, &read_file(&file)?)?;
            ctx.emit(&serde_json::json!({"id": id, "kind": kind}), || {
                format!("已合并 merged {} {id}", kind.as_str())
            })
        }
    }
}

fn templates(ctx: &Ctx, store: &mut Store, cmd: Option<TemplatesCmd>) -> Result<()> {
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
                        i.refs
                            .iter()
                            .map(|r| r.display())
                            .collect::<Vec<_>>()
                            .join("; ")
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

fn venue(ctx: &Ctx, store: &mut Store, cmd: VenueCmd) -> Result<()> {
    match cmd {
        VenueCmd::Add {
            name,
            address,
            grid,
            profile,
        } => {
            let mut nv = NewVenue {
                name,
                address,
                grid_id: grid,
                ..Default::default()
            };
            nv.profile.gas_supply = "none".into();
            profile.apply(&mut nv.profile);
            profile.responsible(&mut nv.responsible);
            let v = store.add_venue(ctx.user()?, nv)?;
            ctx.emit(&v, || v.id.clone())
        }
        VenueCmd::Edit {
            id,
            name,
            address,
            grid,
            archive,
            profile,
        } => {
            let current = store.venue(&id)?;
            let mut p = current.profile.clone();
            let mut r = current.responsible.clone();
            let edit = VenueEdit {
                name,
                address,
                grid_id: grid,
                profile: profile.apply(&mut p).then_some(p),
                responsible: profile.responsible(&mut r).then_some(r),
                archived: archive,
            };
            let v = store.edit_venue(ctx.user()?, &id, edit)?;
            ctx.emit(&v, || format!("已保存 saved {}", v.id))
        }
        VenueCmd::List => {
            let rows = store.list_venues(ctx.as_user.as_deref())?;
            ctx.emit(&rows, || {
                rows.iter()
                    .map(|v| {
                        format!(
                            "{}  {:<10} {:<20} {}  {}",
                            v.id,
                            v.grid_id,
                            v.name,
                            v.venue_types.join(","),
                            v.last_inspected.as_deref().unwrap_or("未检查")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        VenueCmd::Notice { id, out } => {
            let n = store.notice(ctx.user()?, &id)?;
            if ctx.json {
                return ctx.emit(&n, String::new);
            }
            let html = gridsafe_core::notice::to_html(&n)?;
            match out {
                Some(path) => {
                    std::fs::write(&path, html)
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    println!(
                        "整改通知书 notice {} ({} hazards) → {}",
                        n.number,
                        n.hazards.len(),
                        path.display()
                    );
                }
                None => print!("{html}"),
            }
            Ok(())
        }
        VenueCmd::Show { id } => {
            let v = store.venue(&id)?;
            let inspections = store.venue_inspections(&id)?;
            let hazards = store.list_hazards(&HazardQuery {
                venue_id: Some(id.clone()),
                ..Default::default()
            })?;
            let out =
                serde_json::json!({"venue": v, "inspections": inspections, "hazards": hazards});
            ctx.emit(&out, || {
                let mut s = format!(
                    "{} {}\n{}  {} / {}\n类型 {}  燃气 {}  {} 层  住宿 {} 人\n负责人 {} {}\n",
                    v.id,
                    v.name,
                    v.address,
                    v.village,
                    v.grid_id,
                    v.profile.venue_type.join(","),
                    v.profile.gas_supply,
                    v.profile.floors_above_ground,
                    v.profile.residents_count,
                    v.responsible.name,
                    v.responsible.phone
                );
                s.push_str(&format!("\n检查 inspections ({})\n", inspections.len()));
                for i in &inspections {
                    s.push_str(&format!(
                        "  {} {} {}@{} {}\n",
                        i.started_at,
                        i.id,
                        i.template_id,
                        i.template_version,
                        if i.finished { "已完成" } else { "进行中" }
                    ));
                }
                s.push_str(&format!("\n隐患 hazards ({})\n", hazards.len()));
                for h in &hazards {
                    s.push_str(&format!(
                        "  {} {} {} {}\n",
                        h.id,
                        h.state,
                        h.item_id,
                        h.due_date.as_deref().unwrap_or("")
                    ));
                }
                s
            })
        }
        VenueCmd::Import { file } => {
            let user = ctx.user()?.to_owned();
            let text = String::from_utf8(read_file(&file)?).context("venue file is not UTF-8")?;
            let mut out = std::io::stdout().lock();
            let mut saved = 0;
            for (n, line) in text
                .lines()
                .enumerate()
                .filter(|(_, l)| !l.trim().is_empty())
            {
                let nv: NewVenue = serde_json::from_str(line)
                    .with_context(|| format!("{} line {}: not a venue", file.display(), n + 1))?;
                let v = store
                    .add_venue(&user, nv)
                    .with_context(|| format!("{} line {}", file.display(), n + 1))?;
                // Printed only once the venue is committed to disk.
                writeln!(out, "saved {}", v.id)?;
                out.flush()?;
                saved += 1;
            }
            if !ctx.json {
                writeln!(out, "已导入 imported {saved}")?;
            }
            Ok(())
        }
    }
}

fn print_results(results: &[gridsafe_core::eval::ItemResult]) -> String {
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

fn inspect(ctx: &Ctx, store: &mut Store, cmd: InspectCmd) -> Result<()> {
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
        InspectCmd::Finish { id } => {
            let r = store.finish_inspection(ctx.user()?, &id)?;
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

fn hazards(ctx: &Ctx, store: &Store, cmd: HazardsCmd) -> Result<()> {
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
                    h.header.basis_refs.join("; ")
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

fn hazard(ctx: &Ctx, store: &mut Store, cmd: HazardCmd) -> Result<()> {
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
        HazardCmd::Reject { id, reason } => (
            id,
            Action {
                reason: Some(reason),
                ..Action::new(EventKind::Reject)
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
        HazardCmd::Plan { id, text } => (
            id,
            Action {
                text: Some(text),
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
