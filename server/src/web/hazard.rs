//! One hazard: its header, photos (hash-checked on every view), lifecycle history and the review
//! actions.

use super::*;
use crate::AppState;
use crate::error::RelayError;
use askama::Template;
use axum::extract::{Form, Path as AxPath, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use gridsafe_core::lifecycle::HistoryEntry;
use gridsafe_core::policy::{self, Capability};
use gridsafe_core::records::HazardHeader;
use serde::Deserialize;
use session::SignedIn;

/// A photo on the detail page: the thumbnail to show, the evidence copy to open, and whether the
/// relay holds it (its SHA-256 was checked when the upload completed and is again on every view).
pub(crate) struct PhotoView {
    label: String,
    evidence: String,
    thumb: String,
    held: bool,
}

#[derive(Template)]
#[template(path = "hazard.html")]
pub(crate) struct HazardPage {
    c: Chrome,
    h: HazardHeader,
    /// Printed citations (core's table), never the header's tagged references.
    basis: String,
    state: String,
    severity: String,
    deadline: String,
    overdue: bool,
    history: Vec<HistoryEntry>,
    /// Reviewers and the town office act on hazards; inspectors do on their phones.
    can_review: bool,
    /// The review actions this person may take now (code, label): all the form offers.
    actions: Vec<(&'static str, &'static str)>,
    /// Whether an on-site recheck (with its photo) may be recorded now.
    can_recheck: bool,
    /// The handler now (a user id), and who can be named (id, name).
    assignee: Option<String>,
    assignees: Vec<(String, String)>,
    plan_parts: Vec<(&'static str, &'static str)>,
    photos: Vec<PhotoView>,
    owner_reports: Vec<crate::owner::OwnerReport>,
    /// What the last action did, or why it was refused, and the form as it was sent.
    fb: Feedback,
    /// This form's single-use token: a second submit of the same page does nothing.
    form_token: String,
}

impl HazardPage {
    /// What an event carried, in words: a plan's six contents by their names, a supervision
    /// level, the handler by name, else the note as written.
    fn event_text(&self, e: &HistoryEntry) -> String {
        let text = e.text.as_deref().unwrap_or_default();
        match e.kind.as_str() {
            "assign" if !text.is_empty() => self.c.user(text),
            "supervise" => match text {
                "city" => self.c.t("市级", "City").to_owned(),
                "district" => self.c.t("区级", "District").to_owned(),
                other => other.to_owned(),
            },
            "plan" => match serde_json::from_str::<serde_json::Value>(text) {
                Ok(v) => gridsafe_core::lifecycle::PLAN_PARTS
                    .iter()
                    .filter_map(|(k, zh, en)| {
                        let part = v.get(*k)?.as_str()?;
                        Some(format!("{}：{part}", self.c.t(zh, en)))
                    })
                    .collect::<Vec<_>>()
                    .join("；"),
                Err(_) => text.to_owned(),
            },
            _ => text.to_owned(),
        }
    }
}

/// What the review form shows after a submit: a success or a refusal, and the typed text kept.
#[derive(Debug, Default)]
pub(crate) struct Feedback {
    message: Option<String>,
    error: Option<String>,
    action: String,
    reason: String,
    deadline: String,
    text: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct HazardQuery {
    /// The action just taken (its code), or `again` for a form sent twice.
    done: String,
}

pub(crate) async fn hazard(
    State(s): State<AppState>,
    AxPath(id): AxPath<String>,
    axum::extract::Query(q): axum::extract::Query<HazardQuery>,
    SignedIn { user, csrf }: SignedIn,
) -> Result<Response, WebError> {
    let c = Chrome::new(&user, &csrf);
    let fb = Feedback {
        message: match q.done.as_str() {
            "" => None,
            "again" => Some(
                c.t(
                    "此表单已提交过，未重复执行。",
                    "This form was sent already; nothing was done twice.",
                )
                .to_owned(),
            ),
            k => gridsafe_core::lifecycle::EventKind::parse(k)
                .map(|_| format!("{}{}", c.t("已执行：", "Done: "), c.event(k))),
        },
        ..Feedback::default()
    };
    render(&s, user, csrf, id, fb).await
}

async fn render(
    s: &AppState,
    user: gridsafe_core::directory::User,
    csrf: String,
    id: String,
    fb: Feedback,
) -> Result<Response, WebError> {
    let u = user.clone();
    let user_role = user.role;
    let (h, status) = s
        .with_reader(move |st| st.hazard_view(&u, &id))
        .await
        .map_err(|e| e.0)?;
    let overdue = status.is_overdue(gridsafe_core::clock::today());
    let mut wanted: Vec<(String, String, String)> = h
        .photos
        .iter()
        .map(|p| {
            (
                Chrome::new(&user, &csrf).t("整改前", "before").to_owned(),
                p.sha256.clone(),
                p.thumb_sha256.clone().unwrap_or_else(|| p.sha256.clone()),
            )
        })
        .collect();
    let c = Chrome::new(&user, &csrf);
    for e in status.history.iter().filter(|e| e.applied) {
        if let Some(p) = &e.photo {
            let label = format!("{} · {}", c.event(&e.kind), c.time(&e.at));
            wanted.push((label, p.clone(), p.clone()));
        }
    }
    let hid = h.id.clone();
    let header = h.clone();
    let (photos, owner_reports, assignees) = s
        .with_reader(move |st| {
            // Who can be named handler: the lead departments' reviewers still at work.
            let dir = st.directory().cloned().unwrap_or_default();
            let mut assignees = Vec::new();
            for u in policy::assignable(&dir.users, &header) {
                if !st.is_disabled(&u.id)? {
                    assignees.push((u.id.clone(), u.name.clone()));
                }
            }
            let photos = wanted
                .into_iter()
                .map(|(label, evidence, thumb)| {
                    Ok(PhotoView {
                        held: st.blob_complete(&evidence)?,
                        label,
                        evidence,
                        thumb,
                    })
                })
                .collect::<Result<Vec<_>, RelayError>>()?;
            Ok((photos, st.owner_reports(&hid)?, assignees))
        })
        .await
        .map_err(|e| e.0)?;
    let allowed =
        gridsafe_core::policy::allowed_events(&user, &h, &status, gridsafe_core::clock::today());
    let actions: Vec<(&'static str, &'static str)> = allowed
        .iter()
        .filter(|k| REVIEW_ACTIONS.contains(&k.as_str()))
        .map(|k| (k.as_str(), k.label_zh()))
        .collect();
    let can_recheck = allowed.contains(&gridsafe_core::lifecycle::EventKind::Recheck);
    Ok(html(HazardPage {
        assignee: status.assignee.clone(),
        assignees,
        actions,
        can_recheck,
        plan_parts: gridsafe_core::lifecycle::PLAN_PARTS
            .iter()
            .map(|(k, zh, _)| (*k, *zh))
            .collect(),
        c: Chrome::new(&user, &csrf),
        state: status.state.as_str().to_owned(),
        severity: status.severity.clone(),
        deadline: status.deadline.clone().unwrap_or_else(|| "—".into()),
        overdue,
        history: status.history,
        can_review: policy::role_may(user_role, Capability::Review),
        photos,
        owner_reports,
        basis: gridsafe_core::citations::printed(&h).join("；"),
        h,
        fb,
        form_token: crate::store::new_form_token(),
    }))
}

#[derive(Debug, Deserialize)]
pub(crate) struct ActionForm {
    #[serde(default)]
    csrf: String,
    /// The page's single-use token (see [`HazardPage::form_token`]).
    #[serde(default)]
    form: String,
    action: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    deadline: String,
    #[serde(default)]
    text: String,
    /// 挂牌督办 level: city / district.
    #[serde(default)]
    level: String,
    /// The handler to assign (a user id from the page's list).
    #[serde(default)]
    assignee: String,
    /// A 治理方案's six contents (core's `PLAN_PARTS`), one field each.
    #[serde(flatten)]
    plan: std::collections::HashMap<String, String>,
}

/// The review actions the dashboard offers (the phone's are rectify and claim; an on-site
/// recheck carries a photo and has its own form).
pub(crate) const REVIEW_ACTIONS: [&str; 11] = [
    "close",
    "reject",
    "confirm_major",
    "downgrade",
    "set_deadline",
    "plan",
    "escalate",
    "dismiss",
    "control",
    "supervise",
    "assign",
];

/// A 治理方案's text: the six contents as the lifecycle reads them, each within the text limit.
fn plan_text(parts: &std::collections::HashMap<String, String>) -> Result<String, RelayError> {
    let mut obj = serde_json::Map::new();
    for (key, ..) in gridsafe_core::lifecycle::PLAN_PARTS {
        let v = parts
            .get(&format!("plan_{key}"))
            .map(|v| v.trim())
            .unwrap_or_default();
        gridsafe_core::limits::check(&format!("plan_{key}"), v)
            .map_err(|e| RelayError::BadRequest(e.to_string()))?;
        obj.insert(key.to_owned(), v.into());
    }
    Ok(serde_json::Value::Object(obj).to_string())
}

/// A review action: checked by core's lifecycle rules and written as the reviewer's change; a
/// refusal comes back as a page with the rule's reason, and nothing is written.
pub(crate) async fn hazard_action(
    State(s): State<AppState>,
    AxPath(id): AxPath<String>,
    SignedIn { user, csrf }: SignedIn,
    Form(f): Form<ActionForm>,
) -> Result<Response, WebError> {
    check_csrf(&f.csrf, &csrf)?;
    let kind = gridsafe_core::lifecycle::EventKind::parse(&f.action)
        .filter(|_| REVIEW_ACTIONS.contains(&f.action.as_str()))
        .ok_or_else(|| {
            RelayError::BadRequest("请从列表中选择操作 / choose the action from the list".into())
        })?;
    let target = format!("/hazards/{id}");
    let who = user.id.clone();
    let kept = Feedback {
        action: f.action.clone(),
        reason: f.reason.clone(),
        deadline: f.deadline.clone(),
        text: f.text.clone(),
        ..Feedback::default()
    };
    let text = match kind {
        gridsafe_core::lifecycle::EventKind::Plan => plan_text(&f.plan)?,
        gridsafe_core::lifecycle::EventKind::Supervise => f.level.clone(),
        gridsafe_core::lifecycle::EventKind::Assign => f.assignee.clone(),
        _ => f.text.clone(),
    };
    // The audit names the handler as such (shown by name), not as a note.
    let logged_text = if kind == gridsafe_core::lifecycle::EventKind::Assign {
        format!("{}{text}", super::devices::HANDLER)
    } else {
        text.clone()
    };
    let f = ActionForm { text, ..f };
    let (u, hid) = (user.clone(), id.clone());
    let done = s
        .with_store(move |st| {
            // A form sent twice (a double click, two tabs) acts once.
            if !f.form.is_empty() && !st.use_form_token(&f.form, &user.id)? {
                return Ok(false);
            }
            let detail = [f.reason.trim(), f.deadline.trim(), logged_text.trim()]
                .iter()
                .filter(|t| !t.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join(" · ");
            st.web_action(
                &user,
                &id,
                kind,
                crate::store::ActionDetail {
                    reason: Some(f.reason),
                    deadline: Some(f.deadline),
                    text: Some(f.text),
                    photo: None,
                },
            )?;
            st.audit(&user.id, &format!("hazard.{}", kind.as_str()), &id, &detail)?;
            Ok(true)
        })
        .await;
    match done {
        Ok(true) => {
            tracing::info!(user = %who, action = %kind.as_str(), hazard = %target, "review action");
            Ok(Redirect::to(&format!("{target}?done={}", kind.as_str())).into_response())
        }
        Ok(false) => Ok(Redirect::to(&format!("{target}?done=again")).into_response()),
        // The rules refused it, or an input was wrong: the same page, the reason, the text kept.
        Err(e) if matches!(e.0, RelayError::Refused(_) | RelayError::BadRequest(_)) => {
            let c = Chrome::new(&u, &csrf);
            let m = e.0.message();
            let why = m
                .split_once(" / ")
                .map_or(m, |(zh, en)| c.t(zh, en))
                .to_owned();
            let status = match e.0 {
                RelayError::Refused(_) => axum::http::StatusCode::CONFLICT,
                _ => axum::http::StatusCode::BAD_REQUEST,
            };
            let page = render(
                &s,
                u,
                csrf,
                hid,
                Feedback {
                    error: Some(format!("{}{why}", c.t("未执行：", "Not done: "))),
                    ..kept
                },
            )
            .await?;
            Ok((status, page).into_response())
        }
        Err(e) => Err(e.0.into()),
    }
}

/// An on-site recheck by the lead department: the photo taken on site goes through the evidence
/// pipeline and is recorded with the recheck (rules 2 require it).
pub(crate) async fn recheck(
    State(s): State<AppState>,
    AxPath(id): AxPath<String>,
    SignedIn { user, csrf }: SignedIn,
    mut form: axum::extract::Multipart,
) -> Result<Response, WebError> {
    let (mut token, mut note, mut photo) = (String::new(), String::new(), Vec::new());
    let bad = |e: axum::extract::multipart::MultipartError| {
        RelayError::BadRequest(format!("upload: {e}"))
    };
    while let Some(field) = form.next_field().await.map_err(bad)? {
        match field.name().unwrap_or_default() {
            "csrf" => token = field.text().await.map_err(bad)?,
            "note" => note = field.text().await.map_err(bad)?,
            "photo" => photo = field.bytes().await.map_err(bad)?.to_vec(),
            _ => {}
        }
    }
    check_csrf(&token, &csrf)?;
    if photo.is_empty() {
        return Err(RelayError::BadRequest(
            "请上传现场复核时拍摄的照片 Upload the photo taken at the recheck".into(),
        )
        .into());
    }
    let blobs = s.blobs.clone();
    let inspector = user.name.clone();
    let stored = crate::AppState::blocking(move || {
        let ctx = gridsafe_core::evidence::IngestContext {
            venue_short: String::new(),
            inspector,
            app_gps: None,
            now_ms: gridsafe_core::clock::now_ms(),
        };
        let ev = gridsafe_core::evidence::ingest(&photo, &ctx).map_err(|e| {
            RelayError::BadRequest(format!("不是可用的照片 Not a usable photo: {e}"))
        })?;
        blobs.put(&ev.evidence_sha256, &ev.evidence)?;
        blobs.put(&ev.thumbnail_sha256, &ev.thumbnail)?;
        Ok((ev.evidence_sha256, ev.evidence.len() as u64))
    })
    .await
    .map_err(|e| WebError(e.0))?;
    let target = format!("/hazards/{id}");
    s.with_store(move |st| {
        st.dashboard_photo(&user, &stored.0, stored.1)?;
        st.web_action(
            &user,
            &id,
            gridsafe_core::lifecycle::EventKind::Recheck,
            crate::store::ActionDetail {
                text: Some(note.clone()),
                photo: Some(stored.0),
                ..Default::default()
            },
        )?;
        st.audit(&user.id, "hazard.recheck", &id, note.trim())
    })
    .await
    .map_err(|e| e.0)?;
    Ok(Redirect::to(&target).into_response())
}

/// A photo for a signed-in user whose scope covers a record referencing it. Its bytes are hashed
/// again on every view: a file changed on disk is refused as altered evidence, never shown.
pub(crate) async fn photo(
    State(s): State<AppState>,
    AxPath(sha): AxPath<String>,
    SignedIn { user, .. }: SignedIn,
) -> Result<Response, WebError> {
    crate::api::check_sha(&sha).map_err(|e| e.0)?;
    let sha = s
        .with_reader(move |st| {
            if !st.user_may_read_blob(&user, &sha)? {
                return Err(RelayError::Forbidden(
                    "no record in your scope references this photo".into(),
                ));
            }
            if !st.blob_complete(&sha)? {
                return Err(RelayError::NotFound(format!(
                    "photo {sha} has not been uploaded yet"
                )));
            }
            Ok(sha)
        })
        .await
        .map_err(|e| e.0)?;
    let blobs = s.blobs.clone();
    let bytes = crate::AppState::blocking(move || {
        let bytes = blobs.get(&sha)?;
        if gridsafe_core::evidence::sha256_hex(&bytes) != sha {
            return Err(RelayError::Integrity(format!(
                "证据文件已损坏 evidence altered: photo {sha} no longer matches its hash"
            )));
        }
        Ok(bytes)
    })
    .await
    .map_err(|e| e.0)?;
    Ok(([(header::CONTENT_TYPE, "image/jpeg")], bytes).into_response())
}
