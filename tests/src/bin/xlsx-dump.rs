//! Prints a workbook's sheets as JSON (`{"sheet": [["cell", ...], ...]}`), read with calamine: the
//! browser tests compare a downloaded export with the relay's own figures through it.

use calamine::{Reader, Xlsx};

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: xlsx-dump FILE.xlsx");
        std::process::exit(2);
    };
    let mut wb: Xlsx<_> = match calamine::open_workbook(&path) {
        Ok(wb) => wb,
        Err(e) => {
            eprintln!("{path}: not a readable workbook: {e}");
            std::process::exit(1);
        }
    };
    let mut out = serde_json::Map::new();
    for name in wb.sheet_names() {
        let range = match wb.worksheet_range(&name) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("{path}: sheet {name}: {e}");
                std::process::exit(1);
            }
        };
        let rows: Vec<Vec<String>> = range
            .rows()
            .map(|r| r.iter().map(|c| c.to_string()).collect())
            .collect();
        out.insert(name, serde_json::json!(rows));
    }
    println!("{}", serde_json::Value::Object(out));
}
