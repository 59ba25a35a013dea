//! The office dashboard (first part): sign-in with sessions and lockout, the hazard ledger with
//! filters, pages and CSV export, and a hazard's detail with its lifecycle. Server-rendered
//! (askama, HTML-escaped), Chinese first with the English under it. Everything shown comes from
//! the projections and core's fold, in the signed-in user's scope.

use askama::Template;
use axum::extract::{Form, Path as AxPath, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Router, extract::Request};
use gridsafe_core::directory::User;
use gridsafe_core::lifecycle::HistoryEntry;
use gridsafe_core::records::HazardHeader;
use gridsafe_core::store::{HazardQuery, HazardRow};
use serde::Deserialize;

use crate::AppState;
use crate::store::RelayError;

/// Rows per ledger page.
pub const PAGE: u32 = 50;
const COOKIE: &str = "gs_session";

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    user: String,
    error: Option<String>,
}

/// The ledger's filters, as they come in the query string and go back into the form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Filters {
    pub village: String,
    pub domain: String,
    pub state: String,
    pub severity: String,
    pub dept: String,
    pub source: String,
    pub open: Option<String>,
    pub overdue: Option<String>,
    pub page: Option<u32>,
}

impl Filters {
    fn opt(s: &str) -> Option<String> {
        let t = s.trim();
        (!t.is_empty()).then(|| t.to_owned())
    }

    fn query(&self, limit: Option<u32>, offset: Option<u32>) -> HazardQuery {
        HazardQuery {
            village: Self::opt(&self.village),
            domain: Self::opt(&self.domain),
            state: Self::opt(&self.state),
            severity: Self::opt(&self.severity),
            dept: Self::opt(&self.dept),
            source: Self::opt(&self.source),
            open_only: self.open.is_some(),
            overdue_only: self.overdue.is_some(),
            limit,
            offset,
            ..HazardQuery::default()
        }
    }

    /// The filters as a query string (for the pager and the export link), without the page.
    fn query_string(&self) -> String {
        let mut parts = Vec::new();
        for (k, v) in [
            ("village", &self.village),
            ("domain", &self.domain),
            ("state", &self.state),
            ("severity", &self.severity),
            ("dept", &self.dept),
            ("source", &self.source),
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

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "ledger.html")]
struct LedgerPage {
    user_id: String,
    user_name: String,
    csrf: String,
    f: FiltersView,
    query: String,
    rows: Vec<HazardRow>,
    total: u64,
    page: u32,
    pages: u32,
}

/// Filters as the template shows them.
struct FiltersView {
    village: String,
    domain: String,
    state: String,
    severity: String,
    dept: String,
    source: String,
    open: bool,
    overdue: bool,
}

/// A photo on the detail page: the thumbnail to show, the evidence copy to open, and whether the
/// relay holds it (its SHA-256 was checked when the upload completed and is again on every view).
struct PhotoView {
    label: String,
    evidence: String,
    thumb: String,
    held: bool,
}

#[derive(Template)]
#[template(path = "hazard.html")]
struct HazardPage {
    user_id: String,
    user_name: String,
    csrf: String,
    h: HazardHeader,
    state: String,
    severity: String,
    deadline: String,
    overdue: bool,
    history: Vec<HistoryEntry>,
    /// Reviewers and the town office act on hazards; inspectors do on their phones.
    can_review: bool,
    photos: Vec<PhotoView>,
}

/// A device row as the overview shows it.
struct DeviceView {
    user_id: String,
    name: String,
    last_sync: String,
    pending_docs: i64,
    pending_photos: i64,
    app_version: String,
}

/// The overview as the template shows it.
struct OverviewView {
    open_general: i64,
    open_major: i64,
    overdue: i64,
    closed_this_month: i64,
    major_stock: i64,
    major_increment: i64,
    villages: Vec<crate::store::VillageRow>,
    stale_devices: Vec<DeviceView>,
}

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage {
    user_id: String,
    user_name: String,
    csrf: String,
    today: String,
    o: OverviewView,
    show_devices: bool,
    stale_days: i64,
}

/// A phone on the device health page.
struct DeviceHealth {
    id: String,
    user_id: String,
    name: String,
    revoked: bool,
    last_sync: String,
    stale: bool,
    pending_docs: i64,
    pending_photos: i64,
    app_version: String,
    protocol: String,
}

#[derive(Template)]
#[template(path = "devices.html")]
struct DevicesPage {
    user_id: String,
    user_name: String,
    csrf: String,
    devices: Vec<DeviceHealth>,
    can_revoke: bool,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    status: u16,
    title_zh: &'static str,
    title_en: &'static str,
    reason: String,
}

/// A dashboard error: an HTML page with the reason, or the sign-in page for a missing session.
#[derive(Debug)]
pub struct WebError(RelayError);

impl From<RelayError> for WebError {
    fn from(e: RelayError) -> Self {
        WebError(e)
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let (status, zh, en) = match &self.0 {
            RelayError::Unauthorized(_) => return Redirect::to("/login").into_response(),
            RelayError::Forbidden(_) => (StatusCode::FORBIDDEN, "无权查看", "Not in your scope"),
            RelayError::NotFound(_) => (StatusCode::NOT_FOUND, "未找到", "Not found"),
            RelayError::Refused(_) => (StatusCode::CONFLICT, "不符合处置规则", "Refused by the lifecycle rules"),
            RelayError::BadRequest(_) => (StatusCode::BAD_REQUEST, "请求有误", "Bad request"),
            RelayError::Storage(_) => (StatusCode::INTERNAL_SERVER_ERROR, "服务器错误", "Server error"),
        };
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %self.0, "dashboard request failed");
        }
        let page = ErrorPage { status: status.as_u16(), title_zh: zh, title_en: en, reason: self.0.to_string() };
        (status, html(page)).into_response()
    }
}

