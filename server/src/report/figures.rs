//! Every figure of a report, defined once (docs/reports.md): pure functions over the rows
//! `load.rs` read, with each hazard's state taken as it stood at the period's end.

use std::collections::{BTreeMap, HashSet};

use gridsafe_core::clock::{format_date, ms_to_date, parse_date};
use gridsafe_core::hazard_state::State;
use time::Date;

use super::load::{HazardRow, Loaded, StepRow};
use super::model::{Case, Counts, DomainBlock, DomainRow, FocusRow, MajorRow, OverdueRow};
use super::model::{Report, VillageStats, YearRow, pct};
use super::{CASES, DOMAINS, Period};

/// What the figures need besides the rows: the period's instants and the directory's words.
pub struct Context<'a> {
    pub period: &'a Period,
    pub from_ms: i64,
    /// The instant after the period's last day.
    pub end_ms: i64,
    /// A hazard is overdue when its deadline is before this day, and by as many days: the
    /// period's last day, or today while the period runs.
    pub overdue_day: Date,
    pub year_start_ms: i64,
    pub stock_year: i32,
    /// Village code → its name; grid → its village; template → its domain.
    pub village_zh: &'a dyn Fn(&str) -> String,
    pub village_of_grid: &'a dyn Fn(&str) -> String,
    pub domain_of_template: &'a dyn Fn(&str) -> String,
    /// Department codes → their names (zh, en).
    pub depts: &'a dyn Fn(&[String]) -> (String, String),
}

/// A hazard's state at an instant: after the last step before it (none: not yet registered).
fn as_of(steps: &[StepRow], t: i64) -> Option<&StepRow> {
    steps.iter().take_while(|s| s.at_ms < t).last()
}

/// On the ledger at that step: registered and not refused (不予上账) or still a draft.
fn registered(s: Option<&StepRow>) -> bool {
    s.is_some_and(|s| !matches!(s.state, State::Draft | State::Rejected))
}

/// The report's source bucket of a hazard (index into `REPORT_SOURCES`): public reports by the
/// channel their ticket number starts with.
pub fn source_bucket(h: &HazardRow) -> usize {
    match h.source.as_str() {
        "inspection" => 0,
        "self_report" => 1,
        "referral" => 5,
        _ => match h.ticket_no.as_deref().and_then(|t| t.split(' ').next()) {
            Some("12345") => 2,
            Some("随申拍") => 3,
            Some("转办") => 5,
            _ => 4,
        },
    }
}

/// What one hazard contributes to a period's figures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contribution {
    pub found: bool,
    /// general / major / major_candidate, as of the period's end.
    pub severity: String,
    pub on_spot: bool,
    /// Rectification claims (即改, 整改, the owner's accepted photo) and 销号 in the period.
    pub rectified: i64,
    pub closed: i64,
    pub open: bool,
    pub overdue: bool,
    pub registered: bool,
    pub closed_at_end: bool,
}

pub fn contribution(h: &HazardRow, cx: &Context<'_>) -> Contribution {
    let end = as_of(&h.steps, cx.end_ms);
    let reg = registered(end);
    let in_period = |s: &&StepRow| s.at_ms >= cx.from_ms && s.at_ms < cx.end_ms;
    let count = |kinds: &[&str]| {
        h.steps
            .iter()
            .filter(in_period)
            .filter(|s| kinds.contains(&s.kind.as_str()))
            .count() as i64
    };
    let state = end.map_or(State::Draft, |s| s.state);
    Contribution {
        found: reg && h.found_ms >= cx.from_ms && h.found_ms < cx.end_ms,
        severity: end.map_or_else(String::new, |s| s.severity.clone()),
        on_spot: h
            .steps
            .iter()
            .any(|s| s.kind == "rectify" && s.at_ms < cx.end_ms),
        rectified: count(&["rectify", "claim", "owner_claim"]),
        closed: count(&["close"]),
        open: reg && state.is_open(),
        overdue: overdue_deadline(end, cx.overdue_day).is_some(),
        registered: reg,
        closed_at_end: state == State::Closed,
    }
}

/// The deadline an open hazard missed as of `day` (any open hazard still awaiting rectification
/// whose deadline is before `day`; a 即改 item not fixed has the visit's day as its deadline).
fn overdue_deadline(s: Option<&StepRow>, day: Date) -> Option<Date> {
    let s = s?;
    if !s.state.awaits_rectification() {
        return None;
    }
    let d = parse_date(s.deadline.as_deref()?).ok()?;
    (d < day).then_some(d)
}

