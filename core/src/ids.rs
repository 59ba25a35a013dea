//! Record and event ids: UUIDv7, time-ordered, and the check that keeps anything else out of SQL
//! and documents.

use crate::error::{Error, Result};

/// A new record or event id: a UUIDv7 (time-ordered).
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Ids are UUIDs; anything else is refused before it reaches SQL or a document.
pub fn check_id(kind: &str, id: &str) -> Result<()> {
    uuid::Uuid::parse_str(id)
        .map(|_| ())
        .map_err(|_| Error::invalid(format!("{kind} id {id:?} is not a UUID")))
}
