//! The hazard ledger: filters, pages, sort (its exports are `ledger_export.rs`).

use super::*;
use crate::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use gridsafe_core::store::{HazardQuery, HazardRow};
use serde::Deserialize;
use session::SignedIn;

/// Rows per ledger page.
pub const PAGE: u32 = 50;

/// The state filter's value for hazards whose owner sent an after photo that waits for review:
/// not a lifecycle state (the hazard stays where it was until the photo is accepted), but what
/// a reviewer looks for.
pub const OWNER_PHOTO: &str = "owner_photo";

/// The ledger's filters, as they come in the query string and go back into the form.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Filters {
    pub village: String,
    pub domain: String,
    pub state: String,
    pub severity: String,
    pub dept: String,
    pub source: String,
    pub grid: String,
    /// The handler (指派承办人), a user id.
    pub assignee: String,
    pub from: String,
    pub to: String,
    pub sort: String,
    pub open: Option<String>,
    pub overdue: Option<String>,
    pub page: Option<u32>,
}

impl Filters {
    pub(crate) fn opt(s: &str) -> Option<String> {
        let t = s.trim();
        (!t.is_empty()).then(|| t.to_owned())
    }

    pub(crate) fn query(&self, limit: Option<u32>, offset: Option<u32>) -> HazardQuery {
        HazardQuery {
            village: Self::opt(&self.village),
            domain: Self::opt(&self.domain),
            state: Self::opt(&self.state).filter(|s| s != OWNER_PHOTO),
            severity: Self::opt(&self.severity),
            dept: Self::opt(&self.dept),
            source: Self::opt(&self.source),
            grid: Self::opt(&self.grid),
            assignee: Self::opt(&self.assignee),
            found_from: Self::opt(&self.from),
            found_to: Self::opt(&self.to),
            sort: Self::opt(&self.sort),
            open_only: self.open.is_some(),
            overdue_only: self.overdue.is_some(),
            limit,
            offset,
            ..HazardQuery::default()
        }
    }

    /// [`Self::query`] with the hazards whose owner's photo waits for review (`pending`), when the
    /// state filter asks for them.
    pub(crate) fn query_with(
        &self,
        pending: &[String],
        limit: Option<u32>,
        offset: Option<u32>,
    ) -> HazardQuery {
        HazardQuery {
            ids: (self.state.trim() == OWNER_PHOTO).then(|| pending.to_vec()),
            ..self.query(limit, offset)
        }
    }

    /// The filters as a query string (for the pager and the export link), without the page.
    pub(crate) fn query_string(&self) -> String {
        let mut parts = Vec::new();
        for (k, v) in [
            ("village", &self.village),
            ("domain", &self.domain),
            ("state", &self.state),
            ("severity", &self.severity),
            ("dept", &self.dept),
            ("source", &self.source),
            ("grid", &self.grid),
            ("assignee", &self.assignee),
            ("from", &self.from),
            ("to", &self.to),
            ("sort", &self.sort),
        ] {
            if !v.trim().is_empty() {
                parts.push(format!("{k}={}", urlencode(v.trim())));
            }
        }
        if self.open.is_some() {
            parts.push("open=1".into());
        }
        if self.overdue.is_some() {
            parts.push("overdue=1".into());
        }
        parts.join("&")
    }
}

/// Filters as the template shows them.
pub(crate) struct FiltersView {
    village: String,
    domain: String,
    state: String,
    severity: String,
    dept: String,
    source: String,
    grid: String,
    assignee: String,
    from: String,
    to: String,
    sort: String,
    open: bool,
    overdue: bool,
}

/// One option of a filter's list: its value and its label in the page's language.
pub(crate) struct Choice {
    value: String,
    label: String,
}

/// The ledger's filter lists: the directory's villages, grids and departments, and the codes of
/// domains, states, severities, sources and orders, so a reviewer picks instead of typing codes.
pub(crate) struct Choices {
    villages: Vec<Choice>,
    grids: Vec<Choice>,
    depts: Vec<Choice>,
    /// The lead departments' reviewers, who can be assigned hazards.
    assignees: Vec<Choice>,
    domains: Vec<Choice>,
    states: Vec<Choice>,
    severities: Vec<Choice>,
    sources: Vec<Choice>,
    sorts: Vec<Choice>,
}

