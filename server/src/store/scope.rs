//! A venue's file follows the venue: its grid and the departments leading a hazard there, given to
//! every record of the venue (what pulls and photo downloads are scoped by).

use super::{Loaded, Prepared, depts_text};
use super::{RelayStore, Result};
use crate::vals;
use gridsafe_core::store::split_list;

impl RelayStore {
    /// A venue's file follows the venue: its grid goes to every record of the venue, and the
    /// departments leading a hazard there go to the venue and its inspections (what reviewers'
    /// pulls and photo downloads are scoped by).
    pub(super) fn spread_scope(&mut self, batch: &[Prepared]) -> Result<()> {
        let mut venues = std::collections::BTreeSet::new();
        let mut moved = Vec::new();
        for p in batch {
            match &p.loaded.place.record {
                super::Record::Venue(v) => {
                    venues.insert(v.id.clone());
                    moved.push((v.id.clone(), v.grid_id.clone()));
                }
                super::Record::Hazard(h, _) => {
                    venues.insert(h.venue_id.clone());
                }
                _ => {}
            }
        }
        let mut db = self.db();
        for (venue, grid) in moved {
            // Moved records reach the new grid's phones whole, and leave the old grid's.
            db.exec(
                "UPDATE docs SET grid_id = ?2, scoped_seq = (SELECT coalesce(max(seq), 0) FROM changes)
                 WHERE venue_id = ?1 AND kind != 'venue' AND grid_id != ?2",
                vals![venue, grid],
            )?;
        }
        for venue in venues {
            let mut depts: Vec<String> = db
                .query(
                    "SELECT depts FROM docs WHERE venue_id = ?1 AND kind = 'hazard'",
                    vals![&venue],
                )?
                .iter()
                .map(|r| r.text(0))
                .collect::<Result<Vec<_>>>()?
                .iter()
                .flat_map(|d| split_list(d))
                .collect();
            depts.sort();
            depts.dedup();
            db.exec(
                "UPDATE docs SET depts = ?2 WHERE venue_id = ?1 AND kind IN ('venue', 'inspection') AND depts != ?2",
                vals![venue, depts_text(&depts)],
            )?;
        }
        Ok(())
    }

    /// Gives records stored before scope followed the venue their venue, grid and departments
    /// (once; a no-op when every record has its venue).
    pub(super) fn backfill_scope(&mut self) -> Result<()> {
        let todo = self
            .db()
            .query(
                "SELECT id, kind FROM docs WHERE venue_id = '' AND kind != 'task'",
                &[],
            )?
            .iter()
            .map(|r| Ok((r.text(0)?, r.text(1)?)))
            .collect::<Result<Vec<(String, String)>>>()?;
        if todo.is_empty() {
            return Ok(());
        }
        tracing::info!(records = todo.len(), "giving stored records their venue");
        let mut venues = std::collections::BTreeSet::new();
        for (id, kind) in todo {
            let venue = if kind == "venue" {
                Some(id.clone())
            } else {
                self.load(&id)?.and_then(|l| match &l.place.record {
                    super::Record::Inspection(i) => Some(i.header.venue_id.clone()),
                    super::Record::Hazard(h, _) => Some(h.venue_id.clone()),
                    _ => None,
                })
            };
            if let Some(v) = venue {
                self.db()
                    .exec("UPDATE docs SET venue_id = ?2 WHERE id = ?1", vals![id, &v])?;
                venues.insert(v);
            }
        }
        let mut batch = Vec::new();
        for v in venues {
            if let Some(l) = self.load(&v)? {
                batch.push(Prepared {
                    doc_id: v.clone(),
                    based_on: None,
                    changes: vec![],
                    loaded: Loaded {
                        doc: l.doc.clone(),
                        place: l.place.clone(),
                        heads: l.heads.clone(),
                    },
                    scope: Default::default(),
                });
            }
        }
        self.spread_scope(&batch)
    }
}
