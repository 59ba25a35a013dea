//! The hazard ledger: filters, pages, sort, and its CSV and XLSX exports streamed from a
//! read-only connection.

use super::*;
use crate::AppState;
use crate::error::RelayError;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use gridsafe_core::directory::User;
use gridsafe_core::policy::{self, Capability};
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

/// The ledger's columns in exports (zh, en, width in characters).
pub(crate) const EXPORT_COLUMNS: [(&str, &str, f64); 12] = [
    ("隐患", "Hazard", 36.0),
    ("场所", "Venue", 20.0),
    ("村居", "Village", 12.0),
    ("网格", "Grid", 16.0),
    ("领域", "Domain", 14.0),
    ("等级", "Severity", 12.0),
    ("状态", "State", 12.0),
    ("整改期限", "Due", 12.0),
    ("是否逾期", "Overdue", 10.0),
    ("牵头部门", "Lead departments", 22.0),
    ("来源", "Source", 14.0),
    ("发现时间", "Found", 17.0),
];

/// A cell of an export: text, a date or a time (real date cells in a workbook).
pub(crate) enum Cell {
    Text(String),
    Date(Option<time::Date>),
    Minute(i64),
}

impl Cell {
    /// As CSV shows it (dates as 2026-12-03, times as 2026-12-03 15:52).
    pub(crate) fn text(&self) -> String {
        match self {
            Cell::Text(t) => t.clone(),
            Cell::Date(d) => d.map_or_else(String::new, gridsafe_core::clock::format_date),
            Cell::Minute(ms) => gridsafe_core::clock::ms_to_minute(*ms),
        }
    }
}

pub(crate) fn export_cells(h: &HazardRow, c: &Chrome) -> [Cell; 12] {
    let found_ms =
        time::OffsetDateTime::parse(&h.found_at, &time::format_description::well_known::Rfc3339)
            .map_or(0, |t| (t.unix_timestamp_nanos() / 1_000_000) as i64);
    [
        Cell::Text(c.t(&h.title_zh, &h.title_en).to_owned()),
        Cell::Text(h.venue_name.clone()),
        Cell::Text(c.village(&h.village)),
        Cell::Text(c.grid(&h.grid_id)),
        Cell::Text(c.domain(&h.domain)),
        Cell::Text(c.severity(&h.severity)),
        Cell::Text(c.state(&h.state)),
        Cell::Date(
            h.due_date
                .as_deref()
                .and_then(|d| gridsafe_core::clock::parse_date(d).ok()),
        ),
        Cell::Text(
            if h.overdue {
                c.t("是", "Yes")
            } else {
                c.t("否", "No")
            }
            .to_owned(),
        ),
        Cell::Text(c.labels().depts(&h.lead_depts)),
        Cell::Text(c.source(&h.source)),
        Cell::Minute(found_ms),
    ]
}

/// Runs `f` for the signed-in `user` on a read-only connection with the directory: reports and
/// exports neither hold the store lock nor wait for it.
pub(crate) async fn on_reader<T: Send + 'static>(
    s: &AppState,
    user: &User,
    f: impl FnOnce(&rusqlite::Connection, &gridsafe_core::directory::Directory) -> Result<T, RelayError>
    + Send
    + 'static,
) -> Result<T, WebError> {
    policy::check(user, Capability::SeeHazards).map_err(RelayError::Forbidden)?;
    let dir = s
        .with_reader(|st| {
            st.directory()
                .cloned()
                .ok_or_else(|| RelayError::Storage("no directory installed".into()))
        })
        .await
        .map_err(|e| e.0)?;
    let readers = s.readers.clone();
    crate::AppState::blocking(move || readers.with(|conn| f(conn, &dir)))
        .await
        .map_err(|e| WebError(e.0))
}

/// Runs `write` over every row of the user's filtered ledger on a read-only connection (exports
/// never hold all rows at once).
pub(crate) async fn export<T: Send + 'static>(
    s: &AppState,
    user: User,
    f: &Filters,
    write: impl FnOnce(
        &mut dyn FnMut(
            &mut dyn FnMut(HazardRow) -> gridsafe_core::Result<()>,
        ) -> Result<u64, RelayError>,
    ) -> Result<T, RelayError>
    + Send
    + 'static,
) -> Result<T, WebError> {
    let (f, uid) = (f.clone(), user.id.clone());
    on_reader(s, &user, move |conn, dir| {
        let pending = crate::owner::pending_owner_photos(conn)?;
        let q = HazardQuery {
            scope_user: Some(uid),
            ..f.query_with(&pending, None, None)
        };
        let mut rows = |each: &mut dyn FnMut(HazardRow) -> gridsafe_core::Result<()>| {
            gridsafe_core::projection::for_each_hazard(conn, dir, &q, each)
                .map_err(RelayError::from)
        };
        write(&mut rows)
    })
    .await
}

