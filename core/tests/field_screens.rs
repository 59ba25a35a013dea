//! The field app's screens as data (issue #33): Today and the inspection walk, built from a phone
//! store as a shell would ask for them, in both languages; typed answers saved at once and judged
//! at once; bad input refused with the reason and nothing saved; a walk resumed after the app was
//! killed.

use gridsafe_core::Store;
use gridsafe_core::clock::today;
use gridsafe_core::field::hazard::{Need, findings, hazard_screen};
use gridsafe_core::field::today::today as today_screen;
use gridsafe_core::field::venues::{VenueFilter, venue_file, venue_list};
use gridsafe_core::field::walk::{Input, answer_field, mark_not_applicable, walk};
use gridsafe_core::field::{FieldInput, ItemState, Opens, TodayKind};
use gridsafe_core::labels::Lang;
use gridsafe_core::profile::VenueProfile;
use gridsafe_core::store::NewVenue;

const DIRECTORY: &[u8] = include_bytes!("../../examples/lvxiang-directory.json");

fn phone(dir: &std::path::Path) -> Store {
    let mut s = Store::create(dir.join("wang.sqlite")).unwrap();
    s.import_directory(DIRECTORY).unwrap();
    s
}

fn lpg_restaurant() -> VenueProfile {
    VenueProfile {
        venue_type: vec!["small_restaurant".into()],
        floors_above_ground: 1,
        max_floor_area_m2: 60.0,
        building_height_m: 4.0,
        is_crowded_place: true,
        gas_supply: "lpg".into(),
        ..Default::default()
    }
}

fn add_venue(s: &mut Store, name: &str) -> String {
    s.add_venue(
        "wang",
        NewVenue {
            name: name.into(),
            address: format!("吕巷镇和平路{}号", name.len()),
            grid_id: "heping-1".into(),
            profile: lpg_restaurant(),
            ..Default::default()
        },
    )
    .unwrap()
    .id
}

#[test]
fn today_lists_what_waits_in_my_grids_with_counts_in_words() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = phone(dir.path());
    let a = add_venue(&mut s, "老王小吃");
    add_venue(&mut s, "和平面馆");
    let t = today_screen(&s, "wang", Lang::Zh, today()).unwrap();
    let titles: Vec<&str> = t.sections.iter().map(|x| x.title.as_str()).collect();
    assert_eq!(
        titles,
        ["已逾期隐患", "到期复查", "待核查工单", "本月未检查场所"]
    );
    let coverage = &t.sections[3];
    assert_eq!(coverage.kind, TodayKind::NotInspectedThisMonth);
    assert_eq!(coverage.count, 2);
    assert!(
        coverage
            .rows
            .iter()
            .any(|r| r.opens == Opens::Venue(a.clone()))
    );
    assert!(coverage.rows.iter().all(|r| r.detail.contains("从未检查")));
    assert_eq!(t.sync_line, "尚未同步");
    let sync = gridsafe_core::field::sync::sync_screen(&s, Lang::Zh).unwrap();
    assert_eq!(sync.last_sync, "尚未同步");
    assert!(sync.pending.ends_with("张照片待同步"), "{}", sync.pending);
    assert!(sync.refused.is_empty());
    assert!(t.pending_records >= 2, "two venues wait to sync");

    // An inspection with a failed item registers a hazard: its deadline makes it a re-check
    // due or, once passed, overdue — computed when the screen is built.
    let i = s.start_inspection("wang", &a, "lx.ebike", None).unwrap();
    let answers = gridsafe_core::eval::answers_from_json(include_bytes!(
        "../../examples/answers/ebike-shop.json"
    ))
    .unwrap();
    s.answer("wang", &i.id, &answers).unwrap();
    let photo = gridsafe_core::store::NewPhoto {
        bytes: include_bytes!("../../examples/photos/corridor-before.jpg").to_vec(),
        item_id: Some("ebike.flying_lead".into()),
        role: "before".into(),
        ..Default::default()
    };
    s.attach_photo("wang", &i.id, photo).unwrap();
    let report = s.finish_inspection("wang", &i.id).unwrap();
    let h = &report.hazards[0];
    let due = gridsafe_core::clock::parse_date(h.due_date.as_deref().unwrap()).unwrap();

    let on = |day| today_screen(&s, "wang", Lang::Zh, day).unwrap();
    let before = on(due - time::Duration::days(1));
    assert_eq!(before.sections[1].count, report.hazards.len() as u64);
    let row = &before.sections[1].rows[0];
    assert!(row.detail.contains("明天到期"), "{}", row.detail);
    assert_eq!(before.sections[0].count, 0);
    let after = on(due + time::Duration::days(3));
    assert_eq!(after.sections[0].count, report.hazards.len() as u64);
    assert!(
        after.sections[0].rows[0].detail.contains("已逾期 3 天"),
        "{}",
        after.sections[0].rows[0].detail
    );
    assert!(after.sections[0].rows[0].title.starts_with("老王小吃 · "));
    // The venue inspected this month leaves the coverage list.
    assert_eq!(on(today()).sections[3].count, 1);

    // English, and someone else's grids show nothing of wang's.
    let en = today_screen(&s, "wang", Lang::En, due + time::Duration::days(3)).unwrap();
    assert_eq!(en.sections[0].title, "Overdue hazards");
    assert!(en.sections[0].rows[0].detail.contains("overdue by 3 days"));
    let li = today_screen(&s, "li", Lang::Zh, today()).unwrap();
    assert_eq!(li.total(), 0);
    assert!(today_screen(&s, "nobody", Lang::Zh, today()).is_err());
}

