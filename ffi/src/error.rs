//! The errors the app acts on, from core's and the client's.

/// What went wrong, by what the app should do about it. Every variant carries a reason that can
/// be shown as is (Chinese first, English after, where core provides both).
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum GridSafeError {
    /// The input is wrong (an id, an answer, a date, a photo that is not usable): show the reason
    /// and let the user correct it. Nothing was saved.
    #[error("{reason}")]
    InvalidInput { reason: String },
    /// The rules refuse this (hazard lifecycle, role or scope): show the reason; nothing changed.
    /// `code` is stable (e.g. `needs_after_photo`, `forbidden`) for the app to branch on.
    #[error("{reason}")]
    Refused { code: String, reason: String },
    /// No such venue, inspection or hazard.
    #[error("{reason}")]
    NotFound { reason: String },
    /// The inspection cannot be finished yet (unanswered items, missing required photos).
    #[error("{reason}")]
    Incomplete { reason: String },
    /// The store file is damaged, foreign or from a newer app version: do not retry; offer support.
    #[error("{reason}")]
    Storage { reason: String },
    /// The store is encrypted and this key does not open it (or the file is damaged). Nothing was
    /// read or changed. After an interrupted key rotation, try the other key (see
    /// `StoreKeys` in the app).
    #[error("{reason}")]
    WrongKey { reason: String },
    /// The relay could not be reached or answered with an error: retry later (automatic sync does).
    #[error("{reason}")]
    Network { reason: String },
    /// The relay does not accept this phone or these credentials (revoked, wrong password or code):
    /// enrol again.
    #[error("{reason}")]
    Unauthorized { reason: String },
    /// The sync was cancelled; everything confirmed before is kept and the next sync continues.
    #[error("{reason}")]
    Cancelled { reason: String },
    /// The store was closed; open it again.
    #[error("{reason}")]
    Closed { reason: String },
}

use gridsafe_core::labels::{Labels, Lang};

impl From<gridsafe_core::Error> for GridSafeError {
    fn from(e: gridsafe_core::Error) -> Self {
        use gridsafe_core::Error as E;
        let reason = e.to_string();
        match e {
            // The rule's words, which a person reads on the hazard screen: never the log text
            // with its ids and code.
            E::Refused(r) => GridSafeError::Refused {
                reason: format!(
                    "{} / {}",
                    r.zh,
                    Labels::new(None, Lang::En).refusal(&r.to_string())
                ),
                code: r.code,
            },
            E::Forbidden(_) => GridSafeError::Refused {
                code: "forbidden".into(),
                reason: "不在本人的网格或职责范围内，不能办理 / Outside your grids or role".into(),
            },
            E::NotFound { .. } => GridSafeError::NotFound { reason },
            E::Incomplete { .. } => GridSafeError::Incomplete { reason },
            E::Template { .. }
            | E::Answer { .. }
            | E::Photo(_)
            | E::TooLarge(_)
            | E::Invalid(_)
            | E::Document { .. }
            | E::Words(_)
            | E::Json(_) => GridSafeError::InvalidInput { reason },
            E::WrongKey { .. } => GridSafeError::WrongKey { reason },
            E::Store { .. } | E::Sqlite(_) | E::Automerge(_) | E::Reconcile(_) | E::Hydrate(_) => {
                GridSafeError::Storage { reason }
            }
        }
    }
}

/// Errors from the HTTP client: a cancel, a core error, an authorisation failure or the network.
pub(crate) fn client_error(e: anyhow::Error) -> GridSafeError {
    if e.downcast_ref::<gridsafe_client::Cancelled>().is_some() {
        return GridSafeError::Cancelled {
            reason: e.to_string(),
        };
    }
    let e = match e.downcast::<gridsafe_core::Error>() {
        Ok(core) => return core.into(),
        Err(e) => e,
    };
    let reason = format!("{e:#}");
    // Only what the relay's status says: 401 is enrol again; 403 and 413 are this phone's data
    // refused (not its enrolment); anything else, and no answer at all, is tried again later.
    match e
        .downcast_ref::<gridsafe_client::RelayAnswer>()
        .map(|a| a.status)
    {
        Some(401) => GridSafeError::Unauthorized { reason },
        Some(403) => GridSafeError::Refused {
            code: "forbidden".into(),
            reason,
        },
        Some(400 | 413) => GridSafeError::InvalidInput { reason },
        _ => GridSafeError::Network { reason },
    }
}
