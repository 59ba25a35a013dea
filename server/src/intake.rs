//! Public report intake (群众举报: the 12345 hotline, 随申拍): tickets imported from the
//! platforms' CSV export or entered by hand become `task` records for the grid worker of the
//! address's grid, who verifies them on site on the phone (查实). An import is all or nothing: a
//! malformed file is answered with every bad line and its reason.

use gridsafe_core::directory::{Directory, User};
use gridsafe_core::policy::{self, Capability};
use gridsafe_core::records::{self, Task};
use rusqlite::params;
use serde::Serialize;

use gridsafe_core::store::TaskRow;

use crate::error::RelayError;
use crate::store::RelayStore;

type Result<T> = std::result::Result<T, RelayError>;

/// Most tickets in one import (a month of a town's tickets fits many times over).
pub const MAX_TICKETS: usize = 5_000;

/// A ticket as entered or read from a CSV line.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Ticket {
    pub ticket_no: String,
    pub channel: String,
    pub received_at: String,
    pub address: String,
    pub description: String,
    /// Domain code or its Chinese label.
    pub category: String,
    /// Grid id or its Chinese name.
    pub grid: String,
}

/// Column names accepted in the header row (Chinese as the platforms export, or English).
const COLUMNS: [(&str, &[&str]); 7] = [
    ("ticket_no", &["工单号", "工单编号", "ticket_no", "ticket"]),
    ("received_at", &["时间", "受理时间", "received_at", "time"]),
    ("address", &["地址", "事发地址", "address"]),
    ("description", &["描述", "诉求内容", "description"]),
    ("category", &["类别", "领域", "category"]),
    ("grid", &["网格", "grid"]),
    ("channel", &["渠道", "来源", "channel"]),
];

fn domain_code(dir: &Directory, category: &str) -> Option<String> {
    let c = category.trim();
    if dir.routing.contains_key(c) {
        return Some(c.to_owned());
    }
    crate::report::DOMAINS
        .iter()
        .find(|d| d.1 == c || d.2.eq_ignore_ascii_case(c))
        .map(|d| d.0.to_owned())
        .filter(|d| dir.routing.contains_key(d))
}

/// Checks a ticket against the directory; the reason names the field.
fn check_ticket(
    dir: &Directory,
    t: &Ticket,
) -> std::result::Result<(String, String, String), String> {
    for (name, v) in [
        ("工单号 ticket number", &t.ticket_no),
        ("地址 address", &t.address),
        ("描述 description", &t.description),
    ] {
        if v.trim().is_empty() {
            return Err(format!("{name} is empty"));
        }
    }
    if t.ticket_no.len() > 64
        || t.description.chars().count() > 2_000
        || t.address.chars().count() > 200
    {
        return Err(
            "a field is too long (ticket ≤ 64, address ≤ 200, description ≤ 2,000 characters)"
                .into(),
        );
    }
    let day = t.received_at.trim().get(..10).unwrap_or("");
    gridsafe_core::clock::parse_date(day).map_err(|_| {
        format!(
            "时间 time {:?} does not start with a date (YYYY-MM-DD)",
            t.received_at
        )
    })?;
    let domain = domain_code(dir, &t.category).ok_or_else(|| {
        let known: Vec<&str> = dir.routing.keys().map(String::as_str).collect();
        format!(
            "类别 category {:?} is not one of {}",
            t.category,
            known.join(", ")
        )
    })?;
    let grid = dir
        .grids
        .iter()
        .find(|g| g.id == t.grid.trim() || g.name_zh == t.grid.trim())
        .ok_or_else(|| format!("网格 grid {:?} is not in the directory", t.grid))?;
    Ok((domain, grid.id.clone(), grid.village.clone()))
}

