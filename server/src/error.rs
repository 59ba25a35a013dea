//! The relay's one error type: what a caller acts on differently (sign in again, not allowed,
//! bad input, unknown, refused by a rule, too many, storage). The web layer maps each to a status.

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("not found: {0}")]
    NotFound(String),
    /// The hazard lifecycle rules refuse the action (the reason is the rule's, bilingual).
    #[error("{0}")]
    Refused(String),
    /// A rate limit (owner reports per venue and day).
    #[error("too many: {0}")]
    TooMany(String),
    #[error("storage: {0}")]
    Storage(String),
}

impl From<rusqlite::Error> for RelayError {
    fn from(e: rusqlite::Error) -> Self {
        RelayError::Storage(e.to_string())
    }
}

impl From<gridsafe_core::Error> for RelayError {
    fn from(e: gridsafe_core::Error) -> Self {
        RelayError::BadRequest(e.to_string())
    }
}

pub type Result<T, E = RelayError> = std::result::Result<T, E>;
