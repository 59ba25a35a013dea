//! The to-do page (待办): a reviewer's landing page, and the count the menu shows to everyone
//! who reviews.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use gridsafe_core::directory::User;
use gridsafe_core::policy::{self, Capability};

use super::{Chrome, SignedIn, WebError, html, on_reader};
use crate::AppState;
use crate::error::RelayError;
use crate::todo::TodoRow;

#[derive(Template)]
#[template(path = "todo.html")]
struct TodoPage {
    c: Chrome,
    /// Venues gathering combined elements, for the department to judge (never decided here).
    alerts: Vec<crate::store::CombinedAlert>,
    lists: Vec<Section>,
}

/// One list of the page: its anchor, title, how many in all, the first rows, and the ledger's
/// filter that shows them all (where the ledger has one).
type Section = (&'static str, String, i64, Vec<TodoRow>, Option<String>);

impl TodoPage {
    fn received(&self, r: &TodoRow) -> String {
        r.received_ms.map_or_else(String::new, |ms| {
            self.c.time(&gridsafe_core::clock::ms_to_rfc3339(ms))
        })
    }
}

pub(crate) async fn page(
    State(s): State<AppState>,
    SignedIn { user, csrf }: SignedIn,
) -> Result<Response, WebError> {
    policy::check(&user, Capability::Review).map_err(RelayError::Forbidden)?;
    let u = user.clone();
    let t = on_reader(&s, &user, move |conn, dir| {
        crate::todo::todo(conn, dir, &u, gridsafe_core::clock::today())
    })
    .await?;
    let u = user.clone();
    let alerts = s
        .with_reader(move |st| st.combined_alerts(&u))
        .await
        .map_err(|e| e.0)?;
    remember(&user.id, t.total());
    let c = Chrome::new(&user, &csrf);
    let mut lists = vec![
        (
            "claims",
            c.t(
                "待审核销号（整改已上报）",
                "Rectification claimed: to review",
            )
            .to_owned(),
            t.claims.count,
            t.claims.rows.clone(),
            Some("/hazards?state=rectified_claimed".to_owned()),
        ),
        (
            "owner-photos",
            c.t("业主上传的整改照片待审核", "Owners' photos to review")
                .to_owned(),
            t.owner_photos.count,
            t.owner_photos.rows.clone(),
            Some(format!(
                "/hazards?state={}&open=1",
                super::ledger::OWNER_PHOTO
            )),
        ),
        (
            "majors",
            c.t("重大隐患待认定", "Major candidates to confirm")
                .to_owned(),
            t.majors_to_confirm.count,
            t.majors_to_confirm.rows.clone(),
            Some("/hazards?severity=major_candidate&open=1".to_owned()),
        ),
        (
            "due-week",
            c.t("本周到期", "Due this week").to_owned(),
            t.due_this_week.count,
            t.due_this_week.rows.clone(),
            None,
        ),
        (
            "overdue",
            c.t("已逾期", "Overdue").to_owned(),
            t.overdue.count,
            t.overdue.rows.clone(),
            Some("/hazards?overdue=1".to_owned()),
        ),
    ];
    // The town office assigns but is not assigned: only a department's reviewer has this list.
    if user.role == gridsafe_core::directory::Role::Reviewer {
        lists.insert(
            0,
            (
                "assigned",
                c.t("指派给我承办", "Assigned to me").to_owned(),
                t.assigned.count,
                t.assigned.rows.clone(),
                Some(format!(
                    "/hazards?assignee={}&open=1",
                    super::urlencode(&user.id)
                )),
            ),
        );
    }
    Ok(html(TodoPage { c, alerts, lists }))
}

/// How long the menu's count may lag behind (the to-do page itself is always current).
const FRESH: Duration = Duration::from_secs(60);

static COUNTS: Mutex<Option<HashMap<String, (Instant, i64)>>> = Mutex::new(None);

fn remember(user: &str, n: i64) {
    if let Ok(mut m) = COUNTS.lock() {
        m.get_or_insert_with(HashMap::new)
            .insert(user.to_owned(), (Instant::now(), n));
    }
}

/// The menu's to-do count for someone who reviews (none for anyone else), at most [`FRESH`]
/// old; a failure to count shows no number rather than failing the page.
pub(crate) async fn count(s: &AppState, user: &User) -> Option<i64> {
    if !policy::role_may(user.role, Capability::Review) {
        return None;
    }
    if let Ok(m) = COUNTS.lock()
        && let Some((at, n)) = m.as_ref().and_then(|m| m.get(&user.id))
        && at.elapsed() < FRESH
    {
        return Some(*n);
    }
    let (readers, dir, u) = (s.readers.clone(), ctx_dir(), user.clone());
    let n = AppState::blocking(move || {
        readers.with(|conn| {
            Ok(crate::todo::todo(conn, &dir, &u, gridsafe_core::clock::today())?.total())
        })
    })
    .await
    .ok()?;
    remember(&user.id, n);
    Some(n)
}

fn ctx_dir() -> std::sync::Arc<gridsafe_core::directory::Directory> {
    super::ctx().dir
}
