//! Accounts beyond the directory: disabling a user (their phones revoked, their sessions ended,
//! sign-in and enrolment refused) and enabling them again, and when each last signed in.

use std::collections::HashMap;

use gridsafe_core::directory::User;
use gridsafe_core::policy::{self, Capability};

use super::{RelayError, RelayStore, Result, now_ms};
use crate::vals;

impl RelayStore {
    /// Whether `user_id` was disabled by an administrator.
    pub fn is_disabled(&mut self, user_id: &str) -> Result<bool> {
        Ok(self
            .db()
            .one(
                "SELECT 1 FROM disabled_users WHERE user_id = ?1",
                vals![user_id],
            )?
            .is_some())
    }

    /// Refuses a disabled user (sign-in, enrolment).
    pub(super) fn check_enabled(&mut self, user_id: &str) -> Result<()> {
        if self.is_disabled(user_id)? {
            return Err(RelayError::Unauthorized(
                "账号已停用，请联系系统管理员 / this account is disabled; ask the administrator"
                    .into(),
            ));
        }
        Ok(())
    }

    /// Disables `user_id`: every phone of theirs is revoked (its next sync is refused) and every
    /// dashboard session ends. Returns how many phones were revoked.
    pub fn disable_user(&mut self, admin: &User, user_id: &str) -> Result<usize> {
        policy::check(admin, Capability::ManageUsers).map_err(RelayError::Forbidden)?;
        self.refresh_directory()?;
        if self.dir.as_ref().and_then(|d| d.user(user_id)).is_none() {
            return Err(RelayError::NotFound(format!("no user {user_id}")));
        }
        if user_id == admin.id {
            return Err(RelayError::Refused(
                "不能停用自己的账号 / you cannot disable your own account".into(),
            ));
        }
        let now = now_ms();
        self.db().exec(
            "INSERT INTO disabled_users (user_id, disabled_ms, disabled_by) VALUES (?1, ?2, ?3)
             ON CONFLICT DO NOTHING",
            vals![user_id, now, &admin.id],
        )?;
        let revoked = self.db().exec(
            "UPDATE devices SET revoked_ms = ?2 WHERE user_id = ?1 AND revoked_ms IS NULL",
            vals![user_id, now],
        )?;
        self.conn.execute(
            "DELETE FROM web_sessions WHERE user_id = ?1",
            rusqlite::params![user_id],
        )?;
        self.audit(&admin.id, "user.disable", user_id, &revoked.to_string())?;
        Ok(revoked as usize)
    }

    /// Enables `user_id` again (their revoked phones stay revoked: they enrol again).
    pub fn enable_user(&mut self, admin: &User, user_id: &str) -> Result<()> {
        policy::check(admin, Capability::ManageUsers).map_err(RelayError::Forbidden)?;
        self.db().exec(
            "DELETE FROM disabled_users WHERE user_id = ?1",
            vals![user_id],
        )?;
        self.audit(&admin.id, "user.enable", user_id, "")
    }

    /// Disabled users with when; and each user's last dashboard sign-in (from the audit log).
    pub fn account_states(&mut self) -> Result<(HashMap<String, i64>, HashMap<String, i64>)> {
        let disabled = self
            .db()
            .query("SELECT user_id, disabled_ms FROM disabled_users", &[])?
            .iter()
            .map(|r| Ok((r.text(0)?, r.int(1)?)))
            .collect::<Result<HashMap<_, _>>>()?;
        let mut stmt = self.conn.prepare_cached(
            "SELECT target, max(at_ms) FROM audit_log WHERE action = 'auth.login' GROUP BY target",
        )?;
        let last = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?
            .collect::<rusqlite::Result<HashMap<_, _>>>()?;
        Ok((disabled, last))
    }
}