fn html(t: impl Template) -> Response {
    match t.render() {
        Ok(body) => ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("template: {e}")).into_response(),
    }
}

fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_owned())
}

/// The signed-in user and the session's CSRF token.
async fn signed_in(s: &AppState, headers: &HeaderMap) -> Result<(User, String), WebError> {
    let token = session_token(headers).ok_or_else(|| RelayError::Unauthorized("please sign in".into()))?;
    Ok(s.with_store(move |st| st.web_session(&token)).await.map_err(|e| e.0)?)
}

async fn login_page() -> Response {
    html(LoginPage { user: String::new(), error: None })
}

#[derive(Debug, Deserialize)]
struct LoginForm {
    user: String,
    password: String,
}

async fn login(State(s): State<AppState>, Form(f): Form<LoginForm>) -> Response {
    let user = f.user.trim().to_owned();
    let u = user.clone();
    match s.with_store(move |st| st.web_login(&u, &f.password)).await {
        Ok((token, _, who)) => {
            tracing::info!(user = %who.id, "dashboard sign-in");
            // HttpOnly: no script reads it; SameSite=Strict: no other site's form or link sends it.
            let cookie = format!("{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}", crate::store::SESSION_MS / 1000);
            let mut r = Redirect::to("/").into_response();
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
            r
        }
        Err(e) => {
            tracing::info!(user = %user, error = %e.0, "dashboard sign-in refused");
            let status = if matches!(e.0, RelayError::Storage(_)) { StatusCode::INTERNAL_SERVER_ERROR } else { StatusCode::UNAUTHORIZED };
            let reason = match e.0 {
                RelayError::Unauthorized(r) => r,
                other => other.to_string(),
            };
            (status, html(LoginPage { user, error: Some(format!("登录失败 Sign-in failed: {reason}")) })).into_response()
        }
    }
}