impl Contribution {
    /// What an issued report remembers of this hazard, to tell a late change from none.
    pub fn fingerprint(&self, id: &str, source: usize) -> String {
        let b = |v: bool| if v { '1' } else { '0' };
        format!(
            "h:{id}:{}{}{}{}{}|{}|{}|{}|{source}",
            b(self.found),
            b(self.on_spot),
            b(self.open),
            b(self.overdue),
            b(self.registered),
            self.severity,
            self.rectified,
            self.closed
        )
    }

    /// Found in the period and counted: a general hazard or a confirmed major.
    pub fn counted(&self) -> bool {
        self.found && matches!(self.severity.as_str(), "general" | "major")
    }

    fn matters(&self) -> bool {
        self.found || self.open || self.rectified > 0 || self.closed > 0
    }
}

/// The report's figures (without its issuance and late records).
pub fn compute(cx: &Context<'_>, data: &Loaded) -> Report {
    let mut cells: BTreeMap<(String, String), Counts> = BTreeMap::new();
    let mut villages: BTreeMap<String, VillageStats> = BTreeMap::new();
    let mut members = Vec::new();
    let village = |villages: &mut BTreeMap<String, VillageStats>, v: &str| {
        if !villages.contains_key(v) {
            villages.insert(
                v.to_owned(),
                VillageStats {
                    village: v.to_owned(),
                    village_zh: (cx.village_zh)(v),
                    ..VillageStats::default()
                },
            );
        }
    };
    for (v, n) in &data.venues {
        village(&mut villages, v);
        if let Some(e) = villages.get_mut(v) {
            e.venues = *n;
        }
    }

    for (v, (registered, closed)) in &data.settled {
        village(&mut villages, v);
        if let Some(e) = villages.get_mut(v) {
            e.registered_total += registered;
            e.closed_total += closed;
        }
    }
    let contributions: Vec<Contribution> =
        data.hazards.iter().map(|h| contribution(h, cx)).collect();
    for (h, k) in data.hazards.iter().zip(&contributions) {
        let source = source_bucket(h);
        if k.matters() {
            members.push(k.fingerprint(&h.id, source));
        }
        let c = cells
            .entry((h.domain.clone(), h.village.clone()))
            .or_default();
        // Candidates awaiting confirmation are listed apart, not counted as found.
        let counted = k.counted();
        if counted {
            if k.severity == "major" {
                c.found_major += 1;
            } else {
                c.found_general += 1;
            }
            c.on_spot += i64::from(k.on_spot);
            c.by_source[source] += 1;
        }
        c.rectified += k.rectified;
        c.closed += k.closed;
        c.open += i64::from(k.open);
        c.overdue += i64::from(k.overdue);

        village(&mut villages, &h.village);
        let e = villages.get_mut(&h.village).expect("inserted above");
        e.found += i64::from(counted);
        e.on_spot += i64::from(counted && k.on_spot);
        e.closed += k.closed;
        e.registered_total += i64::from(k.registered);
        e.closed_total += i64::from(k.registered && k.closed_at_end);
        e.overdue += i64::from(k.overdue);
        e.recurrences += i64::from(counted && h.recurrence);
    }

    // Venues inspected: distinct venues with a finished inspection started in the period, per
    // the template's domain × the grid's village, and per village overall.
    let mut by_cell: BTreeMap<(String, String), HashSet<&str>> = BTreeMap::new();
    let mut by_village: BTreeMap<String, HashSet<&str>> = BTreeMap::new();
    for i in &data.inspections {
        let v = (cx.village_of_grid)(&i.grid_id);
        village(&mut villages, &v);
        if let Some(e) = villages.get_mut(&v) {
            e.inspections += 1;
        }
        if !i.finished {
            continue;
        }
        members.push(format!("i:{}", i.id));
        let d = (cx.domain_of_template)(&i.template_id);
        by_cell
            .entry((d, v.clone()))
            .or_default()
            .insert(&i.venue_id);
        by_village.entry(v).or_default().insert(&i.venue_id);
    }
    for (k, set) in by_cell {
        cells.entry(k).or_default().venues_inspected = set.len() as i64;
    }
    for (v, set) in by_village {
        if let Some(e) = villages.get_mut(&v) {
            e.inspected = set.len() as i64;
        }
    }

    let (domains, totals) = domain_blocks(&cells, cx);
    let focus = focus_rows(data, &contributions, &cells);
    let cases = typical_cases(data, &contributions, cx);
    let mut r = Report {
        period: cx.period.clone(),
        generated_at: gridsafe_core::clock::ms_to_rfc3339(gridsafe_core::clock::now_ms()),
        issued: None,
        totals,
        domains,
        villages: villages.into_values().collect(),
        focus,
        cases,
        majors: vec![],
        candidates: vec![],
        stock_year: cx.stock_year,
        by_year: vec![],
        major_stock: 0,
        major_stock_open: 0,
        major_increment: 0,
        major_increment_open: 0,
        overdue: overdue_rows(data, cx),
        late: vec![],
        members,
    };
    majors(&mut r, data, cx);
    r
}

