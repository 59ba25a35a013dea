//! Venues (场所档案): registering, editing, listing by the user's grids, and the venue's notice.

use serde::{Deserialize, Serialize};

use super::Store;
use crate::clock::ms_to_rfc3339;
use crate::directory::User;
use crate::error::{Error, Result};
use crate::ids::{check_id, new_id};
use crate::policy;
use crate::profile::VenueProfile;
use crate::projection;
use crate::projection::{HazardQuery, split_list};
use crate::records::{self, DocKind, Responsible, Venue};

/// A venue as listed (from the projection).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VenueRow {
    pub id: String,
    pub name: String,
    pub address: String,
    pub village: String,
    pub grid_id: String,
    pub venue_types: Vec<String>,
    pub archived: bool,
    pub last_inspected: Option<String>,
}

/// What to create a venue with.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NewVenue {
    pub name: String,
    pub address: String,
    pub grid_id: String,
    pub profile: VenueProfile,
    pub responsible: Responsible,
}

/// A partial edit of a venue; `None` leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VenueEdit {
    pub name: Option<String>,
    pub address: Option<String>,
    pub grid_id: Option<String>,
    pub profile: Option<VenueProfile>,
    pub responsible: Option<Responsible>,
    pub archived: Option<bool>,
}

impl Store {
    pub(super) fn check_grid_scope(user: &User, grid_id: &str) -> Result<()> {
        policy::check_grid(user, grid_id).map_err(Error::Forbidden)
    }