#[derive(Debug, Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn logout(State(s): State<AppState>, headers: HeaderMap, Form(f): Form<CsrfForm>) -> Result<Response, WebError> {
    let (_, csrf) = signed_in(&s, &headers).await?;
    if f.csrf != csrf {
        return Err(RelayError::Forbidden("the form's security token does not match this session; reload the page".into()).into());
    }
    if let Some(token) = session_token(&headers) {
        s.with_store(move |st| st.web_logout(&token)).await.map_err(|e| e.0)?;
    }
    let mut r = Redirect::to("/login").into_response();
    r.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_static("gs_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"));
    Ok(r)
}

async fn ledger(State(s): State<AppState>, headers: HeaderMap, Query(f): Query<Filters>) -> Result<Response, WebError> {
    let (user, csrf) = signed_in(&s, &headers).await?;
    let page = f.page.unwrap_or(1).max(1);
    let q = f.query(Some(PAGE), Some((page - 1) * PAGE));
    let u = user.clone();
    let (rows, total) = s.with_store(move |st| st.ledger(&u, &q)).await.map_err(|e| e.0)?;
    let pages = (total.div_ceil(u64::from(PAGE)) as u32).max(1);
    let view = FiltersView {
        village: f.village.clone(),
        domain: f.domain.clone(),
        state: f.state.clone(),
        severity: f.severity.clone(),
        dept: f.dept.clone(),
        source: f.source.clone(),
        open: f.open.is_some(),
        overdue: f.overdue.is_some(),
    };
    Ok(html(LedgerPage { user_id: user.id, user_name: user.name, csrf, f: view, query: f.query_string(), rows, total, page, pages }))
}

/// The ledger's columns in exports, Chinese headers (the office's spreadsheets).
const EXPORT_COLUMNS: [&str; 14] =
    ["隐患编号", "隐患", "场所", "村居", "网格", "领域", "检查项", "等级", "状态", "整改期限", "是否逾期", "牵头部门", "来源", "发现时间"];

fn export_cells(h: &HazardRow) -> [String; 14] {
    [
        h.id.clone(),
        h.title_zh.clone(),
        h.venue_name.clone(),
        h.village.clone(),
        h.grid_id.clone(),
        h.domain.clone(),
        h.item_id.clone(),
        h.severity.clone(),
        h.state.clone(),
        h.due_date.clone().unwrap_or_default(),
        if h.overdue { "是" } else { "否" }.to_owned(),
        h.lead_depts.join("、"),
        h.source.clone(),
        h.found_at.clone(),
    ]
}

/// Runs `write` over every row of the user's filtered ledger on a read-only connection (exports
/// neither hold the store lock nor all rows at once).
async fn export<T: Send + 'static>(
    s: &AppState,
    headers: &HeaderMap,
    f: &Filters,
    write: impl FnOnce(
        &mut dyn FnMut(&mut dyn FnMut(HazardRow) -> gridsafe_core::Result<()>) -> Result<u64, RelayError>,
    ) -> Result<T, RelayError>
    + Send
    + 'static,
) -> Result<T, WebError> {
    let (user, _) = signed_in(s, headers).await?;
    if user.role == gridsafe_core::directory::Role::Admin {
        return Err(RelayError::Forbidden("administrators manage users and devices; they do not see hazards".into()).into());
    }
    let dir = s
        .with_store(|st| st.directory().cloned().ok_or_else(|| RelayError::Storage("no directory installed".into())))
        .await
        .map_err(|e| e.0)?;
    let q = HazardQuery { scope_user: Some(user.id.clone()), ..f.query(None, None) };
    let readers = s.readers.clone();
    crate::AppState::blocking(move || {
        readers.with(|conn| {
            let mut rows = |each: &mut dyn FnMut(HazardRow) -> gridsafe_core::Result<()>| {
                gridsafe_core::projection::for_each_hazard(conn, &dir, &q, each).map_err(RelayError::from)
            };
            write(&mut rows)
        })
    })
    .await
    .map_err(|e| WebError(e.0))
}

