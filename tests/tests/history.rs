//! History that cannot be rewritten (issue #26), tried as a tampering phone and a compromised
//! relay would, with raw automerge changes: a hazard's events are appended only, its header and a
//! sealed inspection never change, no event comes from the future — at the relay and on a phone
//! pulling from it. A refused change is set aside, the stored history stays as it was, and the
//! same phone's later honest events still sync.

use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, ChangeHash, ObjType, ROOT, ReadDoc, ScalarValue, Value};
use gridsafe_client as client;
use gridsafe_core::Store;
use gridsafe_core::lifecycle::EventKind;
use gridsafe_core::store::Action;
use gridsafe_core::sync::{DocChanges, SyncResponse};
use gridsafe_tests::fixtures;
use gridsafe_tests::relay::TestRelay;
use serde_bytes::ByteBuf;

fn sync(s: &mut Store) -> client::Progress {
    client::sync_all(s, false, &mut |_| {}).unwrap()
}

fn actor_of(s: &Store, user: &str) -> ActorId {
    let (hex_actor, _) = s
        .local_actors()
        .unwrap()
        .into_iter()
        .find(|(_, u)| u == user)
        .unwrap();
    ActorId::from(hex::decode(hex_actor).unwrap())
}

/// A record as the phone holds it, opened for raw edits by `actor`.
fn raw_doc(s: &Store, id: &str, actor: &ActorId) -> AutoCommit {
    let (_, bytes) = s.export_doc(id).unwrap();
    AutoCommit::load(&bytes).unwrap().with_actor(actor.clone())
}

fn changes_since(doc: &mut AutoCommit, heads: &[ChangeHash]) -> Vec<ByteBuf> {
    doc.get_changes(heads)
        .iter()
        .map(|c| ByteBuf::from(c.raw_bytes().to_vec()))
        .collect()
}

/// Pushes raw changes to one record as `s`'s device, bypassing the phone's own rules.
fn push_raw(
    relay: &TestRelay,
    s: &Store,
    id: &str,
    kind: &str,
    changes: Vec<ByteBuf>,
) -> SyncResponse {
    let token = s.enrollment().unwrap().unwrap().1;
    let mut req = s.sync_request(64 << 20).unwrap();
    req.push = vec![DocChanges {
        doc_id: id.into(),
        kind: kind.into(),
        changes,
        heads: vec![],
    }];
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut r = agent
        .post(&format!("{}/v1/sync", relay.url))
        .header("Authorization", &format!("Bearer {token}"))
        .header("Content-Type", "application/cbor")
        .send(&req.encode()[..])
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    SyncResponse::decode(&r.body_mut().read_to_vec().unwrap()).unwrap()
}

/// The relay's answer for record `id`: `Err(reason)` when refused.
fn verdict(resp: &SyncResponse, id: &str) -> Result<(), String> {
    if let Some(r) = resp.refused.iter().find(|r| r.doc_id == id) {
        assert!(
            r.rebuild,
            "a history refusal tells the phone to rebuild: {r:?}"
        );
        return Err(r.reason.clone());
    }
    assert!(resp.accepted.iter().any(|a| a.doc_id == id), "{resp:?}");
    Ok(())
}

fn events(doc: &AutoCommit) -> automerge::ObjId {
    doc.get(ROOT, "events").unwrap().unwrap().1
}

fn event(doc: &AutoCommit, i: usize) -> automerge::ObjId {
    doc.get(events(doc), i).unwrap().unwrap().1
}

/// Copies event `from` (a map of scalars) into a new map at `at` in the events list.
fn copy_event(doc: &mut AutoCommit, from: usize, at: usize) {
    let src = event(doc, from);
    let fields: Vec<(String, ScalarValue)> = doc
        .keys(&src)
        .filter_map(|k| match doc.get(&src, &k).unwrap() {
            Some((Value::Scalar(s), _)) => Some((k, s.into_owned())),
            _ => None,
        })
        .collect();
    let list = events(doc);
    let new = doc.insert_object(&list, at, ObjType::Map).unwrap();
    for (k, v) in fields {
        doc.put(&new, k, v).unwrap();
    }
}

