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
use gridsafe_core::directory::{Role, User};
use gridsafe_core::lifecycle::HistoryEntry;
use gridsafe_core::records::HazardHeader;
use gridsafe_core::store::{HazardQuery, HazardRow};
use serde::Deserialize;

use crate::AppState;
use crate::error::RelayError;

mod admin;
mod intake;
mod owner;
mod report;

/// Rows per ledger page.
pub const PAGE: u32 = 50;
const COOKIE: &str = "gs_session";
const LANG_COOKIE: &str = "gs_lang";
const LOGIN_COOKIE: &str = "gs_login";

/// The dashboard's language: Chinese unless the user chose English (a cookie).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

/// What every page needs from its request: the language and the path (to come back to after
/// switching language). Set by [`request_context`] for the whole handler.
#[derive(Clone, Debug)]
struct RequestCtx {
    lang: Lang,
    path: String,
}

tokio::task_local! {
    static CTX: RequestCtx;
}

fn ctx() -> RequestCtx {
    CTX.try_with(Clone::clone).unwrap_or(RequestCtx {
        lang: Lang::Zh,
        path: "/".into(),
    })
}

/// The frame of every page: who is signed in (empty on the sign-in and error pages), the
/// session's CSRF token for its forms, the language, and what the navigation offers.
#[derive(Debug)]
pub struct Chrome {
    pub user_id: String,
    pub user_name: String,
    pub csrf: String,
    pub role: Option<Role>,
    pub lang: Lang,
    path: String,
}

impl Chrome {
    fn new(user: &User, csrf: &str) -> Chrome {
        let c = ctx();
        Chrome {
            user_id: user.id.clone(),
            user_name: user.name.clone(),
            csrf: csrf.to_owned(),
            role: Some(user.role),
            lang: c.lang,
            path: c.path,
        }
    }

    fn anonymous() -> Chrome {
        let c = ctx();
        Chrome {
            user_id: String::new(),
            user_name: String::new(),
            csrf: String::new(),
            role: None,
            lang: c.lang,
            path: c.path,
        }
    }

    /// The text in the page's language.
    pub fn t<'a>(&self, zh: &'a str, en: &'a str) -> &'a str {
        match self.lang {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }

    pub fn en(&self) -> bool {
        self.lang == Lang::En
    }

    pub fn html_lang(&self) -> &'static str {
        self.t("zh-CN", "en")
    }

    /// The link that switches language and comes back here.
    pub fn toggle_href(&self) -> String {
        format!(
            "/lang?to={}&back={}",
            self.t("en", "zh"),
            urlencode(&self.path)
        )
    }

    pub fn signed_in(&self) -> bool {
        self.role.is_some()
    }

    pub fn sees_hazards(&self) -> bool {
        matches!(
            self.role,
            Some(Role::Inspector | Role::Reviewer | Role::TownOffice)
        )
    }

    pub fn sees_devices(&self) -> bool {
        matches!(self.role, Some(Role::TownOffice | Role::Admin))
    }

    pub fn is_inspector(&self) -> bool {
        self.role == Some(Role::Inspector)
    }

    pub fn is_office(&self) -> bool {
        self.role == Some(Role::TownOffice)
    }

    pub fn is_admin(&self) -> bool {
        self.role == Some(Role::Admin)
    }

    /// A state code in the page's language.
    pub fn state(&self, code: &str) -> String {
        match gridsafe_core::lifecycle::State::parse(code) {
            Some(s) => self.t(s.label_zh(), code).to_owned(),
            None => code.to_owned(),
        }
    }

    pub fn severity(&self, code: &str) -> String {
        let (zh, en) = match code {
            "general" => ("一般", "general"),
            "major" => ("重大", "major"),
            "major_candidate" => ("重大(待认定)", "major (to confirm)"),
            other => (other, other),
        };
        self.t(zh, en).to_owned()
    }

    pub fn domain(&self, code: &str) -> String {
        let (zh, en) = crate::report::domain_label(code);
        self.t(zh, en).to_owned()
    }

