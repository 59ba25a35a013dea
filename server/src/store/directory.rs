//! The directory (villages, grids, departments, users), passwords, and the report's settings.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use gridsafe_core::directory::{Directory, User};
use rand_core::OsRng;
use rusqlite::params;

use super::{RelayError, RelayStore, Result, now_ms};
use crate::vals;

impl RelayStore {
    pub(super) fn read_directory(&mut self) -> Result<Option<Directory>> {
        let b = self
            .db()
            .one("SELECT body FROM directory WHERE id = 1", &[])?;
        b.map(|b| Directory::from_json(&b.blob(0)?).map_err(RelayError::from))
            .transpose()
    }

    /// Re-reads the directory only when `gridsafe-server admin` (another process) installed a new
    /// version: one indexed lookup per request instead of parsing the JSON every time.
    pub(crate) fn refresh_directory(&mut self) -> Result<()> {
        let v = self
            .db()
            .one("SELECT version FROM directory WHERE id = 1", &[])?
            .map(|r| r.int(0))
            .transpose()?;
        if v.map(|v| v as u64) != self.dir.as_ref().map(|d| d.version) {
            self.dir = self.read_directory()?;
        }
        Ok(())
    }

    pub fn directory(&self) -> Option<&Directory> {
        self.dir.as_ref()
    }

    /// Installs a directory; its version becomes one more than the installed one.
    pub fn import_directory(&mut self, bytes: &[u8]) -> Result<Directory> {
        let mut d = Directory::from_json(bytes)?;
        let current = self.dir.as_ref().map_or(0, |d| d.version);
        d.version = d.version.max(current + 1);
        let body = serde_json::to_vec(&d).map_err(|e| RelayError::Storage(e.to_string()))?;
        self.db().exec(
            "INSERT INTO directory (id, version, body) VALUES (1, ?1, ?2)
             ON CONFLICT (id) DO UPDATE SET version = excluded.version, body = excluded.body",
            vals![d.version as i64, body],
        )?;
        self.dir = Some(d.clone());
        Ok(d)
    }

    pub fn set_password(&mut self, user_id: &str, password: &str) -> Result<()> {
        let dir = self
            .dir
            .as_ref()
            .ok_or_else(|| RelayError::BadRequest("no directory installed".into()))?;
        if dir.user(user_id).is_none() {
            return Err(RelayError::BadRequest(format!("unknown user {user_id:?}")));
        }
        if password.chars().count() < 8 {
            return Err(RelayError::BadRequest(
                "a password needs at least 8 characters".into(),
            ));
        }
        let salt = SaltString::generate(&mut OsRng);
        let hash = Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map_err(|e| RelayError::Storage(e.to_string()))?
            .to_string();
        self.db().exec(
            "INSERT INTO credentials (user_id, pw_hash, updated_ms) VALUES (?1, ?2, ?3)
             ON CONFLICT (user_id) DO UPDATE SET pw_hash = excluded.pw_hash, updated_ms = excluded.updated_ms",
            vals![user_id, hash, now_ms()],
        )?;
        Ok(())
    }

    /// Adds a user or changes one's name, role and scope (the administrator's page): the
    /// directory is checked whole and published as a new version, which phones receive on their
    /// next sync. A change that leaves the directory invalid is refused and changes nothing.
    pub fn upsert_user(&mut self, user: User) -> Result<Directory> {
        let id = user.id.trim();
        let bad = |zh: String, en: String| Err(RelayError::BadRequest(format!("{zh} / {en}")));
        if id.is_empty()
            || id.len() > 64
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        {
            return bad(
                format!("账号“{}”不可用：请用 1–64 位字母、数字或 _ - .", user.id),
                format!(
                    "user id {:?}: use 1–64 letters, digits, '_', '-' or '.'",
                    user.id
                ),
            );
        }
        if user.name.trim().is_empty() {
            return bad(
                format!("用户 {id}：请填写姓名"),
                format!("user {id}: enter the name"),
            );
        }
        gridsafe_core::limits::check("name", &user.name)
            .map_err(|e| RelayError::BadRequest(format!("用户 {id}：姓名过长 / user {id}: {e}")))?;
        if let Some(dir) = &self.dir {
            if let Some(g) = user.grids.iter().find(|g| dir.grid(g).is_none()) {
                return bad(
                    format!("用户 {id}：没有网格“{g}”，请从列表中选择"),
                    format!("user {id}: there is no grid {g:?}; choose from the list"),
                );
            }
            if let Some(d) = user
                .department
                .as_deref()
                .filter(|d| dir.department(d).is_none())
            {
                return bad(
                    format!("用户 {id}：没有部门“{d}”，请从列表中选择"),
                    format!("user {id}: there is no department {d:?}; choose from the list"),
                );
            }
        }
        match (user.role, &user.department) {
            (gridsafe_core::directory::Role::Reviewer, None) => {
                return bad(
                    format!("用户 {id}：牵头部门审核员须选择部门"),
                    format!("user {id}: a reviewer needs a department"),
                );
            }
            (gridsafe_core::directory::Role::Inspector, _) if user.grids.is_empty() => {
                return bad(
                    format!("用户 {id}：网格员须至少选择一个网格"),
                    format!("user {id}: an inspector needs at least one grid"),
                );
            }
            _ => {}
        }
        let mut dir = self
            .dir
            .clone()
            .ok_or_else(|| RelayError::BadRequest("no directory installed".into()))?;
        match dir.users.iter_mut().find(|u| u.id == user.id) {
            Some(u) => *u = user,
            None => dir.users.push(user),
        }
        dir.validate()?;
        let bytes = serde_json::to_vec(&dir).map_err(|e| RelayError::Storage(e.to_string()))?;
        self.import_directory(&bytes)
    }

    /// Sets a new password for a user (the administrator's reset): their dashboard sessions end
    /// and a lockout is lifted. Phones already enrolled keep their device tokens.
    pub fn reset_password(&mut self, user_id: &str, password: &str) -> Result<()> {
        self.set_password(user_id, password)?;
        self.conn.execute(
            "DELETE FROM web_sessions WHERE user_id = ?1",
            params![user_id],
        )?;
        self.conn.execute(
            "DELETE FROM login_failures WHERE user_id = ?1",
            params![user_id],
        )?;
        Ok(())
    }

    pub fn report_stock_year(&self) -> Result<i32> {
        crate::report::stock_year(&self.conn)
    }

    pub fn set_report_stock_year(&mut self, year: i32) -> Result<()> {
        crate::report::set_stock_year(&self.conn, year)
    }

    pub fn report_cutoff_day(&self) -> Result<u8> {
        crate::report::cutoff_day(&self.conn)
    }

    pub fn set_report_cutoff_day(&mut self, day: u8) -> Result<()> {
        crate::report::set_cutoff_day(&self.conn, day)
    }

    pub(super) fn check_password(&mut self, user_id: &str, password: &str) -> Result<User> {
        let fail = || RelayError::Unauthorized("wrong user name or password".into());
        let dir = self.dir.as_ref().ok_or_else(fail)?;
        let user = dir.user(user_id).cloned().ok_or_else(fail)?;
        let hash = self
            .db()
            .one(
                "SELECT pw_hash FROM credentials WHERE user_id = ?1",
                vals![user_id],
            )?
            .map(|r| r.text(0))
            .transpose()?;
        let hash = hash.ok_or_else(fail)?;
        let parsed = PasswordHash::new(&hash).map_err(|e| RelayError::Storage(e.to_string()))?;
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .map_err(|_| fail())?;
        Ok(user)
    }
}