#[test]
fn a_gas_walk_is_typed_judged_at_once_and_resumes_after_the_app_is_killed() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = phone(dir.path());
    let v = add_venue(&mut s, "老王小吃");
    let i = s.start_inspection("wang", &v, "lx.gas", None).unwrap().id;
    let w = walk(&s, &i, Lang::Zh).unwrap();
    assert_eq!(w.venue_name, "老王小吃");
    assert_eq!(w.answered, 0);
    assert_eq!(w.total as usize, w.items.len());
    assert_eq!(
        w.blockers.len(),
        w.items.len(),
        "every item still to answer"
    );
    assert!(!w.can_finish());
    assert_eq!(w.next_item().unwrap().number, 1);

    // A measurement: typed, with its unit and its rule in words.
    let hose = w.items.iter().find(|x| x.id == "gas.hose_length").unwrap();
    assert_eq!(
        hose.fields[0].input,
        FieldInput::Number { unit: "米".into() }
    );
    assert_eq!(hose.fields[0].rule.as_deref(), Some("≤ 2 米"));
    assert!(hose.photo.as_deref().unwrap().contains("量具"));
    let yn = w
        .items
        .iter()
        .find(|x| x.id == "gas.lpg_underground")
        .unwrap();
    assert_eq!(yn.fields[0].input, FieldInput::YesNo);
    assert_eq!(yn.fields[0].rule.as_deref(), Some("应为“否”"));

    // 2.4 m fails at once and asks for its photo; the progress moves.
    let w = answer_field(
        &mut s,
        "wang",
        &i,
        "gas.hose_length",
        "length",
        Input::Number(2.4),
        Lang::Zh,
    )
    .unwrap();
    let hose = w.items.iter().find(|x| x.id == "gas.hose_length").unwrap();
    assert_eq!(hose.state, ItemState::NeedsPhoto);
    assert_eq!(hose.fields[0].answer.as_deref(), Some("2.4 米"));
    assert!(
        hose.findings.iter().any(|f| f.contains("2.4")),
        "{:?}",
        hose.findings
    );
    assert_eq!(w.answered, 1);
    let blocker = w
        .blockers
        .iter()
        .find(|b| b.item_id == "gas.hose_length")
        .unwrap();
    assert!(blocker.why.contains("照片"), "{}", blocker.why);

    // A yes/no that passes; a choice; a count among several fields.
    let w = answer_field(
        &mut s,
        "wang",
        &i,
        "gas.lpg_underground",
        "yn",
        Input::No,
        Lang::Zh,
    )
    .unwrap();
    assert_eq!(
        w.items
            .iter()
            .find(|x| x.id == "gas.lpg_underground")
            .unwrap()
            .state,
        ItemState::Pass
    );
    // The shell marks what was tapped; a figure has nothing to mark.
    let lpg = w
        .items
        .iter()
        .find(|x| x.id == "gas.lpg_underground")
        .unwrap();
    assert_eq!(lpg.fields[0].chosen, ["no"]);
    let hose = w.items.iter().find(|x| x.id == "gas.hose_length").unwrap();
    assert!(hose.fields[0].chosen.is_empty());
    let w = answer_field(
        &mut s,
        "wang",
        &i,
        "gas.cylinder_count",
        "in_use_15",
        Input::Count(1),
        Lang::Zh,
    )
    .unwrap();
    let cyl = w
        .items
        .iter()
        .find(|x| x.id == "gas.cylinder_count")
        .unwrap();
    assert_eq!(
        cyl.state,
        ItemState::Unanswered,
        "the other fields are still asked"
    );
    assert_eq!(
        cyl.fields
            .iter()
            .find(|f| f.key == "in_use_15")
            .unwrap()
            .answer
            .as_deref(),
        Some("1")
    );

    // A question that does not apply here is not asked: an LPG kitchen has no natural-gas
    // detector, so the height item asks the LPG figure alone (lx.gas 2026.12-b), and passes on it.
    let w = answer_field(
        &mut s,
        "wang",
        &i,
        "gas.alarm_height",
        "lpg_to_floor",
        Input::Number(0.2),
        Lang::Zh,
    )
    .unwrap();
    let height = w.items.iter().find(|x| x.id == "gas.alarm_height").unwrap();
    assert_eq!(height.state, ItemState::Pass, "{height:?}");
    assert_eq!(
        height
            .fields
            .iter()
            .map(|f| (f.key.as_str(), f.answer.as_deref()))
            .collect::<Vec<_>>(),
        [("lpg_to_floor", Some("0.2 米"))]
    );

    // Bad input: refused with the reason, nothing saved.
    let answered = w.answered;
    for (item, field, input) in [
        ("gas.hose_length", "length", Input::Number(-1.0)),
        ("gas.hose_length", "length", Input::Number(1e9)),
        ("gas.cylinder_count", "in_use_5", Input::Text("三个".into())),
        ("gas.hose_length", "length", Input::Yes),
        ("gas.hose_length", "length", Input::NotApplicable),
        ("gas.no_such_item", "yn", Input::Yes),
        ("gas.hose_length", "width", Input::Number(1.0)),
        ("gas.hose_length", "length", Input::Typed("两米".into())),
        ("gas.cylinder_count", "in_use_5", Input::Typed("2.5".into())),
    ] {
        let e = answer_field(&mut s, "wang", &i, item, field, input, Lang::Zh).unwrap_err();
        // In words the worker reads: the question's label and what it takes, no code.
        let words = e.to_string();
        assert!(
            !words.contains(item) && !words.contains(field) && !words.is_ascii(),
            "{words}"
        );
    }
    let e = answer_field(
        &mut s,
        "wang",
        &i,
        "gas.hose_length",
        "length",
        Input::Typed("两米".into()),
        Lang::Zh,
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "「软管长度」须填写数字（米），“两米”不是数字"
    );
    // What was typed, read by the core (full-width digits from a Chinese keyboard).
    let w = answer_field(
        &mut s,
        "wang",
        &i,
        "gas.hose_length",
        "length",
        Input::Typed(" ２．４ ".into()),
        Lang::Zh,
    )
    .unwrap();
    assert_eq!(
        w.items
            .iter()
            .find(|x| x.id == "gas.hose_length")
            .unwrap()
            .fields[0]
            .answer
            .as_deref(),
        Some("2.4 米")
    );
    // Someone else's inspection is not theirs to answer.
    assert!(
        answer_field(
            &mut s,
            "li",
            &i,
            "gas.lpg_underground",
            "yn",
            Input::Yes,
            Lang::Zh
        )
        .is_err()
    );
    assert_eq!(walk(&s, &i, Lang::Zh).unwrap().answered, answered);

    // Not applicable as a whole.
    let w = mark_not_applicable(&mut s, "wang", &i, "gas.shutoff_test_record", Lang::Zh).unwrap();
    assert_eq!(
        w.items
            .iter()
            .find(|x| x.id == "gas.shutoff_test_record")
            .unwrap()
            .state,
        ItemState::NotApplicable
    );

    // The app is killed: the walk comes back exactly where it was, in English if asked.
    let before = walk(&s, &i, Lang::Zh).unwrap();
    drop(s);
    let s = Store::open(dir.path().join("wang.sqlite")).unwrap();
    assert_eq!(walk(&s, &i, Lang::Zh).unwrap(), before);
    let en = walk(&s, &i, Lang::En).unwrap();
    let hose = en.items.iter().find(|x| x.id == "gas.hose_length").unwrap();
    assert_eq!(hose.fields[0].rule.as_deref(), Some("≤ 2 m"));
    assert_eq!(hose.fields[0].answer.as_deref(), Some("2.4 m"));
}

