//! GridSafe core: the offline heart of the grid worker's phone.
//!
//! - [`template`]: versioned, bilingual, content-hashed checklist templates (data files).
//! - [`eval`]: answers → item results → proposed hazards.
//! - [`records`]: venues, inspections and hazards as automerge documents.
//! - [`lifecycle`]: the hazard lifecycle as a deterministic fold of append-only events.
//! - [`projection`]: the list tables derived from records, shared by the phone and the relay.
//! - [`store`]: the phone's SQLite store with projections for every list.
//! - [`notice`], [`owner_link`]: the rectification notice and the signed link to the owner's page.
//!
//! This crate does no network I/O and depends on no async runtime or FFI crate: its only I/O is
//! the SQLite file it is given (in [`store`]).

pub mod citations;
pub mod clock;
pub mod directory;
pub mod error;
pub mod eval;
pub mod evidence;
pub mod field;
pub mod hazard_state;
pub mod ids;
pub mod integrity;
pub mod issuer;
pub mod labels;
pub mod lifecycle;
pub mod limits;
pub mod notice;
pub mod owner_link;
pub mod policy;
pub mod profile;
pub mod projection;
pub mod records;
pub mod self_report;
pub mod store;
pub mod store_key;
pub mod sync;
pub mod template;
pub mod workflow;

pub use error::{Error, Result};
pub use store::Store;
