//! A grid worker's offline day through the core store, and the store's handling of bad input.

use gridsafe_core::lifecycle::EventKind;
use gridsafe_core::store::{Action, HazardQuery, NewPhoto, NewVenue, VenueEdit};
use gridsafe_core::template::{TemplateSource, bundled_sources};
use gridsafe_core::{Error, Store};
use gridsafe_tests::fixtures::{self, PHOTO_AFTER, PHOTO_BEFORE, PHOTO_MEASURE};
use serde_json::json;

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::create(dir.path().join("phone.sqlite")).unwrap();
    s.import_directory(fixtures::DIRECTORY_JSON).unwrap();
    (dir, s)
}

fn restaurant(s: &mut Store, name: &str) -> String {
    s.add_venue(
        "wang",
        NewVenue {
            name: name.into(),
            address: "和平村1组".into(),
            grid_id: "heping-1".into(),
            profile: fixtures::restaurant_profile(),
            ..Default::default()
        },
    )
    .unwrap()
    .id
}

fn photo(bytes: &[u8], item: &str) -> NewPhoto {
    NewPhoto {
        bytes: bytes.to_vec(),
        item_id: Some(item.into()),
        role: "before".into(),
        lat: Some(30.83),
        lon: Some(121.2),
    }
}

fn gas_answers(hose: f64, underground: &str) -> Vec<(String, serde_json::Value)> {
    fixtures::answers(
        fixtures::GAS_ANSWERS,
        &[
            ("gas.hose_length", json!(hose)),
            ("gas.lpg_underground", json!(underground)),
            ("gas.shutoff_installed", json!("yes")),
            ("gas.shutoff_test_record", json!("yes")),
        ],
    )
}

