//! Photo records: which uploads are complete, and who may read a photo (by the records that
//! reference it).

use gridsafe_core::directory::User;
use gridsafe_core::policy;
use gridsafe_core::records::DocKind;
use gridsafe_core::store::split_list;
use rusqlite::params;

use super::Device;
use super::{RelayStore, Result, now_ms};
use crate::vals;

/// What a user may do with a photo, by the records in their scope that reference it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlobAccess {
    /// No record in their scope references it.
    None,
    /// Their records reference a photo other people's records already held: they may send its
    /// bytes (which proves they have it), not read it.
    NeedsProof,
    /// Read, send, ask its status.
    Granted,
}

impl RelayStore {
    /// Records a completed, verified upload.
    pub fn blob_completed(&mut self, sha: &str, size: u64, device: &Device) -> Result<()> {
        self.db().exec(
            "INSERT INTO blobs (sha256, size, device_id, completed_ms) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
            vals![sha, size as i64, &device.id, now_ms()],
        )?;
        // One fewer waiting on the phone than it reported at its last sync.
        self.db().exec(
            "UPDATE devices SET pending_photos = pending_photos - 1 WHERE id = ?1 AND pending_photos > 0",
            vals![&device.id],
        )?;
        Ok(())
    }

    pub fn blob_complete(&mut self, sha: &str) -> Result<bool> {
        Ok(self
            .db()
            .one("SELECT 1 FROM blobs WHERE sha256 = ?1", vals![sha])?
            .is_some())
    }

    /// May this device download the photo? Only when a record in its user's scope references it.
    pub fn may_read_blob(&mut self, device: &Device, sha: &str) -> Result<bool> {
        self.user_may_read_blob(&device.user, sha)
    }

    /// What `user` may do with the photo `sha` through the records that reference it.
    pub fn blob_access(&mut self, user: &User, sha: &str) -> Result<BlobAccess> {
        let rows = self
            .db()
            .query("SELECT d.kind, d.grid_id, d.depts, b.granted FROM blob_refs b JOIN docs d ON d.id = b.doc_id WHERE b.sha256 = ?1", vals![sha])?;
        let mut access = BlobAccess::None;
        for row in rows {
            let (kind, grid, depts) = (row.text(0)?, row.text(1)?, row.text(2)?);
            let kind = DocKind::parse(&kind).unwrap_or(DocKind::Venue);
            if policy::may_write_record(user, kind, &grid, &split_list(&depts)) {
                if row.int(3)? != 0 {
                    return Ok(BlobAccess::Granted);
                }
                access = BlobAccess::NeedsProof;
            }
        }
        Ok(access)
    }

    /// The device sent the photo's bytes: its records' references to it now give access.
    pub fn grant_blob(&mut self, device: &Device, sha: &str) -> Result<()> {
        let rows = self
            .db()
            .query("SELECT b.doc_id, d.kind, d.grid_id, d.depts FROM blob_refs b JOIN docs d ON d.id = b.doc_id WHERE b.sha256 = ?1 AND b.granted = 0", vals![sha])?;
        for row in rows {
            let kind = DocKind::parse(&row.text(1)?).unwrap_or(DocKind::Venue);
            if policy::may_write_record(
                &device.user,
                kind,
                &row.text(2)?,
                &split_list(&row.text(3)?),
            ) {
                self.db().exec(
                    "UPDATE blob_refs SET granted = 1 WHERE sha256 = ?1 AND doc_id = ?2",
                    vals![sha, row.text(0)?],
                )?;
            }
        }
        Ok(())
    }

    /// May `user` see the photo? Only when a record in their scope references it (and that
    /// reference was not added to someone else's photo without sending its bytes).
    pub fn user_may_read_blob(&mut self, user: &User, sha: &str) -> Result<bool> {
        if self.blob_access(user, sha)? == BlobAccess::Granted {
            return Ok(true);
        }
        // An owner's photo not (yet) accepted into a record: readable where its hazard is.
        let mut stmt = self.conn.prepare_cached(
            "SELECT h.grid_id, h.lead_depts FROM owner_reports o JOIN hazards_idx h ON h.id = o.hazard_id WHERE o.photo = ?1 OR o.thumb = ?1",
        )?;
        let rows = stmt.query_map(params![sha], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?;
        for row in rows {
            let (grid, depts) = row?;
            if policy::may_write_record(user, DocKind::Hazard, &grid, &split_list(&depts)) {
                return Ok(true);
            }
        }
        Ok(false)
    }
}
