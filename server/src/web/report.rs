//! The monthly report pages: the print view with SVG charts and the XLSX download. The figures
//! come from [`crate::report::monthly`], computed on a read-only connection in the user's scope.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;

use super::{Chrome, SignedIn, WebError, download, html, on_reader};
use crate::AppState;
use crate::error::RelayError;
use crate::report::{self, Counts, Period, Report};

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

fn counts_cells(c: &Counts) -> Vec<f64> {
    let mut v = vec![
        c.venues_inspected,
        c.found_general,
        c.found_major,
        c.on_spot,
        c.rectified,
        c.closed,
        c.open,
        c.overdue,
    ];
    v.extend(c.by_source);
    v.into_iter().map(|n| n as f64).collect()
}

/// The columns of the domain × village sheet after 领域 and 村居.
pub const COUNT_COLUMNS: [&str; 12] = [
    "检查场所数",
    "发现一般隐患",
    "发现重大隐患",
    "即查即改",
    "本期整改",
    "本期销号",
    "未销号",
    "逾期",
    "督导检查发现",
    "企业自查上报",
    "群众举报查实",
    "转办",
];

/// The report as a workbook: the domain × village summary, the village statistics, focus items,
/// typical cases and the major-hazard ledger, one sheet each, numbers as numbers.
pub async fn monthly_xlsx(
    State(s): State<AppState>,
    Query(q): Query<ReportQuery>,
    signed: SignedIn,
) -> Result<Response, WebError> {
    let (_, r) = report_for(&s, signed, &q).await?;
    let name = format!("monthly-report-{}.xlsx", r.period.month);
    let body = crate::AppState::blocking(move || {
        workbook(&r).map_err(|e| RelayError::Storage(format!("xlsx: {e}")))
    })
    .await
    .map_err(|e| WebError(e.0))?;
    Ok(download(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        &name,
        body,
    ))
}

