//! Checklists of December 2026 (issue #28), each finding of the audit with the rule that now
//! answers it: partial answers fail closed, questions a grid worker can answer, a profile that
//! cannot hide majors, severity as the reference words it, printable citations, the 2025
//! editions, one question per item with a finding text.

use gridsafe_core::citations;
use gridsafe_core::eval::{Answer, Outcome, Proposal, evaluate_item, parse_answer, propose};
use gridsafe_core::profile::VenueProfile;
use gridsafe_core::template::{Item, Level, Template, bundled_sources, load_bundle};
use serde_json::{Value, json};

const V1: &str = "2026.11-a";
const V2: &str = "2026.12-a";

fn templates() -> Vec<Template> {
    load_bundle(&bundled_sources(), &|_, _| None).unwrap()
}

fn item<'a>(ts: &'a [Template], version: &str, id: &str) -> &'a Item {
    ts.iter()
        .filter(|t| t.version == version)
        .flat_map(|t| t.items.iter())
        .find(|i| i.id == id)
        .unwrap_or_else(|| panic!("{id}@{version}"))
}

fn shop() -> VenueProfile {
    VenueProfile {
        venue_type: vec!["street_shop".into()],
        floors_above_ground: 2,
        max_floor_area_m2: 120.0,
        building_height_m: 7.0,
        residents_count: Some(2),
        gas_supply: "lpg".into(),
        ..Default::default()
    }
}

fn eval(it: &Item, p: &VenueProfile, v: Value) -> (Outcome, Option<Proposal>, String) {
    let a: Answer = parse_answer(it, &v).unwrap();
    let r = evaluate_item(it, p, Some(&a));
    let prop = propose(it, p, &a, &r);
    let text = r
        .findings
        .iter()
        .map(|f| f.zh.clone())
        .collect::<Vec<_>>()
        .join("；");
    (r.outcome, prop, text)
}

#[test]
fn partial_answers_fail_closed_in_every_version() {
    let ts = templates();
    let p = shop();
    // The audit's three partial answers, on the checklists inspections already pinned.
    for (id, v, missing) in [
        (
            "lifeline.exit_count",
            json!({"actual": 1}),
            "应设安全出口数",
        ),
        (
            "lifeline.exit_total_width",
            json!({"width": 3.0}),
            "应有总净宽",
        ),
        ("gas.cylinder_count", json!({"kg15": 10}), "5 kg"),
    ] {
        let (outcome, _, text) = eval(item(&ts, V1, id), &p, v);
        assert_eq!(outcome, Outcome::Unanswered, "{id}");
        assert!(text.contains(missing), "{id}: {text}");
    }
    // December's cylinder count: everything in use and spare, apart.
    let (outcome, _, text) = eval(
        item(&ts, V2, "gas.cylinder_count"),
        &p,
        json!({"spare_15": 10}),
    );
    assert_eq!(outcome, Outcome::Unanswered);
    assert!(text.contains("在用5公斤瓶"), "{text}");
}

#[test]
fn exits_are_counted_and_judged_by_the_fixed_rule_or_the_departments_figures() {
    let ts = templates();
    let count = item(&ts, V2, "lifeline.exit_count");
    assert!(
        count.fields.iter().all(|f| f.key != "required"),
        "no figure the worker must invent"
    );
    let mut p = shop();
    assert_eq!(eval(count, &p, json!(1)).0, Outcome::Pass);
    p.max_floor_area_m2 = 250.0;
    let (outcome, prop, text) = eval(count, &p, json!(1));
    assert_eq!(
        outcome,
        Outcome::Fail,
        "六大类四: a floor over 200 m² needs two"
    );
    assert_eq!(text, "安全出口仅1个，少于应设数量");
    // A small shop is a combined element (MAJ-C), not a major candidate (gb35181-2025.md).
    let prop = prop.unwrap();
    assert_eq!(
        (prop.severity, prop.combined_group.as_deref()),
        (Level::General, Some("7.3"))
    );
    p.venue_type = vec!["entertainment".into()];
    assert_eq!(
        eval(count, &p, json!(1)).1.unwrap().severity,
        Level::MajorCandidate
    );
    // The department's figure, where it gave one.
    let mut p = shop();
    p.dept_required_exits = Some(3);
    assert_eq!(eval(count, &p, json!(2)).0, Outcome::Fail);
    // Widths: recorded, judged only against the department's figure.
    let width = item(&ts, V2, "lifeline.exit_total_width");
    let mut p = shop();
    assert_eq!(eval(width, &p, json!({"width": 1.0})).0, Outcome::Pass);
    p.dept_required_exit_width_m = Some(3.0);
    assert_eq!(eval(width, &p, json!({"width": 2.5})).0, Outcome::Pass);
    let (outcome, _, text) = eval(width, &p, json!({"width": 2.3}));
    assert_eq!(outcome, Outcome::Fail);
    assert!(text.contains("2.3米"), "{text}");
}

