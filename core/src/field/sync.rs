//! Sync (同步): when the phone last synced, what waits, the records the relay refused — each by
//! what it is, why, and what happens to it and what the worker should do — a wrong clock, and the
//! notice numbers left.

use rusqlite::OptionalExtension;

use crate::error::Result;
use crate::labels::{Labels, Lang};
use crate::store::Store;

/// A record set aside, in words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefusedLine {
    /// "隐患：老王小吃 · 燃气软管长度超过2米", "场所：老王小吃".
    pub what: String,
    pub why: String,
    pub what_to_do: String,
    pub at: String,
}

/// The Sync screen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncScreen {
    pub last_sync: String,
    /// "3 条记录、2 张照片待同步" or that nothing waits.
    pub pending: String,
    pub pending_records: u64,
    pub pending_photos: u64,
    pub refused: Vec<RefusedLine>,
    pub clock_warning: Option<String>,
    pub notice_numbers: String,
    pub notice_numbers_warning: Option<String>,
}

pub fn sync_screen(store: &Store, lang: Lang) -> Result<SyncScreen> {
    let dir = store.directory().ok();
    let l = Labels::new(dir.as_deref(), lang);
    let st = store.sync_status()?;
    let pending = if st.pending_docs == 0 && st.pending_photos == 0 {
        l.pick("没有待同步的记录和照片", "Nothing waits to sync")
            .to_owned()
    } else {
        format!(
            "{} {}{}{} {}",
            st.pending_docs,
            l.pick("条记录", "records"),
            l.pick("、", ", "),
            st.pending_photos,
            l.pick("张照片待同步", "photos wait to sync")
        )
    };
    let mut refused: Vec<RefusedLine> = st
        .set_aside
        .iter()
        .map(|a| {
            let local = a.origin == "local";
            RefusedLine {
                what: record_name(store, &l, &a.doc_id)
                    .unwrap_or_else(|_| l.pick("一条记录", "A record").to_owned()),
                why: l.refusal(&a.reason),
                what_to_do: if local {
                    l.pick(
                        "本机的这次改动未被接受，已完整留存在本机；记录已按规则重建并重新上传。如需补录，请按原因更正后重新操作。",
                        "This phone's change was not accepted and is kept on the phone; the record was rebuilt by the rules and sent again. If something is missing, correct what the reason says and record it again.",
                    )
                } else {
                    l.pick(
                        "中继发来的这次改动不符合规则，未应用，已留存在本机；其余记录照常同步。请告知镇安委办。",
                        "A change from the relay broke the rules and was not applied; it is kept on the phone and the rest synced. Tell the town office.",
                    )
                }
                .to_owned(),
                at: l.time(&a.at),
            }
        })
        .collect();
    // Refused at the last sync and not set aside: the record waits on the phone as it is and is
    // sent again; the worker must see why it does not leave.
    let set_aside: std::collections::HashSet<&str> =
        st.set_aside.iter().map(|a| a.doc_id.as_str()).collect();
    for line in &st.refused {
        let (id, reason) = line.split_once(": ").unwrap_or(("", line));
        if set_aside.contains(id) {
            continue;
        }
        refused.push(RefusedLine {
            what: record_name(store, &l, id)
                .unwrap_or_else(|_| l.pick("一条记录", "A record").to_owned()),
            why: l.refusal(reason),
            what_to_do: l
                .pick(
                    "记录仍完整保存在本机，每次同步都会再次发送；请按原因处理，处理不了请联系镇安委办。",
                    "The record is kept on the phone and sent again at every sync: do what the reason says, or ask the town office.",
                )
                .to_owned(),
            at: st.last_sync.as_deref().map(|at| l.time(at)).unwrap_or_default(),
        });
    }
    let clock_warning = store
        .clock_words()?
        .map(|(zh, en)| l.pick(&zh, &en).to_owned());
    Ok(SyncScreen {
        last_sync: match &st.last_sync {
            Some(at) => format!("{} {}", l.pick("上次同步", "Last sync"), l.time(at)),
            None => l.pick("尚未同步", "Not synced yet").to_owned(),
        },
        pending,
        pending_records: st.pending_docs,
        pending_photos: st.pending_photos,
        refused,
        clock_warning,
        notice_numbers: format!(
            "{} {}",
            l.pick("剩余通知书编号", "Notice numbers left:"),
            st.notice_numbers_left
        ),
        notice_numbers_warning: st.notice_numbers_warning.clone(),
    })
}

/// What a record is, by its kind and name.
fn record_name(store: &Store, l: &Labels<'_>, id: &str) -> Result<String> {
    let conn = store.raw();
    let one = |sql: &str| -> Result<Option<String>> {
        Ok(conn.query_row(sql, [id], |r| r.get(0)).optional()?)
    };
    if let Some(name) = one("SELECT name FROM venues_idx WHERE id = ?1")? {
        return Ok(format!("{}：{name}", l.pick("场所", "Venue")));
    }
    if let Some(name) = one("SELECT venue_name FROM inspections_idx WHERE id = ?1")? {
        return Ok(format!("{}：{name}", l.pick("检查记录", "Inspection")));
    }
    let hazard: Option<(String, String, String)> = conn
        .query_row(
            "SELECT venue_name, title_zh, title_en FROM hazards_idx WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    Ok(match hazard {
        Some((venue, zh, en)) => format!(
            "{}：{venue} · {}",
            l.pick("隐患", "Hazard"),
            l.pick(&zh, &en)
        ),
        None => l.pick("一条记录", "A record").to_owned(),
    })
}
