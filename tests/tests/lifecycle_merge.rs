//! Property: three replicas apply random interleavings of record edits and lifecycle events by
//! different roles, merge in random orders, and end with identical documents and identical
//! derived state. An inspector's close of a major candidate is refused on every replica.

use std::collections::{BTreeMap, HashMap};

use automerge::{ActorId, AutoCommit};
use gridsafe_core::clock::Hlc;
use gridsafe_core::directory::{Directory, DirectoryRoster, Role};
use gridsafe_core::lifecycle::{Confirmation, EventKind, HazardStatus, State, event, fold};
use gridsafe_core::records::{self, HazardHeader, PhotoRef, StoredEvent, Venue};
use gridsafe_tests::fixtures;
use proptest::prelude::*;

const USERS: &[&str] = &["wang", "zheng", "feng", "office"];

#[derive(Clone, Debug)]
enum Op {
    /// A user on a replica records a lifecycle event (validated locally first, like the app).
    Event {
        replica: usize,
        user: usize,
        kind: usize,
        reason: bool,
        photo: bool,
        deadline_days: i64,
        skew_min: i64,
    },
    /// An out-of-date or hostile client writes an event without checking (an inspector closing).
    RawInspectorClose {
        replica: usize,
    },
    /// A concurrent edit of the venue record.
    EditVenue {
        replica: usize,
        field: usize,
        value: u32,
    },
    Merge {
        from: usize,
        to: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..3usize, 0..USERS.len(), 0..EventKind::ALL.len(), any::<bool>(), any::<bool>(), -3i64..20, -240i64..240)
            .prop_map(|(replica, user, kind, reason, photo, deadline_days, skew_min)| Op::Event { replica, user, kind, reason, photo, deadline_days, skew_min }),
        1 => (0..3usize).prop_map(|replica| Op::RawInspectorClose { replica }),
        2 => (0..3usize, 0..3usize, 0..50u32).prop_map(|(replica, field, value)| Op::EditVenue { replica, field, value }),
        3 => (0..3usize, 0..3usize).prop_map(|(from, to)| Op::Merge { from, to }),
    ]
}

struct Replica {
    hazard: AutoCommit,
    venue: AutoCommit,
    hlc: Hlc,
    /// This replica's actor per user.
    actors: Vec<ActorId>,
}

const BASE_MS: i64 = 1_795_000_000_000; // 2026-11-18 in Shanghai

fn header(venue_id: &str) -> HazardHeader {
    HazardHeader {
        id: "018f0000-0000-7000-8000-000000000001".into(),
        venue_id: venue_id.into(),
        venue_name: "老王小吃".into(),
        village: "heping".into(),
        grid_id: "heping-1".into(),
        inspection_id: Some("018f0000-0000-7000-8000-0000000000aa".into()),
        template_id: "lx.gas".into(),
        template_version: "2026.11-a".into(),
        item_id: "gas.lpg_underground".into(),
        domain: "gas".into(),
        title_zh: "地下室使用液化石油气".into(),
        title_en: "LPG in a basement".into(),
        finding_zh: "是否存在：是".into(),
        finding_en: "Found: yes".into(),
        basis_refs: vec!["建城规〔2023〕4号 §9(一) [V2]".into()],
        basis_edition: BTreeMap::new(),
        severity_proposed: "major_candidate".into(),
        focus: false,
        combined_group: None,
        lead_depts: vec!["gjb".into()],
        source: "inspection".into(),
        ticket_no: None,
        fix_mode: "deadline".into(),
        deadline: Some("2026-12-18".into()),
        recurrence_of: None,
        found_at: String::new(),
        found_ms: BASE_MS,
        found_by: "wang".into(),
        photos: vec![PhotoRef {
            sha256: "a".repeat(64),
            item_id: Some("gas.lpg_underground".into()),
            role: "before".into(),
            size: 10,
            mime: "image/jpeg".into(),
            captured_at: String::new(),
            taken_by: "wang".into(),
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
        }],
        referral: None,
        order_zh: None,
        order_en: None,
        lifecycle: gridsafe_core::lifecycle::RULES,
    }
}

fn status(
    r: &Replica,
    roster: &DirectoryRoster<'_>,
) -> (HazardHeader, Vec<StoredEvent>, HazardStatus) {
    let (h, evs) = records::read_hazard(&r.hazard, &header("").id).unwrap();
    let s = fold(&h, &evs, roster);
    (h, evs, s)
}

