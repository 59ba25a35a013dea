//! The monthly report as a workbook the district can use: one sheet per table, Chinese headers,
//! labels not codes, numbers and dates as number and date cells, column widths, the header row
//! frozen with a filter on it, and the typical cases' photos embedded.

use rust_xlsxwriter::{Format, Image, Workbook, Worksheet, XlsxError};

use crate::blobs::BlobStore;
use crate::report::{Counts, Report};
use gridsafe_core::labels::{Labels, Lang};

type R<T> = Result<T, XlsxError>;

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

/// The columns of the domain × village sheet after 领域 and 村居 (then one per report source).
pub const COUNT_COLUMNS: [(&str, &str); 8] = [
    ("检查场所数", "Venues inspected"),
    ("发现一般隐患", "General found"),
    ("发现重大隐患", "Major found"),
    ("即查即改", "Fixed on the spot"),
    ("本期整改", "Rectified"),
    ("本期销号", "Closed"),
    ("未销号", "Open"),
    ("逾期", "Overdue"),
];

/// A record's text in the workbook's language (Chinese where it has no English).
fn pick<'a>(en: bool, zh: &'a str, en_text: &'a str) -> &'a str {
    if en && !en_text.trim().is_empty() {
        en_text
    } else {
        zh
    }
}

/// Writes a header row with widths, freezes the rows above and including it, and returns the
/// number of columns (for the filter set once the rows are written).
pub(super) fn header(ws: &mut Worksheet, row: u32, cols: &[(&str, f64)], bold: &Format) -> R<u16> {
    for (c, (name, width)) in cols.iter().enumerate() {
        ws.set_column_width(c as u16, *width)?;
        ws.write_string_with_format(row, c as u16, *name, bold)?;
    }
    ws.set_freeze_panes(row + 1, 0)?;
    Ok(cols.len() as u16)
}

pub(super) fn filter(ws: &mut Worksheet, header_row: u32, last_row: u32, cols: u16) -> R<()> {
    ws.autofilter(header_row, 0, last_row.max(header_row + 1), cols - 1)?;
    Ok(())
}

pub(super) fn date_cell(ws: &mut Worksheet, row: u32, col: u16, d: &str, day: &Format) -> R<()> {
    match gridsafe_core::clock::parse_date(d) {
        Ok(d) => crate::export::xlsx_date(ws, row, col, d, day),
        Err(_) => crate::export::xlsx_text(ws, row, col, "—", None),
    }
}