#[test]
fn the_venue_list_searches_my_grids_and_the_file_says_which_checklists_apply_and_why() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = phone(dir.path());
    let a = add_venue(&mut s, "老王小吃");
    add_venue(&mut s, "和平面馆");
    for n in 0..40 {
        add_venue(&mut s, &format!("店铺{n:02}"));
    }
    let list = |s: &Store, f: VenueFilter| venue_list(s, "wang", &f, Lang::Zh, today()).unwrap();
    let all = list(&s, VenueFilter::default());
    assert_eq!(all.total, 42);
    assert_eq!(all.pages, 2);
    assert_eq!(all.rows.len(), 30);
    let found = list(
        &s,
        VenueFilter {
            text: "老王".into(),
            ..Default::default()
        },
    );
    assert_eq!(found.total, 1);
    assert_eq!(found.rows[0].id, a);
    assert_eq!(found.rows[0].last_inspection, "从未检查");
    // What is typed is matched as written: a % is not a wildcard.
    assert_eq!(
        list(
            &s,
            VenueFilter {
                text: "%".into(),
                ..Default::default()
            }
        )
        .total,
        0
    );
    let by_address = list(
        &s,
        VenueFilter {
            text: "和平路".into(),
            ..Default::default()
        },
    );
    assert_eq!(by_address.total, 42);
    // A page past the end shows the last one.
    assert_eq!(
        list(
            &s,
            VenueFilter {
                page: 9,
                ..Default::default()
            }
        )
        .page,
        1
    );
    // Another grid's worker sees none of them; an unknown user is refused.
    assert_eq!(
        venue_list(&s, "li", &VenueFilter::default(), Lang::Zh, today())
            .unwrap()
            .total,
        0
    );
    assert!(venue_list(&s, "nobody", &VenueFilter::default(), Lang::Zh, today()).is_err());

    let f = venue_file(&s, "wang", &a, Lang::Zh).unwrap();
    assert_eq!(f.name, "老王小吃");
    let gas = f
        .checklists
        .iter()
        .find(|c| c.template_id == "lx.gas")
        .unwrap();
    assert!(gas.applies && gas.why == "场所使用燃气", "{gas:?}");
    let selfbuilt = f
        .checklists
        .iter()
        .find(|c| c.template_id == "lx.selfbuilt")
        .unwrap();
    assert!(!selfbuilt.applies && selfbuilt.why.contains("不是经营性自建房"));
    assert!(
        f.profile
            .iter()
            .any(|(k, v)| k == "场所类型" && v == "小餐饮"),
        "{:?}",
        f.profile
    );
    assert!(
        f.profile.iter().all(|(_, v)| !v.contains('_')),
        "no codes: {:?}",
        f.profile
    );
    assert!(f.inspections.is_empty() && f.open_hazards.is_empty());
    assert!(venue_file(&s, "li", &a, Lang::Zh).is_err(), "not li's grid");
    let en = venue_file(&s, "wang", &a, Lang::En).unwrap();
    assert!(en.checklists.iter().any(|c| c.why == "The venue uses gas"));
}

