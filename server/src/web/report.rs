//! The report pages for any period: the print view with SVG charts, the XLSX download, and the
//! town office issuing a report. The figures come from [`crate::report::report`], computed on a
//! read-only connection in the user's scope.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::chart::Chart;
use super::{Chrome, SignedIn, WebError, check_csrf, download, html, on_reader};
use crate::AppState;
use crate::error::RelayError;
use crate::report::{self, Period, Report, Span};

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ReportQuery {
    /// The period's key (`2026-11`, `2026-W49`, `2026-Q4`, `2026-H2`, `2026`); the report month
    /// holding today when absent.
    pub period: String,
    /// `YYYY-MM` (links made before periods other than months).
    pub month: String,
    /// A custom range of days, both included.
    pub from: String,
    pub to: String,
    /// The document number to print on a report not yet issued (e.g. 吕安委办〔2026〕12号).
    pub no: String,
    /// Set after a report was issued: the page says so.
    pub issued: String,
}

impl ReportQuery {
    fn key(&self) -> Option<String> {
        let (from, to) = (self.from.trim(), self.to.trim());
        if !from.is_empty() || !to.is_empty() {
            return Some(format!("{from}~{to}"));
        }
        [&self.period, &self.month]
            .into_iter()
            .map(|k| k.trim())
            .find(|k| !k.is_empty())
            .map(str::to_owned)
    }
}

const GENERAL: &str = "#5b8fd1";
const MAJOR: &str = "#b3261e";
const COVERED: &str = "#2e7d46";

#[derive(Template)]
#[template(path = "report.html")]
struct ReportPage {
    c: Chrome,
    r: Report,
    /// The issuing body (its name; the town's government until the administrator sets one).
    issuer: String,
    number: String,
    /// 月报, 季报, …
    kind: String,
    /// 2026年11月（10月29日至11月28日）
    period_zh: String,
    issued_zh: String,
    /// (key, title) of the previous and next periods of the same span.
    previous: (String, String),
    next: (String, String),
    /// The periods of every span that hold this period's last day: (key, label, current).
    spans: Vec<(String, String, bool)>,
    /// The town office may issue this report now (its period is over, it is not issued).
    may_issue: bool,
    /// What the last action did, or why it was refused (the page keeps what was typed).
    message: Option<String>,
    error: Option<String>,
    found_chart: Chart,
    coverage_chart: Chart,
}

impl ReportPage {
    fn is_month(&self) -> bool {
        self.r.period.span == Span::Month
    }

    /// 挂牌督办 as people write it: "市级 沪安委办〔2026〕3号", or "—".
    fn supervision(&self, m: &report::MajorRow) -> String {
        supervision_text(m, self.c.en())
    }

    /// When the report was issued, as people write it.
    fn issued_time(&self) -> String {
        self.r.issued.as_ref().map_or_else(String::new, |i| {
            self.c
                .time(&gridsafe_core::clock::ms_to_rfc3339(i.issued_ms))
        })
    }

    fn sources(&self) -> Vec<&'static str> {
        report::REPORT_SOURCES
            .iter()
            .map(|s| self.c.t(s.1, s.2))
            .collect()
    }
}

pub(super) fn supervision_text(m: &report::MajorRow, en: bool) -> String {
    match &m.supervision {
        None => "—".into(),
        Some((level, no)) => {
            let (zh, en_text) = match level.as_str() {
                "city" => ("市级", "City"),
                "district" => ("区级", "District"),
                _ => ("挂牌", "Listed"),
            };
            format!("{} {no}", if en { en_text } else { zh })
                .trim()
                .to_owned()
        }
    }
}

/// The report for the query's period in the user's scope (for the town office, the issued one
/// where it was issued).
async fn report_for(
    s: &AppState,
    SignedIn { user, csrf }: SignedIn,
    q: &ReportQuery,
) -> Result<(Chrome, Report), WebError> {
    // Who may see reports is asked first: an administrator's bad link is still not theirs.
    gridsafe_core::policy::check(&user, gridsafe_core::policy::Capability::SeeHazards)
        .map_err(RelayError::Forbidden)?;
    let key = q.key();
    let u = user.clone();
    let town = report::town_wide(&user);
    let (period, issued) = s
        .with_reader(move |st| {
            let period = st.report_period(key.as_deref())?;
            let issued = if town {
                st.issued_reports(period.span)?
            } else {
                vec![]
            };
            Ok((period, issued))
        })
        .await
        .map_err(|e| e.0)?;
    let r = on_reader(s, &user, move |conn, dir| {
        report::report(
            conn,
            dir,
            &u,
            &period,
            gridsafe_core::clock::today(),
            &issued,
        )
    })
    .await?;
    Ok((Chrome::new(&user, &csrf), r))
}

/// The report as a page that prints cleanly (the navigation and forms are not printed).
pub async fn monthly_page(
    State(s): State<AppState>,
    Query(q): Query<ReportQuery>,
    signed: SignedIn,
) -> Result<Response, WebError> {
    let (c, r) = report_for(&s, signed, &q).await?;
    let message = (!q.issued.is_empty() && r.issued.is_some()).then(|| {
        c.t(
            "报告已签发，统计数据已固定。",
            "The report is issued; its figures are fixed.",
        )
        .to_owned()
    });
    page(&s, c, r, q.no.trim(), message, None).await
}

#[derive(Debug, Deserialize)]
pub struct IssueForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    period: String,
    #[serde(default)]
    number: String,
}

