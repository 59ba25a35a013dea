//! Who may create, edit and write which record, in or out of scope: the phone store's answers
//! (through its API) and the relay's (through its record check), compared with
//! `tests/policy/records.tsv`. Generated before the rules moved into `gridsafe_core::policy`; the
//! two columns record where the phone and the relay answer differently.
//!
//! `GRIDSAFE_BLESS=1 cargo test -p gridsafe-tests --test policy_records` rewrites the file.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use automerge::ActorId;
use gridsafe_core::Store;
use gridsafe_core::records::{self, EventRecord, HazardHeader, Task};
use gridsafe_core::store::{NewVenue, VenueEdit};
use gridsafe_core::sync::{DeviceStatus, DocChanges, PROTOCOL, SyncRequest};
use gridsafe_server::store::{Device, RelayStore};
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

fn doc_changes(
    id: &str,
    kind: &str,
    doc: &mut automerge::AutoCommit,
    since: &[automerge::ChangeHash],
) -> DocChanges {
    DocChanges {
        doc_id: id.into(),
        kind: kind.into(),
        changes: doc
            .get_changes(since)
            .iter()
            .map(|c| ByteBuf::from(c.raw_bytes().to_vec()))
            .collect(),
        heads: vec![],
    }
}

fn venue(grid: &str, by: &str) -> records::Venue {
    records::Venue {
        id: gridsafe_core::store::new_id(),
        name: "店".into(),
        address: String::new(),
        village: if grid.starts_with("heping") {
            "heping"
        } else {
            "jialou"
        }
        .into(),
        grid_id: grid.into(),
        profile: fixtures::restaurant_profile(),
        responsible: Default::default(),
        created_at: String::new(),
        created_by: by.into(),
        archived: false,
    }
}

/// A verified public report's hazard at `v` in `domain`, registered by `by`.
fn report_hazard(v: &records::Venue, domain: &str, depts: &[&str], by: &str) -> HazardHeader {
    HazardHeader {
        id: gridsafe_core::store::new_id(),
        venue_id: v.id.clone(),
        venue_name: v.name.clone(),
        village: v.village.clone(),
        grid_id: v.grid_id.clone(),
        inspection_id: None,
        template_id: "public_report".into(),
        template_version: "1".into(),
        item_id: format!("public_report.{domain}"),
        domain: domain.into(),
        title_zh: String::new(),
        title_en: String::new(),
        finding_zh: String::new(),
        finding_en: String::new(),
        basis_refs: vec![],
        basis_edition: BTreeMap::new(),
        severity_proposed: "general".into(),
        focus: false,
        combined_group: None,
        lead_depts: depts.iter().map(|d| (*d).into()).collect(),
        source: "public_report".into(),
        ticket_no: Some("12345 1".into()),
        fix_mode: "deadline".into(),
        deadline: None,
        recurrence_of: None,
        found_at: String::new(),
        found_ms: 0,
        found_by: by.into(),
        photos: vec![],
        referral: None,
        order_zh: None,
        order_en: None,
        lifecycle: gridsafe_core::lifecycle::RULES,
    }
}

fn register() -> EventRecord {
    EventRecord {
        id: gridsafe_core::store::new_id(),
        kind: "register".into(),
        ms: 1,
        counter: 0,
        reason: None,
        deadline: None,
        photo: None,
        inspection_id: None,
        text: None,
    }
}

/// What the relay answers a push of one record: "ok" or the refusal's reason.
fn push(st: &mut RelayStore, device: &Device, d: DocChanges) -> String {
    let req = SyncRequest {
        protocol: PROTOCOL,
        cursor: u64::MAX,
        directory_version: u64::MAX,
        templates: vec![],
        push: vec![d],
        more_to_push: false,
        status: DeviceStatus::default(),
    };
    let r = st.sync(device, &req).unwrap();
    r.refused
        .first()
        .map_or_else(|| "ok".to_owned(), |r| r.reason.clone())
}

