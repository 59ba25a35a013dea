//! The relay's other untrusted inputs: a 12345 ticket CSV upload, an owner link from a QR code
//! (URL path) and a directory file. Each gives a value or an error naming what is wrong.
#![no_main]

use gridsafe_core::directory::Directory;
use gridsafe_core::owner_link;
use gridsafe_server::intake::parse_csv;
use libfuzzer_sys::fuzz_target;

const KEY: &str = "0000000000000000000000000000000000000000000000000000000000000000";

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 3 {
        0 => match parse_csv(rest) {
            Ok(rows) => assert!(
                rows.iter().all(|(line, _)| *line >= 2),
                "a ticket line number points at the header"
            ),
            Err(errs) => assert!(!errs.is_empty() && errs.iter().all(|e| !e.is_empty())),
        },
        1 => {
            let token = String::from_utf8_lossy(rest);
            // A link nobody signed never verifies, whatever it says inside.
            if let Ok(link) = owner_link::parse(&token) {
                assert!(owner_link::verify(KEY, &token, link.issued_ms).is_err());
            }
        }
        _ => {
            if let Ok(d) = Directory::from_json(rest) {
                d.validate()
                    .expect("from_json returns validated directories");
            }
        }
    }
});
