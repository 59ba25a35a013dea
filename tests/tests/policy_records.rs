//! Who may create, edit and write which record, in or out of scope: the phone store's answers
//! (through its API) and the relay's (through its record check), compared with
//! `tests/policy/records.tsv`. Generated before the rules moved into `gridsafe_core::policy`; the
//! two columns record where the phone and the relay answer differently.
//!
//! `GRIDSAFE_BLESS=1 cargo test -p gridsafe-tests --test policy_records` rewrites the file.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;

use automerge::ActorId;
use gridsafe_core::Store;
use gridsafe_core::directory::User;
use gridsafe_core::records::{self, EventRecord, HazardHeader, Task};
use gridsafe_core::store::{NewVenue, VenueEdit};
use gridsafe_core::sync::DocChanges;
use gridsafe_server::store::{Device, check};
use gridsafe_tests::fixtures;
use serde_bytes::ByteBuf;

const USERS: &[&str] = &["wang", "sun", "zheng", "office", "admin"];
/// wang's grid, and another village's.
const GRIDS: &[(&str, &str)] = &[("in", "heping-1"), ("out", "jialou-1")];

fn outcome<T>(r: gridsafe_core::Result<T>) -> String {
    match r {
        Ok(_) => "ok".into(),
        Err(gridsafe_core::Error::Forbidden(m)) => format!("forbidden: {m}"),
        Err(e) => format!("error: {e}"),
    }
}

fn phone_rows(out: &mut String) {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::create(dir.path().join("phone.sqlite")).unwrap();
    s.import_directory(fixtures::DIRECTORY_JSON).unwrap();
    let mut venues = BTreeMap::new();
    let mut inspections = BTreeMap::new();
    for (scope, grid) in GRIDS {
        let v = s
            .add_venue(
                "office",
                NewVenue {
                    name: format!("{scope}店"),
                    grid_id: (*grid).into(),
                    profile: fixtures::restaurant_profile(),
                    ..Default::default()
                },
            )
            .unwrap();
        let i = s.start_inspection("office", &v.id, "lx.gas", None).unwrap();
        venues.insert(*scope, v);
        inspections.insert(*scope, i);
    }
    for user in USERS {
        for (scope, grid) in GRIDS {
            let add = s.add_venue(
                user,
                NewVenue {
                    name: "新店".into(),
                    grid_id: (*grid).into(),
                    profile: fixtures::restaurant_profile(),
                    ..Default::default()
                },
            );
            writeln!(out, "phone\tadd_venue\t{user}\t{scope}\t{}", outcome(add)).unwrap();
            let edit = s.edit_venue(
                user,
                &venues[scope].id,
                VenueEdit {
                    address: Some(format!("{user}路1号")),
                    ..Default::default()
                },
            );
            writeln!(out, "phone\tedit_venue\t{user}\t{scope}\t{}", outcome(edit)).unwrap();
            let start = s.start_inspection(user, &venues[scope].id, "lx.gas", None);
            writeln!(
                out,
                "phone\tstart_inspection\t{user}\t{scope}\t{}",
                outcome(start)
            )
            .unwrap();
            let answer = s.answer(
                user,
                &inspections[scope].id,
                &[("gas.alarm_installed".into(), serde_json::json!(true))],
            );
            writeln!(
                out,
                "phone\tanswer_others_inspection\t{user}\t{scope}\t{}",
                outcome(answer)
            )
            .unwrap();
        }
        let listed = s.list_venues(Some(user)).map(|v| {
            let mut grids: Vec<String> = v.into_iter().map(|v| v.grid_id).collect();
            grids.sort();
            grids.dedup();
            grids.join(",")
        });
        let shown = match listed {
            Ok(g) => format!("grids {g}"),
            Err(e) => format!("error: {e}"),
        };
        writeln!(out, "phone\tlist_venues\t{user}\t-\t{shown}").unwrap();
    }
}

fn doc_changes(id: &str, kind: &str, doc: &mut automerge::AutoCommit) -> DocChanges {
    DocChanges {
        doc_id: id.into(),
        kind: kind.into(),
        changes: doc
            .get_changes(&[])
            .iter()
            .map(|c| ByteBuf::from(c.raw_bytes().to_vec()))
            .collect(),
        heads: vec![],
    }
}

