//! What a report reads, on a read-only connection: every hazard found before the period's end in
//! the user's scope with the steps it took up to then, the inspections started in the period, and
//! the venue register per village. No figure is decided here (see `figures.rs`).
//!
//! Hazards that cannot have changed since before the period (closed, nothing new) are counted
//! in SQL as they stand rather than read one by one: a town's years of closed hazards would
//! otherwise be read for every report.

use std::collections::HashMap;

use gridsafe_core::directory::{Directory, User};
use gridsafe_core::hazard_state::State;
use gridsafe_core::projection::hazard_scope;
use rusqlite::types::Value as V;
use rusqlite::{Connection, OptionalExtension, params_from_iter};

use super::Result;

/// One step of a hazard: its state after an event that applied (`sql/017_reports.sql`).
#[derive(Clone, Debug, PartialEq)]
pub struct StepRow {
    pub at_ms: i64,
    pub kind: String,
    pub state: State,
    pub severity: String,
    pub deadline: Option<String>,
}

/// Whether records dated in `[from_ms, end_ms)` may have arrived after `issued_ms`: a hazard's
/// step first seen after it, or more finished inspections than the issued report counted. Only
/// then is the period computed again to find them (the town's scope).
pub fn may_have_late(
    conn: &Connection,
    from_ms: i64,
    end_ms: i64,
    issued_ms: i64,
    inspections_issued: usize,
) -> Result<bool> {
    let step: Option<i64> = conn
        .query_row(
            "SELECT 1 FROM hazard_steps WHERE at_ms >= ?1 AND at_ms < ?2 AND seen_ms > ?3 LIMIT 1",
            [from_ms, end_ms, issued_ms],
            |r| r.get(0),
        )
        .optional()?;
    if step.is_some() {
        return Ok(true);
    }
    let inspections: i64 = conn.query_row(
        "SELECT count(*) FROM inspections_idx WHERE finished = 1 AND started_ms >= ?1 AND started_ms < ?2",
        [from_ms, end_ms],
        |r| r.get(0),
    )?;
    Ok(inspections as usize != inspections_issued)
}

/// A hazard as a report reads it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HazardRow {
    pub id: String,
    pub venue_id: String,
    pub venue_name: String,
    pub village: String,
    pub domain: String,
    pub item_id: String,
    pub title_zh: String,
    pub title_en: String,
    pub focus: bool,
    /// inspection / self_report / public_report / referral
    pub source: String,
    /// "12345 2026-0001": the channel, then the ticket's own number.
    pub ticket_no: Option<String>,
    pub found_ms: i64,
    pub recurrence: bool,
    pub lead_depts: Vec<String>,
    pub basis: String,
    pub plan: bool,
    pub escalations: i64,
    pub before_thumb: Option<String>,
    pub after_photo: Option<String>,
    pub responsible: String,
    pub phone: String,
    /// 挂牌督办: level (`city` / `district`) and document number.
    pub supervision: Option<(String, String)>,
    /// In the agreed order; only those before the period's end.
    pub steps: Vec<StepRow>,
}

/// A finished or unfinished inspection started in the period.
#[derive(Clone, Debug, PartialEq)]
pub struct InspectionRow {
    pub id: String,
    pub venue_id: String,
    pub template_id: String,
    pub grid_id: String,
    pub finished: bool,
    pub venue_name: String,
    /// YYYY-MM-DD.
    pub day: String,
}

pub struct Loaded {
    pub hazards: Vec<HazardRow>,
    pub inspections: Vec<InspectionRow>,
    /// Venues in the register (not archived) per village code.
    pub venues: HashMap<String, i64>,
    /// Per village, hazards found before the period that have not changed since before it and
    /// are not open: (registered, closed).
    pub settled: HashMap<String, (i64, i64)>,
}

/// The hazards a report reads one by one: those that changed since the period began (so may
/// have differed at its end), those open now, and confirmed majors that changed this year (the
/// ledger lists those closed in the year). `?2` is the period's start, `?3` the year's.
const LIVE: &str =
    "(f.last_step_ms >= ?2 OR h.is_open = 1 OR (h.severity = 'major' AND f.last_step_ms >= ?3))";

