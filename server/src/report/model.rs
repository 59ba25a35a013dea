//! What a report holds: counts per domain and village, focus items, typical cases, the major-hazard
//! ledger.

use super::*;
use serde::{Deserialize, Serialize};

/// The counts of one domain × village cell (or a total).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub venues_inspected: i64,
    pub found_general: i64,
    pub found_major: i64,
    pub on_spot: i64,
    pub rectified: i64,
    pub closed: i64,
    pub open: i64,
    pub overdue: i64,
    /// Found in the period, per [`REPORT_SOURCES`].
    pub by_source: [i64; 6],
}

impl Counts {
    pub(crate) fn add(&mut self, o: &Counts) {
        self.venues_inspected += o.venues_inspected;
        self.found_general += o.found_general;
        self.found_major += o.found_major;
        self.on_spot += o.on_spot;
        self.rectified += o.rectified;
        self.closed += o.closed;
        self.open += o.open;
        self.overdue += o.overdue;
        for (a, b) in self.by_source.iter_mut().zip(o.by_source) {
            *a += b;
        }
    }

    pub fn found(&self) -> i64 {
        self.found_general + self.found_major
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DomainRow {
    pub village: String,
    pub village_zh: String,
    pub c: Counts,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DomainBlock {
    pub domain: String,
    pub label_zh: String,
    pub label_en: String,
    pub rows: Vec<DomainRow>,
    pub total: Counts,
}

/// Per-village statistics (§6.4 "Per-village statistics").
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct VillageStats {
    pub village: String,
    pub village_zh: String,
    pub venues: i64,
    pub inspected: i64,
    pub inspections: i64,
    pub found: i64,
    pub on_spot: i64,
    pub closed: i64,
    /// Every hazard found up to the period's end, and how many of them are closed.
    pub registered_total: i64,
    pub closed_total: i64,
    pub overdue: i64,
    pub recurrences: i64,
}

impl VillageStats {
    pub fn coverage_pct(&self) -> i64 {
        pct(self.inspected, self.venues)
    }
    /// Hazards found in the period per 100 venues in the register, one decimal.
    pub fn per_100(&self) -> String {
        if self.venues == 0 {
            "—".into()
        } else {
            format!("{:.1}", self.found as f64 * 100.0 / self.venues as f64)
        }
    }
    pub fn rectification_pct(&self) -> i64 {
        pct(self.closed_total, self.registered_total)
    }
    pub fn on_spot_pct(&self) -> i64 {
        pct(self.on_spot, self.found)
    }
}

pub(crate) fn pct(a: i64, b: i64) -> i64 {
    if b == 0 { 0 } else { a * 100 / b }
}

/// A focus item (GEN★): found in the period, at how many venues, and the share of the venues
/// inspected in its domain.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FocusRow {
    pub item_id: String,
    pub title_zh: String,
    pub title_en: String,
    pub domain: String,
    pub found: i64,
    pub open: i64,
    pub venues: i64,
    pub venues_pct: i64,
}

/// A typical case: a hazard found in the period, with its first before photo and last after photo.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Case {
    pub id: String,
    pub title_zh: String,
    pub venue_name: String,
    pub village_zh: String,
    pub severity: String,
    pub state: String,
    pub basis: String,
    pub before_thumb: String,
    pub after_photo: Option<String>,
}

/// A row of the major-hazard ledger (§6.4 "Major-hazard ledger: 存量 vs 增量").
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MajorRow {
    pub id: String,
    pub venue_name: String,
    pub village_zh: String,
    pub domain: String,
    pub title_zh: String,
    pub basis: String,
    pub found: String,
    pub year: i32,
    pub severity: String,
    pub state: String,
    pub due_date: String,
    pub plan: bool,
    pub escalations: i64,
    /// 挂牌督办: level (`city` / `district`) and document number.
    #[serde(default)]
    pub supervision: Option<(String, String)>,
    /// Stock: found in the plan's stock year or earlier (see [`stock_year`]).
    pub stock: bool,
}

/// Confirmed majors by the year they were found (the plan's stock years in one row).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct YearRow {
    /// The year found; the stock row carries the stock year ("2024年及以前").
    pub year: i32,
    pub stock: bool,
    pub found: i64,
    /// Open at the start of the report's year.
    pub open_at_year_start: i64,
    /// Closed in the report's year, up to the period's end.
    pub closed_this_year: i64,
    pub open: i64,
}

/// An overdue hazard (§6.4 "Overdue list"), as of the period's end.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OverdueRow {
    pub id: String,
    pub venue_name: String,
    pub village_zh: String,
    pub title_zh: String,
    pub title_en: String,
    pub severity: String,
    /// The lead departments by name (zh, en).
    pub depts_zh: String,
    pub depts_en: String,
    pub responsible: String,
    pub phone: String,
    pub due_date: String,
    pub days: i64,
    pub escalations: i64,
    /// It became overdue within this period.
    pub new_in_period: bool,
}

/// A record that reached the relay after an earlier period was issued, dated inside it: listed,
/// never changing the issued report.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LateRow {
    /// The issued period it belongs to.
    pub period_key: String,
    pub period_zh: String,
    pub period_en: String,
    /// `hazard` (found or changed state) or `inspection`.
    pub kind: String,
    pub id: String,
    pub venue_name: String,
    pub title_zh: String,
    pub title_en: String,
    /// When it happened (YYYY-MM-DD).
    pub day: String,
    /// What it would change in the issued figures, in words.
    pub change_zh: String,
    pub change_en: String,
    /// The fingerprint this late row answers, so a later report does not list it again.
    pub key: String,
}

/// The issuance of a report: its number, when and by whom.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Issued {
    pub number: String,
    pub issued_ms: i64,
    pub issued_by: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Report {
    pub period: Period,
    pub generated_at: String,
    /// Set when the report is the issued one (its figures as they were handed over).
    #[serde(default)]
    pub issued: Option<Issued>,
    pub totals: Counts,
    pub domains: Vec<DomainBlock>,
    pub villages: Vec<VillageStats>,
    pub focus: Vec<FocusRow>,
    pub cases: Vec<Case>,
    /// Confirmed majors open at the period's end or closed in the report's year.
    pub majors: Vec<MajorRow>,
    /// Major candidates awaiting the lead department's confirmation, listed apart.
    pub candidates: Vec<MajorRow>,
    pub stock_year: i32,
    pub by_year: Vec<YearRow>,
    /// Confirmed majors found in the stock years and open at the start of the report's year.
    pub major_stock: i64,
    pub major_stock_open: i64,
    /// Confirmed majors found in the report's year.
    pub major_increment: i64,
    pub major_increment_open: i64,
    /// Overdue at the period's end, most days overdue first.
    pub overdue: Vec<OverdueRow>,
    /// Records dated in earlier issued periods that arrived after they were issued.
    #[serde(default)]
    pub late: Vec<LateRow>,
    /// What each counted record contributed (hazard id and flags, inspection id): an issued
    /// report keeps them so that records arriving later can be told apart.
    #[serde(default)]
    pub members: Vec<String>,
}
