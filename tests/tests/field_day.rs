//! The grid worker's whole day through the field app's screens (issue #33), against a real relay:
//! enrol; Today; add a venue; the checklists that apply to it; a gas walk with numbers, yes/no and
//! a choice and photos; the findings (LPG in the basement: a major candidate for 规建办 the phone
//! cannot close); 即改 with before and after photos; sync; 规建办's close reaching Today and the
//! hazard screen; the notice. Each screen's data is asserted; bad input changes nothing.

use gridsafe_core::clock::today;
use gridsafe_core::field::hazard::{findings, hazard_screen};
use gridsafe_core::field::today::Opens;
use gridsafe_core::field::today::today as today_screen;
use gridsafe_core::field::walk::{Input, answer_field, walk};
use gridsafe_core::field::{FieldInput, ItemState, TodayKind, Verdict, ticket, venues};
use gridsafe_core::labels::Lang;
use gridsafe_core::lifecycle::EventKind;
use gridsafe_core::store::{Action, NewPhoto, NewVenue};
use gridsafe_core::template::FixMode;
use gridsafe_tests::fixtures;
use gridsafe_tests::relay::TestRelay;

#[test]
fn a_grid_workers_day_through_the_screens() {
    let relay = TestRelay::start(&["wang", "zheng"]);
    let dir = tempfile::tempdir().unwrap();
    let mut wang = relay.phone(dir.path(), "wang");
    let mut zheng = relay.phone(dir.path(), "zheng");
    fixtures::sync(&mut wang);
    let t = today_screen(&wang, "wang", Lang::Zh, today()).unwrap();
    assert_eq!(t.total(), 0, "nothing yet: {t:?}");
    assert!(t.sync_line.starts_with("上次同步"), "{}", t.sync_line);

    let mut profile = fixtures::restaurant_profile();
    profile.has_basement = true;
    let venue = wang
        .add_venue(
            "wang",
            NewVenue {
                name: "老王小吃".into(),
                address: "吕巷镇和平村8号".into(),
                grid_id: "heping-1".into(),
                profile,
                ..Default::default()
            },
        )
        .unwrap()
        .id;
    let t = today_screen(&wang, "wang", Lang::Zh, today()).unwrap();
    let coverage = t
        .sections
        .iter()
        .find(|s| s.kind == TodayKind::NotInspectedThisMonth)
        .unwrap();
    assert_eq!(coverage.count, 1);
    let file = venues::venue_file(&wang, "wang", &venue, Lang::Zh).unwrap();
    let applies = |id: &str| {
        file.checklists
            .iter()
            .find(|c| c.template_id == id)
            .unwrap()
            .applies
    };
    assert!(applies("lx.gas") && applies("lx.ebike") && applies("lx.lifeline"));
    assert!(!applies("lx.selfbuilt"));

    // The gas walk: typed answers judged at once.
    let insp = wang
        .start_inspection("wang", &venue, "lx.gas", None)
        .unwrap()
        .id;
    let w = answer_field(
        &mut wang,
        "wang",
        &insp,
        "gas.hose_length",
        "length",
        Input::Number(2.4),
        Lang::Zh,
    )
    .unwrap();
    let item = |w: &gridsafe_core::field::Walk, id: &str| {
        w.items.iter().find(|i| i.id == id).unwrap().clone()
    };
    assert_eq!(item(&w, "gas.hose_length").state, ItemState::NeedsPhoto);
    let w = answer_field(
        &mut wang,
        "wang",
        &insp,
        "gas.lpg_underground",
        "yn",
        Input::Yes,
        Lang::Zh,
    )
    .unwrap();
    assert_eq!(item(&w, "gas.lpg_underground").state, ItemState::NeedsPhoto);
    let pressure = item(&w, "gas.pipeline_encroachment")
        .fields
        .into_iter()
        .find(|f| f.key == "pressure")
        .unwrap();
    let FieldInput::Choice { options } = pressure.input else {
        panic!("a choice: {pressure:?}")
    };
    let w = answer_field(
        &mut wang,
        "wang",
        &insp,
        "gas.pipeline_encroachment",
        "pressure",
        Input::Choice(options[0].0.clone()),
        Lang::Zh,
    )
    .unwrap();
    assert_eq!(w.answered, 2, "the choice alone does not answer its item");
    // Bad input: an unknown option, a count as text, an unknown item; nothing changes.
    for (item_id, key, input) in [
        (
            "gas.pipeline_encroachment",
            "pressure",
            Input::Choice("no_such".into()),
        ),
        ("gas.cylinder_count", "in_use_5", Input::Text("三".into())),
        ("gas.nothing", "yn", Input::Yes),
    ] {
        assert!(answer_field(&mut wang, "wang", &insp, item_id, key, input, Lang::Zh).is_err());
    }
    assert_eq!(walk(&wang, &insp, Lang::Zh).unwrap().answered, 2);

    // The rest from the answers file, photos where the walk asks, and the findings.
    let rest = fixtures::answers(fixtures::GAS_ANSWERS, &[]);
    wang.answer("wang", &insp, &rest).unwrap();
    for i in walk(&wang, &insp, Lang::Zh)
        .unwrap()
        .items
        .iter()
        .filter(|i| i.state == ItemState::NeedsPhoto)
    {
        let photo = NewPhoto {
            bytes: fixtures::PHOTO_MEASURE.to_vec(),
            item_id: Some(i.id.clone()),
            role: "before".into(),
            ..Default::default()
        };
        wang.attach_photo("wang", &insp, photo).unwrap();
    }
    assert!(walk(&wang, &insp, Lang::Zh).unwrap().can_finish());
    let f = findings(&wang, &insp, Lang::Zh, today()).unwrap();
    let major = f
        .iter()
        .find(|x| x.item_id == "gas.lpg_underground")
        .unwrap();
    assert!(major.major_candidate && !major.on_spot_allowed);
    assert!(
        major.departments.contains("规建办"),
        "{}",
        major.departments
    );
    let modes = [("gas.hose_length".to_owned(), FixMode::OnSpot)].into();
    let report = wang.finish_inspection_with("wang", &insp, &modes).unwrap();
    let id_of = |item: &str| {
        report
            .hazards
            .iter()
            .find(|h| h.item_id == item)
            .unwrap()
            .id
            .clone()
    };
    let (major_id, hose_id) = (id_of("gas.lpg_underground"), id_of("gas.hose_length"));
    let screen = hazard_screen(&wang, "wang", &major_id, Lang::Zh, today()).unwrap();
    assert!(
        screen
            .actions
            .iter()
            .all(|a| !matches!(a.kind, EventKind::Close | EventKind::Rectify)),
        "{:?}",
        screen.actions
    );
    // 即改 in the visit with its after photo.
    let screen = hazard_screen(&wang, "wang", &hose_id, Lang::Zh, today()).unwrap();
    assert!(screen.actions.iter().any(|a| a.kind == EventKind::Rectify));
    let after = NewPhoto {
        bytes: fixtures::PHOTO_AFTER.to_vec(),
        item_id: Some("gas.hose_length".into()),
        role: "after".into(),
        ..Default::default()
    };
    wang.transition(
        "wang",
        &hose_id,
        Action {
            photo: Some(after),
            ..Action::new(EventKind::Rectify)
        },
    )
    .unwrap();
    assert_eq!(
        hazard_screen(&wang, "wang", &hose_id, Lang::Zh, today())
            .unwrap()
            .state,
        "待审核销号"
    );

    // Sync; 规建办 closes the fixed hose; the worker's next sync brings it to the screens.
    fixtures::sync(&mut wang);
    fixtures::sync(&mut zheng);
    zheng
        .transition("zheng", &hose_id, Action::new(EventKind::Close))
        .unwrap();
    fixtures::sync(&mut zheng);
    fixtures::sync(&mut wang);
    let screen = hazard_screen(&wang, "wang", &hose_id, Lang::Zh, today()).unwrap();
    assert_eq!(screen.state, "已销号");
    assert!(
        screen
            .history
            .iter()
            .any(|e| e.what == "审核销号" && e.who == "郑红")
    );
    assert!(screen.actions.is_empty());
    let t = today_screen(&wang, "wang", Lang::Zh, today()).unwrap();
    assert_eq!((t.pending_records, t.pending_photos), (0, 0));
    let coverage = t
        .sections
        .iter()
        .find(|s| s.kind == TodayKind::NotInspectedThisMonth)
        .unwrap();
    assert_eq!(coverage.count, 0, "inspected this month");

    // The notice for what is still open, numbered from the phone's block.
    let notice = wang.notice("wang", &venue).unwrap();
    assert!(!notice.number.is_empty());
    assert!(notice.hazards.iter().any(|x| x.id == major_id));
    assert!(
        notice.hazards.iter().all(|x| x.id != hose_id),
        "closed, not on it"
    );
}