#[test]
fn the_profile_cannot_hide_majors() {
    let ts = templates();
    // Sleeping on site not known: the residence items are asked, not skipped.
    let mut p = shop();
    p.residents_count = None;
    for id in ["selfbuilt.hazmat_with_residence", "mixed.hazmat_dormitory"] {
        for v in [V1, V2] {
            let r = evaluate_item(item(&ts, v, id), &p, None);
            assert_eq!(r.outcome, Outcome::Unanswered, "{id}@{v}");
        }
    }
    // Piped gas with LPG cylinders as well: the LPG items apply.
    let mut p = shop();
    p.gas_supply = "piped_ng".into();
    p.gas_supplies = vec!["piped_ng".into(), "lpg".into()];
    let r = evaluate_item(item(&ts, V2, "gas.lpg_underground"), &p, None);
    assert_eq!(r.outcome, Outcome::Unanswered);
    // A restaurant is a crowded place: hazardous goods there are a major candidate.
    let mut p = shop();
    p.venue_type = vec!["small_restaurant".into()];
    p.is_crowded_place = false;
    let prop = eval(item(&ts, V2, "selfbuilt.hazmat_storage"), &p, json!("yes")).1;
    assert_eq!(prop.unwrap().severity, Level::MajorCandidate);
}

#[test]
fn severity_follows_the_reference() {
    let ts = templates();
    let crowded = VenueProfile {
        venue_type: vec!["small_restaurant".into()],
        ..shop()
    };
    // Sandwich panels: major only round a residence in a crowded place, core below class A.
    let panel = item(&ts, V2, "selfbuilt.sandwich_panel");
    assert_eq!(
        eval(panel, &crowded, json!({"yn": "yes"})).0,
        Outcome::Unanswered,
        "how serious depends on what it encloses: asked"
    );
    let sev = |p: &VenueProfile, v: Value| eval(panel, p, v).1.unwrap().severity;
    assert_eq!(
        sev(
            &crowded,
            json!({"yn": "yes", "encloses_residence": "yes", "core_class": "below_a"})
        ),
        Level::MajorCandidate
    );
    assert_eq!(
        sev(
            &crowded,
            json!({"yn": "yes", "encloses_residence": "yes", "core_class": "a"})
        ),
        Level::General
    );
    assert_eq!(
        sev(
            &crowded,
            json!({"yn": "yes", "encloses_residence": "no", "core_class": "below_a"})
        ),
        Level::General
    );
    let workshop = VenueProfile {
        venue_type: vec!["small_workshop".into()],
        ..shop()
    };
    assert_eq!(
        sev(
            &workshop,
            json!({"yn": "yes", "encloses_residence": "yes", "core_class": "below_a"})
        ),
        Level::General
    );
    // Fire-separation gap: major where a hazmat site is under 75 % of the department's distance.
    let gap = item(&ts, V2, "lifeline.fire_separation_occupied");
    let mut p = shop();
    p.dept_hazmat_gap_m = Some(10.0);
    let sev = |v: Value| eval(gap, &p, v).1.unwrap().severity;
    assert_eq!(
        sev(json!({"yn": "yes", "hazmat_site": "yes", "gap_m": 7.0})),
        Level::MajorCandidate
    );
    assert_eq!(
        sev(json!({"yn": "yes", "hazmat_site": "yes", "gap_m": 8.0})),
        Level::General
    );
    assert_eq!(
        sev(json!({"yn": "yes", "hazmat_site": "no", "gap_m": 1.0})),
        Level::General
    );
    // Dormitory with hazardous goods: major if flammable or explosive; the order to move
    // people out at once either way.
    let dorm = item(&ts, V2, "mixed.hazmat_dormitory");
    let prop = eval(dorm, &shop(), json!({"yn": "yes", "flammable": "yes"}))
        .1
        .unwrap();
    assert_eq!(prop.severity, Level::MajorCandidate);
    assert!(prop.order.unwrap().zh.contains("立即"));
    let prop = eval(dorm, &shop(), json!({"yn": "yes", "flammable": "no"}))
        .1
        .unwrap();
    assert_eq!(prop.severity, Level::General);
    // The supplier cases: general at the venue, a major-candidate referral to 规建办.
    for id in ["gas.supplier_safety_check", "gas.cylinder_origin"] {
        let prop = eval(item(&ts, V2, id), &shop(), json!("no")).1.unwrap();
        assert_eq!(prop.severity, Level::General, "{id}");
        let r = prop.referral.expect("a referral");
        assert_eq!((r.dept.as_str(), r.level), ("gjb", Level::MajorCandidate));
    }
    // Escape equipment: one device per sleeping floor, smoke hoods not counted.
    let esc = item(&ts, V2, "selfbuilt.escape_equipment");
    let one = json!({"sleeping_floors": 3, "ladders": 1, "ropes": 1, "descenders": 0, "hoods": 5});
    let (outcome, _, text) = eval(esc, &shop(), one);
    assert_eq!(outcome, Outcome::Fail);
    assert_eq!(text, "住人楼层3层，逃生器材仅2件，少于每层1件");
    let enough =
        json!({"sleeping_floors": 3, "ladders": 1, "ropes": 1, "descenders": 1, "hoods": 0});
    assert_eq!(eval(esc, &shop(), enough).0, Outcome::Pass);
    // LPG: in use and spare count, empties do not; over 100 kg asks about a cylinder room.
    let cyl = item(&ts, V2, "gas.cylinder_count");
    let base = json!({"in_use_5": 0, "in_use_15": 1, "in_use_50": 0, "spare_5": 0, "spare_15": 6,
                      "spare_50": 0, "empty": 9});
    let (outcome, _, text) = eval(cyl, &shop(), base.clone());
    assert_eq!(
        outcome,
        Outcome::Unanswered,
        "105 kg: is there a cylinder room?"
    );
    assert!(text.contains("专用气瓶间"), "{text}");
    let mut no_room = base.clone();
    no_room["cylinder_room"] = json!("no");
    let (outcome, _, text) = eval(cyl, &shop(), no_room);
    assert_eq!(outcome, Outcome::Fail);
    assert!(text.starts_with("现场存放液化石油气105千克"), "{text}");
    let mut room = base;
    room["cylinder_room"] = json!("yes");
    assert_eq!(eval(cyl, &shop(), room).0, Outcome::Pass);
    let mut light = json!({"in_use_5": 0, "in_use_15": 1, "in_use_50": 0, "spare_5": 0,
                           "spare_15": 1, "spare_50": 0, "empty": 30});
    assert_eq!(
        eval(cyl, &shop(), light.take()).0,
        Outcome::Pass,
        "thirty empties are not gas"
    );
}