#[test]
fn an_lpg_cylinder_in_the_basement_is_a_major_candidate_for_the_planning_office_and_never_closed_on_the_phone()
 {
    let dir = tempfile::tempdir().unwrap();
    let mut s = phone(dir.path());
    let v = add_venue(&mut s, "老王小吃");
    let i = s.start_inspection("wang", &v, "lx.gas", None).unwrap().id;
    let mut answers = gridsafe_core::eval::answers_from_json(include_bytes!(
        "../../examples/answers/gas-restaurant.json"
    ))
    .unwrap();
    answers.retain(|(k, _)| k != "gas.lpg_underground");
    answers.push(("gas.lpg_underground".into(), serde_json::json!("yes")));
    s.answer("wang", &i, &answers).unwrap();
    let f = findings(&s, &i, Lang::Zh, today()).unwrap();
    let lpg = f
        .iter()
        .find(|x| x.item_id == "gas.lpg_underground")
        .unwrap();
    assert!(lpg.major_candidate, "{lpg:?}");
    assert_eq!(lpg.severity, "重大(待认定)");
    assert!(lpg.departments.contains("规建办"), "{}", lpg.departments);
    assert!(!lpg.on_spot_allowed);
    assert!(!lpg.basis.is_empty());
    assert!(
        lpg.basis.iter().all(|b| !b.contains('[')),
        "printed, not tagged: {:?}",
        lpg.basis
    );
    let hose = f.iter().find(|x| x.item_id == "gas.hose_length").unwrap();
    assert!(hose.on_spot_allowed && !hose.major_candidate);
    assert_eq!(
        hose.on_spot_deadline,
        gridsafe_core::clock::format_date(today())
    );
    assert!(hose.deadline > hose.on_spot_deadline);

    // Photos for every failed item that needs one, then finish.
    let w = walk(&s, &i, Lang::Zh).unwrap();
    for item in w.items.iter().filter(|x| x.state == ItemState::NeedsPhoto) {
        let photo = gridsafe_core::store::NewPhoto {
            bytes: include_bytes!("../../examples/photos/hose-measure.jpg").to_vec(),
            item_id: Some(item.id.clone()),
            role: "before".into(),
            ..Default::default()
        };
        s.attach_photo("wang", &i, photo).unwrap();
    }
    let w = walk(&s, &i, Lang::Zh).unwrap();
    assert!(w.can_finish(), "{:?}", w.blockers);
    let report = s.finish_inspection("wang", &i).unwrap();
    let major = report
        .hazards
        .iter()
        .find(|h| h.item_id == "gas.lpg_underground")
        .unwrap();
    let screen = hazard_screen(&s, "wang", &major.id, Lang::Zh, today()).unwrap();
    assert_eq!(screen.state, "已上账");
    assert!(screen.departments.contains("规建办"));
    let kinds: Vec<&str> = screen.actions.iter().map(|a| a.kind.as_str()).collect();
    assert!(
        !kinds.contains(&"close") && !kinds.contains(&"rectify"),
        "{kinds:?}"
    );
    let notify = screen
        .actions
        .iter()
        .find(|a| a.kind.as_str() == "notify")
        .unwrap();
    assert!(matches!(&notify.needs[0], Need::Photo { role, .. } if role == "signature"));
    assert_eq!(screen.history[0].what, "上账登记");
    assert_eq!(screen.history[0].who, "王建国");
    // A general finding may be fixed on the spot, with its after photo.
    let general = report
        .hazards
        .iter()
        .find(|h| h.item_id == "gas.hose_length")
        .unwrap();
    let screen = hazard_screen(&s, "wang", &general.id, Lang::Zh, today()).unwrap();
    let rectify = screen
        .actions
        .iter()
        .find(|a| a.kind.as_str() == "rectify")
        .unwrap();
    assert!(matches!(&rectify.needs[0], Need::Photo { role, .. } if role == "after"));
    // Out of scope and unknown ids are refused.
    assert!(hazard_screen(&s, "li", &general.id, Lang::Zh, today()).is_err());
    assert!(hazard_screen(&s, "wang", "not-an-id", Lang::Zh, today()).is_err());
}

