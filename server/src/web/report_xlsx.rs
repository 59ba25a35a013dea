//! The monthly report as a workbook the district can use: one sheet per table, Chinese headers,
//! labels not codes, numbers and dates as number and date cells, column widths, the header row
//! frozen with a filter on it, and the typical cases' photos embedded.

use rust_xlsxwriter::{Format, Image, Workbook, Worksheet, XlsxError};

use crate::blobs::BlobStore;
use crate::report::{self, Counts, Report};
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

/// Writes a header row with widths, freezes the rows above and including it, and returns the
/// number of columns (for the filter set once the rows are written).
fn header(ws: &mut Worksheet, row: u32, cols: &[(&str, f64)], bold: &Format) -> R<u16> {
    for (c, (name, width)) in cols.iter().enumerate() {
        ws.set_column_width(c as u16, *width)?;
        ws.write_string_with_format(row, c as u16, *name, bold)?;
    }
    ws.set_freeze_panes(row + 1, 0)?;
    Ok(cols.len() as u16)
}

fn filter(ws: &mut Worksheet, header_row: u32, last_row: u32, cols: u16) -> R<()> {
    ws.autofilter(header_row, 0, last_row.max(header_row + 1), cols - 1)?;
    Ok(())
}

fn date_cell(ws: &mut Worksheet, row: u32, col: u16, d: &str, day: &Format) -> R<()> {
    match gridsafe_core::clock::parse_date(d) {
        Ok(d) => crate::export::xlsx_date(ws, row, col, d, day),
        Err(_) => crate::export::xlsx_text(ws, row, col, "—", None),
    }
}

pub(crate) fn workbook(r: &Report, blobs: &dyn BlobStore) -> R<Vec<u8>> {
    let l = Labels::new(None, Lang::Zh);
    let bold = Format::new().set_bold();
    let day = Format::new().set_num_format("yyyy-mm-dd");
    let one_decimal = Format::new().set_num_format("0.0");
    let mut wb = Workbook::new();

    let ws = wb.add_worksheet().set_name("汇总")?;
    ws.write_string_with_format(
        0,
        0,
        format!("月报 · 统计期 {} 至 {}", r.period.from, r.period.to),
        &bold,
    )?;
    crate::export::xlsx_text(
        ws,
        1,
        0,
        &format!(
            "生成时间 {} · 未销号、逾期为生成时数据",
            l.time(&r.generated_at)
        ),
        None,
    )?;
    let mut cols: Vec<(&str, f64)> = vec![("领域", 16.0), ("村居", 12.0)];
    cols.extend(COUNT_COLUMNS.iter().map(|c| (*c, 12.0)));
    let n = header(ws, 3, &cols, &bold)?;
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
    filter(ws, 3, row, n)?;

    let ws = wb.add_worksheet().set_name("村居统计")?;
    let n = header(
        ws,
        0,
        &[
            ("村居", 12.0),
            ("在册场所", 10.0),
            ("本期检查场所", 12.0),
            ("覆盖率%", 10.0),
            ("检查次数", 10.0),
            ("本期发现隐患", 12.0),
            ("每百场所隐患", 12.0),
            ("即改率%", 10.0),
            ("本期销号", 10.0),
            ("累计整改率%", 12.0),
            ("逾期", 8.0),
            ("回潮", 8.0),
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

    let ws = wb.add_worksheet().set_name("重点事项")?;
    let n = header(
        ws,
        0,
        &[
            ("事项", 40.0),
            ("领域", 14.0),
            ("本期发现", 10.0),
            ("未销号", 10.0),
            ("涉及场所", 10.0),
            ("占检查场所%", 12.0),
        ],
        &bold,
    )?;
    for (i, f) in r.focus.iter().enumerate() {
        let row = i as u32 + 1;
        crate::export::xlsx_text(ws, row, 0, &f.title_zh, None)?;
        crate::export::xlsx_text(ws, row, 1, report::domain_label(&f.domain).0, None)?;
        for (c, n) in [f.found, f.open, f.venues, f.venues_pct].iter().enumerate() {
            ws.write_number(row, 2 + c as u16, *n as f64)?;
        }
    }
    filter(ws, 0, r.focus.len() as u32, n)?;

    // Typical cases with their photos in the sheet (thumbnails; a photo the relay cannot read
    // is named as missing rather than failing the workbook).
    let ws = wb.add_worksheet().set_name("典型案例")?;
    let n = header(
        ws,
        0,
        &[
            ("隐患", 30.0),
            ("场所", 20.0),
            ("村居", 10.0),
            ("等级", 12.0),
            ("状态", 12.0),
            ("依据", 40.0),
            ("整改前", 26.0),
            ("整改后", 26.0),
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
                    ws.write_string(row, col, "照片缺失")?;
                }
            }
        }
    }
    filter(ws, 0, r.cases.len() as u32, n)?;

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
    let n = header(
        ws,
        1,
        &[
            ("场所", 20.0),
            ("村居", 10.0),
            ("领域", 14.0),
            ("隐患", 30.0),
            ("依据条款", 40.0),
            ("发现日期", 12.0),
            ("发现年度", 10.0),
            ("存量/增量", 10.0),
            ("等级", 14.0),
            ("状态", 12.0),
            ("整改期限", 12.0),
            ("治理方案", 10.0),
            ("挂牌督办提请次数", 16.0),
        ],
        &bold,
    )?;
    for (i, m) in r.majors.iter().enumerate() {
        let row = i as u32 + 2;
        let texts = [
            &m.venue_name,
            &m.village_zh,
            &report::domain_label(&m.domain).0.to_owned(),
            &m.title_zh,
            &m.basis,
        ];
        for (c, v) in texts.iter().enumerate() {
            crate::export::xlsx_text(ws, row, c as u16, v.as_str(), None)?;
        }
        date_cell(ws, row, 5, &m.found, &day)?;
        ws.write_number(row, 6, f64::from(m.year))?;
        crate::export::xlsx_text(ws, row, 7, if m.stock { "存量" } else { "增量" }, None)?;
        crate::export::xlsx_text(ws, row, 8, &l.severity(&m.severity), None)?;
        crate::export::xlsx_text(ws, row, 9, &l.state(&m.state), None)?;
        date_cell(ws, row, 10, &m.due_date, &day)?;
        crate::export::xlsx_text(ws, row, 11, if m.plan { "有" } else { "无" }, None)?;
        ws.write_number(row, 12, m.escalations as f64)?;
    }
    filter(ws, 1, r.majors.len() as u32 + 1, n)?;
    wb.save_to_buffer()
}
