//! The core's one error type. Variants are what a caller acts on differently; each names what was
//! wrong (file, item, id) so the message can be shown as is.

use serde::{Deserialize, Serialize};

/// Why an event was refused, in both languages, with a stable code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    pub code: String,
    pub zh: String,
    pub en: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}) [{}]", self.en, self.zh, self.code)
    }
}

/// Errors returned by `gridsafe-core`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A checklist template file is invalid; nothing from the bundle was loaded.
    #[error("template {file}: item {item}: {reason}")]
    Template {
        file: String,
        item: String,
        reason: String,
    },
    /// An answer does not fit the item it answers.
    #[error("answer to {item}: {reason}")]
    Answer { item: String, reason: String },
    /// What a person typed or chose, refused in words they read (the question by its label and
    /// what it takes); nothing was saved.
    #[error("{0}")]
    Words(String),
    /// A hazard transition the lifecycle rules refuse; the document is unchanged.
    #[error("refused: {0}")]
    Refused(Refusal),
    /// The acting user may not do this (role or scope).
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// A photo that cannot be used as evidence (not an image, truncated, unsupported...).
    #[error("photo rejected: {0}")]
    Photo(String),
    /// A photo (or any input) above a stated size, pixel or memory limit; refused before it was
    /// decoded or stored.
    #[error("too large: {0}")]
    TooLarge(String),
    /// No such record.
    #[error("{kind} not found: {id}")]
    NotFound { kind: &'static str, id: String },
    /// The request is malformed (bad id, bad date, missing field).
    #[error("invalid input: {0}")]
    Invalid(String),
    /// An inspection cannot be finished yet.
    #[error("inspection {id} cannot be finished: {reason}")]
    Incomplete { id: String, reason: String },
    /// The store file is not a GridSafe store, is corrupt, or is from a newer version.
    #[error("store {path}: {reason}")]
    Store { path: String, reason: String },
    /// An encrypted store that this key does not open (the wrong key, or a damaged file). Nothing
    /// was read or changed; the store opens again with its key.
    #[error(
        "store {path}: cannot be decrypted with this key (wrong key, or the file is damaged); nothing was changed"
    )]
    WrongKey { path: String },
    /// A record document is malformed (e.g. an imported or synced document of the wrong shape).
    #[error("document {id}: {reason}")]
    Document { id: String, reason: String },
    #[error("database: {0}")]
    Sqlite(Box<rusqlite::Error>),
    #[error("automerge: {0}")]
    Automerge(Box<automerge::AutomergeError>),
    #[error("document mapping: {0}")]
    Reconcile(Box<autosurgeon::ReconcileError>),
    #[error("document mapping: {0}")]
    Hydrate(Box<autosurgeon::HydrateError>),
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
}

// Boxed: these library errors are large, and every `Result` in the crate pays for the biggest.
macro_rules! boxed_from {
    ($($t:ty => $v:ident),*) => {$(
        impl From<$t> for Error {
            fn from(e: $t) -> Self {
                Error::$v(Box::new(e))
            }
        }
    )*};
}
boxed_from!(rusqlite::Error => Sqlite, automerge::AutomergeError => Automerge, autosurgeon::ReconcileError => Reconcile, autosurgeon::HydrateError => Hydrate);

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn invalid(msg: impl Into<String>) -> Self {
        Error::Invalid(msg.into())
    }
    pub(crate) fn answer(item: &str, reason: impl Into<String>) -> Self {
        Error::Answer {
            item: item.to_owned(),
            reason: reason.into(),
        }
    }
    pub(crate) fn not_found(kind: &'static str, id: &str) -> Self {
        Error::NotFound {
            kind,
            id: id.to_owned(),
        }
    }
}
