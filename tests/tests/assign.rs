//! 指派承办人 (issue #32's bulk "assign"): a lead department's reviewer or the town office names
//! who in a lead department handles a hazard — from the ledger for several at once, or on the
//! hazard's page. The handler finds them on their to-do list and in the ledger's handler filter;
//! the page, its history and the audit name people, never ids; someone outside the hazard's lead
//! departments is refused per row; the phone's fold agrees after sync.

use gridsafe_tests::browser::{form_field, url_encode as url};
use gridsafe_tests::fixtures;
use gridsafe_tests::relay::TestRelay;

/// The ledger's row of hazard `id` (its `<tr>`), if listed.
fn row<'a>(page: &'a str, id: &str) -> Option<&'a str> {
    let at = page.find(&format!("/hazards/{id}\""))?;
    let from = page[..at].rfind("<tr")?;
    let to = at + page[at..].find("</tr>")?;
    Some(&page[from..to])
}

#[test]
fn a_reviewer_assigns_hazards_and_the_handler_finds_them_on_the_to_do_list() {
    let relay = TestRelay::start(&["wang", "sun", "zhou", "wu", "zheng", "office"]);
    let dir = tempfile::tempdir().unwrap();
    let mut wang = relay.phone(dir.path(), "wang");
    // E-bike findings: their lead departments are 城运中心 (sun, zhou) and 派出所 (wu).
    let hazards: Vec<String> = (1..=3)
        .map(|n| fixtures::flying_lead_visit(&mut wang, "wang", "heping-1", n))
        .collect();
    fixtures::sync(&mut wang);

    let mut sun = relay.signed_in("sun");
    let (_, page, _) = sun.get("/hazards?open=1");
    assert!(page.contains(r#"id="bulk-assignee""#), "{page}");
    assert!(page.contains("周丽 · "), "handlers by name and department");
    let ids: String = hazards[..2].iter().map(|h| format!("&id={h}")).collect();
    let form = |page: &str, extra: &str| {
        format!(
            "csrf={}&form={}&back={}&action=assign{extra}{ids}",
            form_field(page, "csrf"),
            form_field(page, "form"),
            url("/hazards?open=1"),
        )
    };
    // Without a handler nothing is done, and the page says what is missing.
    let (status, body, _) = sun.post("/hazards/bulk", &form(&page, ""));
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("须选择承办人") && body.contains("<header>"),
        "{body}"
    );

    // Someone outside the lead departments (郑红, 规建办) is refused on each row, in words.
    let (_, page, _) = sun.get("/hazards?open=1");
    let (status, result, _) = sun.post("/hazards/bulk", &form(&page, "&assignee=zheng"));
    assert_eq!(status, 200, "{result}");
    assert!(result.contains("已办理 0 条"), "{result}");
    let refused = row(&result, &hazards[0]).expect("its row");
    assert!(refused.contains("郑红 不在该隐患的牵头部门"), "{refused}");

    // To 周丽 of the same department: both done.
    let (_, page, _) = sun.get("/hazards?open=1");
    let (_, result, _) = sun.post("/hazards/bulk", &form(&page, "&assignee=zhou"));
    assert!(result.contains("共 2 条，已办理 2 条"), "{result}");

    // 周丽 finds them first on her to-do list, and in the ledger by handler.
    let mut zhou = relay.signed_in("zhou");
    let (_, todo, _) = zhou.get("/todo");
    assert!(todo.contains(r#"id="count-assigned">2<"#), "{todo}");
    let mine = todo
        .split(r#"<h2 id="assigned">"#)
        .nth(1)
        .expect("the list");
    let mine = mine.split("<h2").next().unwrap();
    for h in &hazards[..2] {
        assert!(mine.contains(&format!("/hazards/{h}\"")), "{mine}");
    }
    assert!(!mine.contains(&format!("/hazards/{}\"", hazards[2])));
    let (_, ledger, _) = zhou.get("/hazards?assignee=zhou&open=1");
    assert!(ledger.contains("承办：周丽"), "{ledger}");
    assert!(row(&ledger, &hazards[2]).is_none(), "only hers");

    // The hazard's page names her, its history too; 吴刚 (派出所, also a lead department)
    // takes the first one over from its page.
    let mut wu = relay.signed_in("wu");
    let (_, hp, _) = wu.get(&format!("/hazards/{}", hazards[0]));
    assert!(hp.contains(r#"<td id="assignee">周丽</td>"#), "{hp}");
    assert!(hp.contains("指派承办人"), "{hp}");
    assert!(!hp.contains(">zhou<"), "names, not ids");
    let action = |page: &str, assignee: &str| {
        format!(
            "csrf={}&form={}&action=assign&assignee={assignee}",
            form_field(page, "csrf"),
            form_field(page, "form"),
        )
    };
    // An empty choice is refused on the page, which keeps its menu.
    let (status, body, _) = wu.post(&format!("/hazards/{}/action", hazards[0]), &action(&hp, ""));
    assert_eq!(status, 409, "{body}");
    assert!(
        body.contains("须从名单中选择承办人") && body.contains("<header>"),
        "{body}"
    );
    // Corrected on the page that answered (its form is new).
    let (status, _, _) = wu.post(
        &format!("/hazards/{}/action", hazards[0]),
        &action(&body, "wu"),
    );
    assert_eq!(status, 303);
    let (_, hp, _) = wu.get(&format!("/hazards/{}?done=assign", hazards[0]));
    assert!(hp.contains(r#"<td id="assignee">吴刚</td>"#), "{hp}");
    assert!(hp.contains("已执行：指派承办人"), "{hp}");
    let (_, todo, _) = zhou.get("/todo");
    assert!(todo.contains(r#"id="count-assigned">1<"#), "{todo}");

    // An inspector cannot assign; the town office can (and is not offered a list of its own).
    let mut office = relay.signed_in("office");
    let (_, hp, _) = office.get(&format!("/hazards/{}", hazards[2]));
    assert!(hp.contains(r#"<option value="assign""#), "{hp}");
    let (status, _, _) = office.post(
        &format!("/hazards/{}/action", hazards[2]),
        &action(&hp, "sun"),
    );
    assert_eq!(status, 303);
    let (_, todo, _) = office.get("/todo");
    assert!(!todo.contains(r#"id="count-assigned""#), "{todo}");

    // The audit names the handler.
    let (_, audit, _) = office.get("/audit");
    assert!(
        audit.contains("承办人：周丽") && audit.contains("承办人：吴刚"),
        "{audit}"
    );
    assert!(!audit.contains("handler="), "{audit}");

    // The phone's fold agrees.
    fixtures::sync(&mut wang);
    let handler = |h: &str| wang.hazard(h).unwrap().status.assignee;
    assert_eq!(handler(&hazards[0]).as_deref(), Some("wu"));
    assert_eq!(handler(&hazards[1]).as_deref(), Some("zhou"));
    assert_eq!(handler(&hazards[2]).as_deref(), Some("sun"));
    let v = wang.hazard(&hazards[0]).unwrap();
    assert!(
        gridsafe_core::policy::allowed_events(
            &fixtures::directory().user("wang").unwrap().clone(),
            &v.header,
            &v.status,
            gridsafe_core::clock::today()
        )
        .iter()
        .all(|k| k.as_str() != "assign"),
        "an inspector is not offered it"
    );
}