fn domain_blocks(
    cells: &BTreeMap<(String, String), Counts>,
    cx: &Context<'_>,
) -> (Vec<DomainBlock>, Counts) {
    let mut order: Vec<String> = DOMAINS.iter().map(|d| d.0.to_owned()).collect();
    for (d, _) in cells.keys() {
        if !order.contains(d) {
            order.push(d.clone());
        }
    }
    let mut totals = Counts::default();
    let mut blocks = Vec::new();
    for d in order {
        let rows: Vec<DomainRow> = cells
            .iter()
            .filter(|((dom, _), c)| *dom == d && **c != Counts::default())
            .map(|((_, v), c)| DomainRow {
                village: v.clone(),
                village_zh: (cx.village_zh)(v),
                c: c.clone(),
            })
            .collect();
        let mut total = Counts::default();
        for r in &rows {
            total.add(&r.c);
        }
        totals.add(&total);
        let (zh, en) = super::domain_label(&d);
        blocks.push(DomainBlock {
            label_zh: zh.to_owned(),
            label_en: en.to_owned(),
            domain: d,
            rows,
            total,
        });
    }
    (blocks, totals)
}

/// Focus items (GEN★) found in the period: how often, how many still open, at how many venues
/// and their share of the venues inspected in the item's domain.
fn focus_rows(
    data: &Loaded,
    ks: &[Contribution],
    cells: &BTreeMap<(String, String), Counts>,
) -> Vec<FocusRow> {
    let mut by_item: BTreeMap<&str, (FocusRow, HashSet<&str>)> = BTreeMap::new();
    for (h, k) in data.hazards.iter().zip(ks) {
        if !(h.focus && k.counted()) {
            continue;
        }
        let e = by_item.entry(&h.item_id).or_insert_with(|| {
            (
                FocusRow {
                    item_id: h.item_id.clone(),
                    title_zh: h.title_zh.clone(),
                    title_en: h.title_en.clone(),
                    domain: h.domain.clone(),
                    found: 0,
                    open: 0,
                    venues: 0,
                    venues_pct: 0,
                },
                HashSet::new(),
            )
        });
        e.0.found += 1;
        e.0.open += i64::from(k.open);
        e.1.insert(&h.venue_id);
    }
    let mut out: Vec<FocusRow> = by_item
        .into_values()
        .map(|(mut f, venues)| {
            f.venues = venues.len() as i64;
            let inspected: i64 = cells
                .iter()
                .filter(|((d, _), _)| *d == f.domain)
                .map(|(_, c)| c.venues_inspected)
                .sum();
            f.venues_pct = pct(f.venues, inspected);
            f
        })
        .collect();
    out.sort_by(|a, b| b.found.cmp(&a.found).then(a.item_id.cmp(&b.item_id)));
    out
}

/// Found in the period with a photo; majors first, then focus items, then those with an after
/// photo, newest first.
fn typical_cases(data: &Loaded, ks: &[Contribution], cx: &Context<'_>) -> Vec<Case> {
    let mut found: Vec<(&HazardRow, &Contribution)> = data
        .hazards
        .iter()
        .zip(ks)
        .filter(|(h, k)| k.found && h.before_thumb.is_some())
        .collect();
    found.sort_by(|(a, ka), (b, kb)| {
        let key = |h: &HazardRow, k: &Contribution| {
            (
                k.severity == "general",
                !h.focus,
                h.after_photo.is_none(),
                std::cmp::Reverse(h.found_ms),
            )
        };
        key(a, ka).cmp(&key(b, kb)).then(a.id.cmp(&b.id))
    });
    found
        .into_iter()
        .take(CASES)
        .map(|(h, _)| Case {
            id: h.id.clone(),
            title_zh: h.title_zh.clone(),
            venue_name: h.venue_name.clone(),
            village_zh: (cx.village_zh)(&h.village),
            severity: as_of(&h.steps, cx.end_ms).map_or_else(String::new, |s| s.severity.clone()),
            state: as_of(&h.steps, cx.end_ms)
                .map_or("draft", |s| s.state.as_str())
                .to_owned(),
            basis: h.basis.clone(),
            before_thumb: h.before_thumb.clone().unwrap_or_default(),
            after_photo: h.after_photo.clone(),
        })
        .collect()
}

