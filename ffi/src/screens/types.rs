//! The screens' records and enums, as the shells receive them.

use gridsafe_core::labels::Lang;

/// The language a screen's text is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Language {
    Zh,
    En,
}

impl From<Language> for Lang {
    fn from(l: Language) -> Lang {
        match l {
            Language::Zh => Lang::Zh,
            Language::En => Lang::En,
        }
    }
}

/// What a row of Today opens.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum Opens {
    Hazard { id: String },
    Ticket { id: String },
    Venue { id: String },
}

/// Which list a Today section is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum TodayKind {
    Overdue,
    RecheckDue,
    TicketsToVerify,
    NotInspectedThisMonth,
}

/// One row of a Today list.
#[derive(Debug, Clone, uniffi::Record)]
pub struct TodayRow {
    pub opens: Opens,
    pub title: String,
    pub detail: String,
}

/// One list of Today, its count over all rows and the first rows.
#[derive(Debug, Clone, uniffi::Record)]
pub struct TodaySection {
    pub kind: TodayKind,
    pub title: String,
    pub count: u64,
    pub rows: Vec<TodayRow>,
}

/// The Today screen.
#[derive(Debug, Clone, uniffi::Record)]
pub struct TodayScreen {
    pub sections: Vec<TodaySection>,
    pub pending_records: u64,
    pub pending_photos: u64,
    /// "上次同步 2026-12-03 15:52" or "尚未同步".
    pub sync_line: String,
    /// A refused record or a wrong clock, with what to do.
    pub sync_warning: Option<String>,
}

/// How the venue list is filtered.
#[derive(Debug, Clone, uniffi::Record)]
pub struct VenueFilter {
    /// Part of a name or an address; empty for all.
    #[uniffi(default = "")]
    pub text: String,
    #[uniffi(default = false)]
    pub not_inspected_this_month: bool,
    #[uniffi(default = false)]
    pub with_open_hazards: bool,
    /// 0-based.
    #[uniffi(default = 0)]
    pub page: u32,
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct VenueListRow {
    pub id: String,
    pub name: String,
    pub address: String,
    pub last_inspection: String,
    pub open_hazards: u32,
}

/// A page of the venue list.
#[derive(Debug, Clone, uniffi::Record)]
pub struct VenueListScreen {
    pub rows: Vec<VenueListRow>,
    pub total: u32,
    pub page: u32,
    pub pages: u32,
}

/// A checklist and whether it applies to the venue, with why.
#[derive(Debug, Clone, uniffi::Record)]
pub struct ChecklistChoice {
    pub template_id: String,
    pub title: String,
    pub applies: bool,
    pub why: String,
}

/// A line of a list: the record it opens, a title and a detail.
#[derive(Debug, Clone, uniffi::Record)]
pub struct Line {
    pub id: String,
    pub title: String,
    pub detail: String,
}

/// A label and its value, in words.
#[derive(Debug, Clone, uniffi::Record)]
pub struct LabelValue {
    pub label: String,
    pub value: String,
}

/// A venue field two people set differently.
#[derive(Debug, Clone, uniffi::Record)]
pub struct ConflictLine {
    pub field: String,
    pub field_label: String,
    pub kept: String,
    pub others: Vec<String>,
}

/// A venue's file.
#[derive(Debug, Clone, uniffi::Record)]
pub struct VenueFileScreen {
    pub id: String,
    pub name: String,
    pub address: String,
    pub grid: String,
    pub responsible: String,
    pub profile: Vec<LabelValue>,
    pub checklists: Vec<ChecklistChoice>,
    pub inspections: Vec<Line>,
    pub open_hazards: Vec<Line>,
    pub conflicts: Vec<ConflictLine>,
}

/// A choice's option.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct OptionLabel {
    pub key: String,
    pub label: String,
}

/// How a field is answered.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum FieldInput {
    /// 是 / 否 / 不适用 (this question does not apply here).
    YesNo,
    Number {
        unit: String,
    },
    Count,
    Choice {
        options: Vec<OptionLabel>,
    },
    Multi {
        options: Vec<OptionLabel>,
    },
    Text,
}

/// One field of a walk item.
#[derive(Debug, Clone, uniffi::Record)]
pub struct WalkField {
    pub key: String,
    pub label: String,
    pub input: FieldInput,
    /// What passes, in words ("≤ 2 米").
    pub rule: Option<String>,
    /// The answer so far, in words.
    pub answer: Option<String>,
    /// Which choices the answer is (`yes` / `no` / `na`, option keys): what a shell marks.
    pub chosen: Vec<String>,
}

