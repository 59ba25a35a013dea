//! The venue owner's page as a snack shop's owner meets it (issue #31): only the checklists
//! that apply to the shop, each item once, figures asked as numbers with their units and judged
//! by the item's rule; a bad upload keeps the owner on the page with the reason; a closed hazard
//! shows as 已销号 with its day and the department's remark.

use std::collections::BTreeSet;

use gridsafe_client as client;
use gridsafe_core::Store;
use gridsafe_core::lifecycle::EventKind;
use gridsafe_core::store::Action;
use gridsafe_tests::browser::{owner_get, owner_post};
use gridsafe_tests::fixtures;
use gridsafe_tests::relay::TestRelay;

const PASSWORD: &str = "correct horse";

fn phone(dir: &std::path::Path, relay: &TestRelay, user: &str) -> Store {
    let mut s = Store::create(dir.join(format!("{user}.sqlite"))).unwrap();
    s.import_directory(fixtures::DIRECTORY_JSON).unwrap();
    client::enroll(&mut s, &relay.url, user, PASSWORD, "网格手机").unwrap();
    s
}

fn post_form(url: &str, body: &str) -> (u16, String, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    let mut r = agent
        .post(url)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .send(body)
        .unwrap();
    let location = r
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (
        r.status().as_u16(),
        r.body_mut().read_to_string().unwrap_or_default(),
        location,
    )
}

#[test]
fn a_snack_shop_owner_sees_its_items_gives_figures_and_sees_the_close() {
    let relay = TestRelay::start(&["wang", "sun"]);
    let dir = tempfile::tempdir().unwrap();
    let mut wang = phone(dir.path(), &relay, "wang");
    // A snack shop (small restaurant on LPG): not a self-built house, not 三合一 or 群租.
    let hazard = fixtures::flying_lead_visit_at(&mut wang, "wang", "heping-1", "老街小吃");
    let venue = wang.hazard(&hazard).unwrap().header.venue_id;
    fixtures::serve_notice(&mut wang, "wang", &hazard);
    fixtures::sync(&mut wang);
    let url = wang.notice("wang", &venue).unwrap().owner_url.unwrap();

    let (status, page) = owner_get(&url);
    assert_eq!(status, 200);
    // Only the checklists that apply, each item once.
    let items: Vec<String> = page
        .match_indices("name=\"item\" value=\"")
        .map(|(at, m)| {
            let rest = &page[at + m.len()..];
            rest[..rest.find('"').unwrap()].to_owned()
        })
        .chain(page.match_indices("name=\"m:").map(|(at, m)| {
            let rest = &page[at + m.len()..];
            rest[..rest.find(':').unwrap()].to_owned()
        }))
        .collect();
    let domains: BTreeSet<&str> = items.iter().map(|i| i.split('.').next().unwrap()).collect();
    assert!(
        domains.contains("gas") && domains.contains("ebike"),
        "{domains:?}"
    );
    assert!(
        !domains.contains("selfbuilt") && !domains.contains("mixed"),
        "a snack shop is not asked another kind of venue's items: {domains:?}"
    );
    let checkboxes: Vec<&String> = items
        .iter()
        .filter(|i| !page.contains(&format!("name=\"m:{i}:")))
        .collect();
    let unique: BTreeSet<&&String> = checkboxes.iter().collect();
    assert_eq!(unique.len(), checkboxes.len(), "no item twice");
    // Figures as numbers with their unit, never a checkbox for "how many".
    assert!(page.contains("type=\"number\""));
    assert!(
        page.contains("name=\"m:gas.hose_length:"),
        "the hose length is a figure"
    );
    assert!(page.contains(" 米</label>"), "with its unit");

    // Figures are judged by the item's rule: a compliant hose sends nothing, a long one a finding.
    let field = {
        let at =
            page.find("name=\"m:gas.hose_length:").unwrap() + "name=\"m:gas.hose_length:".len();
        page[at..at + page[at..].find('"').unwrap()].to_owned()
    };
    let key = format!("m%3Agas.hose_length%3A{field}");
    let (status, _, location) = post_form(&format!("{url}/self-check"), &format!("{key}=1.5"));
    assert_eq!(status, 303);
    assert!(location.ends_with("met=1"), "{location}");
    let (status, _, location) = post_form(&format!("{url}/self-check"), &format!("{key}=2.6"));
    assert_eq!(status, 303);
    assert!(location.ends_with("sent=1"), "{location}");
    let findings = relay.inspect(|r| {
        r.db()
            .query("SELECT item_id, note FROM owner_findings", &[])
            .unwrap()
            .iter()
            .map(|row| (row.text(0).unwrap(), row.text(1).unwrap()))
            .collect::<Vec<_>>()
    });
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].0, "gas.hose_length");
    assert!(
        findings[0].1.contains("2.6"),
        "the finding says what was measured: {findings:?}"
    );
    // Not a number: the owner stays on the page with the reason.
    let (status, body, _) = post_form(&format!("{url}/self-check"), &format!("{key}=abc"));
    assert_eq!(status, 400);
    assert!(
        body.contains("id=\"owner-error\"") && body.contains("请填写数字"),
        "{body}"
    );
    assert!(body.contains("老街小吃") && !body.contains("href=\"/login\""));

    // A file that is not a photo: the same page, with what to do.
    let (status, body) = owner_post(&url, &hazard, b"%PDF-1.4 not a photo", "修好了");
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("id=\"owner-error\"") && body.contains("不是可用的照片"),
        "{body}"
    );
    assert!(body.contains("老街小吃"), "still the owner's page");

    // Claimed, then closed by the lead department with its remark: shown as 已销号.
    fixtures::claim_fixed(&mut wang, "wang", &hazard);
    fixtures::sync(&mut wang);
    let mut sun = phone(dir.path(), &relay, "sun");
    fixtures::sync(&mut sun);
    sun.transition(
        "sun",
        &hazard,
        Action {
            text: Some("复查合格，充电线已拆除".into()),
            ..Action::new(EventKind::Close)
        },
    )
    .unwrap();
    fixtures::sync(&mut sun);
    let (_, page) = owner_get(&url);
    let day = gridsafe_core::clock::format_date(gridsafe_core::clock::today());
    assert!(page.contains(&format!("已销号 {day}")), "{page}");
    assert!(page.contains("复查合格，充电线已拆除"));
}