fn workbook(r: &Report) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{Format, Workbook, Worksheet};
    let bold = Format::new().set_bold();
    let mut wb = Workbook::new();
    let header =
        |ws: &mut Worksheet, row: u32, cols: &[&str]| -> Result<(), rust_xlsxwriter::XlsxError> {
            for (c, name) in cols.iter().enumerate() {
                ws.write_string_with_format(row, c as u16, *name, &bold)?;
            }
            Ok(())
        };

    let ws = wb.add_worksheet().set_name("汇总")?;
    ws.write_string_with_format(
        0,
        0,
        format!(
            "{} 月报 · 统计期 {} 至 {}",
            r.period.month, r.period.from, r.period.to
        ),
        &bold,
    )?;
    crate::export::xlsx_text(
        ws,
        1,
        0,
        &format!("生成时间 {} · 未销号、逾期为生成时数据", r.generated_at),
        None,
    )?;
    let mut cols = vec!["领域", "村居"];
    cols.extend(COUNT_COLUMNS);
    header(ws, 3, &cols)?;
    let mut row = 4;
    for d in &r.domains {
        for v in &d.rows {
            crate::export::xlsx_text(ws, row, 0, &d.label_zh, None)?;
            crate::export::xlsx_text(ws, row, 1, &v.village_zh, None)?;
            for (i, n) in counts_cells(&v.c).into_iter().enumerate() {
                ws.write_number(row, 2 + i as u16, n)?;
            }
            row += 1;
        }
        ws.write_string_with_format(row, 0, &d.label_zh, &bold)?;
        ws.write_string_with_format(row, 1, "小计", &bold)?;
        for (i, n) in counts_cells(&d.total).into_iter().enumerate() {
            ws.write_number_with_format(row, 2 + i as u16, n, &bold)?;
        }
        row += 1;
    }
    ws.write_string_with_format(row, 0, "合计", &bold)?;
    for (i, n) in counts_cells(&r.totals).into_iter().enumerate() {
        ws.write_number_with_format(row, 2 + i as u16, n, &bold)?;
    }

    let ws = wb.add_worksheet().set_name("村居统计")?;
    header(
        ws,
        0,
        &[
            "村居",
            "在册场所",
            "本期检查场所",
            "覆盖率%",
            "检查次数",
            "本期发现隐患",
            "每百场所隐患",
            "即改率%",
            "本期销号",
            "累计整改率%",
            "逾期",
            "回潮",
        ],
    )?;
    for (i, v) in r.villages.iter().enumerate() {
        let row = i as u32 + 1;
        crate::export::xlsx_text(ws, row, 0, &v.village_zh, None)?;
        let nums = [
            v.venues,
            v.inspected,
            v.coverage_pct(),
            v.inspections,
            v.found,
        ];
        for (c, n) in nums.iter().enumerate() {
            ws.write_number(row, 1 + c as u16, *n as f64)?;
        }
        crate::export::xlsx_text(ws, row, 6, &v.per_100(), None)?;
        let nums = [
            v.on_spot_pct(),
            v.closed,
            v.rectification_pct(),
            v.overdue,
            v.recurrences,
        ];
        for (c, n) in nums.iter().enumerate() {
            ws.write_number(row, 7 + c as u16, *n as f64)?;
        }
    }

    let ws = wb.add_worksheet().set_name("重点事项")?;
    header(
        ws,
        0,
        &[
            "检查项",
            "事项",
            "领域",
            "本期发现",
            "未销号",
            "涉及场所",
            "占检查场所%",
        ],
    )?;
    for (i, f) in r.focus.iter().enumerate() {
        let row = i as u32 + 1;
        crate::export::xlsx_text(ws, row, 0, &f.item_id, None)?;
        crate::export::xlsx_text(ws, row, 1, &f.title_zh, None)?;
        crate::export::xlsx_text(ws, row, 2, report::domain_label(&f.domain).0, None)?;
        for (c, n) in [f.found, f.open, f.venues, f.venues_pct].iter().enumerate() {
            ws.write_number(row, 3 + c as u16, *n as f64)?;
        }
    }

    let ws = wb.add_worksheet().set_name("典型案例")?;
    header(
        ws,
        0,
        &[
            "隐患编号",
            "隐患",
            "场所",
            "村居",
            "等级",
            "状态",
            "依据",
            "整改前照片 SHA-256",
            "整改后照片 SHA-256",
        ],
    )?;
    for (i, c) in r.cases.iter().enumerate() {
        let row = i as u32 + 1;
        let after = c.after_photo.clone().unwrap_or_default();
        for (col, v) in [
            &c.id,
            &c.title_zh,
            &c.venue_name,
            &c.village_zh,
            &c.severity,
            &c.state,
            &c.basis,
            &c.before_thumb,
            &after,
        ]
        .iter()
        .enumerate()
        {
            crate::export::xlsx_text(ws, row, col as u16, v.as_str(), None)?;
        }
    }

    let ws = wb.add_worksheet().set_name("重大隐患台账")?;
    ws.write_string_with_format(
        0,
        0,
        format!(
            "存量 {}（未销号 {}） · 增量 {}（未销号 {}）",
            r.major_stock, r.major_stock_open, r.major_increment, r.major_increment_open
        ),
        &bold,
    )?;
    header(
        ws,
        1,
        &[
            "隐患编号",
            "场所",
            "村居",
            "领域",
            "隐患",
            "依据条款",
            "发现日期",
            "发现年度",
            "存量/增量",
            "等级",
            "状态",
            "整改期限",
            "治理方案",
            "挂牌督办提请次数",
        ],
    )?;
    for (i, m) in r.majors.iter().enumerate() {
        let row = i as u32 + 2;
        let texts = [
            &m.id,
            &m.venue_name,
            &m.village_zh,
            &report::domain_label(&m.domain).0.to_owned(),
            &m.title_zh,
            &m.basis,
            &m.found,
        ];
        for (c, v) in texts.iter().enumerate() {
            crate::export::xlsx_text(ws, row, c as u16, v.as_str(), None)?;
        }
        ws.write_number(row, 7, f64::from(m.year))?;
        crate::export::xlsx_text(ws, row, 8, if m.stock { "存量" } else { "增量" }, None)?;
        crate::export::xlsx_text(ws, row, 9, &m.severity, None)?;
        crate::export::xlsx_text(ws, row, 10, &m.state, None)?;
        crate::export::xlsx_text(ws, row, 11, &m.due_date, None)?;
        crate::export::xlsx_text(ws, row, 12, if m.plan { "有" } else { "无" }, None)?;
        ws.write_number(row, 13, m.escalations as f64)?;
    }
    wb.save_to_buffer()
}
