//! `gridsafe-server`: run the relay, or administer its directory, passwords and devices.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use gridsafe_server::store::RelayStore;

#[derive(Parser, Debug)]
#[command(
    name = "gridsafe-server",
    version,
    about = "GridSafe relay — merges field data and serves the office"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Run the relay: on embedded SQLite, or with --database on PostgreSQL shared with other relays.
    Serve {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        /// A token a metrics scraper sends (`Authorization: Bearer TOKEN`) to read /metrics
        /// from another machine; without one, /metrics answers only this machine.
        #[arg(long, env = "GRIDSAFE_METRICS_TOKEN")]
        metrics_token: Option<String>,
        /// With --database: how often this relay brings the office's figures up to what other
        /// relays took, in seconds (the dashboard is at most this far behind them).
        #[arg(long, default_value_t = 2)]
        catch_up_every: u64,
    },
    /// One command demo: a relay on a fresh data directory, the demo town of 吕巷镇, and simulated
    /// phones that work offline and sync. Leaves the relay running until Ctrl-C.
    Demo {
        /// A new, empty directory (default: a fresh one under the system temp dir).
        #[arg(long)]
        data: Option<PathBuf>,
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        /// Use these JPEG photographs instead of generated 12 MP ones.
        #[arg(long)]
        photos: Option<PathBuf>,
        /// Stop after seeding and syncing (for scripts and tests).
        #[arg(long)]
        exit: bool,
    },
    /// Administer the directory, passwords and devices.
    Admin {
        #[command(flatten)]
        store: StoreArgs,
        #[command(subcommand)]
        cmd: AdminCmd,
    },
    /// Back up a relay while it runs: the SQLite file (or a pg_dump of the shared database and the
    /// local file) and every photo, into a new directory.
    Backup {
        #[command(flatten)]
        store: StoreArgs,
        /// A directory that does not exist yet.
        #[arg(long)]
        to: PathBuf,
    },
    /// Restore a backup into an empty data directory (and, with --database, an empty database).
    Restore {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        from: PathBuf,
    },
}

/// Where the relay's data is (see `gridsafe_server::Config`).
#[derive(clap::Args, Debug)]
struct StoreArgs {
    /// The local data directory (the SQLite file; the photos unless --blobs is given).
    #[arg(long, default_value = "gridsafe-data")]
    data: PathBuf,
    /// Keep the shared tables on PostgreSQL (postgres://user:password@host/db), for several relays.
    #[arg(long, env = "GRIDSAFE_DATABASE")]
    database: Option<String>,
    /// The photos' directory, when it is not DATA/blobs: a path every relay mounts.
    #[arg(long, env = "GRIDSAFE_BLOBS")]
    blobs: Option<PathBuf>,
}

impl StoreArgs {
    fn config(self) -> gridsafe_server::Config {
        gridsafe_server::Config {
            data: self.data,
            database: self.database,
            blobs: self.blobs,
        }
    }
}

#[derive(Subcommand, Debug)]
enum AdminCmd {
    /// Install the directory (villages, grids, departments, routing, users with roles and scopes).
    Directory { file: PathBuf },
    /// Set a user's password (argon2id).
    Passwd {
        user: String,
        #[arg(long, env = "GRIDSAFE_PASSWORD")]
        password: String,
    },
    /// Create a one-time enrolment code for a user (used instead of the password on the phone).
    EnrolCode {
        user: String,
        /// Hours the code stays valid.
        #[arg(long, default_value_t = 24)]
        hours: i64,
    },
    /// List devices with their last sync and pending counts.
    Devices,
    /// Revoke a device: its token stops working at once.
    Revoke { device: String },
    /// Hazards by village, domain, state and severity, with overdue counts (from the projections).
    Hazards {
        #[arg(long)]
        json: bool,
    },
    /// Derive the projection tables again from the stored records.
    Reindex,
    /// A period's report as JSON, in a user's scope (the town office's: the whole town; the
    /// issued one where it was issued).
    Report {
        #[arg(long, default_value = "office")]
        user: String,
        /// YYYY-MM, YYYY-Www, YYYY-Qn, YYYY-H1/H2, YYYY or YYYY-MM-DD~YYYY-MM-DD; the report
        /// month holding today when absent.
        #[arg(long, alias = "month")]
        period: Option<String>,
    },
    /// Show or set the last year whose major hazards count as stock (default 2024, the town
    /// plan's "2024年及以前排查发现的重大事故隐患存量").
    ReportStockYear { year: Option<i32> },
    /// Show or set the monthly report's cut-off day (1–28, 24:00; default 28 for the 29th).
    ReportCutoff { day: Option<u8> },
    /// The audit log, newest first, as JSON lines; --verify checks the whole hash chain.
    Audit {
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[arg(long)]
        verify: bool,
    },
}