/// The overdue list as of the period's end: most days overdue first.
fn overdue_rows(data: &Loaded, cx: &Context<'_>) -> Vec<OverdueRow> {
    let first_day = parse_date(&cx.period.from).ok();
    let mut rows: Vec<OverdueRow> = data
        .hazards
        .iter()
        .filter_map(|h| {
            let s = as_of(&h.steps, cx.end_ms);
            let due = overdue_deadline(s, cx.overdue_day)?;
            let s = s?;
            Some(OverdueRow {
                id: h.id.clone(),
                venue_name: h.venue_name.clone(),
                village_zh: (cx.village_zh)(&h.village),
                title_zh: h.title_zh.clone(),
                title_en: h.title_en.clone(),
                severity: s.severity.clone(),
                depts_zh: (cx.depts)(&h.lead_depts).0,
                depts_en: (cx.depts)(&h.lead_depts).1,
                responsible: h.responsible.clone(),
                phone: h.phone.clone(),
                due_date: format_date(due),
                days: (cx.overdue_day - due).whole_days(),
                escalations: h.escalations,
                // Overdue from the day after the deadline: new when that day is in the period.
                new_in_period: first_day.is_some_and(|f| due >= f.previous_day().unwrap_or(f)),
            })
        })
        .collect();
    rows.sort_by(|a, b| b.days.cmp(&a.days).then(a.due_date.cmp(&b.due_date)));
    rows
}

/// The major-hazard ledger, stock and increment by the year found (docs/reports.md).
fn majors(r: &mut Report, data: &Loaded, cx: &Context<'_>) {
    let report_year = ms_to_date(cx.end_ms - 1).year();
    let mut by_year: BTreeMap<i32, YearRow> = BTreeMap::new();
    for h in &data.hazards {
        let Some(end) = as_of(&h.steps, cx.end_ms) else {
            continue;
        };
        if !registered(Some(end)) && end.state != State::Rejected {
            continue;
        }
        let found_year = ms_to_date(h.found_ms).year();
        let stock = found_year <= cx.stock_year;
        let open = end.state.is_open();
        let row = |h: &HazardRow| MajorRow {
            id: h.id.clone(),
            venue_name: h.venue_name.clone(),
            village_zh: (cx.village_zh)(&h.village),
            domain: h.domain.clone(),
            title_zh: h.title_zh.clone(),
            basis: h.basis.clone(),
            found: format_date(ms_to_date(h.found_ms)),
            year: found_year,
            severity: end.severity.clone(),
            state: end.state.as_str().to_owned(),
            due_date: end.deadline.clone().unwrap_or_default(),
            plan: h.plan,
            escalations: h.escalations,
            supervision: h.supervision.clone(),
            stock,
        };
        match end.severity.as_str() {
            "major_candidate" if open => r.candidates.push(row(h)),
            "major" => {
                let at_start = as_of(&h.steps, cx.year_start_ms);
                let open_at_start =
                    h.found_ms < cx.year_start_ms && at_start.is_some_and(|s| s.state.is_open());
                let closed_this_year = h.steps.iter().any(|s| {
                    s.kind == "close" && s.at_ms >= cx.year_start_ms && s.at_ms < cx.end_ms
                });
                let y = by_year
                    .entry(found_year.max(cx.stock_year))
                    .or_insert_with(|| YearRow {
                        year: found_year.max(cx.stock_year),
                        stock,
                        ..YearRow::default()
                    });
                y.found += 1;
                y.open_at_year_start += i64::from(open_at_start);
                y.closed_this_year += i64::from(closed_this_year && !open);
                y.open += i64::from(open);
                if stock && open_at_start {
                    r.major_stock += 1;
                    r.major_stock_open += i64::from(open);
                }
                if found_year == report_year {
                    r.major_increment += 1;
                    r.major_increment_open += i64::from(open);
                }
                if open || closed_this_year {
                    r.majors.push(row(h));
                }
            }
            _ => {}
        }
    }
    r.by_year = by_year.into_values().collect();
}
