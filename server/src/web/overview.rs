//! The overview: open, overdue and closed hazards, the major-hazard stock and increment, coverage
//! per village, silent phones.

use super::*;
use crate::AppState;
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use gridsafe_core::policy::{self, Capability};
use session::SignedIn;

/// A device row as the overview shows it.
pub(crate) struct DeviceView {
    user_id: String,
    name: String,
    last_sync: String,
    pending_docs: i64,
    pending_photos: i64,
    app_version: String,
}

/// The overview as the template shows it.
pub(crate) struct OverviewView {
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
pub(crate) struct OverviewPage {
    c: Chrome,
    today: String,
    o: OverviewView,
    show_devices: bool,
    stale_days: i64,
    /// Venues gathering combined elements, for the department to judge (never decided here).
    alerts: Vec<crate::store::CombinedAlert>,
    alert_at: u32,
    /// Found and closed by month, open by domain and village: each bar links to its list.
    found_chart: super::chart::Chart,
    closed_chart: super::chart::Chart,
    domain_chart: super::chart::Chart,
    village_chart: super::chart::Chart,
    depts: Vec<crate::charts::DeptRow>,
}

const FOUND: &str = "#5b8fd1";
const CLOSED: &str = "#2e7d46";
const OPEN: &str = "#c77c02";

/// The ledger's filter for hazards found in month `m` (`YYYY-MM`).
fn month_link(m: &str) -> String {
    let last = gridsafe_core::clock::parse_date(&format!("{m}-01"))
        .ok()
        .and_then(|d| (d + time::Duration::days(32)).replace_day(1).ok())
        .and_then(|d| d.previous_day())
        .map_or_else(String::new, gridsafe_core::clock::format_date);
    format!("/hazards?from={m}-01&to={last}")
}

/// The start page: a department's reviewer starts on their to-do list, an administrator on the
/// users, everyone else on the overview.
pub(crate) async fn home(s: State<AppState>, signed: SignedIn) -> Result<Response, WebError> {
    use axum::response::{IntoResponse, Redirect};
    match signed.user.role {
        gridsafe_core::directory::Role::Admin => Ok(Redirect::to("/admin/users").into_response()),
        gridsafe_core::directory::Role::Reviewer => Ok(Redirect::to("/todo").into_response()),
        _ => overview(s, signed).await,
    }
}

pub(crate) async fn overview(
    State(s): State<AppState>,
    SignedIn { user, csrf }: SignedIn,
) -> Result<Response, WebError> {
    let today = gridsafe_core::clock::format_date(gridsafe_core::clock::today());
    let (u, t) = (user.clone(), today.clone());
    // The figures and alerts (an office reader) and the charts (a pooled reader) are two passes
    // over the town's hazards: run side by side, the page waits for the longer, not the sum.
    let figures = s.with_reader(move |st| {
        let alerts = if matches!(
            u.role,
            gridsafe_core::directory::Role::Reviewer | gridsafe_core::directory::Role::TownOffice
        ) {
            st.combined_alerts(&u)?
        } else {
            vec![]
        };
        Ok((st.overview(&u, &t)?, alerts, st.combined_alert_at()?))
    });
    let u = user.clone();
    let charts = on_reader(&s, &user, move |conn, dir| {
        crate::charts::charts(conn, dir, &u, gridsafe_core::clock::today())
    });
    let (figures, ch) = tokio::join!(figures, charts);
    let (o, alerts, alert_at) = figures.map_err(|e| e.0)?;
    let ch = ch?;
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
                    .map_or_else(|| never.to_owned(), gridsafe_core::clock::ms_to_minute),
                pending_docs: d.pending_docs.unwrap_or(0),
                pending_photos: d.pending_photos.unwrap_or(0),
                app_version: d.app_version.unwrap_or_default(),
            })
            .collect(),
    };
    let show_devices = policy::role_may(user.role, Capability::FollowUpSilentPhones);
    let c = Chrome::new(&user, &csrf);
    let month_label = |m: &str| {
        let (y, mo) = m.split_once('-').unwrap_or((m, ""));
        if c.en() {
            m.to_owned()
        } else {
            format!("{y}年{}月", mo.trim_start_matches('0'))
        }
    };
    let bars = |rows: Vec<(String, i64)>, colour: &'static str| {
        let max = rows.iter().map(|r| r.1).max().unwrap_or(0);
        super::chart::Chart::new(
            rows.into_iter()
                .map(|(label, n)| (label, vec![(n, colour)], n.to_string()))
                .collect(),
            max,
        )
    };
    let found_chart = bars(
        ch.months
            .iter()
            .map(|m| (month_label(&m.month), m.found))
            .collect(),
        FOUND,
    )
    .linked(ch.months.iter().map(|m| month_link(&m.month)).collect());
    let closed_chart = bars(
        ch.months
            .iter()
            .map(|m| (month_label(&m.month), m.closed))
            .collect(),
        CLOSED,
    )
    .linked(
        ch.months
            .iter()
            .map(|_| "/hazards?state=closed".to_owned())
            .collect(),
    );
    let domain_chart = bars(
        ch.by_domain
            .iter()
            .map(|(d, n)| (c.domain(d), *n))
            .collect(),
        OPEN,
    )
    .linked(
        ch.by_domain
            .iter()
            .map(|(d, _)| format!("/hazards?domain={d}&open=1"))
            .collect(),
    );
    let village_chart = bars(
        ch.by_village
            .iter()
            .map(|(v, n)| (c.village(v), *n))
            .collect(),
        OPEN,
    )
    .linked(
        ch.by_village
            .iter()
            .map(|(v, _)| format!("/hazards?village={v}&open=1"))
            .collect(),
    );
    Ok(html(OverviewPage {
        found_chart,
        closed_chart,
        domain_chart,
        village_chart,
        depts: ch.depts,
        c: Chrome::new(&user, &csrf),
        today,
        o,
        show_devices,
        stale_days: crate::store::STALE_DAYS,
        alerts,
        alert_at,
    }))
}
