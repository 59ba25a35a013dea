//! Rectification notices a town can issue (issue #31): the issuing body set by the
//! administrator reaches the phones; numbers come in blocks at sync and are taken offline, unique
//! town-wide, the same number when the same notice is printed again; a phone past its block is
//! told what to do; the register shows who holds which numbers, which were used and the gaps; the
//! document carries the venue's address and responsible person, each finding with its basis and
//! requirement, the recheck date, signature and seal areas, and the public address under the QR.

use gridsafe_client as client;
use gridsafe_core::Store;
use gridsafe_core::records::Responsible;
use gridsafe_core::store::VenueEdit;
use gridsafe_core::sync::{PROTOCOL, SyncResponse};
use gridsafe_tests::browser::Browser;
use gridsafe_tests::fixtures;
use gridsafe_tests::relay::TestRelay;

const PASSWORD: &str = "correct horse";

fn phone(dir: &std::path::Path, relay: &TestRelay, user: &str) -> Store {
    let mut s = Store::create(dir.join(format!("{user}.sqlite"))).unwrap();
    s.import_directory(fixtures::DIRECTORY_JSON).unwrap();
    client::enroll(&mut s, &relay.url, user, PASSWORD, "网格手机").unwrap();
    s
}

fn csrf_of(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").expect("a form") + 19;
    page[at..at + page[at..].find('"').unwrap()].to_owned()
}

fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            let enc: String = v
                .bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                        (b as char).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect();
            format!("{k}={enc}")
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// A visit at a venue with its address and responsible person on record.
fn venue_with_hazard(s: &mut Store, user: &str, grid: &str, name: &str) -> (String, String) {
    let h = fixtures::flying_lead_visit_at(s, user, grid, name);
    let venue = s.hazard(&h).unwrap().header.venue_id;
    s.edit_venue(
        user,
        &venue,
        VenueEdit {
            address: Some("和平村健康路18号".into()),
            responsible: Some(Responsible {
                name: "赵小明".into(),
                phone: "13912345678".into(),
                id_last4: String::new(),
            }),
            ..Default::default()
        },
    )
    .unwrap();
    (venue, h)
}

fn set_issuer(relay: &TestRelay) -> Browser {
    let mut admin = Browser::new(&relay.url);
    assert_eq!(admin.login("admin", PASSWORD), 303);
    let page = admin.get("/admin/users").1;
    let csrf = csrf_of(&page);
    // A prefix that is too long is refused with what to enter, and nothing is saved.
    let (status, body, _) = admin.post(
        "/admin/issuer",
        &form(&[
            ("csrf", &csrf),
            ("name_zh", "吕巷镇安全生产委员会办公室"),
            ("notice_prefix", "这是一个超过十二个字的非常长的编号前缀"),
        ]),
    );
    assert_eq!(status, 400);
    assert!(body.contains("编号前缀"), "{body}");
    assert!(relay.inspect(|r| r.issuer().unwrap()).is_none());
    let (status, _, _) = admin.post(
        "/admin/issuer",
        &form(&[
            ("csrf", &csrf),
            ("name_zh", "吕巷镇安全生产委员会办公室"),
            ("address", "金山区吕巷镇璜溪路1号"),
            ("contact", "021-57310000"),
            ("notice_prefix", "吕巷安改"),
            ("public_url", "https://aq.lvxiang.example.cn"),
        ]),
    );
    assert_eq!(status, 303);
    admin
}

