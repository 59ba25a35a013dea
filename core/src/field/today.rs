//! Today (今日工作): what waits for the grid worker in their grids, each with a count — overdue
//! hazards, re-checks due (deadlines today to two days on), 12345 / 随申拍 tickets to verify on
//! site, venues not inspected this month, and what waits to sync.

use rusqlite::params_from_iter;
use time::Date;

use crate::clock::{format_date, ms_to_rfc3339};
use crate::error::{Error, Result};
use crate::labels::{Labels, Lang};
use crate::projection::{hazard_scope, placeholders};
use crate::store::Store;

/// Days after today a deadline counts as a re-check due (today, tomorrow, the day after).
pub const RECHECK_DAYS: i64 = 2;

/// Which list a section of Today is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TodayKind {
    Overdue,
    RecheckDue,
    TicketsToVerify,
    NotInspectedThisMonth,
}

/// What a row opens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Opens {
    Hazard(String),
    Ticket(String),
    Venue(String),
}

/// One row: what it opens, its title and one line of detail, in the reader's language.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TodayRow {
    pub opens: Opens,
    pub title: String,
    pub detail: String,
}

/// One list of Today: its title, how many in all, and the first [`super::ROWS`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TodaySection {
    pub kind: TodayKind,
    pub title: String,
    pub count: u64,
    pub rows: Vec<TodayRow>,
}

/// The Today screen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Today {
    pub sections: Vec<TodaySection>,
    /// Records and photos waiting to sync.
    pub pending_records: u64,
    pub pending_photos: u64,
    /// "上次同步 2026-12-03 15:52", or that it never synced; a refused record or a wrong clock
    /// adds what to do.
    pub sync_line: String,
    pub sync_warning: Option<String>,
}

impl Today {
    /// Everything waiting (a badge on the tab).
    pub fn total(&self) -> u64 {
        self.sections.iter().map(|s| s.count).sum()
    }
}

/// Builds Today for `user` on `today` (the Shanghai date).
pub fn today(store: &Store, user: &str, lang: Lang, today: Date) -> Result<Today> {
    let dir = store.directory()?;
    let me = dir
        .user(user)
        .ok_or_else(|| Error::Forbidden(format!("unknown user {user:?}")))?;
    let l = Labels::new(Some(&dir), lang);
    let (scope, scope_args) = hazard_scope(&dir, user)?;
    let t = format_date(today);
    let until = format_date(today + time::Duration::days(RECHECK_DAYS));
    let hazards = |kind: TodayKind, cond: &str, first: Vec<String>, title: (&str, &str)| {
        let args: Vec<String> = first
            .into_iter()
            .chain(scope_args.iter().cloned())
            .collect();
        hazard_section(store, &l, kind, cond, &scope, &args, today, title)
    };
    let overdue = hazards(
        TodayKind::Overdue,
        "awaiting = 1 AND due_date < ?",
        vec![t.clone()],
        ("已逾期隐患", "Overdue hazards"),
    )?;
    let recheck = hazards(
        TodayKind::RecheckDue,
        "awaiting = 1 AND due_date >= ? AND due_date <= ?",
        vec![t.clone(), until],
        ("到期复查", "Re-checks due"),
    )?;
    let tickets = tickets(store, &l, &me.grids)?;
    let coverage = not_inspected(store, &l, &me.grids, today)?;
    let status = store.sync_status()?;
    let sync_line = match &status.last_sync {
        Some(at) => format!("{} {}", l.pick("上次同步", "Last sync"), l.time(at)),
        None => l.pick("尚未同步", "Not synced yet").to_owned(),
    };
    // A record set aside is usually also among the last sync's refusals: counted once.
    let refused = status
        .set_aside
        .iter()
        .map(|a| a.doc_id.as_str())
        .chain(
            status
                .refused
                .iter()
                .map(|r| r.split_once(": ").map_or(r.as_str(), |p| p.0)),
        )
        .collect::<std::collections::HashSet<_>>()
        .len();
    let clock = store
        .clock_words()?
        .map(|(zh, en)| l.pick(&zh, &en).to_owned());
    let sync_warning = clock.or_else(|| {
        (refused > 0).then(|| {
            format!(
                "{refused} {}",
                l.pick(
                    "条记录被中继退回，请在“同步”中查看原因并处理",
                    "records were refused by the relay: open Sync to see why and what to do"
                )
            )
        })
    });
    Ok(Today {
        sections: vec![overdue, recheck, tickets, coverage],
        pending_records: status.pending_docs,
        pending_photos: status.pending_photos,
        sync_line,
        sync_warning,
    })
}