#[test]
fn an_offline_day_registers_routes_and_fixes_hazards() {
    let (_d, mut s) = store();
    let v = restaurant(&mut s, "老王小吃");
    let i = s.start_inspection("wang", &v, "lx.gas", None).unwrap();
    assert_eq!(
        i.template_version, "2026.12-b",
        "the newest version in force (lx.gas's, in force since 2026-12-07)"
    );
    s.answer("wang", &i.id, &gas_answers(2.4, "yes")).unwrap();

    // Cannot finish: failed items need before photos.
    let e = s.finish_inspection("wang", &i.id).unwrap_err();
    assert!(matches!(e, Error::Incomplete { .. }), "{e}");
    assert!(
        // Named by their questions (issue #28).
        e.to_string().contains("燃具连接软管长度") && e.to_string().contains("地下室、半地下室"),
        "{e}"
    );
    s.attach_photo("wang", &i.id, photo(PHOTO_MEASURE, "gas.hose_length"))
        .unwrap();
    s.attach_photo("wang", &i.id, photo(PHOTO_BEFORE, "gas.lpg_underground"))
        .unwrap();
    let report = s.finish_inspection("wang", &i.id).unwrap();
    assert_eq!(report.hazards.len(), 2);
    let major = report
        .hazards
        .iter()
        .find(|h| h.item_id == "gas.lpg_underground")
        .unwrap();
    assert_eq!(
        (
            major.severity.as_str(),
            major.confirmation.as_str(),
            major.state.as_str()
        ),
        ("major_candidate", "pending", "registered")
    );
    assert_eq!(major.lead_depts, vec!["gjb"]);
    let hose = report
        .hazards
        .iter()
        .find(|h| h.item_id == "gas.hose_length")
        .unwrap();
    assert_eq!(hose.severity, "general");

    // A finished inspection is frozen.
    assert!(
        s.answer("wang", &i.id, &[("gas.hose_length".into(), json!(1.0))])
            .is_err()
    );

    // My open hazards by due date; the reviewer of 规建办 sees them, 城运中心 does not.
    let mine = s
        .list_hazards(&HazardQuery {
            scope_user: Some("wang".into()),
            open_only: true,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(mine.len(), 2);
    assert!(mine[0].due_date <= mine[1].due_date);
    assert_eq!(
        s.list_hazards(&HazardQuery {
            scope_user: Some("zheng".into()),
            ..Default::default()
        })
        .unwrap()
        .len(),
        2
    );
    assert_eq!(
        s.list_hazards(&HazardQuery {
            scope_user: Some("sun".into()),
            ..Default::default()
        })
        .unwrap()
        .len(),
        0
    );
    assert_eq!(
        s.list_hazards(&HazardQuery {
            scope_user: Some("li".into()),
            ..Default::default()
        })
        .unwrap()
        .len(),
        0,
        "another grid's inspector"
    );

    // The inspector can never close the major candidate, nor fix it on the spot.
    for kind in [EventKind::Close, EventKind::Rectify] {
        let mut a = Action::new(kind);
        a.photo = Some(NewPhoto {
            bytes: PHOTO_AFTER.to_vec(),
            role: "after".into(),
            ..Default::default()
        });
        assert!(matches!(
            s.transition("wang", &major.id, a),
            Err(Error::Refused(_))
        ));
    }
    // The department confirms; notice, claim, plan, recheck by a second person, close.
    s.transition("zheng", &major.id, Action::new(EventKind::ConfirmMajor))
        .unwrap();
    s.transition(
        "wang",
        &major.id,
        Action {
            deadline: Some("2027-01-15".into()),
            photo: Some(fixtures::notice_proof()),
            ..Action::new(EventKind::Notify)
        },
    )
    .unwrap();
    let claim = Action {
        photo: Some(NewPhoto {
            bytes: PHOTO_AFTER.to_vec(),
            role: "after".into(),
            ..Default::default()
        }),
        ..Action::new(EventKind::Claim)
    };
    s.transition("wang", &major.id, claim).unwrap();
    let e = s
        .transition("zheng", &major.id, Action::new(EventKind::Close))
        .unwrap_err();
    assert!(e.to_string().contains("plan_required"), "{e}");
    s.transition(
        "zheng",
        &major.id,
        Action {
            text: Some(fixtures::PLAN_JSON.into()),
            ..Action::new(EventKind::Plan)
        },
    )
    .unwrap();
    s.transition("zheng", &major.id, fixtures::recheck_action())
        .unwrap();
    let e = s
        .transition("zheng", &major.id, Action::new(EventKind::Close))
        .unwrap_err();
    assert!(e.to_string().contains("second_person_required"), "{e}");
    s.transition("feng", &major.id, fixtures::recheck_action())
        .unwrap();
    let closed = s
        .transition("zheng", &major.id, Action::new(EventKind::Close))
        .unwrap();
    assert_eq!(closed.status.state.as_str(), "closed");
    assert_eq!(closed.status.severity, "major");

    // 即改 with before and after photos in the same visit, then the department closes it.
    let after = NewPhoto {
        bytes: PHOTO_AFTER.to_vec(),
        role: "after".into(),
        ..Default::default()
    };
    let h = s
        .transition(
            "wang",
            &hose.id,
            Action {
                photo: Some(after),
                ..Action::new(EventKind::Rectify)
            },
        )
        .unwrap();
    assert_eq!(
        (h.status.state.as_str(), h.status.fix_mode.as_str()),
        ("rectified_claimed", "on_spot")
    );
    s.transition("zheng", &hose.id, Action::new(EventKind::Close))
        .unwrap();
    assert!(
        s.list_hazards(&HazardQuery {
            scope_user: Some("wang".into()),
            open_only: true,
            ..Default::default()
        })
        .unwrap()
        .is_empty()
    );

    // The venue's history and today's inspections come from projections.
    assert_eq!(s.venue_inspections(&v).unwrap().len(), 1);
    assert_eq!(s.todays_inspections("wang").unwrap().len(), 1);
    assert!(
        s.list_venues(Some("wang")).unwrap()[0]
            .last_inspected
            .is_some()
    );
    s.integrity_check().unwrap();
}

#[test]
fn recurrence_is_a_new_linked_hazard_and_open_ones_are_not_duplicated() {
    let (_d, mut s) = store();
    let v = restaurant(&mut s, "回潮小店");
    let inspect = |s: &mut Store| {
        let i = s.start_inspection("wang", &v, "lx.gas", None).unwrap();
        s.answer("wang", &i.id, &gas_answers(2.5, "no")).unwrap();
        s.attach_photo("wang", &i.id, photo(PHOTO_MEASURE, "gas.hose_length"))
            .unwrap();
        s.finish_inspection("wang", &i.id).unwrap()
    };
    let first = inspect(&mut s);
    assert_eq!(first.hazards.len(), 1);
    let old = first.hazards[0].id.clone();
    // Found again while still open: linked to the open one, not registered twice.
    let again = inspect(&mut s);
    assert!(again.hazards.is_empty());
    assert_eq!(again.already_open.get("gas.hose_length"), Some(&old));
    // Fixed and closed, then found again: a new hazard linked to the old one.
    let after = NewPhoto {
        bytes: PHOTO_AFTER.to_vec(),
        role: "after".into(),
        ..Default::default()
    };
    fixtures::serve_notice(&mut s, "wang", &old);
    s.transition(
        "wang",
        &old,
        Action {
            photo: Some(after),
            ..Action::new(EventKind::Claim)
        },
    )
    .unwrap();
    // The lead department closes (rules 2): 规建办 for a gas finding.
    s.transition("zheng", &old, Action::new(EventKind::Close))
        .unwrap();
    let third = inspect(&mut s);
    assert_eq!(third.hazards.len(), 1);
    assert_eq!(
        third.hazards[0].recurrence_of.as_deref(),
        Some(old.as_str())
    );
    assert_eq!(
        s.hazard(&old).unwrap().status.state.as_str(),
        "closed",
        "the old hazard is not reopened"
    );
}

#[test]
fn illegal_transitions_and_bad_answers_change_nothing() {
    let (_d, mut s) = store();
    let v = restaurant(&mut s, "小店");
    let i = s.start_inspection("wang", &v, "lx.gas", None).unwrap();
    let before = s.export_doc(&i.id).unwrap().1;
    for (item, val) in [
        ("gas.hose_length", json!(-1)),
        ("gas.cylinder_count", json!({"kg15": "three"})),
        ("gas.alarm_installed", json!(7)),
        ("no.such_item", json!("no")),
    ] {
        let e = s
            .answer(
                "wang",
                &i.id,
                &[
                    ("gas.alarm_working".into(), json!("yes")),
                    (item.into(), val),
                ],
            )
            .unwrap_err();
        assert!(e.to_string().contains(item), "{e}");
    }
    assert_eq!(
        s.export_doc(&i.id).unwrap().1,
        before,
        "a rejected batch saves nothing, not even its valid answers"
    );
    // Not an image, empty, wrong role.
    assert!(
        s.attach_photo(
            "wang",
            &i.id,
            NewPhoto {
                bytes: b"hello".to_vec(),
                role: "before".into(),
                ..Default::default()
            }
        )
        .is_err()
    );
    assert!(
        s.attach_photo(
            "wang",
            &i.id,
            NewPhoto {
                bytes: vec![],
                role: "before".into(),
                ..Default::default()
            }
        )
        .is_err()
    );
    assert!(
        s.attach_photo(
            "wang",
            &i.id,
            NewPhoto {
                bytes: PHOTO_BEFORE.to_vec(),
                role: "selfie".into(),
                ..Default::default()
            }
        )
        .is_err()
    );
    assert_eq!(s.export_doc(&i.id).unwrap().1, before);
    // Someone else's inspection, another grid's venue.
    assert!(matches!(
        s.answer("li", &i.id, &[("gas.alarm_working".into(), json!("yes"))]),
        Err(Error::Forbidden(_))
    ));
    assert!(matches!(
        s.start_inspection("li", &v, "lx.gas", None),
        Err(Error::Forbidden(_))
    ));

    s.answer("wang", &i.id, &gas_answers(2.5, "no")).unwrap();
    s.attach_photo("wang", &i.id, photo(PHOTO_MEASURE, "gas.hose_length"))
        .unwrap();
    let h = s
        .finish_inspection("wang", &i.id)
        .unwrap()
        .hazards
        .remove(0);
    let doc_before = s.export_doc(&h.id).unwrap().1;
    // Close before any rectification; reject without a reason; a deadline in the past; escalate
    // before the deadline; a reviewer of another department.
    let attempts = [
        ("zheng", Action::new(EventKind::Close), "wrong_state"),
        ("zheng", Action::new(EventKind::Reopen), "wrong_state"),
        (
            "zheng",
            Action {
                deadline: Some("2020-01-01".into()),
                ..Action::new(EventKind::SetDeadline)
            },
            "deadline_past",
        ),
        (
            "zheng",
            Action {
                reason: Some("逾期".into()),
                ..Action::new(EventKind::Escalate)
            },
            "not_overdue",
        ),
        ("sun", Action::new(EventKind::Notify), "out_of_scope"),
        ("admin", Action::new(EventKind::Notify), "admin"),
        // Rules 2: no claim before the notice is served.
        ("wang", Action::new(EventKind::Claim), "not_notified"),
        ("zheng", Action::new(EventKind::ConfirmMajor), "not_pending"),
    ];
    for (user, action, code) in attempts {
        match s.transition(user, &h.id, action) {
            Err(Error::Refused(r)) => assert_eq!(r.code, code),
            other => panic!("expected refusal {code}, got {other:?}"),
        }
    }
    assert_eq!(
        s.export_doc(&h.id).unwrap().1,
        doc_before,
        "refused transitions leave the document unchanged"
    );
    assert!(matches!(s.hazard("not-a-uuid"), Err(Error::Invalid(_))));
}

#[test]
fn venue_edits_and_profile_validation() {
    let (_d, mut s) = store();
    let v = restaurant(&mut s, "编辑测试");
    let mut p = fixtures::restaurant_profile();
    p.gas_supply = "coal".into();
    let e = s
        .edit_venue(
            "wang",
            &v,
            VenueEdit {
                profile: Some(p),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert!(e.to_string().contains("gas_supply"), "{e}");
    let e = s
        .add_venue(
            "wang",
            NewVenue {
                name: "越界".into(),
                grid_id: "taiping-1".into(),
                profile: fixtures::restaurant_profile(),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert!(matches!(e, Error::Forbidden(_)));
    let edited = s
        .edit_venue(
            "wang",
            &v,
            VenueEdit {
                name: Some("老王面馆".into()),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(edited.name, "老王面馆");
    assert_eq!(s.list_venues(Some("wang")).unwrap()[0].name, "老王面馆");
    // Many edits compact into a snapshot without losing anything.
    for n in 0..70 {
        s.edit_venue(
            "wang",
            &v,
            VenueEdit {
                address: Some(format!("和平村1组{n}号")),
                ..Default::default()
            },
        )
        .unwrap();
    }
    assert_eq!(s.venue(&v).unwrap().address, "和平村1组69号");
}

#[test]
fn records_travel_between_phones_as_automerge_bytes() {
    let (_a, mut a) = store();
    let (_b, mut b) = store();
    let v = restaurant(&mut a, "同步小店");
    let i = a.start_inspection("wang", &v, "lx.gas", None).unwrap();
    a.answer("wang", &i.id, &gas_answers(2.5, "no")).unwrap();
    a.attach_photo("wang", &i.id, photo(PHOTO_MEASURE, "gas.hose_length"))
        .unwrap();
    let h = a
        .finish_inspection("wang", &i.id)
        .unwrap()
        .hazards
        .remove(0);
    for id in [&v, &i.id, &h.id] {
        b.merge_doc(id, &a.export_doc(id).unwrap().1).unwrap();
    }
    // Until phone B knows whose device wrote the events, it refuses to credit them.
    assert_eq!(b.hazard(&h.id).unwrap().status.state.as_str(), "draft");
    let actors = gridsafe_core::records::actors_in(
        &mut automerge::AutoCommit::load(&a.export_doc(&h.id).unwrap().1).unwrap(),
    );
    for actor in actors {
        b.bind_actor(&actor, "wang").unwrap();
    }
    b.merge_doc(&h.id, &a.export_doc(&h.id).unwrap().1).unwrap();
    assert_eq!(
        b.hazard(&h.id).unwrap().status,
        a.hazard(&h.id).unwrap().status
    );
    assert_eq!(b.list_hazards(&HazardQuery::default()).unwrap().len(), 1);
    assert_eq!(b.venue(&v).unwrap(), a.venue(&v).unwrap());
    // Garbage, or a record under another id, is refused and changes nothing.
    assert!(b.merge_doc(&h.id, b"not automerge").is_err());
    assert!(b.merge_doc(&v, &a.export_doc(&h.id).unwrap().1).is_err());
    assert_eq!(b.venue(&v).unwrap(), a.venue(&v).unwrap());
}

#[test]
fn overdue_hazards_are_listed_for_my_grids() {
    let (_d, mut s) = store();
    let v = restaurant(&mut s, "逾期小店");
    let i = s.start_inspection("wang", &v, "lx.gas", None).unwrap();
    s.answer("wang", &i.id, &gas_answers(2.5, "no")).unwrap();
    s.attach_photo("wang", &i.id, photo(PHOTO_MEASURE, "gas.hose_length"))
        .unwrap();
    let h = s
        .finish_inspection("wang", &i.id)
        .unwrap()
        .hazards
        .remove(0);
    // A hazard found 30 days ago elsewhere (registered with a deadline now past) arrives by merge.
    let mut doc = automerge::AutoCommit::load(&s.export_doc(&h.id).unwrap().1).unwrap();
    let (mut header, evs) = gridsafe_core::records::read_hazard(&doc, &h.id).unwrap();
    let old_ms = gridsafe_core::clock::now_ms() - 30 * 86_400_000;
    header.id = "018f0000-0000-7000-8000-000000000099".into();
    header.found_ms = old_ms;
    header.deadline = Some(gridsafe_core::clock::format_date(
        gridsafe_core::clock::ms_to_date(old_ms) + time::Duration::days(7),
    ));
    let mut reg = evs[0].record.clone();
    reg.ms = old_ms;
    let actor = automerge::ActorId::from(hex::decode(&evs[0].actor).unwrap());
    let mut old = gridsafe_core::records::new_hazard_doc(&actor, &header, &reg).unwrap();
    s.merge_doc(&header.id, &old.save()).unwrap();
    let _ = &mut doc;
    let overdue = s
        .list_hazards(&HazardQuery {
            scope_user: Some("wang".into()),
            overdue_only: true,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(overdue.len(), 1);
    assert!(overdue[0].overdue);
    assert!(s.hazard(&header.id).unwrap().overdue);
    // Now it can be escalated.
    s.transition(
        "zheng",
        &header.id,
        Action {
            reason: Some("逾期未改，建议挂牌督办".into()),
            ..Action::new(EventKind::Escalate)
        },
    )
    .unwrap();
    assert!(
        s.list_hazards(&HazardQuery {
            scope_user: Some("wang".into()),
            overdue_only: true,
            ..Default::default()
        })
        .unwrap()
        .len()
            == 1
    );
}

#[test]
fn store_files_are_never_silently_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("phone.sqlite");
    // Missing.
    let e = Store::open(&path).unwrap_err();
    assert!(e.to_string().contains("no such store"), "{e}");
    assert!(!path.exists(), "open never creates");
    // Existing file on create.
    std::fs::write(&path, b"precious notes").unwrap();
    assert!(
        Store::create(&path)
            .unwrap_err()
            .to_string()
            .contains("already exists")
    );
    // Garbage.
    let e = Store::open(&path).unwrap_err();
    assert!(
        e.to_string().contains("not a GridSafe store") || e.to_string().contains("corrupt"),
        "{e}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), b"precious notes");
    // A foreign SQLite database.
    let foreign = dir.path().join("foreign.db");
    let c = rusqlite_conn(&foreign);
    drop(c);
    let bytes = std::fs::read(&foreign).unwrap();
    let e = Store::open(&foreign).unwrap_err();
    assert!(e.to_string().contains("not a GridSafe store"), "{e}");
    assert_eq!(std::fs::read(&foreign).unwrap(), bytes);
    // A store from a newer version.
    let newer = dir.path().join("newer.sqlite");
    drop(Store::create(&newer).unwrap());
    set_user_version(&newer, 99);
    let e = Store::open(&newer).unwrap_err();
    assert!(e.to_string().contains("newer"), "{e}");
    // A truncated store file.
    let trunc = dir.path().join("trunc.sqlite");
    {
        let mut s = Store::create(&trunc).unwrap();
        s.import_directory(fixtures::DIRECTORY_JSON).unwrap();
    }
    let full = std::fs::read(&trunc).unwrap();
    std::fs::write(&trunc, &full[..full.len() / 3]).unwrap();
    let res = Store::open(&trunc).and_then(|s| s.integrity_check().map(|_| s));
    assert!(res.is_err(), "a truncated store is reported, not used");
}

fn rusqlite_conn(p: &std::path::Path) -> gridsafe_tests_sqlite::Connection {
    let c = gridsafe_tests_sqlite::Connection::open(p).unwrap();
    c.execute_batch("CREATE TABLE notes (t TEXT); INSERT INTO notes VALUES ('mine');")
        .unwrap();
    c
}

fn set_user_version(p: &std::path::Path, v: i32) {
    let c = gridsafe_tests_sqlite::Connection::open(p).unwrap();
    c.pragma_update(None, "user_version", v).unwrap();
}

use rusqlite as gridsafe_tests_sqlite;

#[test]
fn templates_are_immutable_and_bad_bundles_load_nothing() {
    let (_d, mut s) = store();
    let before = s.list_templates().unwrap();
    // A changed file under an existing version.
    let mut src = bundled_sources()
        .into_iter()
        .find(|t| t.name.contains("lx.gas"))
        .unwrap();
    let text = String::from_utf8(src.bytes.clone()).unwrap().replacen(
        "\"threshold\": 2.0",
        "\"threshold\": 2.5",
        1,
    );
    src.bytes = text.into_bytes();
    let e = s.import_templates(&[src]).unwrap_err();
    assert!(e.to_string().contains("immutable"), "{e}");
    // A new version alongside a broken file: nothing is installed.
    let good = bundled_sources()
        .into_iter()
        .find(|t| t.name.contains("lx.ebike/2026.12-a"))
        .unwrap();
    let newer = TemplateSource {
        name: "lx.ebike/2027.01-a.json".into(),
        bytes: String::from_utf8(good.bytes)
            .unwrap()
            .replace("2026.12-a", "2027.01-a")
            .into_bytes(),
    };
    let broken = TemplateSource {
        name: "lx.bad/1.json".into(),
        bytes: b"{\"format\": 1".to_vec(),
    };
    let e = s.import_templates(&[newer.clone(), broken]).unwrap_err();
    assert!(e.to_string().contains("lx.bad/1.json"), "{e}");
    assert_eq!(s.list_templates().unwrap(), before);
    // The new version alone installs; new inspections use it, old ones keep theirs.
    let v = restaurant(&mut s, "版本小店");
    let old = s.start_inspection("wang", &v, "lx.ebike", None).unwrap();
    s.import_templates(&[newer]).unwrap();
    let new = s.start_inspection("wang", &v, "lx.ebike", None).unwrap();
    assert_eq!(
        (old.template_version.as_str(), new.template_version.as_str()),
        ("2026.12-a", "2027.01-a")
    );
    assert!(s.template("lx.ebike", "2026.12-a").is_ok());
    s.answer(
        "wang",
        &old.id,
        &[("ebike.flying_lead".into(), json!("no"))],
    )
    .unwrap();
}
