//! The venue file (场所档案): what the office reads about one venue beyond its fields — every
//! inspection, its hazards over time with their photos, and the notices issued to it.

use gridsafe_core::directory::User;
use gridsafe_core::store::{HazardQuery, HazardRow};

use super::{RelayError, RelayStore, Result};
use crate::vals;

/// Photos shown per hazard in the file (the hazard's page has them all).
pub const PHOTOS_PER_HAZARD: i64 = 4;

/// One inspection of the venue.
#[derive(Clone, Debug)]
pub struct InspectionEntry {
    pub template_id: String,
    pub template_version: String,
    pub inspector: String,
    pub started_ms: i64,
    pub finished: bool,
    pub failed: i64,
    pub hazards: i64,
}

/// One notice issued to the venue (by a phone or by the office).
#[derive(Clone, Debug)]
pub struct NoticeEntry {
    pub year: i32,
    pub n: u32,
    pub issued_ms: i64,
    /// How many hazards it lists, when the office printed it (a phone's notice is its own record).
    pub hazards: Option<usize>,
}

#[derive(Clone, Debug, Default)]
pub struct VenueFile {
    /// Newest first.
    pub inspections: Vec<InspectionEntry>,
    /// The venue's hazards in `user`'s scope, newest found first, each with its photos' hashes.
    pub hazards: Vec<(HazardRow, Vec<String>)>,
    /// Newest first.
    pub notices: Vec<NoticeEntry>,
}

impl RelayStore {
    /// The file of venue `id`; the caller has checked that `user` may see the venue
    /// ([`RelayStore::venue_view`]), and the hazards are narrowed to `user`'s scope.
    pub fn venue_file(&mut self, user: &User, id: &str) -> Result<VenueFile> {
        gridsafe_core::store::check_id("venue", id)?;
        let mut stmt = self.conn.prepare_cached(
            "SELECT template_id, template_version, inspector, started_ms, finished, failed, hazards
             FROM inspections_idx WHERE venue_id = ?1 ORDER BY started_ms DESC, id",
        )?;
        let inspections = stmt
            .query_map([id], |r| {
                Ok(InspectionEntry {
                    template_id: r.get(0)?,
                    template_version: r.get(1)?,
                    inspector: r.get(2)?,
                    started_ms: r.get(3)?,
                    finished: r.get(4)?,
                    failed: r.get(5)?,
                    hazards: r.get(6)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        drop(stmt);
        let dir = self
            .dir
            .as_ref()
            .ok_or_else(|| RelayError::Storage("no directory installed".into()))?;
        let (rows, _) = gridsafe_core::projection::list_hazards(
            &self.conn,
            dir,
            &HazardQuery {
                scope_user: Some(user.id.clone()),
                venue_id: Some(id.to_owned()),
                sort: Some("found_desc".into()),
                ..HazardQuery::default()
            },
        )?;
        let mut hazards = Vec::with_capacity(rows.len());
        for h in rows {
            // The record's own photos (their thumbnails) and those its events carry, as the
            // hazard's page shows them; only photos the relay holds complete.
            let (header, status) = match self.hazard_view(user, &h.id) {
                Ok(v) => v,
                // Listed by the projection but not (or no longer) the user's to open: no photos.
                Err(RelayError::Forbidden(_) | RelayError::NotFound(_)) => {
                    hazards.push((h, Vec::new()));
                    continue;
                }
                Err(e) => return Err(e),
            };
            let mut photos = Vec::new();
            let wanted = header
                .photos
                .iter()
                .map(|p| p.thumb_sha256.clone().unwrap_or_else(|| p.sha256.clone()))
                .chain(
                    status
                        .history
                        .iter()
                        .filter(|e| e.applied)
                        .filter_map(|e| e.photo.clone()),
                );
            for sha in wanted {
                if photos.len() as i64 >= PHOTOS_PER_HAZARD {
                    break;
                }
                if !photos.contains(&sha) && self.blob_complete(&sha)? {
                    photos.push(sha);
                }
            }
            hazards.push((h, photos));
        }
        let notices = self
            .db()
            .query(
                "SELECT year, n, issued_ms, hazards FROM notice_register WHERE venue_id = ?1
                 ORDER BY issued_ms DESC, year DESC, n DESC",
                vals![id.to_owned()],
            )?
            .iter()
            .map(|r| {
                let listed = r.text(3)?;
                Ok(NoticeEntry {
                    year: r.int(0)? as i32,
                    n: r.int(1)? as u32,
                    issued_ms: r.int(2)?,
                    hazards: (!listed.is_empty()).then(|| listed.split(',').count()),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(VenueFile {
            inspections,
            hazards,
            notices,
        })
    }
}
