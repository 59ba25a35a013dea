//! Photos: the evidence pipeline's output stored content-addressed, and the originals policy.

use rusqlite::{OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};

use super::Store;
use crate::clock::ms_to_rfc3339;
use crate::error::{Error, Result};
use crate::evidence::{self, IngestContext};
use crate::records::{self, PhotoRef};

/// What happens to camera originals after processing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OriginalsPolicy {
    /// Kept until uploaded (the default).
    Keep,
    /// Dropped once the evidence copy and thumbnail exist; only its hash is recorded.
    Drop,
}

/// A photo handed to the store.
#[derive(Clone, Debug, Default)]
pub struct NewPhoto {
    pub bytes: Vec<u8>,
    pub item_id: Option<String>,
    /// before / after / document / signature
    pub role: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
}

pub(super) const PHOTO_ROLES: &[&str] = &["before", "after", "document", "signature"];

/// Largest photo accepted, in bytes.
pub const MAX_PHOTO_BYTES: usize = 40 * 1024 * 1024;

impl Store {
    /// Runs the evidence pipeline on a photo and stores its variants (evidence copy, thumbnail,
    /// and the original unless the policy drops it). Nothing is stored if the photo is refused.
    pub(super) fn store_photo(
        &self,
        tx: &Transaction<'_>,
        p: &NewPhoto,
        venue_id: &str,
        by: &str,
        evidence_only: bool,
    ) -> Result<PhotoRef> {
        if !PHOTO_ROLES.contains(&p.role.as_str()) {
            return Err(Error::invalid(format!(
                "photo role {:?} is not one of {}",
                p.role,
                PHOTO_ROLES.join(", ")
            )));
        }
        if let (Some(lat), Some(lon)) = (p.lat, p.lon)
            && (!(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon))
        {
            return Err(Error::invalid(format!(
                "GPS position {lat},{lon} is out of range"
            )));
        }
        if p.bytes.len() > MAX_PHOTO_BYTES {
            return Err(Error::TooLarge(format!(
                "the file is {} bytes; the limit is {MAX_PHOTO_BYTES}",
                p.bytes.len()
            )));
        }
        let ctx = IngestContext {
            venue_short: venue_id.chars().filter(|c| *c != '-').take(8).collect(),
            inspector: by.to_owned(),
            app_gps: p.lat.zip(p.lon),
            now_ms: self.now(),
        };
        let e = evidence::ingest(&p.bytes, &ctx)?;
        let keep_original = self.originals_policy()? == OriginalsPolicy::Keep;
        let now = self.now();
        let put = |sha: &str, bytes: &[u8], mime: &str, kind: &str| {
            tx.execute(
                "INSERT OR IGNORE INTO blobs (sha256, size, mime, data, created_ms, kind) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![sha, bytes.len() as i64, mime, bytes, now, kind],
            )
        };
        put(&e.evidence_sha256, &e.evidence, "image/jpeg", "evidence")?;
        // A lifecycle event names only the evidence copy: its thumbnail and original would be
        // photos no record references, which the relay does not take.
        if !evidence_only {
            put(&e.thumbnail_sha256, &e.thumbnail, "image/jpeg", "thumbnail")?;
            if keep_original {
                put(&e.original_sha256, &p.bytes, e.original_mime, "original")?;
            }
        }
        Ok(PhotoRef {
            sha256: e.evidence_sha256,
            item_id: p.item_id.clone(),
            role: p.role.clone(),
            size: e.evidence.len() as u64,
            mime: "image/jpeg".into(),
            captured_at: ms_to_rfc3339(e.captured_ms),
            taken_by: by.to_owned(),
            lat: e.gps.map(|g| g.0),
            lon: e.gps.map(|g| g.1),
            width: Some(e.width),
            height: Some(e.height),
            thumb_sha256: Some(e.thumbnail_sha256),
            thumb_size: Some(e.thumbnail.len() as u64),
            original_sha256: Some(e.original_sha256),
            original_size: Some(e.original_size),
            gps_source: Some(e.gps_source.to_owned()),
            camera: e.camera,
        })
    }

    /// Whether camera originals are kept (until uploaded) or dropped once processed.
    pub fn originals_policy(&self) -> Result<OriginalsPolicy> {
        let v = self.meta("originals")?;
        Ok(if v.as_deref() == Some("drop") {
            OriginalsPolicy::Drop
        } else {
            OriginalsPolicy::Keep
        })
    }

    pub fn set_originals_policy(&mut self, p: OriginalsPolicy) -> Result<()> {
        let v = if p == OriginalsPolicy::Drop {
            "drop"
        } else {
            "keep"
        };
        self.conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('originals', ?1)",
            params![v],
        )?;
        Ok(())
    }

    /// Processes a photo through the evidence pipeline, stores it content-addressed and
    /// references it from the inspection.
    pub fn attach_photo(
        &mut self,
        as_user: &str,
        inspection_id: &str,
        photo: NewPhoto,
    ) -> Result<PhotoRef> {
        let (user, mut doc, since, insp, t) = self.open_inspection(as_user, inspection_id)?;
        if let Some(item) = &photo.item_id
            && t.item(item).is_none()
        {
            return Err(Error::answer(item, format!("not an item of {}", t.key())));
        }
        let tx = self.conn.unchecked_transaction()?;
        let r = self.store_photo(&tx, &photo, &insp.header.venue_id, &user.id, false)?;
        records::push_photo(&mut doc, inspection_id, &r)?;
        Store::save_doc(&tx, inspection_id, &mut doc, &since)?;
        tx.commit()?;
        Ok(r)
    }

    pub fn blob(&self, sha256: &str) -> Result<Vec<u8>> {
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::invalid(format!(
                "{sha256:?} is not a SHA-256 hex string"
            )));
        }
        self.conn
            .query_row(
                "SELECT data FROM blobs WHERE sha256 = ?1",
                params![sha256.to_ascii_lowercase()],
                |r| r.get(0),
            )
            .optional()?
            .ok_or_else(|| Error::not_found("photo", sha256))
    }

    /// Checks a finished inspection against the manifest sealed when it was finished: every
    /// answer, the list of photos, and every stored photo variant's bytes.
    pub fn verify_evidence(&self, inspection_id: &str) -> Result<evidence::EvidenceReport> {
        let insp = self.inspection(inspection_id)?;
        let lookup = |sha: &str| -> Result<Option<Vec<u8>>> {
            Ok(self
                .conn
                .query_row(
                    "SELECT data FROM blobs WHERE sha256 = ?1",
                    params![sha],
                    |r| r.get(0),
                )
                .optional()?)
        };
        evidence::verify(&insp, &lookup)
    }
}