fn claim(s: &mut Store, user: &str, hazard: &str) {
    fixtures::claim_fixed(s, user, hazard);
}

/// 王 registers a flying lead and claims it fixed; 孙 (the e-bike lead department) rejects the
/// claim. Returns the phones and the hazard.
fn a_history(dir: &std::path::Path, relay: &TestRelay) -> (Store, Store, String) {
    let mut wang = relay.phone(dir, "wang");
    let mut sun = relay.phone(dir, "sun");
    let h = fixtures::flying_lead_visit(&mut wang, "wang", "heping-1", 0);
    claim(&mut wang, "wang", &h);
    sync(&mut wang);
    sync(&mut sun);
    sun.transition(
        "sun",
        &h,
        Action {
            reason: Some("飞线仍在".into()),
            deadline: Some(fixtures::in_days(7)),
            ..Action::new(EventKind::Reject)
        },
    )
    .unwrap();
    sync(&mut sun);
    sync(&mut wang);
    let kinds: Vec<String> = wang
        .hazard(&h)
        .unwrap()
        .status
        .history
        .iter()
        .map(|e| e.kind.as_str().to_owned())
        .collect();
    assert_eq!(kinds, ["register", "notify", "claim", "reject"]);
    (wang, sun, h)
}

fn relay_history(relay: &TestRelay, h: &str) -> (Vec<String>, Vec<String>) {
    relay.inspect(|r| {
        let office = r.directory().unwrap().user("office").unwrap().clone();
        let heads = r.doc_heads(h).unwrap().unwrap();
        let view = r.hazard_view(&office, h).unwrap().1;
        (
            heads,
            view.history
                .iter()
                .map(|e| format!("{}:{}", e.kind.as_str(), e.id))
                .collect(),
        )
    })
}

