//! A 12345 / 随申拍 ticket to verify on site (查实), opened from Today: what the caller reported,
//! where and when, and the verdict the grid worker records there — 属实 at a venue of the grid (a
//! hazard registered, matched to a checklist item of the ticket's domain when the worker picks
//! one) or 不属实 with the reason. Once verified the screen says how, and opens the hazard.

use rusqlite::{OptionalExtension, params};

use crate::error::{Error, Result};
use crate::labels::{Labels, Lang};
use crate::projection::{TASK_COLUMNS, TaskRow, task_row};
use crate::store::{NewPhoto, Store, TaskVerdict};

/// Venues suggested for a ticket (the worker can search the grid's others).
pub const SUGGESTED_VENUES: usize = 5;

/// A checklist item the finding can be matched to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TicketItem {
    pub id: String,
    pub question: String,
}

/// A venue the hazard may be at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TicketVenue {
    pub id: String,
    pub name: String,
    pub address: String,
}

/// The ticket screen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TicketScreen {
    pub id: String,
    /// The channel and its number, as the caller was given it ("12345 2026120300012").
    pub title: String,
    pub received: String,
    pub address: String,
    pub description: String,
    pub domain: String,
    pub grid: String,
    /// 待核查 / 属实，已登记隐患 / 不属实.
    pub status: String,
    /// The verdict can be recorded now (unverified, and this user's grid).
    pub to_verify: bool,
    /// Who checked it on site and when ("王建国 2026-12-08 09:26 核查").
    pub verified: Option<String>,
    /// Why it was found not substantiated.
    pub reason: Option<String>,
    /// The hazard a substantiated ticket registered.
    pub hazard_id: Option<String>,
    /// The ticket's domain's checklist items (the newest version of each checklist).
    pub items: Vec<TicketItem>,
    /// Usual reasons a ticket is not substantiated, offered as choices.
    pub reasons: Vec<String>,
    /// The grid's venues whose address is nearest the ticket's, best first.
    pub venues: Vec<TicketVenue>,
}

/// What the worker found on site.
#[derive(Clone, Debug, Default)]
pub struct Verdict {
    pub substantiated: bool,
    pub venue_id: Option<String>,
    pub item_id: Option<String>,
    pub finding: String,
    pub reason: String,
    pub photo: Option<NewPhoto>,
}

const REASONS: [(&str, &str); 4] = [
    ("查无此事", "Nothing of the kind found"),
    ("已自行整改", "Already put right by the owner"),
    ("地址不符", "Address does not match"),
    ("重复举报", "Reported before"),
];

fn row(store: &Store, id: &str) -> Result<TaskRow> {
    store
        .raw()
        .query_row(
            &format!("SELECT {TASK_COLUMNS} FROM tasks_idx WHERE id = ?1"),
            params![id],
            task_row,
        )
        .optional()?
        .ok_or_else(|| Error::not_found("ticket", id))
}

/// Ticket `id`, which must be in one of `user`'s grids.
fn in_my_grids<'d>(
    store: &Store,
    dir: &'d crate::directory::Directory,
    user: &str,
    id: &str,
) -> Result<(&'d crate::directory::User, TaskRow)> {
    let me = dir
        .user(user)
        .ok_or_else(|| Error::Forbidden(format!("unknown user {user:?}")))?;
    let t = row(store, id)?;
    if !me.grids.contains(&t.grid_id) {
        return Err(Error::Forbidden(format!(
            "ticket {} is for grid {}, not {user}'s",
            t.ticket_no, t.grid_id
        )));
    }
    Ok((me, t))
}

/// Ticket `id` for `user`.
pub fn ticket_screen(store: &Store, user: &str, id: &str, lang: Lang) -> Result<TicketScreen> {
    let dir = store.directory()?;
    let (me, t) = in_my_grids(store, &dir, user, id)?;
    let l = Labels::new(Some(&dir), lang);
    let status = match t.status.as_str() {
        "to_verify" => l.pick("待核查", "To verify"),
        "substantiated" => l.pick("属实，已登记隐患", "Substantiated: hazard registered"),
        _ => l.pick("不属实", "Not substantiated"),
    };
    let open = t.status == "to_verify";
    let verified = store.task(&t.id)?.outcome.map(|o| {
        format!(
            "{} {} {}",
            l.user(&o.by),
            l.time(&o.at),
            l.pick("核查", "verified")
        )
    });
    Ok(TicketScreen {
        title: format!("{} {}", l.channel(&t.channel), t.ticket_no),
        received: format!(
            "{} {}",
            l.pick("收到", "Received"),
            received(&l, &t.received_at)
        ),
        domain: l.domain(&t.category),
        grid: l.grid(&t.grid_id),
        status: status.to_owned(),
        to_verify: open && crate::policy::may_verify_report(me, &t.grid_id),
        items: if open {
            items(store, &t.category, &l)?
        } else {
            vec![]
        },
        reasons: if open {
            REASONS
                .iter()
                .map(|(zh, en)| l.pick(zh, en).to_owned())
                .collect()
        } else {
            vec![]
        },
        venues: if open {
            nearest_venues(store, &t)?
        } else {
            vec![]
        },
        verified,
        reason: t.reason.filter(|r| !r.is_empty()),
        hazard_id: t.hazard_id,
        id: t.id,
        address: t.address,
        description: t.description,
    })
}

