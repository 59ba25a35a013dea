//! The ledger's exports — CSV and XLSX of the filtered ledger, streamed from a read-only
//! connection — and the read-only runner and download response the report pages share.

use super::*;
use crate::AppState;
use crate::error::RelayError;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use gridsafe_core::directory::User;
use gridsafe_core::policy::{self, Capability};
use gridsafe_core::store::{HazardQuery, HazardRow};
use ledger::Filters;
use session::SignedIn;

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
