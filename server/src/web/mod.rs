//! The office dashboard (first part): sign-in with sessions and lockout, the hazard ledger with
//! filters, pages and CSV export, and a hazard's detail with its lifecycle. Server-rendered
//! (askama, HTML-escaped), Chinese first with the English under it. Everything shown comes from
//! the projections and core's fold, in the signed-in user's scope.

mod devices;

use devices::{audit, devices, revoke};

mod overview;

use overview::overview;

mod hazard;

use hazard::{hazard, hazard_action, photo};

mod ledger;
mod ledger_export;

use ledger::ledger;
pub use ledger::{Filters, PAGE};
use ledger_export::{download, ledger_csv, ledger_xlsx, on_reader};

mod session;

use session::{SignedIn, login, login_page, logout, switch_lang};

mod chrome;

pub use chrome::{Chrome, WebError};

use askama::Template;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Router, extract::Request};

use crate::AppState;
use crate::error::RelayError;

mod admin;
mod batch;
mod bulk;
mod chart;
mod intake;
mod notices;
mod owner;
mod report;
mod report_sheets;
mod report_xlsx;
mod search;
mod todo;
mod venue;

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
    /// The directory as of this request: names for the codes on the page.
    dir: std::sync::Arc<gridsafe_core::directory::Directory>,
    /// Who is signed in and the session's CSRF token, read once per request: every page and
    /// error page shows the menu and sign-out for them.
    signed: Option<(gridsafe_core::directory::User, String)>,
    /// A session cookie came that is no longer valid (expired, signed out elsewhere).
    expired: bool,
    /// What waits for a reviewer (the menu's 待办 count).
    todo: Option<i64>,
}

tokio::task_local! {
    static CTX: RequestCtx;
}

fn ctx() -> RequestCtx {
    CTX.try_with(Clone::clone).unwrap_or(RequestCtx {
        lang: Lang::Zh,
        path: "/".into(),
        dir: Default::default(),
        signed: None,
        expired: false,
        todo: None,
    })
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
async fn request_context(
    axum::extract::State(s): axum::extract::State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let lang = if cookie(req.headers(), LANG_COOKIE).as_deref() == Some("en") {
        Lang::En
    } else {
        Lang::Zh
    };
    let path = req
        .uri()
        .path_and_query()
        .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned());
    let token = session::session_token(req.headers());
    let had_session = token.is_some();
    let (dir, signed) = s
        .with_reader(move |st| {
            let signed = match token {
                Some(t) => st.web_session(&t).ok(),
                None => None,
            };
            Ok((st.directory().cloned().unwrap_or_default(), signed))
        })
        .await
        .map(|(d, u)| (std::sync::Arc::new(d), u))
        .unwrap_or_default();
    let expired = had_session && signed.is_none();
    let mut cx = RequestCtx {
        lang,
        path,
        dir,
        signed,
        expired,
        todo: None,
    };
    if let Some((u, _)) = &cx.signed {
        let u = u.clone();
        cx.todo = CTX.scope(cx.clone(), todo::count(&s, &u)).await;
    }
    // A form sent after the session ended: the sign-in page, with what was typed kept on it.
    if cx.signed.is_none() && req.method() == axum::http::Method::POST && session::keeps_form(&req)
    {
        return CTX.scope(cx, session::expired_form(req)).await;
    }
    CTX.scope(cx, next.run(req)).await
}

/// A path nobody serves: a page that says so, with the menu.
async fn not_found() -> Response {
    WebError(RelayError::NotFound(String::new())).into_response()
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

fn html(t: impl Template) -> Response {
    match t.render() {
        Ok(body) => ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("template: {e}")).into_response(),
    }
}

/// A posted form's name–value pairs in order (a name may repeat: ticked rows, picked grids).
pub(crate) fn form_pairs(body: &[u8]) -> Result<Vec<(String, String)>, RelayError> {
    serde_urlencoded::from_bytes(body).map_err(|_| {
        RelayError::BadRequest(
            "表单内容有误，请刷新页面后重试 / the form could not be read; reload the page".into(),
        )
    })
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

/// Headers on every dashboard answer: no framing, no sniffing, only our own resources (no script
/// at all yet), and the referrer to this relay alone — never another site (a hazard's or an
/// owner's address stays here), but a form sent after the session ended still names the page it
/// came from, so sign-in leads back to it (with `no-referrer` it never could in a browser).
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
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

pub fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/", get(overview::home))
        .route("/login", get(login_page).post(login))
        .route("/lang", get(switch_lang))
        .route("/logout", post(logout))
        .route("/todo", get(todo::page))
        .route("/search", get(search::page))
        .route("/overview", get(overview))
        .route("/hazards", get(ledger))
        .route("/hazards.csv", get(ledger_csv))
        .route("/hazards.xlsx", get(ledger_xlsx))
        .route("/hazards/bulk", post(bulk::apply))
        .route("/hazards/{id}", get(hazard))
        .route("/hazards/{id}/action", post(hazard_action))
        .route("/hazards/{id}/recheck", post(hazard::recheck))
        .route("/batch", get(batch::page).post(batch::accept))
        .route("/photos/{sha}", get(photo))
        .route("/devices", get(devices))
        .route("/audit", get(audit))
        .route("/devices/revoke", post(revoke))
        .route("/reports/monthly", get(report::monthly_page))
        .route("/reports/monthly.xlsx", get(report::monthly_xlsx))
        .route("/reports/issue", post(report::issue))
        .route("/admin/users", get(admin::users).post(admin::save_user))
        .route("/admin/password", post(admin::reset_password))
        .route("/admin/users/disable", post(admin::disable_user))
        .route("/admin/users/enable", post(admin::enable_user))
        .route("/admin/cutoff", post(admin::set_cutoff))
        .route("/admin/issuer", post(notices::set_issuer))
        .route("/notices", get(notices::register))
        .route("/admin/combined-alert", post(admin::set_combined_alert))
        .route("/venues/{id}/notice", get(owner::notice))
        .route("/venues/{id}", get(venue::venue))
        .route("/venues/{id}/resolve", post(venue::resolve))
        .route("/venues/{id}/move", post(venue::move_venue))
        .route("/venues/{id}/details", post(venue::edit_details))
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
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            request_context,
        ))
        .layer(axum::middleware::from_fn(secure_headers))
}
