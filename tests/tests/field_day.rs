//! The grid worker's whole day through the field app's screens (issue #33), against a real relay:
//! enrol; Today; add a venue; the checklists that apply to it; a gas walk with numbers, yes/no and
//! a choice and photos; the findings (LPG in the basement: a major candidate for 规建办 the phone
//! cannot close); 即改 with before and after photos; sync; 规建办's close reaching Today and the
//! hazard screen; the notice. Each screen's data is asserted; bad input changes nothing.

use gridsafe_core::clock::today;
use gridsafe_core::field::hazard::{findings, hazard_screen};
use gridsafe_core::field::today::today as today_screen;
use gridsafe_core::field::walk::{Input, answer_field, walk};
use gridsafe_core::field::{FieldInput, ItemState, TodayKind, venues};
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