async fn overview(State(s): State<AppState>, headers: HeaderMap) -> Result<Response, WebError> {
    let (user, csrf) = signed_in(&s, &headers).await?;
    let today = gridsafe_core::clock::format_date(gridsafe_core::clock::today());
    let (u, t) = (user.clone(), today.clone());
    let o = s.with_store(move |st| st.overview(&u, &t)).await.map_err(|e| e.0)?;
    let o = OverviewView {
        open_general: o.open_general,
        open_major: o.open_major,
        overdue: o.overdue,
        closed_this_month: o.closed_this_month,
        major_stock: o.major_stock,
        major_increment: o.major_increment,
        villages: o.villages,
        stale_devices: o
            .stale_devices
            .into_iter()
            .map(|d| DeviceView {
                user_id: d.user_id,
                name: d.name,
                last_sync: d.last_sync_ms.map_or_else(|| "从未 never".into(), gridsafe_core::clock::ms_to_rfc3339),
                pending_docs: d.pending_docs.unwrap_or(0),
                pending_photos: d.pending_photos.unwrap_or(0),
                app_version: d.app_version.unwrap_or_default(),
            })
            .collect(),
    };
    let show_devices = user.role == gridsafe_core::directory::Role::TownOffice;
    Ok(html(OverviewPage { user_id: user.id, user_name: user.name, csrf, today, o, show_devices, stale_days: crate::store::STALE_DAYS }))
}

/// The filtered ledger as CSV; a UTF-8 BOM so spreadsheet programs on office PCs read the Chinese.
async fn ledger_csv(State(s): State<AppState>, headers: HeaderMap, Query(f): Query<Filters>) -> Result<Response, WebError> {
    let body = export(&s, &headers, &f, |rows| {
        let mut w = csv::Writer::from_writer(vec![0xEF, 0xBB, 0xBF]);
        let io = |e: csv::Error| RelayError::Storage(e.to_string());
        w.write_record(EXPORT_COLUMNS).map_err(io)?;
        let mut failed = None;
        rows(&mut |h| {
            if let Err(e) = w.write_record(export_cells(&h)) {
                failed.get_or_insert(e);
            }
            Ok(())
        })?;
        if let Some(e) = failed {
            return Err(io(e));
        }
        w.into_inner().map_err(|e| RelayError::Storage(e.to_string()))
    })
    .await?;
    Ok(download("text/csv; charset=utf-8", "hazards.csv", body))
}