pub(crate) fn workbook(r: &Report, blobs: &dyn BlobStore, lang: Lang) -> R<Vec<u8>> {
    let l = Labels::new(None, lang);
    let en = lang == Lang::En;
    let t = |zh: &'static str, en_text: &'static str| if en { en_text } else { zh };

    let bold = Format::new().set_bold();
    let day = Format::new().set_num_format("yyyy-mm-dd");
    let one_decimal = Format::new().set_num_format("0.0");
    let mut wb = Workbook::new();

    let ws = wb.add_worksheet().set_name(t("汇总", "Summary"))?;
    ws.write_string_with_format(
        0,
        0,
        if en {
            format!(
                "{} · {} to {}",
                r.period.kind_title(true),
                r.period.from,
                r.period.to
            )
        } else {
            format!(
                "{} · 统计期 {} 至 {}",
                r.period.kind_title(false),
                r.period.from,
                r.period.to
            )
        },
        &bold,
    )?;
    crate::export::xlsx_text(
        ws,
        1,
        0,
        &match (&r.issued, en) {
            (Some(i), false) => format!("已签发 {} · 未销号、逾期为统计期末状态", i.number),
            (Some(i), true) => {
                format!("Issued {} · open and overdue at the period's end", i.number)
            }
            (None, false) => format!(
                "生成时间 {} · 未销号、逾期为统计期末（进行中为当前）状态",
                l.time(&r.generated_at)
            ),
            (None, true) => format!(
                "Generated {} · open and overdue at the period's end (now, while it runs)",
                l.time(&r.generated_at)
            ),
        },
        None,
    )?;
    let mut cols: Vec<(&str, f64)> =
        vec![(t("领域", "Domain"), 16.0), (t("村居", "Village"), 12.0)];
    cols.extend(COUNT_COLUMNS.iter().map(|c| (t(c.0, c.1), 12.0)));
    cols.extend(
        crate::report::REPORT_SOURCES
            .iter()
            .map(|c| (t(c.1, c.2), 12.0)),
    );
    let n = header(ws, 3, &cols, &bold)?;
    let mut row = 4;
    for d in &r.domains {
        for v in &d.rows {
            crate::export::xlsx_text(ws, row, 0, pick(en, &d.label_zh, &d.label_en), None)?;
            crate::export::xlsx_text(ws, row, 1, &v.village_zh, None)?;
            for (i, n) in counts_cells(&v.c).into_iter().enumerate() {
                ws.write_number(row, 2 + i as u16, n)?;
            }
            row += 1;
        }
        ws.write_string_with_format(row, 0, pick(en, &d.label_zh, &d.label_en), &bold)?;
        ws.write_string_with_format(row, 1, t("小计", "Subtotal"), &bold)?;
        for (i, n) in counts_cells(&d.total).into_iter().enumerate() {
            ws.write_number_with_format(row, 2 + i as u16, n, &bold)?;
        }
        row += 1;
    }
    ws.write_string_with_format(row, 0, t("合计", "Total"), &bold)?;
    for (i, n) in counts_cells(&r.totals).into_iter().enumerate() {
        ws.write_number_with_format(row, 2 + i as u16, n, &bold)?;
    }
    filter(ws, 3, row, n)?;

    let ws = wb.add_worksheet().set_name(t("村居统计", "Villages"))?;
    let n = header(
        ws,
        0,
        &[
            (t("村居", "Village"), 12.0),
            (t("在册场所", "Venues listed"), 10.0),
            (t("本期检查场所", "Inspected"), 12.0),
            (t("覆盖率%", "Coverage %"), 10.0),
            (t("检查次数", "Inspections"), 10.0),
            (t("本期发现隐患", "Found"), 12.0),
            (t("每百场所隐患", "Per 100 venues"), 12.0),
            (t("即改率%", "Fixed on the spot %"), 10.0),
            (t("本期销号", "Closed"), 10.0),
            (t("累计整改率%", "Rectified to date %"), 12.0),
            (t("逾期", "Overdue"), 8.0),
            (t("回潮", "Recurred"), 8.0),
        ],
        &bold,
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
        match v.per_100().parse::<f64>() {
            Ok(x) => ws.write_number_with_format(row, 6, x, &one_decimal)?,
            Err(_) => ws.write_string(row, 6, "—")?,
        };
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
    filter(ws, 0, r.villages.len() as u32, n)?;

    let ws = wb.add_worksheet().set_name(t("重点事项", "Focus items"))?;
    let n = header(
        ws,
        0,
        &[
            (t("事项", "Item"), 40.0),
            (t("领域", "Domain"), 14.0),
            (t("本期发现", "Found"), 10.0),
            (t("未销号", "Open"), 10.0),
            (t("涉及场所", "Venues"), 10.0),
            (t("占检查场所%", "Of inspected %"), 12.0),
        ],
        &bold,
    )?;
    for (i, f) in r.focus.iter().enumerate() {
        let row = i as u32 + 1;
        crate::export::xlsx_text(ws, row, 0, &f.title_zh, None)?;
        crate::export::xlsx_text(ws, row, 1, &l.domain(&f.domain), None)?;
        for (c, n) in [f.found, f.open, f.venues, f.venues_pct].iter().enumerate() {
            ws.write_number(row, 2 + c as u16, *n as f64)?;
        }
    }
    filter(ws, 0, r.focus.len() as u32, n)?;

    // Typical cases with their photos in the sheet (thumbnails; a photo the relay cannot read
    // is named as missing rather than failing the workbook).
    let ws = wb
        .add_worksheet()
        .set_name(t("典型案例", "Typical cases"))?;
    let n = header(
        ws,
        0,
        &[
            (t("隐患", "Hazard"), 30.0),
            (t("场所", "Venue"), 20.0),
            (t("村居", "Village"), 10.0),
            (t("等级", "Severity"), 12.0),
            (t("状态", "State"), 12.0),
            (t("依据", "Basis"), 40.0),
            (t("整改前", "Before"), 26.0),
            (t("整改后", "After"), 26.0),
        ],
        &bold,
    )?;
    for (i, c) in r.cases.iter().enumerate() {
        let row = i as u32 + 1;
        ws.set_row_height(row, 120.0)?;
        let texts = [
            c.title_zh.clone(),
            c.venue_name.clone(),
            c.village_zh.clone(),
            l.severity(&c.severity),
            l.state(&c.state),
            c.basis.clone(),
        ];
        for (col, v) in texts.iter().enumerate() {
            crate::export::xlsx_text(ws, row, col as u16, v, None)?;
        }
        for (col, sha) in [(6u16, Some(&c.before_thumb)), (7, c.after_photo.as_ref())] {
            let Some(sha) = sha else {
                ws.write_string(row, col, "—")?;
                continue;
            };
            match blobs
                .get(sha)
                .ok()
                .and_then(|b| Image::new_from_buffer(&b).ok())
            {
                Some(img) => {
                    ws.insert_image_fit_to_cell(row, col, &img, true)?;
                }
                None => {
                    ws.write_string(row, col, t("照片缺失", "Photo missing"))?;
                }
            }
        }
    }
    filter(ws, 0, r.cases.len() as u32, n)?;

    let ws = wb
        .add_worksheet()
        .set_name(t("重大隐患台账", "Major hazards"))?;
    ws.write_string_with_format(
        0,
        0,
        if en {
            format!(
                "Stock {} ({} open) · increment {} ({} open)",
                r.major_stock, r.major_stock_open, r.major_increment, r.major_increment_open
            )
        } else {
            format!(
                "存量 {}（未销号 {}） · 增量 {}（未销号 {}）",
                r.major_stock, r.major_stock_open, r.major_increment, r.major_increment_open
            )
        },
        &bold,
    )?;
    let n = header(
        ws,
        1,
        &[
            (t("场所", "Venue"), 20.0),
            (t("村居", "Village"), 10.0),
            (t("领域", "Domain"), 14.0),
            (t("隐患", "Hazard"), 30.0),
            (t("依据条款", "Basis"), 40.0),
            (t("发现日期", "Found on"), 12.0),
            (t("发现年度", "Year found"), 10.0),
            (t("存量/增量", "Stock / increment"), 10.0),
            (t("等级", "Severity"), 14.0),
            (t("状态", "State"), 12.0),
            (t("整改期限", "Due"), 12.0),
            (t("治理方案", "Plan"), 10.0),
            (t("挂牌督办", "Supervision"), 24.0),
            (t("升级提请次数", "Escalations"), 14.0),
        ],
        &bold,
    )?;
    for (i, m) in r.majors.iter().enumerate() {
        let row = i as u32 + 2;
        let texts = [
            &m.venue_name,
            &m.village_zh,
            &l.domain(&m.domain),
            &m.title_zh,
            &m.basis,
        ];
        for (c, v) in texts.iter().enumerate() {
            crate::export::xlsx_text(ws, row, c as u16, v.as_str(), None)?;
        }
        date_cell(ws, row, 5, &m.found, &day)?;
        ws.write_number(row, 6, f64::from(m.year))?;
        crate::export::xlsx_text(
            ws,
            row,
            7,
            if m.stock {
                t("存量", "Stock")
            } else {
                t("增量", "Increment")
            },
            None,
        )?;
        crate::export::xlsx_text(ws, row, 8, &l.severity(&m.severity), None)?;
        crate::export::xlsx_text(ws, row, 9, &l.state(&m.state), None)?;
        date_cell(ws, row, 10, &m.due_date, &day)?;
        crate::export::xlsx_text(
            ws,
            row,
            11,
            if m.plan {
                t("有", "Yes")
            } else {
                t("无", "None")
            },
            None,
        )?;
        crate::export::xlsx_text(ws, row, 12, &super::report::supervision_text(m, en), None)?;
        ws.write_number(row, 13, m.escalations as f64)?;
    }
    filter(ws, 1, r.majors.len() as u32 + 1, n)?;
    super::report_sheets::lists(&mut wb, r, &l, en)?;
    wb.save_to_buffer()
}