/// Reads what the report for `[from_ms, end_ms)` needs in `user`'s scope.
pub fn load(
    conn: &Connection,
    dir: &Directory,
    user: &User,
    from_ms: i64,
    end_ms: i64,
    year_start_ms: i64,
) -> Result<Loaded> {
    let (scope, scope_args) = hazard_scope(dir, &user.id)?;
    let args = |first: Vec<V>| {
        let mut a = first;
        a.extend(scope_args.iter().cloned().map(V::from));
        a
    };
    let bounds = vec![V::from(end_ms), V::from(from_ms), V::from(year_start_ms)];
    let mut hazards = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    {
        let mut stmt = conn.prepare(&format!(
            "SELECT h.id, h.venue_id, h.venue_name, h.village, h.domain, h.item_id, h.title_zh,
                    h.title_en, h.focus, h.source, f.ticket_no, h.found_ms, h.recurrence_of IS NOT NULL,
                    h.lead_depts, coalesce(f.basis, ''), coalesce(f.plan, 0), coalesce(f.escalations, 0),
                    f.before_thumb, f.after_photo, coalesce(vf.responsible, ''), coalesce(vf.phone, ''),
                    f.supervision_level, coalesce(f.supervision_no, '')
             FROM hazards_idx h JOIN hazard_facts f ON f.hazard_id = h.id
             LEFT JOIN venue_facts vf ON vf.venue_id = h.venue_id
             WHERE h.found_ms < ?1 AND {LIVE} AND h.id IN (SELECT id FROM hazards_idx WHERE {scope})
             ORDER BY h.found_ms, h.id"
        ))?;
        let rows = stmt.query_map(params_from_iter(args(bounds.clone())), |r| {
            let depts: String = r.get(13)?;
            Ok(HazardRow {
                id: r.get(0)?,
                venue_id: r.get(1)?,
                venue_name: r.get(2)?,
                village: r.get(3)?,
                domain: r.get(4)?,
                item_id: r.get(5)?,
                title_zh: r.get(6)?,
                title_en: r.get(7)?,
                focus: r.get(8)?,
                source: r.get(9)?,
                ticket_no: r.get(10)?,
                found_ms: r.get(11)?,
                recurrence: r.get(12)?,
                lead_depts: depts
                    .split(',')
                    .filter(|d| !d.is_empty())
                    .map(str::to_owned)
                    .collect(),
                basis: r.get(14)?,
                plan: r.get(15)?,
                escalations: r.get(16)?,
                before_thumb: r.get(17)?,
                after_photo: r.get(18)?,
                responsible: r.get(19)?,
                phone: r.get(20)?,
                supervision: r
                    .get::<_, Option<String>>(21)?
                    .map(|level| Ok::<_, rusqlite::Error>((level, r.get(22)?)))
                    .transpose()?,
                steps: vec![],
            })
        })?;
        for row in rows {
            let row = row?;
            index.insert(row.id.clone(), hazards.len());
            hazards.push(row);
        }
    }
    {
        let mut stmt = conn.prepare(&format!(
            "SELECT s.hazard_id, s.at_ms, s.kind, s.state, s.severity, s.deadline
             FROM hazards_idx h JOIN hazard_facts f ON f.hazard_id = h.id
             JOIN hazard_steps s ON s.hazard_id = h.id AND s.at_ms < ?1
             WHERE h.found_ms < ?1 AND {LIVE} AND h.id IN (SELECT id FROM hazards_idx WHERE {scope})
             ORDER BY s.hazard_id, s.n"
        ))?;
        let rows = stmt.query_map(params_from_iter(args(bounds.clone())), |r| {
            let state: String = r.get(3)?;
            Ok((
                r.get::<_, String>(0)?,
                StepRow {
                    at_ms: r.get(1)?,
                    kind: r.get(2)?,
                    state: State::parse(&state).unwrap_or(State::Draft),
                    severity: r.get(4)?,
                    deadline: r.get(5)?,
                },
            ))
        })?;
        for row in rows {
            let (id, step) = row?;
            if let Some(&i) = index.get(&id) {
                hazards[i].steps.push(step);
            }
        }
    }

    // Venues are scoped by grid for inspectors; a department's reviewer sees the town's
    // inspection effort.
    let (venue_scope, grids) = gridsafe_core::projection::venue_scope(user);
    let mut inspections = Vec::new();
    {
        let mut a: Vec<V> = vec![V::from(from_ms), V::from(end_ms)];
        a.extend(grids.iter().cloned().map(V::from));
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT id, venue_id, template_id, grid_id, finished, venue_name, day FROM inspections_idx
             WHERE started_ms >= ?1 AND started_ms < ?2 AND {venue_scope} ORDER BY id"
        ))?;
        let rows = stmt.query_map(params_from_iter(a.iter()), |r| {
            Ok(InspectionRow {
                id: r.get(0)?,
                venue_id: r.get(1)?,
                template_id: r.get(2)?,
                grid_id: r.get(3)?,
                finished: r.get(4)?,
                venue_name: r.get(5)?,
                day: r.get(6)?,
            })
        })?;
        for row in rows {
            inspections.push(row?);
        }
    }
    let mut venues = HashMap::new();
    {
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT village, count(*) FROM venues_idx WHERE archived = 0 AND {venue_scope} GROUP BY village"
        ))?;
        let rows = stmt.query_map(params_from_iter(grids.iter()), |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
        })?;
        for row in rows {
            let (v, n) = row?;
            venues.insert(v, n);
        }
    }
    // The settled: nothing changed since before the period and closed or never registered, so
    // as they stand now they stood at its end. They count only towards the cumulative figures.
    let mut settled = HashMap::new();
    {
        let mut stmt = conn.prepare(&format!(
            "SELECT h.village, coalesce(sum(h.state NOT IN ('draft', 'rejected')), 0),
                    coalesce(sum(h.state = 'closed'), 0)
             FROM hazards_idx h JOIN hazard_facts f ON f.hazard_id = h.id
             WHERE h.found_ms < ?1 AND NOT {LIVE} AND h.id IN (SELECT id FROM hazards_idx WHERE {scope})
             GROUP BY h.village"
        ))?;
        let rows = stmt.query_map(params_from_iter(args(bounds.clone())), |r| {
            Ok((
                r.get::<_, String>(0)?,
                (r.get::<_, i64>(1)?, r.get::<_, i64>(2)?),
            ))
        })?;
        for row in rows {
            let (v, n) = row?;
            settled.insert(v, n);
        }
    }
    Ok(Loaded {
        hazards,
        inspections,
        venues,
        settled,
    })
}