#[test]
fn phones_number_notices_offline_uniquely_and_the_register_shows_them() {
    let relay = TestRelay::start(&["wang", "zhang", "office", "admin"]);
    let _admin = set_issuer(&relay);
    let dir = tempfile::tempdir().unwrap();
    let mut wang = phone(dir.path(), &relay, "wang");
    let mut zhang = phone(dir.path(), &relay, "zhang");
    fixtures::sync(&mut wang);
    fixtures::sync(&mut zhang);
    assert_eq!(
        wang.issuer().unwrap().unwrap().name_zh,
        "吕巷镇安全生产委员会办公室",
        "the issuer reaches the phone"
    );
    assert_eq!(wang.sync_status().unwrap().notice_numbers_left, 50);
    // Both offline: three notices each, numbered from their own blocks.
    let mut numbers = Vec::new();
    let mut first_wang = None;
    for k in 0..3 {
        let (v, _) = venue_with_hazard(&mut wang, "wang", "heping-1", &format!("小吃店{k}"));
        let n = wang.notice("wang", &v).unwrap();
        first_wang.get_or_insert((v, n.number.clone()));
        numbers.push(n.number);
        let (v, _) = venue_with_hazard(&mut zhang, "zhang", "taiping-1", &format!("面馆{k}"));
        numbers.push(zhang.notice("zhang", &v).unwrap().number);
    }
    let year = gridsafe_core::clock::today().year();
    assert!(
        numbers[0].starts_with(&format!("吕巷安改〔{year}〕第")),
        "{numbers:?}"
    );
    let mut unique = numbers.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 6, "unique town-wide: {numbers:?}");
    // Printing the same notice again keeps its number.
    let (v, n) = first_wang.unwrap();
    let again = wang.notice("wang", &v).unwrap();
    assert_eq!(again.number, n);

    // The document: the issuer, the venue's address and responsible person, the finding with
    // its basis and requirement, the recheck date, signatures and seal, the public address.
    let html = gridsafe_core::notice::to_html(&again).unwrap();
    for want in [
        "吕巷镇安全生产委员会办公室",
        "隐患整改通知书",
        &n,
        "和平村健康路18号",
        "赵小明",
        "13912345678",
        "王建国",
        "立即整改",
        "复查",
        "（盖章）",
        "签收人",
        "https://aq.lvxiang.example.cn",
        "counter(page)",
    ] {
        assert!(html.contains(want), "{want} on the notice");
    }
    assert!(html.contains("《"), "a printed citation");
    assert!(!html.contains(&relay.url), "never the relay's own address");
    assert!(!html.contains("heping"));

    // After sync the register holds them, with who holds which block and the gaps.
    fixtures::sync(&mut wang);
    fixtures::sync(&mut zhang);
    assert!(wang.sync_status().unwrap().notice_numbers_warning.is_none());
    let mut office = Browser::new(&relay.url);
    assert_eq!(office.login("office", PASSWORD), 303);
    let page = office.get("/notices").1;
    assert!(
        page.contains("王建国 · 网格手机") && page.contains("张伟 · 网格手机"),
        "{page}"
    );
    assert!(page.contains("小吃店0") && page.contains("面馆2"), "{page}");
    assert!(
        page.contains("0004–0050") || page.contains("0054–0100"),
        "gaps: {page}"
    );

    // The office prints a notice: a number of its own, the same on a reprint.
    let page = office.get(&format!("/venues/{v}/notice")).1;
    let again = office.get(&format!("/venues/{v}/notice")).1;
    let num = |p: &str| {
        let at = p.find("<p class=\"no\">").unwrap() + 14;
        p[at..at + p[at..].find('<').unwrap()].to_owned()
    };
    assert_eq!(num(&page), num(&again));
    assert!(!numbers.contains(&num(&page)));
    // In English: the same notice and number for staff reading English, and the report's
    // workbook with English sheets.
    office.get("/lang?to=en&back=/");
    let english = office.get(&format!("/venues/{v}/notice")).1;
    assert!(english.contains("Hazard Rectification Notice") && english.contains("(seal)"));
    assert_eq!(num(&english), num(&page));
    assert!(english.contains("Responsible person: 赵小明"));
    let (status, bytes) = office.get_bytes("/reports/monthly.xlsx");
    assert_eq!(status, 200);
    let wb: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
    use calamine::Reader as _;
    assert!(
        wb.sheet_names().contains(&"Summary".to_owned()),
        "{:?}",
        wb.sheet_names()
    );
}

