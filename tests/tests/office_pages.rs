//! The office's lists and files (issue #32): owners' photos as a state of the ledger and its
//! filter, bulk actions from the ledger with a result per row (single-use, core's rules for each
//! row), the venue file (inspections, hazards over time with photos, notices, conflicts), and the
//! administrator's user form with grids picked from a list and errors in the page's language.

use gridsafe_core::store::VenueEdit;
use gridsafe_tests::browser::{form_field, owner_post, url_encode as url};
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
fn an_owners_photo_is_a_state_of_the_ledger_its_filter_and_its_export() {
    let relay = TestRelay::start(&["wang", "sun"]);
    let dir = tempfile::tempdir().unwrap();
    let mut s = relay.phone(dir.path(), "wang");
    let claimed = fixtures::flying_lead_visit(&mut s, "wang", "heping-1", 1);
    fixtures::claim_fixed(&mut s, "wang", &claimed);
    let owners = fixtures::flying_lead_visit(&mut s, "wang", "heping-1", 2);
    fixtures::serve_notice(&mut s, "wang", &owners);
    let other = fixtures::flying_lead_visit(&mut s, "wang", "heping-1", 3);
    fixtures::sync(&mut s);
    let venue = s.hazard(&owners).unwrap().header.venue_id;
    let link = s.notice("wang", &venue).unwrap().owner_url.unwrap();
    let (status, body) = owner_post(&link, &owners, fixtures::PHOTO_AFTER, "飞线已拆除");
    assert!(status == 303 || status == 200, "{status} {body}");

    let mut sun = relay.signed_in("sun");
    let (_, page, _) = sun.get("/hazards");
    assert!(
        page.contains(r#"<option value="owner_photo">业主照片待审核</option>"#),
        "a state to filter on: {page}"
    );
    let owners_row = row(&page, &owners).expect("listed");
    assert!(owners_row.contains("业主照片待审核"), "{owners_row}");
    assert!(!row(&page, &other).unwrap().contains("业主照片待审核"));

    let (status, page, _) = sun.get("/hazards?state=owner_photo");
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("共 1 条"), "{page}");
    assert!(row(&page, &owners).is_some(), "{page}");
    assert!(row(&page, &claimed).is_none() && row(&page, &other).is_none());
    // The claim is a lifecycle state: its filter lists it (and not the owner's photo).
    let (_, page, _) = sun.get("/hazards?state=rectified_claimed");
    assert!(
        page.contains("共 1 条") && row(&page, &claimed).is_some(),
        "{page}"
    );
    // The export of the filtered ledger has the same one row.
    let (status, csv) = sun.get_bytes("/hazards.csv?state=owner_photo");
    assert_eq!(status, 200);
    let csv = String::from_utf8(csv).unwrap();
    assert_eq!(csv.lines().count(), 2, "header and one row: {csv}");
    // The to-do list's section links to that filter.
    let (_, todo, _) = sun.get("/todo");
    assert!(todo.contains("/hazards?state=owner_photo"), "{todo}");

    // Accepted: no longer waiting, so no longer in the filter.
    let (_, hazard, _) = sun.get(&format!("/hazards/{owners}"));
    let report = hazard
        .split(&format!("/hazards/{owners}/owner-reports/"))
        .nth(1)
        .expect("the owner's report form")
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let (status, _, _) = sun.post(
        &format!("/hazards/{owners}/owner-reports/{report}"),
        &format!("csrf={}&decision=accept", form_field(&hazard, "csrf")),
    );
    assert!(status == 303 || status == 200, "{status}");
    let (_, page, _) = sun.get("/hazards?state=owner_photo");
    assert!(page.contains("共 0 条"), "{page}");
}

