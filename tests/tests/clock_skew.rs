//! Phones whose clocks are off. Minutes apart, one ahead and one behind (issue #8): lifecycle
//! events still fall in the order they happened — each phone's hybrid logical clock never reads
//! behind what it has seen — and the phones, the relay and the office fold the same history.
//! Hours off (issue #26): a phone ahead has its events refused per record and kept, and they go
//! through once its clock is set; a phone behind never jumps to another's time, says its clock
//! is wrong, and records no lifecycle event until it is set.

use gridsafe_client as client;
use gridsafe_core::Store;
use gridsafe_core::clock::now_ms;
use gridsafe_core::field;
use gridsafe_core::labels::Lang;
use gridsafe_core::lifecycle::EventKind;
use gridsafe_core::store::Action;
use gridsafe_server::store::ActionDetail;
use gridsafe_tests::fixtures;
use gridsafe_tests::relay::TestRelay;

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;

fn phone(dir: &std::path::Path, relay: &TestRelay, user: &str, skew_ms: i64) -> Store {
    let mut s = Store::create(dir.join(format!("{user}.sqlite"))).unwrap();
    s.set_clock_skew(skew_ms);
    s.import_directory(fixtures::DIRECTORY_JSON).unwrap();
    client::enroll(&mut s, &relay.url, user, "correct horse", user).unwrap();
    s
}

fn sync(s: &mut Store) -> client::Progress {
    client::sync_all(s, false, &mut |_| {}).unwrap()
}

fn claim(s: &mut Store, user: &str, hazard: &str) {
    fixtures::claim_fixed(s, user, hazard);
}