#[test]
fn a_tampering_phone_cannot_delete_replace_reorder_or_modify_events() {
    let relay = TestRelay::start(&["wang", "sun", "office"]);
    let dir = tempfile::tempdir().unwrap();
    let (wang, _sun, h) = a_history(dir.path(), &relay);
    let actor = actor_of(&wang, "wang");
    let before = relay_history(&relay, &h);

    type Attack = (&'static str, &'static str, Box<dyn Fn(&mut AutoCommit)>);
    let attacks: Vec<Attack> = vec![
        (
            "delete 孙's reject",
            "event_deleted",
            Box::new(|d| {
                let list = events(d);
                d.delete(&list, 3).unwrap();
            }),
        ),
        (
            "replace 孙's reject with a copy of 王's claim",
            "event_deleted",
            Box::new(|d| {
                let list = events(d);
                d.delete(&list, 3).unwrap();
                copy_event(d, 2, 3);
            }),
        ),
        (
            "reorder: the claim moved after the reject",
            "event_deleted",
            Box::new(|d| {
                copy_event(d, 2, 4);
                let list = events(d);
                d.delete(&list, 2).unwrap();
            }),
        ),
        (
            "modify 孙's reason",
            "event_modified",
            Box::new(|d| {
                let e = event(d, 3);
                d.put(&e, "reason", "已整改").unwrap();
            }),
        ),
        (
            "modify 孙's kind into a close",
            "event_modified",
            Box::new(|d| {
                let e = event(d, 3);
                d.put(&e, "kind", "close").unwrap();
            }),
        ),
        (
            "modify 王's own claim's time",
            "event_modified",
            Box::new(|d| {
                let e = event(d, 2);
                d.put(&e, "ms", 0_i64).unwrap();
            }),
        ),
        (
            "a close written by 王, who may not close",
            "event_not_allowed",
            Box::new(|d| {
                copy_event(d, 3, 4);
                let e = event(d, 4);
                d.put(&e, "id", gridsafe_core::store::new_id()).unwrap();
                d.put(&e, "kind", "close").unwrap();
                d.put(&e, "ms", gridsafe_core::clock::now_ms()).unwrap();
            }),
        ),
        (
            "the header's severity",
            "header_changed",
            Box::new(|d| {
                let header = d.get(ROOT, "hazard").unwrap().unwrap().1;
                d.put(&header, "venue_name", "别家小店").unwrap();
            }),
        ),
        (
            "a claim from 2031",
            "clock_ahead",
            Box::new(|d| {
                copy_event(d, 2, 4);
                let e = event(d, 4);
                d.put(&e, "id", gridsafe_core::store::new_id()).unwrap();
                d.put(&e, "ms", 1_924_992_000_000_i64).unwrap();
            }),
        ),
    ];
    for (what, code, attack) in &attacks {
        let mut doc = raw_doc(&wang, &h, &actor);
        let heads = doc.get_heads();
        attack(&mut doc);
        let resp = push_raw(&relay, &wang, &h, "hazard", changes_since(&mut doc, &heads));
        let reason = verdict(&resp, &h).expect_err(what);
        assert!(reason.contains(code), "{what}: {reason}");
        assert_eq!(
            relay_history(&relay, &h),
            before,
            "{what}: the stored history is unchanged"
        );
    }
    // Every refused change is kept for the office, with its reason.
    let kept: i64 = relay.inspect(|r| {
        r.db()
            .one("SELECT count(*) FROM refused_changes", &[])
            .unwrap()
            .unwrap()
            .int(0)
            .unwrap()
    });
    assert_eq!(kept, attacks.len() as i64);
    // The office sees them on the device page, in words.
    let mut office = gridsafe_tests::browser::Browser::new(&relay.url);
    assert_eq!(office.login("office", "correct horse"), 303);
    let (status, page, _) = office.get("/devices");
    assert_eq!(status, 200);
    assert!(page.contains("被拒绝的修改"), "{page}");
    assert!(
        page.contains("事件时间超前于接收方时钟"),
        "the latest, in words: {page}"
    );

    // An honest event after all that is accepted.
    let mut doc = raw_doc(&wang, &h, &actor);
    let heads = doc.get_heads();
    copy_event(&mut doc, 2, 4);
    let e = event(&doc, 4);
    doc.put(&e, "id", gridsafe_core::store::new_id()).unwrap();
    doc.put(&e, "ms", gridsafe_core::clock::now_ms()).unwrap();
    let resp = push_raw(&relay, &wang, &h, "hazard", changes_since(&mut doc, &heads));
    verdict(&resp, &h).unwrap();
    assert_eq!(relay_history(&relay, &h).1.len(), 5);
}

#[test]
fn a_refused_change_never_blocks_the_same_phones_later_events() {
    let relay = TestRelay::start(&["wang", "sun", "office"]);
    let dir = tempfile::tempdir().unwrap();
    let (mut wang, mut sun, h) = a_history(dir.path(), &relay);
    let before = relay_history(&relay, &h);

    // The tampered change lands in 王's own store (a phone whose app was modified): every later
    // change to the hazard depends on it.
    let actor = actor_of(&wang, "wang");
    let mut doc = raw_doc(&wang, &h, &actor);
    let e = event(&doc, 2);
    doc.put(&e, "text", "整改完毕（事后补写）").unwrap();
    wang.raw()
        .execute(
            "UPDATE docs SET snapshot = ?2, chunks = 0, heads = ?3, dirty = 1 WHERE id = ?1",
            rusqlite::params![h, doc.save(), {
                let mut v: Vec<String> = doc.get_heads().iter().map(|c| c.to_string()).collect();
                v.sort();
                v.join(",")
            }],
        )
        .unwrap();
    wang.raw()
        .execute("DELETE FROM doc_chunks WHERE doc_id = ?1", [&h])
        .unwrap();

    // Then an honest claim on top of it.
    claim(&mut wang, "wang", &h);
    let p = sync(&mut wang);
    assert!(
        p.refused
            .iter()
            .any(|(id, why)| id == &h && why.contains("event_modified")),
        "{:?}",
        p.refused
    );
    let status = wang.sync_status().unwrap();
    assert_eq!(
        status.pending_docs, 0,
        "rebuilt and pushed again in the same sync"
    );
    let aside = status
        .set_aside
        .iter()
        .find(|a| a.doc_id == h)
        .expect("the refused change is kept, with why");
    assert_eq!(aside.origin, "local");
    assert!(aside.reason.contains("event_modified"), "{}", aside.reason);

    // The relay has the honest claim on the untouched history; every phone agrees.
    let (_, after) = relay_history(&relay, &h);
    assert_eq!(after.len(), 5, "{after:?}");
    assert_eq!(
        after[..4],
        before.1[..],
        "the first four events as they were"
    );
    assert!(after[4].starts_with("claim:"));
    sync(&mut sun);
    let on_sun = sun.hazard(&h).unwrap().status;
    let on_wang = wang.hazard(&h).unwrap().status;
    assert_eq!(on_sun, on_wang);
    assert_eq!(on_sun.state.as_str(), "rectified_claimed");
    let reject = on_sun
        .history
        .iter()
        .find(|e| e.kind.as_str() == "reject")
        .unwrap();
    assert_eq!(
        reject.reason.as_deref(),
        Some("飞线仍在"),
        "孙's words stand"
    );
}