/// The filtered ledger as CSV; a UTF-8 BOM so spreadsheet programs on office PCs read the Chinese.
pub(crate) async fn ledger_csv(
    State(s): State<AppState>,
    Query(f): Query<Filters>,
    SignedIn { user, csrf }: SignedIn,
) -> Result<Response, WebError> {
    let c = Chrome::new(&user, &csrf);
    let body = export(&s, user, &f, move |rows| {
        let mut w = csv::Writer::from_writer(vec![0xEF, 0xBB, 0xBF]);
        let io = |e: csv::Error| RelayError::Storage(e.to_string());
        w.write_record(EXPORT_COLUMNS.iter().map(|h| c.t(h.0, h.1)))
            .map_err(io)?;
        let mut failed = None;
        rows(&mut |h| {
            let cells = export_cells(&h, &c);
            if let Err(e) = w.write_record(
                cells
                    .iter()
                    .map(|x| crate::export::csv_cell(&x.text()).into_owned()),
            ) {
                failed.get_or_insert(e);
            }
            Ok(())
        })?;
        if let Some(e) = failed {
            return Err(io(e));
        }
        w.into_inner()
            .map_err(|e| RelayError::Storage(e.to_string()))
    })
    .await?;
    Ok(download(
        "text/csv; charset=utf-8",
        &ledger_name("csv"),
        body,
    ))
}

/// The filtered ledger as XLSX (rust_xlsxwriter in constant-memory mode: rows go to a temporary
/// file as they are written, so 100,000 rows never sit in memory): labels, real date cells,
/// column widths, a frozen header and a filter on it.
pub(crate) async fn ledger_xlsx(
    State(s): State<AppState>,
    Query(f): Query<Filters>,
    SignedIn { user, csrf }: SignedIn,
) -> Result<Response, WebError> {
    let c = Chrome::new(&user, &csrf);
    let body = export(&s, user, &f, move |rows| {
        use rust_xlsxwriter::{Format, Workbook};
        let x = |e: rust_xlsxwriter::XlsxError| RelayError::Storage(format!("xlsx: {e}"));
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet_with_constant_memory().map_err(x)?;
        ws.set_name(c.t("隐患台账", "Hazard ledger")).map_err(x)?;
        let bold = Format::new().set_bold();
        let day = Format::new().set_num_format("yyyy-mm-dd");
        let minute = Format::new().set_num_format("yyyy-mm-dd hh:mm");
        for (i, (zh, en, width)) in EXPORT_COLUMNS.iter().enumerate() {
            ws.set_column_width(i as u16, *width).map_err(x)?;
            ws.write_string_with_format(0, i as u16, c.t(zh, en), &bold)
                .map_err(x)?;
        }
        ws.set_freeze_panes(1, 0).map_err(x)?;
        let mut r = 0u32;
        let mut failed = None;
        rows(&mut |h| {
            r += 1;
            for (i, v) in export_cells(&h, &c).iter().enumerate() {
                let col = i as u16;
                let done = match v {
                    Cell::Text(t) => crate::export::xlsx_text(ws, r, col, t, None),
                    Cell::Date(None) => Ok(()),
                    Cell::Date(Some(d)) => crate::export::xlsx_date(ws, r, col, *d, &day),
                    Cell::Minute(ms) => crate::export::xlsx_minute(ws, r, col, *ms, &minute),
                };
                if let Err(e) = done {
                    failed.get_or_insert(e);
                }
            }
            Ok(())
        })?;
        if let Some(e) = failed {
            return Err(x(e));
        }
        ws.autofilter(0, 0, r.max(1), EXPORT_COLUMNS.len() as u16 - 1)
            .map_err(x)?;
        wb.save_to_buffer().map_err(x)
    })
    .await?;
    Ok(download(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        &ledger_name("xlsx"),
        body,
    ))
}

/// A file to save, under its Chinese name (RFC 6266's `filename*`; an ASCII fallback for old
/// browsers).
pub(crate) fn download(mime: &'static str, name: &str, body: Vec<u8>) -> Response {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let disposition = format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{}",
        super::urlencode(name)
    );
    let mut r = (
        [(header::CONTENT_TYPE, HeaderValue::from_static(mime))],
        body,
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    r
}

/// 隐患台账_2026-12-03.xlsx
fn ledger_name(ext: &str) -> String {
    format!(
        "隐患台账_{}.{ext}",
        gridsafe_core::clock::format_date(gridsafe_core::clock::today())
    )
}
