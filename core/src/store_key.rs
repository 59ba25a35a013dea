//! The phone store's encryption key and what it takes to put a key on a store file.
//!
//! The key is 32 random bytes that the shell generates once and keeps where the phone's hardware
//! protects it (Android Keystore, iOS Keychain). SQLCipher uses it as a raw key: no passphrase
//! derivation, since it is already uniformly random. Photos live inside the store, so they are
//! encrypted with everything else.

use std::fs::{self, File};
use std::io::Read;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, ErrorCode, params};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// A 256-bit store key. Wiped from memory when dropped; never printed.
#[derive(Clone)]
pub struct StoreKey(Zeroizing<[u8; StoreKey::LEN]>);

impl std::fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreKey(..)")
    }
}

impl StoreKey {
    pub const LEN: usize = 32;

    /// The key from its 32 bytes (as the Keystore or Keychain hands them over).
    pub fn from_bytes(bytes: &[u8]) -> Result<StoreKey> {
        let arr: [u8; StoreKey::LEN] = bytes.try_into().map_err(|_| {
            Error::invalid(format!(
                "a store key is {} bytes, this one is {}",
                StoreKey::LEN,
                bytes.len()
            ))
        })?;
        if arr.iter().all(|&b| b == 0) {
            return Err(Error::invalid("a store key of all zero bytes is not a key"));
        }
        Ok(StoreKey(Zeroizing::new(arr)))
    }

    /// The key from a key file: 32 raw bytes, or 64 hex digits (surrounding whitespace ignored).
    pub fn from_file(path: &Path) -> Result<StoreKey> {
        let raw = Zeroizing::new(
            fs::read(path)
                .map_err(|e| Error::invalid(format!("key file {}: {e}", path.display())))?,
        );
        let text = std::str::from_utf8(&raw).map(str::trim).unwrap_or_default();
        if text.len() == 2 * StoreKey::LEN && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            let bytes = Zeroizing::new(
                hex::decode(text)
                    .map_err(|e| Error::invalid(format!("key file {}: {e}", path.display())))?,
            );
            return StoreKey::from_bytes(&bytes);
        }
        StoreKey::from_bytes(&raw).map_err(|_| {
            Error::invalid(format!(
                "key file {}: holds neither 32 bytes nor 64 hex digits ({} bytes)",
                path.display(),
                raw.len()
            ))
        })
    }

    /// SQLCipher's raw-key literal, `x'…'`, as the text of `PRAGMA key` or `ATTACH … KEY`.
    fn literal(&self) -> Zeroizing<String> {
        Zeroizing::new(format!("x'{}'", hex::encode_upper(*self.0)))
    }

    /// Makes `conn` read and write the file with this key. Must come before anything else touches
    /// the file.
    pub(crate) fn apply(&self, conn: &Connection) -> rusqlite::Result<()> {
        // SQLCipher logs a failed page check to stderr/logcat before returning the error we turn
        // into `Error::WrongKey`; the user sees that one message only.
        conn.pragma_update(None, "cipher_log_level", "NONE")?;
        conn.pragma_update(None, "key", &*self.literal())
    }
}

const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// True when the file at `path` is an encrypted store (or any file that is not plain SQLite but
/// is shaped like SQLCipher's pages); false for a plain SQLite file.
pub fn is_encrypted(path: &Path) -> Result<bool> {
    let mut head = [0u8; 16];
    let mut f = File::open(path).map_err(|e| Error::Store {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    if f.read_exact(&mut head).is_err() {
        return Ok(false);
    }
    Ok(&head != SQLITE_HEADER && len >= 4096 && len % 1024 == 0)
}

/// True for "file is not a database": what SQLCipher answers to a wrong key.
pub(crate) fn is_not_a_database(e: &rusqlite::Error) -> bool {
    matches!(e.sqlite_error_code(), Some(ErrorCode::NotADatabase))
}

/// Where a store is rewritten under a new key before it replaces the original.
pub(crate) fn rekey_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".rekey");
    PathBuf::from(p)
}

