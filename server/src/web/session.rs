//! Signing in and out (with a double-submit token on the sign-in form), the session every page
//! reads, and the language switch.

use super::*;
use crate::AppState;
use crate::error::RelayError;
use askama::Template;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use gridsafe_core::directory::User;
use serde::Deserialize;

pub(crate) fn session_token(headers: &HeaderMap) -> Option<String> {
    cookie(headers, COOKIE)
}

/// The signed-in user of a dashboard request and the session's CSRF token, read once from the
/// session cookie. A handler that takes it runs only for a signed-in user; anyone else is sent
/// to the sign-in page. What a role may do is asked of `gridsafe_core::policy`.
#[derive(Debug)]
pub(crate) struct SignedIn {
    pub(crate) user: User,
    pub(crate) csrf: String,
}

impl axum::extract::FromRequestParts<AppState> for SignedIn {
    type Rejection = WebError;

    async fn from_request_parts(
        _parts: &mut axum::http::request::Parts,
        _s: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // `request_context` read the session once for the whole request.
        let cx = ctx();
        let (user, csrf) = cx.signed.ok_or_else(|| {
            RelayError::Unauthorized(if cx.expired {
                "the session has expired; please sign in again".into()
            } else {
                "please sign in".into()
            })
        })?;
        Ok(SignedIn { user, csrf })
    }
}

#[derive(Template)]
#[template(path = "login.html")]
pub(crate) struct LoginPage {
    c: Chrome,
    user: String,
    error: Option<String>,
    /// The double-submit token of the sign-in form (also in the `gs_login` cookie).
    nonce: String,
    /// Where to go after signing in (a path of this site).
    next: String,
    /// What a form sent after the session ended held: (field, text), to copy back.
    kept: Vec<(String, String)>,
}

impl LoginPage {
    /// A kept field's name in words.
    fn field(&self, name: &str) -> &'static str {
        let (zh, en) = match name {
            "reason" => ("理由或文号", "Reason or document number"),
            "deadline" => ("期限", "Deadline"),
            "text" | "note" => ("说明", "Note"),
            "number" => ("文号", "Document number"),
            "name" => ("名称", "Name"),
            "address" => ("地址", "Address"),
            "responsible_name" => ("负责人", "Responsible person"),
            "responsible_phone" => ("联系电话", "Telephone"),
            "description" => ("情况描述", "Description"),
            "action" => ("操作", "Action"),
            k if k.starts_with("plan_") => ("治理方案", "Treatment plan"),
            _ => ("内容", "Text"),
        };
        self.c.t(zh, en)
    }
}

/// The sign-in form with a fresh double-submit token: the same random value in a cookie and in
/// the form, so another site cannot sign a browser in to an account of its choosing.
pub(crate) fn login_form(status: StatusCode, user: String, error: Option<String>) -> Response {
    login_form_with(status, user, error, String::new(), vec![])
}

fn login_form_with(
    status: StatusCode,
    user: String,
    error: Option<String>,
    next: String,
    kept: Vec<(String, String)>,
) -> Response {
    let mut raw = [0u8; 16];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut raw);
    let nonce = hex::encode(raw);
    let next = match safe_back(&next).as_str() {
        "/" => String::new(),
        n => n.to_owned(),
    };
    let mut r = (
        status,
        html(LoginPage {
            c: Chrome::anonymous(),
            user,
            error,
            nonce: nonce.clone(),
            next,
            kept,
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

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct LoginQuery {
    next: String,
    expired: String,
}

/// The sign-in page; `next` is the page that asked for it, `expired` says the session ended.
pub(crate) async fn login_page(
    q: Result<Query<LoginQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let c = Chrome::anonymous();
    let error = (!q.expired.is_empty()).then(|| {
        c.t(
            "登录已过期，请重新登录，登录后回到原页面。",
            "Your session has expired. Sign in again to go back to the page.",
        )
        .to_owned()
    });
    login_form_with(StatusCode::OK, String::new(), error, q.next, vec![])
}

/// Whether a POST without a valid session is a form whose text the sign-in page should keep
/// (the office's own forms; not signing in or out, not the owner's page).
pub(crate) fn keeps_form(req: &axum::extract::Request) -> bool {
    let path = req.uri().path();
    let form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    form && !matches!(path, "/login" | "/logout") && !path.starts_with("/o/")
}

/// The largest form whose text the sign-in page gives back.
const KEPT_FORM_BYTES: usize = 64 * 1024;

/// A form sent after the session ended: the sign-in page says so and shows what was typed, so
/// nothing is lost; signing in goes back to the page the form was on.
pub(crate) async fn expired_form(req: axum::extract::Request) -> Response {
    let back = req
        .headers()
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| r.find("://").map(|i| &r[i + 3..]))
        .and_then(|r| r.find('/').map(|i| r[i..].to_owned()))
        .unwrap_or_default();
    let body = axum::body::to_bytes(req.into_body(), KEPT_FORM_BYTES)
        .await
        .unwrap_or_default();
    let kept: Vec<(String, String)> = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body)
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, v)| {
            // What a person typed; not tokens, passwords or the codes of a choice.
            !matches!(
                k.as_str(),
                "csrf" | "form" | "password" | "nonce" | "action" | "level" | "decision"
            ) && !v.trim().is_empty()
        })
        .collect();
    let c = Chrome::anonymous();
    let msg = c.t(
        "登录已过期，刚才的提交未执行。请重新登录后再提交；您填写的内容保留在下方，可复制。",
        "Your session expired and the form was not sent. Sign in and send it again; what you typed is below to copy.",
    );
    login_form_with(
        StatusCode::UNAUTHORIZED,
        String::new(),
        Some(msg.to_owned()),
        back,
        kept,
    )
}

#[derive(Debug, Deserialize)]
pub(crate) struct LoginForm {
    user: String,
    password: String,
    #[serde(default)]
    nonce: String,
    /// The page that asked for the sign-in.
    #[serde(default)]
    next: String,
}

pub(crate) async fn login(
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
            let mut r = Redirect::to(&safe_back(&f.next)).into_response();
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
pub(crate) struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub(crate) async fn logout(
    State(s): State<AppState>,
    headers: HeaderMap,
    SignedIn { user: _, csrf }: SignedIn,
    Form(f): Form<CsrfForm>,
) -> Result<Response, WebError> {
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

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct LangQuery {
    to: String,
    back: String,
}

/// Where `/lang` may send the browser back to: a path on this site only. Anything that a
/// browser could read as another host (`//host`, `/\host`, a tab or newline it strips first),
/// any control or space character, or an overlong value gives the start page instead.
pub(crate) fn safe_back(back: &str) -> String {
    let ok = back.starts_with('/')
        && back.len() <= 2048
        && !back.starts_with("//")
        && !back
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '\\');
    if !ok {
        return "/".into();
    }
    // A Location header is ASCII: a path with Chinese in it goes percent-encoded.
    back.bytes()
        .map(|b| {
            if b.is_ascii() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Switches the dashboard's language (a preference cookie; no session needed) and goes back to
/// the page the user was on. Never fails: an unknown language means Chinese, a back address
/// that is not a path of this site means the start page.
pub(crate) async fn switch_lang(
    q: Result<Query<LangQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let lang = if q.to == "en" { "en" } else { "zh" };
    let mut r = Redirect::to(&safe_back(&q.back)).into_response();
    let c = format!("{LANG_COOKIE}={lang}; SameSite=Lax; Path=/; Max-Age=31536000");
    if let Ok(v) = HeaderValue::from_str(&c) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}