    pub fn source(&self, code: &str) -> String {
        crate::report::SOURCES
            .iter()
            .find(|s| s.0 == code)
            .map_or_else(|| code.to_owned(), |s| self.t(s.1, s.2).to_owned())
    }
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// Reads the language cookie and the path once per request, for every page and error page.
async fn request_context(req: Request, next: Next) -> Response {
    let lang = if cookie(req.headers(), LANG_COOKIE).as_deref() == Some("en") {
        Lang::En
    } else {
        Lang::Zh
    };
    let path = req
        .uri()
        .path_and_query()
        .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned());
    CTX.scope(RequestCtx { lang, path }, next.run(req)).await
}

#[derive(Debug, Deserialize)]
struct LangQuery {
    to: String,
    #[serde(default)]
    back: String,
}

/// Switches the dashboard's language (a preference cookie; no session needed) and goes back to
/// the page the user was on: only a path on this site, never another host.
async fn switch_lang(Query(q): Query<LangQuery>) -> Result<Response, WebError> {
    let lang = match q.to.as_str() {
        "zh" | "en" => q.to.as_str(),
        other => {
            return Err(
                RelayError::BadRequest(format!("unknown language {other:?} (zh or en)")).into(),
            );
        }
    };
    let back = if q.back.starts_with('/') && !q.back.starts_with("//") && !q.back.contains('\\') {
        q.back.as_str()
    } else {
        "/"
    };
    let mut r = Redirect::to(back).into_response();
    let c = format!("{LANG_COOKIE}={lang}; SameSite=Lax; Path=/; Max-Age=31536000");
    if let Ok(v) = HeaderValue::from_str(&c) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(r)
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    c: Chrome,
    user: String,
    error: Option<String>,
    /// The double-submit token of the sign-in form (also in the `gs_login` cookie).
    nonce: String,
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
    pub grid: String,
    pub from: String,
    pub to: String,
    pub sort: String,
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

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "ledger.html")]
struct LedgerPage {
    c: Chrome,
    f: FiltersView,
    choices: Choices,
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
    grid: String,
    from: String,
    to: String,
    sort: String,
    open: bool,
    overdue: bool,
}

/// One option of a filter's list: its value and its label in the page's language.
struct Choice {
    value: String,
    label: String,
}

/// The ledger's filter lists: the directory's villages, grids and departments, and the codes of
/// domains, states, severities, sources and orders, so a reviewer picks instead of typing codes.
struct Choices {
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
    fn new(dir: &gridsafe_core::directory::Directory, c: &Chrome) -> Choices {
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
                .map(|g| ch(&g.id, format!("{} ({})", g.name_zh, g.id)))
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
            sources: crate::report::SOURCES
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
    c: Chrome,
    h: HazardHeader,
    state: String,
    severity: String,
    deadline: String,
    overdue: bool,
    history: Vec<HistoryEntry>,
    /// Reviewers and the town office act on hazards; inspectors do on their phones.
    can_review: bool,
    photos: Vec<PhotoView>,
    owner_reports: Vec<crate::owner::OwnerReport>,
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
    c: Chrome,
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
    c: Chrome,
    devices: Vec<DeviceHealth>,
    can_revoke: bool,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    c: Chrome,
    entries: Vec<AuditRow>,
    /// Entries in the log and whether its hash chain holds (the first broken entry named if not).
    chain: Result<u64, String>,
    older: Option<i64>,
}

#[derive(Debug)]
struct AuditRow {
    seq: i64,
    at: String,
    actor: String,
    action: String,
    target: String,
    detail: String,
}

#[derive(Debug, Deserialize)]
struct AuditQuery {
    before: Option<i64>,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    c: Chrome,
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
            RelayError::Refused(_) => (
                StatusCode::CONFLICT,
                "不符合处置规则",
                "Refused by the lifecycle rules",
            ),
            RelayError::TooMany(_) => (
                StatusCode::TOO_MANY_REQUESTS,
                "操作过于频繁",
                "Too many requests",
            ),
            RelayError::BadRequest(_) => (StatusCode::BAD_REQUEST, "请求有误", "Bad request"),
            RelayError::Storage(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "服务器错误",
                "Server error",
            ),
        };
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %self.0, "dashboard request failed");
        }
        let page = ErrorPage {
            c: Chrome::anonymous(),
            status: status.as_u16(),
            title_zh: zh,
            title_en: en,
            reason: self.0.to_string(),
        };
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
    cookie(headers, COOKIE)
}

