//! Guards for automerge bytes from outside (a phone's push, an import, a pull): the chunk types
//! accepted, and panics inside automerge turned into errors.

use super::*;
use crate::error::Result;

/// Runs automerge over bytes that came from outside (a phone's push, an imported file, a pull).
/// automerge 0.12 panics on some malformed changes instead of returning an error (found by the
/// `sync_push` fuzz target: an `unwrap` in its op import); a panic here becomes
/// [`Error::Document`] for `id`, and the half-applied document is dropped by the caller.
pub fn untrusted<T>(id: &str, f: impl FnOnce() -> T) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|_| {
        doc_err(
            id,
            "malformed automerge data (the changes cannot be read); nothing was applied",
        )
    })
}

/// automerge chunk types, from the chunk header (magic, checksum, type, length).
pub const CHUNK_DOCUMENT: u8 = 0;

pub const CHUNK_CHANGE: u8 = 1;

pub const CHUNK_COMPRESSED_CHANGE: u8 = 2;

/// Walks the chunk headers of automerge bytes from outside and refuses any chunk whose type is
/// not in `allowed`, before automerge parses a byte of it. automerge 0.12 also reads "bundle"
/// chunks (type 3), and a 76-byte bundle declaring a huge delta-encoded column makes it allocate
/// 2 GiB (found by the `sync_push` fuzz target); phones never send one, so the relay and the
/// phone accept only what a phone produces.
pub fn check_chunks(id: &str, bytes: &[u8], allowed: &[u8]) -> Result<()> {
    const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
    let mut rest = bytes;
    if rest.is_empty() {
        return Err(doc_err(id, "no automerge data"));
    }
    while !rest.is_empty() {
        if rest.len() < 9 || rest[..4] != MAGIC {
            return Err(doc_err(id, "not automerge data (no chunk header)"));
        }
        let kind = rest[8];
        if !allowed.contains(&kind) {
            return Err(doc_err(
                id,
                format!(
                    "automerge chunk of type {kind} is not accepted here (expected one of {allowed:?})"
                ),
            ));
        }
        // The contents' length, unsigned LEB128.
        let (mut len, mut shift, mut at) = (0u64, 0u32, 9usize);
        loop {
            let b = *rest
                .get(at)
                .ok_or_else(|| doc_err(id, "truncated automerge chunk header"))?;
            at += 1;
            if shift >= 63 {
                return Err(doc_err(id, "automerge chunk length overflows"));
            }
            len |= u64::from(b & 0x7f) << shift;
            shift += 7;
            if b & 0x80 == 0 {
                break;
            }
        }
        let end = usize::try_from(len)
            .ok()
            .and_then(|l| at.checked_add(l))
            .filter(|&e| e <= rest.len());
        let end =
            end.ok_or_else(|| doc_err(id, "automerge chunk is longer than the bytes given"))?;
        rest = &rest[end..];
    }
    Ok(())
}
