//! Device health (what each phone last reported), revoking a phone, and the audit log.

use super::*;
use crate::AppState;
use crate::error::RelayError;
use askama::Template;
use axum::extract::{Form, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use gridsafe_core::directory::User;
use gridsafe_core::policy::{self, Capability};
use serde::Deserialize;
use session::SignedIn;

/// A phone on the device health page.
pub(crate) struct DeviceHealth {
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
    /// Changes of this phone's the relay set aside (history rewritten, a clock from the
    /// future): how many, and the latest in words.
    refused: i64,
    refused_last: String,
}

#[derive(Template)]
#[template(path = "devices.html")]
pub(crate) struct DevicesPage {
    c: Chrome,
    devices: Vec<DeviceHealth>,
    can_revoke: bool,
}

/// Every phone: last sync, what it reported pending, app and protocol version; silent phones first.
pub(crate) async fn devices(
    State(s): State<AppState>,
    SignedIn { user, csrf }: SignedIn,
) -> Result<Response, WebError> {
    office_or_admin(&user)?;
    let (rows, refused) = s
        .with_reader(|st| Ok((st.devices()?, st.refused_by_device()?)))
        .await
        .map_err(|e| e.0)?;
    let never = Chrome::new(&user, &csrf).t("从未同步", "never");
    let cutoff = gridsafe_core::clock::now_ms() - crate::store::STALE_DAYS * 86_400_000;
    let mut devices: Vec<DeviceHealth> = rows
        .into_iter()
        .filter(|d| d.name != "dashboard")
        .map(|d| {
            let r = refused.iter().find(|r| r.device_id == d.id);
            DeviceHealth {
                refused: r.map_or(0, |r| r.count),
                refused_last: r.map_or_else(String::new, |r| {
                    format!(
                        "{} {}",
                        gridsafe_core::clock::ms_to_minute(r.last_ms),
                        r.why_zh
                    )
                }),
                stale: !d.revoked && d.last_sync_ms.is_none_or(|t| t < cutoff),
                last_sync: d
                    .last_sync_ms
                    .map_or_else(|| never.to_owned(), gridsafe_core::clock::ms_to_minute),
                id: d.id,
                user_id: d.user_id,
                name: d.name,
                revoked: d.revoked,
                pending_docs: d.pending_docs.unwrap_or(0),
                pending_photos: d.pending_photos.unwrap_or(0),
                app_version: d.app_version.unwrap_or_default(),
                protocol: d.protocol.map(|p| p.to_string()).unwrap_or_default(),
            }
        })
        .collect();
    devices.sort_by_key(|d| (!d.stale, d.revoked));
    let can_revoke = policy::role_may(user.role, Capability::RevokeDevices);
    Ok(html(DevicesPage {
        c: Chrome::new(&user, &csrf),
        devices,
        can_revoke,
    }))
}

#[derive(Debug, Deserialize)]
pub(crate) struct RevokeForm {
    #[serde(default)]
    csrf: String,
    device: String,
    /// The box that confirms it: a revoked phone cannot sync until enrolled again.
    #[serde(default)]
    confirm: String,
}

/// Revokes a lost or replaced phone: its token stops working at once (administrators only).
pub(crate) async fn revoke(
    State(s): State<AppState>,
    SignedIn { user, csrf }: SignedIn,
    Form(f): Form<RevokeForm>,
) -> Result<Response, WebError> {
    check_csrf(&f.csrf, &csrf)?;
    policy::check(&user, Capability::RevokeDevices).map_err(RelayError::Forbidden)?;
    if f.confirm.is_empty() {
        return Err(RelayError::BadRequest(
            "请勾选“确认吊销”后再提交，吊销后该手机无法同步 / tick the confirmation: a revoked phone can no longer sync"
                .into(),
        )
        .into());
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

#[derive(Template)]
#[template(path = "audit.html")]
pub(crate) struct AuditPage {
    c: Chrome,
    entries: Vec<AuditRow>,
    /// Entries in the log and whether its hash chain holds (the first broken entry named if not).
    chain: Result<u64, String>,
    older: Option<i64>,
}

#[derive(Debug)]
pub(crate) struct AuditRow {
    seq: i64,
    at: String,
    actor: String,
    action: String,
    /// The record acted on, as words, with a link where it has a page.
    target: String,
    link: Option<String>,
    detail: String,
}

/// An audit action in words (zh, en); the log keeps its code.
fn audit_action(code: &str) -> (&'static str, &'static str) {
    match code {
        "auth.login" => ("登录", "Signed in"),
        "device.enroll" => ("登记设备", "Enrolled a device"),
        "device.revoke" => ("吊销设备", "Revoked a device"),
        "hazard.recheck" => ("现场复核", "On-site recheck"),
        "intake.ticket" => ("录入群众举报", "Entered a public report"),
        "intake.import" => ("导入群众举报", "Imported public reports"),
        "owner_link.revoke" => ("作废业主二维码", "Revoked owner links"),
        "owner_report.accept" => ("采纳业主整改上报", "Accepted an owner's report"),
        "owner_report.return" => ("退回业主整改上报", "Returned an owner's report"),
        "self_report.register" => ("自查问题上账", "Registered a self-check finding"),
        "self_report.dismiss" => ("自查问题不予上账", "Dismissed a self-check finding"),
        "report.cutoff" => ("设置月报截止日", "Set the report cut-off"),
        "report.stock_year" => ("设置重大隐患存量年度", "Set the major-hazard stock year"),
        "report.issue" => ("签发报告", "Issued a report"),
        "combined.alert_at" => ("设置多要素提醒", "Set the combined-elements alert"),
        "user.save" => ("保存用户", "Saved a user"),
        "user.password_reset" => ("重置密码", "Reset a password"),
        "user.disable" => ("停用用户", "Disabled a user"),
        "user.enable" => ("启用用户", "Enabled a user"),
        "venue.move" => ("场所移交网格", "Moved a venue"),
        "venue.resolve" => ("处理修改冲突", "Resolved a conflicting edit"),
        "venue.edit" => ("修改场所资料", "Corrected a venue's details"),
        "issuer.save" => ("设置发文机关", "Set the issuing body"),
        _ => ("其他操作", "Other action"),
    }
}

/// One audit entry as people read it: names for users, grids and fields, links for records.
fn audit_row(c: &Chrome, e: crate::store::AuditEntry) -> AuditRow {
    let (family, _) = e.action.split_once('.').unwrap_or((&e.action, ""));
    let action = match e.action.strip_prefix("hazard.") {
        Some(k) if gridsafe_core::lifecycle::EventKind::parse(k).is_some() => c.event(k),
        _ => {
            let (zh, en) = audit_action(&e.action);
            c.t(zh, en).to_owned()
        }
    };
    let record = |zh: &str, en: &str, path: &str| {
        (
            c.t(zh, en).to_owned(),
            gridsafe_core::store::check_id("record", &e.target)
                .ok()
                .map(|_| format!("{path}/{}", e.target)),
        )
    };
    let (target, link) = match family {
        "auth" | "user" => (c.user(&e.target), None),
        "device" => (c.t("手机", "Phone").to_owned(), None),
        "hazard" | "owner_report" => record("隐患", "Hazard", "/hazards"),
        "venue" | "owner_link" => record("场所", "Venue", "/venues"),
        "intake" => (c.t("12345 工单", "12345 tickets").to_owned(), None),
        // A report is named by its period (the log keeps the period's key).
        "report" => match crate::report::Period::parse(&e.target, 28) {
            Ok(p) => (
                format!("{} {}", p.kind_title(c.en()), p.title(c.en())),
                Some(format!("/reports/monthly?period={}", p.key)),
            ),
            Err(_) => (c.t("报表", "Reports").to_owned(), None),
        },
        _ => ("—".to_owned(), None),
    };
    let detail = match e.action.as_str() {
        "auth.login" => c.t("办公网页", "Office pages").to_owned(),
        "venue.move" => c.grid(&e.detail),
        "venue.resolve" => {
            let (zh, en) = gridsafe_core::records::venue_fields::label(&e.detail);
            c.t(zh, en).to_owned()
        }
        "venue.edit" => e
            .detail
            .split(',')
            .map(|f| {
                let (zh, en) = gridsafe_core::records::venue_fields::label(f);
                c.t(zh, en).to_owned()
            })
            .collect::<Vec<_>>()
            .join(c.t("、", ", ")),
        "user.save" | "device.enroll" | "device.revoke" | "user.enable" => String::new(),
        "user.disable" => format!("{} {}", c.t("吊销手机", "phones revoked:"), e.detail),
        _ if family == "hazard" => hazard_detail(c, &e.action, &e.detail),
        _ => e.detail.clone(),
    };
    AuditRow {
        seq: e.seq,
        at: gridsafe_core::clock::ms_to_minute(e.at_ms),
        actor: c.user(&e.actor),
        action,
        target,
        link,
        detail,
    }
}

/// How an assignment's handler is logged in the audit detail (`handler=<user id>`).
pub(crate) const HANDLER: &str = "handler=";

/// A review action's logged inputs (reason, deadline, note, "bulk" / "batch") in words: the
/// handler an assignment names by their name, a supervision level as the level.
fn hazard_detail(c: &Chrome, action: &str, detail: &str) -> String {
    detail
        .split(" · ")
        .map(|part| match (action, part) {
            (_, "bulk") => c.t("台账批量办理", "bulk, from the ledger").to_owned(),
            (_, "batch") => c
                .t("即改批量审核", "on-the-spot fixes, in a batch")
                .to_owned(),
            (_, p) if p.starts_with(HANDLER) => {
                format!(
                    "{}：{}",
                    c.t("承办人", "Handler"),
                    c.user(&p[HANDLER.len()..])
                )
            }
            ("hazard.supervise", "city") => c.t("市级", "City").to_owned(),
            ("hazard.supervise", "district") => c.t("区级", "District").to_owned(),
            _ => part.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

#[derive(Debug, Deserialize)]
pub(crate) struct AuditQuery {
    before: Option<i64>,
}

/// The audit log (town office and administrators), newest first, with the state of its chain.
pub(crate) async fn audit(
    State(s): State<AppState>,
    Query(q): Query<AuditQuery>,
    SignedIn { user, csrf }: SignedIn,
) -> Result<Response, WebError> {
    office_or_admin(&user)?;
    let (entries, chain) = s
        .with_reader(move |st| {
            let chain = st.verify_audit().map_err(|e| e.to_string());
            Ok((st.audit_entries(AUDIT_PAGE, q.before)?, chain))
        })
        .await
        .map_err(|e| e.0)?;
    let older = (entries.len() == AUDIT_PAGE as usize)
        .then(|| entries.last().map(|e| e.seq))
        .flatten();
    let c = Chrome::new(&user, &csrf);
    let entries = entries.into_iter().map(|e| audit_row(&c, e)).collect();
    Ok(html(AuditPage {
        c,
        entries,
        chain,
        older,
    }))
}

pub(crate) fn office_or_admin(user: &User) -> Result<(), WebError> {
    Ok(policy::check(user, Capability::SeeDeviceHealth).map_err(RelayError::Forbidden)?)
}

/// Entries shown per audit page.
pub(crate) const AUDIT_PAGE: u32 = 100;
