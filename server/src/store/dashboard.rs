//! The office dashboard's reads and actions: sessions, the ledger, a hazard, the overview, and
//! review actions recorded as the reviewer's own dashboard device.

use std::sync::Arc;

use automerge::AutoCommit;
use gridsafe_core::directory::User;
use gridsafe_core::policy::{self, Capability};
use gridsafe_core::projection;
use gridsafe_core::records::{self, DocKind};
use gridsafe_core::sync::{DocChanges, PROTOCOL, SyncRequest};
use rand_core::{OsRng, RngCore};
use rusqlite::params;

use super::{Loaded, Record, check};
use super::{RelayError, RelayStore, Result, now_ms, sha256_hex};
use crate::vals;
use serde::Serialize;
use serde_bytes::ByteBuf;

use super::{Device, DeviceRow};

/// What a dashboard action carries besides its kind (empty strings count as absent).
#[derive(Clone, Debug, Default)]
pub struct ActionDetail {
    pub reason: Option<String>,
    pub deadline: Option<String>,
    pub text: Option<String>,
    /// An after photo (SHA-256 of its evidence copy), for an accepted owner report.
    pub photo: Option<String>,
}

/// Phones silent for this many days are listed on the overview.
pub const STALE_DAYS: i64 = 3;

/// The overview: hazards open (general / major incl. candidates), overdue, closed this month,
/// the major-hazard stock (found before this year, still open at its start) and increment (found
/// this year) as checklists.md §6.4 defines them; per village, venues and this month's inspection
/// coverage; for the town office, phones that have not synced for [`STALE_DAYS`] days.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Overview {
    pub open_general: i64,
    pub open_major: i64,
    pub overdue: i64,
    pub closed_this_month: i64,
    pub major_stock: i64,
    pub major_increment: i64,
    pub villages: Vec<VillageRow>,
    pub stale_devices: Vec<DeviceRow>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct VillageRow {
    pub village: String,
    pub name_zh: String,
    pub venues: i64,
    pub inspected_venues: i64,
    pub inspections: i64,
    pub open: i64,
    pub overdue: i64,
}

impl VillageRow {
    /// Share of the village's venues inspected this month, in whole percent.
    pub fn coverage_pct(&self) -> i64 {
        if self.venues == 0 {
            0
        } else {
            self.inspected_venues * 100 / self.venues
        }
    }
}

/// One row of [`RelayStore::hazard_summary`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HazardCount {
    pub village: String,
    pub domain: String,
    pub state: String,
    pub severity: String,
    pub count: i64,
    pub overdue: i64,
}

/// A new record's whole history as one push (records the dashboard creates).
pub(crate) fn whole_doc(doc: &mut AutoCommit, id: &str, kind: &str) -> DocChanges {
    let changes = doc
        .get_changes(&[])
        .into_iter()
        .map(|c| ByteBuf::from(c.raw_bytes().to_vec()))
        .collect();
    DocChanges {
        doc_id: id.to_owned(),
        kind: kind.to_owned(),
        changes,
        heads: vec![],
    }
}

/// The automerge actor of a dashboard device (its only one), for the changes it writes.
pub(crate) fn dashboard_actor(device: &Device) -> Result<automerge::ActorId> {
    let hex_actor = device
        .actors
        .iter()
        .next()
        .ok_or_else(|| RelayError::Storage("dashboard device has no actor".into()))?;
    Ok(automerge::ActorId::from(
        hex::decode(hex_actor).map_err(|e| RelayError::Storage(e.to_string()))?,
    ))
}

