//! Cells of the office's spreadsheets (CSV, XLSX) that a spreadsheet program would read as a
//! formula — text starting with `=`, `+`, `-`, `@`, a tab or a carriage return, from a venue
//! name, an address, a note a phone or an owner typed — are written as text: a quote prefix in
//! CSV, the quote-prefix cell attribute in XLSX. The value is shown as typed; nothing runs.

use std::borrow::Cow;

use rust_xlsxwriter::{Format, Worksheet, XlsxError};

/// Whether a spreadsheet program would take `s` for a formula.
pub fn formula_like(s: &str) -> bool {
    matches!(s.chars().next(), Some('=' | '+' | '-' | '@' | '\t' | '\r'))
}

/// A CSV cell: formula-like text behind a quote.
pub fn csv_cell(s: &str) -> Cow<'_, str> {
    if formula_like(s) {
        Cow::Owned(format!("'{s}"))
    } else {
        Cow::Borrowed(s)
    }
}

/// Writes text into an XLSX cell with `format` (or none), marked as text when formula-like.
pub fn xlsx_text(
    ws: &mut Worksheet,
    row: u32,
    col: u16,
    s: &str,
    format: Option<&Format>,
) -> Result<(), XlsxError> {
    match (formula_like(s), format) {
        (true, f) => {
            let quoted = f.cloned().unwrap_or_default().set_quote_prefix();
            ws.write_string_with_format(row, col, s, &quoted)?;
        }
        (false, Some(f)) => {
            ws.write_string_with_format(row, col, s, f)?;
        }
        (false, None) => {
            ws.write_string(row, col, s)?;
        }
    }
    Ok(())
}

/// Writes a date into an XLSX cell as a real date (Shanghai calendar day).
pub fn xlsx_date(
    ws: &mut Worksheet,
    row: u32,
    col: u16,
    d: time::Date,
    format: &Format,
) -> Result<(), XlsxError> {
    let dt = rust_xlsxwriter::ExcelDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day())?;
    ws.write_datetime_with_format(row, col, &dt, format)?;
    Ok(())
}

/// Writes a time (ms since the epoch) into an XLSX cell as a real date-time in Shanghai time.
pub fn xlsx_minute(
    ws: &mut Worksheet,
    row: u32,
    col: u16,
    ms: i64,
    format: &Format,
) -> Result<(), XlsxError> {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .to_offset(time::macros::offset!(+8));
    let dt = rust_xlsxwriter::ExcelDateTime::from_ymd(t.year() as u16, t.month() as u8, t.day())?
        .and_hms(u16::from(t.hour()), t.minute(), 0)?;
    ws.write_datetime_with_format(row, col, &dt, format)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_like_text_is_marked_as_text() {
        for s in ["=1+1", "+86 138", "-5", "@SUM(A1)", "\t=x", "\r=x"] {
            assert!(formula_like(s), "{s:?}");
            assert!(csv_cell(s).starts_with('\''), "{s:?}");
        }
        for s in ["老王小吃", "1+1", "a=b", ""] {
            assert!(!formula_like(s), "{s:?}");
            assert_eq!(csv_cell(s), s);
        }
    }
}