fn run(ops: Vec<Op>, final_order: Vec<usize>) -> Result<(), TestCaseError> {
    let dir: Directory = fixtures::directory();
    let mut actor_map: HashMap<String, String> = HashMap::new();
    let mut replicas: Vec<Replica> = Vec::new();
    let venue = Venue {
        id: "018f0000-0000-7000-8000-0000000000bb".into(),
        name: "老王小吃".into(),
        address: "和平村1组12号".into(),
        village: "heping".into(),
        grid_id: "heping-1".into(),
        profile: fixtures::restaurant_profile(),
        responsible: Default::default(),
        created_at: String::new(),
        created_by: "wang".into(),
        archived: false,
    };
    for n in 0..3u8 {
        let actors: Vec<ActorId> = (0..USERS.len() as u8)
            .map(|u| ActorId::from(&[n + 1, u + 1, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7][..]))
            .collect();
        for (u, a) in actors.iter().enumerate() {
            actor_map.insert(a.to_hex_string(), USERS[u].to_owned());
        }
        replicas.push(Replica {
            hazard: AutoCommit::new(),
            venue: AutoCommit::new(),
            hlc: Hlc {
                ms: BASE_MS,
                counter: 0,
            },
            actors,
        });
    }
    // Replica 0's inspector registers the hazard and the venue; the others receive them.
    let reg = event(
        "018f0000-0000-7000-8000-00000000e000".into(),
        EventKind::Register,
        Hlc {
            ms: BASE_MS,
            counter: 0,
        },
    );
    let mut h0 = records::new_hazard_doc(&replicas[0].actors[0], &header(&venue.id), &reg).unwrap();
    let mut v0 = records::new_venue_doc(&replicas[0].actors[0], &venue).unwrap();
    for r in &mut replicas {
        r.hazard = h0.fork();
        r.venue = v0.fork();
    }
    let _ = (&mut h0, &mut v0);
    let roster = DirectoryRoster {
        directory: &dir,
        actors: &actor_map,
        venue_grid: None,
    };
    let mut seq = 1u32;
    for op in ops {
        match op {
            Op::Event {
                replica,
                user,
                kind,
                reason,
                photo,
                deadline_days,
                skew_min,
            } => {
                let r = &mut replicas[replica];
                let wall = BASE_MS + i64::from(seq) * 60_000 + skew_min * 60_000;
                r.hlc = r.hlc.tick(wall);
                let kind = EventKind::ALL[kind];
                let mut ev = event(format!("018f0000-0000-7000-8000-{seq:012x}"), kind, r.hlc);
                seq += 1;
                if reason {
                    ev.reason = Some("现场复查发现问题".into());
                }
                if photo {
                    ev.photo = Some("b".repeat(64));
                }
                if matches!(kind, EventKind::Notify | EventKind::SetDeadline) {
                    let d = gridsafe_core::clock::ms_to_date(wall)
                        + time::Duration::days(deadline_days);
                    ev.deadline = Some(gridsafe_core::clock::format_date(d));
                }
                if kind == EventKind::Plan {
                    ev.text = Some("停用地下室液化气".into());
                }
                if kind == EventKind::Rectify {
                    ev.inspection_id = header("").inspection_id;
                }
                let (h, mut evs, _) = status(r, &roster);
                let actor = r.actors[user].clone();
                evs.push(StoredEvent {
                    record: ev.clone(),
                    actor: actor.to_hex_string(),
                    tampered: false,
                });
                let s = fold(&h, &evs, &roster);
                if s.history
                    .iter()
                    .find(|e| e.id == ev.id)
                    .is_some_and(|e| e.applied)
                {
                    r.hazard.set_actor(actor);
                    records::append_event(&mut r.hazard, &h.id, &ev).unwrap();
                }
            }
            Op::RawInspectorClose { replica } => {
                let r = &mut replicas[replica];
                r.hlc = r.hlc.tick(BASE_MS + i64::from(seq) * 60_000);
                let ev = event(
                    format!("018f0000-0000-7000-8000-{seq:012x}"),
                    EventKind::Close,
                    r.hlc,
                );
                seq += 1;
                r.hazard.set_actor(r.actors[0].clone());
                records::append_event(&mut r.hazard, &header("").id, &ev).unwrap();
            }
            Op::EditVenue {
                replica,
                field,
                value,
            } => {
                let r = &mut replicas[replica];
                let before = records::read_venue(&r.venue, &venue.id).unwrap();
                let mut v = before.clone();
                match field {
                    0 => v.name = format!("老王小吃{value}"),
                    1 => v.address = format!("和平村1组{value}号"),
                    _ => v.profile.residents_count = Some(value),
                }
                r.venue.set_actor(r.actors[0].clone());
                r.hlc = r.hlc.tick(0);
                let stamp = records::venue_fields::Stamp {
                    ms: r.hlc.ms,
                    counter: r.hlc.counter,
                    by: "wang".into(),
                };
                records::venue_fields::write_edit(&mut r.venue, &before, &v, &stamp, &[]).unwrap();
            }
            Op::Merge { from, to } if from != to => {
                let (mut src_h, mut src_v) =
                    (replicas[from].hazard.fork(), replicas[from].venue.fork());
                let dst = &mut replicas[to];
                dst.hazard.merge(&mut src_h).unwrap();
                dst.venue.merge(&mut src_v).unwrap();
                let seen = status(dst, &roster).2.last_hlc;
                dst.hlc = dst.hlc.observe(seen);
            }
            Op::Merge { .. } => {}
        }
    }
    // Everyone syncs, in a random order, twice round so that every change reaches everyone.
    for _ in 0..2 {
        for &i in &final_order {
            let next = (i + 1) % 3;
            let (mut h, mut v) = (replicas[i].hazard.fork(), replicas[i].venue.fork());
            replicas[next].hazard.merge(&mut h).unwrap();
            replicas[next].venue.merge(&mut v).unwrap();
        }
    }
    let views: Vec<_> = replicas.iter().map(|r| status(r, &roster)).collect();
    let venues: Vec<_> = replicas
        .iter()
        .map(|r| records::read_venue(&r.venue, &venue.id).unwrap())
        .collect();
    for n in 1..3 {
        prop_assert_eq!(
            replicas[0].hazard.get_heads(),
            replicas[n].hazard.get_heads()
        );
        prop_assert_eq!(replicas[0].venue.get_heads(), replicas[n].venue.get_heads());
        prop_assert_eq!(
            &views[0].2,
            &views[n].2,
            "derived state differs between replica 0 and {}",
            n
        );
        prop_assert_eq!(&venues[0], &venues[n]);
    }
    let s = &views[0].2;
    for e in &s.history {
        if e.kind == "close" && e.role == Some(Role::Inspector) {
            prop_assert!(!e.applied, "an inspector's close was applied");
        }
    }
    // Applied closes of this major candidate happened only after confirmation and with a plan
    // and a second person's recheck: replay to check.
    if s.state == State::Closed {
        prop_assert!(matches!(
            s.confirmation,
            Confirmation::Confirmed | Confirmation::Downgraded
        ));
        if s.confirmation == Confirmation::Confirmed {
            prop_assert!(s.plan.is_some());
            prop_assert!(
                s.rechecked_by
                    .iter()
                    .any(|u| Some(u) != s.closed_by.as_ref())
            );
        }
    }
    // The fold does not depend on the order events are read in.
    let (h, mut evs, _) = views[0].clone();
    evs.reverse();
    prop_assert_eq!(&fold(&h, &evs, &roster), s);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]
    #[test]
    fn replicas_converge_on_documents_and_derived_state(
        ops in proptest::collection::vec(op(), 1..60),
        order in Just(vec![0usize, 1, 2]).prop_shuffle(),
    ) {
        run(ops, order)?;
    }
}

