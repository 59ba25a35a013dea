//! Batch acceptance of verified on-the-spot fixes (即改) by the lead department: the general
//! hazards fixed during a visit, with their before and after photos side by side, accepted
//! together — each closed with the same event and audit entry as one by one.

use super::*;
use crate::AppState;
use crate::error::RelayError;
use askama::Template;
use axum::extract::{RawForm, State};
use axum::response::Response;
use gridsafe_core::lifecycle::EventKind;
use gridsafe_core::policy::{self, Capability};
use session::SignedIn;

#[derive(Template)]
#[template(path = "batch.html")]
pub(crate) struct BatchPage {
    c: Chrome,
    rows: Vec<crate::store::BatchCandidate>,
    /// After a submission: how many were closed, and those refused with the reason.
    closed: Option<usize>,
    refused: Vec<(String, String)>,
}

fn reviewer_only(user: &gridsafe_core::directory::User) -> Result<(), WebError> {
    if user.role != gridsafe_core::directory::Role::Reviewer {
        return Err(RelayError::Forbidden(
            "批量审核销号由牵头部门进行 / batch acceptance is for the lead department".into(),
        )
        .into());
    }
    Ok(policy::check(user, Capability::Review).map_err(RelayError::Forbidden)?)
}

/// The on-the-spot fixes waiting for this department.
pub(crate) async fn page(
    State(s): State<AppState>,
    SignedIn { user, csrf }: SignedIn,
) -> Result<Response, WebError> {
    reviewer_only(&user)?;
    let u = user.clone();
    let rows = s
        .with_reader(move |st| st.batch_candidates(&u))
        .await
        .map_err(|e| e.0)?;
    Ok(html(BatchPage {
        c: Chrome::new(&user, &csrf),
        rows,
        closed: None,
        refused: vec![],
    }))
}

/// Closes each selected hazard (审核销号) as the reviewer; one refused (its state changed since)
/// does not stop the others, and the page says which and why.
pub(crate) async fn accept(
    State(s): State<AppState>,
    SignedIn { user, csrf }: SignedIn,
    RawForm(body): RawForm,
) -> Result<Response, WebError> {
    reviewer_only(&user)?;
    let pairs = super::form_pairs(&body)?;
    let token = pairs
        .iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.as_str())
        .unwrap_or_default();
    check_csrf(token, &csrf)?;
    let ids: Vec<String> = pairs
        .into_iter()
        .filter(|(k, _)| k == "id")
        .map(|(_, v)| v)
        .collect();
    if ids.is_empty() {
        return Err(RelayError::BadRequest(
            "请至少勾选一项 / select at least one hazard to accept".into(),
        )
        .into());
    }
    let u = user.clone();
    let (closed, refused, rows) = s
        .with_store(move |st| {
            let (mut closed, mut refused) = (0, Vec::new());
            for id in &ids {
                let outcome = st.web_action(
                    &u,
                    id,
                    EventKind::Close,
                    crate::store::ActionDetail {
                        text: Some("批量审核销号（即改，照片核对无误）".into()),
                        ..Default::default()
                    },
                );
                match outcome {
                    Ok(_) => {
                        st.audit(&u.id, "hazard.close", id, "batch")?;
                        closed += 1;
                    }
                    Err(RelayError::Refused(why) | RelayError::Forbidden(why)) => {
                        refused.push((id.clone(), why));
                    }
                    Err(e) => return Err(e),
                }
            }
            Ok((closed, refused, st.batch_candidates(&u)?))
        })
        .await
        .map_err(|e| e.0)?;
    Ok(html(BatchPage {
        c: Chrome::new(&user, &csrf),
        rows,
        closed: Some(closed),
        refused,
    }))
}
