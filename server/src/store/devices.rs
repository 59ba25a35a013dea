//! Devices: enrolment by password or one-time code (with lockouts), tokens, revocation.

use std::collections::HashSet;

use gridsafe_core::directory::User;
use gridsafe_core::policy::{self, Capability};
use rand_core::{OsRng, RngCore};
use rusqlite::params;

use super::{RelayError, RelayStore, Result, now_ms, sha256_hex};
use crate::vals;
use serde::{Deserialize, Serialize};

/// An authenticated device.
#[derive(Clone, Debug)]
pub struct Device {
    pub id: String,
    pub user: User,
    pub actors: HashSet<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Enrolled {
    pub device_id: String,
    pub token: String,
    pub user_id: String,
    /// The actors bound to this device (the phone's own, plus one assigned if it had none).
    pub actors: Vec<String>,
    /// Signs the owner links on this phone's notices (hex, 32 bytes).
    pub owner_key: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DeviceRow {
    pub id: String,
    pub user_id: String,
    pub name: String,
    pub revoked: bool,
    pub last_sync_ms: Option<i64>,
    pub pending_docs: Option<i64>,
    pub pending_photos: Option<i64>,
    pub app_version: Option<String>,
    pub protocol: Option<i64>,
}

/// Failed logins that lock a user name, and the window they count in.
pub const LOCKOUT_FAILURES: i64 = 5;

pub const LOCKOUT_MS: i64 = 15 * 60_000;

/// Failed sign-ins and enrolments the whole relay takes per minute, whatever the user name: past
/// it everyone waits a minute (a spray over many user names, which the per-user lockout misses).
pub const RELAY_FAILURES_PER_MINUTE: i64 = 30;

impl RelayStore {
    /// Enrols a phone for a user who gives their password: a random token (stored hashed) and the
    /// phone's actors bound to the new device (an actor already bound elsewhere is refused).
    pub fn enroll(
        &mut self,
        user_id: &str,
        password: &str,
        device_name: &str,
        actors: &[String],
    ) -> Result<Enrolled> {
        self.refresh_directory()?;
        let user = self.guarded(user_id, "enrolment (password)", |st| {
            st.check_password(user_id, password)
        })?;
        self.enroll_user(user, device_name, actors, None)
    }

    /// Runs a credential check for `user_id` under the lockouts: refused without trying while the
    /// user name is locked ([`LOCKOUT_FAILURES`] failures within [`LOCKOUT_MS`], dashboard
    /// sign-ins and enrolments together) or the relay has seen [`RELAY_FAILURES_PER_MINUTE`]
    /// failures in the last minute; a failure is counted, a success clears the user's count.
    /// Failures go to the audit log as `auth.failed` with `what` was tried.
    pub(super) fn guarded<T>(
        &mut self,
        user_id: &str,
        what: &str,
        check: impl FnOnce(&mut Self) -> Result<T>,
    ) -> Result<T> {
        let now = now_ms();
        self.conn.execute(
            "DELETE FROM login_failures WHERE at_ms < ?1",
            params![now - LOCKOUT_MS],
        )?;
        let (mine, recent): (i64, i64) = self.conn.query_row(
            "SELECT coalesce(sum(user_id = ?1), 0), coalesce(sum(at_ms >= ?2), 0) FROM login_failures",
            params![user_id, now - 60_000],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        if mine >= LOCKOUT_FAILURES {
            return Err(RelayError::TooMany(format!(
                "too many failed attempts for {user_id}; try again in {} minutes",
                LOCKOUT_MS / 60_000
            )));
        }
        if recent >= RELAY_FAILURES_PER_MINUTE {
            return Err(RelayError::TooMany(
                "too many failed sign-ins on this relay; try again in a minute".into(),
            ));
        }
        match check(self) {
            Ok(v) => {
                self.conn.execute(
                    "DELETE FROM login_failures WHERE user_id = ?1",
                    params![user_id],
                )?;
                Ok(v)
            }
            Err(e @ RelayError::Unauthorized(_)) => {
                self.conn.execute(
                    "INSERT INTO login_failures (user_id, at_ms) VALUES (?1, ?2)",
                    params![user_id, now],
                )?;
                self.audit(user_id, "auth.failed", user_id, what)?;
                Err(e)
            }
            Err(e) => Err(e),
        }
    }

    /// Creates a one-time enrolment code for a user, valid for `valid_ms`; returns it for printing
    /// (only its hash is kept).
    pub fn create_enrol_code(&mut self, user_id: &str, valid_ms: i64) -> Result<String> {
        let dir = self
            .dir
            .as_ref()
            .ok_or_else(|| RelayError::BadRequest("no directory installed".into()))?;
        let user = dir
            .user(user_id)
            .ok_or_else(|| RelayError::BadRequest(format!("unknown user {user_id:?}")))?;
        policy::check(user, Capability::EnrolPhones).map_err(RelayError::BadRequest)?;
        if !(60_000..=30 * 86_400_000).contains(&valid_ms) {
            return Err(RelayError::BadRequest(
                "a code is valid between one minute and 30 days".into(),
            ));
        }
        // 12 symbols without look-alikes (0/O, 1/I/L): ~59 bits, read out or typed on a phone.
        const ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
        let mut raw = [0u8; 12];
        OsRng.fill_bytes(&mut raw);
        let code: String = raw
            .iter()
            .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
            .collect();
        let now = now_ms();
        self.db().exec(
            "INSERT INTO enrol_codes (code_hash, user_id, created_ms, expires_ms) VALUES (?1, ?2, ?3, ?4)",
            vals![sha256_hex(code.as_bytes()), user_id, now, now + valid_ms],
        )?;
        Ok(format!("{}-{}-{}", &code[..4], &code[4..8], &code[8..]))
    }

    /// Enrols a phone with a user name and a one-time code from [`RelayStore::create_enrol_code`].
    pub fn enroll_with_code(
        &mut self,
        user_id: &str,
        code: &str,
        device_name: &str,
        actors: &[String],
    ) -> Result<Enrolled> {
        self.refresh_directory()?;
        let (user, hash) = self.guarded(user_id, "enrolment (code)", |st| {
            st.check_enrol_code(user_id, code)
        })?;
        self.enroll_user(user, device_name, actors, Some(hash))
    }

    /// The user a one-time code belongs to, and the code's hash, if it is theirs and unspent.
    pub(super) fn check_enrol_code(&mut self, user_id: &str, code: &str) -> Result<(User, String)> {
        let normal: String = code
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let hash = sha256_hex(normal.as_bytes());
        let row: Option<(String, i64, Option<i64>)> = self
            .db()
            .one(
                "SELECT user_id, expires_ms, used_ms FROM enrol_codes WHERE code_hash = ?1",
                vals![&hash],
            )?
            .map(|r| Ok::<_, RelayError>((r.text(0)?, r.int(1)?, r.opt_int(2)?)))
            .transpose()?;
        let user = match row {
            Some((owner, _, _)) if owner != user_id => None,
            Some((_, _, Some(_))) => {
                return Err(RelayError::Unauthorized(
                    "this enrolment code has already been used".into(),
                ));
            }
            Some((_, expires, None)) if expires <= now_ms() => {
                return Err(RelayError::Unauthorized(
                    "this enrolment code has expired; ask the office for a new one".into(),
                ));
            }
            Some(_) => self.dir.as_ref().and_then(|d| d.user(user_id)).cloned(),
            None => None,
        };
        let user = user
            .ok_or_else(|| RelayError::Unauthorized("wrong user name or enrolment code".into()))?;
        Ok((user, hash))
    }

    /// Creates the device; a code, when given, is spent in the same transaction.
    pub(super) fn enroll_user(
        &mut self,
        user: User,
        device_name: &str,
        actors: &[String],
        code_hash: Option<String>,
    ) -> Result<Enrolled> {
        policy::check(&user, Capability::EnrolPhones).map_err(RelayError::Forbidden)?;
        self.check_enabled(&user.id)?;
        let mut token = [0u8; 32];
        OsRng.fill_bytes(&mut token);
        let token = hex::encode(token);
        let mut id = [0u8; 16];
        OsRng.fill_bytes(&mut id);
        let device_id = hex::encode(id);
        let mut actors: Vec<String> = actors.to_vec();
        if actors.is_empty() {
            let mut a = [0u8; 16];
            OsRng.fill_bytes(&mut a);
            actors.push(hex::encode(a));
        }
        for a in &actors {
            if hex::decode(a).map_or(true, |b| b.is_empty() || b.len() > 32) {
                return Err(RelayError::BadRequest(format!(
                    "actor {a:?} is not a hex actor id"
                )));
            }
        }
        let mut key = [0u8; 32];
        OsRng.fill_bytes(&mut key);
        let owner_key = hex::encode(key);
        self.write_tx(|st| {
            let mut db = st.db();
            for a in &actors {
                if db.one("SELECT device_id FROM actors WHERE actor = ?1", vals![a])?.is_some() {
                    return Err(RelayError::Forbidden(format!("actor {a} is already bound to another device")));
                }
            }
            db.exec(
                "INSERT INTO devices (id, user_id, name, token_hash, created_ms, owner_key) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                vals![&device_id, &user.id, device_name, sha256_hex(token.as_bytes()), now_ms(), &owner_key],
            )?;
            for a in &actors {
                db.exec("INSERT INTO actors (actor, device_id, user_id) VALUES (?1, ?2, ?3)", vals![a, &device_id, &user.id])?;
            }
            if let Some(h) = code_hash {
                let n = db.exec(
                    "UPDATE enrol_codes SET used_ms = ?2, device_id = ?3 WHERE code_hash = ?1 AND used_ms IS NULL",
                    vals![h, now_ms(), &device_id],
                )?;
                if n != 1 {
                    return Err(RelayError::Unauthorized("this enrolment code has already been used".into()));
                }
            }
            Ok(())
        })?;
        self.actors
            .extend(actors.iter().map(|a| (a.clone(), user.id.clone())));
        self.audit(&user.id, "device.enroll", &device_id, device_name)?;
        Ok(Enrolled {
            device_id,
            token,
            user_id: user.id,
            actors,
            owner_key,
        })
    }

    pub fn authenticate(&mut self, token: &str) -> Result<Device> {
        self.refresh_directory()?;
        let row: Option<(String, String, Option<i64>)> = self
            .db()
            .one(
                "SELECT id, user_id, revoked_ms FROM devices WHERE token_hash = ?1",
                vals![sha256_hex(token.as_bytes())],
            )?
            .map(|r| Ok::<_, RelayError>((r.text(0)?, r.text(1)?, r.opt_int(2)?)))
            .transpose()?;
        let (id, user_id, revoked) =
            row.ok_or_else(|| RelayError::Unauthorized("unknown device token".into()))?;
        if revoked.is_some() {
            return Err(RelayError::Unauthorized(
                "this device has been revoked".into(),
            ));
        }
        let dir = self
            .dir
            .as_ref()
            .ok_or_else(|| RelayError::Unauthorized("no directory".into()))?;
        let user = dir
            .user(&user_id)
            .cloned()
            .ok_or_else(|| RelayError::Unauthorized(format!("user {user_id} no longer exists")))?;
        let actors = self.device_actors(&id)?;
        Ok(Device { id, user, actors })
    }

    pub(super) fn device_actors(&mut self, device_id: &str) -> Result<HashSet<String>> {
        self.db()
            .query(
                "SELECT actor FROM actors WHERE device_id = ?1",
                vals![device_id],
            )?
            .iter()
            .map(|r| r.text(0))
            .collect()
    }

    pub fn revoke(&mut self, device_id: &str) -> Result<()> {
        let n = self.db().exec(
            "UPDATE devices SET revoked_ms = ?2 WHERE id = ?1 AND revoked_ms IS NULL",
            vals![device_id, now_ms()],
        )?;
        if n == 0 {
            return Err(RelayError::BadRequest(format!(
                "no active device {device_id}"
            )));
        }
        Ok(())
    }

    pub fn devices(&mut self) -> Result<Vec<DeviceRow>> {
        let rows = self.db().query(
            "SELECT id, user_id, name, revoked_ms, last_sync_ms, pending_docs, pending_photos, app_version, protocol FROM devices ORDER BY user_id, created_ms",
            &[],
        )?;
        rows.iter()
            .map(|r| {
                Ok(DeviceRow {
                    id: r.text(0)?,
                    user_id: r.text(1)?,
                    name: r.text(2)?,
                    revoked: r.opt_int(3)?.is_some(),
                    last_sync_ms: r.opt_int(4)?,
                    pending_docs: r.opt_int(5)?,
                    pending_photos: r.opt_int(6)?,
                    app_version: r.opt_text(7)?,
                    protocol: r.opt_int(8)?,
                })
            })
            .collect()
    }

    /// Per device: how many changes were set aside, and the latest (when, record, why in
    /// Chinese) — for the device health page.
    pub fn refused_by_device(&mut self) -> Result<Vec<RefusedSummary>> {
        let rows = self.db().query(
            "SELECT r.device_id, (SELECT count(*) FROM refused_changes c WHERE c.device_id = r.device_id), r.received_ms, r.doc_id, r.reason_zh
             FROM refused_changes r
             WHERE r.received_ms = (SELECT max(received_ms) FROM refused_changes m WHERE m.device_id = r.device_id)",
            &[],
        )?;
        let mut out: Vec<RefusedSummary> = Vec::new();
        for r in &rows {
            let device_id = r.text(0)?;
            if out.iter().any(|s| s.device_id == device_id) {
                continue;
            }
            out.push(RefusedSummary {
                device_id,
                count: r.int(1)?,
                last_ms: r.int(2)?,
                doc_id: r.text(3)?,
                why_zh: r.text(4)?,
            });
        }
        Ok(out)
    }
}

/// A device's set-aside changes, in short.
#[derive(Clone, Debug)]
pub struct RefusedSummary {
    pub device_id: String,
    pub count: i64,
    pub last_ms: i64,
    pub doc_id: String,
    pub why_zh: String,
}
