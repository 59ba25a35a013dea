//! The grid worker's app as data (issue #33): for each screen, what a shell renders — every text
//! already in the reader's language from the label layer, every choice already decided by the
//! core's rules — and, for each action, one call that checks and records it. The Android and iOS
//! shells only lay these out and run effects (the camera, sharing a notice); no rule lives there.
//!
//! Screens are built when asked, from the store's projections: nothing here is stored, so nothing
//! can go stale (a re-check is due because of a deadline today, not because a task was saved).

pub mod hazard;
mod input;
pub mod sync;
pub mod ticket;
pub mod today;
pub mod venue_form;
pub mod venues;
pub mod walk;

pub use hazard::{Finding, HazardScreen, HistoryLine, Need, Offer};
pub use sync::{RefusedLine, SyncScreen};
pub use ticket::{TicketItem, TicketScreen, TicketVenue, Verdict};
pub use today::{Opens, Today, TodayKind, TodayRow, TodaySection};
pub use venues::{ChecklistChoice, VenueFile, VenueFilter, VenueList, VenueListRow};
pub use walk::{FieldInput, ItemState, Walk, WalkBlocker, WalkField, WalkItem};

/// Rows a screen's list shows before "more" (the count says how many there are).
pub const ROWS: usize = 20;