/// Writes the whole database behind `conn` into a new file at `dst` encrypted with `key`
/// (SQLCipher's `sqlcipher_export`), keeping the schema version and application id. `conn`'s
/// file is only read.
pub(crate) fn export(
    conn: &Connection,
    dst: &Path,
    key: &StoreKey,
    user_version: i64,
    application_id: i32,
) -> Result<()> {
    let dst_text = dst
        .to_str()
        .ok_or_else(|| Error::invalid(format!("store path {} is not UTF-8", dst.display())))?;
    // Everything committed must be in the main file, not only in the WAL, before it is copied.
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    // An attached file opens with the main connection's flags, which do not include "create": an
    // empty file is a new database to SQLite.
    File::create(dst).map_err(|e| Error::Store {
        path: dst.display().to_string(),
        reason: e.to_string(),
    })?;
    conn.execute(
        "ATTACH DATABASE ?1 AS rekeyed KEY ?2",
        params![dst_text, &*key.literal()],
    )?;
    let copied = conn.query_row("SELECT sqlcipher_export('rekeyed')", [], |_| Ok(())).and_then(|()| {
        conn.execute_batch(&format!("PRAGMA rekeyed.user_version = {user_version}; PRAGMA rekeyed.application_id = {application_id};"))
    });
    let detached = conn.execute("DETACH DATABASE rekeyed", []);
    copied?;
    detached?;
    File::open(dst)
        .and_then(|f| f.sync_all())
        .map_err(|e| Error::Store {
            path: dst.display().to_string(),
            reason: e.to_string(),
        })?;
    Ok(())
}

/// Checks a store and counts what matters (documents, chunks, photo bytes), to compare a
/// rewritten store with its original before one replaces the other.
pub(crate) fn census(conn: &Connection) -> Result<(i64, i64, i64)> {
    let ok: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
    if ok != "ok" {
        return Err(Error::invalid(format!(
            "store fails its integrity check: {ok}"
        )));
    }
    let docs = conn.query_row("SELECT count(*) FROM docs", [], |r| r.get(0))?;
    let chunks = conn.query_row("SELECT count(*) FROM doc_chunks", [], |r| r.get(0))?;
    let blobs = conn.query_row(
        "SELECT coalesce(sum(length(data)), 0) FROM blobs",
        [],
        |r| r.get(0),
    )?;
    Ok((docs, chunks, blobs))
}

/// Replaces `path` with `fresh` in one rename and makes the rename durable. The old file's WAL
/// and shared-memory files go with it (its connection is closed and checkpointed by now).
pub(crate) fn replace(fresh: &Path, path: &Path) -> Result<()> {
    let io = |e: std::io::Error| Error::Store {
        path: path.display().to_string(),
        reason: format!("cannot replace the store: {e}"),
    };
    fs::rename(fresh, path).map_err(io)?;
    for ext in ["-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(ext);
        let _ = fs::remove_file(PathBuf::from(p));
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        File::open(dir).and_then(|d| d.sync_all()).map_err(io)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_checked_and_never_printed() {
        assert!(
            StoreKey::from_bytes(&[1; 31])
                .unwrap_err()
                .to_string()
                .contains("32 bytes, this one is 31")
        );
        assert!(StoreKey::from_bytes(&[0; 32]).is_err());
        let k = StoreKey::from_bytes(&[0xab; 32]).unwrap();
        assert_eq!(format!("{k:?}"), "StoreKey(..)");
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("k");
        fs::write(&f, format!("{}\n", "ab".repeat(32))).unwrap();
        assert_eq!(*StoreKey::from_file(&f).unwrap().0, [0xab; 32]);
        fs::write(&f, [7u8; 32]).unwrap();
        assert_eq!(*StoreKey::from_file(&f).unwrap().0, [7; 32]);
        fs::write(&f, "short").unwrap();
        assert!(
            StoreKey::from_file(&f)
                .unwrap_err()
                .to_string()
                .contains("neither 32 bytes nor 64 hex digits")
        );
    }
}