/// The filtered ledger as XLSX (rust_xlsxwriter in constant-memory mode: rows go to a temporary
/// file as they are written, so 100,000 rows never sit in memory).
async fn ledger_xlsx(State(s): State<AppState>, headers: HeaderMap, Query(f): Query<Filters>) -> Result<Response, WebError> {
    let body = export(&s, &headers, &f, |rows| {
        use rust_xlsxwriter::{Format, Workbook};
        let x = |e: rust_xlsxwriter::XlsxError| RelayError::Storage(format!("xlsx: {e}"));
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet_with_constant_memory().map_err(x)?;
        ws.set_name("隐患台账").map_err(x)?;
        let bold = Format::new().set_bold();
        for (c, name) in EXPORT_COLUMNS.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, *name, &bold).map_err(x)?;
        }
        let mut r = 0u32;
        let mut failed = None;
        rows(&mut |h| {
            r += 1;
            for (c, v) in export_cells(&h).iter().enumerate() {
                if let Err(e) = ws.write_string(r, c as u16, v) {
                    failed.get_or_insert(e);
                }
            }
            Ok(())
        })?;
        if let Some(e) = failed {
            return Err(x(e));
        }
        wb.save_to_buffer().map_err(x)
    })
    .await?;
    Ok(download("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "hazards.xlsx", body))
}

fn download(mime: &'static str, name: &'static str, body: Vec<u8>) -> Response {
    let disposition = format!("attachment; filename=\"{name}\"");
    let mut r = ([(header::CONTENT_TYPE, HeaderValue::from_static(mime))], body).into_response();
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    r
}

async fn hazard(State(s): State<AppState>, headers: HeaderMap, AxPath(id): AxPath<String>) -> Result<Response, WebError> {
    let (user, csrf) = signed_in(&s, &headers).await?;
    let u = user.clone();
    let user_role = user.role;
    let (h, status) = s.with_store(move |st| st.hazard_view(&u, &id)).await.map_err(|e| e.0)?;
    let overdue = status.is_overdue(gridsafe_core::clock::today());
    let mut wanted: Vec<(String, String, String)> = h
        .photos
        .iter()
        .map(|p| ("整改前 before".to_owned(), p.sha256.clone(), p.thumb_sha256.clone().unwrap_or_else(|| p.sha256.clone())))
        .collect();
    for e in status.history.iter().filter(|e| e.applied) {
        if let Some(p) = &e.photo {
            wanted.push((format!("{} · {}", e.kind, e.at), p.clone(), p.clone()));
        }
    }
    let photos = s
        .with_store(move |st| {
            wanted
                .into_iter()
                .map(|(label, evidence, thumb)| Ok(PhotoView { held: st.blob_complete(&evidence)?, label, evidence, thumb }))
                .collect::<Result<Vec<_>, RelayError>>()
        })
        .await
        .map_err(|e| e.0)?;
    Ok(html(HazardPage {
        user_id: user.id,
        user_name: user.name,
        csrf,
        state: status.state.as_str().to_owned(),
        severity: status.severity.clone(),
        deadline: status.deadline.clone().unwrap_or_else(|| "—".into()),
        overdue,
        history: status.history,
        can_review: matches!(user_role, gridsafe_core::directory::Role::Reviewer | gridsafe_core::directory::Role::TownOffice),
        photos,
        h,
    }))
}

#[derive(Debug, Deserialize)]
struct ActionForm {
    #[serde(default)]
    csrf: String,
    action: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    deadline: String,
    #[serde(default)]
    text: String,
}

/// The review actions the dashboard offers (the phone's are rectify and claim).
const REVIEW_ACTIONS: [&str; 8] = ["close", "reject", "confirm_major", "downgrade", "set_deadline", "plan", "recheck", "escalate"];

/// A review action: checked by core's lifecycle rules and written as the reviewer's change; a
/// refusal comes back as a page with the rule's reason, and nothing is written.
async fn hazard_action(
    State(s): State<AppState>,
    headers: HeaderMap,
    AxPath(id): AxPath<String>,
    Form(f): Form<ActionForm>,
) -> Result<Response, WebError> {
    let (user, csrf) = signed_in(&s, &headers).await?;
    if f.csrf != csrf {
        return Err(RelayError::Forbidden("the form's security token does not match this session; reload the page".into()).into());
    }
    let kind = gridsafe_core::lifecycle::EventKind::parse(&f.action)
        .filter(|_| REVIEW_ACTIONS.contains(&f.action.as_str()))
        .ok_or_else(|| RelayError::BadRequest(format!("unknown review action {:?}", f.action)))?;
    let target = format!("/hazards/{id}");
    let who = user.id.clone();
    s.with_store(move |st| st.web_action(&user, &id, kind, Some(f.reason), Some(f.deadline), Some(f.text))).await.map_err(|e| e.0)?;
    tracing::info!(user = %who, action = %kind.as_str(), hazard = %target, "review action");
    Ok(Redirect::to(&target).into_response())
}

fn office_or_admin(user: &User) -> Result<(), WebError> {
    use gridsafe_core::directory::Role;
    if matches!(user.role, Role::TownOffice | Role::Admin) {
        Ok(())
    } else {
        Err(RelayError::Forbidden("device health is the town office's and the administrator's".into()).into())
    }
}

/// Every phone: last sync, what it reported pending, app and protocol version; silent phones first.
async fn devices(State(s): State<AppState>, headers: HeaderMap) -> Result<Response, WebError> {
    let (user, csrf) = signed_in(&s, &headers).await?;
    office_or_admin(&user)?;
    let rows = s.with_store(|st| st.devices()).await.map_err(|e| e.0)?;
    let cutoff = gridsafe_core::clock::now_ms() - crate::store::STALE_DAYS * 86_400_000;
    let mut devices: Vec<DeviceHealth> = rows
        .into_iter()
        .filter(|d| d.name != "dashboard")
        .map(|d| DeviceHealth {
            stale: !d.revoked && d.last_sync_ms.is_none_or(|t| t < cutoff),
            last_sync: d.last_sync_ms.map_or_else(|| "从未 never".into(), gridsafe_core::clock::ms_to_rfc3339),
            id: d.id,
            user_id: d.user_id,
            name: d.name,
            revoked: d.revoked,
            pending_docs: d.pending_docs.unwrap_or(0),
            pending_photos: d.pending_photos.unwrap_or(0),
            app_version: d.app_version.unwrap_or_default(),
            protocol: d.protocol.map(|p| p.to_string()).unwrap_or_default(),
        })
        .collect();
    devices.sort_by_key(|d| (!d.stale, d.revoked));
    let can_revoke = user.role == gridsafe_core::directory::Role::Admin;
    Ok(html(DevicesPage { user_id: user.id, user_name: user.name, csrf, devices, can_revoke }))
}

#[derive(Debug, Deserialize)]
struct RevokeForm {
    #[serde(default)]
    csrf: String,
    device: String,
}

/// Revokes a lost or replaced phone: its token stops working at once (administrators only).
async fn revoke(State(s): State<AppState>, headers: HeaderMap, Form(f): Form<RevokeForm>) -> Result<Response, WebError> {
    let (user, csrf) = signed_in(&s, &headers).await?;
    if f.csrf != csrf {
        return Err(RelayError::Forbidden("the form's security token does not match this session; reload the page".into()).into());
    }
    if user.role != gridsafe_core::directory::Role::Admin {
        return Err(RelayError::Forbidden("only an administrator revokes devices".into()).into());
    }
    let device = f.device.clone();
    s.with_store(move |st| st.revoke(&device)).await.map_err(|e| e.0)?;
    tracing::info!(admin = %user.id, device = %f.device, "device revoked on the dashboard");
    Ok(Redirect::to("/devices").into_response())
}

/// A photo for a signed-in user whose scope covers a record referencing it. Its bytes are hashed
/// again on every view: a file changed on disk is refused as altered evidence, never shown.
async fn photo(State(s): State<AppState>, headers: HeaderMap, AxPath(sha): AxPath<String>) -> Result<Response, WebError> {
    let (user, _) = signed_in(&s, &headers).await?;
    crate::check_sha(&sha).map_err(|e| e.0)?;
    let root = s.blobs.clone();
    let bytes = s
        .with_store(move |st| {
            if !st.user_may_read_blob(&user, &sha)? {
                return Err(RelayError::Forbidden("no record in your scope references this photo".into()));
            }
            if !st.blob_complete(&sha)? {
                return Err(RelayError::NotFound(format!("photo {sha} has not been uploaded yet")));
            }
            let bytes = std::fs::read(crate::blob_path(&root, &sha)).map_err(|e| RelayError::Storage(e.to_string()))?;
            if gridsafe_core::evidence::sha256_hex(&bytes) != sha {
                return Err(RelayError::Storage(format!("证据文件已损坏 evidence altered: photo {sha} no longer matches its hash")));
            }
            Ok(bytes)
        })
        .await
        .map_err(|e| e.0)?;
    Ok(([(header::CONTENT_TYPE, "image/jpeg")], bytes).into_response())
}

/// Headers on every dashboard answer: no framing, no sniffing, no referrer, only our own
/// resources (no script at all yet).
async fn secure_headers(req: Request, next: Next) -> Response {
    let mut r = next.run(req).await;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(overview))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/hazards", get(ledger))
        .route("/hazards.csv", get(ledger_csv))
        .route("/hazards.xlsx", get(ledger_xlsx))
        .route("/hazards/{id}", get(hazard))
        .route("/hazards/{id}/action", post(hazard_action))
        .route("/photos/{sha}", get(photo))
        .route("/devices", get(devices))
        .route("/devices/revoke", post(revoke))
        .layer(axum::middleware::from_fn(secure_headers))
}