#[test]
fn a_phone_past_its_block_is_told_before_the_visit() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::create(dir.path().join("p.sqlite")).unwrap();
    s.import_directory(fixtures::DIRECTORY_JSON).unwrap();
    let year = gridsafe_core::clock::today().year();
    let resp = SyncResponse {
        protocol: PROTOCOL,
        accepted: vec![],
        refused: vec![],
        pull: vec![],
        cursor: 0,
        more: false,
        directory: None,
        templates: vec![],
        actors: vec![],
        server_ms: 0,
        dropped: vec![],
        issuer: None,
        notice_block: Some(gridsafe_core::issuer::NoticeBlock {
            year,
            first: 7,
            last: 8,
        }),
        notices_recorded: vec![],
    };
    s.apply_sync_response(&resp).unwrap();
    let status = s.sync_status().unwrap();
    assert_eq!(status.notice_numbers_left, 2);
    assert!(status.notice_numbers_warning.unwrap().contains("仅剩 2 个"));
    let mut got = Vec::new();
    for k in 0..2 {
        let (v, _) = venue_with_hazard(&mut s, "wang", "heping-1", &format!("店{k}"));
        got.push(s.notice("wang", &v).unwrap().number);
    }
    assert_eq!(
        got,
        [
            format!("吕巷镇〔{year}〕第0007号"),
            format!("吕巷镇〔{year}〕第0008号")
        ]
    );
    let (v, _) = venue_with_hazard(&mut s, "wang", "heping-1", "店3");
    let e = s.notice("wang", &v).unwrap_err().to_string();
    assert!(e.contains("编号已用完") && e.contains("同步"), "{e}");
    assert!(
        s.sync_status()
            .unwrap()
            .notice_numbers_warning
            .unwrap()
            .contains("没有整改通知书编号")
    );
    // A block that is not one is refused, and nothing is taken from it.
    let bad = SyncResponse {
        notice_block: Some(gridsafe_core::issuer::NoticeBlock {
            year,
            first: 9,
            last: 3,
        }),
        ..resp
    };
    assert!(s.apply_sync_response(&bad).is_err());
    assert_eq!(s.sync_status().unwrap().notice_numbers_left, 0);
}

#[test]
fn the_office_corrects_a_venues_details_and_the_phones_next_notice_prints_them() {
    let relay = TestRelay::start(&["wang", "office"]);
    let dir = tempfile::tempdir().unwrap();
    let mut wang = phone(dir.path(), &relay, "wang");
    let (venue, _) = venue_with_hazard(&mut wang, "wang", "heping-1", "老街小吃");
    fixtures::sync(&mut wang);
    let mut office = Browser::new(&relay.url);
    assert_eq!(office.login("office", PASSWORD), 303);
    let page = office.get(&format!("/venues/{venue}")).1;
    assert!(page.contains("id=\"details-form\""));
    let (status, _, _) = office.post(
        &format!("/venues/{venue}/details"),
        &form(&[
            ("csrf", &csrf_of(&page)),
            ("name", "老街小吃"),
            ("address", "和平村健康路20号"),
            ("responsible_name", "赵小明"),
            ("responsible_phone", "13700001111"),
        ]),
    );
    assert_eq!(status, 303);
    // A blank name is refused with what to enter; nothing changes.
    let (status, body, _) = office.post(
        &format!("/venues/{venue}/details"),
        &form(&[("csrf", &csrf_of(&page)), ("name", " ")]),
    );
    assert_eq!(status, 400);
    assert!(body.contains("请填写场所名称"));
    fixtures::sync(&mut wang);
    let v = wang.venue(&venue).unwrap();
    assert_eq!(
        (v.address.as_str(), v.responsible.phone.as_str()),
        ("和平村健康路20号", "13700001111")
    );
    let n = wang.notice("wang", &venue).unwrap();
    assert_eq!(n.venue_address, "和平村健康路20号");
    assert_eq!(n.responsible_phone, "13700001111");
    let audit = office.get("/audit").1;
    assert!(
        audit.contains("修改场所资料") && audit.contains("地址、负责人电话"),
        "{audit}"
    );
}