impl Choices {
    pub(crate) fn new(dir: &gridsafe_core::directory::Directory, c: &Chrome) -> Choices {
        let ch = |value: &str, label: String| Choice {
            value: value.to_owned(),
            label,
        };
        let named = |zh: &str, en: &str| {
            if en.is_empty() {
                zh.to_owned()
            } else {
                c.t(zh, en).to_owned()
            }
        };
        Choices {
            villages: dir
                .villages
                .iter()
                .map(|v| ch(&v.code, named(&v.name_zh, &v.name_en)))
                .collect(),
            grids: dir
                .grids
                .iter()
                .map(|g| ch(&g.id, g.name_zh.clone()))
                .collect(),
            depts: dir
                .departments
                .iter()
                .map(|d| ch(&d.code, named(&d.name_zh, &d.name_en)))
                .collect(),
            assignees: dir
                .users
                .iter()
                .filter(|u| u.role == gridsafe_core::directory::Role::Reviewer)
                .map(|u| {
                    let dept = u
                        .department
                        .as_deref()
                        .map(|d| c.dept(d))
                        .unwrap_or_default();
                    ch(&u.id, format!("{} · {dept}", u.name))
                })
                .collect(),
            domains: crate::report::DOMAINS
                .iter()
                .map(|d| ch(d.0, c.t(d.1, d.2).to_owned()))
                .collect(),
            states: gridsafe_core::lifecycle::State::ALL
                .iter()
                .map(|s| ch(s.as_str(), c.state(s.as_str())))
                .collect(),
            severities: ["general", "major_candidate", "major"]
                .iter()
                .map(|s| ch(s, c.severity(s)))
                .collect(),
            sources: gridsafe_core::labels::SOURCES
                .iter()
                .map(|s| ch(s.0, c.t(s.1, s.2).to_owned()))
                .collect(),
            sorts: [
                ("due", "整改期限", "Deadline"),
                ("found_desc", "最新发现", "Newest found"),
                ("found", "最早发现", "Oldest found"),
                ("village", "村居", "Village"),
                ("severity", "重大优先", "Majors first"),
                ("updated", "最近更新", "Recently updated"),
            ]
            .iter()
            .map(|s| ch(s.0, c.t(s.1, s.2).to_owned()))
            .collect(),
        }
    }
}

#[derive(Template)]
#[template(path = "ledger.html")]
pub(crate) struct LedgerPage {
    c: Chrome,
    f: FiltersView,
    choices: Choices,
    query: String,
    rows: Vec<HazardRow>,
    /// Hazards whose owner's photo waits for review (shown beside their state).
    owner_pending: std::collections::HashSet<String>,
    /// The bulk form's single-use token and its actions (code, label), for reviewers.
    form_token: String,
    bulk_actions: Vec<(&'static str, String)>,
    total: u64,
    page: u32,
    pages: u32,
}

impl LedgerPage {
    fn owner_photo(&self, id: &str) -> bool {
        self.owner_pending.contains(id)
    }
}

pub(crate) async fn ledger(
    State(s): State<AppState>,
    Query(f): Query<Filters>,
    SignedIn { user, csrf }: SignedIn,
) -> Result<Response, WebError> {
    let page = f.page.unwrap_or(1).max(1);
    let (u, fq) = (user.clone(), f.clone());
    let (rows, total, pending) = s
        .with_reader(move |st| {
            let pending = st.owner_photos_pending()?;
            let q = fq.query_with(&pending, Some(PAGE), Some((page - 1) * PAGE));
            let (rows, total) = st.ledger(&u, &q)?;
            Ok((rows, total, pending))
        })
        .await
        .map_err(|e| e.0)?;
    let pages = (total.div_ceil(u64::from(PAGE)) as u32).max(1);
    let view = FiltersView {
        village: f.village.clone(),
        domain: f.domain.clone(),
        state: f.state.clone(),
        severity: f.severity.clone(),
        dept: f.dept.clone(),
        source: f.source.clone(),
        grid: f.grid.clone(),
        assignee: f.assignee.clone(),
        from: f.from.clone(),
        to: f.to.clone(),
        sort: f.sort.clone(),
        open: f.open.is_some(),
        overdue: f.overdue.is_some(),
    };
    let dir = s
        .with_reader(|st| Ok(st.directory().cloned().unwrap_or_default()))
        .await
        .map_err(|e| e.0)?;
    let c = Chrome::new(&user, &csrf);
    let mut choices = Choices::new(&dir, &c);
    choices.states.push(Choice {
        value: OWNER_PHOTO.into(),
        label: c.t("业主照片待审核", "Owner's photo to review").to_owned(),
    });
    let bulk_actions = super::bulk::BULK_ACTIONS
        .iter()
        .map(|k| (k.as_str(), c.event(k.as_str())))
        .collect();
    Ok(html(LedgerPage {
        c,
        f: view,
        choices,
        query: f.query_string(),
        rows,
        owner_pending: pending.into_iter().collect(),
        form_token: crate::store::new_form_token(),
        bulk_actions,
        total,
        page,
        pages,
    }))
}