/// The relay's answers, through its sync: each user pushes a new venue, an edit of an existing
/// venue, a new inspection, a new task and a new hazard, in wang's grid (where the e-bike
/// departments lead a hazard) and in another village (where the gas department does).
fn relay_rows(out: &mut String) {
    let data = tempfile::tempdir().unwrap();
    let mut st = RelayStore::open(data.path()).unwrap();
    st.import_directory(fixtures::DIRECTORY_JSON).unwrap();
    let mut devices = BTreeMap::new();
    for user in USERS {
        st.set_password(user, "correct horse").unwrap();
        let actor = ActorId::random();
        let device = match st.enroll(user, "correct horse", user, &[actor.to_hex_string()]) {
            Ok(e) => Some(st.authenticate(&e.token).unwrap()),
            Err(e) => {
                writeln!(out, "relay\tenrol\t{user}\t-\t{e}").unwrap();
                None
            }
        };
        devices.insert(*user, (device, actor));
    }
    // The office registers a venue in each grid, each with a hazard of its department.
    let mut venues = BTreeMap::new();
    {
        let (office, actor) = devices["office"].clone();
        let office = office.unwrap();
        for ((scope, grid), (domain, depts)) in GRIDS
            .iter()
            .zip([("ebike", &["cyzx", "pcs"][..]), ("gas", &["gjb"][..])])
        {
            let v = venue(grid, "office");
            let mut d = records::new_venue_doc(&actor, &v).unwrap();
            let pushed = push(&mut st, &office, doc_changes(&v.id, "venue", &mut d, &[]));
            assert_eq!(pushed, "ok");
            let h = report_hazard(&v, domain, depts, "office");
            let mut hd = records::new_hazard_doc(&actor, &h, &register()).unwrap();
            let pushed = push(&mut st, &office, doc_changes(&h.id, "hazard", &mut hd, &[]));
            assert_eq!(pushed, "ok");
            venues.insert(*scope, (v, d));
        }
    }
    for user in USERS {
        let (Some(device), actor) = devices[user].clone() else {
            continue;
        };
        for (scope, grid) in GRIDS {
            let v = venue(grid, user);
            let mut d = records::new_venue_doc(&actor, &v).unwrap();
            let o = push(&mut st, &device, doc_changes(&v.id, "venue", &mut d, &[]));
            writeln!(out, "relay\twrite_new_venue\t{user}\t{scope}\t{o}").unwrap();

            let (existing, doc) = &venues[scope];
            let mut mine = doc.clone().fork().with_actor(actor.clone());
            let since = mine.get_heads();
            let mut edited = existing.clone();
            edited.address = format!("{user}路");
            let stamp = records::venue_fields::Stamp {
                ms: gridsafe_core::clock::now_ms(),
                counter: 0,
                by: (*user).to_owned(),
            };
            records::venue_fields::write_edit(&mut mine, existing, &edited, &stamp, &[]).unwrap();
            let d = doc_changes(&existing.id, "venue", &mut mine, &since);
            let o = push(&mut st, &device, d);
            writeln!(out, "relay\tedit_venue\t{user}\t{scope}\t{o}").unwrap();

            let header = records::InspectionHeader {
                id: gridsafe_core::store::new_id(),
                venue_id: existing.id.clone(),
                venue_name: existing.name.clone(),
                village: existing.village.clone(),
                grid_id: existing.grid_id.clone(),
                template_id: "lx.gas".into(),
                template_version: "2026.11-a".into(),
                template_hash: String::new(),
                inspector: (*user).into(),
                started_at: String::new(),
                started_ms: 0,
                profile: fixtures::restaurant_profile(),
            };
            let mut d = records::new_inspection_doc(&actor, &header).unwrap();
            let o = push(
                &mut st,
                &device,
                doc_changes(&header.id, "inspection", &mut d, &[]),
            );
            writeln!(out, "relay\twrite_inspection\t{user}\t{scope}\t{o}").unwrap();

            let task = Task {
                id: gridsafe_core::store::new_id(),
                ticket_no: "1".into(),
                channel: "12345".into(),
                received_at: String::new(),
                address: String::new(),
                description: String::new(),
                category: "gas".into(),
                village: existing.village.clone(),
                grid_id: (*grid).into(),
                created_at: String::new(),
                created_by: (*user).into(),
                outcome: None,
            };
            let mut d = records::new_task_doc(&actor, &task).unwrap();
            let o = push(&mut st, &device, doc_changes(&task.id, "task", &mut d, &[]));
            writeln!(out, "relay\twrite_task\t{user}\t{scope}\t{o}").unwrap();

            let (domain, depts): (&str, &[&str]) = if *scope == "in" {
                ("ebike", &["cyzx", "pcs"])
            } else {
                ("gas", &["gjb"])
            };
            let h = report_hazard(existing, domain, depts, user);
            let mut d = records::new_hazard_doc(&actor, &h, &register()).unwrap();
            let o = push(&mut st, &device, doc_changes(&h.id, "hazard", &mut d, &[]));
            writeln!(out, "relay\twrite_hazard\t{user}\t{scope}\t{o}").unwrap();
        }
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
