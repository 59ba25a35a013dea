//! The relay's one error type: what a caller acts on differently (sign in again, not allowed,
//! bad input, unknown, refused by a rule, too many, storage), and [`ApiError`], the same as an
//! answer to a phone.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

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
    /// Above a stated size, pixel or memory limit.
    #[error("too large: {0}")]
    TooLarge(String),
    #[error("storage: {0}")]
    Storage(String),
    /// Stored evidence no longer matches its hash: a server fault, but one the reader must see
    /// (the photo is withheld, not shown).
    #[error("{0}")]
    Integrity(String),
}

impl RelayError {
    /// The message alone, without the kind (what a person reads on a page).
    pub fn message(&self) -> &str {
        match self {
            RelayError::Unauthorized(m)
            | RelayError::Forbidden(m)
            | RelayError::BadRequest(m)
            | RelayError::NotFound(m)
            | RelayError::Refused(m)
            | RelayError::TooMany(m)
            | RelayError::TooLarge(m)
            | RelayError::Storage(m)
            | RelayError::Integrity(m) => m,
        }
    }
}

impl From<rusqlite::Error> for RelayError {
    fn from(e: rusqlite::Error) -> Self {
        RelayError::Storage(e.to_string())
    }
}

/// Core's errors by what the caller should do: fix the input (400), ask someone allowed (403),
/// look for something that exists (404), respect a rule (409), send less (413); or, for the
/// store and the document engine failing, nothing — the details go to the log (500).
impl From<gridsafe_core::Error> for RelayError {
    fn from(e: gridsafe_core::Error) -> Self {
        use gridsafe_core::Error as E;
        match e {
            E::Forbidden(m) => RelayError::Forbidden(m),
            E::NotFound { .. } => RelayError::NotFound(e.to_string()),
            E::Refused(r) => RelayError::Refused(r.to_string()),
            E::TooLarge(m) => RelayError::TooLarge(m),
            E::Template { .. }
            | E::Answer { .. }
            | E::Photo(_)
            | E::Invalid(_)
            | E::Words(_)
            | E::Incomplete { .. }
            | E::Document { .. }
            | E::Json(_) => RelayError::BadRequest(e.to_string()),
            E::Store { .. }
            | E::WrongKey { .. }
            | E::Sqlite(_)
            | E::Automerge(_)
            | E::Reconcile(_)
            | E::Hydrate(_) => RelayError::Storage(e.to_string()),
        }
    }
}

pub type Result<T, E = RelayError> = std::result::Result<T, E>;

#[derive(Debug)]
pub struct ApiError(pub RelayError);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match &self.0 {
            RelayError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            RelayError::Forbidden(_) => StatusCode::FORBIDDEN,
            RelayError::BadRequest(_) => StatusCode::BAD_REQUEST,
            RelayError::NotFound(_) => StatusCode::NOT_FOUND,
            RelayError::Refused(_) => StatusCode::CONFLICT,
            RelayError::TooMany(_) => StatusCode::TOO_MANY_REQUESTS,
            RelayError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            RelayError::Storage(_) | RelayError::Integrity(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %self.0, "request failed");
            // The details (SQL, database host, file paths) are for the relay's log, not for
            // whoever sent the request; the phone keeps its work and tries again.
            return (
                status,
                "storage error on the relay (logged there); try again later",
            )
                .into_response();
        }
        tracing::info!(error = %self.0, status = status.as_u16(), "request refused");
        (status, self.0.to_string()).into_response()
    }
}
