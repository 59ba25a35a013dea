//! The monthly report pages: the print view with SVG charts and the XLSX download. The figures
//! come from [`crate::report::monthly`], computed on a read-only connection in the user's scope.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;

use super::{Chrome, SignedIn, WebError, download, html, on_reader};
use crate::AppState;
use crate::error::RelayError;
use crate::report::{self, Period, Report};

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ReportQuery {
    /// `YYYY-MM`; the period holding today when absent.
    pub month: String,
    /// The document number the office gives this report (e.g. 吕安委办〔2026〕12号); a blank
    /// line to write it on when absent.
    #[serde(default)]
    pub no: String,
}

/// One bar of a chart: its label, its coloured segments (x, width, colour) and the value shown
/// after it.
struct Bar {
    label: String,
    y: i64,
    segs: Vec<(i64, i64, &'static str)>,
    end: i64,
    value: String,
}

struct Chart {
    height: i64,
    bars: Vec<Bar>,
}

/// A bar's label, its (value, colour) parts, and the text after it.
type BarInput = (String, Vec<(i64, &'static str)>, String);

const LABEL_W: i64 = 170;
const BAR_W: i64 = 380;
const ROW_H: i64 = 22;

impl Chart {
    /// Horizontal bars, scaled to the largest total; `parts` are (value, colour) per bar.
    fn new(rows: Vec<BarInput>, max: i64) -> Chart {
        let max = max.max(1);
        let bars = rows
            .into_iter()
            .enumerate()
            .map(|(i, (label, parts, value))| {
                let mut x = LABEL_W;
                let segs = parts
                    .into_iter()
                    .map(|(v, colour)| {
                        let w = v * BAR_W / max;
                        let seg = (x, w, colour);
                        x += w;
                        seg
                    })
                    .collect();
                Bar {
                    label,
                    y: i as i64 * ROW_H + 4,
                    segs,
                    end: x,
                    value,
                }
            })
            .collect::<Vec<_>>();
        Chart {
            height: bars.len() as i64 * ROW_H + 8,
            bars,
        }
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
    /// 2026年11月（10月29日至11月28日）
    period_zh: String,
    issued_zh: String,
    previous: String,
    next: String,
    found_chart: Chart,
    coverage_chart: Chart,
}

impl ReportPage {
    fn sources(&self) -> Vec<&'static str> {
        report::SOURCES.iter().map(|s| self.c.t(s.1, s.2)).collect()
    }
}

async fn report_for(
    s: &AppState,
    SignedIn { user, csrf }: SignedIn,
    q: &ReportQuery,
) -> Result<(Chrome, Report), WebError> {
    let month = q.month.trim().to_owned();
    let u = user.clone();
    let r = on_reader(s, &user, move |conn, dir| {
        let cutoff = report::cutoff_day(conn)?;
        let today = gridsafe_core::clock::today();
        let period = if month.is_empty() {
            Period::containing(today, cutoff)?
        } else {
            Period::of_month(&month, cutoff)?
        };
        report::monthly(conn, dir, &u, &period, today)
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
    let previous = r.period.previous().map_err(WebError::from)?.month;
    let next = r.period.next().map_err(WebError::from)?.month;
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
    let date = |d: &str| {
        gridsafe_core::clock::parse_date(d).map_or_else(
            |_| d.to_owned(),
            |d| {
                if c.en() {
                    gridsafe_core::clock::format_date(d)
                } else {
                    format!("{}月{}日", u8::from(d.month()), d.day())
                }
            },
        )
    };
    let (year, month) = r.period.month.split_once('-').unwrap_or(("", ""));
    let period_zh = if c.en() {
        format!("{} ({} to {})", r.period.month, r.period.from, r.period.to)
    } else {
        format!(
            "{year}年{}月（{}至{}）",
            month.trim_start_matches('0'),
            date(&r.period.from),
            date(&r.period.to)
        )
    };
    let number: String = q.no.trim().chars().take(40).collect();
    let issued_zh = gridsafe_core::notice::date_zh(gridsafe_core::clock::today());
    Ok(html(ReportPage {
        c,
        r,
        issuer,
        number,
        period_zh,
        issued_zh,
        previous,
        next,
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
    let (year, month) = r.period.month.split_once('-').unwrap_or(("", ""));
    let name = if c.en() {
        format!("monthly-report-{}.xlsx", r.period.month)
    } else {
        format!("月报_{year}年{}月.xlsx", month.trim_start_matches('0'))
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