/// A form's CSRF token against the session's (every state-changing dashboard form carries it).
pub(crate) fn check_csrf(form: &str, session: &str) -> Result<(), WebError> {
    use subtle::ConstantTimeEq;
    // Constant time: how many leading characters matched must not show in the response time.
    if !bool::from(form.as_bytes().ct_eq(session.as_bytes())) {
        return Err(RelayError::Forbidden(
            "the form's security token does not match this session; reload the page".into(),
        )
        .into());
    }
    Ok(())
}

/// The signed-in user and the session's CSRF token.
async fn signed_in(s: &AppState, headers: &HeaderMap) -> Result<(User, String), WebError> {
    let token =
        session_token(headers).ok_or_else(|| RelayError::Unauthorized("please sign in".into()))?;
    Ok(s.with_store(move |st| st.web_session(&token))
        .await
        .map_err(|e| e.0)?)
}

/// The sign-in form with a fresh double-submit token: the same random value in a cookie and in
/// the form, so another site cannot sign a browser in to an account of its choosing.
fn login_form(status: StatusCode, user: String, error: Option<String>) -> Response {
    let mut raw = [0u8; 16];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut raw);
    let nonce = hex::encode(raw);
    let mut r = (
        status,
        html(LoginPage {
            c: Chrome::anonymous(),
            user,
            error,
            nonce: nonce.clone(),
        }),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{LOGIN_COOKIE}={nonce}; HttpOnly; SameSite=Strict; Path=/login; Max-Age=3600"
    )) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

async fn login_page() -> Response {
    login_form(StatusCode::OK, String::new(), None)
}

#[derive(Debug, Deserialize)]
struct LoginForm {
    user: String,
    password: String,
    #[serde(default)]
    nonce: String,
}

async fn login(
    State(s): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    let user = f.user.trim().to_owned();
    if f.nonce.is_empty() || cookie(&headers, LOGIN_COOKIE).as_deref() != Some(f.nonce.as_str()) {
        tracing::info!(user = %user, "dashboard sign-in without the form's token");
        let msg = "登录表单已过期，请重新输入 The sign-in form expired or came from another site; please sign in again".to_owned();
        return login_form(StatusCode::FORBIDDEN, user, Some(msg));
    }
    let u = user.clone();
    match s.with_store(move |st| st.web_login(&u, &f.password)).await {
        Ok((token, _, who)) => {
            tracing::info!(user = %who.id, "dashboard sign-in");
            // HttpOnly: no script reads it; SameSite=Strict: no other site's form or link sends it.
            let cookie = format!(
                "{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}",
                crate::store::SESSION_MS / 1000
            );
            let mut r = Redirect::to("/").into_response();
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
            r
        }
        Err(e) => {
            tracing::info!(user = %user, error = %e.0, "dashboard sign-in refused");
            let status = match e.0 {
                RelayError::Storage(_) => StatusCode::INTERNAL_SERVER_ERROR,
                RelayError::TooMany(_) => StatusCode::TOO_MANY_REQUESTS,
                _ => StatusCode::UNAUTHORIZED,
            };
            let reason = match e.0 {
                RelayError::Unauthorized(r) | RelayError::TooMany(r) => r,
                other => other.to_string(),
            };
            login_form(
                status,
                user,
                Some(format!("登录失败 Sign-in failed: {reason}")),
            )
        }
    }
}

#[derive(Debug, Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn logout(
    State(s): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<CsrfForm>,
) -> Result<Response, WebError> {
    let (_, csrf) = signed_in(&s, &headers).await?;
    check_csrf(&f.csrf, &csrf)?;
    if let Some(token) = session_token(&headers) {
        s.with_store(move |st| st.web_logout(&token))
            .await
            .map_err(|e| e.0)?;
    }
    let mut r = Redirect::to("/login").into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("gs_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
    );
    Ok(r)
}

