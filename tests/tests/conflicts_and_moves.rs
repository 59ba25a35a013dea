//! Conflicts people can see and venues that can move (issue #27): two phones and the office edit
//! the same venue field offline in every order and all converge on the later edit, with the
//! other values kept visible (on the phone through the store the FFI wraps, on the office's venue
//! page) until someone resolves them; a venue moved to another grid takes its inspections and
//! hazards along — the new grid's phone receives them whole and can act, the old grid's drops
//! them once its own changes are sent, and nothing unsynced is lost.

use gridsafe_client as client;
use gridsafe_core::Store;
use gridsafe_core::records::Responsible;
use gridsafe_core::store::{HazardQuery, VenueEdit};
use gridsafe_tests::browser::Browser;
use gridsafe_tests::fixtures;
use gridsafe_tests::relay::TestRelay;

const PASSWORD: &str = "correct horse";

fn sync(s: &mut Store) {
    let p = client::sync_all(s, false, &mut |_| {}).unwrap();
    assert!(
        s.sync_status().unwrap().refused.is_empty(),
        "nothing refused: {p:?}"
    );
}

fn csrf_of(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").expect("a form") + 19;
    page[at..at + page[at..].find('"').unwrap()].to_owned()
}

fn set_phone(s: &mut Store, user: &str, venue: &str, number: &str) {
    let mut r: Responsible = s.venue(venue).unwrap().responsible;
    r.phone = number.into();
    s.edit_venue(
        user,
        venue,
        VenueEdit {
            responsible: Some(r),
            ..Default::default()
        },
    )
    .unwrap();
}