/// Who the audit log names for the server's own admin commands.
const CONSOLE: &str = "console";

fn main() -> Result<()> {
    // Colour only for a person at a terminal: a log file or CI output gets plain text.
    tracing_subscriber::fmt()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Serve {
            store,
            listen,
            metrics_token,
            catch_up_every,
        } => {
            let options = gridsafe_server::ServeOptions {
                metrics_token: metrics_token.filter(|t| !t.is_empty()),
                catch_up_every: std::time::Duration::from_secs(catch_up_every.max(1)),
            };
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind(&listen)
                    .await
                    .with_context(|| format!("cannot listen on {listen}"))?;
                // The bound address on stdout, so a parent process can find an ephemeral port.
                println!("listening on http://{}", listener.local_addr()?);
                gridsafe_server::serve_opts(store.config(), options, listener, shutdown_signal())
                    .await
            })
        }
        Cmd::Demo {
            data,
            listen,
            photos,
            exit,
        } => {
            let data = match data {
                Some(d) => d,
                None => std::env::temp_dir()
                    .join(format!("gridsafe-demo-{}", gridsafe_core::clock::now_ms())),
            };
            if data.exists() && std::fs::read_dir(&data)?.next().is_some() {
                anyhow::bail!(
                    "{} is not empty; the demo needs a fresh data directory",
                    data.display()
                );
            }
            gridsafe_server::demo::seed_relay(&data)?;
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind(&listen).await.with_context(|| format!("cannot listen on {listen}"))?;
                let url = format!("http://{}", listener.local_addr()?);
                let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
                let server = tokio::spawn(gridsafe_server::serve(data.clone(), listener, async move {
                    tokio::select! { _ = stop_rx => {}, _ = shutdown_signal() => {} }
                }));
                let phones = data.join("phones");
                let u = url.clone();
                let sum = tokio::task::spawn_blocking(move || gridsafe_server::demo::run_phones(&u, &phones, photos.as_deref())).await??;
                let mut store = RelayStore::open(&data)?;
                let (docs, changes, devices) = store.counts()?;
                println!("\nGridSafe demo — 吕巷镇");
                println!("  relay        {url}  (data {})", data.display());
                println!("  phones       {} inspectors + 1 office reviewer, {} devices enrolled", sum.phones, devices);
                println!("  offline work {} venues, {} inspections, {} hazards, {} photos", sum.venues, sum.inspections, sum.hazards, sum.photos);
                println!("  relay holds  {docs} records, {changes} changes");
                if let Some(h) = &sum.conflict_hazard {
                    println!("  conflict     hazard {h}: phone claimed while 规建办 planned offline; merged, then closed");
                }
                println!("  dashboard    {url}/login  (hazard ledger, CSV export, hazard detail)");
                println!("  logins       every directory user, password {:?} (e.g. wang 网格员, sun 城运中心, zheng 规建办, office 镇安委办, admin)", gridsafe_server::demo::PASSWORD);
                println!("  phone stores {}/phones/*.sqlite — try: gridsafe --store {}/phones/phone-wang.sqlite --as wang hazards list", data.display(), data.display());
                if exit {
                    let _ = stop_tx.send(());
                } else {
                    println!("\nRelay running; Ctrl-C to stop.");
                    std::mem::forget(stop_tx);
                }
                server.await??;
                Ok(())
            })
        }
        Cmd::Backup { store, to } => {
            let m = gridsafe_server::backup::backup(&store.config(), &to)?;
            println!(
                "backup in {}: {} records, {} changes, {} photos ({} bytes){}",
                to.display(),
                m.docs,
                m.changes,
                m.photos,
                m.photo_bytes,
                if m.postgres {
                    ", shared tables by pg_dump"
                } else {
                    ""
                }
            );
            Ok(())
        }
        Cmd::Restore { store, from } => {
            let m = gridsafe_server::backup::restore(&from, &store.config())?;
            println!(
                "restored {} records, {} changes, {} photos from {}",
                m.docs,
                m.changes,
                m.photos,
                from.display()
            );
            Ok(())
        }
        Cmd::Admin { store: args, cmd } => {
            let mut store = args.config().open_store()?;
            match cmd {
                AdminCmd::Directory { file } => {
                    let d = store.import_directory(
                        &std::fs::read(&file)
                            .with_context(|| format!("cannot read {}", file.display()))?,
                    )?;
                    store.audit(
                        CONSOLE,
                        "directory.import",
                        &file.display().to_string(),
                        &format!("v{}", d.version),
                    )?;
                    println!(
                        "directory v{}: {} villages, {} grids, {} departments, {} users",
                        d.version,
                        d.villages.len(),
                        d.grids.len(),
                        d.departments.len(),
                        d.users.len()
                    );
                }
                AdminCmd::Passwd { user, password } => {
                    store.set_password(&user, &password)?;
                    store.audit(CONSOLE, "user.password_reset", &user, "")?;
                    println!("password set for {user}");
                }
                AdminCmd::EnrolCode { user, hours } => {
                    let code = store.create_enrol_code(&user, hours * 3_600_000)?;
                    store.audit(CONSOLE, "enrol_code.create", &user, &format!("{hours} h"))?;
                    println!(
                        "一次性注册码 one-time enrolment code for {user}: {code} (valid {hours} h, single use)"
                    );
                }
                AdminCmd::Devices => {
                    for d in store.devices()? {
                        println!(
                            "{} {:<10} {:<16} {} last sync {} pending {} docs / {} photos {}",
                            d.id,
                            d.user_id,
                            d.name,
                            if d.revoked { "REVOKED" } else { "active" },
                            d.last_sync_ms
                                .map(gridsafe_core::clock::ms_to_rfc3339)
                                .unwrap_or_else(|| "never".into()),
                            d.pending_docs.unwrap_or(0),
                            d.pending_photos.unwrap_or(0),
                            d.app_version.unwrap_or_default()
                        );
                    }
                }
                AdminCmd::Revoke { device } => {
                    store.revoke(&device)?;
                    store.audit(CONSOLE, "device.revoke", &device, "")?;
                    println!("revoked {device}");
                }
                AdminCmd::Hazards { json } => {
                    let rows = store.hazard_summary(&gridsafe_core::clock::format_date(
                        gridsafe_core::clock::today(),
                    ))?;
                    if json {
                        println!("{}", serde_json::to_string_pretty(&rows)?);
                    } else {
                        println!(
                            "{:<12} {:<10} {:<20} {:<16} {:>6} {:>8}",
                            "village", "domain", "state", "severity", "count", "overdue"
                        );
                        for r in &rows {
                            println!(
                                "{:<12} {:<10} {:<20} {:<16} {:>6} {:>8}",
                                r.village, r.domain, r.state, r.severity, r.count, r.overdue
                            );
                        }
                        for (dept, n) in store.open_by_department()? {
                            println!("open, led by {dept}: {n}");
                        }
                    }
                }
                AdminCmd::Reindex => {
                    let n = store.rebuild_projections()?;
                    println!("projections derived again from {n} records");
                }
                AdminCmd::Report { user, period } => {
                    let r = store.report(&user, period.as_deref())?;
                    println!("{}", serde_json::to_string_pretty(&r)?);
                }
                AdminCmd::ReportCutoff { day } => {
                    if let Some(d) = day {
                        store.set_report_cutoff_day(d)?;
                        store.audit(CONSOLE, "report.cutoff", "monthly report", &d.to_string())?;
                    }
                    println!(
                        "monthly report cut-off: day {} of each month, 24:00",
                        store.report_cutoff_day()?
                    );
                }
                AdminCmd::ReportStockYear { year } => {
                    if let Some(y) = year {
                        store.set_report_stock_year(y)?;
                        store.audit(CONSOLE, "report.stock_year", "reports", &y.to_string())?;
                    }
                    println!(
                        "major hazards found in {} or earlier count as stock",
                        store.report_stock_year()?
                    );
                }
                AdminCmd::Audit { limit, verify } => {
                    if verify {
                        let n = store.verify_audit()?;
                        println!("audit log intact: {n} entries, hash chain verified");
                    } else {
                        for e in store.audit_entries(limit, None)? {
                            println!("{}", serde_json::to_string(&e)?);
                        }
                    }
                }
            }
            Ok(())
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