async fn ledger(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(f): Query<Filters>,
) -> Result<Response, WebError> {
    let (user, csrf) = signed_in(&s, &headers).await?;
    let page = f.page.unwrap_or(1).max(1);
    let q = f.query(Some(PAGE), Some((page - 1) * PAGE));
    let u = user.clone();
    let (rows, total) = s
        .with_store(move |st| st.ledger(&u, &q))
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
        .with_store(|st| Ok(st.directory().cloned().unwrap_or_default()))
        .await
        .map_err(|e| e.0)?;
    let c = Chrome::new(&user, &csrf);
    let choices = Choices::new(&dir, &c);
    Ok(html(LedgerPage {
        c,
        f: view,
        choices,
        query: f.query_string(),
        rows,
        total,
        page,
        pages,
    }))
}

/// The ledger's columns in exports, Chinese headers (the office's spreadsheets).
const EXPORT_COLUMNS: [&str; 14] = [
    "隐患编号",
    "隐患",
    "场所",
    "村居",
    "网格",
    "领域",
    "检查项",
    "等级",
    "状态",
    "整改期限",
    "是否逾期",
    "牵头部门",
    "来源",
    "发现时间",
];

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

/// Runs `f` for the signed-in `user` on a read-only connection with the directory: reports and
/// exports neither hold the store lock nor wait for it.
pub(crate) async fn on_reader<T: Send + 'static>(
    s: &AppState,
    user: &User,
    f: impl FnOnce(&rusqlite::Connection, &gridsafe_core::directory::Directory) -> Result<T, RelayError>
    + Send
    + 'static,
) -> Result<T, WebError> {
    if user.role == Role::Admin {
        return Err(RelayError::Forbidden(
            "administrators manage users and devices; they do not see hazards".into(),
        )
        .into());
    }
    let dir = s
        .with_store(|st| {
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
async fn export<T: Send + 'static>(
    s: &AppState,
    headers: &HeaderMap,
    f: &Filters,
    write: impl FnOnce(
        &mut dyn FnMut(
            &mut dyn FnMut(HazardRow) -> gridsafe_core::Result<()>,
        ) -> Result<u64, RelayError>,
    ) -> Result<T, RelayError>
    + Send
    + 'static,
) -> Result<T, WebError> {
    let (user, _) = signed_in(s, headers).await?;
    let q = HazardQuery {
        scope_user: Some(user.id.clone()),
        ..f.query(None, None)
    };
    on_reader(s, &user, move |conn, dir| {
        let mut rows = |each: &mut dyn FnMut(HazardRow) -> gridsafe_core::Result<()>| {
            gridsafe_core::projection::for_each_hazard(conn, dir, &q, each)
                .map_err(RelayError::from)
        };
        write(&mut rows)
    })
    .await
}

async fn overview(State(s): State<AppState>, headers: HeaderMap) -> Result<Response, WebError> {
    let (user, csrf) = signed_in(&s, &headers).await?;
    let today = gridsafe_core::clock::format_date(gridsafe_core::clock::today());
    let (u, t) = (user.clone(), today.clone());
    let o = s
        .with_store(move |st| st.overview(&u, &t))
        .await
        .map_err(|e| e.0)?;
    let never = Chrome::new(&user, &csrf).t("从未同步", "never");
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
                last_sync: d
                    .last_sync_ms
                    .map_or_else(|| never.to_owned(), gridsafe_core::clock::ms_to_rfc3339),
                pending_docs: d.pending_docs.unwrap_or(0),
                pending_photos: d.pending_photos.unwrap_or(0),
                app_version: d.app_version.unwrap_or_default(),
            })
            .collect(),
    };
    let show_devices = user.role == gridsafe_core::directory::Role::TownOffice;
    Ok(html(OverviewPage {
        c: Chrome::new(&user, &csrf),
        today,
        o,
        show_devices,
        stale_days: crate::store::STALE_DAYS,
    }))
}

