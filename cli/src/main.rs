//! `gridsafe`: the headless phone. Drives gridsafe-core exactly as the app will, for demos,
//! scripts, load tests and the scenario tests.

mod ctx;
mod hazards;
mod inspections;
mod local;
mod sync;
mod tasks;
mod templates;
mod venues;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};
use gridsafe_core::store_key::StoreKey;
use gridsafe_core::{Error, Store};

use ctx::Ctx;
use hazards::{HazardCmd, HazardsCmd};
use inspections::InspectCmd;
use local::{DirectoryCmd, DocCmd, EvidenceCmd, SettingsCmd};
use tasks::TasksCmd;
use templates::TemplatesCmd;
use venues::VenueCmd;

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
        Cmd::Templates { cmd } => templates::run(&ctx, &mut store, cmd),
        Cmd::Venue(cmd) => venues::run(&ctx, &mut store, cmd),
        Cmd::Inspect(cmd) => inspections::run(&ctx, &mut store, cmd),
        Cmd::Hazards(cmd) => hazards::list(&ctx, &store, cmd),
        Cmd::Hazard(cmd) => hazards::act(&ctx, &mut store, cmd),
        Cmd::Check => local::check(&ctx, &store, &cli.store),
        Cmd::Rekey { new_key_file } => local::rekey(&ctx, store, &cli.store, &new_key_file),
        Cmd::Directory(cmd) => local::directory(&ctx, &mut store, cmd),
        Cmd::Doc(cmd) => local::doc(&ctx, &mut store, cmd),
        Cmd::Evidence(cmd) => local::evidence(&ctx, &store, cmd),
        Cmd::Settings(cmd) => local::settings(&ctx, &mut store, cmd),
        Cmd::Tasks(cmd) => tasks::run(&ctx, &mut store, cmd),
        Cmd::Enroll {
            server,
            password,
            code,
            device_name,
        } => sync::enroll(&ctx, &mut store, &server, password, code, &device_name),
        Cmd::Sync { originals } => sync::sync(&ctx, &mut store, originals),
        Cmd::Status => sync::status(&ctx, &store),
    }
}
