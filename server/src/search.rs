//! Search from every page's header: venues by name or address, hazards by what was found, the
//! venue's name or the ticket number (12345, 随申拍, 转办), in the user's scope. SQL `LIKE` over
//! the projections on a read-only connection; a town's few hundred thousand rows need no index
//! of their own at this size (docs/benchmarks.md), as long as the text is matched before the
//! scope is checked.

use gridsafe_core::directory::{Directory, User};
use gridsafe_core::projection::hazard_scope_of;
use rusqlite::types::Value as V;
use rusqlite::{Connection, params_from_iter};
use serde::Serialize;

use crate::error::{RelayError, Result};

/// Results per kind.
pub const ROWS: usize = 50;
/// The longest search text.
pub const MAX_CHARS: usize = 60;

#[derive(Clone, Debug, Serialize)]
pub struct VenueHit {
    pub id: String,
    pub name: String,
    pub address: String,
    pub village: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct HazardHit {
    pub id: String,
    pub title_zh: String,
    pub title_en: String,
    pub venue_name: String,
    pub state: String,
    pub ticket_no: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Hits {
    pub venues: Vec<VenueHit>,
    pub hazards: Vec<HazardHit>,
}

/// `text` as a `LIKE` pattern matching it anywhere, its wildcards taken literally.
fn pattern(text: &str) -> String {
    let mut p = String::from("%");
    for ch in text.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(ch);
    }
    p.push('%');
    p
}

/// What `user` may see that matches `text` (trimmed; 1–[`MAX_CHARS`] characters).
pub fn search(conn: &Connection, dir: &Directory, user: &User, text: &str) -> Result<Hits> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(Hits::default());
    }
    if text.chars().count() > MAX_CHARS {
        return Err(RelayError::BadRequest(format!(
            "搜索内容不超过 {MAX_CHARS} 个字 / search for at most {MAX_CHARS} characters"
        )));
    }
    let like = pattern(text);
    // Inspectors find the venues of their grids; everyone else the town's.
    let (venue_scope, grids) = gridsafe_core::projection::venue_scope(user);
    let mut args: Vec<V> = vec![V::from(like.clone())];
    args.extend(grids.into_iter().map(V::from));
    let mut stmt = conn.prepare(&format!(
        "SELECT id, name, address, village FROM venues_idx
         WHERE archived = 0 AND (name LIKE ?1 ESCAPE '\\' OR address LIKE ?1 ESCAPE '\\')
         AND {venue_scope} ORDER BY name, id LIMIT {ROWS}"
    ))?;
    let venues = stmt
        .query_map(params_from_iter(args.iter()), |r| {
            Ok(VenueHit {
                id: r.get(0)?,
                name: r.get(1)?,
                address: r.get(2)?,
                village: r.get(3)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;

    // The text is matched first, row by row over the hazards, and only the matching rows are
    // checked against the scope: leading with the scope had SQLite fetch every hazard in it by
    // id (and join its facts) before a single comparison (docs/benchmarks.md, issue #32).
    let (scope, scope_args) = hazard_scope_of(dir, &user.id, "h.id")?;
    let mut args: Vec<V> = vec![V::from(like)];
    args.extend(scope_args.into_iter().map(V::from));
    let mut stmt = conn.prepare(&format!(
        "SELECT h.id, h.title_zh, h.title_en, h.venue_name, h.state,
                (SELECT f.ticket_no FROM hazard_facts f WHERE f.hazard_id = h.id)
         FROM hazards_idx h
         WHERE (h.title_zh LIKE ?1 ESCAPE '\\' OR h.title_en LIKE ?1 ESCAPE '\\'
                OR h.venue_name LIKE ?1 ESCAPE '\\'
                OR h.id IN (SELECT hazard_id FROM hazard_facts WHERE ticket_no LIKE ?1 ESCAPE '\\'))
         AND {scope}
         ORDER BY h.is_open DESC, h.found_ms DESC, h.id LIMIT {ROWS}"
    ))?;
    let hazards = stmt
        .query_map(params_from_iter(args.iter()), |r| {
            Ok(HazardHit {
                id: r.get(0)?,
                title_zh: r.get(1)?,
                title_en: r.get(2)?,
                venue_name: r.get(3)?,
                state: r.get(4)?,
                ticket_no: r.get(5)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Hits { venues, hazards })
}

#[cfg(test)]
mod tests {
    #[test]
    fn wildcards_are_taken_literally() {
        assert_eq!(super::pattern("50%_a"), "%50\\%\\_a%");
    }
}
