//! Venues (场所): my grids' venues with search and filters, their last inspection and open
//! hazards; and a venue's file — its profile in words, the checklists that apply to it (decided
//! here from the profile, never in a shell) with why, its inspections, open hazards and the
//! conflicting edits still to resolve.

use rusqlite::params_from_iter;
use rusqlite::types::Value as V;
use time::Date;

use crate::clock::{ms_to_rfc3339, start_of_day_ms};
use crate::error::{Error, Result};
use crate::labels::{Labels, Lang};
use crate::policy;
use crate::projection::placeholders;
use crate::records::venue_fields;
use crate::store::{HazardQuery, Store};

/// Venues per page of the list.
pub const PAGE: u32 = 30;

/// What the venue list shows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VenueFilter {
    /// Part of the name or the address.
    pub text: String,
    /// Only venues not inspected since the first of this month.
    pub not_inspected_this_month: bool,
    /// Only venues with open hazards.
    pub with_open_hazards: bool,
    /// 0-based page.
    pub page: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VenueListRow {
    pub id: String,
    pub name: String,
    pub address: String,
    /// "上次检查 2026-12-03 15:52" or "从未检查".
    pub last_inspection: String,
    pub open_hazards: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VenueList {
    pub rows: Vec<VenueListRow>,
    /// Venues matching, over every page.
    pub total: u32,
    pub page: u32,
    pub pages: u32,
}

/// The venue list for `user` (an inspector's grids; the whole town for the office).
pub fn venue_list(
    store: &Store,
    user: &str,
    f: &VenueFilter,
    lang: Lang,
    today: Date,
) -> Result<VenueList> {
    let dir = store.directory()?;
    let me = dir
        .user(user)
        .ok_or_else(|| Error::Forbidden(format!("unknown user {user:?}")))?;
    let l = Labels::new(Some(&dir), lang);
    let mut clauses = vec!["v.archived = 0".to_owned()];
    let mut args: Vec<V> = Vec::new();
    if let Some(grids) = policy::venue_list_grids(me) {
        clauses.push(format!("v.grid_id IN ({})", placeholders(grids.len())));
        args.extend(grids.iter().map(|g| V::from(g.clone())));
    }
    let text = f.text.trim();
    if !text.is_empty() {
        crate::limits::check("search", text)?;
        // LIKE's own wildcards in what was typed are matched as themselves.
        let pattern = format!(
            "%{}%",
            text.replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        clauses.push("(v.name LIKE ? ESCAPE '\\' OR v.address LIKE ? ESCAPE '\\')".into());
        args.push(V::from(pattern.clone()));
        args.push(V::from(pattern));
    }
    if f.not_inspected_this_month {
        let month_start = start_of_day_ms(today.replace_day(1).unwrap_or(today));
        clauses.push("(v.last_inspected_ms IS NULL OR v.last_inspected_ms < ?)".into());
        args.push(V::from(month_start));
    }
    if f.with_open_hazards {
        clauses.push(
            "EXISTS (SELECT 1 FROM hazards_idx h WHERE h.venue_id = v.id AND h.is_open = 1)".into(),
        );
    }
    let filter = clauses.join(" AND ");
    let conn = store.raw();
    let total: i64 = conn.query_row(
        &format!("SELECT count(*) FROM venues_idx v WHERE {filter}"),
        params_from_iter(&args),
        |r| r.get(0),
    )?;
    let pages = (total as u32).div_ceil(PAGE).max(1);
    let page = f.page.min(pages - 1);
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT v.id, v.name, v.address, v.last_inspected_ms,
                (SELECT count(*) FROM hazards_idx h WHERE h.venue_id = v.id AND h.is_open = 1)
         FROM venues_idx v WHERE {filter} ORDER BY v.name, v.id LIMIT {PAGE} OFFSET {}",
        page * PAGE
    ))?;
    let rows = stmt
        .query_map(params_from_iter(&args), |r| {
            let last: Option<i64> = r.get(3)?;
            Ok(VenueListRow {
                id: r.get(0)?,
                name: r.get(1)?,
                address: r.get(2)?,
                last_inspection: last_words(&l, last),
                open_hazards: r.get(4)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(VenueList {
        rows,
        total: total as u32,
        page,
        pages,
    })
}

fn last_words(l: &Labels<'_>, last: Option<i64>) -> String {
    match last {
        Some(ms) => format!(
            "{} {}",
            l.pick("上次检查", "Last inspected"),
            l.time(&ms_to_rfc3339(ms))
        ),
        None => l.pick("从未检查", "Never inspected").to_owned(),
    }
}

/// A checklist and whether it applies to the venue, with why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChecklistChoice {
    pub template_id: String,
    pub title: String,
    pub applies: bool,
    pub why: String,
}

/// One line of a list in the venue file: what it opens, a title, a detail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileLine {
    pub id: String,
    pub title: String,
    pub detail: String,
}

/// A field two people set differently, in words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConflictLine {
    pub field: String,
    pub field_label: String,
    pub kept: String,
    pub others: Vec<String>,
}

/// The venue file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VenueFile {
    pub id: String,
    pub name: String,
    pub address: String,
    pub grid: String,
    pub responsible: String,
    /// The profile as (label, value) in words.
    pub profile: Vec<(String, String)>,
    pub checklists: Vec<ChecklistChoice>,
    pub inspections: Vec<FileLine>,
    pub open_hazards: Vec<FileLine>,
    pub conflicts: Vec<ConflictLine>,
}