#[test]
fn a_venue_is_added_through_its_profile_questions_each_saying_why_it_is_asked() {
    use gridsafe_core::field::venue_form::{save_venue, venue_form};
    let dir = tempfile::tempdir().unwrap();
    let mut s = phone(dir.path());
    let qs = venue_form(&s, "wang", None, Lang::Zh).unwrap();
    let q = |k: &str| qs.iter().find(|q| q.key == k).unwrap().clone();
    let basement = q("profile.has_basement");
    assert_eq!(basement.label, "有地下室");
    assert!(!basement.why.is_empty());
    let residents = q("profile.residents_count");
    assert!(!residents.required, "an unknown count may stay unanswered");
    // Read from the templates' applicability: the sleeping-quarters items.
    assert!(
        residents.why.contains("项检查是否适用"),
        "{}",
        residents.why
    );
    let FieldInput::Choice { options } = q("grid_id").input else {
        panic!()
    };
    assert_eq!(options.len(), 2, "wang's two grids: {options:?}");
    assert!(
        options.iter().all(|(_, label)| !label.contains('-')),
        "names: {options:?}"
    );
    let FieldInput::Multi { options } = q("profile.venue_type").input else {
        panic!()
    };
    assert!(
        options
            .iter()
            .any(|(k, label)| k == "small_restaurant" && label == "小餐饮")
    );
    assert!(q("profile.gas_supplies").why.contains("燃气"));

    let good = vec![
        ("name".to_owned(), Input::Text("老王小吃".into())),
        ("address".into(), Input::Text("吕巷镇和平村8号".into())),
        ("grid_id".into(), Input::Choice("heping-1".into())),
        ("responsible.name".into(), Input::Text("王老板".into())),
        (
            "responsible.phone".into(),
            Input::Text("13800000000".into()),
        ),
        (
            "profile.venue_type".into(),
            Input::Multi(vec!["small_restaurant".into()]),
        ),
        (
            "profile.gas_supplies".into(),
            Input::Multi(vec!["lpg".into()]),
        ),
        ("profile.floors_above_ground".into(), Input::Count(2)),
        ("profile.max_floor_area_m2".into(), Input::Number(80.0)),
        ("profile.building_height_m".into(), Input::Number(7.0)),
        ("profile.has_basement".into(), Input::Yes),
        ("profile.is_crowded_place".into(), Input::Yes),
    ];
    // Each wrong answer is named and nothing is saved.
    for (k, bad) in [
        ("profile.floors_above_ground", Input::Text("两层".into())),
        ("profile.venue_type", Input::Multi(vec!["casino".into()])),
        ("profile.building_height_m", Input::Number(-1.0)),
        ("grid_id", Input::Choice("jialou-1".into())),
    ] {
        let mut answers = good.clone();
        answers.retain(|(key, _)| key != k);
        answers.push((k.to_owned(), bad));
        let e = save_venue(&mut s, "wang", None, &answers, Lang::Zh).unwrap_err();
        if k != "grid_id" {
            // In words: the question as asked, never the field's key.
            let words = e.to_string();
            assert!(
                words.starts_with('「') && !words.contains(k),
                "{k}: {words}"
            );
        }
    }
    let typed = vec![(
        "profile.floors_above_ground".to_owned(),
        Input::Typed("两层".into()),
    )];
    let e = save_venue(&mut s, "wang", None, &typed, Lang::Zh).unwrap_err();
    assert!(e.to_string().contains("须填写整数，“两层”不是整数"), "{e}");
    let mut missing = good.clone();
    missing.retain(|(k, _)| k != "name");
    let e = save_venue(&mut s, "wang", None, &missing, Lang::Zh).unwrap_err();
    assert!(
        e.to_string().ends_with("必须填写") && !e.to_string().contains("name"),
        "{e}"
    );
    assert_eq!(
        venue_list(&s, "wang", &VenueFilter::default(), Lang::Zh, today())
            .unwrap()
            .total,
        0,
        "nothing saved"
    );

    let v = save_venue(&mut s, "wang", None, &good, Lang::Zh).unwrap();
    let file = venue_file(&s, "wang", &v.id, Lang::Zh).unwrap();
    assert!(
        file.checklists
            .iter()
            .any(|c| c.template_id == "lx.gas" && c.applies)
    );
    assert_eq!(file.responsible, "王老板 13800000000");
    // Editing: the form shows what is recorded; a changed answer is saved on the same venue.
    let qs = venue_form(&s, "wang", Some(&v.id), Lang::Zh).unwrap();
    let has = |k: &str| qs.iter().find(|q| q.key == k).unwrap().value.clone();
    assert_eq!(has("name").as_deref(), Some("老王小吃"));
    assert_eq!(has("profile.has_basement").as_deref(), Some("是"));
    let edited = save_venue(
        &mut s,
        "wang",
        Some(&v.id),
        &[("profile.gas_supplies".into(), Input::Multi(vec![]))],
        Lang::Zh,
    )
    .unwrap();
    assert_eq!(edited.id, v.id);
    let file = venue_file(&s, "wang", &v.id, Lang::Zh).unwrap();
    assert!(
        file.checklists
            .iter()
            .any(|c| c.template_id == "lx.gas" && !c.applies)
    );
}
