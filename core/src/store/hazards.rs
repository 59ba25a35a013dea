//! Hazards: the derived view, lifecycle actions, and the list.

use serde::{Deserialize, Serialize};

use super::Store;
use super::photos::NewPhoto;
use crate::error::Result;
use crate::ids::{check_id, new_id};
use crate::lifecycle::{EventKind, HazardStatus};
use crate::projection;
use crate::projection::{HazardQuery, HazardRow};
use crate::records::{self, DocKind, HazardHeader};
use crate::workflow;

/// A hazard with its derived state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HazardView {
    pub header: HazardHeader,
    pub status: HazardStatus,
    pub overdue: bool,
}

/// A lifecycle action requested by a user.
#[derive(Clone, Debug)]
pub struct Action {
    pub kind: EventKind,
    pub reason: Option<String>,
    pub deadline: Option<String>,
    pub text: Option<String>,
    pub photo: Option<NewPhoto>,
}

impl Action {
    pub fn new(kind: EventKind) -> Action {
        Action {
            kind,
            reason: None,
            deadline: None,
            text: None,
            photo: None,
        }
    }
}

impl Store {
    pub fn hazard(&self, id: &str) -> Result<HazardView> {
        check_id("hazard", id)?;
        let (doc, _) = self.doc(id, DocKind::Hazard)?;
        let (header, evs) = records::read_hazard(&doc, id)?;
        let grid = projection::venue_grid(&self.conn, &header.venue_id)?;
        let status = projection::fold_with(
            self.directory.as_deref(),
            &self.actors,
            &header,
            &evs,
            grid.as_deref(),
        );
        let overdue = status.is_overdue(self.today());
        Ok(HazardView {
            header,
            status,
            overdue,
        })
    }

    /// Applies a lifecycle action as `as_user`. Refused actions return the reason and change
    /// nothing (not even the photo store).
    pub fn transition(
        &mut self,
        as_user: &str,
        hazard_id: &str,
        action: Action,
    ) -> Result<HazardView> {
        check_id("hazard", hazard_id)?;
        for (field, v) in [
            ("reason", &action.reason),
            ("text", &action.text),
            ("deadline", &action.deadline),
        ] {
            if let Some(v) = v {
                crate::limits::check(field, v)?;
            }
        }
        let (user, actor) = self.act_as(as_user)?;
        self.check_clock()?;
        let (doc, since) = self.doc(hazard_id, DocKind::Hazard)?;
        let mut doc = doc.with_actor(actor.clone());
        let (header, mut evs) = records::read_hazard(&doc, hazard_id)?;
        let wall = self.now();
        let tx = self.conn.unchecked_transaction()?;
        let hlc = Store::next_hlc(&tx, wall)?;
        let photo = match &action.photo {
            Some(p) => Some(
                self.store_photo(&tx, p, &header.venue_id, &user.id, true)?
                    .sha256,
            ),
            None => None,
        };
        let ev = workflow::action_event(
            &header,
            new_id(),
            hlc,
            action.kind,
            workflow::EventInputs {
                reason: action.reason,
                deadline: action.deadline,
                text: action.text,
                photo,
            },
        );
        let status = match projection::record_event(
            &mut doc,
            &header,
            &mut evs,
            ev,
            self.directory.as_deref(),
            &self.actors,
            projection::venue_grid(&tx, &header.venue_id)?.as_deref(),
        ) {
            Ok(s) => s,
            Err(e) => {
                drop(tx);
                return Err(e);
            }
        };
        Store::save_doc(&tx, hazard_id, &mut doc, &since)?;
        projection::index_hazard(&tx, &header, &status)?;
        tx.commit()?;
        let overdue = status.is_overdue(self.today());
        Ok(HazardView {
            header,
            status,
            overdue,
        })
    }

    /// Lists hazards from the projection. With a scope user: an inspector sees their grids, a
    /// reviewer their department's hazards, the town office everything. Sorted by due date.
    pub fn list_hazards(&self, q: &HazardQuery) -> Result<Vec<HazardRow>> {
        Ok(projection::list_hazards(&self.conn, &*self.directory()?, q)?.0)
    }
}
