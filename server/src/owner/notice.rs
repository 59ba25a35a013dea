//! The venue's rectification notice as the office prints it, and revoking a venue's owner links.

use super::*;
use crate::store::{Record, RelayError, RelayStore};
use gridsafe_core::directory::User;
use gridsafe_core::owner_link::{self, OwnerLink};
use gridsafe_core::policy::{self, Capability};
use rusqlite::params;

impl RelayStore {
    /// Ends every owner link of a venue issued until now (a lost or misused notice); phones'
    /// next notices work again.
    pub fn revoke_owner_links(&mut self, user: &User, venue_id: &str) -> Result<()> {
        gridsafe_core::store::check_id("venue", venue_id)?;
        policy::check(user, Capability::RevokeOwnerLinks).map_err(RelayError::Forbidden)?;
        self.conn.execute(
            "INSERT OR REPLACE INTO owner_link_revocations (venue_id, revoked_ms, revoked_by) VALUES (?1, ?2, ?3)",
            params![venue_id, gridsafe_core::clock::now_ms(), user.id],
        )?;
        Ok(())
    }

    /// The rectification notice of a venue as the office prints it: core's notice over the
    /// relay's records, with an owner link signed by `user`'s dashboard device, under `base_url`.
    pub fn venue_notice(
        &mut self,
        user: &User,
        venue_id: &str,
        base_url: &str,
    ) -> Result<gridsafe_core::notice::Notice> {
        gridsafe_core::store::check_id("venue", venue_id)?;
        self.refresh_directory()?;
        let venue = self.load_venue(venue_id)?;
        let ids: Vec<String> = {
            let mut stmt = self
                .conn
                .prepare_cached("SELECT id FROM hazards_idx WHERE venue_id = ?1 AND is_open = 1")?;
            stmt.query_map(params![venue_id], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?
        };
        let mut hazards = Vec::new();
        for id in ids {
            if let Some(l) = self.load(&id)?
                && let Record::Hazard(h, evs) = &l.place.record
            {
                hazards.push(((**h).clone(), self.fold_hazard(h, evs)?));
            }
        }
        let depts = hazards.iter().map(|(h, _)| h.lead_depts.as_slice());
        if !policy::may_print_venue_notice(user, &venue.grid_id, depts) {
            return Err(RelayError::Forbidden(format!(
                "venue {venue_id} is outside {}'s scope",
                user.id
            )));
        }
        let listed: Vec<String> = {
            let mut ids: Vec<String> = gridsafe_core::notice::listed(&venue, &hazards)
                .iter()
                .map(|(h, _)| h.id.clone())
                .collect();
            ids.sort();
            ids
        };
        let issuer = self.issuer()?;
        // Only a notice that lists something takes a number.
        let number = if listed.is_empty() {
            (0, 0)
        } else {
            self.office_notice_number(user, venue_id, &listed)?
        };
        let base_url = issuer
            .as_ref()
            .map(|i| i.public_url.trim().to_owned())
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| base_url.to_owned());
        let device = self.dashboard_device(user)?;
        let key = self.owner_key(&device)?;
        let now = gridsafe_core::clock::now_ms();
        let link = OwnerLink {
            device_id: device.id.clone(),
            venue_id: venue_id.to_owned(),
            issued_ms: now,
            expires_ms: now + owner_link::VALID_MS,
        };
        let url = format!(
            "{}/o/{}",
            base_url.trim_end_matches('/'),
            owner_link::sign(&key, &link)?
        );
        let inspector = hazards
            .first()
            .map_or_else(|| user.id.clone(), |(h, _)| h.found_by.clone());
        let dir = self.dir.clone().unwrap_or_default();
        Ok(gridsafe_core::notice::build(
            gridsafe_core::notice::NoticeInput {
                dir: &dir,
                issuer: issuer.as_ref(),
                number,
                venue: &venue,
                hazards: &hazards,
                inspector: &inspector,
                issued_on: gridsafe_core::clock::today(),
                owner_url: Some(url),
            },
        )?)
    }
}