/// The filtered ledger as CSV; a UTF-8 BOM so spreadsheet programs on office PCs read the Chinese.
async fn ledger_csv(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(f): Query<Filters>,
) -> Result<Response, WebError> {
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
        w.into_inner()
            .map_err(|e| RelayError::Storage(e.to_string()))
    })
    .await?;
    Ok(download("text/csv; charset=utf-8", "hazards.csv", body))
}

/// The filtered ledger as XLSX (rust_xlsxwriter in constant-memory mode: rows go to a temporary
/// file as they are written, so 100,000 rows never sit in memory).
async fn ledger_xlsx(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(f): Query<Filters>,
) -> Result<Response, WebError> {
    let body = export(&s, &headers, &f, |rows| {
        use rust_xlsxwriter::{Format, Workbook};
        let x = |e: rust_xlsxwriter::XlsxError| RelayError::Storage(format!("xlsx: {e}"));
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet_with_constant_memory().map_err(x)?;
        ws.set_name("隐患台账").map_err(x)?;
        let bold = Format::new().set_bold();
        for (c, name) in EXPORT_COLUMNS.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, *name, &bold)
                .map_err(x)?;
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
    Ok(download(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "hazards.xlsx",
        body,
    ))
}

fn download(mime: &'static str, name: &str, body: Vec<u8>) -> Response {
    let disposition = format!("attachment; filename=\"{name}\"");
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

async fn hazard(
    State(s): State<AppState>,
    headers: HeaderMap,
    AxPath(id): AxPath<String>,
) -> Result<Response, WebError> {
    let (user, csrf) = signed_in(&s, &headers).await?;
    let u = user.clone();
    let user_role = user.role;
    let (h, status) = s
        .with_store(move |st| st.hazard_view(&u, &id))
        .await
        .map_err(|e| e.0)?;
    let overdue = status.is_overdue(gridsafe_core::clock::today());
    let mut wanted: Vec<(String, String, String)> = h
        .photos
        .iter()
        .map(|p| {
            (
                Chrome::new(&user, &csrf).t("整改前", "before").to_owned(),
                p.sha256.clone(),
                p.thumb_sha256.clone().unwrap_or_else(|| p.sha256.clone()),
            )
        })
        .collect();
    for e in status.history.iter().filter(|e| e.applied) {
        if let Some(p) = &e.photo {
            wanted.push((format!("{} · {}", e.kind, e.at), p.clone(), p.clone()));
        }
    }
    let hid = h.id.clone();
    let (photos, owner_reports) = s
        .with_store(move |st| {
            let photos = wanted
                .into_iter()
                .map(|(label, evidence, thumb)| {
                    Ok(PhotoView {
                        held: st.blob_complete(&evidence)?,
                        label,
                        evidence,
                        thumb,
                    })
                })
                .collect::<Result<Vec<_>, RelayError>>()?;
            Ok((photos, st.owner_reports(&hid)?))
        })
        .await
        .map_err(|e| e.0)?;
    Ok(html(HazardPage {
        c: Chrome::new(&user, &csrf),
        state: status.state.as_str().to_owned(),
        severity: status.severity.clone(),
        deadline: status.deadline.clone().unwrap_or_else(|| "—".into()),
        overdue,
        history: status.history,
        can_review: matches!(
            user_role,
            gridsafe_core::directory::Role::Reviewer | gridsafe_core::directory::Role::TownOffice
        ),
        photos,
        owner_reports,
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
const REVIEW_ACTIONS: [&str; 8] = [
    "close",
    "reject",
    "confirm_major",
    "downgrade",
    "set_deadline",
    "plan",
    "recheck",
    "escalate",
];

/// A review action: checked by core's lifecycle rules and written as the reviewer's change; a
/// refusal comes back as a page with the rule's reason, and nothing is written.
async fn hazard_action(
    State(s): State<AppState>,
    headers: HeaderMap,
    AxPath(id): AxPath<String>,
    Form(f): Form<ActionForm>,
) -> Result<Response, WebError> {
    let (user, csrf) = signed_in(&s, &headers).await?;
    check_csrf(&f.csrf, &csrf)?;
    let kind = gridsafe_core::lifecycle::EventKind::parse(&f.action)
        .filter(|_| REVIEW_ACTIONS.contains(&f.action.as_str()))
        .ok_or_else(|| RelayError::BadRequest(format!("unknown review action {:?}", f.action)))?;
    let target = format!("/hazards/{id}");
    let who = user.id.clone();
    s.with_store(move |st| {
        let detail = [f.reason.trim(), f.deadline.trim(), f.text.trim()]
            .iter()
            .filter(|t| !t.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(" · ");
        let status = st.web_action(
            &user,
            &id,
            kind,
            crate::store::ActionDetail {
                reason: Some(f.reason),
                deadline: Some(f.deadline),
                text: Some(f.text),
                photo: None,
            },
        )?;
        st.audit(&user.id, &format!("hazard.{}", kind.as_str()), &id, &detail)?;
        Ok(status)
    })
    .await
    .map_err(|e| e.0)?;
    tracing::info!(user = %who, action = %kind.as_str(), hazard = %target, "review action");
    Ok(Redirect::to(&target).into_response())
}

fn office_or_admin(user: &User) -> Result<(), WebError> {
    use gridsafe_core::directory::Role;
    if matches!(user.role, Role::TownOffice | Role::Admin) {
        Ok(())
    } else {
        Err(RelayError::Forbidden(
            "device health is the town office's and the administrator's".into(),
        )
        .into())
    }
}

/// Entries shown per audit page.
const AUDIT_PAGE: u32 = 100;

/// The audit log (town office and administrators), newest first, with the state of its chain.
async fn audit(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<AuditQuery>,
) -> Result<Response, WebError> {
    let (user, csrf) = signed_in(&s, &headers).await?;
    office_or_admin(&user)?;
    let (entries, chain) = s
        .with_store(move |st| {
            let chain = st.verify_audit().map_err(|e| e.to_string());
            Ok((st.audit_entries(AUDIT_PAGE, q.before)?, chain))
        })
        .await
        .map_err(|e| e.0)?;
    let older = (entries.len() == AUDIT_PAGE as usize)
        .then(|| entries.last().map(|e| e.seq))
        .flatten();
    let entries = entries
        .into_iter()
        .map(|e| AuditRow {
            seq: e.seq,
            at: gridsafe_core::clock::ms_to_rfc3339(e.at_ms),
            actor: e.actor,
            action: e.action,
            target: e.target,
            detail: e.detail,
        })
        .collect();
    Ok(html(AuditPage {
        c: Chrome::new(&user, &csrf),
        entries,
        chain,
        older,
    }))
}

/// Every phone: last sync, what it reported pending, app and protocol version; silent phones first.
async fn devices(State(s): State<AppState>, headers: HeaderMap) -> Result<Response, WebError> {
    let (user, csrf) = signed_in(&s, &headers).await?;
    office_or_admin(&user)?;
    let rows = s.with_store(|st| st.devices()).await.map_err(|e| e.0)?;
    let never = Chrome::new(&user, &csrf).t("从未同步", "never");
    let cutoff = gridsafe_core::clock::now_ms() - crate::store::STALE_DAYS * 86_400_000;
    let mut devices: Vec<DeviceHealth> = rows
        .into_iter()
        .filter(|d| d.name != "dashboard")
        .map(|d| DeviceHealth {
            stale: !d.revoked && d.last_sync_ms.is_none_or(|t| t < cutoff),
            last_sync: d
                .last_sync_ms
                .map_or_else(|| never.to_owned(), gridsafe_core::clock::ms_to_rfc3339),
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
    Ok(html(DevicesPage {
        c: Chrome::new(&user, &csrf),
        devices,
        can_revoke,
    }))
}

#[derive(Debug, Deserialize)]
struct RevokeForm {
    #[serde(default)]
    csrf: String,
    device: String,
}

/// Revokes a lost or replaced phone: its token stops working at once (administrators only).
async fn revoke(
    State(s): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<RevokeForm>,
) -> Result<Response, WebError> {
    let (user, csrf) = signed_in(&s, &headers).await?;
    check_csrf(&f.csrf, &csrf)?;
    if user.role != gridsafe_core::directory::Role::Admin {
        return Err(RelayError::Forbidden("only an administrator revokes devices".into()).into());
    }
    let (device, admin_id) = (f.device.clone(), user.id.clone());
    s.with_store(move |st| {
        st.revoke(&device)?;
        st.audit(&admin_id, "device.revoke", &device, "")
    })
    .await
    .map_err(|e| e.0)?;
    tracing::info!(admin = %user.id, device = %f.device, "device revoked on the dashboard");
    Ok(Redirect::to("/devices").into_response())
}

/// A photo for a signed-in user whose scope covers a record referencing it. Its bytes are hashed
/// again on every view: a file changed on disk is refused as altered evidence, never shown.
async fn photo(
    State(s): State<AppState>,
    headers: HeaderMap,
    AxPath(sha): AxPath<String>,
) -> Result<Response, WebError> {
    let (user, _) = signed_in(&s, &headers).await?;
    crate::api::check_sha(&sha).map_err(|e| e.0)?;
    let sha = s
        .with_store(move |st| {
            if !st.user_may_read_blob(&user, &sha)? {
                return Err(RelayError::Forbidden(
                    "no record in your scope references this photo".into(),
                ));
            }
            if !st.blob_complete(&sha)? {
                return Err(RelayError::NotFound(format!(
                    "photo {sha} has not been uploaded yet"
                )));
            }
            Ok(sha)
        })
        .await
        .map_err(|e| e.0)?;
    let blobs = s.blobs.clone();
    let bytes = crate::AppState::blocking(move || {
        let bytes = blobs.get(&sha)?;
        if gridsafe_core::evidence::sha256_hex(&bytes) != sha {
            return Err(RelayError::Storage(format!(
                "证据文件已损坏 evidence altered: photo {sha} no longer matches its hash"
            )));
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
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(overview))
        .route("/login", get(login_page).post(login))
        .route("/lang", get(switch_lang))
        .route("/logout", post(logout))
        .route("/hazards", get(ledger))
        .route("/hazards.csv", get(ledger_csv))
        .route("/hazards.xlsx", get(ledger_xlsx))
        .route("/hazards/{id}", get(hazard))
        .route("/hazards/{id}/action", post(hazard_action))
        .route("/photos/{sha}", get(photo))
        .route("/devices", get(devices))
        .route("/audit", get(audit))
        .route("/devices/revoke", post(revoke))
        .route("/reports/monthly", get(report::monthly_page))
        .route("/reports/monthly.xlsx", get(report::monthly_xlsx))
        .route("/admin/users", get(admin::users).post(admin::save_user))
        .route("/admin/password", post(admin::reset_password))
        .route("/admin/cutoff", post(admin::set_cutoff))
        .route("/venues/{id}/notice", get(owner::notice))
        .route("/venues/{id}/owner-links/revoke", post(owner::revoke_links))
        .route("/hazards/{id}/owner-reports/{report}", post(owner::decide))
        .route("/intake", get(intake::page))
        .route("/intake/tickets", post(intake::add))
        .route(
            "/intake/import",
            post(intake::import).layer(axum::extract::DefaultBodyLimit::max(8 * 1024 * 1024)),
        )
        .route("/self-reports", get(owner::findings))
        .route("/self-reports/{id}", post(owner::decide_finding))
        .route("/o/{token}/self-check", post(owner::self_check))
        .route("/o/{token}", get(owner::page))
        .route(
            "/o/{token}/report",
            post(owner::report).layer(axum::extract::DefaultBodyLimit::max(
                crate::owner::MAX_PHOTO_BYTES + 64 * 1024,
            )),
        )
        .layer(axum::middleware::from_fn(request_context))
        .layer(axum::middleware::from_fn(secure_headers))
}
