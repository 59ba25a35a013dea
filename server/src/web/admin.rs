//! The administrator's pages: users (create, change role and scope, reset passwords) and the
//! monthly report's cut-off day. Devices are revoked on the device page. Every form carries the
//! session's CSRF token; every change is logged with the administrator's id.

use askama::Template;
use axum::extract::{Form, State};
use axum::response::{IntoResponse, Redirect, Response};
use gridsafe_core::directory::{Role, User};
use gridsafe_core::policy::{self, Capability};
use serde::Deserialize;

use super::{Chrome, SignedIn, WebError, check_csrf, html};
use crate::AppState;
use crate::error::RelayError;

struct UserRow {
    id: String,
    name: String,
    role_label: String,
    department: String,
    grids: String,
    /// When it was disabled (none: enabled).
    disabled: Option<String>,
    /// The last dashboard sign-in, as people write it ("—" if never).
    last_sign_in: String,
}

struct Opt {
    value: String,
    label: String,
}

#[derive(Template)]
#[template(path = "admin.html")]
struct AdminPage {
    c: Chrome,
    users: Vec<UserRow>,
    roles: Vec<Opt>,
    depts: Vec<Opt>,
    grids: Vec<Opt>,
    cutoff_day: u8,
    stock_year: i32,
    /// Open combined elements at one venue from which its department is alerted.
    combined_alert_at: u32,
    /// The issuing body of notices and reports (empty until set).
    issuer: gridsafe_core::issuer::Issuer,
    version: u64,
    notice: Option<String>,
}

const ROLES: [(Role, &str, &str, &str); 4] = [
    (Role::Inspector, "inspector", "网格员", "Inspector"),
    (Role::Reviewer, "reviewer", "牵头部门审核员", "Reviewer"),
    (Role::TownOffice, "town_office", "镇安委办", "Town office"),
    (Role::Admin, "admin", "管理员", "Administrator"),
];

/// The signed-in administrator and the session's CSRF token; the form's token checked when given.
fn admin(signed: SignedIn, form_csrf: Option<&str>) -> Result<(User, String), WebError> {
    let SignedIn { user, csrf } = signed;
    policy::check(&user, Capability::ManageUsers).map_err(RelayError::Forbidden)?;
    if let Some(f) = form_csrf {
        check_csrf(f, &csrf)?;
    }
    Ok((user, csrf))
}

async fn page(
    s: &AppState,
    user: &User,
    csrf: &str,
    notice: Option<String>,
) -> Result<Response, WebError> {
    let (dir, (cutoff_day, stock_year), combined_alert_at, issuer, (disabled, last)) = s
        .with_reader(|st| {
            Ok((
                st.directory().cloned().unwrap_or_default(),
                (st.report_cutoff_day()?, st.report_stock_year()?),
                st.combined_alert_at()?,
                st.issuer()?.unwrap_or_default(),
                st.account_states()?,
            ))
        })
        .await
        .map_err(|e| e.0)?;
    let c = Chrome::new(user, csrf);
    let when = |ms: i64| gridsafe_core::clock::ms_to_minute(ms);
    let users = dir
        .users
        .iter()
        .map(|u| {
            let r = ROLES.iter().find(|r| r.0 == u.role).unwrap_or(&ROLES[0]);
            UserRow {
                id: u.id.clone(),
                name: u.name.clone(),
                role_label: c.t(r.2, r.3).to_owned(),
                department: u
                    .department
                    .as_deref()
                    .map_or_else(String::new, |d| c.dept(d)),
                grids: u
                    .grids
                    .iter()
                    .map(|g| c.grid(g))
                    .collect::<Vec<_>>()
                    .join("、"),
                disabled: disabled.get(&u.id).map(|ms| when(*ms)),
                last_sign_in: last.get(&u.id).map_or_else(|| "—".into(), |ms| when(*ms)),
            }
        })
        .collect();
    let roles = ROLES
        .iter()
        .map(|r| Opt {
            value: r.1.to_owned(),
            label: c.t(r.2, r.3).to_owned(),
        })
        .collect();
    let depts = dir
        .departments
        .iter()
        .map(|d| Opt {
            value: d.code.clone(),
            label: c.dept(&d.code),
        })
        .collect();
    let grids = dir
        .grids
        .iter()
        .map(|g| Opt {
            value: g.id.clone(),
            label: format!("{} · {}", c.village(&g.village), g.name_zh),
        })
        .collect();
    Ok(html(AdminPage {
        c,
        users,
        roles,
        depts,
        grids,
        cutoff_day,
        stock_year,
        combined_alert_at,
        issuer,
        version: dir.version,
        notice,
    }))
}

