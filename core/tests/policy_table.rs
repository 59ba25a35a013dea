//! Who may record which lifecycle event, in which state, in or out of scope: the whole table of
//! today's answers, compared with `tests/policy/events.tsv`. Every (state, user, event) row says
//! "applied" or the refusal code the rules give. The table was generated from the lifecycle before
//! the rules moved into `policy`, and stays the proof that the move changed no answer; a rule
//! change shows up as a diff of this file, reviewed like code.
//!
//! `GRIDSAFE_BLESS=1 cargo test -p gridsafe-core --test policy_table` rewrites the file.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use gridsafe_core::directory::{Directory, DirectoryRoster, Role, User};
use gridsafe_core::lifecycle::{EventKind, fold};
use gridsafe_core::records::{EventRecord, HazardHeader, PhotoRef, StoredEvent};

/// 2026-11-18 10:00 in Shanghai.
const T0: i64 = 1_795_442_400_000;

fn user(id: &str, role: Role, dept: Option<&str>, grids: &[&str]) -> User {
    User {
        id: id.into(),
        name: id.into(),
        role,
        department: dept.map(Into::into),
        grids: grids.iter().map(|g| (*g).into()).collect(),
    }
}

/// The people of the table; each writes with the actor of the same name.
fn directory() -> Directory {
    Directory {
        users: vec![
            user("insp_in", Role::Inspector, None, &["g1"]),
            user("insp_out", Role::Inspector, None, &["g2"]),
            user("rev_in", Role::Reviewer, Some("cyzx"), &[]),
            user("rev_in2", Role::Reviewer, Some("cyzx"), &[]),
            user("rev_out", Role::Reviewer, Some("gjb"), &[]),
            user("office", Role::TownOffice, None, &[]),
            user("admin", Role::Admin, None, &[]),
        ],
        ..Directory::default()
    }
}

/// Who acts in the table: one per role and scope, and an actor no directory knows.
const ACTORS: &[&str] = &[
    "insp_in", "insp_out", "rev_in", "rev_out", "office", "admin", "stranger",
];

fn header(major: bool, rules: u32) -> HazardHeader {
    let photo = PhotoRef {
        sha256: "a".repeat(64),
        item_id: Some("gas.hose_length".into()),
        role: "before".into(),
        size: 1,
        mime: "image/jpeg".into(),
        captured_at: String::new(),
        taken_by: "insp_in".into(),
        lat: None,
        lon: None,
        width: None,
        height: None,
        thumb_sha256: None,
        thumb_size: None,
        original_sha256: None,
        original_size: None,
        gps_source: None,
        camera: None,
    };
    HazardHeader {
        id: "018f0000-0000-7000-8000-000000000001".into(),
        venue_id: "018f0000-0000-7000-8000-000000000002".into(),
        venue_name: "v".into(),
        village: "heping".into(),
        grid_id: "g1".into(),
        inspection_id: Some("018f0000-0000-7000-8000-000000000003".into()),
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
        severity_proposed: if major { "major_candidate" } else { "general" }.into(),
        focus: false,
        combined_group: None,
        lead_depts: vec!["cyzx".into(), "pcs".into()],
        source: "inspection".into(),
        ticket_no: None,
        fix_mode: "deadline".into(),
        // The day before the visit: the hazard is overdue from registration, so escalation is
        // judged by role and state alone.
        deadline: Some("2026-11-17".into()),
        recurrence_of: None,
        found_at: String::new(),
        found_ms: T0,
        found_by: "insp_in".into(),
        photos: vec![photo],
        referral: None,
        order_zh: None,
        order_en: None,
        lifecycle: rules,
    }
}

