//! A venue at the office: its fields with the conflicts still open and its moves, and resolving
//! a conflict from the dashboard — written as the reviewer's change, through the same checks as
//! a phone's.

use gridsafe_core::directory::User;
use gridsafe_core::policy;
use gridsafe_core::records::{self, DocKind, Venue, venue_fields};
use gridsafe_core::sync::DocChanges;
use serde_bytes::ByteBuf;

use super::dashboard::dashboard_actor;
use super::{Record, RelayError, RelayStore, Result};

impl RelayStore {
    /// The venue as kept on every replica, its open conflicts and its moves, for someone who may
    /// see it (its grid's inspector, a department leading a hazard there, the town office).
    pub fn venue_view(
        &mut self,
        user: &User,
        id: &str,
    ) -> Result<(
        Venue,
        Vec<venue_fields::FieldConflict>,
        Vec<venue_fields::VenueMove>,
    )> {
        gridsafe_core::store::check_id("venue", id)?;
        let loaded = self
            .load(id)?
            .ok_or_else(|| RelayError::NotFound(format!("venue {id}")))?;
        let Record::Venue(v) = &loaded.place.record else {
            return Err(RelayError::NotFound(format!("venue {id}")));
        };
        let depts = self.venue_depts(&v.id)?;
        if !policy::may_write_record(user, DocKind::Venue, &v.grid_id, &depts)
            && user.role != gridsafe_core::directory::Role::TownOffice
        {
            return Err(RelayError::Forbidden(format!(
                "venue {} is outside {}'s scope",
                v.name, user.id
            )));
        }
        let (venue, conflicts) = records::read_venue_full(&loaded.doc, id)?;
        Ok((venue, conflicts, venue_fields::moves(&loaded.doc)))
    }

    /// Sets a venue field from the dashboard — resolving a conflict by choosing or re-entering a
    /// value, or (the town office) moving the venue to another grid, which takes its whole file
    /// along. Stamped now by `user`, pushed through the same checks as a phone's change.
    pub fn web_edit_venue_field(
        &mut self,
        user: &User,
        id: &str,
        field: &str,
        value: serde_json::Value,
    ) -> Result<Venue> {
        self.web_edit_venue(user, id, &[(field.to_owned(), value)])
    }

    /// Sets several venue fields at once from the dashboard (the venue's details form); a
    /// change of grid comes alone ([`Self::web_edit_venue_field`]).
    pub fn web_edit_venue(
        &mut self,
        user: &User,
        id: &str,
        edits: &[(String, serde_json::Value)],
    ) -> Result<Venue> {
        gridsafe_core::store::check_id("venue", id)?;
        // A move comes alone: it takes the venue's whole file to another grid.
        let moved_to = match edits {
            [(f, v)] if f == "grid_id" => Some(v.as_str().unwrap_or_default()),
            _ => None,
        };
        policy::check_edit_venue(user).map_err(RelayError::Forbidden)?;
        self.refresh_directory()?;
        let device = self.dashboard_device(user)?;
        let loaded = self
            .load(id)?
            .ok_or_else(|| RelayError::NotFound(format!("venue {id}")))?;
        let mut doc = loaded.doc.clone().with_actor(dashboard_actor(&device)?);
        let heads = doc.get_heads();
        let before = records::read_venue(&doc, id)?;
        let after = if let Some(to) = moved_to {
            policy::check_move_venue(user, &before.grid_id).map_err(RelayError::Forbidden)?;
            let grid = self
                .directory()
                .and_then(|d| d.grid(to))
                .cloned()
                .ok_or_else(|| {
                    RelayError::BadRequest(
                        "请选择名录中的网格 / choose a grid from the directory".into(),
                    )
                })?;
            Venue {
                grid_id: grid.id,
                village: grid.village,
                ..before.clone()
            }
        } else {
            let mut after = before.clone();
            for (f, v) in edits {
                if f == "grid_id" {
                    return Err(RelayError::BadRequest(
                        "移交网格请单独操作 / move the venue on its own".into(),
                    ));
                }
                after = venue_fields::set_field(&after, f, v.clone())?;
            }
            after
        };
        let fields: Vec<String> = edits.iter().map(|(f, _)| f.clone()).collect();
        let stamp = venue_fields::Stamp {
            ms: gridsafe_core::clock::now_ms(),
            counter: 0,
            by: user.id.clone(),
        };
        venue_fields::write_edit(&mut doc, &before, &after, &stamp, &fields)?;
        let changes = doc
            .get_changes(&heads)
            .into_iter()
            .map(|c| ByteBuf::from(c.raw_bytes().to_vec()))
            .collect();
        let push = DocChanges {
            doc_id: id.to_owned(),
            kind: "venue".into(),
            changes,
            heads: vec![],
        };
        self.push_as_dashboard(&device, vec![(push, Some(loaded))])?;
        Ok(after)
    }

    /// The grid a venue is in now (what a hazard found there is worked on by, after a move).
    pub(crate) fn venue_grid(&mut self, venue: &str) -> Result<Option<String>> {
        let rows = self.db().query(
            "SELECT grid_id FROM docs WHERE id = ?1 AND kind = 'venue'",
            crate::vals![venue],
        )?;
        rows.first().map(|r| r.text(0)).transpose()
    }

    /// A hazard's state folded where its venue is now.
    pub(crate) fn fold_hazard(
        &mut self,
        h: &gridsafe_core::records::HazardHeader,
        evs: &[gridsafe_core::records::StoredEvent],
    ) -> Result<gridsafe_core::hazard_state::HazardStatus> {
        let grid = self.venue_grid(&h.venue_id)?;
        Ok(gridsafe_core::projection::fold_with(
            self.dir.as_ref(),
            &self.actors,
            h,
            evs,
            grid.as_deref(),
        ))
    }

    /// The departments leading a hazard at a venue (what a reviewer's scope over it is).
    fn venue_depts(&mut self, venue: &str) -> Result<Vec<String>> {
        let rows = self
            .db()
            .query("SELECT depts FROM docs WHERE id = ?1", crate::vals![venue])?;
        Ok(rows
            .first()
            .map(|r| r.text(0))
            .transpose()?
            .map(|d| gridsafe_core::store::split_list(&d))
            .unwrap_or_default())
    }
}