#[test]
fn every_rendered_citation_is_printable_in_every_version() {
    let ts = templates();
    let mut seen = 0;
    for t in &ts {
        for i in &t.items {
            for c in citations::for_item(&t.template_id, &t.version, &i.id) {
                seen += 1;
                assert!(
                    citations::is_printable(&c.text),
                    "{} {}: {}",
                    t.key(),
                    i.id,
                    c.text
                );
            }
        }
    }
    assert!(seen > 300, "{seen} citations rendered");
    // GB 35181-2025 is cited by name only: its clause numbers could not be read.
    let c = citations::for_item("lx.lifeline", V2, "lifeline.exit_count");
    assert!(
        c.iter()
            .any(|c| c.text == "《重大火灾隐患判定规则》（GB 35181-2025）"),
        "{c:?}"
    );
    // The cut-off basis of grouprent.subdivision prints as the regulation it is.
    let c = citations::for_item("lx.mixed", V1, "grouprent.subdivision");
    assert_eq!(c[0].text, "《上海市居住房屋租赁管理办法》第十条");
}

#[test]
fn december_checklists_cite_the_2025_editions_and_old_inspections_keep_theirs() {
    let ts = templates();
    for t in &ts {
        let gb = t.basis_edition.get("GB35181").map(String::as_str);
        let gas = t.basis_edition.get("sh_gas_reg").map(String::as_str);
        // December's, and lx.gas's 2026.12-b (December's with one question's condition).
        if t.version.starts_with("2026.12") {
            assert_eq!(
                (gb, gas),
                (Some("2025"), Some("上海市燃气条例(2025)")),
                "{}",
                t.key()
            );
            for i in &t.items {
                assert!(
                    i.refs
                        .iter()
                        .all(|r| !r.cite.contains("GB 35181-2017") && !r.cite.starts_with("原")),
                    "{}: {:?}",
                    i.id,
                    i.refs
                );
            }
        } else {
            assert_eq!(
                gb,
                Some("2017"),
                "{} keeps what its inspections answered",
                t.key()
            );
        }
    }
}

#[test]
fn one_question_per_item_and_a_finding_for_every_item() {
    let ts = templates();
    for t in ts.iter().filter(|t| t.version == V2) {
        for i in &t.items {
            assert!(i.finding_zh.is_some(), "{}: no finding text", i.id);
            assert!(!i.q_zh.starts_with("上述"), "{}: {}", i.id, i.q_zh);
        }
    }
    // The five questions that joined a positive and a negative now ask one thing each.
    for id in [
        "selfbuilt.wiring",
        "selfbuilt.hot_work_smoking",
        "selfbuilt.hazmat_storage",
        "ebike.old_batteries",
        "lifeline.exit_door_type",
    ] {
        let q = &item(&ts, V2, id).q_zh;
        assert_eq!(q.matches('？').count(), 1, "{id}: {q}");
    }
    // Findings read as findings, not as "是否符合：否".
    let (_, prop, text) = eval(item(&ts, V2, "gas.hose_length"), &shop(), json!(2.4));
    assert_eq!(text, "燃气软管长度2.4米，超过2米");
    assert_eq!(
        prop.unwrap().findings[0].en,
        "Gas hose 2.4 m long, more than 2 m"
    );
    let (_, _, text) = eval(item(&ts, V2, "gas.alarm_installed"), &shop(), json!("no"));
    assert_eq!(text, "用气场所未安装可燃气体报警器");
    let (_, _, text) = eval(item(&ts, V1, "gas.alarm_installed"), &shop(), json!("no"));
    assert_eq!(
        text, "是否符合：否",
        "November's wording stays with November's inspections"
    );
}