/// An event with every field a rule may ask for filled in, so the table shows role, scope and
/// state rules rather than missing inputs.
fn ev(n: u32, kind: EventKind, by: &str, h: &HazardHeader) -> StoredEvent {
    StoredEvent {
        record: EventRecord {
            id: format!("e{n:03}"),
            kind: kind.as_str().into(),
            ms: T0 + i64::from(n) * 1000,
            counter: 0,
            reason: Some("理由".into()),
            deadline: Some("2026-12-31".into()),
            photo: Some("b".repeat(64)),
            inspection_id: h.inspection_id.clone(),
            text: Some(
                match kind {
                    // A 治理方案 with its six contents; a 挂牌督办 level.
                    EventKind::Plan => PLAN,
                    EventKind::Supervise => "district",
                    _ => "方案",
                }
                .into(),
            ),
        },
        actor: by.into(),
        tampered: false,
    }
}

const PLAN: &str = r#"{"goal":"消除隐患","method":"拆除","funds":"自筹","owner":"业主","timeline":"30天","safety":"停用"}"#;

/// The states of §6.3 as the rules distinguish them, each reached by a history of allowed events.
/// A state's name, whether the hazard is a major candidate, and the events that reach it.
type Setup = (&'static str, bool, Vec<(EventKind, &'static str)>);

fn setups(rules: u32) -> Vec<Setup> {
    use EventKind as K;
    let mut all = setups_v1();
    all.push((
        "rejected",
        false,
        vec![(K::Register, "insp_in"), (K::Dismiss, "rev_in")],
    ));
    if rules >= 2 {
        // Rules 2: a claim comes after the notice, and the lead department alone rechecks.
        for (name, _, history) in &mut all {
            if let Some(i) = history.iter().position(|(k, _)| *k == K::Claim) {
                history.insert(i, (K::Notify, "insp_in"));
            }
            for (k, by) in history.iter_mut() {
                if *k == K::Recheck {
                    *by = "rev_in2";
                }
            }
            if *name == "rectified_claimed_major_rechecked_by_office" {
                *name = "rectified_claimed_major_rechecked_by_second_reviewer";
            }
        }
    }
    all
}

fn setups_v1() -> Vec<Setup> {
    use EventKind as K;
    vec![
        ("draft", false, vec![]),
        ("registered", false, vec![(K::Register, "insp_in")]),
        (
            "registered_major_pending",
            true,
            vec![(K::Register, "insp_in")],
        ),
        (
            "registered_major_confirmed",
            true,
            vec![(K::Register, "insp_in"), (K::ConfirmMajor, "rev_in")],
        ),
        (
            "registered_downgraded",
            true,
            vec![(K::Register, "insp_in"), (K::Downgrade, "rev_in")],
        ),
        (
            "notified",
            false,
            vec![(K::Register, "insp_in"), (K::Notify, "insp_in")],
        ),
        (
            "rectifying",
            false,
            vec![
                (K::Register, "insp_in"),
                (K::Claim, "insp_in"),
                (K::Reject, "rev_in"),
            ],
        ),
        (
            "rectified_claimed",
            false,
            vec![(K::Register, "insp_in"), (K::Claim, "insp_in")],
        ),
        (
            "rectified_claimed_major_no_plan",
            true,
            vec![
                (K::Register, "insp_in"),
                (K::ConfirmMajor, "rev_in"),
                (K::Claim, "insp_in"),
            ],
        ),
        (
            "rectified_claimed_major_rechecked_by_office",
            true,
            vec![
                (K::Register, "insp_in"),
                (K::ConfirmMajor, "rev_in"),
                (K::Plan, "rev_in"),
                (K::Claim, "insp_in"),
                (K::Recheck, "office"),
            ],
        ),
        (
            "escalated",
            false,
            vec![(K::Register, "insp_in"), (K::Escalate, "office")],
        ),
        (
            "closed",
            false,
            vec![
                (K::Register, "insp_in"),
                (K::Claim, "insp_in"),
                (K::Close, "rev_in"),
            ],
        ),
    ]
}