/// What a compromised relay sends: changes on top of what the phone holds.
fn pull_of(id: &str, kind: &str, changes: Vec<ByteBuf>) -> SyncResponse {
    SyncResponse {
        protocol: gridsafe_core::sync::PROTOCOL,
        accepted: vec![],
        refused: vec![],
        pull: vec![DocChanges {
            doc_id: id.into(),
            kind: kind.into(),
            changes,
            heads: vec![],
        }],
        cursor: 0,
        more: false,
        directory: None,
        templates: vec![],
        actors: vec![],
        server_ms: 0,
        dropped: vec![],
        issuer: None,
        notice_block: None,
        notices_recorded: vec![],
    }
}

#[test]
fn a_phone_refuses_rewritten_history_from_the_relay() {
    let relay = TestRelay::start(&["wang", "sun", "office"]);
    let dir = tempfile::tempdir().unwrap();
    let (wang, mut sun, h) = a_history(dir.path(), &relay);
    let before = sun.hazard(&h).unwrap().status;
    let cursor = sun.sync_status().unwrap().cursor;
    let relay_actor = ActorId::random();
    let mut doc = raw_doc(&wang, &h, &relay_actor);
    let heads = doc.get_heads();
    let list = events(&doc);
    doc.delete(&list, 3).unwrap();
    let mut bad = pull_of(&h, "hazard", changes_since(&mut doc, &heads));
    bad.cursor = cursor;
    let outcome = sun.apply_sync_response(&bad).unwrap();
    assert_eq!(outcome.pulled, 0);
    assert!(
        outcome
            .refused
            .iter()
            .any(|(id, why)| id == &h && why.contains("event_deleted")),
        "{:?}",
        outcome.refused
    );
    assert_eq!(sun.hazard(&h).unwrap().status, before, "孙's reject stays");
    let aside = sun.sync_status().unwrap().set_aside;
    assert!(
        aside.iter().any(|a| a.doc_id == h && a.origin == "pulled"),
        "{aside:?}"
    );
}

