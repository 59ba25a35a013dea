//! The errors the app acts on, from core's and the client's.

use gridsafe_core::labels::{Labels, Lang};

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
            // A screen opened on a record this phone no longer holds (moved out of the worker's
            // grids, or not synced yet): what to do, not the record's id.
            E::NotFound { .. } => GridSafeError::NotFound {
                reason: "本机没有这条记录（可能已调出本人网格或尚未同步）：请返回上一页，同步后再看 / This phone does not hold that record (moved out of your grids, or not synced yet): go back, sync, and look again".into(),
            },
            // The core's reason is in words (which questions, which photos); its id is not.
            E::Incomplete { reason: words, .. } => GridSafeError::Incomplete { reason: words },
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
            reason: "同步已取消，已确认的记录都已保存，下次同步接着进行 / Sync cancelled: what the relay confirmed is kept and the next sync goes on".into(),
        };
    }
    let e = match e.downcast::<gridsafe_core::Error>() {
        Ok(core) => return core.into(),
        Err(e) => e,
    };
    // A person reads these on the enrolment and sync screens: what happened and what to do, in
    // words, never the HTTP detail.
    let words = |zh: &str, en: &str| format!("{zh} / {en}");
    if e.to_string().starts_with("relay address") {
        return GridSafeError::InvalidInput {
            reason: words(
                "中继地址不对：须为镇安委办给出的 https:// 开头的地址",
                "The relay address is wrong: use the https:// address the town office gave you",
            ),
        };
    }
    // Only what the relay's status says: 401 is enrol again; 403 and 413 are this phone's data
    // refused (not its enrolment); anything else, and no answer at all, is tried again later.
    match e
        .downcast_ref::<gridsafe_client::RelayAnswer>()
        .map(|a| a.status)
    {
        Some(401) => GridSafeError::Unauthorized {
            reason: words(
                "登记码、用户名或密码不对，或本机的登记已被撤销：请向镇安委办确认后重新登记",
                "The code, user name or password is wrong, or this phone's enrolment was revoked: check with the town office and enrol again",
            ),
        },
        Some(403) => GridSafeError::Refused {
            code: "forbidden".into(),
            reason: words(
                "中继不接受本机的这些记录（不在本人网格或职责范围内）：请联系镇安委办",
                "The relay does not accept these records from this phone (outside your grids or role): ask the town office",
            ),
        },
        Some(400 | 413) => GridSafeError::InvalidInput {
            reason: words(
                "中继无法接收本机发送的内容：请将应用更新到最新版本",
                "The relay cannot take what this phone sent: update the app",
            ),
        },
        _ => GridSafeError::Network {
            reason: words(
                "连不上中继：请检查网络。记录已保存在本机，有网络时会自动同步",
                "Cannot reach the relay: check the network. Records are kept on the phone and sync by themselves once there is a network",
            ),
        },
    }
}