fn table(rules: u32) -> String {
    let dir = directory();
    let actors: HashMap<String, String> = dir
        .users
        .iter()
        .map(|u| (u.id.clone(), u.id.clone()))
        .collect();
    let roster = DirectoryRoster {
        directory: &dir,
        actors: &actors,
        venue_grid: None,
    };
    let mut out = String::from("# state\tuser\tevent\toutcome\n");
    for (state, major, history) in setups(rules) {
        let h = header(major, rules);
        let events: Vec<StoredEvent> = history
            .iter()
            .enumerate()
            .map(|(i, (k, by))| ev(i as u32 + 1, *k, by, &h))
            .collect();
        let before = fold(&h, &events, &roster);
        assert!(
            before.history.iter().all(|e| e.applied),
            "setup {state} must be reachable: {:?}",
            before.history
        );
        for who in ACTORS {
            for kind in EventKind::ALL {
                let mut evs = events.clone();
                evs.push(ev(50, *kind, who, &h));
                let s = fold(&h, &evs, &roster);
                let last = s.history.last().expect("the event was folded");
                let outcome = match &last.refusal {
                    None => "applied".to_owned(),
                    Some(r) => r.code.clone(),
                };
                writeln!(out, "{state}\t{who}\t{}\t{outcome}", kind.as_str()).unwrap();
            }
        }
    }
    out
}

/// Hazards registered under the first lifecycle rules fold as they always did.
#[test]
fn every_role_action_state_and_scope_answers_as_recorded() {
    compare(
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/policy/events.tsv"),
        table(1),
    );
}

/// §6.3 under rules 2 (issue #29): the table the closing note gives.
#[test]
fn every_role_action_state_and_scope_answers_as_recorded_under_rules_2() {
    compare(
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/policy/events-v2.tsv"),
        table(2),
    );
}

fn compare(path: &str, got: String) {
    if std::env::var_os("GRIDSAFE_BLESS").is_some() {
        std::fs::write(path, &got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(path)
        .unwrap_or_else(|_| panic!("{path} is missing (GRIDSAFE_BLESS=1)"));
    if got != want {
        let diff: Vec<String> = got
            .lines()
            .zip(want.lines())
            .filter(|(g, w)| g != w)
            .map(|(g, w)| format!("  now {g}\n  was {w}"))
            .take(20)
            .collect();
        panic!(
            "policy answers changed ({} rows differ; {} rows now, {} recorded):\n{}",
            diff.len(),
            got.lines().count(),
            want.lines().count(),
            diff.join("\n")
        );
    }
}

/// What each role may open or do at the office, beyond single records, with the reason shown
/// when not (`tests/policy/capabilities.tsv`).
#[test]
fn every_role_and_capability_answers_as_recorded() {
    use gridsafe_core::policy::{self, Capability as C};
    let caps = [
        ("see_hazards", C::SeeHazards),
        ("review", C::Review),
        ("see_device_health", C::SeeDeviceHealth),
        ("follow_up_silent_phones", C::FollowUpSilentPhones),
        ("revoke_devices", C::RevokeDevices),
        ("manage_users", C::ManageUsers),
        ("enter_public_reports", C::EnterPublicReports),
        ("review_owner_findings", C::ReviewOwnerFindings),
        ("revoke_owner_links", C::RevokeOwnerLinks),
        ("sync_records", C::SyncRecords),
        ("enrol_phones", C::EnrolPhones),
        ("issue_reports", C::IssueReports),
    ];
    let dir = directory();
    let mut got = String::from("# user\tcapability\toutcome\n");
    for who in ["insp_in", "rev_in", "office", "admin"] {
        let u = dir.user(who).unwrap();
        for (name, cap) in caps {
            let outcome = match policy::check(u, cap) {
                Ok(()) => "allowed".to_owned(),
                Err(why) => why,
            };
            assert_eq!(policy::role_may(u.role, cap), outcome == "allowed");
            writeln!(got, "{who}\t{name}\t{outcome}").unwrap();
        }
    }
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/policy/capabilities.tsv");
    if std::env::var_os("GRIDSAFE_BLESS").is_some() {
        std::fs::write(path, &got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(path).expect("tests/policy/capabilities.tsv");
    assert_eq!(got, want, "capability answers changed");
}
