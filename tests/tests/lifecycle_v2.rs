//! The hazard lifecycle of checklists.md §6.1 and §6.3 (issue #29), through the phone, the
//! relay and its pages: 即改 or 限期 chosen per finding, a deadline on every finding, 不予上账, proof
//! of service before any claim, the lead department alone closing, a failed review's new
//! deadline, the plan's six contents, control measures and 挂牌督办, public reports registered
//! like findings, batch acceptance of on-the-spot fixes, and the alert on combined elements.

use std::collections::BTreeMap;

use gridsafe_core::Store;
use gridsafe_core::clock::{format_date, today};
use gridsafe_core::lifecycle::EventKind;
use gridsafe_core::store::{Action, NewPhoto, NewVenue};
use gridsafe_core::template::FixMode;
use gridsafe_tests::browser::Browser;
use gridsafe_tests::fixtures;
use gridsafe_tests::relay::TestRelay;

const PASSWORD: &str = "correct horse";

fn refusal(r: gridsafe_core::Result<gridsafe_core::store::HazardView>) -> String {
    match r {
        Err(gridsafe_core::Error::Refused(r)) => r.code,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// An e-bike visit finding the flying lead, finished with `fix` chosen for it.
fn visit(s: &mut Store, n: usize, fix: Option<FixMode>) -> String {
    let v = s
        .add_venue(
            "wang",
            NewVenue {
                name: format!("车行{n}"),
                grid_id: "heping-1".into(),
                profile: fixtures::restaurant_profile(),
                ..Default::default()
            },
        )
        .unwrap();
    let i = s.start_inspection("wang", &v.id, "lx.ebike", None).unwrap();
    s.answer(
        "wang",
        &i.id,
        &fixtures::answers(fixtures::EBIKE_ANSWERS, &[]),
    )
    .unwrap();
    s.attach_photo(
        "wang",
        &i.id,
        NewPhoto {
            bytes: fixtures::PHOTO_BEFORE.to_vec(),
            item_id: Some("ebike.flying_lead".into()),
            role: "before".into(),
            ..Default::default()
        },
    )
    .unwrap();
    let modes: BTreeMap<String, FixMode> = fix
        .map(|m| ("ebike.flying_lead".to_owned(), m))
        .into_iter()
        .collect();
    s.finish_inspection_with("wang", &i.id, &modes)
        .unwrap()
        .hazards
        .remove(0)
        .id
}

fn rectify(s: &mut Store, h: &str) {
    s.transition(
        "wang",
        h,
        Action {
            photo: Some(NewPhoto {
                bytes: fixtures::PHOTO_AFTER.to_vec(),
                role: "after".into(),
                ..Default::default()
            }),
            ..Action::new(EventKind::Rectify)
        },
    )
    .unwrap();
}

#[test]
fn the_inspector_chooses_on_the_spot_or_a_deadline_and_every_finding_has_a_deadline() {
    let relay = TestRelay::start(&["wang", "sun"]);
    let dir = tempfile::tempdir().unwrap();
    let mut wang = relay.phone(dir.path(), "wang");
    let day = today();
    // 即改 (the checklist's default): due the day of the visit, overdue the next if not fixed.
    let on_spot = visit(&mut wang, 1, None);
    let h = wang.hazard(&on_spot).unwrap();
    assert_eq!(h.header.fix_mode, "on_spot");
    assert_eq!(h.header.deadline, Some(format_date(day)));
    assert!(!h.status.is_overdue(day));
    assert!(h.status.is_overdue(day + time::Duration::days(1)));
    // 限期: the item's period (7 days for e-bikes).
    let later = visit(&mut wang, 2, Some(FixMode::Deadline));
    let h = wang.hazard(&later).unwrap().header;
    assert_eq!(h.fix_mode, "deadline");
    assert_eq!(h.deadline, Some(format_date(day + time::Duration::days(7))));
    // The relay checks the choice and the deadline it implies.
    fixtures::sync(&mut wang);
    assert!(relay.inspect(|r| r.doc_heads(&later).unwrap()).is_some());
}

#[test]
fn a_major_candidate_is_never_fixed_on_the_spot() {
    let relay = TestRelay::start(&["wang"]);
    let dir = tempfile::tempdir().unwrap();
    let mut wang = relay.phone(dir.path(), "wang");
    let v = wang
        .add_venue(
            "wang",
            NewVenue {
                name: "老王小吃".into(),
                grid_id: "heping-1".into(),
                profile: fixtures::restaurant_profile(),
                ..Default::default()
            },
        )
        .unwrap();
    let i = wang
        .start_inspection("wang", &v.id, "lx.gas", None)
        .unwrap();
    wang.answer(
        "wang",
        &i.id,
        &fixtures::answers(
            fixtures::GAS_ANSWERS,
            &[("gas.lpg_underground", serde_json::json!("yes"))],
        ),
    )
    .unwrap();
    for item in [
        "gas.lpg_underground",
        "gas.hose_length",
        "gas.shutoff_installed",
        "gas.shutoff_test_record",
    ] {
        wang.attach_photo(
            "wang",
            &i.id,
            NewPhoto {
                bytes: fixtures::PHOTO_BEFORE.to_vec(),
                item_id: Some(item.into()),
                role: "before".into(),
                ..Default::default()
            },
        )
        .unwrap();
    }
    let modes = BTreeMap::from([("gas.lpg_underground".to_owned(), FixMode::OnSpot)]);
    let e = wang
        .finish_inspection_with("wang", &i.id, &modes)
        .unwrap_err()
        .to_string();
    assert!(e.contains("重大隐患（待认定）不能即改"), "{e}");
    let modes = BTreeMap::from([("gas.alarm_installed".to_owned(), FixMode::OnSpot)]);
    let e = wang
        .finish_inspection_with("wang", &i.id, &modes)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("不合格项"),
        "a passing item has nothing to fix: {e}"
    );
}

#[test]
fn notice_proof_claims_after_notice_dismissal_and_a_failed_reviews_deadline() {
    let relay = TestRelay::start(&["wang", "sun", "office"]);
    let dir = tempfile::tempdir().unwrap();
    let mut wang = relay.phone(dir.path(), "wang");
    let h = visit(&mut wang, 1, Some(FixMode::Deadline));
    // No claim before the notice; no notice without proof.
    let claim = || Action {
        photo: Some(NewPhoto {
            bytes: fixtures::PHOTO_AFTER.to_vec(),
            role: "after".into(),
            ..Default::default()
        }),
        ..Action::new(EventKind::Claim)
    };
    assert_eq!(
        refusal(wang.transition("wang", &h, claim())),
        "not_notified"
    );
    assert_eq!(
        refusal(wang.transition("wang", &h, Action::new(EventKind::Notify))),
        "proof_required"
    );
    fixtures::serve_notice(&mut wang, "wang", &h);
    wang.transition("wang", &h, claim()).unwrap();
    fixtures::sync(&mut wang);
    let mut sun = relay.phone(dir.path(), "sun");
    fixtures::sync(&mut sun);
    // A failed review sends it back with a new deadline.
    let reject = |deadline: Option<String>| Action {
        reason: Some("飞线仍在".into()),
        deadline,
        ..Action::new(EventKind::Reject)
    };
    assert_eq!(
        refusal(sun.transition("sun", &h, reject(None))),
        "deadline_required"
    );
    let due = fixtures::in_days(3);
    let back = sun
        .transition("sun", &h, reject(Some(due.clone())))
        .unwrap();
    assert_eq!(
        (back.status.state.as_str(), back.status.deadline.as_deref()),
        ("rectifying", Some(due.as_str()))
    );
    // 不予上账 with a reason, by the lead department, before the notice.
    let dup = visit(&mut wang, 2, None);
    fixtures::sync(&mut wang);
    fixtures::sync(&mut sun);
    assert_eq!(
        refusal(sun.transition("sun", &dup, Action::new(EventKind::Dismiss))),
        "reason_required"
    );
    let gone = sun
        .transition(
            "sun",
            &dup,
            Action {
                reason: Some("与已登记隐患重复".into()),
                ..Action::new(EventKind::Dismiss)
            },
        )
        .unwrap();
    assert_eq!(gone.status.state.as_str(), "rejected");
    assert!(!gone.status.state.is_open());
}

#[test]
fn the_lead_department_closes_and_the_town_office_tracks() {
    let relay = TestRelay::start(&["wang", "sun", "office"]);
    let dir = tempfile::tempdir().unwrap();
    let mut wang = relay.phone(dir.path(), "wang");
    let h = visit(&mut wang, 1, None);
    rectify(&mut wang, &h);
    fixtures::sync(&mut wang);
    let csrf_of = |page: &str| {
        let at = page.find("name=\"csrf\" value=\"").unwrap() + 19;
        page[at..at + 64].to_owned()
    };
    // The office's page offers no close; a forged close is refused with the rule's words.
    let mut office = Browser::new(&relay.url);
    assert_eq!(office.login("office", PASSWORD), 303);
    let page = office.get(&format!("/hazards/{h}")).1;
    assert!(!page.contains(r#"<option value="close">"#), "{page}");
    let (status, page, _) = office.post(
        &format!("/hazards/{h}/action"),
        &format!("csrf={}&action=close", csrf_of(&page)),
    );
    assert!(status >= 400, "{status}");
    assert!(page.contains("审核销号由牵头部门负责"), "{page}");
    // The lead department may.
    let mut sun = Browser::new(&relay.url);
    assert_eq!(sun.login("sun", PASSWORD), 303);
    let page = sun.get(&format!("/hazards/{h}")).1;
    assert!(page.contains(r#"<option value="close">"#), "{page}");
    let (status, _, _) = sun.post(
        &format!("/hazards/{h}/action"),
        &format!("csrf={}&action=close", csrf_of(&page)),
    );
    assert_eq!(status, 303);
    fixtures::sync(&mut wang);
    assert_eq!(wang.hazard(&h).unwrap().status.state.as_str(), "closed");
}

#[test]
fn verified_on_the_spot_fixes_are_accepted_in_a_batch() {
    let relay = TestRelay::start(&["wang", "sun", "office"]);
    let dir = tempfile::tempdir().unwrap();
    let mut wang = relay.phone(dir.path(), "wang");
    let fixed: Vec<String> = (0..3)
        .map(|n| {
            let h = visit(&mut wang, n, None);
            rectify(&mut wang, &h);
            h
        })
        .collect();
    let open = visit(&mut wang, 9, Some(FixMode::Deadline));
    fixtures::sync(&mut wang);
    let mut sun = Browser::new(&relay.url);
    assert_eq!(sun.login("sun", PASSWORD), 303);
    let (status, page, _) = sun.get("/batch");
    assert_eq!(status, 200);
    for h in &fixed {
        assert!(page.contains(h.as_str()), "{h} is listed: {page}");
    }
    assert!(!page.contains(open.as_str()), "not fixed on the spot");
    assert_eq!(
        page.matches("<img src=\"/photos/").count(),
        6,
        "before and after, side by side"
    );
    let at = page.find("name=\"csrf\" value=\"").unwrap() + 19;
    let csrf = page[at..at + 64].to_owned();
    let body = format!("csrf={csrf}&id={}&id={}", fixed[0], fixed[1]);
    let (status, page, _) = sun.post("/batch", &body);
    assert_eq!(status, 200);
    assert!(page.contains("已审核销号 2 项"), "{page}");
    assert!(
        page.contains(fixed[2].as_str()),
        "the unselected one still waits"
    );
    // Each is closed as one by one would be: its own event and audit entry.
    fixtures::sync(&mut wang);
    for h in &fixed[..2] {
        let v = wang.hazard(h).unwrap();
        assert_eq!(v.status.state.as_str(), "closed");
        assert_eq!(v.status.closed_by.as_deref(), Some("sun"));
    }
    let audited = relay.inspect(|r| {
        r.audit_entries(100, None)
            .unwrap()
            .into_iter()
            .filter(|e| e.action == "hazard.close" && e.detail == "batch")
            .count()
    });
    assert_eq!(audited, 2);
    // Not for the town office or an inspector.
    let mut office = Browser::new(&relay.url);
    assert_eq!(office.login("office", PASSWORD), 303);
    assert_eq!(office.get("/batch").0, 403);
}

#[test]
fn plans_controls_and_supervision_are_recorded_by_those_who_hold_them() {
    let relay = TestRelay::start(&["wang", "zheng", "office"]);
    let dir = tempfile::tempdir().unwrap();
    let mut wang = relay.phone(dir.path(), "wang");
    let v = wang
        .add_venue(
            "wang",
            NewVenue {
                name: "老王小吃".into(),
                grid_id: "heping-1".into(),
                profile: fixtures::restaurant_profile(),
                ..Default::default()
            },
        )
        .unwrap();
    let i = wang
        .start_inspection("wang", &v.id, "lx.gas", None)
        .unwrap();
    wang.answer(
        "wang",
        &i.id,
        &fixtures::answers(
            fixtures::GAS_ANSWERS,
            &[("gas.lpg_underground", serde_json::json!("yes"))],
        ),
    )
    .unwrap();
    for item in [
        "gas.lpg_underground",
        "gas.hose_length",
        "gas.shutoff_installed",
        "gas.shutoff_test_record",
    ] {
        wang.attach_photo(
            "wang",
            &i.id,
            NewPhoto {
                bytes: fixtures::PHOTO_BEFORE.to_vec(),
                item_id: Some(item.into()),
                role: "before".into(),
                ..Default::default()
            },
        )
        .unwrap();
    }
    let major = wang
        .finish_inspection("wang", &i.id)
        .unwrap()
        .hazards
        .into_iter()
        .find(|h| h.item_id == "gas.lpg_underground")
        .unwrap()
        .id;
    fixtures::sync(&mut wang);
    let mut zheng = relay.phone(dir.path(), "zheng");
    fixtures::sync(&mut zheng);
    let supervise = Action {
        text: Some("district".into()),
        reason: Some("金府督〔2026〕3号".into()),
        ..Action::new(EventKind::Supervise)
    };
    assert_eq!(
        refusal(zheng.transition("zheng", &major, supervise.clone())),
        "not_major",
        "挂牌督办 is for a confirmed major"
    );
    zheng
        .transition("zheng", &major, Action::new(EventKind::ConfirmMajor))
        .unwrap();
    let v = zheng.transition("zheng", &major, supervise).unwrap();
    assert_eq!(
        v.status.supervision,
        Some(("district".into(), "金府督〔2026〕3号".into()))
    );
    let v = zheng
        .transition(
            "zheng",
            &major,
            Action {
                text: Some("地下室停止使用液化气，现场贴封".into()),
                ..Action::new(EventKind::Control)
            },
        )
        .unwrap();
    assert_eq!(v.status.controls, ["地下室停止使用液化气，现场贴封"]);
    // A plan missing some of its six contents is refused, naming them.
    let partial = r#"{"goal":"消除隐患","method":"改用管道气"}"#;
    let e = zheng
        .transition(
            "zheng",
            &major,
            Action {
                text: Some(partial.into()),
                ..Action::new(EventKind::Plan)
            },
        )
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("经费和物资") && e.contains("安全措施和应急预案"),
        "{e}"
    );
    zheng
        .transition(
            "zheng",
            &major,
            Action {
                text: Some(fixtures::PLAN_JSON.into()),
                ..Action::new(EventKind::Plan)
            },
        )
        .unwrap();
    fixtures::sync(&mut zheng);
    // The town office proposes (escalation), it does not record 挂牌督办.
    let mut office = relay.phone(dir.path(), "office");
    fixtures::sync(&mut office);
    assert_eq!(
        refusal(office.transition(
            "office",
            &major,
            Action {
                text: Some("city".into()),
                reason: Some("沪府督〔2026〕1号".into()),
                ..Action::new(EventKind::Supervise)
            }
        )),
        "department_only"
    );
}

#[test]
fn a_public_report_matched_to_an_item_registers_like_its_finding() {
    let relay = TestRelay::start(&["wang", "office"]);
    let dir = tempfile::tempdir().unwrap();
    let mut wang = relay.phone(dir.path(), "wang");
    let venue = wang
        .add_venue(
            "wang",
            NewVenue {
                name: "老王小吃".into(),
                grid_id: "heping-1".into(),
                profile: fixtures::restaurant_profile(),
                ..Default::default()
            },
        )
        .unwrap();
    fixtures::sync(&mut wang);
    relay.inspect(|r| {
        let office = r.directory().unwrap().user("office").unwrap().clone();
        let ticket = gridsafe_server::intake::Ticket {
            ticket_no: "2026-0099".into(),
            channel: "12345".into(),
            received_at: "2026-12-01 09:00".into(),
            address: "和平村1组12号".into(),
            description: "地下室有液化气罐".into(),
            category: "gas".into(),
            grid: "heping-1".into(),
        };
        r.import_tickets(&office, &[(2, ticket)]).unwrap();
    });
    fixtures::sync(&mut wang);
    let task = wang.list_tasks(Some("wang")).unwrap().remove(0);
    let h = wang
        .verify_task(
            "wang",
            &task.id,
            gridsafe_core::store::TaskVerdict {
                substantiated: true,
                reason: String::new(),
                venue_id: Some(venue.id.clone()),
                finding: String::new(),
                photo: None,
                item_id: Some("gas.lpg_underground".into()),
            },
        )
        .unwrap()
        .expect("registered");
    let v = wang.hazard(&h).unwrap().header;
    assert_eq!(
        (
            v.source.as_str(),
            v.item_id.as_str(),
            v.severity_proposed.as_str()
        ),
        ("public_report", "gas.lpg_underground", "major_candidate")
    );
    assert_eq!(v.lead_depts, ["gjb"]);
    assert!(v.basis_refs.iter().any(|b| b.contains("建城规〔2023〕4号")));
    fixtures::sync(&mut wang);
    assert!(
        relay.inspect(|r| r.doc_heads(&h).unwrap()).is_some(),
        "the relay accepts it (checked against the item)"
    );
}

#[test]
fn venues_gathering_combined_elements_are_put_to_the_department() {
    let relay = TestRelay::start(&["wang", "sun", "admin"]);
    let dir = tempfile::tempdir().unwrap();
    let mut wang = relay.phone(dir.path(), "wang");
    let v = wang
        .add_venue(
            "wang",
            NewVenue {
                name: "通道小店".into(),
                grid_id: "heping-1".into(),
                profile: fixtures::restaurant_profile(),
                ..Default::default()
            },
        )
        .unwrap();
    let i = wang
        .start_inspection("wang", &v.id, "lx.lifeline", None)
        .unwrap();
    let t = wang.template(&i.template_id, &i.template_version).unwrap();
    let failing = [
        "lifeline.exit_locked",
        "lifeline.exit_door_type",
        "lifeline.fire_lane_blocked",
    ];
    let answers: Vec<(String, serde_json::Value)> = t
        .items
        .iter()
        .map(|it| {
            let v = if failing.contains(&it.id.as_str()) {
                serde_json::json!("yes")
            } else {
                serde_json::json!("na")
            };
            (it.id.clone(), v)
        })
        .collect();
    wang.answer("wang", &i.id, &answers).unwrap();
    for item in failing {
        wang.attach_photo(
            "wang",
            &i.id,
            NewPhoto {
                bytes: fixtures::PHOTO_BEFORE.to_vec(),
                item_id: Some(item.into()),
                role: "before".into(),
                ..Default::default()
            },
        )
        .unwrap();
    }
    let done = wang.finish_inspection("wang", &i.id).unwrap();
    assert_eq!(done.combined_elements_open, 3);
    fixtures::sync(&mut wang);
    let mut sun = Browser::new(&relay.url);
    assert_eq!(sun.login("sun", PASSWORD), 303);
    // On the department's to-do list (where its reviewer starts) and on the overview.
    for path in ["/todo", "/overview"] {
        let page = sun.get(path).1;
        assert!(
            page.contains("id=\"combined-alerts\"") && page.contains("通道小店"),
            "{path}: {page}"
        );
        assert!(page.contains("系统不自动认定"), "{path}: {page}");
    }
    // The administrator raises the threshold: no alert at 4.
    let mut admin = Browser::new(&relay.url);
    assert_eq!(admin.login("admin", PASSWORD), 303);
    let page = admin.get("/admin/users").1;
    let at = page.find("name=\"csrf\" value=\"").unwrap() + 19;
    let csrf = page[at..at + 64].to_owned();
    assert_eq!(
        admin
            .post("/admin/combined-alert", &format!("csrf={csrf}&count=4"))
            .0,
        303
    );
    for path in ["/todo", "/overview"] {
        let (status, page, _) = sun.get(path);
        assert_eq!(status, 200);
        assert!(!page.contains("id=\"combined-alerts\""), "{path}: {page}");
    }
    // No hazard was made major by the count.
    for h in &done.hazards {
        assert_eq!(wang.hazard(&h.id).unwrap().status.severity, "general");
    }
}