/// The office sets the field on the venue's page (re-entering a value is how the office edits).
fn office_sets(b: &mut Browser, venue: &str, field: &str, value: &str) {
    let page = b.get(&format!("/venues/{venue}")).1;
    let (status, body, _) = b.post(
        &format!("/venues/{venue}/resolve"),
        &format!(
            "csrf={}&field={field}&other={}",
            csrf_of(&page),
            urlencode(value)
        ),
    );
    assert_eq!(status, 303, "the office's edit is taken: {body}");
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn two_phones_and_the_office_converge_on_the_later_edit_in_every_order_and_see_the_others() {
    let relay = TestRelay::start(&["wang", "sun", "office"]);
    let dir = tempfile::tempdir().unwrap();
    let mut wang = relay.phone(dir.path(), "wang");
    let mut sun = relay.phone(dir.path(), "sun");
    let mut office = Browser::new(&relay.url);
    assert_eq!(office.login("office", PASSWORD), 303);
    let orders: [[&str; 3]; 6] = [
        ["wang", "sun", "office"],
        ["wang", "office", "sun"],
        ["sun", "wang", "office"],
        ["sun", "office", "wang"],
        ["office", "wang", "sun"],
        ["office", "sun", "wang"],
    ];
    for (n, order) in orders.iter().enumerate() {
        // A venue where the fire station (sun's department) leads a hazard: all three may edit it.
        let hazard = fixtures::flying_lead_visit(&mut wang, "wang", "heping-1", n);
        let venue = wang.hazard(&hazard).unwrap().header.venue_id;
        sync(&mut wang);
        sync(&mut sun);
        // Each sets the responsible person's phone without seeing the others' edits.
        for (k, who) in order.iter().enumerate() {
            let number = format!("1380000{n}{k}00");
            match *who {
                "wang" => set_phone(&mut wang, "wang", &venue, &number),
                "sun" => set_phone(&mut sun, "sun", &venue, &number),
                _ => office_sets(&mut office, &venue, "responsible.phone", &number),
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let later = format!("1380000{n}200");
        sync(&mut wang);
        sync(&mut sun);
        sync(&mut wang);
        for (who, s) in [("wang", &wang), ("sun", &sun)] {
            assert_eq!(
                s.venue(&venue).unwrap().responsible.phone,
                later,
                "{who} keeps the later edit ({order:?})"
            );
            let (conflicts, _) = s.venue_conflicts(&venue).unwrap();
            assert_eq!(conflicts.len(), 1, "{who} sees the conflict ({order:?})");
            let c = &conflicts[0];
            assert_eq!(c.field, "responsible.phone");
            assert_eq!(c.kept.by, order[2]);
            let mut others: Vec<(String, String)> = c
                .others
                .iter()
                .map(|o| (o.by.clone(), o.value.as_str().unwrap().to_owned()))
                .collect();
            others.sort();
            let mut want = vec![
                (order[0].to_owned(), format!("1380000{n}000")),
                (order[1].to_owned(), format!("1380000{n}100")),
            ];
            want.sort();
            assert_eq!(others, want, "{who} sees who set what ({order:?})");
        }
        // The office's venue page: names, times as minutes, the values, and which was kept.
        let page = office.get(&format!("/venues/{venue}")).1;
        assert!(page.contains("待处理的修改冲突"), "{page}");
        for name in ["王建国", "孙志强", "镇安委办值班"] {
            assert!(page.contains(name), "{name} on the page");
        }
        assert!(page.contains(&format!("{later}</strong>（当前保留）")));
        assert!(!page.contains("T0") && !page.contains("responsible.phone</h3>"));
        // Resolving on one phone (choosing an earlier value) is an edit like any other: the
        // conflict is gone on every replica.
        let chosen = format!("1380000{n}000");
        sun.resolve_venue_field("sun", &venue, "responsible.phone", chosen.clone().into())
            .unwrap();
        for s in [&mut sun, &mut wang] {
            sync(s);
        }
        for s in [&wang, &sun] {
            assert_eq!(s.venue(&venue).unwrap().responsible.phone, chosen);
            assert!(s.venue_conflicts(&venue).unwrap().0.is_empty());
        }
        let page = office.get(&format!("/venues/{venue}")).1;
        assert!(!page.contains("待处理的修改冲突"));
        assert!(page.contains(&chosen));
    }
}

#[test]
fn a_moved_venue_takes_its_file_to_the_new_grid_and_leaves_the_old_phone_cleanly() {
    let relay = TestRelay::start(&["wang", "li", "sun", "office"]);
    let dir = tempfile::tempdir().unwrap();
    let mut wang = relay.phone(dir.path(), "wang");
    let mut li = relay.phone(dir.path(), "li");
    let hazard = fixtures::flying_lead_visit(&mut wang, "wang", "heping-1", 0);
    let history = wang.hazard(&hazard).unwrap().status.history;
    let h = wang.hazard(&hazard).unwrap().header;
    let (venue, inspection) = (h.venue_id.clone(), h.inspection_id.clone().unwrap());
    // A second venue stays in wang's grid, with an edit not yet sent when the move lands.
    let stays = fixtures::flying_lead_visit(&mut wang, "wang", "heping-1", 1);
    let stays_venue = wang.hazard(&stays).unwrap().header.venue_id;
    sync(&mut wang);
    sync(&mut li);
    assert!(li.venue(&venue).is_err(), "not li's grid yet");
    set_phone(&mut wang, "wang", &stays_venue, "13900000000");

    // The town office moves the venue to li's grid on its page.
    let mut office = Browser::new(&relay.url);
    assert_eq!(office.login("office", PASSWORD), 303);
    let page = office.get(&format!("/venues/{venue}")).1;
    assert!(page.contains("夹漏村 夹漏村第1网格"), "grids by name");
    let (status, _, _) = office.post(
        &format!("/venues/{venue}/move"),
        &format!("csrf={}&grid=jialou-1", csrf_of(&page)),
    );
    assert_eq!(status, 303);
    let page = office.get(&format!("/venues/{venue}")).1;
    assert!(
        page.contains("镇安委办值班 和平村第1网格 → 夹漏村第1网格"),
        "the move is in the venue's history: {page}"
    );

    // li receives the whole file with its history, without an error, and can act on it.
    sync(&mut li);
    let v = li.venue(&venue).unwrap();
    assert_eq!(
        (v.grid_id.as_str(), v.village.as_str()),
        ("jialou-1", "jialou")
    );
    assert!(li.inspection(&inspection).unwrap().finish.is_some());
    let listed = li
        .list_hazards(&HazardQuery {
            scope_user: Some("li".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, hazard);
    assert_eq!(listed[0].grid_id, "jialou-1");
    assert_eq!(
        li.hazard(&hazard).unwrap().status.history,
        history,
        "with its history"
    );
    fixtures::serve_notice(&mut li, "li", &hazard);
    li.start_inspection("li", &venue, "lx.ebike", None).unwrap();
    sync(&mut li);
    // The hazard's lead department is unchanged.
    assert_eq!(li.hazard(&hazard).unwrap().header.lead_depts, h.lead_depts);

    // wang syncs without an error: its unsent edit arrives, the moved file leaves its phone.
    sync(&mut wang);
    for id in [&venue, &inspection, &hazard] {
        assert!(
            wang.venue(id).is_err() && wang.inspection(id).is_err() && wang.hazard(id).is_err(),
            "{id} left wang's phone"
        );
    }
    assert!(
        wang.list_venues(None)
            .unwrap()
            .iter()
            .all(|v| v.id != venue)
    );
    assert_eq!(
        wang.venue(&stays_venue).unwrap().responsible.phone,
        "13900000000"
    );
    assert_eq!(wang.sync_status().unwrap().pending_docs, 0);
    sync(&mut wang);
    assert!(wang.hazard(&hazard).is_err(), "not sent again");
    let relay_phone = relay.inspect(|r| {
        let office = r.directory().unwrap().user("office").unwrap().clone();
        r.venue_view(&office, &stays_venue)
            .unwrap()
            .0
            .responsible
            .phone
    });
    assert_eq!(relay_phone, "13900000000");

    // The office's ledger lists the hazard where its venue is now; li sees it, wang does not.
    let ledger = office.get("/hazards").1;
    assert!(ledger.contains("夹漏村"), "{ledger}");
    let mut as_li = Browser::new(&relay.url);
    assert_eq!(as_li.login("li", PASSWORD), 303);
    assert!(as_li.get("/hazards").1.contains(&h.venue_name));
    let mut as_wang = Browser::new(&relay.url);
    assert_eq!(as_wang.login("wang", PASSWORD), 303);
    assert!(!as_wang.get("/hazards").1.contains(&h.venue_name));
}

#[test]
fn an_edit_made_offline_before_a_move_reaches_the_relay_and_the_new_grid() {
    let relay = TestRelay::start(&["wang", "li", "office"]);
    let dir = tempfile::tempdir().unwrap();
    let mut wang = relay.phone(dir.path(), "wang");
    let mut li = relay.phone(dir.path(), "li");
    let hazard = fixtures::flying_lead_visit(&mut wang, "wang", "heping-1", 0);
    let venue = wang.hazard(&hazard).unwrap().header.venue_id;
    sync(&mut wang);
    // wang, offline, corrects the address and the responsible person's phone.
    wang.edit_venue(
        "wang",
        &venue,
        VenueEdit {
            address: Some("夹漏村18号".into()),
            ..Default::default()
        },
    )
    .unwrap();
    set_phone(&mut wang, "wang", &venue, "13700000000");
    // Meanwhile the office moves the venue to li's grid.
    let mut office = Browser::new(&relay.url);
    assert_eq!(office.login("office", PASSWORD), 303);
    let page = office.get(&format!("/venues/{venue}")).1;
    let (status, _, _) = office.post(
        &format!("/venues/{venue}/move"),
        &format!("csrf={}&grid=jialou-1", csrf_of(&page)),
    );
    assert_eq!(status, 303);
    sync(&mut li);
    // wang comes back online: the edits go first, then the venue leaves the phone.
    sync(&mut wang);
    assert!(wang.venue(&venue).is_err());
    sync(&mut li);
    let v = li.venue(&venue).unwrap();
    assert_eq!(v.address, "夹漏村18号");
    assert_eq!(v.responsible.phone, "13700000000");
    assert_eq!(v.grid_id, "jialou-1", "the move stands");
}

#[test]
fn a_grid_worker_hands_a_venue_to_a_neighbour_but_a_department_moves_none() {
    let relay = TestRelay::start(&["wang", "li", "sun"]);
    let dir = tempfile::tempdir().unwrap();
    let mut wang = relay.phone(dir.path(), "wang");
    let mut li = relay.phone(dir.path(), "li");
    let mut sun = relay.phone(dir.path(), "sun");
    let hazard = fixtures::flying_lead_visit(&mut wang, "wang", "heping-1", 0);
    let venue = wang.hazard(&hazard).unwrap().header.venue_id;
    sync(&mut wang);
    sync(&mut sun);
    let to_li = VenueEdit {
        grid_id: Some("jialou-1".into()),
        ..Default::default()
    };
    let refused = sun.edit_venue("sun", &venue, to_li.clone()).unwrap_err();
    assert!(
        matches!(refused, gridsafe_core::Error::Forbidden(_)),
        "{refused:?}"
    );
    let unknown = wang
        .edit_venue(
            "wang",
            &venue,
            VenueEdit {
                grid_id: Some("nowhere-9".into()),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert!(unknown.to_string().contains("nowhere-9"), "{unknown}");
    wang.edit_venue("wang", &venue, to_li).unwrap();
    sync(&mut wang);
    assert!(wang.venue(&venue).is_err(), "handed over");
    sync(&mut li);
    assert_eq!(li.venue(&venue).unwrap().grid_id, "jialou-1");
    assert!(li.hazard(&hazard).is_ok());
    let (_, moves) = li.venue_conflicts(&venue).unwrap();
    assert_eq!(moves.len(), 1);
    assert_eq!(
        (
            moves[0].by.as_str(),
            moves[0].from_grid.as_str(),
            moves[0].to_grid.as_str()
        ),
        ("wang", "heping-1", "jialou-1")
    );
}
