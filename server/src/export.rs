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