    /// May `user` work on this venue (its grid, and for a reviewer the departments leading a
    /// hazard there, from the projection)?
    pub(super) fn check_venue_scope(&self, user: &User, venue: &Venue) -> Result<()> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT DISTINCT d.dept FROM hazard_depts d JOIN hazards_idx h ON h.id = d.hazard_id WHERE h.venue_id = ?1",
        )?;
        let depts = stmt
            .query_map(rusqlite::params![venue.id], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        policy::check_venue_scope(user, &venue.grid_id, &depts).map_err(Error::Forbidden)
    }

    pub fn add_venue(&mut self, as_user: &str, v: NewVenue) -> Result<Venue> {
        let (user, actor) = self.act_as(as_user)?;
        let dir = self.directory()?;
        policy::check_register_venue(&user).map_err(Error::Forbidden)?;
        if v.name.trim().is_empty() {
            return Err(Error::invalid("venue name is required"));
        }
        let grid = dir
            .grid(&v.grid_id)
            .ok_or_else(|| Error::invalid(format!("unknown grid {:?}", v.grid_id)))?;
        Store::check_grid_scope(&user, &grid.id)?;
        v.profile.validate()?;
        let venue = Venue {
            id: new_id(),
            name: v.name.trim().to_owned(),
            address: v.address.trim().to_owned(),
            village: grid.village.clone(),
            grid_id: grid.id.clone(),
            profile: v.profile,
            responsible: v.responsible,
            created_at: ms_to_rfc3339(self.now()),
            created_by: user.id.clone(),
            archived: false,
        };
        crate::limits::check_all(&serde_json::to_value(&venue)?)?;
        let mut doc = records::new_venue_doc(&actor, &venue)?;
        let tx = self.conn.transaction()?;
        Store::insert_doc(&tx, &venue.id, DocKind::Venue, &mut doc)?;
        projection::index_venue(&tx, &venue)?;
        tx.commit()?;
        Ok(venue)
    }

    pub fn edit_venue(&mut self, as_user: &str, id: &str, e: VenueEdit) -> Result<Venue> {
        check_id("venue", id)?;
        let (user, actor) = self.act_as(as_user)?;
        let dir = self.directory()?;
        let (doc, since) = self.doc(id, DocKind::Venue)?;
        let doc = doc.with_actor(actor);
        let mut v = records::read_venue(&doc, id)?;
        let before = v.clone();
        self.check_venue_scope(&user, &v)?;
        policy::check_edit_venue(&user).map_err(Error::Forbidden)?;
        if let Some(n) = e.name {
            if n.trim().is_empty() {
                return Err(Error::invalid("venue name is required"));
            }
            v.name = n.trim().to_owned();
        }
        if let Some(a) = e.address {
            v.address = a.trim().to_owned();
        }
        if let Some(g) = e.grid_id {
            let grid = dir
                .grid(&g)
                .ok_or_else(|| Error::invalid(format!("unknown grid {g:?}")))?;
            if grid.id != v.grid_id {
                policy::check_move_venue(&user, &v.grid_id).map_err(Error::Forbidden)?;
            }
            v.grid_id = grid.id.clone();
            v.village = grid.village.clone();
        }
        if let Some(p) = e.profile {
            p.validate()?;
            v.profile = p;
        }
        if let Some(r) = e.responsible {
            v.responsible = r;
        }
        if let Some(a) = e.archived {
            v.archived = a;
        }
        crate::limits::check_all(&serde_json::to_value(&v)?)?;
        self.write_venue(id, doc, since, &before, &v, &user.id, &[])?;
        Ok(v)
    }

    /// Resolves a field two people set concurrently: `value` is kept (one of the values shown,
    /// or a new one), stamped now by `as_user`, and the conflict is gone on every replica.
    pub fn resolve_venue_field(
        &mut self,
        as_user: &str,
        id: &str,
        field: &str,
        value: serde_json::Value,
    ) -> Result<Venue> {
        check_id("venue", id)?;
        let (user, actor) = self.act_as(as_user)?;
        let (doc, since) = self.doc(id, DocKind::Venue)?;
        let doc = doc.with_actor(actor);
        let before = records::read_venue(&doc, id)?;
        self.check_venue_scope(&user, &before)?;
        policy::check_edit_venue(&user).map_err(Error::Forbidden)?;
        let after = records::venue_fields::set_field(&before, field, value)?;
        self.write_venue(
            id,
            doc,
            since,
            &before,
            &after,
            &user.id,
            &[field.to_owned()],
        )?;
        Ok(after)
    }

    /// The conflicts still open on a venue's fields (the kept value and the others, with who
    /// set them and when), and its moves between grids.
    pub fn venue_conflicts(
        &self,
        id: &str,
    ) -> Result<(
        Vec<records::venue_fields::FieldConflict>,
        Vec<records::venue_fields::VenueMove>,
    )> {
        check_id("venue", id)?;
        let (doc, _) = self.doc(id, DocKind::Venue)?;
        let (_, conflicts) = records::read_venue_full(&doc, id)?;
        Ok((conflicts, records::venue_fields::moves(&doc)))
    }

    #[allow(clippy::too_many_arguments)]
    fn write_venue(
        &mut self,
        id: &str,
        mut doc: automerge::AutoCommit,
        since: Vec<automerge::ChangeHash>,
        before: &Venue,
        after: &Venue,
        by: &str,
        resolve: &[String],
    ) -> Result<()> {
        let wall = self.now();
        let tx = self.conn.transaction()?;
        let hlc = Store::next_hlc(&tx, wall)?;
        let stamp = records::venue_fields::Stamp {
            ms: hlc.ms,
            counter: hlc.counter,
            by: by.to_owned(),
        };
        records::venue_fields::write_edit(&mut doc, before, after, &stamp, resolve)?;
        Store::save_doc(&tx, id, &mut doc, &since)?;
        let (merged, _) = records::read_venue_full(&doc, id)?;
        projection::index_venue(&tx, &merged)?;
        tx.commit()?;
        Ok(())
    }

    pub fn venue(&self, id: &str) -> Result<Venue> {
        check_id("venue", id)?;
        let (doc, _) = self.doc(id, DocKind::Venue)?;
        records::read_venue(&doc, id)
    }

    /// Venues of the user's grids (all venues for office roles), by name.
    pub fn list_venues(&self, scope_user: Option<&str>) -> Result<Vec<VenueRow>> {
        let grids = self.scope_grids(scope_user)?;
        let mut sql = String::from(
            "SELECT id, name, address, village, grid_id, venue_types, archived, last_inspected_ms FROM venues_idx",
        );
        if let Some(g) = &grids {
            sql.push_str(&format!(
                " WHERE grid_id IN ({})",
                projection::placeholders(g.len())
            ));
        }
        sql.push_str(" ORDER BY grid_id, name");
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(grids.iter().flatten()), |r| {
            let types: String = r.get(5)?;
            let last: Option<i64> = r.get(7)?;
            Ok(VenueRow {
                id: r.get(0)?,
                name: r.get(1)?,
                address: r.get(2)?,
                village: r.get(3)?,
                grid_id: r.get(4)?,
                venue_types: split_list(&types),
                archived: r.get(6)?,
                last_inspected: last.map(ms_to_rfc3339),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// `None` = no restriction (office roles, or no user given).
    pub(super) fn scope_grids(&self, scope_user: Option<&str>) -> Result<Option<Vec<String>>> {
        let Some(u) = scope_user else { return Ok(None) };
        let dir = self.directory()?;
        let user = dir
            .user(u)
            .ok_or_else(|| Error::Forbidden(format!("unknown user {u:?}")))?;
        Ok(policy::venue_list_grids(user).map(<[String]>::to_vec))
    }

    /// The rectification notice (整改通知书) for a venue's open hazards, issued by `as_user` today,
    /// with the owner's link when this phone can sign one (see [`crate::notice`]).
    pub fn notice(&mut self, as_user: &str, venue_id: &str) -> Result<crate::notice::Notice> {
        let dir = self.directory()?;
        let user = dir
            .user(as_user)
            .ok_or_else(|| Error::Forbidden(format!("unknown user {as_user:?}")))?;
        let venue = self.venue(venue_id)?;
        if !policy::may_issue_notice(user, &venue.grid_id) {
            return Err(Error::Forbidden(format!(
                "venue {} is outside {as_user}'s grids",
                venue.name
            )));
        }
        let rows = self.list_hazards(&HazardQuery {
            venue_id: Some(venue_id.to_owned()),
            open_only: true,
            ..HazardQuery::default()
        })?;
        let hazards = rows
            .iter()
            .map(|r| self.hazard(&r.id).map(|v| (v.header, v.status)))
            .collect::<Result<Vec<_>>>()?;
        let listed: Vec<String> = {
            let mut ids: Vec<String> = crate::notice::listed(&venue, &hazards)
                .iter()
                .map(|(h, _)| h.id.clone())
                .collect();
            ids.sort();
            ids
        };
        if listed.is_empty() {
            // Nothing to notify: the same answer as the document gives, with no number taken.
            return crate::notice::build(crate::notice::NoticeInput {
                dir: &dir,
                issuer: None,
                number: (0, 0),
                venue: &venue,
                hazards: &hazards,
                inspector: as_user,
                issued_on: self.today(),
                owner_url: None,
            });
        }
        let number = self.notice_number_for(venue_id, &listed, as_user)?;
        let issuer = self.issuer()?;
        let owner_url = self.owner_url(venue_id)?.map(|u| match &issuer {
            // The owner opens the town's public address, not the one this phone syncs with.
            Some(i) if !i.public_url.trim().is_empty() => format!(
                "{}/o/{}",
                i.public_url.trim().trim_end_matches('/'),
                u.rsplit("/o/").next().unwrap_or_default()
            ),
            _ => u,
        });
        crate::notice::build(crate::notice::NoticeInput {
            dir: &dir,
            issuer: issuer.as_ref(),
            number,
            venue: &venue,
            hazards: &hazards,
            inspector: as_user,
            issued_on: self.today(),
            owner_url,
        })
    }
}