/// Where a walk item stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ItemState {
    Unanswered,
    Pass,
    Fail,
    NeedsPhoto,
    NotApplicable,
    Info,
}

/// One applicable item of the walk.
#[derive(Debug, Clone, uniffi::Record)]
pub struct WalkItem {
    pub id: String,
    pub number: u32,
    pub question: String,
    pub help: Option<String>,
    pub fields: Vec<WalkField>,
    pub photo: Option<String>,
    pub photos_taken: u32,
    pub state: ItemState,
    pub findings: Vec<String>,
}

/// What blocks finishing, for one item.
#[derive(Debug, Clone, uniffi::Record)]
pub struct WalkBlocker {
    pub item_id: String,
    pub number: u32,
    pub question: String,
    pub why: String,
}

/// The inspection walk.
#[derive(Debug, Clone, uniffi::Record)]
pub struct WalkScreen {
    pub inspection_id: String,
    pub venue_name: String,
    pub checklist: String,
    pub items: Vec<WalkItem>,
    pub answered: u32,
    pub total: u32,
    pub blockers: Vec<WalkBlocker>,
    pub finished: bool,
    pub can_finish: bool,
    /// Where the walk resumes: the first item still to answer or photograph.
    pub next_item_id: Option<String>,
}

/// A typed answer to one field.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum FieldAnswer {
    Yes,
    No,
    /// 不适用 for one yes/no question; the item's other questions still count.
    NotApplicable,
    Number {
        value: f64,
    },
    Count {
        value: i64,
    },
    Choice {
        key: String,
    },
    Multi {
        keys: Vec<String>,
    },
    Text {
        value: String,
    },
    /// What was typed into a number or count box, as typed: the core reads it or refuses it in
    /// words ("「软管长度」须填写数字（米），“两米”不是数字"). A shell never parses figures.
    Typed {
        text: String,
    },
}

/// A finding the inspection will register.
#[derive(Debug, Clone, uniffi::Record)]
pub struct FindingLine {
    pub item_id: String,
    pub question: String,
    pub finding: String,
    pub severity: String,
    pub major_candidate: bool,
    pub departments: String,
    pub basis: Vec<String>,
    pub on_spot_allowed: bool,
    pub default_on_spot: bool,
    pub on_spot_deadline: String,
    pub deadline: String,
    pub already_open: bool,
}

/// An input an action needs.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum Need {
    Photo { role: String, label: String },
    Deadline { label: String },
    Text { label: String },
}

/// An action this user may take now on a hazard.
#[derive(Debug, Clone, uniffi::Record)]
pub struct Offer {
    /// What to pass to `GridStore::transition` as `ActionInput.action`.
    pub action: crate::HazardAction,
    pub label: String,
    pub needs: Vec<Need>,
}

/// One step of a hazard's history, in words.
#[derive(Debug, Clone, uniffi::Record)]
pub struct HistoryLine {
    pub at: String,
    pub what: String,
    pub who: String,
    pub note: String,
    pub refused: bool,
}

/// A hazard's screen.
#[derive(Debug, Clone, uniffi::Record)]
pub struct HazardScreen {
    pub id: String,
    pub title: String,
    pub venue: String,
    pub finding: String,
    pub state: String,
    pub severity: String,
    pub deadline: String,
    pub overdue: bool,
    pub departments: String,
    pub handler: Option<String>,
    pub basis: Vec<String>,
    pub history: Vec<HistoryLine>,
    pub actions: Vec<Offer>,
}

/// A record the relay refused (or refused from it), in words.
#[derive(Debug, Clone, uniffi::Record)]
pub struct RefusedLine {
    pub what: String,
    pub why: String,
    pub what_to_do: String,
    pub at: String,
}

/// The Sync screen.
#[derive(Debug, Clone, uniffi::Record)]
pub struct SyncScreen {
    pub last_sync: String,
    pub pending: String,
    pub pending_records: u64,
    pub pending_photos: u64,
    pub refused: Vec<RefusedLine>,
    pub clock_warning: Option<String>,
    pub notice_numbers: String,
    pub notice_numbers_warning: Option<String>,
}

/// One question of the venue form, with why it is asked.
#[derive(Debug, Clone, uniffi::Record)]
pub struct VenueQuestion {
    /// The venue field it sets, for [`FormAnswer::key`].
    pub key: String,
    pub label: String,
    pub input: FieldInput,
    pub required: bool,
    pub value: Option<String>,
    pub why: String,
}

/// An answer to one question of the venue form.
#[derive(Debug, Clone, uniffi::Record)]
pub struct FormAnswer {
    pub key: String,
    pub answer: FieldAnswer,
}
