//! The frame of every page (who is signed in, the language, the navigation, labels in the page's
//! language) and error pages.

use super::*;
use crate::error::RelayError;
use askama::Template;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use gridsafe_core::directory::{Role, User};
use gridsafe_core::policy::{self, Capability};

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
    pub(crate) fn new(user: &User, csrf: &str) -> Chrome {
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

    pub(crate) fn anonymous() -> Chrome {
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
        self.may(Capability::SeeHazards)
    }

    pub fn sees_devices(&self) -> bool {
        self.may(Capability::SeeDeviceHealth)
    }

    fn may(&self, cap: Capability) -> bool {
        self.role.is_some_and(|r| policy::role_may(r, cap))
    }

    /// Lead departments accept verified on-the-spot fixes in a batch.
    pub fn accepts_batches(&self) -> bool {
        self.role == Some(gridsafe_core::directory::Role::Reviewer)
    }

    pub fn reviews_findings(&self) -> bool {
        self.may(Capability::ReviewOwnerFindings)
    }

    pub fn enters_reports(&self) -> bool {
        self.may(Capability::EnterPublicReports)
    }

    pub fn manages_users(&self) -> bool {
        self.may(Capability::ManageUsers)
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

#[derive(Template)]
#[template(path = "error.html")]
pub(crate) struct ErrorPage {
    c: Chrome,
    status: u16,
    title_zh: &'static str,
    title_en: &'static str,
    reason: String,
}

/// A dashboard error: an HTML page with the reason, or the sign-in page for a missing session.
#[derive(Debug)]
pub struct WebError(pub(crate) RelayError);

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
            RelayError::TooLarge(_) => {
                (StatusCode::PAYLOAD_TOO_LARGE, "文件或内容过大", "Too large")
            }
            RelayError::Storage(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "服务器错误",
                "Server error",
            ),
            RelayError::Integrity(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "证据校验失败",
                "Evidence check failed",
            ),
        };
        let reason = if matches!(self.0, RelayError::Storage(_)) {
            // The details (SQL, paths, hosts) are for the relay's log, not for the page.
            tracing::error!(error = %self.0, "dashboard request failed");
            "服务器出错，已记录，请稍后重试 A server error was logged; please try again later"
                .to_owned()
        } else {
            self.0.to_string()
        };
        let page = ErrorPage {
            c: Chrome::anonymous(),
            status: status.as_u16(),
            title_zh: zh,
            title_en: en,
            reason,
        };
        (status, html(page)).into_response()
    }
}