/// A 12345 / 随申拍 ticket on Today opens its screen: what was reported, the grid's venues nearest
/// its address, the checklist items of its kind and the usual reasons; a verdict with something
/// missing or not offered is refused in words and saves nothing; 属实 registers the hazard the
/// screen then opens, 不属实 keeps the reason; neither can be recorded twice.
#[test]
fn a_ticket_on_today_is_verified_on_its_screen() {
    let relay = TestRelay::start(&["wang"]);
    let dir = tempfile::tempdir().unwrap();
    let mut wang = relay.phone(dir.path(), "wang");
    let mut add = |name: &str, address: &str| {
        wang.add_venue(
            "wang",
            NewVenue {
                name: name.into(),
                address: address.into(),
                grid_id: "heping-1".into(),
                profile: fixtures::restaurant_profile(),
                ..Default::default()
            },
        )
        .unwrap()
        .id
    };
    let far = add("和平理发店", "吕巷镇和平村20号");
    let near = add("老王小吃", "吕巷镇和平村8号");
    add("夹漏杂货", "廊下镇夹漏村3号");
    fixtures::sync(&mut wang);
    let csv = "工单号,时间,地址,描述,类别,网格,渠道\n\
               T-1,2026-11-20 09:30,吕巷镇和平村8号 小吃店,后厨液化气瓶无报警器,城镇燃气,heping-1,12345\n\
               T-2,2026-11-20 10:00,吕巷镇和平村3号,楼道堆放杂物,生命通道,heping-1,随申拍\n";
    let tickets = gridsafe_server::intake::parse_csv(csv.as_bytes()).unwrap();
    relay.inspect(|st| {
        let office = st.directory().unwrap().user("office").unwrap().clone();
        st.import_tickets(&office, &tickets).unwrap()
    });
    fixtures::sync(&mut wang);

    let t = today_screen(&wang, "wang", Lang::Zh, today()).unwrap();
    let section = t
        .sections
        .iter()
        .find(|s| s.kind == TodayKind::TicketsToVerify)
        .unwrap();
    assert_eq!(section.count, 2);
    let ids: Vec<String> = section
        .rows
        .iter()
        .map(|r| match &r.opens {
            Opens::Ticket(id) => id.clone(),
            other => panic!("a ticket row opens {other:?}"),
        })
        .collect();
    let (gas, lane) = (&ids[0], &ids[1]);

    let screen = ticket::ticket_screen(&wang, "wang", gas, Lang::Zh).unwrap();
    assert_eq!(screen.title, "12345 T-1");
    assert_eq!(screen.received, "收到 2026-11-20 09:30");
    assert_eq!((screen.status.as_str(), screen.to_verify), ("待核查", true));
    assert_eq!(screen.domain, "城镇燃气");
    assert_eq!(screen.description, "后厨液化气瓶无报警器");
    assert!(
        screen.items.iter().all(|i| i.id.starts_with("gas.")),
        "{:?}",
        screen.items
    );
    assert!(screen.items.iter().any(|i| i.id == "gas.alarm_installed"));
    assert!(
        screen
            .items
            .iter()
            .all(|i| !i.question.is_empty() && !i.question.contains("gas."))
    );
    assert_eq!(
        screen
            .venues
            .iter()
            .map(|v| v.id.as_str())
            .collect::<Vec<_>>(),
        [near.as_str(), far.as_str()],
        "nearest address first; another village's venue is not offered"
    );
    assert!(screen.reasons.contains(&"查无此事".to_owned()));

    // Refused in words, and nothing saved.
    let refused = |wang: &mut gridsafe_core::Store, v: Verdict, lang| {
        ticket::verify(wang, "wang", gas, v, lang)
            .unwrap_err()
            .to_string()
    };
    let e = refused(
        &mut wang,
        Verdict {
            substantiated: true,
            ..Default::default()
        },
        Lang::Zh,
    );
    assert!(e.contains("请选择隐患所在的场所"), "{e}");
    let e = refused(
        &mut wang,
        Verdict {
            substantiated: true,
            venue_id: Some(near.clone()),
            item_id: Some("ebike.common_area_charging".into()),
            ..Default::default()
        },
        Lang::En,
    );
    assert!(
        e.contains("not of this ticket's kind") && !e.contains("ebike."),
        "{e}"
    );
    let e = refused(
        &mut wang,
        Verdict {
            reason: "  ".into(),
            ..Default::default()
        },
        Lang::Zh,
    );
    assert!(e.contains("不属实的原因"), "{e}");
    assert!(
        ticket::ticket_screen(&wang, "wang", gas, Lang::Zh)
            .unwrap()
            .to_verify
    );

    // 属实 at the venue, matched to the alarm item, with a photo: the hazard the screen opens.
    let hazard = ticket::verify(
        &mut wang,
        "wang",
        gas,
        Verdict {
            substantiated: true,
            venue_id: Some(near.clone()),
            item_id: Some("gas.alarm_installed".into()),
            finding: "后厨两瓶液化气，无燃气报警器".into(),
            photo: Some(NewPhoto {
                bytes: fixtures::PHOTO_BEFORE.to_vec(),
                role: "before".into(),
                ..Default::default()
            }),
            ..Default::default()
        },
        Lang::Zh,
    )
    .unwrap()
    .expect("a hazard");
    let screen = ticket::ticket_screen(&wang, "wang", gas, Lang::Zh).unwrap();
    assert_eq!(screen.status, "属实，已登记隐患");
    let verified = screen.verified.clone().unwrap();
    assert!(
        verified.starts_with("王建国 ") && verified.ends_with(" 核查"),
        "{verified}"
    );
    assert!(!verified.contains('T'), "no ISO time: {verified}");
    assert_eq!(screen.hazard_id.as_deref(), Some(hazard.as_str()));
    assert!(!screen.to_verify && screen.items.is_empty() && screen.venues.is_empty());
    let h = hazard_screen(&wang, "wang", &hazard, Lang::Zh, today()).unwrap();
    assert_eq!(
        (h.venue.as_str(), h.finding.as_str()),
        ("老王小吃", "后厨两瓶液化气，无燃气报警器")
    );
    let e = refused(
        &mut wang,
        Verdict {
            reason: "x".into(),
            ..Default::default()
        },
        Lang::Zh,
    );
    assert!(e.contains("已核查过"), "{e}");

    // 不属实 with the reason picked from the screen; English words for the same ticket.
    ticket::verify(
        &mut wang,
        "wang",
        lane,
        Verdict {
            reason: "查无此事".into(),
            ..Default::default()
        },
        Lang::Zh,
    )
    .unwrap();
    let screen = ticket::ticket_screen(&wang, "wang", lane, Lang::En).unwrap();
    assert_eq!(screen.status, "Not substantiated");
    assert_eq!(screen.reason.as_deref(), Some("查无此事"));
    assert_eq!(screen.received, "Received 2026-11-20 10:00");
    assert_eq!(
        screen.title, "Suishenpai T-2",
        "the channel in the screen's language"
    );
    let t = today_screen(&wang, "wang", Lang::Zh, today()).unwrap();
    let section = t
        .sections
        .iter()
        .find(|s| s.kind == TodayKind::TicketsToVerify)
        .unwrap();
    assert_eq!(section.count, 0, "both verified");
    fixtures::sync(&mut wang);
    let on_relay = relay.inspect(|st| st.tasks(10).unwrap());
    assert!(
        on_relay.iter().all(|t| t.status != "to_verify"),
        "{on_relay:?}"
    );
}
