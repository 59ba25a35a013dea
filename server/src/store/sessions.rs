//! Dashboard sessions: sign-in with the per-user and relay-wide lockouts, the session lookup on
//! every page, sign-out.

use super::{RelayError, RelayStore, Result, now_ms, sha256_hex};
use gridsafe_core::directory::User;
use rand_core::{OsRng, RngCore};
use rusqlite::{OptionalExtension, params};

/// A dashboard session lasts a working day.
pub const SESSION_MS: i64 = 10 * 3_600_000;

/// A fresh single-use token for one of the office's forms (see [`RelayStore::use_form_token`]).
pub fn new_form_token() -> String {
    let mut raw = [0u8; 16];
    OsRng.fill_bytes(&mut raw);
    hex::encode(raw)
}

impl RelayStore {
    /// Signs a user in to the dashboard: a random session token (stored hashed, valid
    /// [`SESSION_MS`]) and a CSRF token for its forms. After [`LOCKOUT_FAILURES`] failed attempts
    /// within [`LOCKOUT_MS`] the user name is locked for the rest of that window, even with the
    /// right password.
    pub fn web_login(&mut self, user_id: &str, password: &str) -> Result<(String, String, User)> {
        self.refresh_directory()?;
        let now = now_ms();
        let user = self.guarded(user_id, "dashboard sign-in", |st| {
            st.check_password(user_id, password)
        })?;
        self.check_enabled(&user.id)?;
        self.audit(&user.id, "auth.login", &user.id, "dashboard")?;
        let mut raw = [0u8; 32];
        OsRng.fill_bytes(&mut raw);
        let token = hex::encode(raw);
        OsRng.fill_bytes(&mut raw);
        let csrf = hex::encode(raw);
        self.conn.execute(
            "INSERT INTO web_sessions (token_hash, user_id, csrf, created_ms, expires_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![sha256_hex(token.as_bytes()), user.id, csrf, now, now + SESSION_MS],
        )?;
        Ok((token, csrf, user))
    }

    /// The user and CSRF token of a live dashboard session.
    pub fn web_session(&mut self, token: &str) -> Result<(User, String)> {
        self.refresh_directory()?;
        let row: Option<(String, String, i64)> = self
            .conn
            .query_row(
                "SELECT user_id, csrf, expires_ms FROM web_sessions WHERE token_hash = ?1",
                params![sha256_hex(token.as_bytes())],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let (user_id, csrf, expires) =
            row.ok_or_else(|| RelayError::Unauthorized("please sign in".into()))?;
        if expires <= now_ms() {
            return Err(RelayError::Unauthorized(
                "the session has expired; please sign in again".into(),
            ));
        }
        let user = self
            .dir
            .as_ref()
            .and_then(|d| d.user(&user_id))
            .cloned()
            .ok_or_else(|| RelayError::Unauthorized(format!("user {user_id} no longer exists")))?;
        Ok((user, csrf))
    }

    pub fn web_logout(&mut self, token: &str) -> Result<()> {
        self.conn.execute(
            "DELETE FROM web_sessions WHERE token_hash = ?1",
            params![sha256_hex(token.as_bytes())],
        )?;
        Ok(())
    }

    /// Records a form's single-use token; false when it was used already (nothing to do again).
    /// A token that is not one this relay could have made is refused, not recorded.
    pub fn use_form_token(&mut self, token: &str, user_id: &str) -> Result<bool> {
        if token.len() != 32 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(RelayError::BadRequest(
                "表单已失效，请刷新页面后重试 / the form is out of date; reload the page".into(),
            ));
        }
        let n = self.db().exec(
            "INSERT INTO form_uses (token, user_id, used_ms) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
            crate::vals![token, user_id, now_ms()],
        )?;
        Ok(n == 1)
    }
}