fn relay_rows(out: &mut String) {
    let dir = fixtures::directory();
    let actor = ActorId::random();
    for user in USERS {
        let u: User = dir.user(user).unwrap().clone();
        let device = Device {
            id: "d".into(),
            user: u,
            actors: HashSet::from([actor.to_hex_string()]),
        };
        for (scope, grid) in GRIDS {
            let mut docs = Vec::new();
            let venue = records::Venue {
                id: gridsafe_core::store::new_id(),
                name: "店".into(),
                address: String::new(),
                village: "v".into(),
                grid_id: (*grid).into(),
                profile: fixtures::restaurant_profile(),
                responsible: Default::default(),
                created_at: String::new(),
                created_by: (*user).into(),
                archived: false,
            };
            let mut d = records::new_venue_doc(&actor, &venue).unwrap();
            docs.push(("venue", doc_changes(&venue.id, "venue", &mut d)));
            let header = records::InspectionHeader {
                id: gridsafe_core::store::new_id(),
                venue_id: venue.id.clone(),
                venue_name: venue.name.clone(),
                village: "v".into(),
                grid_id: (*grid).into(),
                template_id: "lx.gas".into(),
                template_version: "2026.11-a".into(),
                template_hash: String::new(),
                inspector: (*user).into(),
                started_at: String::new(),
                started_ms: 0,
                profile: fixtures::restaurant_profile(),
            };
            let mut d = records::new_inspection_doc(&actor, &header).unwrap();
            docs.push(("inspection", doc_changes(&header.id, "inspection", &mut d)));
            let task = Task {
                id: gridsafe_core::store::new_id(),
                ticket_no: "1".into(),
                channel: "12345".into(),
                received_at: String::new(),
                address: String::new(),
                description: String::new(),
                category: "gas".into(),
                village: "v".into(),
                grid_id: (*grid).into(),
                created_at: String::new(),
                created_by: (*user).into(),
                outcome: None,
            };
            let mut d = records::new_task_doc(&actor, &task).unwrap();
            docs.push(("task", doc_changes(&task.id, "task", &mut d)));
            for d in docs {
                let r = check(&device, &d.1, None)
                    .map(|_| ())
                    .map_err(|e| e.to_string());
                let o = r.err().unwrap_or_else(|| "ok".into());
                writeln!(out, "relay\twrite_{}\t{user}\t{scope}\t{o}", d.0).unwrap();
            }
        }
        // Hazards are scoped by grid for inspectors and by lead department for reviewers.
        for (scope, grid, depts) in [
            ("in", "heping-1", vec!["cyzx".to_owned(), "pcs".to_owned()]),
            ("out", "jialou-1", vec!["gjb".to_owned()]),
        ] {
            let h = hazard(grid, depts);
            let reg = EventRecord {
                id: gridsafe_core::store::new_id(),
                kind: "register".into(),
                ms: 1,
                counter: 0,
                reason: None,
                deadline: None,
                photo: None,
                inspection_id: None,
                text: None,
            };
            let mut d = records::new_hazard_doc(&actor, &h, &reg).unwrap();
            let r = check(&device, &doc_changes(&h.id, "hazard", &mut d), None)
                .map(|_| ())
                .map_err(|e| e.to_string());
            let o = r.err().unwrap_or_else(|| "ok".into());
            writeln!(out, "relay\twrite_hazard\t{user}\t{scope}\t{o}").unwrap();
        }
    }
}

fn hazard(grid: &str, depts: Vec<String>) -> HazardHeader {
    HazardHeader {
        id: gridsafe_core::store::new_id(),
        venue_id: gridsafe_core::store::new_id(),
        venue_name: "店".into(),
        village: "v".into(),
        grid_id: grid.into(),
        inspection_id: None,
        template_id: "lx.gas".into(),
        template_version: "2026.11-a".into(),
        item_id: "gas.hose_length".into(),
        domain: "gas".into(),
        title_zh: String::new(),
        title_en: String::new(),
        finding_zh: String::new(),
        finding_en: String::new(),
        basis_refs: vec![],
        basis_edition: BTreeMap::new(),
        severity_proposed: "general".into(),
        focus: false,
        combined_group: None,
        lead_depts: depts,
        source: "inspection".into(),
        ticket_no: None,
        fix_mode: "deadline".into(),
        deadline: None,
        recurrence_of: None,
        found_at: String::new(),
        found_ms: 0,
        found_by: "wang".into(),
        photos: vec![],
    }
}

/// Record ids are new on every run: the table shows them as `ID`.
fn without_ids(s: &str) -> String {
    s.split(' ')
        .map(|w| {
            let core = w.trim_matches(|c: char| !c.is_ascii_hexdigit() && c != '-');
            if core.len() == 36 && core.chars().filter(|c| *c == '-').count() == 4 {
                w.replace(core, "ID")
            } else {
                w.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn record_rules_answer_as_recorded() {
    let mut got = String::from("# where\taction\tuser\tscope\toutcome\n");
    phone_rows(&mut got);
    relay_rows(&mut got);
    let got = got.lines().map(without_ids).collect::<Vec<_>>().join("\n") + "\n";
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/policy/records.tsv");
    if std::env::var_os("GRIDSAFE_BLESS").is_some() {
        std::fs::write(path, &got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(path).expect("tests/policy/records.tsv");
    let diff: Vec<String> = got
        .lines()
        .zip(want.lines())
        .filter(|(g, w)| g != w)
        .map(|(g, w)| format!("  now {g}\n  was {w}"))
        .collect();
    assert!(
        got == want,
        "record rules changed ({} rows now, {} recorded):\n{}",
        got.lines().count(),
        want.lines().count(),
        diff.join("\n")
    );
}
