//! Phones whose clocks are hours off, one ahead and one behind (issue #8): lifecycle events still
//! fall in the order they happened — each phone's hybrid logical clock never reads behind what it
//! has seen — and the phones, the relay and the office fold the same history.

use gridsafe_client as client;
use gridsafe_core::Store;
use gridsafe_core::clock::now_ms;
use gridsafe_core::lifecycle::EventKind;
use gridsafe_core::store::{Action, NewPhoto};
use gridsafe_server::store::ActionDetail;
use gridsafe_tests::fixtures;
use gridsafe_tests::relay::TestRelay;

const HOUR: i64 = 3_600_000;

fn phone(dir: &std::path::Path, relay: &TestRelay, user: &str, skew_ms: i64) -> Store {
    let mut s = Store::create(dir.join(format!("{user}.sqlite"))).unwrap();
    s.set_clock_skew(skew_ms);
    s.import_directory(fixtures::DIRECTORY_JSON).unwrap();
    client::enroll(&mut s, &relay.url, user, "correct horse", user).unwrap();
    s
}

fn sync(s: &mut Store) {
    client::sync_all(s, false, &mut |_| {}).unwrap();
}

fn claim(s: &mut Store, user: &str, hazard: &str) {
    let after = NewPhoto {
        bytes: fixtures::PHOTO_AFTER.to_vec(),
        role: "after".into(),
        ..Default::default()
    };
    s.transition(
        user,
        hazard,
        Action {
            photo: Some(after),
            ..Action::new(EventKind::Claim)
        },
    )
    .unwrap();
}

#[test]
fn phones_hours_apart_keep_lifecycle_events_in_causal_order() {
    let relay = TestRelay::start(&["wang", "sun", "office"]);
    let dir = tempfile::tempdir().unwrap();
    // 王 (inspector) is six hours ahead; 孙 (the e-bike lead department) six hours behind: twelve
    // hours apart, so every reply 孙 writes carries a wall clock earlier than what it answers.
    let mut wang = phone(dir.path(), &relay, "wang", 6 * HOUR);
    let mut sun = phone(dir.path(), &relay, "sun", -6 * HOUR);

    let h = fixtures::flying_lead_visit(&mut wang, "wang", "heping-1", 0);
    claim(&mut wang, "wang", &h);
    sync(&mut wang);
    sync(&mut sun);
    let claimed = sun.hazard(&h).unwrap().status;
    assert_eq!(claimed.state.as_str(), "rectified_claimed");
    let claim_hlc = claimed.history.last().unwrap().hlc;
    assert!(
        claim_hlc.ms > now_ms() + 5 * HOUR,
        "the claim carries wang's clock, hours ahead: {claim_hlc:?}"
    );

    // 孙 refuses the claim. By its own clock that is twelve hours before the claim; by what it
    // has seen, it is after.
    sun.transition(
        "sun",
        &h,
        Action {
            reason: Some("飞线仍在 the lead is still there".into()),
            ..Action::new(EventKind::Reject)
        },
    )
    .unwrap();
    let rejected = sun.hazard(&h).unwrap().status;
    let reject = rejected.history.last().unwrap();
    assert_eq!(
        (reject.kind.as_str(), reject.applied),
        ("reject", true),
        "{:?}",
        reject.refusal
    );
    assert!(
        reject.hlc > claim_hlc,
        "reject {:?} sorts after the claim {claim_hlc:?}",
        reject.hlc
    );
    assert!(
        now_ms() - 6 * HOUR < claim_hlc.ms,
        "sun's wall clock alone would have put the reject first"
    );
    sync(&mut sun);
    sync(&mut wang);
    assert_eq!(
        wang.hazard(&h).unwrap().status.state.as_str(),
        rejected.state.as_str()
    );

    // Claim again (ahead); the town office closes it on the dashboard, on the relay's own clock —
    // six hours behind the claim it closes.
    claim(&mut wang, "wang", &h);
    sync(&mut wang);
    let second_claim = wang.hazard(&h).unwrap().status.history.last().unwrap().hlc;
    let closed = relay.inspect(|r| {
        let office = r.directory().unwrap().user("office").unwrap().clone();
        r.web_action(&office, &h, EventKind::Close, ActionDetail::default())
            .unwrap()
    });
    let close = closed.history.last().unwrap();
    assert_eq!(
        (close.kind.as_str(), close.applied),
        ("close", true),
        "{:?}",
        close.refusal
    );
    assert!(
        close.hlc > second_claim && close.hlc.ms > now_ms() + 5 * HOUR,
        "{:?} after {second_claim:?}",
        close.hlc
    );
    sync(&mut sun);
    sync(&mut wang);

    let mut office = phone(dir.path(), &relay, "office", 0);
    sync(&mut office);
    let mut relay_store = relay.config.open_store().unwrap();
    let views = [
        wang.hazard(&h).unwrap().status,
        sun.hazard(&h).unwrap().status,
        office.hazard(&h).unwrap().status,
    ];
    let kinds: Vec<(&str, bool)> = views[0]
        .history
        .iter()
        .map(|e| (e.kind.as_str(), e.applied))
        .collect();
    assert_eq!(
        kinds,
        [
            ("register", true),
            ("claim", true),
            ("reject", true),
            ("claim", true),
            ("close", true)
        ],
        "{:?}",
        views[0].history
    );
    assert!(
        views[0].history.windows(2).all(|w| w[0].hlc < w[1].hlc),
        "strictly increasing clock readings"
    );
    for v in &views {
        assert_eq!(v, &views[0], "every phone folds the same history");
    }
    assert_eq!(views[0].state.as_str(), "closed");
    assert_eq!(
        relay_store.doc_heads(&h).unwrap().unwrap(),
        office.doc_heads(&h).unwrap()
    );
    let user = relay_store
        .directory()
        .unwrap()
        .user("office")
        .unwrap()
        .clone();
    assert_eq!(
        relay_store.hazard_view(&user, &h).unwrap().1,
        views[0],
        "the relay folds the same history"
    );
}
