//! The report workbook's lists: the overdue list, the major candidates awaiting confirmation,
//! the majors by the year found, and the records that arrived late for issued periods.

use rust_xlsxwriter::{Format, Workbook, XlsxError};

use super::report_xlsx::{date_cell, filter, header};
use crate::report::Report;
use gridsafe_core::labels::Labels;

type R<T> = Result<T, XlsxError>;

pub(super) fn lists(wb: &mut Workbook, r: &Report, l: &Labels<'_>, en: bool) -> R<()> {
    let t = |zh: &'static str, en_text: &'static str| if en { en_text } else { zh };
    let pick = |zh: &str, en_text: &str| l.pick(zh, en_text).to_owned();
    let bold = Format::new().set_bold();
    let day = Format::new().set_num_format("yyyy-mm-dd");
    let text = crate::export::xlsx_text;

    let ws = wb.add_worksheet().set_name(t("逾期清单", "Overdue"))?;
    let n = header(
        ws,
        0,
        &[
            (t("逾期天数", "Days overdue"), 10.0),
            (t("本期新增", "New this period"), 10.0),
            (t("隐患", "Hazard"), 30.0),
            (t("等级", "Severity"), 12.0),
            (t("场所", "Venue"), 20.0),
            (t("村居", "Village"), 10.0),
            (t("责任人", "Responsible person"), 12.0),
            (t("电话", "Phone"), 14.0),
            (t("牵头部门", "Lead department"), 20.0),
            (t("整改期限", "Due"), 12.0),
            (t("升级督办", "Escalations"), 10.0),
        ],
        &bold,
    )?;
    for (i, o) in r.overdue.iter().enumerate() {
        let row = i as u32 + 1;
        ws.write_number(row, 0, o.days as f64)?;
        text(
            ws,
            row,
            1,
            if o.new_in_period { t("是", "Yes") } else { "" },
            None,
        )?;
        text(ws, row, 2, &pick(&o.title_zh, &o.title_en), None)?;
        text(ws, row, 3, &l.severity(&o.severity), None)?;
        text(ws, row, 4, &o.venue_name, None)?;
        text(ws, row, 5, &o.village_zh, None)?;
        text(ws, row, 6, &o.responsible, None)?;
        text(ws, row, 7, &o.phone, None)?;
        text(ws, row, 8, &pick(&o.depts_zh, &o.depts_en), None)?;
        date_cell(ws, row, 9, &o.due_date, &day)?;
        ws.write_number(row, 10, o.escalations as f64)?;
    }
    filter(ws, 0, r.overdue.len() as u32, n)?;

    let ws = wb
        .add_worksheet()
        .set_name(t("重大隐患存量增量", "Majors by year"))?;
    let n = header(
        ws,
        0,
        &[
            (t("发现年度", "Year found"), 18.0),
            (t("已认定", "Confirmed"), 10.0),
            (t("年初未销号", "Open at the year's start"), 14.0),
            (t("本年销号", "Closed this year"), 12.0),
            (t("未销号", "Open"), 10.0),
        ],
        &bold,
    )?;
    for (i, y) in r.by_year.iter().enumerate() {
        let row = i as u32 + 1;
        let year = match (y.stock, en) {
            (true, false) => format!("{}年及以前（存量）", y.year),
            (true, true) => format!("{} or earlier (stock)", y.year),
            (false, false) => format!("{}年", y.year),
            (false, true) => y.year.to_string(),
        };
        text(ws, row, 0, &year, None)?;
        for (c, v) in [y.found, y.open_at_year_start, y.closed_this_year, y.open]
            .iter()
            .enumerate()
        {
            ws.write_number(row, 1 + c as u16, *v as f64)?;
        }
    }
    filter(ws, 0, r.by_year.len() as u32, n)?;

    let ws = wb
        .add_worksheet()
        .set_name(t("重大隐患待认定", "Major candidates"))?;
    let n = header(
        ws,
        0,
        &[
            (t("隐患", "Hazard"), 30.0),
            (t("场所", "Venue"), 20.0),
            (t("村居", "Village"), 10.0),
            (t("领域", "Domain"), 14.0),
            (t("发现日期", "Found on"), 12.0),
            (t("状态", "State"), 12.0),
        ],
        &bold,
    )?;
    for (i, m) in r.candidates.iter().enumerate() {
        let row = i as u32 + 1;
        text(ws, row, 0, &m.title_zh, None)?;
        text(ws, row, 1, &m.venue_name, None)?;
        text(ws, row, 2, &m.village_zh, None)?;
        text(ws, row, 3, &l.domain(&m.domain), None)?;
        date_cell(ws, row, 4, &m.found, &day)?;
        text(ws, row, 5, &l.state(&m.state), None)?;
    }
    filter(ws, 0, r.candidates.len() as u32, n)?;

    let ws = wb.add_worksheet().set_name(t("迟报记录", "Late records"))?;
    let n = header(
        ws,
        0,
        &[
            (t("所属统计期", "Period"), 16.0),
            (t("记录", "Record"), 30.0),
            (t("场所", "Venue"), 20.0),
            (t("日期", "Date"), 12.0),
            (t("说明", "Note"), 36.0),
        ],
        &bold,
    )?;
    for (i, x) in r.late.iter().enumerate() {
        let row = i as u32 + 1;
        text(ws, row, 0, &pick(&x.period_zh, &x.period_en), None)?;
        text(ws, row, 1, &pick(&x.title_zh, &x.title_en), None)?;
        text(ws, row, 2, &x.venue_name, None)?;
        date_cell(ws, row, 3, &x.day, &day)?;
        text(ws, row, 4, &pick(&x.change_zh, &x.change_en), None)?;
    }
    filter(ws, 0, r.late.len() as u32, n)?;
    Ok(())
}