/// The profile fields the file shows, in this order.
const PROFILE_FIELDS: [&str; 8] = [
    "venue_type",
    "floors_above_ground",
    "max_floor_area_m2",
    "building_height_m",
    "has_basement",
    "residents_count",
    "is_crowded_place",
    "gas_supplies",
];

/// The file of venue `id`, for `user` (who must have it in scope).
pub fn venue_file(store: &Store, user: &str, id: &str, lang: Lang) -> Result<VenueFile> {
    let dir = store.directory()?;
    let me = dir
        .user(user)
        .ok_or_else(|| Error::Forbidden(format!("unknown user {user:?}")))?;
    let l = Labels::new(Some(&dir), lang);
    let v = store.venue(id)?;
    policy::check_grid(me, &v.grid_id).map_err(Error::Forbidden)?;
    let json = serde_json::to_value(&v.profile)?;
    let profile = PROFILE_FIELDS
        .iter()
        .map(|k| {
            let path = format!("profile.{k}");
            let (zh, en) = venue_fields::label(&path);
            let value = match (*k, json.get(k)) {
                ("gas_supplies", _) => {
                    l.venue_value(&path, &serde_json::json!(v.profile.gas_supplies()))
                }
                ("residents_count", Some(serde_json::Value::Null) | None) => {
                    l.pick("不详", "Not known").to_owned()
                }
                (_, Some(x)) => l.venue_value(&path, x),
                (_, None) => "—".to_owned(),
            };
            (l.pick(zh, en).to_owned(), value)
        })
        .collect();
    let mut checklists = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for row in store.list_templates()? {
        if !seen.insert(row.template_id.clone()) {
            continue;
        }
        let t = store.latest_template(&row.template_id)?;
        let applies = v.profile.checklist_applies(&t.domain);
        checklists.push(ChecklistChoice {
            template_id: t.template_id.clone(),
            title: l.pick(&t.title_zh, &t.title_en).to_owned(),
            applies,
            why: applies_why(&l, &t.domain, applies),
        });
    }
    let inspections = store
        .venue_inspections(id)?
        .into_iter()
        .map(|i| {
            let title = store
                .template(&i.template_id, &i.template_version)
                .map(|t| l.pick(&t.title_zh, &t.title_en).to_owned())
                .unwrap_or_else(|_| l.domain(&i.template_id));
            let outcome = if i.finished {
                format!(
                    "{} {} · {} {}",
                    i.failed,
                    l.pick("项不合格", "items failed"),
                    i.hazards,
                    l.pick("条隐患", "hazards")
                )
            } else {
                l.pick("检查中", "In progress").to_owned()
            };
            FileLine {
                id: i.id,
                title,
                detail: format!(
                    "{} · {} · {outcome}",
                    l.time(&i.started_at),
                    l.user(&i.inspector)
                ),
            }
        })
        .collect();
    let open_hazards = store
        .list_hazards(&HazardQuery {
            venue_id: Some(id.to_owned()),
            open_only: true,
            ..HazardQuery::default()
        })?
        .into_iter()
        .map(|h| FileLine {
            title: l.pick(&h.title_zh, &h.title_en).to_owned(),
            detail: format!(
                "{} · {} · {} {}",
                l.state(&h.state),
                l.severity(&h.severity),
                l.pick("期限", "Due"),
                h.due_date.as_deref().unwrap_or("—")
            ),
            id: h.id,
        })
        .collect();
    let (conflicts, _) = store.venue_conflicts(id)?;
    let conflicts = conflicts
        .into_iter()
        .map(|c| {
            let (zh, en) = venue_fields::label(&c.field);
            let version = |f: &venue_fields::FieldVersion| {
                format!(
                    "{}（{}，{}）",
                    l.venue_value(&c.field, &f.value),
                    l.user(&f.by),
                    l.time(&ms_to_rfc3339(f.ms))
                )
            };
            ConflictLine {
                field_label: l.pick(zh, en).to_owned(),
                kept: version(&c.kept),
                others: c.others.iter().map(version).collect(),
                field: c.field,
            }
        })
        .collect();
    Ok(VenueFile {
        id: v.id.clone(),
        name: v.name.clone(),
        address: v.address.clone(),
        grid: l.grid(&v.grid_id),
        responsible: format!("{} {}", v.responsible.name, v.responsible.phone)
            .trim()
            .to_owned(),
        profile,
        checklists,
        inspections,
        open_hazards,
        conflicts,
    })
}

/// Why a domain's checklist applies to the venue or not, in words (the profile's rule).
fn applies_why(l: &Labels<'_>, domain: &str, applies: bool) -> String {
    let (zh, en) = match (domain, applies) {
        ("gas", true) => ("场所使用燃气", "The venue uses gas"),
        ("gas", false) => ("场所不使用燃气", "The venue uses no gas"),
        ("selfbuilt", true) => ("经营性自建房", "A self-built house used for business"),
        ("selfbuilt", false) => (
            "不是经营性自建房",
            "Not a self-built house used for business",
        ),
        ("mixed", true) => ("三合一或群租场所", "A mixed-use or group-rental venue"),
        ("mixed", false) => ("不是三合一或群租场所", "Not mixed-use or a group rental"),
        ("ebike", _) => (
            "任何场所都可能停放或充电",
            "Any venue may park or charge e-bikes",
        ),
        ("lifeline", _) => (
            "每个场所都有疏散通道和出口",
            "Every venue has escape routes and exits",
        ),
        (_, true) => ("适用于本场所", "Applies to this venue"),
        (_, false) => ("不适用于本场所", "Does not apply to this venue"),
    };
    l.pick(zh, en).to_owned()
}
