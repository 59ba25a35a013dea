//! What waits for a lead department's judgement beyond single hazards: venues gathering
//! combined (综合判定) elements, to judge as a possible major hazard (the product never decides
//! it), and verified on-the-spot fixes to accept in a batch.

use gridsafe_core::directory::User;
use gridsafe_core::projection;
use rusqlite::{OptionalExtension, params_from_iter};

use super::{RelayError, RelayStore, Result};

/// Open combined elements at one venue from which the department is alerted, unless the
/// administrator sets another number (the reference gives none; see docs/domain-changes.md).
pub const DEFAULT_COMBINED_ALERT_AT: u32 = 3;

/// A venue with enough open combined elements to be judged as a possible major hazard.
#[derive(Clone, Debug, serde::Serialize)]
pub struct CombinedAlert {
    pub venue_id: String,
    pub venue_name: String,
    pub village: String,
    pub count: i64,
    /// The elements, by their question.
    pub items: Vec<String>,
}

/// A verified on-the-spot fix awaiting acceptance, with its before and after photos.
#[derive(Clone, Debug, serde::Serialize)]
pub struct BatchCandidate {
    pub id: String,
    pub venue_name: String,
    pub village: String,
    pub title_zh: String,
    pub before_thumb: Option<String>,
    pub after_photo: Option<String>,
}

impl RelayStore {
    /// From how many open combined elements at a venue its department is alerted.
    pub fn combined_alert_at(&self) -> Result<u32> {
        let v: Option<String> = self
            .conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'combined_alert_at'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        Ok(v.and_then(|v| v.parse().ok())
            .unwrap_or(DEFAULT_COMBINED_ALERT_AT))
    }

    /// Sets the alert threshold (2 to 20 elements).
    pub fn set_combined_alert_at(&mut self, n: u32) -> Result<()> {
        if !(2..=20).contains(&n) {
            return Err(RelayError::BadRequest(format!(
                "提醒阈值须在 2 到 20 项之间 / the alert threshold is 2 to 20 elements, not {n}"
            )));
        }
        self.conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('combined_alert_at', ?1)",
            [n.to_string()],
        )?;
        Ok(())
    }

    fn scope_of(&self, user: &User) -> Result<(String, Vec<String>)> {
        let dir = self
            .dir
            .as_ref()
            .ok_or_else(|| RelayError::Storage("no directory installed".into()))?;
        Ok(projection::hazard_scope(dir, &user.id)?)
    }

    /// Venues in `user`'s scope with at least [`Self::combined_alert_at`] open combined elements.
    pub fn combined_alerts(&mut self, user: &User) -> Result<Vec<CombinedAlert>> {
        let dir = self
            .dir
            .as_ref()
            .ok_or_else(|| RelayError::Storage("no directory installed".into()))?;
        // The few open combined elements are read on their partial index (schema 22) and each
        // checked against the scope, rather than every hazard in a department's scope fetched.
        let (scope, args) = projection::hazard_scope_of(dir, &user.id, "h.id")?;
        let at = self.combined_alert_at()?;
        let sql = format!(
            "SELECT venue_id, max(venue_name), max(village), count(*), group_concat(title_zh, '\u{1f}')
             FROM hazards_idx h WHERE is_open = 1 AND combined_group IS NOT NULL AND {scope}
             GROUP BY venue_id HAVING count(*) >= {at} ORDER BY count(*) DESC, venue_id"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(params_from_iter(args.iter()), |r| {
            let items: String = r.get(4)?;
            Ok(CombinedAlert {
                venue_id: r.get(0)?,
                venue_name: r.get(1)?,
                village: r.get(2)?,
                count: r.get(3)?,
                items: items.split('\u{1f}').map(str::to_owned).collect(),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// A hazard's venue and title (zh, en) as the projection holds them, if it exists: what a
    /// bulk action's result names each row by.
    pub fn hazard_title(&self, id: &str) -> Result<Option<(String, String, String)>> {
        use rusqlite::OptionalExtension;
        Ok(self
            .conn
            .prepare_cached("SELECT venue_name, title_zh, title_en FROM hazards_idx WHERE id = ?1")?
            .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?)
    }

    /// Verified on-the-spot fixes of general hazards in `user`'s scope, oldest first: what a
    /// lead department may accept in one go.
    pub fn batch_candidates(&mut self, user: &User) -> Result<Vec<BatchCandidate>> {
        let (scope, args) = self.scope_of(user)?;
        let sql = format!(
            "SELECT h.id, h.venue_name, h.village, h.title_zh, f.before_thumb, f.after_photo
             FROM hazards_idx h LEFT JOIN hazard_facts f ON f.hazard_id = h.id
             WHERE h.state = 'rectified_claimed' AND h.fix_mode = 'on_spot' AND h.severity = 'general'
               AND {scope}
             ORDER BY h.found_ms, h.id LIMIT 500"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(params_from_iter(args.iter()), |r| {
            Ok(BatchCandidate {
                id: r.get(0)?,
                venue_name: r.get(1)?,
                village: r.get(2)?,
                title_zh: r.get(3)?,
                before_thumb: r.get(4)?,
                after_photo: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
