//! `gridsafe-server`: run the relay, or administer its directory, passwords and devices.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use gridsafe_server::store::RelayStore;

#[derive(Parser, Debug)]
#[command(name = "gridsafe-server", version, about = "GridSafe relay — merges field data and serves the office")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Run the relay on embedded SQLite.
    Serve {
        #[arg(long, default_value = "gridsafe-data")]
        data: PathBuf,
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
    },
    /// Administer the directory, passwords and devices.
    Admin {
        #[arg(long, default_value = "gridsafe-data")]
        data: PathBuf,
        #[command(subcommand)]
        cmd: AdminCmd,
    },
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
    /// List devices with their last sync and pending counts.
    Devices,
    /// Revoke a device: its token stops working at once.
    Revoke { device: String },
}

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Serve { data, listen } => {
            let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind(&listen).await.with_context(|| format!("cannot listen on {listen}"))?;
                // The bound address on stdout, so a parent process can find an ephemeral port.
                println!("listening on http://{}", listener.local_addr()?);
                gridsafe_server::serve(data, listener, shutdown_signal()).await
            })
        }
        Cmd::Admin { data, cmd } => {
            let mut store = RelayStore::open(&data)?;
            match cmd {
                AdminCmd::Directory { file } => {
                    let d = store.import_directory(&std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?)?;
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
                    println!("password set for {user}");
                }
                AdminCmd::Devices => {
                    for d in store.devices()? {
                        println!(
                            "{} {:<10} {:<16} {} last sync {} pending {} docs / {} photos {}",
                            d.id,
                            d.user_id,
                            d.name,
                            if d.revoked { "REVOKED" } else { "active" },
                            d.last_sync_ms.map(gridsafe_core::clock::ms_to_rfc3339).unwrap_or_else(|| "never".into()),
                            d.pending_docs.unwrap_or(0),
                            d.pending_photos.unwrap_or(0),
                            d.app_version.unwrap_or_default()
                        );
                    }
                }
                AdminCmd::Revoke { device } => {
                    store.revoke(&device)?;
                    println!("revoked {device}");
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
