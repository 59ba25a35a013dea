//! The directory: villages, grids, departments, users with roles and scopes, and which domain
//! routes to which lead department. Server-authoritative; read-only on phones (loaded from a file
//! until sync delivers it).

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 网格员 (also 村居 safety officer).
    Inspector,
    /// Lead department reviewer (牵头部门).
    Reviewer,
    /// 镇安委办.
    TownOffice,
    /// Manages users and devices; takes no part in the hazard lifecycle.
    Admin,
}

impl Role {
    pub fn label_zh(self) -> &'static str {
        match self {
            Role::Inspector => "网格员",
            Role::Reviewer => "牵头部门审核员",
            Role::TownOffice => "镇安委办",
            Role::Admin => "管理员",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    pub id: String,
    pub name: String,
    pub role: Role,
    /// Department code, required for reviewers.
    #[serde(default)]
    pub department: Option<String>,
    /// Grid ids an inspector works in.
    #[serde(default)]
    pub grids: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Village {
    pub code: String,
    pub name_zh: String,
    #[serde(default)]
    pub name_en: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grid {
    pub id: String,
    pub village: String,
    pub name_zh: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Department {
    pub code: String,
    pub name_zh: String,
    #[serde(default)]
    pub name_en: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Directory {
    /// Increases with every change the server publishes.
    pub version: u64,
    pub town_zh: String,
    #[serde(default)]
    pub town_en: String,
    pub villages: Vec<Village>,
    pub grids: Vec<Grid>,
    pub departments: Vec<Department>,
    /// Domain → lead department codes, for hazards that do not come from a checklist item
    /// (public reports, referrals). Checklist hazards take the item's own lead departments.
    #[serde(default)]
    pub routing: BTreeMap<String, Vec<String>>,
    pub users: Vec<User>,
}

impl Directory {
    /// Parses and checks a directory file; the error names the entry that is wrong.
    pub fn from_json(bytes: &[u8]) -> Result<Directory> {
        let d: Directory = serde_json::from_slice(bytes)
            .map_err(|e| Error::invalid(format!("directory file: {e}")))?;
        d.validate()?;
        Ok(d)
    }

    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::invalid(format!("directory: {m}")));
        let mut villages = HashSet::new();
        for v in &self.villages {
            if !villages.insert(v.code.as_str()) {
                return bad(format!("duplicate village {:?}", v.code));
            }
        }
        let mut grids = HashSet::new();
        for g in &self.grids {
            if !grids.insert(g.id.as_str()) {
                return bad(format!("duplicate grid {:?}", g.id));
            }
            if !villages.contains(g.village.as_str()) {
                return bad(format!(
                    "grid {:?} names unknown village {:?}",
                    g.id, g.village
                ));
            }
        }
        let mut depts = HashSet::new();
        for d in &self.departments {
            if !depts.insert(d.code.as_str()) {
                return bad(format!("duplicate department {:?}", d.code));
            }
        }
        for (domain, ds) in &self.routing {
            if let Some(d) = ds.iter().find(|d| !depts.contains(d.as_str())) {
                return bad(format!(
                    "routing for {domain:?} names unknown department {d:?}"
                ));
            }
        }
        let mut users = HashSet::new();
        for u in &self.users {
            if u.id.trim().is_empty() || !users.insert(u.id.as_str()) {
                return bad(format!("duplicate or empty user id {:?}", u.id));
            }
            if let Some(g) = u.grids.iter().find(|g| !grids.contains(g.as_str())) {
                return bad(format!("user {:?} names unknown grid {g:?}", u.id));
            }
            match (u.role, &u.department) {
                (Role::Reviewer, None) => {
                    return bad(format!("reviewer {:?} needs a department", u.id));
                }
                (_, Some(d)) if !depts.contains(d.as_str()) => {
                    return bad(format!("user {:?} names unknown department {d:?}", u.id));
                }
                (Role::Inspector, _) if u.grids.is_empty() => {
                    return bad(format!("inspector {:?} needs at least one grid", u.id));
                }
                _ => {}
            }
        }
        Ok(())
    }

    pub fn user(&self, id: &str) -> Option<&User> {
        self.users.iter().find(|u| u.id == id)
    }
    pub fn grid(&self, id: &str) -> Option<&Grid> {
        self.grids.iter().find(|g| g.id == id)
    }
    pub fn department(&self, code: &str) -> Option<&Department> {
        self.departments.iter().find(|d| d.code == code)
    }
}

/// Who wrote a change: automerge actor id (hex) → user. The server binds actors to devices;
/// offline, the store binds one actor per local user.
pub trait Roster {
    fn user_of_actor(&self, actor_hex: &str) -> Option<&User>;
    /// The directory's user `id` (an assignment names one).
    fn user(&self, id: &str) -> Option<&User>;
    /// The grid the record's venue is in now, when the caller knows it (a venue moved since).
    fn venue_grid(&self) -> Option<&str> {
        None
    }
}

/// A roster over a directory and an actor map.
#[derive(Debug)]
pub struct DirectoryRoster<'a> {
    pub directory: &'a Directory,
    pub actors: &'a HashMap<String, String>,
    pub venue_grid: Option<&'a str>,
}

impl Roster for DirectoryRoster<'_> {
    fn venue_grid(&self) -> Option<&str> {
        self.venue_grid
    }

    fn user(&self, id: &str) -> Option<&User> {
        self.directory.user(id)
    }

    fn user_of_actor(&self, actor_hex: &str) -> Option<&User> {
        self.actors
            .get(actor_hex)
            .and_then(|u| self.directory.user(u))
    }
}
