//! The office's daily work on its pages (issue #32): review actions that answer on the same
//! page (the reason, the typed text kept) and say when they worked, single-use forms (a second
//! submit — even at the same instant — does nothing and says so), error pages with the menu and
//! sign-out, a page for unknown paths, back to the page asked for after signing in, and a form
//! sent after the session ended keeping what was typed.

use gridsafe_client as client;
use gridsafe_core::Store;
use gridsafe_tests::browser::{Browser, form_field, owner_post, url_encode as url};
use gridsafe_tests::fixtures;
use gridsafe_tests::relay::TestRelay;

const PASSWORD: &str = "correct horse";

fn relay_with_hazard() -> (TestRelay, String, tempfile::TempDir) {
    let relay = TestRelay::start(&["wang", "sun", "office", "admin"]);
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::create(dir.path().join("wang.sqlite")).unwrap();
    s.import_directory(fixtures::DIRECTORY_JSON).unwrap();
    client::enroll(&mut s, &relay.url, "wang", PASSWORD, "wang").unwrap();
    let hazard = fixtures::flying_lead_visit(&mut s, "wang", "heping-1", 1);
    client::sync_all(&mut s, false, &mut |_| {}).unwrap();
    (relay, hazard, dir)
}

/// The page has the menu and the sign-out button.
fn has_menu(page: &str) -> bool {
    page.contains("<header>") && page.contains(r#"action="/logout""#)
}

#[test]
fn a_refused_action_answers_on_the_page_with_the_text_kept_and_a_done_one_says_so() {
    let (relay, hazard, _dir) = relay_with_hazard();
    let mut sun = relay.signed_in("sun");
    let path = format!("/hazards/{hazard}");
    let (_, page, _) = sun.get(&path);
    // Only what this role may do in this state is offered.
    assert!(page.contains(r#"<option value="set_deadline""#), "{page}");
    assert!(
        !page.contains(r#"<option value="close""#),
        "nothing claimed, nothing to close: {page}"
    );
    // A deadline in the past: refused by the rules, on the same page, with what was typed.
    let reason = "业主称下周整改，先给一周";
    let form = format!(
        "csrf={}&form={}&action=set_deadline&deadline=2020-01-01&reason={}",
        form_field(&page, "csrf"),
        form_field(&page, "form"),
        url(reason)
    );
    let (status, page, _) = sun.post(&format!("{path}/action"), &form);
    assert_eq!(status, 409, "{page}");
    assert!(
        page.contains(r#"id="action-error""#) && page.contains("未执行"),
        "{page}"
    );
    assert!(
        page.contains("整改期限早于当日"),
        "the rule's reason: {page}"
    );
    assert!(page.contains(reason), "the reason typed is kept: {page}");
    assert!(
        page.contains(r#"value="2020-01-01""#),
        "so is the date: {page}"
    );
    assert!(has_menu(&page), "{page}");

    // A good one: back to the hazard, saying what was done.
    let deadline = fixtures::in_days(10);
    let form = format!(
        "csrf={}&form={}&action=set_deadline&deadline={deadline}&reason={}",
        form_field(&page, "csrf"),
        form_field(&page, "form"),
        url(reason)
    );
    let (status, _, h) = sun.post(&format!("{path}/action"), &form);
    assert_eq!(status, 303);
    let to = h.get("location").unwrap().to_str().unwrap().to_owned();
    assert_eq!(to, format!("{path}?done=set_deadline"));
    let (_, page, _) = sun.get(&to);
    assert!(page.contains(r#"id="action-message""#), "{page}");
    assert!(page.contains(&deadline), "{page}");

    // The same form again (the browser's back button, a second click): nothing is done twice.
    let (status, _, h) = sun.post(&format!("{path}/action"), &form);
    assert_eq!(status, 303);
    let to = h.get("location").unwrap().to_str().unwrap().to_owned();
    assert_eq!(to, format!("{path}?done=again"));
    let (_, page, _) = sun.get(&to);
    assert!(page.contains("此表单已提交过，未重复执行"), "{page}");
    let history = page.split(r#"id="history""#).nth(1).unwrap();
    let history = history.split("</table>").next().unwrap();
    assert_eq!(
        history.matches(&format!("期限 {deadline}")).count(),
        1,
        "one deadline event: {history}"
    );
}

#[test]
fn one_form_sent_twice_at_the_same_instant_acts_once() {
    let (relay, hazard, _dir) = relay_with_hazard();
    let mut sun = relay.signed_in("sun");
    let path = format!("/hazards/{hazard}");
    let (_, page, _) = sun.get(&path);
    let form = format!(
        "csrf={}&form={}&action=control&text={}",
        form_field(&page, "csrf"),
        form_field(&page, "form"),
        url("断电、移出电动车")
    );
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
    let results: Vec<String> = std::thread::scope(|sc| {
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let mut b = Browser::new(&relay.url);
                b.jar = sun.jar.clone();
                let (form, path, barrier) = (form.clone(), path.clone(), barrier.clone());
                sc.spawn(move || {
                    barrier.wait();
                    let (status, _, h) = b.post(&format!("{path}/action"), &form);
                    assert_eq!(status, 303);
                    h.get("location").unwrap().to_str().unwrap().to_owned()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut ends: Vec<&str> = results
        .iter()
        .map(|l| l.rsplit('=').next().unwrap())
        .collect();
    ends.sort();
    assert_eq!(ends, ["again", "control"], "{results:?}");
    let (_, page, _) = sun.get(&path);
    assert_eq!(
        page.matches("断电、移出电动车").count(),
        1,
        "applied once: {page}"
    );
}

#[test]
fn error_pages_keep_the_menu_unknown_paths_get_a_page_and_sign_in_returns_to_the_page() {
    let (relay, hazard, _dir) = relay_with_hazard();
    // Not signed in: the sign-in page, then back to the hazard asked for.
    let mut b = Browser::new(&relay.url);
    let path = format!("/hazards/{hazard}");
    let (status, _, h) = b.get(&path);
    assert_eq!(status, 303);
    let login = h.get("location").unwrap().to_str().unwrap().to_owned();
    assert!(login.starts_with("/login?next="), "{login}");
    let (_, page, _) = b.get(&login);
    let next = form_field(&page, "next");
    assert_eq!(next, path);
    let form = format!(
        "user=sun&password={}&nonce={}&next={}",
        url(PASSWORD),
        form_field(&page, "nonce"),
        url(&next)
    );
    let (status, _, h) = b.post("/login", &form);
    assert_eq!(status, 303);
    assert_eq!(h.get("location").unwrap().to_str().unwrap(), path);
    // Somewhere else (another host) is never where signing in leads.
    let mut evil = Browser::new(&relay.url);
    let (_, page, _) = evil.get("/login?next=//evil.example/x");
    assert_eq!(form_field(&page, "next"), "", "{page}");

    // An unknown path: a page saying so, with the menu and sign-out.
    let mut sun = relay.signed_in("sun");
    let (status, page, _) = sun.get("/no/such/page");
    assert_eq!(status, 404);
    assert!(page.contains("没有这个页面") && has_menu(&page), "{page}");
    // Not in the inspector's remit: the menu stays, the words are the page's language.
    let mut wang = relay.signed_in("wang");
    let (status, page, _) = wang.get("/audit");
    assert_eq!(status, 403);
    assert!(
        has_menu(&page) && page.contains("不在您的职责范围内"),
        "{page}"
    );
    let (_, _, _) = wang.get("/lang?to=en&back=/audit");
    let (status, page, _) = wang.get("/audit");
    assert_eq!(status, 403);
    assert!(
        page.contains("outside your responsibilities") && has_menu(&page),
        "{page}"
    );
    // A bad report period, in English, with the menu.
    let (status, page, _) = wang.get("/reports/monthly?period=2026-Q9");
    assert_eq!(status, 400);
    assert!(has_menu(&page) && page.contains("2026-Q9"), "{page}");

    // The administrator starts on the users, not on an error.
    let mut admin = relay.signed_in("admin");
    let (status, _, h) = admin.get("/");
    assert_eq!(status, 303);
    assert_eq!(h.get("location").unwrap().to_str().unwrap(), "/admin/users");
}

#[test]
fn a_form_sent_after_the_session_ended_keeps_what_was_typed() {
    let (relay, hazard, _dir) = relay_with_hazard();
    let mut sun = relay.signed_in("sun");
    let path = format!("/hazards/{hazard}");
    let (_, page, _) = sun.get(&path);
    // The working day ends while the reviewer types.
    let db = rusqlite::Connection::open(relay.data.path().join("relay.sqlite")).unwrap();
    db.execute("UPDATE web_sessions SET expires_ms = 0", [])
        .unwrap();
    let note = "现场已断电，待业主拆除飞线后复查";
    let form = format!(
        "csrf={}&form={}&action=control&text={}",
        form_field(&page, "csrf"),
        form_field(&page, "form"),
        url(note)
    );
    let mut b = Browser::new(&relay.url);
    b.jar = sun.jar.clone();
    let (status, page, _) = b.post(&format!("{path}/action"), &form);
    assert_eq!(status, 401, "{page}");
    assert!(page.contains("登录已过期"), "{page}");
    assert!(page.contains(note), "the text typed is on the page: {page}");
    assert!(!page.contains(">control<"), "no codes: {page}");
    // Opening a page with the ended session says so, and comes back to it.
    let (status, _, h) = b.get(&path);
    assert_eq!(status, 303);
    let login = h.get("location").unwrap().to_str().unwrap().to_owned();
    assert!(login.contains("expired=1"), "{login}");
    let (_, page, _) = b.get(&login);
    assert!(page.contains("登录已过期，请重新登录"), "{page}");
    assert_eq!(form_field(&page, "next"), path);
}

#[test]
fn a_reviewer_starts_on_the_to_do_list_with_claims_and_owners_photos_to_review() {
    let relay = TestRelay::start(&["wang", "sun", "zheng"]);
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::create(dir.path().join("wang.sqlite")).unwrap();
    s.import_directory(fixtures::DIRECTORY_JSON).unwrap();
    client::enroll(&mut s, &relay.url, "wang", PASSWORD, "wang").unwrap();
    let claimed = fixtures::flying_lead_visit(&mut s, "wang", "heping-1", 1);
    fixtures::claim_fixed(&mut s, "wang", &claimed);
    let owners = fixtures::flying_lead_visit(&mut s, "wang", "heping-1", 2);
    fixtures::serve_notice(&mut s, "wang", &owners);
    client::sync_all(&mut s, false, &mut |_| {}).unwrap();
    let venue = s.hazard(&owners).unwrap().header.venue_id;
    let url = s.notice("wang", &venue).unwrap().owner_url.unwrap();
    let (status, body) = owner_post(&url, &owners, fixtures::PHOTO_AFTER, "飞线已拆除");
    assert!(status == 303 || status == 200, "{status} {body}");

    // The e-bike hazards are 城运中心's: its reviewer lands on them.
    let mut sun = relay.signed_in("sun");
    let (status, _, h) = sun.get("/");
    assert_eq!(
        (status, h.get("location").unwrap().to_str().unwrap()),
        (303, "/todo")
    );
    let (status, page, _) = sun.get("/todo");
    assert_eq!(status, 200, "{page}");
    let section = |id: &str| {
        let from = page.find(&format!(r#"<h2 id="{id}">"#)).unwrap();
        let rest = &page[from + 4..];
        rest[..rest.find("<h2").unwrap_or(rest.len())].to_owned()
    };
    assert!(
        section("claims").contains(&format!("/hazards/{claimed}")),
        "{page}"
    );
    assert!(
        !section("claims").contains(&format!("/hazards/{owners}")),
        "{page}"
    );
    assert!(
        section("owner-photos").contains(&format!("/hazards/{owners}")),
        "{page}"
    );
    assert!(page.contains(r#"id="count-claims">1<"#), "{page}");
    assert!(page.contains(r#"id="count-owner-photos">1<"#), "{page}");
    assert!(
        page.contains(r#"id="menu-todo""#),
        "the menu shows the count: {page}"
    );
    // Another department's reviewer has none of them; an inspector has no to-do page.
    let mut zheng = relay.signed_in("zheng");
    let (_, page, _) = zheng.get("/todo");
    assert!(page.contains(r#"id="count-claims">0<"#), "{page}");
    assert!(!page.contains(&claimed), "{page}");
    let mut wang = relay.signed_in("wang");
    assert_eq!(wang.get("/todo").0, 403);
}

#[test]
fn an_administrator_disables_a_user_whose_phone_is_then_refused_and_enables_them_again() {
    let relay = TestRelay::start(&["wang", "admin"]);
    let dir = tempfile::tempdir().unwrap();
    let mut phone = Store::create(dir.path().join("wang.sqlite")).unwrap();
    phone.import_directory(fixtures::DIRECTORY_JSON).unwrap();
    client::enroll(&mut phone, &relay.url, "wang", PASSWORD, "wang").unwrap();
    client::sync_all(&mut phone, false, &mut |_| {}).unwrap();
    let mut wang = relay.signed_in("wang");

    let mut admin = relay.signed_in("admin");
    let (_, page, _) = admin.get("/admin/users");
    assert!(page.contains(r#"id="user-wang""#), "{page}");
    let csrf = form_field(&page, "csrf");
    // Without the confirmation nothing happens, and the page says why.
    let (status, page, _) = admin.post("/admin/users/disable", &format!("csrf={csrf}&user=wang"));
    assert_eq!(status, 200);
    assert!(page.contains("请勾选"), "{page}");
    assert_eq!(wang.get("/hazards").0, 200, "still signed in");
    let (status, page, _) = admin.post(
        "/admin/users/disable",
        &format!("csrf={csrf}&user=wang&confirm=1"),
    );
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("已停用") && page.contains("吊销手机 1"),
        "{page}"
    );
    // Their phone's next sync is refused, their session is over, they cannot sign in again.
    fixtures::flying_lead_visit(&mut phone, "wang", "heping-1", 9);
    assert!(client::sync_all(&mut phone, false, &mut |_| {}).is_err());
    assert_eq!(wang.get("/hazards").0, 303);
    assert_eq!(Browser::new(&relay.url).login("wang", PASSWORD), 401);
    let mut again = Store::create(dir.path().join("wang2.sqlite")).unwrap();
    again.import_directory(fixtures::DIRECTORY_JSON).unwrap();
    assert!(client::enroll(&mut again, &relay.url, "wang", PASSWORD, "wang").is_err());
    // The administrator cannot disable themself.
    let (_, page, _) = admin.get("/admin/users");
    assert!(
        !page.contains(r#"name="user" value="admin"><label>"#),
        "{page}"
    );
    // Enabled again: they sign in; the revoked phone enrols anew.
    let (status, page, _) = admin.post("/admin/users/enable", &format!("csrf={csrf}&user=wang"));
    assert_eq!(status, 200);
    assert!(page.contains("已启用"), "{page}");
    assert_eq!(Browser::new(&relay.url).login("wang", PASSWORD), 303);
    client::enroll(&mut again, &relay.url, "wang", PASSWORD, "wang").unwrap();
    let (_, audit, _) = admin.get("/audit");
    assert!(
        audit.contains("停用用户") && audit.contains("启用用户"),
        "{audit}"
    );
}

/// The device page shows what the phone has left after its sync, not what it had before it.
#[test]
fn a_phone_that_synced_everything_shows_nothing_pending() {
    let (relay, _hazard, _dir) = relay_with_hazard();
    let rows = relay.inspect(|st| st.devices().unwrap());
    let wang: Vec<_> = rows.iter().filter(|d| d.user_id == "wang").collect();
    assert_eq!(wang.len(), 1);
    assert_eq!(
        (wang[0].pending_docs, wang[0].pending_photos),
        (Some(0), Some(0)),
        "records pushed and photos uploaded in that sync"
    );
}

/// The overview's charts are inline SVG whose bars open the lists they count, and the lead
/// departments' table counts what each has open, closed (on time) and overdue.
#[test]
fn the_overview_charts_link_to_the_lists_they_count() {
    let (relay, _hazard, _dir) = relay_with_hazard();
    let mut office = relay.signed_in("office");
    let (status, page, _) = office.get("/overview");
    assert_eq!(status, 200, "{page}");
    // HTML writes & as &#38; or &amp;: read both as one.
    let page = page.replace("&#38;", "&amp;");
    for id in [
        "chart-found-month",
        "chart-closed-month",
        "chart-open-domain",
        "chart-open-village",
    ] {
        assert!(page.contains(&format!(r#"id="{id}""#)), "{id}: {page}");
    }
    assert!(!page.contains("<script"), "no script needed to read them");
    let link = r#"<a href="/hazards?domain=ebike&amp;open=1">"#;
    assert!(page.contains(link), "{page}");
    let (_, ledger, _) = office.get("/hazards?domain=ebike&open=1");
    assert!(
        ledger.contains("共 1 条"),
        "the bar's count is the list's: {ledger}"
    );
    let table = page.split(r#"id="dept-performance""#).nth(1).unwrap();
    let table = &table[..table.find("</table>").unwrap()];
    assert!(table.contains("城运中心"), "{table}");
    assert!(
        table.contains(r#"<a href="/hazards?dept=cyzx&amp;open=1">1</a>"#),
        "{table}"
    );
}