#[test]
fn a_sealed_inspection_cannot_change_at_the_relay_or_on_merge() {
    let relay = TestRelay::start(&["wang", "office"]);
    let dir = tempfile::tempdir().unwrap();
    let mut wang = relay.phone(dir.path(), "wang");
    let h = fixtures::flying_lead_visit(&mut wang, "wang", "heping-1", 0);
    let i = wang
        .hazard(&h)
        .unwrap()
        .header
        .inspection_id
        .expect("from an inspection");
    sync(&mut wang);
    let mut office = relay.phone(dir.path(), "office");
    sync(&mut office);
    let sealed = office.export_doc(&i).unwrap().1;
    let relay_heads = relay.inspect(|r| r.doc_heads(&i).unwrap().unwrap());

    let insp = |d: &AutoCommit| d.get(ROOT, "inspection").unwrap().unwrap().1;
    type Attack = (&'static str, Box<dyn Fn(&mut AutoCommit)>);
    let attacks: Vec<Attack> = vec![
        (
            "an answer",
            Box::new(move |d| {
                let answers = d.get(insp(d), "answers").unwrap().unwrap().1;
                let key = d.keys(&answers).next().unwrap();
                let first = d.get(&answers, &key).unwrap().unwrap().1;
                d.put(&first, "na", true).unwrap();
            }),
        ),
        (
            "a photo's hash",
            Box::new(move |d| {
                let photos = d.get(insp(d), "photos").unwrap().unwrap().1;
                let p = d.get(&photos, 0).unwrap().unwrap().1;
                d.put(&p, "sha256", "0".repeat(64)).unwrap();
            }),
        ),
        (
            "the seal's root",
            Box::new(move |d| {
                let finish = d.get(insp(d), "finish").unwrap().unwrap().1;
                let manifest = d.get(&finish, "manifest").unwrap().unwrap().1;
                d.put(&manifest, "root", "0".repeat(64)).unwrap();
            }),
        ),
        (
            "the seal removed",
            Box::new(move |d| {
                let i = insp(d);
                d.put(&i, "finish", ScalarValue::Null).unwrap();
            }),
        ),
        (
            "a photo added",
            Box::new(move |d| {
                let photos = d.get(insp(d), "photos").unwrap().unwrap().1;
                d.insert_object(&photos, 1, ObjType::Map).unwrap();
            }),
        ),
    ];
    let actor = actor_of(&wang, "wang");
    for (what, attack) in &attacks {
        let mut doc = raw_doc(&wang, &i, &actor);
        let heads = doc.get_heads();
        attack(&mut doc);
        let changes = changes_since(&mut doc, &heads);
        let resp = push_raw(&relay, &wang, &i, "inspection", changes.clone());
        let reason = resp
            .refused
            .iter()
            .find(|r| r.doc_id == i)
            .unwrap_or_else(|| panic!("{what}: refused at the relay"))
            .reason
            .clone();
        assert!(
            reason.contains("sealed") || reason.contains("malformed"),
            "{what}: {reason}"
        );
        assert_eq!(
            relay.inspect(|r| r.doc_heads(&i).unwrap().unwrap()),
            relay_heads
        );

        let outcome = office
            .apply_sync_response(&pull_of(&i, "inspection", changes))
            .unwrap();
        assert!(
            outcome.refused.iter().any(|(id, _)| id == &i),
            "{what}: refused on merge"
        );
        assert_eq!(
            office.export_doc(&i).unwrap().1,
            sealed,
            "{what}: unchanged"
        );
    }
}

/// The `gridsafe` command line, built next to this test by `cargo test --workspace`.
fn cli(store: &std::path::Path, args: &[&str]) -> std::process::Output {
    let exe = std::env::current_exe().unwrap();
    let bin = exe
        .parent()
        .and_then(std::path::Path::parent)
        .unwrap()
        .join("gridsafe");
    assert!(
        bin.exists(),
        "{} is missing: cargo build -p gridsafe-cli",
        bin.display()
    );
    std::process::Command::new(bin)
        .arg("--store")
        .arg(store)
        .args(args)
        .env_remove("GRIDSAFE_USER")
        .output()
        .unwrap()
}

#[test]
fn an_enrolled_phone_acts_only_as_its_user() {
    let relay = TestRelay::start(&["wang", "li"]);
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path().join("wang.sqlite");
    let directory =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/lvxiang-directory.json");
    for args in [
        vec!["init"],
        vec!["directory", "import", directory.to_str().unwrap()],
        vec![
            "--as",
            "wang",
            "enroll",
            "--server",
            &relay.url,
            "--password",
            "correct horse",
        ],
    ] {
        let o = cli(&s, &args);
        assert!(
            o.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let add = |user: &str| {
        cli(
            &s,
            &[
                "--as",
                user,
                "venue",
                "add",
                "--name",
                "小店",
                "--grid",
                "heping-1",
                "--type",
                "street_shop",
                "--gas",
                "none",
            ],
        )
    };
    let o = add("li");
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("enrolled for wang") && err.contains("cannot act as li"),
        "{err}"
    );
    assert!(add("wang").status.success());
}