/// Reads a CSV export (UTF-8, with or without a BOM; a header row naming the columns).
pub fn parse_csv(bytes: &[u8]) -> std::result::Result<Vec<(usize, Ticket)>, Vec<String>> {
    let text = match std::str::from_utf8(bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes)) {
        Ok(t) => t,
        Err(e) => {
            return Err(vec![format!(
                "the file is not UTF-8 text (save it as CSV UTF-8): {e}"
            )]);
        }
    };
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = match rdr.headers() {
        Ok(h) => h.clone(),
        Err(e) => return Err(vec![format!("line 1: {e}")]),
    };
    let mut index = [None; 7];
    for (i, h) in headers.iter().enumerate() {
        if let Some(c) = COLUMNS
            .iter()
            .position(|(_, names)| names.contains(&h.trim()))
        {
            index[c] = Some(i);
        }
    }
    let missing: Vec<&str> = COLUMNS
        .iter()
        .zip(index)
        .filter(|((key, _), i)| i.is_none() && *key != "channel")
        .map(|((_, n), _)| n[0])
        .collect();
    if !missing.is_empty() {
        return Err(vec![format!(
            "line 1: missing column(s) {}",
            missing.join(", ")
        )]);
    }
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (n, rec) in rdr.records().enumerate() {
        let line = n + 2;
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                errors.push(format!("line {line}: {e}"));
                continue;
            }
        };
        let get = |c: usize| {
            index[c]
                .and_then(|i| rec.get(i))
                .unwrap_or("")
                .trim()
                .to_owned()
        };
        let channel = get(6);
        out.push((
            line,
            Ticket {
                ticket_no: get(0),
                received_at: get(1),
                address: get(2),
                description: get(3),
                category: get(4),
                grid: get(5),
                channel: if channel.is_empty() {
                    "12345".into()
                } else {
                    channel
                },
            },
        ));
    }
    if out.len() > MAX_TICKETS {
        errors.push(format!(
            "{} tickets; one import takes at most {MAX_TICKETS}",
            out.len()
        ));
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

impl RelayStore {
    /// Registers tickets as tasks for the grids' inspectors, all or none: every bad line is
    /// reported (line number and reason, duplicates included) and nothing is written. The town
    /// office enters them, as its dashboard device.
    pub fn import_tickets(&mut self, user: &User, tickets: &[(usize, Ticket)]) -> Result<usize> {
        policy::check(user, Capability::EnterPublicReports).map_err(RelayError::Forbidden)?;
        self.refresh_directory()?;
        let dir = self
            .dir
            .clone()
            .ok_or_else(|| RelayError::BadRequest("no directory installed".into()))?;
        let mut errors = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut tasks = Vec::new();
        let now = gridsafe_core::clock::now_ms();
        for (line, t) in tickets {
            let checked = check_ticket(&dir, t);
            let (domain, grid, village) = match checked {
                Ok(x) => x,
                Err(e) => {
                    errors.push(format!("line {line}: {e}"));
                    continue;
                }
            };
            if !seen.insert((t.channel.clone(), t.ticket_no.clone())) {
                errors.push(format!(
                    "line {line}: ticket {} appears twice in this file",
                    t.ticket_no
                ));
                continue;
            }
            let exists: bool = self.conn.query_row(
                "SELECT EXISTS (SELECT 1 FROM tasks_idx WHERE channel = ?1 AND ticket_no = ?2)",
                params![t.channel, t.ticket_no],
                |r| r.get(0),
            )?;
            if exists {
                errors.push(format!(
                    "line {line}: ticket {} was imported before",
                    t.ticket_no
                ));
                continue;
            }
            tasks.push(Task {
                id: gridsafe_core::store::new_id(),
                ticket_no: t.ticket_no.trim().to_owned(),
                channel: t.channel.trim().to_owned(),
                received_at: t.received_at.trim().to_owned(),
                address: t.address.trim().to_owned(),
                description: t.description.trim().to_owned(),
                category: domain,
                village,
                grid_id: grid,
                created_at: gridsafe_core::clock::ms_to_rfc3339(now),
                created_by: user.id.clone(),
                outcome: None,
            });
        }
        if !errors.is_empty() {
            return Err(RelayError::BadRequest(format!(
                "nothing imported; fix these lines: {}",
                errors.join("; ")
            )));
        }
        if tasks.is_empty() {
            return Err(RelayError::BadRequest("the file holds no ticket".into()));
        }
        let device = self.dashboard_device(user)?;
        let actor = crate::store::dashboard_actor(&device)?;
        let mut docs = Vec::with_capacity(tasks.len());
        for t in &tasks {
            let mut doc = records::new_task_doc(&actor, t)?;
            docs.push((crate::store::whole_doc(&mut doc, &t.id, "task"), None));
        }
        self.push_as_dashboard(&device, docs)?;
        Ok(tasks.len())
    }

    /// The latest public reports and what became of them (the intake page).
    pub fn tasks(&self, limit: u32) -> Result<Vec<TaskRow>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {} FROM tasks_idx ORDER BY created_ms DESC, received_at DESC LIMIT ?1",
            gridsafe_core::projection::TASK_COLUMNS
        ))?;
        let rows = stmt.query_map(params![limit], gridsafe_core::projection::task_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
