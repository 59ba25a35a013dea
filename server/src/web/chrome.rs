//! The frame of every page (who is signed in, the language, the navigation, labels in the page's
//! language) and error pages.

use super::*;
use crate::error::RelayError;
use askama::Template;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use gridsafe_core::directory::{Role, User};
use gridsafe_core::labels::Labels;
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
    dir: std::sync::Arc<gridsafe_core::directory::Directory>,
    /// What waits for this reviewer (the menu's 待办 count).
    pub todo: Option<i64>,
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
            dir: c.dir,
            todo: c.todo,
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
            dir: c.dir,
            todo: None,
        }
    }

    /// The frame for whoever this request is from: signed in (menu, sign-out) or not.
    pub(crate) fn current() -> Chrome {
        match ctx().signed {
            Some((user, csrf)) => Chrome::new(&user, &csrf),
            None => Chrome::anonymous(),
        }
    }

    /// The text in the page's language.
    /// The text in the page's language (English falls back to Chinese where a record has none).
    pub fn t<'a>(&self, zh: &'a str, en: &'a str) -> &'a str {
        match self.lang {
            Lang::Zh => zh,
            Lang::En if en.trim().is_empty() => zh,
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

    /// Review actions on hazards (审核销号, deadlines): the ledger offers them in bulk.
    pub fn reviews(&self) -> bool {
        self.may(Capability::Review)
    }

    pub fn reviews_findings(&self) -> bool {
        self.may(Capability::ReviewOwnerFindings)
    }

    pub fn enters_reports(&self) -> bool {
        self.may(Capability::EnterPublicReports)
    }

    pub fn issues_reports(&self) -> bool {
        self.may(Capability::IssueReports)
    }

    pub fn manages_users(&self) -> bool {
        self.may(Capability::ManageUsers)
    }

    /// Words for codes in the page's language, with the directory's names.
    pub fn labels(&self) -> Labels<'_> {
        let lang = match self.lang {
            Lang::Zh => gridsafe_core::labels::Lang::Zh,
            Lang::En => gridsafe_core::labels::Lang::En,
        };
        Labels::new(Some(&self.dir), lang)
    }

    pub fn state(&self, code: &str) -> String {
        self.labels().state(code)
    }

    pub fn event(&self, code: &str) -> String {
        self.labels().event(code)
    }

    pub fn severity(&self, code: &str) -> String {
        self.labels().severity(code)
    }

    pub fn domain(&self, code: &str) -> String {
        self.labels().domain(code)
    }

    pub fn source(&self, code: &str) -> String {
        self.labels().source(code)
    }

    pub fn fix_mode(&self, code: &str) -> String {
        self.labels().fix_mode(code)
    }

    pub fn village(&self, code: &str) -> String {
        self.labels().village(code)
    }

    pub fn grid(&self, id: &str) -> String {
        self.labels().grid(id)
    }

    /// Departments from a list as stored (`"cyzx,pcs"` or `",cyzx,pcs,"`).
    pub fn depts(&self, list: &str) -> String {
        self.labels().depts(&gridsafe_core::store::split_list(list))
    }

    pub fn dept(&self, code: &str) -> String {
        self.labels().dept(code)
    }

    pub fn user(&self, id: &str) -> String {
        self.labels().user(id)
    }

    /// A stored time (RFC 3339) as `2026-12-03 15:52`.
    pub fn time(&self, rfc3339: &str) -> String {
        self.labels().time(rfc3339)
    }

    pub fn role_label(&self, role: &Role) -> String {
        self.labels().role(*role)
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
            RelayError::Unauthorized(_) => {
                // Back to the page asked for once signed in (a page, not a form's action).
                let cx = ctx();
                let mut to = format!("/login?next={}", urlencode(&cx.path));
                if cx.expired {
                    to.push_str("&expired=1");
                }
                return Redirect::to(&to).into_response();
            }
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
        let c = Chrome::current();
        let reason = match &self.0 {
            // The details (SQL, paths, hosts) are for the relay's log, not for the page.
            RelayError::Integrity(why) => {
                tracing::error!(error = %why, "evidence check failed");
                c.t(
                    "证据文件已损坏：照片与登记时的哈希不符。已记录，请联系系统管理员。",
                    "Evidence altered: the photo no longer matches its hash. This was logged; tell the administrator.",
                )
                .to_owned()
            }
            RelayError::Storage(_) => {
                tracing::error!(error = %self.0, "dashboard request failed");
                c.t(
                    "服务器出错，已记录。请稍后重试；如仍出错，请联系系统管理员。",
                    "A server error was logged. Try again later; if it persists, tell the administrator.",
                )
                .to_owned()
            }
            // Who may see what is the policy's; the page says what to do, not which id failed.
            // Refusals written for people (bilingual, Chinese first) are shown as they are.
            RelayError::Forbidden(why) if why.chars().next().is_some_and(|ch| ch > '\u{2e80}') => {
                why.clone()
            }
            RelayError::Forbidden(why) => {
                tracing::info!(reason = %why, "dashboard request forbidden");
                c.t(
                    "这项内容不在您的职责范围内。如需查看，请联系镇安委办。",
                    "This is outside your responsibilities. Ask the town safety office if you need it.",
                )
                .to_owned()
            }
            RelayError::NotFound(what) if what.is_empty() => c
                .t(
                    "没有这个页面：链接可能有误。请从上方菜单进入。",
                    "There is no such page: the link may be wrong. Use the menu above.",
                )
                .to_owned(),
            RelayError::NotFound(_) => c
                .t(
                    "没有找到这条记录：链接可能有误，或场所已移交其他网格。请从列表重新打开。",
                    "No such record: the link may be wrong or the venue moved to another grid. Open it again from the list.",
                )
                .to_owned(),
            // Messages written "中文 / English" are shown in the page's language.
            other => {
                let m = other.message();
                m.split_once(" / ")
                    .map_or(m, |(zh, en)| c.t(zh, en))
                    .to_owned()
            }
        };
        let page = ErrorPage {
            c,
            status: status.as_u16(),
            title_zh: zh,
            title_en: en,
            reason,
        };
        (status, html(page)).into_response()
    }
}