pub async fn users(State(s): State<AppState>, signed: SignedIn) -> Result<Response, WebError> {
    let (user, csrf) = admin(signed, None)?;
    page(&s, &user, &csrf, None).await
}

/// The user form: `grids` comes once per grid picked from the list (a value may also hold
/// several ids separated by commas or spaces, as scripts send them).
#[derive(Debug, Default)]
pub struct UserForm {
    csrf: String,
    id: String,
    name: String,
    role: String,
    department: String,
    grids: Vec<String>,
    /// Set only when creating a user (at least 8 characters).
    password: String,
}

impl UserForm {
    fn parse(body: &[u8]) -> Result<UserForm, RelayError> {
        let pairs = super::form_pairs(body)?;
        let mut f = UserForm::default();
        for (k, v) in pairs {
            match k.as_str() {
                "csrf" => f.csrf = v,
                "id" => f.id = v,
                "name" => f.name = v,
                "role" => f.role = v,
                "department" => f.department = v,
                "password" => f.password = v,
                "grids" => f.grids.extend(
                    v.split(|c: char| c == ',' || c == '，' || c.is_whitespace())
                        .filter(|g| !g.is_empty())
                        .map(str::to_owned),
                ),
                _ => {}
            }
        }
        f.grids.dedup();
        Ok(f)
    }
}

/// Creates a user or changes one's role and scope; the new directory version reaches the phones
/// on their next sync.
pub async fn save_user(
    State(s): State<AppState>,
    signed: SignedIn,
    axum::extract::RawForm(body): axum::extract::RawForm,
) -> Result<Response, WebError> {
    let f = UserForm::parse(&body)?;
    let (me, csrf) = admin(signed, Some(&f.csrf))?;
    let role = ROLES
        .iter()
        .find(|r| r.1 == f.role)
        .map(|r| r.0)
        .ok_or_else(|| {
            RelayError::BadRequest("请从列表中选择角色 / choose a role from the list".into())
        })?;
    let department = Some(f.department.trim().to_owned()).filter(|d| !d.is_empty());
    let grids = f.grids.clone();
    let user = User {
        id: f.id.trim().to_owned(),
        name: f.name.trim().to_owned(),
        role,
        department,
        grids,
    };
    let (id, password, me_id) = (user.id.clone(), f.password.clone(), me.id.clone());
    let version = s
        .with_store(move |st| {
            let is_new = st.directory().is_none_or(|d| d.user(&user.id).is_none());
            if is_new && password.chars().count() < 8 {
                return Err(RelayError::BadRequest(format!(
                    "新用户 {0} 须设置至少 8 位密码 / user {0}: a new user needs a password of at least 8 characters",
                    user.id
                )));
            }
            let detail = format!(
                "role={:?} department={:?} grids={:?} new={is_new}",
                user.role, user.department, user.grids
            );
            let dir = st.upsert_user(user)?;
            st.audit(&me_id, "user.save", &id, &detail)?;
            if !password.is_empty() {
                st.reset_password(&id, &password)?;
                st.audit(&me_id, "user.password_reset", &id, "")?;
            }
            Ok(dir.version)
        })
        .await
        .map_err(|e| e.0)?;
    tracing::info!(admin = %me.id, user = %f.id.trim(), role = %f.role, version, "user saved on the dashboard");
    let c = Chrome::new(&me, &csrf);
    let notice = format!(
        "{} {} · {} {version}",
        c.t("已保存用户", "Saved user"),
        f.id.trim(),
        c.t("目录版本", "directory version")
    );
    page(&s, &me, &csrf, Some(notice)).await
}

#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: String,
    user: String,
    password: String,
}

/// Resets a user's password: their dashboard sessions end and a lockout is lifted.
pub async fn reset_password(
    State(s): State<AppState>,
    signed: SignedIn,
    Form(f): Form<PasswordForm>,
) -> Result<Response, WebError> {
    let (me, csrf) = admin(signed, Some(&f.csrf))?;
    let (user, password, me_id) = (f.user.clone(), f.password, me.id.clone());
    s.with_store(move |st| {
        st.reset_password(&user, &password)?;
        st.audit(&me_id, "user.password_reset", &user, "")
    })
    .await
    .map_err(|e| e.0)?;
    tracing::info!(admin = %me.id, user = %f.user, "password reset on the dashboard");
    let c = Chrome::new(&me, &csrf);
    let notice = format!("{} {}", c.t("已重置密码", "Password reset for"), f.user);
    page(&s, &me, &csrf, Some(notice)).await
}

#[derive(Debug, Deserialize)]
pub struct CutoffForm {
    #[serde(default)]
    csrf: String,
    day: String,
    /// The last year whose majors count as stock; unchanged when left out.
    #[serde(default)]
    stock_year: String,
}