#[test]
fn bulk_actions_from_the_ledger_answer_per_row_and_act_once() {
    let relay = TestRelay::start(&["wang", "sun", "office"]);
    let dir = tempfile::tempdir().unwrap();
    let mut s = relay.phone(dir.path(), "wang");
    let hazards: Vec<String> = (0..6)
        .map(|n| fixtures::flying_lead_visit(&mut s, "wang", "heping-1", n))
        .collect();
    // Five rectifications claimed with their after photos; the sixth only registered.
    for h in &hazards[..5] {
        fixtures::claim_fixed(&mut s, "wang", h);
    }
    fixtures::sync(&mut s);

    let mut sun = relay.signed_in("sun");
    let (_, page, _) = sun.get("/hazards?open=1");
    assert!(page.contains(r#"id="bulk-actions""#), "{page}");
    for h in &hazards {
        assert!(
            row(&page, h)
                .unwrap()
                .contains(&format!(r#"name="id" value="{h}""#)),
            "a checkbox per row"
        );
    }
    let ids: String = hazards.iter().map(|h| format!("&id={h}")).collect();
    let form = |page: &str, action: &str, extra: &str| {
        format!(
            "csrf={}&form={}&back={}&action={action}{extra}{ids}",
            form_field(page, "csrf"),
            form_field(page, "form"),
            url("/hazards?open=1&page=1"),
        )
    };
    // A new deadline without the date is refused before anything is done.
    let (status, body, _) = sun.post("/hazards/bulk", &form(&page, "set_deadline", ""));
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("须填写新的期限") && body.contains("<header>"),
        "{body}"
    );

    // Close all six: five done, the sixth refused by the rules, with the reason on its row.
    let body = form(&page, "close", &format!("&reason={}", url("照片核对无误")));
    let (status, result, _) = sun.post("/hazards/bulk", &body);
    assert_eq!(status, 200, "{result}");
    assert!(result.contains("共 6 条，已办理 5 条"), "{result}");
    let refused = row(&result, &hazards[5]).expect("the sixth's row");
    assert!(refused.contains("未办理"), "{refused}");
    assert!(!refused.contains("hazard "), "in words, no ids: {refused}");
    for h in &hazards[..5] {
        assert!(row(&result, h).unwrap().contains("已办理"));
    }
    assert!(
        result.contains(r#"href="/hazards?open=1&amp;page=1""#)
            || result.contains("/hazards?open=1&#38;page=1"),
        "{result}"
    );
    // The same form again (a double click, the back button): nothing done twice, and it says so.
    let (status, again, _) = sun.post("/hazards/bulk", &body);
    assert_eq!(status, 200);
    assert!(again.contains(r#"id="bulk-again""#), "{again}");
    fixtures::sync(&mut s);
    for h in &hazards[..5] {
        let v = s.hazard(h).unwrap();
        assert_eq!(v.status.state.as_str(), "closed");
        let closes = v
            .status
            .history
            .iter()
            .filter(|e| e.applied && e.kind == "close")
            .count();
        assert_eq!(closes, 1, "closed once");
    }
    assert_eq!(
        s.hazard(&hazards[5]).unwrap().status.state.as_str(),
        "registered"
    );

    // A new deadline for the one left, from a fresh page.
    let (_, page, _) = sun.get("/hazards?open=1");
    let deadline = fixtures::in_days(10);
    let body = format!(
        "csrf={}&form={}&action=set_deadline&deadline={deadline}&id={}",
        form_field(&page, "csrf"),
        form_field(&page, "form"),
        hazards[5]
    );
    let (_, result, _) = sun.post("/hazards/bulk", &body);
    assert!(result.contains("共 1 条，已办理 1 条"), "{result}");
    fixtures::sync(&mut s);
    assert_eq!(
        s.hazard(&hazards[5]).unwrap().status.deadline.as_deref(),
        Some(deadline.as_str())
    );
    // The town office does not close: its ledger has no bulk close to offer... and a forged one
    // is refused per row by the rules.
    let mut office = relay.signed_in("office");
    let (_, page, _) = office.get("/hazards");
    assert!(
        page.contains(r#"id="bulk-actions""#),
        "the office may close from the ledger too"
    );
    let body = format!(
        "csrf={}&form={}&action=close&id={}",
        form_field(&page, "csrf"),
        form_field(&page, "form"),
        hazards[5]
    );
    let (_, result, _) = office.post("/hazards/bulk", &body);
    assert!(result.contains("已办理 0 条"), "{result}");
    let (_, audit, _) = office.get("/audit");
    assert!(audit.matches("审核销号").count() >= 5, "{audit}");
}

#[test]
fn the_venue_file_has_its_inspections_hazards_with_photos_notices_and_conflicts() {
    let relay = TestRelay::start(&["wang", "sun", "office"]);
    let dir = tempfile::tempdir().unwrap();
    let mut wang = relay.phone(dir.path(), "wang");
    let mut sun = relay.phone(dir.path(), "sun");
    let first = fixtures::flying_lead_visit_at(&mut wang, "wang", "heping-1", "和平小吃");
    let venue = wang.hazard(&first).unwrap().header.venue_id;
    fixtures::sync(&mut wang); // the phone's block of notice numbers
    fixtures::serve_notice(&mut wang, "wang", &first);
    let n = wang.notice("wang", &venue).unwrap();
    fixtures::sync(&mut wang);
    fixtures::sync(&mut sun);
    // Two people set the responsible person's phone without seeing each other's edit.
    for (s, who, number) in [
        (&mut wang, "wang", "13800000001"),
        (&mut sun, "sun", "13800000002"),
    ] {
        let mut r = s.venue(&venue).unwrap().responsible;
        r.phone = number.into();
        s.edit_venue(
            who,
            &venue,
            VenueEdit {
                responsible: Some(r),
                ..Default::default()
            },
        )
        .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    fixtures::sync(&mut wang);
    fixtures::sync(&mut sun);

    let mut office = relay.signed_in("office");
    let (status, page, _) = office.get(&format!("/venues/{venue}"));
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("场所档案"), "{page}");
    let section = |id: &str| {
        let from = page
            .find(&format!(r#"<h2 id="{id}">"#))
            .unwrap_or_else(|| panic!("{id}"));
        let rest = &page[from + 4..];
        rest[..rest.find("<h2").unwrap_or(rest.len())].to_owned()
    };
    let inspections = section("inspections");
    assert!(
        inspections.contains("电动自行车") && inspections.contains("王"),
        "the checklist and the inspector by name: {inspections}"
    );
    assert!(!inspections.contains("lx.ebike") && !inspections.contains(">wang<"));
    let hazards = section("hazards");
    assert!(hazards.contains(&format!("/hazards/{first}")), "{hazards}");
    assert!(
        hazards.contains("<img src=\"/photos/"),
        "its photo: {hazards}"
    );
    let notices = section("notices");
    let number = &n.number[n.number.find('〔').expect("a numbered notice")..];
    assert!(
        notices.contains(number),
        "the notice served on site by its number {number}: {notices}"
    );
    assert!(notices.contains("检查现场开具"), "{notices}");
    let conflicts = section("conflicts");
    assert!(
        conflicts.contains("13800000001") && conflicts.contains("13800000002"),
        "{conflicts}"
    );
    // The photo opens for the office.
    let sha = hazards
        .split("<img src=\"/photos/")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    assert_eq!(office.get_bytes(&format!("/photos/{sha}")).0, 200);
    // A second visit appears too, newest first.
    let second = fixtures::flying_lead_visit_at(&mut wang, "wang", "heping-1", "和平小吃二");
    fixtures::sync(&mut wang);
    let (_, other, _) = office.get(&format!(
        "/venues/{}",
        wang.hazard(&second).unwrap().header.venue_id
    ));
    assert!(
        !other.contains(&first),
        "another venue's file has its own hazards"
    );
}

#[test]
fn the_administrator_picks_grids_from_a_list_and_reads_errors_in_the_page_language() {
    let relay = TestRelay::start(&["admin"]);
    let mut admin = relay.signed_in("admin");
    let (_, page, _) = admin.get("/admin/users");
    assert!(page.contains(r#"<select name="grids" multiple"#), "{page}");
    assert!(
        page.contains("和平村 · "),
        "grids by village and name: {page}"
    );
    let csrf = form_field(&page, "csrf");
    // Two grids picked from the list.
    let body = format!(
        "csrf={csrf}&id=zhao2&name={}&role=inspector&grids=heping-1&grids=heping-2&password={}",
        url("赵六"),
        url("long enough pw")
    );
    let (status, page, _) = admin.post("/admin/users", &body);
    assert_eq!(status, 200, "{page}");
    let zhao = page.split(r#"id="user-zhao2""#).nth(1).unwrap();
    let zhao = &zhao[..zhao.find("</tr>").unwrap()];
    assert!(
        zhao.contains("和平村第1网格") && zhao.contains("和平村第2网格"),
        "both grids by name: {zhao}"
    );
    // An inspector without a grid, a reviewer without a department, a short password: each
    // answered in Chinese with the menu, then in English after switching.
    for (form, words) in [
        (
            "id=li2&role=inspector&password=long+enough+pw",
            "网格员须至少选择一个网格",
        ),
        (
            "id=rev2&role=reviewer&password=long+enough+pw",
            "须选择部门",
        ),
        (
            "id=new3&role=town_office&password=short",
            "须设置至少 8 位密码",
        ),
        ("id=x&role=boss", "请从列表中选择角色"),
    ] {
        let (status, page, _) = admin.post("/admin/users", &format!("csrf={csrf}&name=X&{form}"));
        assert_eq!(status, 400, "{form}: {page}");
        assert!(
            page.contains(words) && page.contains("<header>"),
            "{form}: {page}"
        );
        assert!(!page.contains(" / "), "one language: {page}");
    }
    admin.get("/lang?to=en");
    let (_, page, _) = admin.post(
        "/admin/users",
        &format!("csrf={csrf}&name=X&id=li2&role=inspector&password=long+enough+pw"),
    );
    assert!(
        page.contains("an inspector needs at least one grid"),
        "{page}"
    );
    assert!(!page.contains("网格员须"), "{page}");
}