/// When the platform received it: a stored time as people read it; a time as the office typed or
/// imported it ("2026-11-20 09:30") is shown to the minute, as it was given.
fn received(l: &Labels<'_>, at: &str) -> String {
    let at = at.trim();
    if time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339).is_ok() {
        l.time(at)
    } else {
        at.chars().take(16).collect()
    }
}

/// The items of `domain` in the newest version of each installed checklist, in checklist order.
fn items(store: &Store, domain: &str, l: &Labels<'_>) -> Result<Vec<TicketItem>> {
    let mut out: Vec<TicketItem> = Vec::new();
    for t in store.current_templates()? {
        for i in t
            .items
            .iter()
            .filter(|i| i.domain == domain && i.included_from.is_none())
        {
            if !out.iter().any(|o| o.id == i.id) {
                out.push(TicketItem {
                    id: i.id.clone(),
                    question: l.pick(&i.q_zh, &i.q_en).to_owned(),
                });
            }
        }
    }
    Ok(out)
}

/// The ticket's grid's venues by how much of the ticket's address they share from its start
/// (road, then number), then by name; those sharing nothing are left out.
fn nearest_venues(store: &Store, t: &TaskRow) -> Result<Vec<TicketVenue>> {
    let mut stmt = store.raw().prepare_cached(
        "SELECT id, name, address FROM venues_idx WHERE grid_id = ?1 AND archived = 0",
    )?;
    let compact = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<Vec<_>>();
    let wanted = compact(&t.address);
    let mut scored = stmt
        .query_map(params![t.grid_id], |r| {
            Ok(TicketVenue {
                id: r.get(0)?,
                name: r.get(1)?,
                address: r.get(2)?,
            })
        })?
        .map(|v| {
            let v = v?;
            let shared = compact(&v.address)
                .iter()
                .zip(&wanted)
                .take_while(|(a, b)| a == b)
                .count();
            Ok((shared, v))
        })
        .collect::<rusqlite::Result<Vec<_>>>()?;
    scored.retain(|(shared, _)| *shared > 0);
    scored.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.name.cmp(&b.1.name)));
    Ok(scored
        .into_iter()
        .take(SUGGESTED_VENUES)
        .map(|(_, v)| v)
        .collect())
}

/// Records the verdict on ticket `id`: the new hazard's id when substantiated. What is missing
/// or not offered is refused in words and nothing is saved.
pub fn verify(
    store: &mut Store,
    user: &str,
    id: &str,
    v: Verdict,
    lang: Lang,
) -> Result<Option<String>> {
    // Only what the checks need (the screen's venue suggestions and outcome line are not built);
    // who may verify is the store's rule, checked again by `verify_task`.
    let dir = store.directory()?;
    let (_, t) = in_my_grids(store, &dir, user, id)?;
    let l = Labels::new(Some(&dir), lang);
    let words = |zh: &str, en: &str| Error::Words(l.pick(zh, en).to_owned());
    if t.status != "to_verify" {
        return Err(words(
            "这张工单已核查过，不能再次核查",
            "This ticket has been verified already",
        ));
    }
    if v.substantiated {
        if v.venue_id.as_deref().is_none_or(|s| s.trim().is_empty()) {
            return Err(words(
                "请选择隐患所在的场所（可搜索本网格的场所）",
                "Choose the venue the hazard is at (search your grid's venues)",
            ));
        }
        if let Some(item) = &v.item_id
            && !items(store, &t.category, &l)?.iter().any(|i| i.id == *item)
        {
            let kind = l.domain(&t.category);
            return Err(Error::Words(match lang {
                Lang::Zh => format!("所选检查项不属于该工单的类别（{kind}），请重新选择"),
                Lang::En => format!(
                    "The checklist item chosen is not of this ticket's kind ({kind}): choose again"
                ),
            }));
        }
    } else if v.reason.trim().is_empty() {
        return Err(words(
            "请选择或填写不属实的原因",
            "Choose or write why the report is not substantiated",
        ));
    }
    store.verify_task(
        user,
        id,
        TaskVerdict {
            substantiated: v.substantiated,
            reason: v.reason,
            venue_id: v.venue_id.filter(|_| v.substantiated),
            finding: v.finding,
            photo: v.photo.filter(|_| v.substantiated),
            item_id: v.item_id.filter(|_| v.substantiated),
        },
    )
}