#[test]
fn concurrent_close_and_reject_resolve_the_same_everywhere() {
    // The office closes while the department rejects, offline on two replicas.
    let ops = vec![
        Op::Event {
            replica: 0,
            user: 1,
            kind: 8,
            reason: false,
            photo: false,
            deadline_days: 5,
            skew_min: 0,
        }, // confirm_major (zheng)
        Op::Merge { from: 0, to: 1 },
        Op::Merge { from: 0, to: 2 },
        Op::Event {
            replica: 1,
            user: 0,
            kind: 3,
            reason: false,
            photo: true,
            deadline_days: 0,
            skew_min: 0,
        }, // claim (wang)
        Op::Merge { from: 1, to: 0 },
        Op::Merge { from: 1, to: 2 },
        Op::Event {
            replica: 0,
            user: 1,
            kind: 5,
            reason: true,
            photo: false,
            deadline_days: 0,
            skew_min: 0,
        }, // reject (zheng)
        Op::Event {
            replica: 2,
            user: 3,
            kind: 11,
            reason: false,
            photo: false,
            deadline_days: 0,
            skew_min: 0,
        }, // plan (office)
        Op::Event {
            replica: 2,
            user: 2,
            kind: 12,
            reason: false,
            photo: false,
            deadline_days: 0,
            skew_min: 0,
        }, // recheck (feng)
        Op::Event {
            replica: 2,
            user: 3,
            kind: 4,
            reason: false,
            photo: false,
            deadline_days: 0,
            skew_min: 0,
        }, // close (office)
        Op::RawInspectorClose { replica: 1 },
    ];
    run(ops, vec![2, 0, 1]).unwrap();
}

#[test]
fn forged_copies_of_one_event_fold_the_same_in_any_order() {
    // Found by the lifecycle fuzz target: two events sharing clock, actor and id but not content
    // (only a forged change makes them) once applied whichever copy a replica read first.
    let dir: Directory = fixtures::directory();
    let actors = HashMap::from([("aa".to_owned(), "wang".to_owned())]);
    let roster = DirectoryRoster {
        directory: &dir,
        actors: &actors,
        venue_grid: None,
    };
    let mut h = header("v");
    h.severity_proposed = "general".into();
    let reg = event(
        "e0".into(),
        EventKind::Register,
        Hlc {
            ms: BASE_MS,
            counter: 0,
        },
    );
    let mut forged = reg.clone();
    forged.reason = Some("forged".into());
    let stored = |r: &gridsafe_core::records::EventRecord| StoredEvent {
        record: r.clone(),
        actor: "aa".into(),
        tampered: false,
    };
    let a = fold(&h, &[stored(&reg), stored(&forged)], &roster);
    let b = fold(&h, &[stored(&forged), stored(&reg)], &roster);
    assert_eq!(a, b);
    assert_eq!(
        a.history.iter().filter(|e| e.applied).count(),
        1,
        "one copy applies"
    );
    assert_eq!(
        a.history[1].refusal.as_ref().map(|r| r.code.as_str()),
        Some("duplicate_event")
    );
}