/// Sets the monthly report's cut-off day (1–28) and the major-hazard stock year.
pub async fn set_cutoff(
    State(s): State<AppState>,
    signed: SignedIn,
    Form(f): Form<CutoffForm>,
) -> Result<Response, WebError> {
    let (me, _) = admin(signed, Some(&f.csrf))?;
    let day: u8 =
        f.day.trim().parse().map_err(|_| {
            RelayError::BadRequest(format!("cut-off day {:?} is not a number", f.day))
        })?;
    let stock_year: Option<i32> = match f.stock_year.trim() {
        "" => None,
        y => Some(y.parse().map_err(|_| {
            RelayError::BadRequest(format!(
                "存量年度须为年份，如 2024 / the stock year {y:?} is not a year such as 2024"
            ))
        })?),
    };
    let me_id = me.id.clone();
    s.with_store(move |st| {
        st.set_report_cutoff_day(day)?;
        st.audit(&me_id, "report.cutoff", "monthly report", &day.to_string())?;
        if let Some(y) = stock_year {
            st.set_report_stock_year(y)?;
            st.audit(&me_id, "report.stock_year", "reports", &y.to_string())?;
        }
        Ok(())
    })
    .await
    .map_err(|e| e.0)?;
    tracing::info!(admin = %me.id, day, "report cut-off day set");
    Ok(Redirect::to("/admin/users").into_response())
}

#[derive(Debug, Deserialize)]
pub struct CombinedAlertForm {
    #[serde(default)]
    csrf: String,
    count: String,
}

/// Sets from how many open combined elements a venue's department is alerted (2–20).
pub async fn set_combined_alert(
    State(s): State<AppState>,
    signed: SignedIn,
    Form(f): Form<CombinedAlertForm>,
) -> Result<Response, WebError> {
    let (me, _) = admin(signed, Some(&f.csrf))?;
    let n: u32 = f.count.trim().parse().map_err(|_| {
        RelayError::BadRequest(format!(
            "提醒阈值须为数字 / the alert threshold {:?} is not a number",
            f.count
        ))
    })?;
    let me_id = me.id.clone();
    s.with_store(move |st| {
        st.set_combined_alert_at(n)?;
        st.audit(
            &me_id,
            "combined.alert_at",
            "combined elements",
            &n.to_string(),
        )
    })
    .await
    .map_err(|e| e.0)?;
    Ok(Redirect::to("/admin/users").into_response())
}

#[derive(Debug, Deserialize)]
pub struct AccountForm {
    #[serde(default)]
    csrf: String,
    user: String,
    /// The box that confirms a disabling (it revokes the user's phones).
    #[serde(default)]
    confirm: String,
}

/// Disables a user: their phones are revoked and their sessions end (confirmed on the form).
pub async fn disable_user(
    State(s): State<AppState>,
    signed: SignedIn,
    Form(f): Form<AccountForm>,
) -> Result<Response, WebError> {
    let (me, csrf) = admin(signed, Some(&f.csrf))?;
    let c = Chrome::new(&me, &csrf);
    if f.confirm.is_empty() {
        let msg = c.t(
            "请勾选“确认停用”后再提交：停用会同时吊销其所有手机。",
            "Tick the confirmation first: disabling also revokes all their phones.",
        );
        return page(&s, &me, &csrf, Some(msg.to_owned())).await;
    }
    let (m, id) = (me.clone(), f.user.clone());
    let revoked = s
        .with_store(move |st| st.disable_user(&m, &id))
        .await
        .map_err(|e| e.0)?;
    tracing::info!(admin = %me.id, user = %f.user, revoked, "user disabled");
    let msg = format!(
        "{} {} · {} {revoked}",
        c.t("已停用", "Disabled"),
        c.user(&f.user),
        c.t("吊销手机", "phones revoked:")
    );
    page(&s, &me, &csrf, Some(msg)).await
}

/// Enables a disabled user again (they enrol their phone again).
pub async fn enable_user(
    State(s): State<AppState>,
    signed: SignedIn,
    Form(f): Form<AccountForm>,
) -> Result<Response, WebError> {
    let (me, csrf) = admin(signed, Some(&f.csrf))?;
    let (m, id) = (me.clone(), f.user.clone());
    s.with_store(move |st| st.enable_user(&m, &id))
        .await
        .map_err(|e| e.0)?;
    let c = Chrome::new(&me, &csrf);
    let msg = format!(
        "{} {}{}",
        c.t("已启用", "Enabled"),
        c.user(&f.user),
        c.t("（需重新登记手机）", " (they enrol their phone again)")
    );
    page(&s, &me, &csrf, Some(msg)).await
}
