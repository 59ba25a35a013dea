//! Who acts on this phone: the directory, actor bindings, the relay enrolment and the owner key.

use std::sync::Arc;

use automerge::ActorId;
use rusqlite::{OptionalExtension, params};

use super::{Store, store_err};
use crate::directory::{Directory, User};
use crate::error::{Error, Result};
use crate::ids::check_id;

impl Store {
    /// Replaces the directory (server-authoritative; from a file until sync delivers it).
    pub fn import_directory(&mut self, bytes: &[u8]) -> Result<Directory> {
        let d = Directory::from_json(bytes)?;
        if let Some(old) = &self.directory
            && d.version < old.version
        {
            return Err(Error::invalid(format!(
                "directory version {} is older than the installed version {}",
                d.version, old.version
            )));
        }
        self.conn.execute(
            "INSERT OR REPLACE INTO directory (id, version, body) VALUES (1, ?1, ?2)",
            params![d.version as i64, serde_json::to_vec(&d)?],
        )?;
        self.directory = Some(Arc::new(d.clone()));
        Ok(d)
    }

    pub fn directory(&self) -> Result<Arc<Directory>> {
        self.directory.clone().ok_or_else(|| {
            Error::invalid("no directory loaded (run `gridsafe directory import FILE`)")
        })
    }

    /// Binds a remote actor to a user (the relay tells phones which device wrote what).
    pub fn bind_actor(&mut self, actor_hex: &str, user_id: &str) -> Result<()> {
        hex::decode(actor_hex)
            .map_err(|_| Error::invalid(format!("actor {actor_hex:?} is not hex")))?;
        self.conn.execute(
            "INSERT OR IGNORE INTO actors (actor, user_id, local) VALUES (?1, ?2, 0)",
            params![actor_hex, user_id],
        )?;
        self.actors
            .entry(actor_hex.to_owned())
            .or_insert_with(|| user_id.to_owned());
        Ok(())
    }

    /// Records a relay enrolment: the server, the device token, and the actors the relay bound to
    /// this device for `user_id` (kept as this phone's own).
    pub fn set_enrollment(
        &mut self,
        server: &str,
        device_id: &str,
        token: &str,
        user_id: &str,
        actors: &[String],
    ) -> Result<()> {
        let tx = self.conn.transaction()?;
        for a in actors {
            hex::decode(a).map_err(|_| Error::invalid(format!("actor {a:?} is not hex")))?;
            tx.execute(
                "INSERT OR IGNORE INTO actors (actor, user_id, local) VALUES (?1, ?2, 1)",
                params![a, user_id],
            )?;
        }
        for (k, v) in [
            ("server", server),
            ("device_id", device_id),
            ("device_token", token),
            ("device_user", user_id),
        ] {
            tx.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
                params![k, v],
            )?;
        }
        tx.commit()?;
        for a in actors {
            self.actors.insert(a.clone(), user_id.to_owned());
        }
        Ok(())
    }

    /// (server URL, device token, user) when this phone is enrolled.
    pub fn enrollment(&self) -> Result<Option<(String, String, String)>> {
        Ok(
            match (
                self.meta("server")?,
                self.meta("device_token")?,
                self.meta("device_user")?,
            ) {
                (Some(s), Some(t), Some(u)) => Some((s, t, u)),
                _ => None,
            },
        )
    }

    /// Keeps the owner key the relay issued this device (hex, 32 bytes): it signs the owner links
    /// printed on notices, offline.
    pub fn set_owner_key(&mut self, key_hex: &str) -> Result<()> {
        if key_hex.len() != 64 || hex::decode(key_hex).is_err() {
            return Err(Error::invalid("owner key: expected 64 hex characters"));
        }
        self.conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('owner_key', ?1)",
            params![key_hex],
        )?;
        Ok(())
    }

    pub fn has_owner_key(&self) -> Result<bool> {
        Ok(self.meta("owner_key")?.is_some())
    }

    /// A link to the owner's self-report page of `venue_id`, signed by this phone (valid
    /// [`crate::owner_link::VALID_MS`]); `None` until the phone is enrolled and holds an owner key.
    pub fn owner_url(&self, venue_id: &str) -> Result<Option<String>> {
        check_id("venue", venue_id)?;
        let (Some(server), Some(device_id), Some(key)) = (
            self.meta("server")?,
            self.meta("device_id")?,
            self.meta("owner_key")?,
        ) else {
            return Ok(None);
        };
        let now = self.now();
        let link = crate::owner_link::OwnerLink {
            device_id,
            venue_id: venue_id.to_owned(),
            issued_ms: now,
            expires_ms: now + crate::owner_link::VALID_MS,
        };
        Ok(Some(format!(
            "{}/o/{}",
            server.trim_end_matches('/'),
            crate::owner_link::sign(&key, &link)?
        )))
    }

    /// This phone's own actors and the users they act for (what enrolment binds on the relay).
    pub fn local_actors(&self) -> Result<Vec<(String, String)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT actor, user_id FROM actors WHERE local = 1 ORDER BY actor")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The user acting, and this phone's actor for them (created on first use).
    pub(super) fn act_as(&mut self, user_id: &str) -> Result<(User, ActorId)> {
        // An enrolled phone is its user's: it acts as no one else, whatever a caller asks.
        if let Some(enrolled) = self.meta("device_user")?
            && enrolled != user_id
        {
            return Err(Error::Forbidden(format!(
                "this phone is enrolled for {enrolled}; it cannot act as {user_id}"
            )));
        }
        let dir = self.directory()?;
        let user = dir
            .user(user_id)
            .cloned()
            .ok_or_else(|| Error::Forbidden(format!("unknown user {user_id:?}")))?;
        let existing: Option<String> = self
            .conn
            .query_row(
                "SELECT actor FROM actors WHERE user_id = ?1 AND local = 1",
                params![user_id],
                |r| r.get(0),
            )
            .optional()?;
        let hex_actor = match existing {
            Some(a) => a,
            None => {
                let a = ActorId::random().to_hex_string();
                self.conn.execute(
                    "INSERT INTO actors (actor, user_id, local) VALUES (?1, ?2, 1)",
                    params![a, user_id],
                )?;
                self.actors.insert(a.clone(), user_id.to_owned());
                a
            }
        };
        let actor = ActorId::from(
            hex::decode(&hex_actor).map_err(|_| store_err(&self.path, "corrupt actor table"))?,
        );
        Ok((user, actor))
    }
}
