//! Photo bytes behind one interface, so several relays can share them: a directory (local, or a
//! shared filesystem mounted on every relay) today; S3-compatible storage is the next
//! implementation (ADR 0012). Which photos are complete and who may read them is in the shared
//! tables, not here.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{RelayError, Result};

/// Where an upload stands after one chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Appended {
    /// The chunk did not start where the held bytes end: the client resumes from `have`.
    Resume { have: u64 },
    /// Stored; `have` bytes held, more to come.
    Partial { have: u64 },
    /// The last chunk: the whole file matched its hash and is now the blob.
    Complete { size: u64 },
}

/// Content-addressed photo storage (names are lowercase SHA-256 hex, checked by the caller).
pub trait BlobStore: Send + Sync + std::fmt::Debug {
    /// The size of a complete blob, if stored.
    fn size(&self, sha: &str) -> Result<Option<u64>>;
    /// Bytes held of an unfinished upload.
    fn partial(&self, sha: &str) -> Result<u64>;
    /// Appends an upload's chunk at `offset`; on the last one (`total` reached) checks the whole
    /// file against `sha` and makes it the blob. A mismatch discards the upload (400).
    fn append(&self, sha: &str, offset: u64, bytes: &[u8], total: u64) -> Result<Appended>;
    /// Stores bytes the relay made itself under their hash.
    fn put(&self, sha: &str, bytes: &[u8]) -> Result<()>;
    /// Like [`BlobStore::append`], for a photo the relay already holds, sent again by `who` to
    /// prove they hold its bytes: kept apart per sender, checked against the hash when whole,
    /// then discarded (the stored photo is not touched).
    fn prove(
        &self,
        sha: &str,
        who: &str,
        offset: u64,
        bytes: &[u8],
        total: u64,
    ) -> Result<Appended>;
    /// Bytes of a proof upload held so far.
    fn proved(&self, sha: &str, who: &str) -> Result<u64>;
    fn get(&self, sha: &str) -> Result<Vec<u8>>;
}

/// Blobs as files: `ROOT/ab/abcd…`, uploads in `ROOT/partial/`. Every write is synced and
/// renamed into place, so no reader (on any relay) ever sees a short file under a full name; an
/// upload's file is locked while a chunk is appended, so two relays taking chunks of the same
/// photo cannot interleave them.
#[derive(Clone, Debug)]
pub struct FsBlobStore {
    root: PathBuf,
}

fn io(what: &Path, e: std::io::Error) -> RelayError {
    RelayError::Storage(format!("{}: {e}", what.display()))
}

