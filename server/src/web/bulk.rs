//! Bulk review actions from the ledger: the rows a reviewer ticked, one action for all of them
//! (审核销号, a new deadline, escalation, a handler), each applied by core's rules on its own — one refused
//! does not stop the others — with a result per row.

use super::*;
use crate::AppState;
use crate::error::RelayError;
use askama::Template;
use axum::extract::{RawForm, State};
use axum::response::Response;
use gridsafe_core::lifecycle::EventKind;
use gridsafe_core::policy::{self, Capability};
use session::SignedIn;

/// The actions the ledger offers in bulk; what each hazard allows is still core's to decide.
pub(crate) const BULK_ACTIONS: [EventKind; 4] = [
    EventKind::Close,
    EventKind::SetDeadline,
    EventKind::Escalate,
    EventKind::Assign,
];

/// Most rows one submission acts on (two ledger pages).
pub(crate) const MAX_ROWS: usize = 100;

/// One ticked row's outcome.
pub(crate) struct RowResult {
    id: String,
    /// Venue, title in Chinese, in English (empty when no such hazard).
    title: (String, String, String),
    done: bool,
    why: String,
}

#[derive(Template)]
#[template(path = "bulk.html")]
pub(crate) struct BulkPage {
    c: Chrome,
    action: String,
    rows: Vec<RowResult>,
    /// A second submission of the same form: nothing was done again.
    again: bool,
    /// The ledger's filters to go back to.
    back: String,
}

impl BulkPage {
    fn done(&self) -> usize {
        self.rows.iter().filter(|r| r.done).count()
    }
}

/// The submitted form: repeated `id`s, so read as pairs.
struct BulkForm {
    csrf: String,
    form: String,
    action: String,
    deadline: String,
    reason: String,
    /// The handler to assign (a user id).
    assignee: String,
    back: String,
    ids: Vec<String>,
}

impl BulkForm {
    fn parse(body: &[u8]) -> Result<BulkForm, RelayError> {
        let pairs = super::form_pairs(body)?;
        let one = |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.trim().to_owned())
                .unwrap_or_default()
        };
        let mut ids: Vec<String> = pairs
            .iter()
            .filter(|(k, _)| k == "id")
            .map(|(_, v)| v.clone())
            .collect();
        ids.dedup();
        Ok(BulkForm {
            csrf: one("csrf"),
            form: one("form"),
            action: one("action"),
            deadline: one("deadline"),
            reason: one("reason"),
            assignee: one("assignee"),
            back: one("back"),
            ids,
        })
    }
}

/// Applies the chosen action to each ticked hazard and answers with a result per row.
pub(crate) async fn apply(
    State(s): State<AppState>,
    SignedIn { user, csrf }: SignedIn,
    RawForm(body): RawForm,
) -> Result<Response, WebError> {
    let f = BulkForm::parse(&body)?;
    check_csrf(&f.csrf, &csrf)?;
    policy::check(&user, Capability::Review).map_err(RelayError::Forbidden)?;
    let kind = BULK_ACTIONS
        .into_iter()
        .find(|k| k.as_str() == f.action)
        .ok_or_else(|| {
            RelayError::BadRequest("请选择要批量办理的事项 / choose the action to apply".into())
        })?;
    if f.ids.is_empty() {
        return Err(
            RelayError::BadRequest("请至少勾选一条隐患 / tick at least one hazard".into()).into(),
        );
    }
    if f.ids.len() > MAX_ROWS {
        return Err(RelayError::BadRequest(format!(
            "一次最多办理 {MAX_ROWS} 条，请分批勾选 / at most {MAX_ROWS} hazards at once; tick fewer"
        ))
        .into());
    }
    if kind == EventKind::SetDeadline && f.deadline.is_empty() {
        return Err(RelayError::BadRequest(
            "调整整改期限须填写新的期限 / enter the new deadline".into(),
        )
        .into());
    }
    if kind == EventKind::Assign && f.assignee.is_empty() {
        return Err(
            RelayError::BadRequest("指派承办人须选择承办人 / choose the handler".into()).into(),
        );
    }
    // Only a path back into the ledger (never another site).
    let back = if f.back.starts_with("/hazards") && !f.back.starts_with("//") {
        f.back.clone()
    } else {
        "/hazards".to_owned()
    };
    let u = user.clone();
    let (rows, again) = s
        .with_store(move |st| {
            if !st.use_form_token(&f.form, &u.id)? {
                return Ok((Vec::new(), true));
            }
            let mut rows = Vec::with_capacity(f.ids.len());
            for id in &f.ids {
                let title = st.hazard_title(id)?.unwrap_or_default();
                let outcome = st.web_action(
                    &u,
                    id,
                    kind,
                    crate::store::ActionDetail {
                        reason: Some(f.reason.clone()),
                        deadline: Some(f.deadline.clone()),
                        text: Some(if kind == EventKind::Assign {
                            f.assignee.clone()
                        } else {
                            "台账批量办理".into()
                        }),
                        photo: None,
                    },
                );
                let (done, why) = match outcome {
                    Ok(_) => {
                        let handler = if kind == EventKind::Assign {
                            format!("{}{}", super::devices::HANDLER, f.assignee)
                        } else {
                            String::new()
                        };
                        let detail = [f.reason.as_str(), f.deadline.as_str(), &handler, "bulk"]
                            .iter()
                            .filter(|t| !t.is_empty())
                            .copied()
                            .collect::<Vec<_>>()
                            .join(" · ");
                        st.audit(&u.id, &format!("hazard.{}", kind.as_str()), id, &detail)?;
                        (true, String::new())
                    }
                    Err(
                        RelayError::Refused(why)
                        | RelayError::Forbidden(why)
                        | RelayError::BadRequest(why)
                        | RelayError::NotFound(why),
                    ) => (false, why),
                    Err(e) => return Err(e),
                };
                rows.push(RowResult {
                    id: id.clone(),
                    title,
                    done,
                    why,
                });
            }
            Ok((rows, false))
        })
        .await
        .map_err(|e| e.0)?;
    let c = Chrome::new(&user, &csrf);
    let rows = rows
        .into_iter()
        .map(|r| RowResult {
            why: reason_in(&c, &r.why),
            ..r
        })
        .collect();
    Ok(html(BulkPage {
        action: c.event(kind.as_str()),
        c,
        rows,
        again,
        back,
    }))
}

/// A refusal in the page's language: "中文 / English" messages split; core's rule texts as they
/// are; a scope refusal as what it means for the reader.
fn reason_in(c: &Chrome, why: &str) -> String {
    if why.is_empty() {
        return String::new();
    }
    if let Some((zh, en)) = why.split_once(" / ") {
        return c.t(zh, en).to_owned();
    }
    if why.contains("outside") || why.starts_with("hazard ") {
        return c
            .t(
                "不在您的职责范围内，或记录已不存在",
                "Outside your remit, or the record no longer exists",
            )
            .to_owned();
    }
    why.to_owned()
}
