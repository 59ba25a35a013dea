//! `gridsafe-server backup` / `restore`: a consistent copy of a running relay.
//!
//! Order matters: the shared tables first (PostgreSQL by `pg_dump`, a snapshot in one
//! transaction), then the local SQLite file (`VACUUM INTO`, also a snapshot), then the photos.
//! Photos are never deleted or changed once complete, so every photo the copied tables call
//! complete is on disk by the time the files are copied.

use std::path::{Path, PathBuf};
use std::process::Command;

use rusqlite::Connection;
use serde::{Deserialize, Serialize};

use crate::Config;
use crate::store::{RelayError, RelayStore, Result};

/// What a backup holds, written beside it as `manifest.json` and checked on restore.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Manifest {
    pub created_ms: i64,
    pub postgres: bool,
    pub docs: i64,
    pub changes: i64,
    pub photos: u64,
    pub photo_bytes: u64,
}

fn io(what: &Path, e: std::io::Error) -> RelayError {
    RelayError::Storage(format!("{}: {e}", what.display()))
}

/// `pg_dump`/`pg_restore` from PATH, or the newest Debian PostgreSQL's.
fn pg_tool(name: &str) -> PathBuf {
    let debian = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin").join(name))
        .filter(|p| p.exists())
        .max();
    debian.unwrap_or_else(|| PathBuf::from(name))
}

fn run(cmd: &mut Command, what: &str) -> Result<()> {
    let out = cmd.output().map_err(|e| {
        RelayError::Storage(format!("{what}: {e} (is the PostgreSQL client installed?)"))
    })?;
    if !out.status.success() {
        return Err(RelayError::Storage(format!(
            "{what} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

/// Copies every complete photo file under `from` (not unfinished uploads) to `to`.
fn copy_photos(from: &Path, to: &Path) -> Result<(u64, u64)> {
    let (mut n, mut bytes) = (0, 0);
    let Ok(dirs) = std::fs::read_dir(from) else {
        return Ok((0, 0));
    };
    for d in dirs {
        let d = d.map_err(|e| io(from, e))?;
        let name = d.file_name();
        if name == "partial" || !d.file_type().map_err(|e| io(&d.path(), e))?.is_dir() {
            continue;
        }
        let target = to.join(&name);
        std::fs::create_dir_all(&target).map_err(|e| io(&target, e))?;
        for f in std::fs::read_dir(d.path()).map_err(|e| io(&d.path(), e))? {
            let f = f.map_err(|e| io(&d.path(), e))?;
            bytes += std::fs::copy(f.path(), target.join(f.file_name()))
                .map_err(|e| io(&f.path(), e))?;
            n += 1;
        }
    }
    Ok((n, bytes))
}

/// Backs up the relay `cfg` names into `to` (which must not exist).
pub fn backup(cfg: &Config, to: &Path) -> Result<Manifest> {
    if to.exists() {
        return Err(RelayError::BadRequest(format!(
            "{} already exists; name a new directory",
            to.display()
        )));
    }
    let mut store = cfg.open_store()?;
    std::fs::create_dir_all(to).map_err(|e| io(to, e))?;
    if let Some(url) = &cfg.database {
        run(
            Command::new(pg_tool("pg_dump"))
                .args(["--format=custom", "--no-owner", "--file"])
                .arg(to.join("shared.pgdump"))
                .arg(url),
            "pg_dump",
        )?;
    }
    let (docs, changes, _) = store.counts()?;
    drop(store);
    let conn = Connection::open(cfg.data.join("relay.sqlite"))?;
    conn.execute(
        "VACUUM INTO ?1",
        [to.join("relay.sqlite").to_string_lossy()],
    )?;
    let (photos, photo_bytes) = copy_photos(&cfg.blob_root(), &to.join("blobs"))?;
    let m = Manifest {
        created_ms: crate::store::now_ms(),
        postgres: cfg.database.is_some(),
        docs,
        changes,
        photos,
        photo_bytes,
    };
    let json = serde_json::to_vec_pretty(&m).map_err(|e| RelayError::Storage(e.to_string()))?;
    std::fs::write(to.join("manifest.json"), json).map_err(|e| io(to, e))?;
    Ok(m)
}

fn is_empty_dir(p: &Path) -> bool {
    std::fs::read_dir(p).map_or(true, |mut d| d.next().is_none())
}

/// Restores the backup in `from` into the relay `cfg` names: its data directory (and photo
/// directory) must be empty or absent, and with PostgreSQL the database must hold no relay.
/// The restored store is opened and its counts checked against the manifest.
pub fn restore(from: &Path, cfg: &Config) -> Result<Manifest> {
    let manifest: Manifest = serde_json::from_slice(
        &std::fs::read(from.join("manifest.json")).map_err(|e| io(from, e))?,
    )
    .map_err(|e| {
        RelayError::BadRequest(format!(
            "{}: not a GridSafe backup manifest: {e}",
            from.display()
        ))
    })?;
    if manifest.postgres != cfg.database.is_some() {
        return Err(RelayError::BadRequest(if manifest.postgres {
            "this backup holds a PostgreSQL relay: give --database".into()
        } else {
            "this backup holds an SQLite relay: restore it without --database".into()
        }));
    }
    if !is_empty_dir(&cfg.data) || !is_empty_dir(&cfg.blob_root()) {
        return Err(RelayError::BadRequest(format!(
            "{} is not empty; restore into a new data directory",
            cfg.data.display()
        )));
    }
    if let Some(url) = &cfg.database {
        let mut pg = crate::db::Pg::connect(url)?;
        let held = pg
            .client()?
            .query_one("SELECT to_regclass('public.changes') IS NOT NULL", &[])
            .map_err(|e| RelayError::Storage(e.to_string()))?
            .get::<_, bool>(0);
        if held {
            return Err(RelayError::BadRequest(
                "the database already holds a relay; restore into an empty database".into(),
            ));
        }
        run(
            Command::new(pg_tool("pg_restore"))
                .args(["--no-owner", "--exit-on-error", "--dbname"])
                .arg(url)
                .arg(from.join("shared.pgdump")),
            "pg_restore",
        )?;
    }
    std::fs::create_dir_all(&cfg.data).map_err(|e| io(&cfg.data, e))?;
    std::fs::copy(from.join("relay.sqlite"), cfg.data.join("relay.sqlite"))
        .map_err(|e| io(from, e))?;
    let (photos, _) = copy_photos(&from.join("blobs"), &cfg.blob_root())?;
    let mut store = RelayStore::open_with(&cfg.data, cfg.database.as_deref())?;
    let (docs, changes, _) = store.counts()?;
    if (docs, changes, photos) != (manifest.docs, manifest.changes, manifest.photos) {
        return Err(RelayError::Storage(format!(
            "restored {docs} records, {changes} changes, {photos} photos; the backup says {}, {}, {}",
            manifest.docs, manifest.changes, manifest.photos
        )));
    }
    Ok(manifest)
}