impl RelayStore {
    /// Hazards by village, domain, state and severity from the projection, with how many of them
    /// are past their deadline on `today` (YYYY-MM-DD, Shanghai) while still awaiting the owner.
    pub fn hazard_summary(&self, today: &str) -> Result<Vec<HazardCount>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT village, domain, state, severity, count(*), sum(awaiting = 1 AND due_date IS NOT NULL AND due_date < ?1)
             FROM hazards_idx GROUP BY village, domain, state, severity ORDER BY village, domain, state, severity",
        )?;
        let rows = stmt.query_map(params![today], |r| {
            Ok(HazardCount {
                village: r.get(0)?,
                domain: r.get(1)?,
                state: r.get(2)?,
                severity: r.get(3)?,
                count: r.get(4)?,
                overdue: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Open hazards per lead department (a hazard led by two departments counts for both).
    pub fn open_by_department(&self) -> Result<Vec<(String, i64)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT d.dept, count(*) FROM hazard_depts d JOIN hazards_idx h ON h.id = d.hazard_id WHERE h.is_open = 1 GROUP BY d.dept ORDER BY d.dept",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The hazard ledger: the projection query the phones use, in `user`'s scope.
    pub fn ledger(
        &self,
        user: &User,
        q: &gridsafe_core::store::HazardQuery,
    ) -> Result<(Vec<gridsafe_core::store::HazardRow>, u64)> {
        policy::check(user, Capability::SeeHazards).map_err(RelayError::Forbidden)?;
        let dir = self
            .dir
            .as_ref()
            .ok_or_else(|| RelayError::Storage("no directory installed".into()))?;
        let q = gridsafe_core::store::HazardQuery {
            scope_user: Some(user.id.clone()),
            ..q.clone()
        };
        Ok(projection::list_hazards(&self.conn, dir, &q)?)
    }

    /// One hazard with its derived state and history, if it is in `user`'s scope (403 otherwise).
    pub fn hazard_view(
        &mut self,
        user: &User,
        id: &str,
    ) -> Result<(
        records::HazardHeader,
        gridsafe_core::lifecycle::HazardStatus,
    )> {
        gridsafe_core::store::check_id("hazard", id)?;
        let loaded = self
            .load(id)?
            .ok_or_else(|| RelayError::NotFound(format!("hazard {id}")))?;
        let Record::Hazard(h, evs) = &loaded.place.record else {
            return Err(RelayError::NotFound(format!("hazard {id}")));
        };
        let status = self.fold_hazard(h, evs)?;
        let here = status.venue_grid.as_deref().unwrap_or(&h.grid_id);
        if !policy::hazard_in_scope(user, here, &h.lead_depts) {
            return Err(RelayError::Forbidden(format!(
                "hazard {id} is outside {}'s scope",
                user.id
            )));
        }
        Ok(((**h).clone(), status))
    }

    /// The overview's figures in `user`'s scope on `today` (Shanghai): see [`Overview`].
    pub fn overview(&mut self, user: &User, today: &str) -> Result<Overview> {
        let follow_up = policy::role_may(user.role, Capability::FollowUpSilentPhones);
        let devices = if follow_up { self.devices()? } else { vec![] };
        let dir = self
            .dir
            .as_ref()
            .ok_or_else(|| RelayError::Storage("no directory installed".into()))?;
        let (scope, scope_args) = projection::hazard_scope(dir, &user.id)?;
        let day = gridsafe_core::clock::parse_date(today)?;
        let month_start = day
            .replace_day(1)
            .map_err(|e| RelayError::BadRequest(e.to_string()))?;
        let year_start = month_start
            .replace_month(gridsafe_core::clock::Month::January)
            .map_err(|e| RelayError::BadRequest(e.to_string()))?;
        let (month_ms, year_ms) = (
            gridsafe_core::clock::start_of_day_ms(month_start),
            gridsafe_core::clock::start_of_day_ms(year_start),
        );
        let (month_text, year_text) = (
            gridsafe_core::clock::format_date(month_start),
            gridsafe_core::clock::format_date(year_start),
        );
        use rusqlite::types::Value as V;
        let mut villages: std::collections::BTreeMap<String, VillageRow> = dir
            .villages
            .iter()
            .map(|v| {
                (
                    v.code.clone(),
                    VillageRow {
                        village: v.code.clone(),
                        name_zh: v.name_zh.clone(),
                        ..VillageRow::default()
                    },
                )
            })
            .collect();
        // Hazards: one pass per village over a covering index (migration 008); the town's
        // figures are the villages' sums.
        let mut args: Vec<V> = vec![
            V::from(today.to_owned()),
            V::from(month_text),
            V::from(year_ms),
            V::from(year_text),
            V::from(year_ms),
        ];
        args.extend(scope_args.iter().cloned().map(V::from));
        let mut o = Overview::default();
        {
            let mut stmt = self.conn.prepare_cached(&format!(
                "SELECT village, coalesce(sum(is_open = 1 AND severity = 'general'), 0), coalesce(sum(is_open = 1 AND severity != 'general'), 0),
                        coalesce(sum(awaiting = 1 AND due_date < ?1), 0), coalesce(sum(closed_at >= ?2), 0),
                        coalesce(sum(severity = 'major' AND found_ms < ?3 AND (is_open = 1 OR closed_at >= ?4)), 0),
                        coalesce(sum(severity = 'major' AND found_ms >= ?5), 0)
                 FROM hazards_idx WHERE {scope} GROUP BY village"
            ))?;
            let rows = stmt.query_map(rusqlite::params_from_iter(args.iter()), |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    [
                        r.get::<_, i64>(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                    ],
                ))
            })?;
            for row in rows {
                let (v, [general, major, overdue, closed, stock, increment]) = row?;
                o.open_general += general;
                o.open_major += major;
                o.overdue += overdue;
                o.closed_this_month += closed;
                o.major_stock += stock;
                o.major_increment += increment;
                let e = villages.entry(v.clone()).or_insert_with(|| VillageRow {
                    village: v,
                    ..VillageRow::default()
                });
                e.open = general + major;
                e.overdue = overdue;
            }
        }
        // Per village: venues and this month's inspection coverage.
        let (venue_scope, grids) = gridsafe_core::projection::venue_scope(user);
        let mut vargs: Vec<V> = vec![V::from(month_ms)];
        vargs.extend(grids.iter().cloned().map(V::from));
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT village, count(*), coalesce(sum(last_inspected_ms >= ?1), 0) FROM venues_idx WHERE archived = 0 AND {venue_scope} GROUP BY village"
        ))?;
        let rows = stmt.query_map(rusqlite::params_from_iter(vargs.iter()), |r| {
            Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?))
        })?;
        for row in rows {
            let (v, n, inspected) = row?;
            let e = villages.entry(v.clone()).or_insert_with(|| VillageRow {
                village: v.clone(),
                ..VillageRow::default()
            });
            e.venues = n;
            e.inspected_venues = inspected;
        }
        // Inspections by grid (a covering index, no join); the directory places grids in villages.
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT grid_id, count(*) FROM inspections_idx WHERE started_ms >= ?1 AND {venue_scope} GROUP BY grid_id"
        ))?;
        let rows = stmt.query_map(rusqlite::params_from_iter(vargs.iter()), |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
        })?;
        for row in rows {
            let (g, n) = row?;
            let v = dir.grid(&g).map_or(g, |g| g.village.clone());
            villages
                .entry(v.clone())
                .or_insert_with(|| VillageRow {
                    village: v,
                    ..VillageRow::default()
                })
                .inspections += n;
        }
        o.villages = villages.into_values().collect();
        // Phones that have not synced for STALE_DAYS (the town office follows them up).
        if follow_up {
            let cutoff = now_ms() - STALE_DAYS * 86_400_000;
            o.stale_devices = devices
                .into_iter()
                .filter(|d| {
                    !d.revoked && d.name != "dashboard" && d.last_sync_ms.is_none_or(|t| t < cutoff)
                })
                .collect();
        }
        Ok(o)
    }

    /// The dashboard's device for `user`, created on first use: actions taken on the dashboard
    /// are automerge changes by this device's own actor, so they are authored, checked, stored
    /// and synced exactly like a phone's. Its token is never issued.
    /// A photo taken for a dashboard action (an on-site recheck): stored, complete, and readable
    /// by those who may see the record that will reference it.
    pub fn dashboard_photo(&mut self, user: &User, sha: &str, size: u64) -> Result<()> {
        let device = self.dashboard_device(user)?;
        self.blob_completed(sha, size, &device)?;
        self.grant_blob(&device, sha)
    }

    pub(crate) fn dashboard_device(&mut self, user: &User) -> Result<Device> {
        let found = self
            .db()
            .one("SELECT id FROM devices WHERE user_id = ?1 AND name = 'dashboard' AND revoked_ms IS NULL", vals![&user.id])?
            .map(|r| r.text(0))
            .transpose()?;
        let id = match found {
            Some(id) => id,
            None => {
                let mut raw = [0u8; 32];
                OsRng.fill_bytes(&mut raw);
                let mut dev = [0u8; 16];
                OsRng.fill_bytes(&mut dev);
                let mut actor = [0u8; 16];
                OsRng.fill_bytes(&mut actor);
                let (id, actor) = (hex::encode(dev), hex::encode(actor));
                self.write_tx(|st| {
                    let mut db = st.db();
                    db.exec(
                        "INSERT INTO devices (id, user_id, name, token_hash, created_ms) VALUES (?1, ?2, 'dashboard', ?3, ?4)",
                        vals![&id, &user.id, sha256_hex(&raw), now_ms()],
                    )?;
                    db.exec("INSERT INTO actors (actor, device_id, user_id) VALUES (?1, ?2, ?3)", vals![&actor, &id, &user.id])?;
                    Ok(())
                })?;
                self.actors.insert(actor, user.id.clone());
                id
            }
        };
        let actors = self.device_actors(&id)?;
        Ok(Device {
            id,
            user: user.clone(),
            actors,
        })
    }

    /// A review action from the dashboard (close, reject, confirm, downgrade, deadline, plan,
    /// recheck, escalate...): core records the event on the hazard document as the reviewer's
    /// dashboard actor if the lifecycle rules apply it, and the change goes through the same
    /// check and commit as a phone's push. The phones receive it on their next sync.
    pub fn web_action(
        &mut self,
        user: &User,
        hazard_id: &str,
        kind: gridsafe_core::lifecycle::EventKind,
        detail: ActionDetail,
    ) -> Result<gridsafe_core::lifecycle::HazardStatus> {
        let ActionDetail {
            reason,
            deadline,
            text,
            photo,
        } = detail;
        gridsafe_core::store::check_id("hazard", hazard_id)?;
        self.refresh_directory()?;
        let device = self.dashboard_device(user)?;
        let loaded = self
            .load(hazard_id)?
            .ok_or_else(|| RelayError::NotFound(format!("hazard {hazard_id}")))?;
        let Record::Hazard(header, events) = &loaded.place.record else {
            return Err(RelayError::NotFound(format!("hazard {hazard_id}")));
        };
        let grid = self.venue_grid(&header.venue_id)?;
        let here = grid.as_deref().unwrap_or(&header.grid_id);
        if !policy::may_write_record(user, DocKind::Hazard, here, &header.lead_depts) {
            return Err(RelayError::Forbidden(format!(
                "hazard {hazard_id} is outside {}'s scope",
                user.id
            )));
        }
        let actor = dashboard_actor(&device)?;
        let mut doc = loaded.doc.clone().with_actor(actor);
        let before = doc.get_heads();
        let last = self.fold_hazard(header, events)?.last_hlc;
        let mut ev = gridsafe_core::lifecycle::event(
            gridsafe_core::store::new_id(),
            kind,
            last.tick(now_ms()),
        );
        ev.reason = reason.filter(|s| !s.trim().is_empty());
        ev.deadline = deadline.filter(|s| !s.trim().is_empty());
        ev.text = text.filter(|s| !s.trim().is_empty());
        ev.photo = photo;
        let mut evs = events.clone();
        let status = projection::record_event(
            &mut doc,
            header,
            &mut evs,
            ev,
            self.dir.as_ref(),
            &self.actors,
            grid.as_deref(),
        )
        .map_err(|e| match e {
            gridsafe_core::Error::Refused(r) => RelayError::Refused(format!("{} / {}", r.zh, r.en)),
            other => RelayError::from(other),
        })?;
        let changes = doc
            .get_changes(&before)
            .into_iter()
            .map(|c| ByteBuf::from(c.raw_bytes().to_vec()))
            .collect();
        let push = DocChanges {
            doc_id: hazard_id.to_owned(),
            kind: "hazard".into(),
            changes,
            heads: vec![],
        };
        self.push_as_dashboard(&device, vec![(push, Some(loaded))])?;
        Ok(status)
    }

    /// Commits records written on the dashboard as its device's push: the same check and commit
    /// as a phone's, in one transaction; any refusal fails the whole call.
    pub(crate) fn push_as_dashboard(
        &mut self,
        device: &Device,
        docs: Vec<(DocChanges, Option<Arc<Loaded>>)>,
    ) -> Result<()> {
        let (push, before): (Vec<DocChanges>, Vec<Option<Arc<Loaded>>>) = docs.into_iter().unzip();
        let req = SyncRequest {
            protocol: PROTOCOL,
            cursor: 0,
            directory_version: u64::MAX,
            templates: self.templates.iter().map(|(k, _)| k.clone()).collect(),
            push,
            more_to_push: false,
            status: gridsafe_core::sync::DeviceStatus {
                app_version: "dashboard".into(),
                ..Default::default()
            },
        };
        let checked = req
            .push
            .iter()
            .zip(&before)
            .map(|(d, b)| check(device, d, b.as_deref()))
            .collect();
        let committed = self.commit(device, &req, checked)?;
        if !committed.refused.is_empty() {
            let first = self.last_refusals.drain(..).next();
            return Err(
                first.unwrap_or_else(|| RelayError::Forbidden(committed.refused[0].reason.clone()))
            );
        }
        Ok(())
    }
}