impl FsBlobStore {
    pub fn new(root: impl Into<PathBuf>) -> FsBlobStore {
        FsBlobStore { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path(&self, sha: &str) -> PathBuf {
        self.root.join(sha.get(..2).unwrap_or("__")).join(sha)
    }

    fn part(&self, sha: &str) -> PathBuf {
        self.root.join("partial").join(format!("{sha}.part"))
    }

    fn proof(&self, sha: &str, who: &str) -> PathBuf {
        // `who` is a device id (hex): nothing in it names another path.
        let who: String = who.chars().filter(char::is_ascii_alphanumeric).collect();
        self.root.join("partial").join(format!("{sha}.{who}.proof"))
    }

    fn place(&self, from: &Path, sha: &str) -> Result<()> {
        let dest = self.path(sha);
        let dir = dest.parent().unwrap_or(&self.root);
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        std::fs::rename(from, &dest).map_err(|e| io(&dest, e))
    }
}

impl BlobStore for FsBlobStore {
    fn size(&self, sha: &str) -> Result<Option<u64>> {
        match std::fs::metadata(self.path(sha)) {
            Ok(m) => Ok(Some(m.len())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(&self.path(sha), e)),
        }
    }

    fn partial(&self, sha: &str) -> Result<u64> {
        Ok(std::fs::metadata(self.part(sha))
            .map(|m| m.len())
            .unwrap_or(0))
    }

    fn append(&self, sha: &str, offset: u64, bytes: &[u8], total: u64) -> Result<Appended> {
        let part = self.part(sha);
        let dir = part.parent().unwrap_or(&self.root);
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&part)
            .map_err(|e| io(&part, e))?;
        // Held until `f` closes: another relay's chunk for this photo waits, then sees our bytes.
        f.lock().map_err(|e| io(&part, e))?;
        let have = f.metadata().map_err(|e| io(&part, e))?.len();
        if let Some(size) = self.size(sha)? {
            // Completed by another request (or relay): no upload of it remains.
            if have == 0 {
                let _ = std::fs::remove_file(&part);
            }
            return Ok(Appended::Complete { size });
        }
        if offset != have {
            return Ok(Appended::Resume { have });
        }
        f.write_all(bytes).map_err(|e| io(&part, e))?;
        f.sync_all().map_err(|e| io(&part, e))?;
        let have = have + bytes.len() as u64;
        if have < total {
            return Ok(Appended::Partial { have });
        }
        let all = std::fs::read(&part).map_err(|e| io(&part, e))?;
        if gridsafe_core::evidence::sha256_hex(&all) != sha {
            std::fs::remove_file(&part).map_err(|e| io(&part, e))?;
            return Err(RelayError::BadRequest(
                "the uploaded bytes do not match their SHA-256; upload again".into(),
            ));
        }
        self.place(&part, sha)?;
        Ok(Appended::Complete { size: have })
    }

    fn put(&self, sha: &str, bytes: &[u8]) -> Result<()> {
        if self.size(sha)?.is_some() {
            return Ok(());
        }
        let dir = self.root.join("partial");
        std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
        // A unique name: two relays storing the same bytes at once each write their own file.
        let made = tempfile_in(&dir, sha)?;
        let mut f = File::create(&made).map_err(|e| io(&made, e))?;
        f.write_all(bytes).map_err(|e| io(&made, e))?;
        f.sync_all().map_err(|e| io(&made, e))?;
        self.place(&made, sha)
    }

    fn prove(
        &self,
        sha: &str,
        who: &str,
        offset: u64,
        bytes: &[u8],
        total: u64,
    ) -> Result<Appended> {
        let part = self.proof(sha, who);
        let dir = part.parent().unwrap_or(&self.root);
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&part)
            .map_err(|e| io(&part, e))?;
        f.lock().map_err(|e| io(&part, e))?;
        let have = f.metadata().map_err(|e| io(&part, e))?.len();
        if offset != have {
            return Ok(Appended::Resume { have });
        }
        f.write_all(bytes).map_err(|e| io(&part, e))?;
        let have = have + bytes.len() as u64;
        if have < total {
            return Ok(Appended::Partial { have });
        }
        let all = std::fs::read(&part).map_err(|e| io(&part, e))?;
        std::fs::remove_file(&part).map_err(|e| io(&part, e))?;
        if gridsafe_core::evidence::sha256_hex(&all) != sha {
            return Err(RelayError::BadRequest(
                "the uploaded bytes do not match their SHA-256; upload again".into(),
            ));
        }
        Ok(Appended::Complete { size: have })
    }

    fn proved(&self, sha: &str, who: &str) -> Result<u64> {
        Ok(std::fs::metadata(self.proof(sha, who))
            .map(|m| m.len())
            .unwrap_or(0))
    }

    fn get(&self, sha: &str) -> Result<Vec<u8>> {
        let p = self.path(sha);
        std::fs::read(&p).map_err(|e| io(&p, e))
    }
}

fn tempfile_in(dir: &Path, sha: &str) -> Result<PathBuf> {
    use rand_core::RngCore;
    let mut n = [0u8; 8];
    rand_core::OsRng.fill_bytes(&mut n);
    Ok(dir.join(format!("{sha}.{}.made", hex::encode(n))))
}