#[test]
fn phones_minutes_apart_keep_lifecycle_events_in_causal_order() {
    let relay = TestRelay::start(&["wang", "sun", "office"]);
    let dir = tempfile::tempdir().unwrap();
    // 王 (inspector) is four minutes ahead; 孙 (the e-bike lead department) four minutes behind:
    // eight minutes apart, within the ten-minute bound, so every reply 孙 writes carries a wall
    // clock earlier than what it answers.
    let mut wang = phone(dir.path(), &relay, "wang", 4 * MINUTE);
    let mut sun = phone(dir.path(), &relay, "sun", -4 * MINUTE);

    let h = fixtures::flying_lead_visit(&mut wang, "wang", "heping-1", 0);
    claim(&mut wang, "wang", &h);
    sync(&mut wang);
    sync(&mut sun);
    let claimed = sun.hazard(&h).unwrap().status;
    assert_eq!(claimed.state.as_str(), "rectified_claimed");
    let claim_hlc = claimed.history.last().unwrap().hlc;
    assert!(
        claim_hlc.ms > now_ms() + 3 * MINUTE,
        "the claim carries wang's clock, minutes ahead: {claim_hlc:?}"
    );

    // 孙 refuses the claim. By its own clock that is eight minutes before the claim; by what it
    // has seen, it is after.
    sun.transition(
        "sun",
        &h,
        Action {
            reason: Some("飞线仍在 the lead is still there".into()),
            deadline: Some(fixtures::in_days(7)),
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
        now_ms() - 4 * MINUTE < claim_hlc.ms,
        "sun's wall clock alone would have put the reject first"
    );
    sync(&mut sun);
    sync(&mut wang);
    assert_eq!(
        wang.hazard(&h).unwrap().status.state.as_str(),
        rejected.state.as_str()
    );

    // Claim again (ahead); the lead department closes it on the dashboard, on the relay's own
    // clock — four minutes behind the claim it closes.
    claim(&mut wang, "wang", &h);
    sync(&mut wang);
    let second_claim = wang.hazard(&h).unwrap().status.history.last().unwrap().hlc;
    let closed = relay.inspect(|r| {
        let sun = r.directory().unwrap().user("sun").unwrap().clone();
        r.web_action(&sun, &h, EventKind::Close, ActionDetail::default())
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
        close.hlc > second_claim && close.hlc.ms > now_ms() + 3 * MINUTE,
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
            ("notify", true),
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

fn kinds(s: &Store, h: &str) -> Vec<String> {
    s.hazard(h)
        .unwrap()
        .status
        .history
        .iter()
        .map(|e| e.kind.as_str().to_owned())
        .collect()
}

#[test]
fn a_phone_hours_ahead_is_refused_per_record_and_goes_through_once_its_clock_is_set() {
    let relay = TestRelay::start(&["wang", "sun"]);
    let dir = tempfile::tempdir().unwrap();
    let mut wang = phone(dir.path(), &relay, "wang", 6 * HOUR);

    // A visit on a clock six hours ahead: the venue and the inspection are taken; the hazard,
    // whose registration carries the wrong time, is refused for itself alone.
    let h = fixtures::flying_lead_visit(&mut wang, "wang", "heping-1", 0);
    let inspection = wang.hazard(&h).unwrap().header.inspection_id.unwrap();
    let p = sync(&mut wang);
    let why = &p
        .refused
        .iter()
        .find(|(id, _)| id == &h)
        .expect("refused")
        .1;
    assert!(why.contains("clock_ahead"), "{why}");
    assert!(
        relay
            .inspect(|r| r.doc_heads(&inspection).unwrap())
            .is_some()
    );
    assert!(relay.inspect(|r| r.doc_heads(&h).unwrap()).is_none());
    let status = wang.sync_status().unwrap();
    let warning = status.clock_warning.expect("the worker is told");
    assert!(warning.contains("快约 6 小时"), "{warning}");
    assert_eq!(status.pending_docs, 1, "the hazard waits, kept");
    // The worker reads why in words: no record or event id, no rule code.
    let words = |s: &Store, lang: Lang| {
        let screen = field::sync::sync_screen(s, lang).unwrap();
        let line = screen
            .refused
            .iter()
            .find(|r| r.what.contains("wang-店0"))
            .unwrap_or_else(|| panic!("the hazard is listed: {screen:?}"))
            .clone();
        for text in [&line.what, &line.why, &line.what_to_do, &line.at] {
            assert!(
                !text.contains(&h[..8]) && !text.contains('[') && !text.contains('_'),
                "{text}"
            );
        }
        (line, screen.clock_warning)
    };
    let (zh, clock) = words(&wang, Lang::Zh);
    assert_eq!(
        zh.why,
        "手机时间比中继快约 6 小时，请在手机设置中校准时间后再同步"
    );
    assert_eq!(
        clock.as_deref(),
        Some("手机时间比服务器快约 6 小时，请在手机设置中校准时间，然后同步一次")
    );
    let (en, clock) = words(&wang, Lang::En);
    assert!(
        en.why
            .starts_with("This phone's clock is about 6 hours ahead"),
        "{}",
        en.why
    );
    assert!(!clock.unwrap().contains('快'));
    // Syncing again on the wrong clock changes nothing and loses nothing.
    sync(&mut wang);
    assert_eq!(kinds(&wang, &h), ["register"]);

    // The worker sets the clock: the next sync rebuilds the hazard on the right time and sends it.
    wang.set_clock_skew(0);
    sync(&mut wang);
    let status = wang.sync_status().unwrap();
    assert_eq!(status.pending_docs, 0);
    assert_eq!(status.clock_warning, None);
    assert!(
        status
            .set_aside
            .iter()
            .any(|a| a.doc_id == h && a.origin == "local")
    );
    let (kept, clock) = words(&wang, Lang::Zh);
    assert_eq!(
        kept.why,
        "手机时间比中继快约 6 小时，请在手机设置中校准时间后再同步"
    );
    assert!(
        kept.what_to_do.contains("已按规则重建"),
        "{}",
        kept.what_to_do
    );
    assert_eq!(clock, None);
    let view = wang.hazard(&h).unwrap();
    // Stamped again on the set clock (at most the bound ahead: the phone's logical clock never
    // reads behind what the relay may have accepted from it).
    assert!(view.header.found_ms <= now_ms() + 10 * MINUTE);
    assert!(view.status.history[0].hlc.ms <= now_ms() + 10 * MINUTE);
    let on_relay = relay.config.open_store().unwrap().doc_heads(&h).unwrap();
    assert_eq!(on_relay, Some(wang.doc_heads(&h).unwrap()));

    // An event on a hazard the relay holds: refused while the clock is wrong, through after.
    wang.set_clock_skew(6 * HOUR);
    claim(&mut wang, "wang", &h);
    let p = sync(&mut wang);
    assert!(
        p.refused
            .iter()
            .any(|(id, why)| id == &h && why.contains("clock_ahead"))
    );
    let mut sun = phone(dir.path(), &relay, "sun", 0);
    sync(&mut sun);
    assert_eq!(kinds(&sun, &h), ["register"]);
    wang.set_clock_skew(0);
    sync(&mut wang);
    sync(&mut sun);
    assert_eq!(kinds(&sun, &h), ["register", "notify", "claim"]);
    assert_eq!(
        sun.hazard(&h).unwrap().status,
        wang.hazard(&h).unwrap().status
    );
}

#[test]
fn a_phone_hours_behind_does_not_jump_and_records_no_event_until_its_clock_is_set() {
    let relay = TestRelay::start(&["wang", "sun"]);
    let dir = tempfile::tempdir().unwrap();
    let mut wang = phone(dir.path(), &relay, "wang", 0);
    let h = fixtures::flying_lead_visit(&mut wang, "wang", "heping-1", 0);
    claim(&mut wang, "wang", &h);
    sync(&mut wang);

    // 孙's phone is six hours behind: it takes the records, and says its clock is wrong.
    let mut sun = phone(dir.path(), &relay, "sun", -6 * HOUR);
    sync(&mut sun);
    assert_eq!(kinds(&sun, &h), ["register", "notify", "claim"]);
    let warning = sun.sync_status().unwrap().clock_warning.expect("told");
    assert!(warning.contains("慢约 6 小时"), "{warning}");
    let reject = Action {
        reason: Some("飞线仍在".into()),
        deadline: Some(fixtures::in_days(7)),
        ..Action::new(EventKind::Reject)
    };
    let err = sun
        .transition("sun", &h, reject.clone())
        .unwrap_err()
        .to_string();
    assert!(err.contains("校准时间"), "{err}");
    assert_eq!(
        kinds(&sun, &h),
        ["register", "notify", "claim"],
        "nothing recorded"
    );

    // Clock set: the reject goes through, after the claim, and everyone agrees.
    sun.set_clock_skew(0);
    sun.transition("sun", &h, reject).unwrap();
    sync(&mut sun);
    assert_eq!(sun.sync_status().unwrap().clock_warning, None);
    sync(&mut wang);
    assert_eq!(kinds(&wang, &h), ["register", "notify", "claim", "reject"]);
    assert_eq!(
        wang.hazard(&h).unwrap().status,
        sun.hazard(&h).unwrap().status
    );
}

#[test]
fn a_phone_never_adopts_a_time_from_the_future() {
    // A record from a phone whose clock said 2031 (written straight into the relay's log, as a
    // relay that did not check would have kept it) reaches a phone: the phone's clock does not
    // follow it, and the phone says that something it received is far ahead.
    let relay = TestRelay::start(&["wang", "sun"]);
    let dir = tempfile::tempdir().unwrap();
    let mut wang = phone(dir.path(), &relay, "wang", 5 * 365 * 24 * HOUR);
    let h = fixtures::flying_lead_visit(&mut wang, "wang", "heping-1", 0);
    let (_, bytes) = wang.export_doc(&h).unwrap();
    let mut sun = phone(dir.path(), &relay, "sun", 0);
    sun.merge_doc(&h, &bytes).unwrap();
    let register = sun.hazard(&h).unwrap().status.history[0].hlc;
    assert!(register.ms > now_ms() + 4 * 365 * 24 * HOUR);
    // 孙's logical clock stays on its own clock (within the bound), not in 2031.
    let hlc_ms: i64 = sun
        .raw()
        .query_row("SELECT value FROM meta WHERE key = 'hlc'", [], |r| {
            r.get::<_, String>(0)
        })
        .unwrap()
        .split(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(hlc_ms <= now_ms() + 10 * MINUTE, "{hlc_ms}");
    let warning = sun.sync_status().unwrap().clock_warning.expect("told");
    assert!(warning.contains("慢约"), "{warning}");
    sun.set_clock_skew(0);
    let err = sun
        .transition("sun", &h, Action::new(EventKind::ConfirmMajor))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("校准时间"),
        "no event sorts after a time it cannot have seen: {err}"
    );
    // The relay's clock, learnt at the next sync, says 孙's is right: 孙 works again.
    sync(&mut sun);
    assert_eq!(sun.sync_status().unwrap().clock_warning, None);
}

/// The clock is ahead past the next midnight (Shanghai), whatever the hour this runs: the hazard
/// was found "tomorrow" and its deadline counted from then. Once the clock is set, the hazard is
/// made again on today's date, its deadline counted again from today, and the relay takes it.
#[test]
fn a_hazard_found_on_a_clock_ahead_past_midnight_goes_through_with_its_deadline_counted_again() {
    let today = gridsafe_core::clock::today();
    let midnight = gridsafe_core::clock::start_of_day_ms(today + time::Duration::days(1));
    let relay = TestRelay::start(&["wang"]);
    let dir = tempfile::tempdir().unwrap();
    let mut wang = phone(dir.path(), &relay, "wang", midnight - now_ms() + HOUR);
    let h = fixtures::flying_lead_visit(&mut wang, "wang", "heping-1", 0);
    let tomorrow = wang.hazard(&h).unwrap().header.deadline.unwrap();
    assert!(
        tomorrow > gridsafe_core::clock::format_date(today),
        "{tomorrow}"
    );
    sync(&mut wang);
    assert!(relay.inspect(|r| r.doc_heads(&h).unwrap()).is_none());

    wang.set_clock_skew(0);
    sync(&mut wang);
    assert_eq!(wang.sync_status().unwrap().pending_docs, 0);
    assert!(relay.inspect(|r| r.doc_heads(&h).unwrap()).is_some());
    let view = wang.hazard(&h).unwrap();
    let days = |d: &str| gridsafe_core::clock::parse_date(d).unwrap().to_julian_day();
    assert_eq!(
        days(&tomorrow) - days(view.header.deadline.as_deref().unwrap()),
        (gridsafe_core::clock::ms_to_date(midnight + HOUR) - today).whole_days() as i32,
        "the deadline moved back with the day found"
    );
    assert_eq!(
        gridsafe_core::clock::ms_to_date(view.header.found_ms),
        today
    );
}