/// The town office issues a report: its figures are frozen under the number given.
pub async fn issue(
    State(s): State<AppState>,
    signed: SignedIn,
    Form(f): Form<IssueForm>,
) -> Result<Response, WebError> {
    check_csrf(&f.csrf, &signed.csrf)?;
    let user = signed.user.clone();
    let (key, number) = (f.period.clone(), f.number.clone());
    let done = s
        .with_store(move |st| st.issue_report(&user, &key, &number))
        .await;
    match done {
        Ok(r) => Ok(Redirect::to(&format!(
            "/reports/monthly?period={}&issued=1",
            super::urlencode(&r.period.key)
        ))
        .into_response()),
        Err(e) if matches!(e.0, RelayError::Refused(_)) => {
            let q = ReportQuery {
                period: f.period.clone(),
                ..ReportQuery::default()
            };
            let (c, r) = report_for(&s, signed, &q).await?;
            // The refusal is written "中文 / English": the page's half of it.
            let msg = e.0.message();
            let msg = msg
                .split_once(" / ")
                .map_or(msg, |(zh, en)| c.t(zh, en))
                .to_owned();
            page(&s, c, r, f.number.trim(), None, Some(msg)).await
        }
        Err(e) => Err(e.0.into()),
    }
}

async fn page(
    s: &AppState,
    c: Chrome,
    r: Report,
    number: &str,
    message: Option<String>,
    error: Option<String>,
) -> Result<Response, WebError> {
    let found_max = r.domains.iter().map(|d| d.total.found()).max().unwrap_or(0);
    let found_chart = Chart::new(
        r.domains
            .iter()
            .map(|d| {
                let label = c.t(&d.label_zh, &d.label_en).to_owned();
                let value = format!(
                    "{} ({} {})",
                    d.total.found(),
                    d.total.found_major,
                    c.t("重大", "major")
                );
                (
                    label,
                    vec![
                        (d.total.found_general, GENERAL),
                        (d.total.found_major, MAJOR),
                    ],
                    value,
                )
            })
            .collect(),
        found_max,
    );
    let coverage_chart = Chart::new(
        r.villages
            .iter()
            .map(|v| {
                let value = format!("{}% ({}/{})", v.coverage_pct(), v.inspected, v.venues);
                (
                    v.village_zh.clone(),
                    vec![(v.coverage_pct(), COVERED)],
                    value,
                )
            })
            .collect(),
        100,
    );
    let en = c.en();
    let link = |p: Period| (p.key.clone(), p.title(en));
    let previous = link(r.period.previous().map_err(WebError::from)?);
    let next = link(r.period.next().map_err(WebError::from)?);
    let last_day = gridsafe_core::clock::parse_date(&r.period.to).map_err(RelayError::from)?;
    let mut spans = Vec::new();
    for span in [
        Span::Week,
        Span::Month,
        Span::Quarter,
        Span::Half,
        Span::Year,
    ] {
        let p = Period::of_span(span, last_day, r.period.cutoff_day).map_err(WebError::from)?;
        let label = format!("{} {}", p.kind_title(en), p.title(en));
        spans.push((p.key.clone(), label, p.key == r.period.key));
    }
    let (issuer, town) = s
        .with_reader(|st| {
            Ok((
                st.issuer()?,
                st.directory()
                    .map(|d| d.town_zh.clone())
                    .unwrap_or_default(),
            ))
        })
        .await
        .map_err(|e| e.0)?;
    let issuer = issuer.map_or_else(|| format!("{town}人民政府"), |i| i.name_zh);
    let today = gridsafe_core::clock::today();
    let may_issue = c.issues_reports()
        && r.issued.is_none()
        && r.period.to < gridsafe_core::clock::format_date(today);
    let (number, issued_zh) = match &r.issued {
        Some(i) => (
            i.number.clone(),
            gridsafe_core::notice::date_zh(gridsafe_core::clock::ms_to_date(i.issued_ms)),
        ),
        None => (
            number.chars().take(40).collect(),
            gridsafe_core::notice::date_zh(today),
        ),
    };
    Ok(html(ReportPage {
        kind: r.period.kind_title(en).to_owned(),
        period_zh: r.period.title_with_days(en),
        c,
        r,
        issuer,
        number,
        issued_zh,
        previous,
        next,
        spans,
        may_issue,
        message,
        error,
        found_chart,
        coverage_chart,
    }))
}

/// The report as a workbook: the domain × village summary, the village statistics, focus items,
/// typical cases and the major-hazard ledger, one sheet each, numbers as numbers.
pub async fn monthly_xlsx(
    State(s): State<AppState>,
    Query(q): Query<ReportQuery>,
    signed: SignedIn,
) -> Result<Response, WebError> {
    let (c, r) = report_for(&s, signed, &q).await?;
    let lang = c.labels().lang;
    let name = if c.en() {
        format!("report-{}.xlsx", r.period.key.replace('~', "-to-"))
    } else {
        format!(
            "{}_{}.xlsx",
            r.period.kind_title(false),
            r.period.title(false)
        )
    };
    let blobs = s.blobs.clone();
    let body = crate::AppState::blocking(move || {
        super::report_xlsx::workbook(&r, blobs.as_ref(), lang)
            .map_err(|e| RelayError::Storage(format!("xlsx: {e}")))
    })
    .await
    .map_err(|e| WebError(e.0))?;
    Ok(download(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        &name,
        body,
    ))
}