#[allow(clippy::too_many_arguments)]
fn hazard_section(
    store: &Store,
    l: &Labels<'_>,
    kind: TodayKind,
    cond: &str,
    scope: &str,
    args: &[String],
    today: Date,
    (zh, en): (&str, &str),
) -> Result<TodaySection> {
    let conn = store.raw();
    let from = format!("FROM hazards_idx WHERE {cond} AND {scope}");
    let count: i64 = conn.query_row(
        &format!("SELECT count(*) {from}"),
        params_from_iter(args),
        |r| r.get(0),
    )?;
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT id, venue_name, title_zh, title_en, due_date {from} ORDER BY due_date, id LIMIT {}",
        super::ROWS
    ))?;
    let rows = stmt
        .query_map(params_from_iter(args), |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<String>>(4)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let rows = rows
        .into_iter()
        .map(|(id, venue, tzh, ten, due)| TodayRow {
            opens: Opens::Hazard(id),
            title: format!("{venue} · {}", l.pick(&tzh, &ten)),
            detail: due_words(l, due.as_deref(), today),
        })
        .collect();
    Ok(TodaySection {
        kind,
        title: l.pick(zh, en).to_owned(),
        count: count as u64,
        rows,
    })
}

/// "期限 2026-12-01，已逾期 5 天" / "期限 2026-12-08（今天）".
fn due_words(l: &Labels<'_>, due: Option<&str>, today: Date) -> String {
    let Some(d) = due else {
        return l.pick("未设期限", "No deadline").to_owned();
    };
    let days = crate::clock::parse_date(d).map_or(0, |d| (d - today).whole_days());
    let when = match days {
        0 => l.pick("今天到期", "due today").to_owned(),
        1 => l.pick("明天到期", "due tomorrow").to_owned(),
        n if n > 1 => format!("{} {n} {}", l.pick("还有", "due in"), l.pick("天", "days")),
        n => format!(
            "{} {} {}",
            l.pick("已逾期", "overdue by"),
            -n,
            l.pick("天", "days")
        ),
    };
    format!("{} {d} · {when}", l.pick("期限", "Due"))
}

fn tickets(store: &Store, l: &Labels<'_>, grids: &[String]) -> Result<TodaySection> {
    let conn = store.raw();
    let from = format!(
        "FROM tasks_idx WHERE status = 'to_verify' AND grid_id IN ({})",
        placeholders(grids.len())
    );
    let count: i64 = conn.query_row(
        &format!("SELECT count(*) {from}"),
        params_from_iter(grids),
        |r| r.get(0),
    )?;
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT id, ticket_no, channel, address, received_at {from} ORDER BY received_at, id LIMIT {}",
        super::ROWS
    ))?;
    let rows = stmt
        .query_map(params_from_iter(grids), |r| {
            let (id, no, channel, address, received): (String, String, String, String, String) =
                (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?);
            Ok(TodayRow {
                opens: Opens::Ticket(id),
                title: format!("{} {no} · {address}", l.channel(&channel)),
                detail: format!("{} {}", l.pick("收到", "Received"), l.time(&received)),
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(TodaySection {
        kind: TodayKind::TicketsToVerify,
        title: l.pick("待核查工单", "Tickets to verify").to_owned(),
        count: count as u64,
        rows,
    })
}

/// Venues of the grids not inspected since the first of this month (coverage).
fn not_inspected(
    store: &Store,
    l: &Labels<'_>,
    grids: &[String],
    today: Date,
) -> Result<TodaySection> {
    let conn = store.raw();
    let month_start = crate::clock::start_of_day_ms(today.replace_day(1).unwrap_or(today));
    let from = format!(
        "FROM venues_idx WHERE archived = 0 AND grid_id IN ({})
           AND (last_inspected_ms IS NULL OR last_inspected_ms < ?)",
        placeholders(grids.len())
    );
    let args: Vec<rusqlite::types::Value> = grids
        .iter()
        .map(|g| g.clone().into())
        .chain(std::iter::once(month_start.into()))
        .collect();
    let count: i64 = conn.query_row(
        &format!("SELECT count(*) {from}"),
        params_from_iter(&args),
        |r| r.get(0),
    )?;
    // The longest without a visit first.
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT id, name, address, last_inspected_ms {from}
         ORDER BY last_inspected_ms IS NOT NULL, last_inspected_ms, name LIMIT {}",
        super::ROWS
    ))?;
    let rows = stmt
        .query_map(params_from_iter(&args), |r| {
            let (id, name, address, last): (String, String, String, Option<i64>) =
                (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
            Ok(TodayRow {
                opens: Opens::Venue(id),
                title: name,
                detail: match last {
                    Some(ms) => format!(
                        "{address} · {} {}",
                        l.pick("上次检查", "Last inspected"),
                        l.time(&ms_to_rfc3339(ms))
                    ),
                    None => format!("{address} · {}", l.pick("从未检查", "Never inspected")),
                },
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(TodaySection {
        kind: TodayKind::NotInspectedThisMonth,
        title: l
            .pick("本月未检查场所", "Venues not inspected this month")
            .to_owned(),
        count: count as u64,
        rows,
    })
}
