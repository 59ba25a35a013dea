//! Phones and the office through a real relay (axum, in-process on 127.0.0.1:0).

use std::path::Path;

use automerge::transaction::Transactable;
use gridsafe_client as client;
use gridsafe_core::Store;
use gridsafe_core::lifecycle::EventKind;
use gridsafe_core::store::{Action, NewPhoto, NewVenue};
use gridsafe_core::sync::{DeviceStatus, DocChanges, PROTOCOL, SyncRequest};
use gridsafe_server::store::RelayStore;
use gridsafe_tests::browser::Browser;
use gridsafe_tests::fixtures;
use gridsafe_tests::relay::TestRelay;
use serde_bytes::ByteBuf;

/// The relay of these scenarios, with the users they sign in as.
fn start_relay() -> TestRelay {
    TestRelay::start(&["wang", "li", "sun", "office", "admin"])
}

fn phone(dir: &Path, name: &str, relay: &TestRelay, user: &str) -> Store {
    let mut s = Store::create(dir.join(name)).unwrap();
    s.import_directory(fixtures::DIRECTORY_JSON).unwrap();
    client::enroll(&mut s, &relay.url, user, "correct horse", name).unwrap();
    s
}

fn sync(s: &mut Store) -> client::Progress {
    client::sync(s, &mut |_| {}).unwrap()
}

fn inspection_with_hazard(s: &mut Store, name: &str) -> (String, String) {
    let v = s
        .add_venue(
            "wang",
            NewVenue {
                name: name.into(),
                grid_id: "heping-1".into(),
                profile: fixtures::restaurant_profile(),
                ..Default::default()
            },
        )
        .unwrap();
    let i = s.start_inspection("wang", &v.id, "lx.ebike", None).unwrap();
    let answers = fixtures::answers(fixtures::EBIKE_ANSWERS, &[]);
    s.answer("wang", &i.id, &answers).unwrap();
    s.attach_photo(
        "wang",
        &i.id,
        NewPhoto {
            bytes: fixtures::PHOTO_BEFORE.to_vec(),
            item_id: Some("ebike.flying_lead".into()),
            role: "before".into(),
            ..Default::default()
        },
    )
    .unwrap();
    let h = s
        .finish_inspection("wang", &i.id)
        .unwrap()
        .hazards
        .remove(0)
        .id;
    (v.id, h)
}

#[test]
fn concurrent_offline_edits_converge_through_the_relay() {
    let relay = start_relay();
    let dir = tempfile::tempdir().unwrap();
    let mut wang = phone(dir.path(), "wang.sqlite", &relay, "wang");
    let mut sun = phone(dir.path(), "sun.sqlite", &relay, "sun");
    let (venue, hazard) = inspection_with_hazard(&mut wang, "老王车行");
    let p = sync(&mut wang);
    assert_eq!(p.round_trips, 1, "a day's records in one round trip");
    // The reviewer (城运中心) never saw this venue: it arrives by cursor, with the hazard.
    sync(&mut sun);
    assert_eq!(sun.venue(&venue).unwrap().name, "老王车行");
    assert_eq!(
        sun.hazard(&hazard).unwrap().status.state.as_str(),
        "registered"
    );
    // Offline on both sides: the inspector claims with an after photo while the reviewer, who has
    // not seen the claim, records the treatment plan. Then both sync, and the reviewer closes.
    let after = NewPhoto {
        bytes: fixtures::PHOTO_AFTER.to_vec(),
        role: "after".into(),
        ..Default::default()
    };
    fixtures::serve_notice(&mut wang, "wang", &hazard);
    wang.transition(
        "wang",
        &hazard,
        Action {
            photo: Some(after),
            ..Action::new(EventKind::Claim)
        },
    )
    .unwrap();
    sun.transition(
        "sun",
        &hazard,
        Action {
            text: Some(fixtures::PLAN_JSON.into()),
            ..Action::new(EventKind::Plan)
        },
    )
    .unwrap();
    sync(&mut wang);
    sync(&mut sun);
    assert_eq!(
        sun.hazard(&hazard).unwrap().status.state.as_str(),
        "rectified_claimed"
    );
    sun.transition("sun", &hazard, Action::new(EventKind::Close))
        .unwrap();
    sync(&mut sun);
    sync(&mut wang);
    let w = wang.hazard(&hazard).unwrap();
    assert_eq!(
        w.status.state.as_str(),
        "closed",
        "the office's decision reached the inspector"
    );
    assert_eq!(w.status, sun.hazard(&hazard).unwrap().status);
    assert!(
        w.status.plan.is_some() && w.status.history.iter().all(|e| e.applied),
        "{:?}",
        w.status.history
    );
    let relay_heads = relay.inspect(|r| r.doc_heads(&hazard).unwrap().unwrap());
    assert_eq!(wang.doc_heads(&hazard).unwrap(), relay_heads);
    assert_eq!(sun.doc_heads(&hazard).unwrap(), relay_heads);
    assert_eq!(wang.sync_status().unwrap().pending_docs, 0);

    // The relay's projections hold what the phones derive, by the same code.
    let cols =
        "id, village, domain, state, severity, is_open, awaiting, due_date, lead_depts, closed_at";
    let rows = |conn: &rusqlite::Connection| -> Vec<Vec<String>> {
        let mut stmt = conn
            .prepare(&format!("SELECT {cols} FROM hazards_idx ORDER BY id"))
            .unwrap();
        let n = stmt.column_count();
        stmt.query_map([], |r| {
            (0..n)
                .map(|i| {
                    r.get::<_, rusqlite::types::Value>(i)
                        .map(|v| format!("{v:?}"))
                })
                .collect()
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
    };
    let relay_db = rusqlite::Connection::open(relay.data.path().join("relay.sqlite")).unwrap();
    assert_eq!(rows(&relay_db), rows(wang.raw()));
    assert_eq!(rows(&relay_db).len(), 1);
    let summary = relay.inspect(|r| r.hazard_summary("2099-01-01").unwrap());
    assert_eq!(summary.len(), 1, "{summary:?}");
    assert_eq!(
        (
            summary[0].village.as_str(),
            summary[0].domain.as_str(),
            summary[0].state.as_str()
        ),
        ("heping", "ebike", "closed")
    );
    assert_eq!(summary[0].overdue, 0, "a closed hazard is never overdue");
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let m = agent
        .get(&format!("{}/metrics", relay.url))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    assert!(m.contains(r#"gridsafe_hazards{village="heping",domain="ebike",state="closed",severity="general"} 1"#), "{m}");
    // Derived again from the change log (`admin reindex`), the rows are the same.
    let venues_before = relay_db
        .query_row("SELECT count(*) FROM venues_idx", [], |r| {
            r.get::<_, i64>(0)
        })
        .unwrap();
    relay.inspect(|r| r.rebuild_projections().unwrap());
    assert_eq!(rows(&relay_db), rows(wang.raw()));
    assert_eq!(
        relay_db
            .query_row("SELECT count(*) FROM venues_idx", [], |r| r
                .get::<_, i64>(0))
            .unwrap(),
        venues_before
    );
    assert_eq!(venues_before, 1);
}

fn post(url: &str, token: Option<&str>, body: &[u8]) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut req = agent.post(url).header("Content-Type", "application/cbor");
    if let Some(t) = token {
        req = req.header("Authorization", &format!("Bearer {t}"));
    }
    let mut resp = req.send(body).unwrap();
    let status = resp.status().as_u16();
    (
        status,
        String::from_utf8_lossy(&resp.body_mut().read_to_vec().unwrap_or_default()).into_owned(),
    )
}

#[test]
fn scope_actors_revocation_and_bad_bodies_are_enforced() {
    let relay = start_relay();
    let dir = tempfile::tempdir().unwrap();
    let mut wang = phone(dir.path(), "wang.sqlite", &relay, "wang");
    let (venue, _) = inspection_with_hazard(&mut wang, "越权测试");
    sync(&mut wang);
    let (_, wang_token, _) = wang.enrollment().unwrap().unwrap();
    let li = phone(dir.path(), "li.sqlite", &relay, "li");
    let (_, li_token, _) = li.enrollment().unwrap().unwrap();
    let url = format!("{}/v1/sync", relay.url);
    let req = |push: Vec<DocChanges>| SyncRequest {
        protocol: PROTOCOL,
        cursor: 0,
        directory_version: 0,
        templates: vec![],
        push,
        more_to_push: false,
        status: DeviceStatus::default(),
    };
    let changes_before = relay.inspect(|r| r.counts().unwrap().1);

    // li replays wang's changes: they carry an actor not bound to li's device → refused.
    let venue_bytes = automerge::AutoCommit::load(&wang.export_doc(&venue).unwrap().1).unwrap();
    let mut doc = venue_bytes;
    let wang_changes: Vec<ByteBuf> = doc
        .get_changes(&[])
        .iter()
        .map(|c| ByteBuf::from(c.raw_bytes().to_vec()))
        .collect();
    let stolen = req(vec![DocChanges {
        doc_id: venue.clone(),
        kind: "venue".into(),
        changes: wang_changes,
        heads: vec![],
    }]);
    // li edits wang's venue with li's own actor: outside li's grids → refused.
    let li_actor = li
        .local_actors()
        .unwrap()
        .into_iter()
        .find(|(_, u)| u == "li")
        .map(|(a, _)| a);
    let li_actor =
        automerge::ActorId::from(hex::decode(li_actor.unwrap_or_else(|| "00".repeat(16))).unwrap());
    let mut forged = doc.fork().with_actor(li_actor);
    let vobj = match automerge::ReadDoc::get(&forged, automerge::ROOT, "venue").unwrap() {
        Some((_, o)) => o,
        None => panic!("venue map"),
    };
    forged.put(&vobj, "name", "被篡改").unwrap();
    let heads = doc.get_heads();
    let forged_changes: Vec<ByteBuf> = forged
        .get_changes(&heads)
        .iter()
        .map(|c| ByteBuf::from(c.raw_bytes().to_vec()))
        .collect();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let send = |token: &str, r: &SyncRequest| {
        let mut resp = agent
            .post(&url)
            .header("Authorization", &format!("Bearer {token}"))
            .send(&r.encode()[..])
            .unwrap();
        let status = resp.status().as_u16();
        let bytes = resp
            .body_mut()
            .with_config()
            .limit(64 << 20)
            .read_to_vec()
            .unwrap();
        (status, bytes)
    };
    let (status, bytes) = send(&li_token, &stolen);
    assert_eq!(status, 200);
    let resp = gridsafe_core::sync::SyncResponse::decode(&bytes).unwrap();
    assert!(
        resp.refused[0].reason.contains("not bound to this device"),
        "{:?}",
        resp.refused
    );
    let (status, bytes) = send(
        &li_token,
        &req(vec![DocChanges {
            doc_id: venue.clone(),
            kind: "venue".into(),
            changes: forged_changes,
            heads: vec![],
        }]),
    );
    assert_eq!(status, 200);
    let resp = gridsafe_core::sync::SyncResponse::decode(&bytes).unwrap();
    assert_eq!(resp.accepted.len(), 0);
    assert!(
        resp.refused[0].reason.contains("outside"),
        "{:?}",
        resp.refused
    );
    // li's pull shows nothing of wang's grid.
    assert!(resp.pull.is_empty(), "cross-scope read");
    assert_eq!(
        relay.inspect(|r| r.counts().unwrap().1),
        changes_before,
        "nothing stored"
    );

    // Replaying wang's whole push is a no-op.
    let replay = wang.sync_request(usize::MAX).unwrap();
    assert!(replay.push.is_empty(), "wang has nothing pending");
    let mut all = automerge::AutoCommit::load(&wang.export_doc(&venue).unwrap().1).unwrap();
    let again: Vec<ByteBuf> = all
        .get_changes(&[])
        .iter()
        .map(|c| ByteBuf::from(c.raw_bytes().to_vec()))
        .collect();
    let (status, bytes) = send(
        &wang_token,
        &req(vec![DocChanges {
            doc_id: venue.clone(),
            kind: "venue".into(),
            changes: again,
            heads: vec![],
        }]),
    );
    assert_eq!(status, 200);
    assert_eq!(
        gridsafe_core::sync::SyncResponse::decode(&bytes)
            .unwrap()
            .accepted
            .len(),
        1
    );
    assert_eq!(
        relay.inspect(|r| r.counts().unwrap().1),
        changes_before,
        "a replayed push duplicates nothing"
    );

    // Malformed body, wrong protocol version, no token: clear 4xx, and the relay keeps serving.
    assert_eq!(post(&url, Some(&wang_token), b"\x00\x01garbage").0, 400);
    let mut v2 = req(vec![]);
    v2.protocol = 2;
    let (status, text) = post(&url, Some(&wang_token), &v2.encode());
    assert_eq!(status, 400);
    assert!(text.contains("version 2"), "{text}");
    assert_eq!(post(&url, None, &req(vec![]).encode()).0, 401);
    assert_eq!(post(&url, Some("nonsense"), &req(vec![]).encode()).0, 401);
    // Revoked device → 401.
    let li_device = relay.inspect(|r| {
        r.devices()
            .unwrap()
            .into_iter()
            .find(|d| d.user_id == "li")
            .unwrap()
            .id
    });
    relay.inspect(|r| r.revoke(&li_device).unwrap());
    assert_eq!(send(&li_token, &req(vec![])).0, 401);
    assert_eq!(
        send(&wang_token, &req(vec![])).0,
        200,
        "others keep syncing"
    );
    // Wrong password at enrolment.
    let mut x = Store::create(dir.path().join("x.sqlite")).unwrap();
    x.import_directory(fixtures::DIRECTORY_JSON).unwrap();
    assert!(
        client::enroll(&mut x, &relay.url, "wang", "wrong", "x")
            .unwrap_err()
            .to_string()
            .contains("401")
    );
    assert!(
        client::enroll(&mut x, &relay.url, "admin", "correct horse", "x")
            .unwrap_err()
            .to_string()
            .contains("403")
    );
    // Health and metrics.
    let agent2: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let m = agent2
        .get(&format!("{}/metrics", relay.url))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    assert!(
        m.contains("gridsafe_syncs_total") && m.contains("gridsafe_docs_refused_total 2"),
        "{m}"
    );
    assert_eq!(
        agent2
            .get(&format!("{}/healthz", relay.url))
            .call()
            .unwrap()
            .body_mut()
            .read_to_string()
            .unwrap(),
        "ok"
    );
}

#[test]
fn photos_upload_resumably_and_download_only_in_scope() {
    let relay = start_relay();
    let dir = tempfile::tempdir().unwrap();
    let mut wang = phone(dir.path(), "wang.sqlite", &relay, "wang");
    let (_, hazard) = inspection_with_hazard(&mut wang, "照片小店");
    sync(&mut wang);
    let (server, token, _) = wang.enrollment().unwrap().unwrap();
    // The evidence copy of the hazard's before photo.
    let sha = wang.hazard(&hazard).unwrap().header.photos[0]
        .sha256
        .clone();
    let bytes = wang.blob(&sha).unwrap();
    let chunk = 1024;
    assert!(
        bytes.len() > 6 * chunk,
        "a photo of several chunks ({} bytes)",
        bytes.len()
    );
    let agent = client::agent();
    // Bytes that do not match the hash are refused, and nothing is kept of them.
    let mut r = agent
        .put(&format!("{server}/v1/blobs/{sha}?offset=0&total=20"))
        .header("Authorization", &format!("Bearer {token}"))
        .send(&[0u8; 20][..])
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert!(
        r.body_mut()
            .read_to_string()
            .unwrap()
            .contains("do not match")
    );
    // Cut at 30 %, then at 70 %, then resume: the relay holds exactly the bytes.
    let thirty = bytes.len() * 3 / 10;
    let sent1 =
        client::upload_blob(&agent, &server, &token, &sha, &bytes, chunk, Some(thirty)).unwrap();
    // A chunk that does not continue what the relay holds → 409 with the relay's count.
    let mut r = agent
        .put(&format!(
            "{server}/v1/blobs/{sha}?offset=0&total={}",
            bytes.len()
        ))
        .header("Authorization", &format!("Bearer {token}"))
        .send(&bytes[..chunk])
        .unwrap();
    assert_eq!(r.status().as_u16(), 409);
    let held: serde_json::Value = r.body_mut().read_json().unwrap();
    assert_eq!(held["have"].as_u64(), Some(sent1 as u64), "{held}");
    let sent2 = client::upload_blob(
        &agent,
        &server,
        &token,
        &sha,
        &bytes,
        chunk,
        Some(bytes.len() * 7 / 10 - sent1),
    )
    .unwrap();
    let sent3 = client::upload_blob(&agent, &server, &token, &sha, &bytes, chunk, None).unwrap();
    assert!(
        sent1 + sent2 + sent3 <= bytes.len() + chunk,
        "re-sent at most one chunk: {} of {}",
        sent1 + sent2 + sent3,
        bytes.len()
    );
    let stored = std::fs::read(relay.data.path().join("blobs").join(&sha[..2]).join(&sha)).unwrap();
    assert_eq!(stored, bytes);
    assert_eq!(
        client::upload_blob(&agent, &server, &token, &sha, &bytes, chunk, None).unwrap(),
        0,
        "already complete"
    );

    // The rest goes with a normal sync: thumbnails and evidence copies, not originals.
    let p = client::sync_all(&mut wang, false, &mut |_| {}).unwrap();
    assert!(p.photos_uploaded >= 1);
    assert!(wang.pending_uploads(false).unwrap().is_empty());
    let originals = wang.pending_uploads(true).unwrap();
    assert_eq!(
        originals.len(),
        1,
        "the original waits for an unmetered network"
    );
    // On an unmetered network it goes too, and is then dropped from the phone (kept until uploaded).
    client::sync_all(&mut wang, true, &mut |_| {}).unwrap();
    assert!(wang.pending_uploads(true).unwrap().is_empty());
    assert!(
        wang.blob(&originals[0].0).is_err(),
        "original dropped after upload"
    );
    assert!(
        relay
            .data
            .path()
            .join("blobs")
            .join(&originals[0].0[..2])
            .join(&originals[0].0)
            .exists()
    );

    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let get = |token: &str, sha: &str| {
        let mut r = agent
            .get(&format!("{}/v1/blobs/{sha}", relay.url))
            .header("Authorization", &format!("Bearer {token}"))
            .call()
            .unwrap();
        (
            r.status().as_u16(),
            r.body_mut()
                .with_config()
                .limit(64 << 20)
                .read_to_vec()
                .unwrap_or_default(),
        )
    };
    // The office may download it; an inspector of another village may not.
    let office = phone(dir.path(), "office.sqlite", &relay, "office");
    let (_, office_token, _) = office.enrollment().unwrap().unwrap();
    assert_eq!(get(&office_token, &sha), (200, bytes.clone()));
    let li = phone(dir.path(), "li.sqlite", &relay, "li");
    let (_, li_token, _) = li.enrollment().unwrap().unwrap();
    assert_eq!(get(&li_token, &sha).0, 403);
    // Blob ids that are not SHA-256 hex (path traversal included) are refused.
    assert_eq!(get(&office_token, "..%2F..%2Frelay.sqlite").0, 400);
    assert_eq!(get(&office_token, &"A".repeat(64)).0, 400);
    // A photo no record references is nobody's to send or ask about (issue #25): 403.
    let other = "0".repeat(64);
    let mut r = agent
        .put(&format!(
            "{}/v1/blobs/{other}?offset=10&total=20",
            relay.url
        ))
        .header("Authorization", &format!("Bearer {token}"))
        .send(&[0u8; 10][..])
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    assert!(
        r.body_mut()
            .read_to_string()
            .unwrap()
            .contains("no record in your scope references this photo")
    );
    let mut r = agent
        .get(&format!("{}/v1/blobs/{other}/status", relay.url))
        .header("Authorization", &format!("Bearer {token}"))
        .call()
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    drop(r.body_mut().read_to_string());
    // An offset near u64::MAX does not overflow: a clear 400.
    let mut r = agent
        .put(&format!(
            "{}/v1/blobs/{sha}?offset={}&total=20",
            relay.url,
            u64::MAX - 5
        ))
        .header("Authorization", &format!("Bearer {token}"))
        .send(&[0u8; 10][..])
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert!(r.body_mut().read_to_string().unwrap().contains("offset"));
    // A declared size above the limit is 413.
    let r = agent
        .put(&format!(
            "{}/v1/blobs/{sha}?offset=0&total={}",
            relay.url,
            gridsafe_server::MAX_BLOB + 1
        ))
        .header("Authorization", &format!("Bearer {token}"))
        .send(&[0u8; 10][..])
        .unwrap();
    assert_eq!(r.status().as_u16(), 413);
    // Oversized chunks are refused by the body limit.
    let big = vec![0u8; gridsafe_server::MAX_CHUNK + 1];
    let r = agent
        .put(&format!(
            "{}/v1/blobs/{other}?offset=0&total={}",
            relay.url,
            big.len()
        ))
        .header("Authorization", &format!("Bearer {token}"))
        .send(&big[..])
        .unwrap();
    assert_eq!(r.status().as_u16(), 413);
}

/// Enrols a phone directly on a relay store (no HTTP).
fn enrol_direct(relay: &mut RelayStore, s: &mut Store, user: &str) {
    let actors: Vec<String> = s
        .local_actors()
        .unwrap()
        .into_iter()
        .filter(|(_, u)| u == user)
        .map(|(a, _)| a)
        .collect();
    let e = relay.enroll(user, "correct horse", user, &actors).unwrap();
    s.set_enrollment("in-process", &e.device_id, &e.token, &e.user_id, &e.actors)
        .unwrap();
}

fn sync_direct(relay: &mut RelayStore, s: &mut Store) {
    let device = relay
        .authenticate(&s.enrollment().unwrap().unwrap().1)
        .unwrap();
    let resp = relay
        .sync(&device, &s.sync_request(usize::MAX).unwrap())
        .unwrap();
    assert!(resp.refused.is_empty(), "{:?}", resp.refused);
    s.apply_sync_response(&resp).unwrap();
}

/// A relay store used in-process (no HTTP), with wang's and sun's phones enrolled and one hazard
/// of wang's, synced to both.
struct Direct {
    data: tempfile::TempDir,
    dir: tempfile::TempDir,
    relay: RelayStore,
    wang: Store,
    sun: Store,
    hazard: String,
}

fn direct(venue: &str) -> Direct {
    let data = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut relay = RelayStore::open(data.path()).unwrap();
    relay.import_directory(fixtures::DIRECTORY_JSON).unwrap();
    for u in ["wang", "sun"] {
        relay.set_password(u, "correct horse").unwrap();
    }
    let [mut wang, mut sun] = ["wang", "sun"].map(|u| {
        let mut s = Store::create(dir.path().join(format!("{u}.sqlite"))).unwrap();
        s.import_directory(fixtures::DIRECTORY_JSON).unwrap();
        enrol_direct(&mut relay, &mut s, u);
        s
    });
    let (_, hazard) = inspection_with_hazard(&mut wang, venue);
    sync_direct(&mut relay, &mut wang);
    sync_direct(&mut relay, &mut sun);
    Direct {
        data,
        dir,
        relay,
        wang,
        sun,
        hazard,
    }
}

#[test]
fn a_record_changed_by_another_request_between_check_and_commit_keeps_both_changes() {
    let Direct {
        data,
        dir: _dir,
        mut relay,
        mut wang,
        mut sun,
        hazard,
    } = direct("并发小店");
    let after = NewPhoto {
        bytes: fixtures::PHOTO_AFTER.to_vec(),
        role: "after".into(),
        ..Default::default()
    };
    fixtures::serve_notice(&mut wang, "wang", &hazard);
    wang.transition(
        "wang",
        &hazard,
        Action {
            photo: Some(after),
            ..Action::new(EventKind::Claim)
        },
    )
    .unwrap();
    sun.transition(
        "sun",
        &hazard,
        Action {
            text: Some(fixtures::PLAN_JSON.into()),
            ..Action::new(EventKind::Plan)
        },
    )
    .unwrap();
    // Both requests read the relay's version of the hazard before either is written, as two
    // requests do when their check phases run side by side.
    let (w_dev, s_dev) = (
        relay
            .authenticate(&wang.enrollment().unwrap().unwrap().1)
            .unwrap(),
        relay
            .authenticate(&sun.enrollment().unwrap().unwrap().1)
            .unwrap(),
    );
    let (w_req, s_req) = (
        wang.sync_request(usize::MAX).unwrap(),
        sun.sync_request(usize::MAX).unwrap(),
    );
    let (w_stored, s_stored) = (relay.stored(&w_req).unwrap(), relay.stored(&s_req).unwrap());
    let check =
        |dev,
         req: &SyncRequest,
         stored: &[Option<std::sync::Arc<gridsafe_server::store::Loaded>>]| {
            req.push
                .iter()
                .zip(stored)
                .map(|(d, b)| gridsafe_server::store::check(dev, d, b.as_deref()))
                .collect::<Vec<_>>()
        };
    let (w_checked, s_checked) = (
        check(&w_dev, &w_req, &w_stored),
        check(&s_dev, &s_req, &s_stored),
    );
    let w = relay.commit(&w_dev, &w_req, w_checked).unwrap();
    let s = relay.commit(&s_dev, &s_req, s_checked).unwrap();
    assert!(
        w.refused.is_empty() && s.refused.is_empty(),
        "{:?} {:?}",
        w.refused,
        s.refused
    );
    // The second commit was checked again on top of the first: its heads hold both changes.
    let heads = relay.doc_heads(&hazard).unwrap().unwrap();
    assert_eq!(
        heads.len(),
        2,
        "two concurrent changes, both kept: {heads:?}"
    );
    assert_eq!(
        s.accepted
            .iter()
            .find(|a| a.doc_id == hazard)
            .unwrap()
            .heads,
        heads
    );
    // A fresh relay process (no cache) reads the same record from its change log.
    drop(relay);
    let mut relay = RelayStore::open(data.path()).unwrap();
    assert_eq!(relay.doc_heads(&hazard).unwrap().unwrap(), heads);
    sync_direct(&mut relay, &mut wang);
    sync_direct(&mut relay, &mut sun);
    let (hw, hs) = (wang.hazard(&hazard).unwrap(), sun.hazard(&hazard).unwrap());
    assert_eq!(hw.status, hs.status);
    assert_eq!(hw.status.state.as_str(), "rectified_claimed");
    assert!(hw.status.plan.is_some());
    assert_eq!(wang.doc_heads(&hazard).unwrap(), heads);
}

#[test]
fn a_long_lived_record_is_rebuilt_from_its_snapshot_plus_later_changes() {
    let Direct {
        data,
        dir: _dir,
        mut relay,
        mut wang,
        mut sun,
        hazard,
    } = direct("快照小店");
    // The reviewer moves the deadline 20 times, syncing each time: one change per push.
    for day in 1..=20 {
        let d = format!("2027-01-{day:02}");
        sun.transition(
            "sun",
            &hazard,
            Action {
                deadline: Some(d),
                ..Action::new(EventKind::SetDeadline)
            },
        )
        .unwrap();
        sync_direct(&mut relay, &mut sun);
    }
    drop(relay);
    let db = rusqlite::Connection::open(data.path().join("relay.sqlite")).unwrap();
    let (upto, logged): (i64, i64) = db
        .query_row(
            "SELECT s.upto_seq, (SELECT count(*) FROM changes c WHERE c.doc_id = s.doc_id AND c.seq > s.upto_seq) FROM snapshots s WHERE s.doc_id = ?1",
            [&hazard],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(
        upto > 0 && logged > 0 && logged < 16,
        "a snapshot, and a few changes after it: upto {upto}, after {logged}"
    );
    // A fresh relay (empty cache) rebuilds the record from snapshot + later changes: same heads,
    // same state on the phones after they sync with it.
    let mut relay = RelayStore::open(data.path()).unwrap();
    assert_eq!(
        relay.doc_heads(&hazard).unwrap().unwrap(),
        sun.doc_heads(&hazard).unwrap()
    );
    sync_direct(&mut relay, &mut wang);
    assert_eq!(
        wang.hazard(&hazard).unwrap().status.deadline.as_deref(),
        Some("2027-01-20")
    );
    // A damaged snapshot is only a lost shortcut: the log still rebuilds the record.
    drop(relay);
    db.execute("UPDATE snapshots SET bytes = x'00010203'", [])
        .unwrap();
    let mut relay = RelayStore::open(data.path()).unwrap();
    assert_eq!(
        relay.doc_heads(&hazard).unwrap().unwrap(),
        sun.doc_heads(&hazard).unwrap()
    );
}

#[test]
fn one_time_enrolment_codes_work_once_for_their_user_until_they_expire() {
    use client::Secret;
    let relay = start_relay();
    let dir = tempfile::tempdir().unwrap();
    let code = relay.inspect(|r| r.create_enrol_code("li", 3_600_000).unwrap());
    assert_eq!(code.len(), 14, "XXXX-XXXX-XXXX: {code}");
    let fresh = |name: &str| {
        let mut s = Store::create(dir.path().join(name)).unwrap();
        s.import_directory(fixtures::DIRECTORY_JSON).unwrap();
        s
    };
    // Another user's name with li's code: refused, and the code is not spent.
    let mut x = fresh("x.sqlite");
    let e = client::enroll_with(&mut x, &relay.url, "wang", Secret::Code(&code), "x")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("401") && e.contains("wrong user name or enrolment code"),
        "{e}"
    );
    // Typed in lower case without dashes, it still works; the phone then syncs.
    let mut li = fresh("li.sqlite");
    let typed = code.replace('-', "").to_lowercase();
    client::enroll_with(&mut li, &relay.url, "li", Secret::Code(&typed), "li").unwrap();
    assert_eq!(sync(&mut li).round_trips, 1);
    // Single use.
    let mut again = fresh("again.sqlite");
    let e = client::enroll_with(&mut again, &relay.url, "li", Secret::Code(&code), "again")
        .unwrap_err()
        .to_string();
    assert!(e.contains("already been used"), "{e}");
    // Expired.
    let old = relay.inspect(|r| r.create_enrol_code("li", 60_000).unwrap());
    relay.inspect(|r| {
        r.db()
            .exec(
                "UPDATE enrol_codes SET expires_ms = 1 WHERE used_ms IS NULL",
                &[],
            )
            .unwrap()
    });
    let e = client::enroll_with(&mut again, &relay.url, "li", Secret::Code(&old), "again")
        .unwrap_err()
        .to_string();
    assert!(e.contains("expired"), "{e}");
    // Neither or both secrets → 400; codes only for real, non-admin users.
    let (status, text) = post_json(
        &format!("{}/v1/enroll", relay.url),
        r#"{"user":"li","password":"correct horse","code":"AAAA"}"#,
    );
    assert_eq!(status, 400, "{text}");
    let (status, _) = post_json(&format!("{}/v1/enroll", relay.url), r#"{"user":"li"}"#);
    assert_eq!(status, 400);
    relay.inspect(|r| {
        assert!(r.create_enrol_code("admin", 3_600_000).is_err());
        assert!(
            r.create_enrol_code("nobody", 3_600_000)
                .unwrap_err()
                .to_string()
                .contains("unknown user")
        );
    });
}

#[test]
fn enrolment_guessing_is_locked_out_per_user_and_across_the_relay() {
    let relay = start_relay();
    let enrol = |body: String| post_json(&format!("{}/v1/enroll", relay.url), &body);
    let code = relay.inspect(|r| r.create_enrol_code("li", 3_600_000).unwrap());
    // Five wrong codes lock li's name: the sixth try is refused unheard, even with the right code.
    for i in 0..5 {
        let (status, _) = enrol(format!(
            r#"{{"user":"li","code":"WRONG-CODE-{i:04}","device_name":"x"}}"#
        ));
        assert_eq!(status, 401);
    }
    let (status, text) = enrol(format!(
        r#"{{"user":"li","code":"{code}","device_name":"x"}}"#
    ));
    assert_eq!(status, 429, "{text}");
    assert!(text.contains("too many failed attempts for li"), "{text}");
    // Wrong passwords at enrolment and on the dashboard count together.
    for _ in 0..3 {
        assert_eq!(
            enrol(r#"{"user":"sun","password":"guess","device_name":"x"}"#.into()).0,
            401
        );
    }
    let mut b = Browser::new(&relay.url);
    assert_eq!(b.login("sun", "guess"), 401);
    assert_eq!(b.login("sun", "guess"), 401);
    assert_eq!(
        enrol(r#"{"user":"sun","password":"correct horse","device_name":"x"}"#.into()).0,
        429
    );
    // A spray over many names stays under each name's limit but not under the relay's.
    let mut refused = 0;
    for i in 0..40 {
        let (status, _) = enrol(format!(
            r#"{{"user":"guess{i}","password":"x","device_name":"x"}}"#
        ));
        refused += usize::from(status == 429);
    }
    assert!(
        refused >= 10,
        "the relay-wide limit held: {refused} of 40 refused unheard"
    );
    let (status, text) =
        enrol(r#"{"user":"wang","password":"correct horse","device_name":"x"}"#.into());
    assert_eq!(status, 429, "everyone waits out the minute: {text}");
    // Nothing was enrolled by any of it.
    assert_eq!(relay.inspect(|r| r.devices().unwrap().len()), 0);
}

#[test]
fn admin_review_and_sign_in_actions_land_in_an_append_only_audit_log() {
    let relay = start_relay();
    let dir = tempfile::tempdir().unwrap();
    let mut wang = phone(dir.path(), "wang.sqlite", &relay, "wang");
    let (_, hazard) = inspection_with_hazard(&mut wang, "审计小店");
    let after = NewPhoto {
        bytes: fixtures::PHOTO_AFTER.to_vec(),
        role: "after".into(),
        ..Default::default()
    };
    fixtures::serve_notice(&mut wang, "wang", &hazard);
    wang.transition(
        "wang",
        &hazard,
        Action {
            photo: Some(after),
            ..Action::new(EventKind::Claim)
        },
    )
    .unwrap();
    sync(&mut wang);

    // A reviewer closes a hazard; one wrong password; an administrator changes a user and a cut-off.
    let mut sun = Browser::new(&relay.url);
    assert_eq!(sun.login("sun", "wrong horse"), 401);
    assert_eq!(sun.login("sun", "correct horse"), 303);
    let (_, page, _) = sun.get(&format!("/hazards/{hazard}"));
    let close = format!("csrf={}&action=close&reason=ok", csrf_of(&page));
    assert_eq!(
        sun.post(&format!("/hazards/{hazard}/action"), &close).0,
        303
    );
    let mut admin = Browser::new(&relay.url);
    assert_eq!(admin.login("admin", "correct horse"), 303);
    let (_, page, _) = admin.get("/admin/users");
    let csrf = csrf_of(&page);
    let form = format!(
        "csrf={csrf}&id=qian2&name=%E9%92%B1&role=reviewer&department=cjzx&grids=&password=long+enough+pw"
    );
    assert_eq!(admin.post("/admin/users", &form).0, 200);
    assert_eq!(
        admin
            .post("/admin/cutoff", &format!("csrf={csrf}&day=25"))
            .0,
        303
    );
    // A refused action (CSRF) is not an action and is not logged.
    assert_eq!(admin.post("/admin/cutoff", "csrf=forged&day=3").0, 403);

    let entries = relay.inspect(|r| r.audit_entries(100, None).unwrap());
    let seen: Vec<(String, String, String)> = entries
        .iter()
        .rev()
        .map(|e| (e.actor.clone(), e.action.clone(), e.target.clone()))
        .collect();
    let has = |actor: &str, action: &str, target: &str| {
        seen.contains(&(actor.into(), action.into(), target.into()))
    };
    assert!(has(
        "wang",
        "device.enroll",
        &entries
            .iter()
            .find(|e| e.action == "device.enroll")
            .unwrap()
            .target
    ));
    assert!(
        has("sun", "auth.failed", "sun") && has("sun", "auth.login", "sun"),
        "{seen:?}"
    );
    assert!(has("sun", "hazard.close", &hazard), "{seen:?}");
    assert!(
        has("admin", "user.save", "qian2") && has("admin", "user.password_reset", "qian2"),
        "{seen:?}"
    );
    assert!(has("admin", "report.cutoff", "monthly report"), "{seen:?}");
    assert!(
        !entries
            .iter()
            .any(|e| e.action == "report.cutoff" && e.detail == "3"),
        "the forged form did nothing"
    );
    assert_eq!(
        entries
            .iter()
            .find(|e| e.action == "hazard.close")
            .unwrap()
            .detail,
        "ok"
    );

    // The office reads it on the dashboard; an inspector may not.
    let mut office = Browser::new(&relay.url);
    assert_eq!(office.login("office", "correct horse"), 303);
    let (status, page, _) = office.get("/audit");
    assert_eq!(status, 200);
    assert!(
        page.contains("审核销号") && page.contains("哈希链完整"),
        "{page}"
    );
    let mut w = Browser::new(&relay.url);
    assert_eq!(w.login("wang", "correct horse"), 303);
    assert_eq!(w.get("/audit").0, 403);

    // Append-only: SQL cannot change or delete an entry; a change behind the triggers' back is
    // found by the chain and named on the page.
    let n = relay.inspect(|r| r.verify_audit().unwrap());
    assert_eq!(
        n as usize,
        entries.len() + 2,
        "plus the office's and wang's sign-ins"
    );
    let db = rusqlite::Connection::open(relay.data.path().join("relay.sqlite")).unwrap();
    let e = db
        .execute(
            "UPDATE audit_log SET actor = 'nobody' WHERE action = 'hazard.close'",
            [],
        )
        .unwrap_err();
    assert!(e.to_string().contains("append-only"), "{e}");
    assert!(
        db.execute("DELETE FROM audit_log", [])
            .unwrap_err()
            .to_string()
            .contains("append-only")
    );
    db.execute_batch("DROP TRIGGER audit_log_no_update; UPDATE audit_log SET detail = 'forged' WHERE action = 'hazard.close';").unwrap();
    let altered = entries
        .iter()
        .find(|e| e.action == "hazard.close")
        .unwrap()
        .seq;
    let e = relay.inspect(|r| r.verify_audit().unwrap_err().to_string());
    assert!(e.contains(&format!("entry {altered} was altered")), "{e}");
    let (_, page, _) = office.get("/audit");
    assert!(
        page.contains("日志被篡改") && page.contains(&format!("entry {altered} was altered")),
        "{page}"
    );
}

#[test]
fn sql_in_filters_names_and_forms_is_only_ever_data() {
    let relay = start_relay();
    let dir = tempfile::tempdir().unwrap();
    let mut wang = phone(dir.path(), "wang.sqlite", &relay, "wang");
    let evil = "x'); DROP TABLE docs; --";
    let (_, hazard) = inspection_with_hazard(&mut wang, evil);
    sync(&mut wang);
    let mut b = Browser::new(&relay.url);
    assert_eq!(b.login("office", "correct horse"), 303);
    // In every filter and the sort: no row appears that should not, nothing fails, nothing drops.
    for q in [
        "village=heping'%20OR%20'1'='1",
        "grid=heping-1'--",
        "state=open'%20OR%201=1--",
        "sort=found_ms;DROP%20TABLE%20docs",
        "from=2026-01-01'--",
    ] {
        let (status, page, _) = b.get(&format!("/hazards?{q}"));
        assert!(
            status == 400 || (status == 200 && page.contains("共 0 条")),
            "{q}: {status}"
        );
    }
    // The name is stored and shown as the text it is.
    let (status, page, _) = b.get(&format!("/hazards/{hazard}"));
    assert_eq!(status, 200);
    assert!(page.contains("x&#39;); DROP TABLE docs; --"), "{page}");
    let (_, page, _) = b.get("/hazards");
    assert!(page.contains("共 1 条"), "every record still there");
    assert_eq!(
        relay.inspect(|r| r.counts().unwrap().0),
        3,
        "venue, inspection, hazard"
    );
}

#[test]
fn a_change_that_makes_automerge_panic_is_refused_as_malformed() {
    // Found by the sync_push fuzz target: automerge 0.12 panics (an unwrap in its op import) on
    // these bytes. An insider whose device is bound to the change's actor must get a 400, and the
    // relay must go on serving.
    const BYTES: &[u8] = include_bytes!("../data/automerge-panic-change.bin");
    let pieces: Vec<ByteBuf> = BYTES
        .split(|&b| b == 0xfe)
        .map(|c| ByteBuf::from(c.to_vec()))
        .collect();
    let actors = pieces
        .iter()
        .filter_map(|c| automerge::Change::from_bytes(c.to_vec()).ok())
        .map(|c| c.actor_id().to_hex_string())
        .collect();
    let user = fixtures::directory().user("wang").unwrap().clone();
    let device = gridsafe_server::store::Device {
        id: "d".into(),
        user,
        actors,
    };
    let d = DocChanges {
        doc_id: "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b".into(),
        kind: "hazard".into(),
        changes: pieces,
        heads: vec![],
    };
    let e = gridsafe_server::store::check(&device, &d, None).unwrap_err();
    assert!(e.to_string().contains("malformed automerge data"), "{e}");

    // The phone's import path holds too, also for the second input the fuzzer found: a saved
    // "bundle" that makes automerge's column decoder (hexane) panic, now refused by its header.
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::create(dir.path().join("p.sqlite")).unwrap();
    assert!(s.merge_doc(&d.doc_id, BYTES).is_err());
    let e = s
        .merge_doc(&d.doc_id, include_bytes!("../data/automerge-panic-doc.bin"))
        .unwrap_err();
    assert!(
        e.to_string().contains("chunk of type 3 is not accepted"),
        "{e}"
    );

    // And the third: 76 bytes of automerge "bundle" chunk that make automerge allocate 2 GiB.
    // Refused from the chunk header, before automerge reads it, on the relay and on the phone.
    const BOMB: &[u8] = include_bytes!("../data/automerge-bundle-bomb.bin");
    let pushed = DocChanges {
        changes: vec![ByteBuf::from(BOMB.to_vec())],
        ..d.clone()
    };
    let e = gridsafe_server::store::check(&device, &pushed, None).unwrap_err();
    assert!(
        e.to_string().contains("chunk of type 3 is not accepted"),
        "{e}"
    );
    let e = s.merge_doc(&d.doc_id, BOMB).unwrap_err();
    assert!(
        e.to_string().contains("chunk of type 3 is not accepted"),
        "{e}"
    );
    assert!(s.merge_doc(&d.doc_id, b"").is_err() && s.merge_doc(&d.doc_id, &BOMB[..12]).is_err());
    assert_eq!(
        s.counts().unwrap().values().sum::<u64>(),
        0,
        "nothing stored"
    );
}

fn post_json(url: &str, body: &str) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut resp = agent
        .post(url)
        .header("Content-Type", "application/json")
        .send(body)
        .unwrap();
    (
        resp.status().as_u16(),
        resp.body_mut().read_to_string().unwrap_or_default(),
    )
}

fn csrf_of(page: &str) -> String {
    let at = page
        .find("name=\"csrf\" value=\"")
        .expect("a form with a CSRF token")
        + 19;
    page[at..at + 64].to_owned()
}

#[test]
fn the_dashboard_signs_in_lists_exports_and_keeps_to_scope() {
    let relay = start_relay();
    let dir = tempfile::tempdir().unwrap();
    let mut wang = phone(dir.path(), "wang.sqlite", &relay, "wang");
    let (_, hazard) = inspection_with_hazard(&mut wang, "<script>alert(1)</script>飞线车行");
    sync(&mut wang);

    let mut b = Browser::new(&relay.url);
    let (status, _, h) = b.get("/hazards");
    assert_eq!(status, 303, "not signed in → the sign-in page");
    assert_eq!(
        h.get("location").unwrap(),
        "/login?next=%2Fhazards",
        "and back to the ledger after it"
    );
    assert_eq!(b.login("sun", "wrong password"), 401);

    assert_eq!(b.login("sun", "correct horse"), 303);
    // A reviewer starts on their to-do list.
    let (status, _, h) = b.get("/");
    assert_eq!(
        (status, h.get("location").unwrap().to_str().unwrap()),
        (303, "/todo")
    );
    // The overview: one open general hazard, heping's venue inspected this month.
    let (status, overview, _) = b.get("/overview");
    assert_eq!(status, 200, "{overview}");
    assert!(
        overview.contains(r#"id="open-general"><a href="/hazards?open=1&severity=general">1</a>"#),
        "{overview}"
    );
    assert!(
        overview.contains(r#"id="overdue"><a href="/hazards?overdue=1">0</a>"#),
        "{overview}"
    );
    assert!(
        overview.contains(r#"<td>和平村</td><td class="n">1</td><td class="n">1</td><td class="n">100%</td><td class="n">1</td>"#),
        "{overview}"
    );
    assert!(
        !overview.contains("未同步的手机"),
        "phones' sync health is the town office's"
    );
    let (status, page, h) = b.get("/hazards");
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("隐患台账") && page.contains("共 1 条"),
        "{page}"
    );
    assert!(
        page.contains("&#60;script&#62;alert(1)&#60;/script&#62;飞线车行")
            && !page.contains("<script>alert"),
        "escaped: {page}"
    );
    assert!(
        h.get("content-security-policy")
            .unwrap()
            .to_str()
            .unwrap()
            .contains("default-src 'self'")
    );
    assert_eq!(h.get("x-frame-options").unwrap(), "DENY");
    // Filters: another village has none; the overdue and state filters narrow too.
    assert!(b.get("/hazards?village=jialou").1.contains("共 0 条"));
    assert!(
        b.get("/hazards?village=heping&state=registered&open=1")
            .1
            .contains("共 1 条")
    );
    assert!(
        b.get("/hazards?overdue=1").1.contains("共 0 条"),
        "a new hazard is not overdue"
    );
    // The detail, with its lifecycle.
    let (status, detail, _) = b.get(&format!("/hazards/{hazard}"));
    assert_eq!(status, 200);
    assert!(
        detail.contains("处置记录") && detail.contains("上账登记") && detail.contains("已生效"),
        "{detail}"
    );
    // CSV with Chinese headers and a BOM.
    let (status, csv, h) = b.get("/hazards.csv?village=heping");
    assert_eq!(status, 200);
    assert!(
        h.get("content-type")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(
        csv.starts_with('\u{feff}')
            && csv.contains("隐患,场所,村居,网格")
            && csv.contains(",和平村,和平村第1网格,"),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), 2);
    // XLSX: the same rows, read back with calamine.
    {
        use calamine::{Reader, Xlsx};
        let mut req = b
            .agent
            .get(&format!("{}/hazards.xlsx?village=heping", b.base));
        if let Some(c) = b.cookie() {
            req = req.header("Cookie", c);
        }
        let mut r = req.call().unwrap();
        assert_eq!(r.status().as_u16(), 200);
        let bytes = r
            .body_mut()
            .with_config()
            .limit(64 << 20)
            .read_to_vec()
            .unwrap();
        // A workbook people can use: the header frozen, a filter on it, columns sized.
        let sheet_xml = {
            use std::io::Read as _;
            let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes.clone())).unwrap();
            let mut xml = String::new();
            z.by_name("xl/worksheets/sheet1.xml")
                .unwrap()
                .read_to_string(&mut xml)
                .unwrap();
            xml
        };
        assert!(
            sheet_xml.contains(r#"ySplit="1""#),
            "frozen header: {sheet_xml}"
        );
        assert!(
            sheet_xml.contains("<autoFilter ref=\"A1:L"),
            "filter: {sheet_xml}"
        );
        assert!(sheet_xml.contains("<col ") && sheet_xml.contains("customWidth=\"1\""));
        let mut wb: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
        let sheet = wb.worksheet_range("隐患台账").unwrap();
        let rows: Vec<Vec<String>> = sheet
            .rows()
            .map(|r| r.iter().map(|c| c.to_string()).collect())
            .collect();
        assert_eq!(
            rows.len(),
            2,
            "header + the one hazard, as the ledger counts: {rows:?}"
        );
        assert_eq!(rows[0][0], "隐患");
        assert_eq!(rows[1][2], "和平村");
        // Deadlines and times are date cells, not text.
        let row = sheet.rows().nth(1).unwrap();
        for col in [7, 11] {
            assert!(
                matches!(row[col], calamine::Data::DateTime(_)),
                "column {col}: {:?}",
                row[col]
            );
        }
    }
    // Bad ids and unknown hazards: clear pages.
    assert_eq!(b.get("/hazards/../../relay.sqlite").0, 404);
    assert_eq!(b.get("/hazards/not-a-uuid").0, 400);
    assert_eq!(
        b.get("/hazards/0190b6c6-0000-7000-8000-000000000000").0,
        404
    );
    // Sign out needs the page's CSRF token; afterwards the cookie is worthless.
    let stolen = b.jar.clone();
    assert_eq!(b.post("/logout", "csrf=forged").0, 403);
    assert_eq!(
        b.post("/logout", &format!("csrf={}", csrf_of(&page))).0,
        303
    );
    b.jar = stolen;
    assert_eq!(b.get("/hazards").0, 303);

    // An inspector of another village sees none of it, and a 403 page for the hazard itself.
    let mut li = Browser::new(&relay.url);
    assert_eq!(li.login("li", "correct horse"), 303);
    assert!(li.get("/hazards").1.contains("共 0 条"));
    let (status, page, _) = li.get(&format!("/hazards/{hazard}"));
    assert_eq!(status, 403);
    assert!(page.contains("无权查看"), "{page}");
    assert!(
        li.get("/hazards.csv").1.lines().count() == 1,
        "the export keeps to scope too"
    );

    // The town office sees the phones that have not synced (li's never did).
    let mut silent = phone(dir.path(), "li.sqlite", &relay, "li");
    let mut office = Browser::new(&relay.url);
    assert_eq!(office.login("office", "correct horse"), 303);
    let (_, overview, _) = office.get("/");
    assert!(
        overview.contains("未同步的手机")
            && overview.contains("<td>李秀英</td><td>li.sqlite</td><td>从未同步</td>"),
        "{overview}"
    );
    assert!(
        !overview.contains("<td>王建国</td><td>wang.sqlite</td>"),
        "wang synced: {overview}"
    );
    // Device health: the office sees it, silent phones first; only an administrator revokes.
    let (status, devices, _) = office.get("/devices");
    assert_eq!(status, 200, "{devices}");
    assert!(
        devices.contains("久未同步") && devices.contains("正常"),
        "{devices}"
    );
    assert!(
        devices.find("li.sqlite").unwrap() < devices.find("wang.sqlite").unwrap(),
        "silent first"
    );
    assert!(
        !devices.contains("/devices/revoke"),
        "only an administrator gets the revoke form"
    );
    assert_eq!(li.get("/devices").0, 403);
    let mut admin = Browser::new(&relay.url);
    assert_eq!(admin.login("admin", "correct horse"), 303);
    let (_, page, _) = admin.get("/devices");
    // The device's id is in its revoke form only (people read the phone's name).
    let row = &page[page.find("li.sqlite</td>").unwrap()..];
    let at = row.find("name=\"device\" value=\"").unwrap() + "name=\"device\" value=\"".len();
    let li_device = row[at..at + 32].to_owned();
    assert_eq!(
        admin
            .post(
                "/devices/revoke",
                &format!("csrf=forged&device={li_device}")
            )
            .0,
        403
    );
    let (status, refused, _) = admin.post(
        "/devices/revoke",
        &format!("csrf={}&device={li_device}", csrf_of(&page)),
    );
    assert_eq!(status, 400, "revoking asks for confirmation");
    assert!(
        refused.contains("确认吊销") && refused.contains("<header>"),
        "{refused}"
    );
    assert_eq!(
        admin
            .post(
                "/devices/revoke",
                &format!("csrf={}&device={li_device}&confirm=1", csrf_of(&page))
            )
            .0,
        303
    );
    assert!(admin.get("/devices").1.contains("已吊销"));
    let e = client::sync(&mut silent, &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("enrol again"),
        "a revoked phone is told to enrol again: {e}"
    );

    // Five failed sign-ins lock the user name, even for the right password.
    let mut x = Browser::new(&relay.url);
    for _ in 0..5 {
        assert_eq!(x.login("office", "guess"), 401);
    }
    assert_eq!(x.login("office", "correct horse"), 429);
    assert!(
        x.login_page("office", "correct horse")
            .1
            .contains("too many failed attempts for office")
    );
    // A sign-in without the form's own token (another site's form) is refused before the password is checked.
    let mut y = Browser::new(&relay.url);
    let (status, page, _) = y.post("/login", "user=sun&password=correct+horse");
    assert_eq!(status, 403, "{page}");
    assert!(
        page.contains("登录表单已过期") && !y.jar.contains_key("gs_session"),
        "{page}"
    );
    y.get("/login");
    let (status, _, _) = y.post(
        "/login",
        "nonce=00000000000000000000000000000000&user=sun&password=correct+horse",
    );
    assert_eq!(status, 403, "a token that is not the cookie's");
}

#[test]
fn a_reviewer_closes_on_the_dashboard_and_the_phone_sees_it_after_sync() {
    let relay = start_relay();
    let dir = tempfile::tempdir().unwrap();
    let mut wang = phone(dir.path(), "wang.sqlite", &relay, "wang");
    let (_, hazard) = inspection_with_hazard(&mut wang, "销号车行");
    let after = NewPhoto {
        bytes: fixtures::PHOTO_AFTER.to_vec(),
        role: "after".into(),
        ..Default::default()
    };
    fixtures::serve_notice(&mut wang, "wang", &hazard);
    wang.transition(
        "wang",
        &hazard,
        Action {
            photo: Some(after),
            ..Action::new(EventKind::Claim)
        },
    )
    .unwrap();
    client::sync_all(&mut wang, false, &mut |_| {}).unwrap();

    let mut sun = Browser::new(&relay.url);
    assert_eq!(sun.login("sun", "correct horse"), 303);
    let (_, page, _) = sun.get(&format!("/hazards/{hazard}"));
    assert!(
        page.contains(r#"<td id="state">待审核销号"#) && page.contains(r#"id="review""#),
        "{page}"
    );
    // The before and after photos, hash-verified, served only in scope, refused if altered.
    let before = wang.hazard(&hazard).unwrap().header.photos[0].clone();
    let thumb = before.thumb_sha256.clone().unwrap();
    assert!(
        page.contains(&format!("/photos/{thumb}"))
            && page.contains(&format!("/photos/{}", before.sha256)),
        "{page}"
    );
    assert_eq!(
        page.matches("✓ 哈希已校验").count(),
        3,
        "before, the signed notice and after photos: {page}"
    );
    let (status, bytes) = sun.get_bytes(&format!("/photos/{thumb}"));
    assert_eq!(status, 200);
    assert_eq!(gridsafe_core::evidence::sha256_hex(&bytes), thumb);
    let mut li = Browser::new(&relay.url);
    assert_eq!(li.login("li", "correct horse"), 303);
    assert_eq!(li.get_bytes(&format!("/photos/{thumb}")).0, 403);
    assert_eq!(sun.get_bytes("/photos/..%2Frelay.sqlite").0, 400);
    let file = relay
        .data
        .path()
        .join("blobs")
        .join(&thumb[..2])
        .join(&thumb);
    let mut altered = std::fs::read(&file).unwrap();
    altered[200] ^= 0xff;
    std::fs::write(&file, &altered).unwrap();
    let (status, body) = sun.get_bytes(&format!("/photos/{thumb}"));
    assert_eq!(status, 500);
    assert!(String::from_utf8_lossy(&body).contains("证据文件已损坏"));
    let csrf = csrf_of(&page);
    let action = format!("/hazards/{hazard}/action");
    assert_eq!(sun.post(&action, "csrf=forged&action=close").0, 403, "CSRF");
    assert_eq!(
        sun.post(&action, &format!("csrf={csrf}&action=rectify")).0,
        400,
        "not a review action"
    );
    let (status, _, h) = sun.post(
        &action,
        &format!("csrf={csrf}&action=close&reason=%E7%8E%B0%E5%9C%BA%E6%A0%B8%E5%AE%9E"),
    );
    assert_eq!(status, 303);
    assert_eq!(
        h.get("location").unwrap().to_str().unwrap(),
        format!("/hazards/{hazard}?done=close"),
        "back to the hazard, saying what was done"
    );
    let (_, page, _) = sun.get(&format!("/hazards/{hazard}?done=close"));
    assert!(page.contains(r#"<td id="state">已销号"#), "{page}");
    assert!(page.contains("已执行：审核销号"), "{page}");
    // Closing twice is refused by the rules, with the reason, and nothing is written.
    let (status, page, _) = sun.post(&action, &format!("csrf={csrf}&action=close"));
    assert_eq!(status, 409, "{page}");
    assert!(
        page.contains(r#"id="action-error""#)
            && page.contains("未执行")
            && page.contains("<header>"),
        "the reason on the hazard's own page, with the menu: {page}"
    );
    // The inspector's dashboard view offers no review, and the rules refuse an inspector's close.
    let mut w = Browser::new(&relay.url);
    assert_eq!(w.login("wang", "correct horse"), 303);
    let (_, page, _) = w.get(&format!("/hazards/{hazard}"));
    assert!(
        !page.contains(r#"id="review""#),
        "no review form for an inspector"
    );
    assert_eq!(
        w.post(&action, &format!("csrf={}&action=reopen", csrf_of(&page)))
            .0,
        400,
        "reopen is not offered on the dashboard"
    );

    // The phone learns the decision on its next sync, credited to the reviewer.
    sync(&mut wang);
    let v = wang.hazard(&hazard).unwrap();
    assert_eq!(v.status.state.as_str(), "closed");
    let close = v.status.history.iter().find(|e| e.kind == "close").unwrap();
    assert_eq!(close.user.as_deref(), Some("sun"));
    assert!(close.applied);
    let relay_heads = relay.inspect(|r| r.doc_heads(&hazard).unwrap().unwrap());
    assert_eq!(wang.doc_heads(&hazard).unwrap(), relay_heads);
    // The ledger's projection agrees.
    assert!(sun.get("/hazards?state=closed").1.contains("共 1 条"));
}

/// Reads a workbook from the dashboard: sheet name → rows of cell texts.
fn workbook_sheet(b: &Browser, path: &str, sheet: &str) -> Vec<Vec<String>> {
    use calamine::{Reader, Xlsx};
    let (status, bytes) = b.get_bytes(path);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
    let mut wb: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
    let range = wb.worksheet_range(sheet).unwrap();
    range
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect()
}

#[test]
fn the_monthly_report_counts_the_ledger_and_its_workbook_agrees() {
    let relay = start_relay();
    let dir = tempfile::tempdir().unwrap();
    let mut wang = phone(dir.path(), "wang.sqlite", &relay, "wang");
    let (_, fixed) = inspection_with_hazard(&mut wang, "报表车行甲");
    let (_, open) = inspection_with_hazard(&mut wang, "报表车行乙");
    let after = NewPhoto {
        bytes: fixtures::PHOTO_AFTER.to_vec(),
        role: "after".into(),
        ..Default::default()
    };
    fixtures::serve_notice(&mut wang, "wang", &fixed);
    wang.transition(
        "wang",
        &fixed,
        Action {
            photo: Some(after),
            ..Action::new(EventKind::Claim)
        },
    )
    .unwrap();
    client::sync_all(&mut wang, false, &mut |_| {}).unwrap();
    let mut sun = Browser::new(&relay.url);
    assert_eq!(sun.login("sun", "correct horse"), 303);
    let (_, page, _) = sun.get(&format!("/hazards/{fixed}"));
    let close = format!("csrf={}&action=close&reason=ok", csrf_of(&page));
    assert_eq!(sun.post(&format!("/hazards/{fixed}/action"), &close).0, 303);

    // The server's own figures (what `gridsafe-server admin report` prints).
    let r = relay.inspect(|st| st.report("office", None).unwrap());
    assert_eq!(
        (
            r.totals.found(),
            r.totals.closed,
            r.totals.open,
            r.totals.rectified
        ),
        (2, 1, 1, 1),
        "{:?}",
        r.totals
    );
    let ebike = r.domains.iter().find(|d| d.domain == "ebike").unwrap();
    assert_eq!(ebike.rows.len(), 1);
    assert_eq!(
        (
            ebike.rows[0].village.as_str(),
            ebike.rows[0].c.venues_inspected
        ),
        ("heping", 2)
    );
    assert_eq!(
        ebike.total.by_source,
        [2, 0, 0, 0, 0, 0],
        "both found by inspection"
    );
    let heping = r.villages.iter().find(|v| v.village == "heping").unwrap();
    assert_eq!(
        (
            heping.venues,
            heping.inspected,
            heping.found,
            heping.closed_total,
            heping.registered_total
        ),
        (2, 2, 2, 1, 2)
    );
    assert_eq!(heping.rectification_pct(), 50);
    assert_eq!(r.cases.len(), 2, "both have before photos");
    assert_eq!(
        r.cases[0].id, fixed,
        "a case with its after photo comes first"
    );
    assert!(r.cases[0].after_photo.is_some() && r.cases[1].after_photo.is_none());

    // The print view shows the same numbers, with its charts.
    let mut office = Browser::new(&relay.url);
    assert_eq!(office.login("office", "correct horse"), 303);
    let (status, page, _) = office.get("/reports/monthly");
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains(r#"id="total-found">2<"#)
            && page.contains(r#"id="total-closed">1<"#)
            && page.contains(r#"id="total-open">1<"#),
        "{page}"
    );
    assert!(
        {
            // The period as documents write it: 2026年12月（11月29日至12月28日）.
            let md = |d: &str| {
                let d = gridsafe_core::clock::parse_date(d).unwrap();
                format!("{}月{}日", u8::from(d.month()), d.day())
            };
            let (y, m) = r.period.key.split_once('-').unwrap();
            page.contains(&format!(
                "统计期 {y}年{}月（{}至{}）",
                m.trim_start_matches('0'),
                md(&r.period.from),
                md(&r.period.to)
            ))
        },
        "{page}"
    );
    assert!(
        page.contains(r#"<svg width="720""#) && page.contains("<rect"),
        "charts: {page}"
    );
    assert!(
        page.contains(&format!("/photos/{}", r.cases[0].before_thumb)),
        "typical cases with photos: {page}"
    );
    // The workbook's numbers equal the server's.
    let rows = workbook_sheet(
        &office,
        &format!("/reports/monthly.xlsx?month={}", r.period.key),
        "汇总",
    );
    let row = rows
        .iter()
        .find(|row| row[0] == "电动自行车" && row[1] == "和平村")
        .expect("the ebike × heping row");
    let c = &ebike.rows[0].c;
    let want: Vec<String> = [
        c.venues_inspected,
        c.found_general,
        c.found_major,
        c.on_spot,
        c.rectified,
        c.closed,
        c.open,
        c.overdue,
    ]
    .iter()
    .chain(c.by_source.iter())
    .map(|n| n.to_string())
    .collect();
    assert_eq!(row[2..16].to_vec(), want);
    let total = rows.iter().find(|row| row[0] == "合计").unwrap();
    assert_eq!(
        total[3].parse::<i64>().unwrap() + total[4].parse::<i64>().unwrap(),
        r.totals.found()
    );
    let villages = workbook_sheet(
        &office,
        &format!("/reports/monthly.xlsx?month={}", r.period.key),
        "村居统计",
    );
    let hp = villages.iter().find(|row| row[0] == "和平村").unwrap();
    assert_eq!(
        (hp[1].as_str(), hp[2].as_str(), hp[5].as_str()),
        ("2", "2", "2")
    );
    // A workbook people can use: figures as numbers, every sheet's header frozen and filtered,
    // the typical cases' photos in the sheet, labels rather than codes, a Chinese file name.
    {
        use calamine::{Data, Reader, Xlsx};
        use std::io::Read as _;
        let (status, bytes) =
            office.get_bytes(&format!("/reports/monthly.xlsx?month={}", r.period.key));
        assert_eq!(status, 200);
        let mut wb: Xlsx<_> =
            calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.clone())).unwrap();
        let v = wb.worksheet_range("村居统计").unwrap();
        let row = v.rows().find(|r| r[0] == "和平村").unwrap();
        assert!(
            matches!(row[6], Data::Float(_)),
            "每百场所 is a number: {:?}",
            row[6]
        );
        let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        let names: Vec<String> = z
            .file_names()
            .filter_map(|n| n.ok().map(|n| n.into_owned()))
            .collect();
        assert!(
            names.iter().any(|n| n.starts_with("xl/media/")),
            "a photo embedded: {names:?}"
        );
        for i in 1..=9 {
            let mut xml = String::new();
            z.by_name(&format!("xl/worksheets/sheet{i}.xml"))
                .unwrap()
                .read_to_string(&mut xml)
                .unwrap();
            assert!(
                xml.contains("<pane ") && xml.contains("<autoFilter "),
                "sheet {i}"
            );
        }
        let mut shared = String::new();
        z.by_name("xl/sharedStrings.xml")
            .unwrap()
            .read_to_string(&mut shared)
            .unwrap();
        assert!(
            !shared.contains("SHA-256")
                && !shared.contains("ebike.")
                && !shared.contains("registered")
        );
    }

    // Scope: another village's inspector counts none of it; an administrator sees no report.
    let mut li = Browser::new(&relay.url);
    assert_eq!(li.login("li", "correct horse"), 303);
    assert!(
        li.get("/reports/monthly")
            .1
            .contains(r#"id="total-found">0<"#)
    );
    let mut admin = Browser::new(&relay.url);
    assert_eq!(admin.login("admin", "correct horse"), 303);
    assert_eq!(admin.get("/reports/monthly").0, 403);
    // Bad months are named; the cut-off day moves the period.
    let (status, page, _) = office.get("/reports/monthly?month=2026-13");
    assert_eq!(status, 400);
    assert!(page.contains("2026-13"), "{page}");
    let (status, page, _) = office.get("/reports/monthly?month=2026-11");
    assert_eq!(status, 200);
    assert!(
        page.contains("统计期 2026年11月（10月29日至11月28日）"),
        "{page}"
    );
    let (_, admin_page, _) = admin.get("/admin/users");
    assert_eq!(
        admin
            .post(
                "/admin/cutoff",
                &format!("csrf={}&day=31", csrf_of(&admin_page))
            )
            .0,
        400,
        "every month has no 31st"
    );
    assert_eq!(
        admin
            .post(
                "/admin/cutoff",
                &format!("csrf={}&day=25", csrf_of(&admin_page))
            )
            .0,
        303
    );
    assert!(
        office
            .get("/reports/monthly?month=2026-11")
            .1
            .contains("统计期 2026年11月（10月26日至11月25日）")
    );
    let _ = open;
}

#[test]
fn administrators_create_users_change_scopes_and_reset_passwords() {
    let relay = start_relay();
    let mut admin = Browser::new(&relay.url);
    assert_eq!(admin.login("admin", "correct horse"), 303);
    let (status, page, _) = admin.get("/admin/users");
    assert_eq!(status, 200, "{page}");
    let csrf = csrf_of(&page);
    let create = |csrf: &str, extra: &str| {
        format!("csrf={csrf}&id=xu&name=%E8%AE%B8&role=inspector&grids=heping-1{extra}")
    };

    // Bad input is named, and nothing changes.
    assert_eq!(
        admin
            .post("/admin/users", &create("forged", "&password=long+enough"))
            .0,
        403
    );
    let (status, page, _) = admin.post("/admin/users", &create(&csrf, "&password=short"));
    assert_eq!(status, 400);
    assert!(page.contains("须设置至少 8 位密码"), "{page}");
    let (status, page, _) = admin.post(
        "/admin/users",
        &format!("csrf={csrf}&id=xu&name=x&role=inspector&password=long+enough"),
    );
    assert_eq!(status, 400);
    assert!(page.contains("网格员须至少选择一个网格"), "{page}");
    let (status, page, _) = admin.post(
        "/admin/users",
        &format!("csrf={csrf}&id=xu&name=x&role=inspector&grids=nowhere-9&password=long+enough"),
    );
    assert_eq!(status, 400);
    assert!(
        page.contains("没有网格") && page.contains("nowhere-9"),
        "{page}"
    );
    assert_eq!(
        admin
            .post(
                "/admin/users",
                &format!("csrf={csrf}&id=..%2Fx&name=x&role=town_office&password=long+enough")
            )
            .0,
        400
    );
    assert_eq!(
        admin
            .post(
                "/admin/users",
                &format!("csrf={csrf}&id=xu&name=x&role=king&password=long+enough")
            )
            .0,
        400
    );
    let before = relay.inspect(|st| st.directory().unwrap().clone());
    assert!(before.user("xu").is_none());

    // Created: a new directory version; the user signs in and works in their grid.
    let (status, page, _) = admin.post("/admin/users", &create(&csrf, "&password=long+enough"));
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains(r#"id="notice""#) && page.contains("<td><kbd>xu</kbd></td>"),
        "{page}"
    );
    let after = relay.inspect(|st| st.directory().unwrap().clone());
    assert_eq!(after.version, before.version + 1);
    assert_eq!(after.user("xu").unwrap().grids, ["heping-1"]);
    let mut xu = Browser::new(&relay.url);
    assert_eq!(xu.login("xu", "long enough"), 303);
    assert_eq!(xu.get("/hazards").0, 200);
    assert_eq!(xu.get("/admin/users").0, 403, "not an administrator");
    let xu_csrf = csrf_of(&xu.get("/").1);
    assert_eq!(
        xu.post(
            "/admin/password",
            &format!("csrf={xu_csrf}&user=admin&password=taken+over")
        )
        .0,
        403
    );

    // A new scope: reviewer of 派出所.
    let (status, _, _) = admin.post(
        "/admin/users",
        &format!("csrf={csrf}&id=xu&name=%E8%AE%B8&role=reviewer&department=pcs"),
    );
    assert_eq!(status, 200);
    let u = relay.inspect(|st| st.directory().unwrap().user("xu").unwrap().clone());
    assert_eq!(
        (u.role, u.department.as_deref()),
        (gridsafe_core::directory::Role::Reviewer, Some("pcs"))
    );

    // A reset ends the user's sessions and lifts a lockout.
    for _ in 0..5 {
        assert_eq!(Browser::new(&relay.url).login("xu", "guess"), 401);
    }
    assert_eq!(
        Browser::new(&relay.url).login("xu", "long enough"),
        429,
        "locked"
    );
    assert_eq!(
        admin
            .post(
                "/admin/password",
                &format!("csrf={csrf}&user=xu&password=short")
            )
            .0,
        400
    );
    assert_eq!(
        admin
            .post(
                "/admin/password",
                &format!("csrf={csrf}&user=nobody&password=long+enough")
            )
            .0,
        400
    );
    assert_eq!(
        admin
            .post(
                "/admin/password",
                &format!("csrf={csrf}&user=xu&password=brand+new+one")
            )
            .0,
        200
    );
    assert_eq!(xu.get("/hazards").0, 303, "the old session ended");
    assert_eq!(Browser::new(&relay.url).login("xu", "long enough"), 401);
    assert_eq!(Browser::new(&relay.url).login("xu", "brand new one"), 303);
}

#[test]
fn the_dashboard_speaks_english_on_request_and_filters_by_grid_dates_and_order() {
    let relay = start_relay();
    let dir = tempfile::tempdir().unwrap();
    let mut wang = phone(dir.path(), "wang.sqlite", &relay, "wang");
    let (_, first) = inspection_with_hazard(&mut wang, "甲店");
    std::thread::sleep(std::time::Duration::from_millis(5));
    let (_, second) = inspection_with_hazard(&mut wang, "乙店");
    sync(&mut wang);
    let mut b = Browser::new(&relay.url);
    assert_eq!(b.login("office", "correct horse"), 303);

    let (_, page, _) = b.get("/hazards");
    assert!(
        page.contains(r#"<html lang="zh-CN">"#)
            && page.contains("隐患台账")
            && page.contains("共 2 条"),
        "{page}"
    );
    let (status, _, h) = b.get("/lang?to=en&back=%2Fhazards%3Fgrid%3Dheping-1");
    assert_eq!(status, 303);
    assert_eq!(h.get("location").unwrap(), "/hazards?grid=heping-1");
    let (_, page, _) = b.get("/hazards?grid=heping-1");
    assert!(
        page.contains(r#"<html lang="en">"#)
            && page.contains("Hazard ledger")
            && page.contains("2 hazards"),
        "{page}"
    );
    assert!(
        !page.contains("隐患台账") && !page.contains("共 2 条"),
        "{page}"
    );
    assert!(
        page.contains(r#"href="/lang?to=zh&#38;back=%2Fhazards%3Fgrid%3Dheping-1""#),
        "the toggle comes back here: {page}"
    );
    // Error pages follow the language too.
    let (status, page, _) = b.get("/hazards?sort=sideways");
    assert_eq!(status, 400);
    assert!(
        page.contains("Bad request") && page.contains("sideways") && page.contains("found_desc"),
        "{page}"
    );
    // /lang never fails (issue #25): an unknown language is Chinese.
    assert_eq!(b.get("/lang?to=fr").0, 303);
    assert_eq!(
        b.get("/lang?to=zh&back=%2F%2Fevil.example")
            .2
            .get("location")
            .unwrap(),
        "/",
        "never another host"
    );
    assert!(b.get("/hazards").1.contains("隐患台账"), "back to Chinese");

    // Grid, found-date range and order.
    assert!(b.get("/hazards?grid=heping-2").1.contains("共 0 条"));
    let today = gridsafe_core::clock::format_date(gridsafe_core::clock::today());
    assert!(
        b.get(&format!("/hazards?from={today}&to={today}"))
            .1
            .contains("共 2 条")
    );
    assert!(
        b.get("/hazards?to=2020-01-01&from=2019-01-01")
            .1
            .contains("共 0 条")
    );
    let (status, page, _) = b.get("/hazards?from=yesterday");
    assert_eq!(status, 400);
    assert!(
        page.contains("found_from") && page.contains("yesterday"),
        "{page}"
    );
    let newest = b.get("/hazards?sort=found_desc").1;
    assert!(
        newest.find(&second).unwrap() < newest.find(&first).unwrap(),
        "newest first"
    );
    let oldest = b.get("/hazards?sort=found").1;
    assert!(
        oldest.find(&first).unwrap() < oldest.find(&second).unwrap(),
        "oldest first"
    );
    // The export keeps the filters.
    assert_eq!(b.get("/hazards.csv?grid=heping-2").1.lines().count(), 1);
    assert_eq!(
        b.get("/hazards.csv?grid=heping-1&sort=found")
            .1
            .lines()
            .count(),
        3
    );
}

use gridsafe_tests::browser::{multipart, owner_get, owner_post};

#[test]
fn an_owner_reports_a_fix_from_the_notice_link_and_the_department_decides() {
    let relay = start_relay();
    let dir = tempfile::tempdir().unwrap();
    let mut wang = phone(dir.path(), "wang.sqlite", &relay, "wang");
    let (venue, hazard) = inspection_with_hazard(&mut wang, "业主自查车行");
    let (other_venue, other_hazard) = inspection_with_hazard(&mut wang, "隔壁车行");
    // The notice is served (with its signed copy photographed) before the owner can report.
    fixtures::serve_notice(&mut wang, "wang", &hazard);
    sync(&mut wang);

    // The notice: core's document, the same on the phone and at the office, with a QR code.
    let n = wang.notice("wang", &venue).unwrap();
    assert_eq!(n.hazards.len(), 1);
    assert_eq!(n.hazards[0].id, hazard);
    let url = n
        .owner_url
        .clone()
        .expect("an enrolled phone signs the owner link");
    assert!(url.starts_with(&format!("{}/o/v1.", relay.url)), "{url}");
    let html = gridsafe_core::notice::to_html(&n).unwrap();
    assert!(
        html.contains("整改通知书")
            && html.contains("<svg")
            && html.contains(&n.hazards[0].title_zh),
        "{html}"
    );
    assert!(
        wang.notice("li", &venue).is_err(),
        "another grid's inspector issues no notice here"
    );

    // The owner's page: this venue's open hazard, nothing else.
    let (status, page) = owner_get(&url);
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("业主自查车行") && page.contains(&hazard) && !page.contains(&other_hazard),
        "{page}"
    );

    // Tampered, expired and foreign links: one page that reveals nothing.
    let mut tampered = url.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == '0' { '1' } else { '0' });
    for bad in [
        tampered.as_str(),
        &url.replace(&venue, &other_venue),
        &format!("{}/o/v1.x.y.1.2.{}", relay.url, "0".repeat(64)),
    ] {
        let (status, page) = owner_get(bad);
        assert_eq!(status, 403, "{bad}: {page}");
        assert!(
            page.contains("此链接无效或已过期") && !page.contains("车行"),
            "{page}"
        );
    }
    let (_, token, _) = wang.enrollment().unwrap().unwrap();
    let (key, device_id) = relay.inspect(|st| {
        let d = st.authenticate(&token).unwrap();
        (st.owner_key(&d).unwrap(), d.id)
    });
    let now = gridsafe_core::clock::now_ms();
    let expired = gridsafe_core::owner_link::OwnerLink {
        device_id,
        venue_id: venue.clone(),
        issued_ms: now - 10_000,
        expires_ms: now - 1,
    };
    let expired = format!(
        "{}/o/{}",
        relay.url,
        gridsafe_core::owner_link::sign(&key, &expired).unwrap()
    );
    assert_eq!(owner_get(&expired).0, 403);

    // Bad uploads are refused with the reason, and nothing is recorded.
    let (status, page) = owner_post(&url, &hazard, b"GIF89a not a photo at all", "");
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("不是可用的照片"), "{page}");
    let (status, page) = owner_post(&url, &other_hazard, fixtures::PHOTO_AFTER, "");
    assert_eq!(status, 403, "another venue's hazard: {page}");
    let (status, page) = owner_post(&url, &hazard, &vec![0xff; 16 * 1024 * 1024], "");
    assert!(
        status == 400 || status == 413 || status == 0,
        "refused, or cut off while still sending: {status}: {page}"
    );
    let (status, _) = owner_post(&url, &hazard, fixtures::PHOTO_AFTER, &"长".repeat(501));
    assert_eq!(status, 400, "note too long");
    assert!(
        relay
            .inspect(|st| st.owner_reports(&hazard).unwrap())
            .is_empty()
    );

    // A good report waits for the department; a rejection needs a reason the owner then reads.
    let (status, _) = owner_post(&url, &hazard, fixtures::PHOTO_AFTER, "已拆除飞线");
    assert_eq!(status, 303);
    assert!(owner_get(&url).1.contains("待审核"));
    let reports = relay.inspect(|st| st.owner_reports(&hazard).unwrap());
    assert_eq!(reports.len(), 1);
    let mut sun = Browser::new(&relay.url);
    assert_eq!(sun.login("sun", "correct horse"), 303);
    let (_, page, _) = sun.get(&format!("/hazards/{hazard}"));
    assert!(
        page.contains(r#"id="owner-reports""#) && page.contains("已拆除飞线"),
        "{page}"
    );
    assert_eq!(
        sun.get_bytes(&format!("/photos/{}", reports[0].thumb)).0,
        200,
        "the reviewer sees the owner's photo"
    );
    let csrf = csrf_of(&page);
    let decide = format!("/hazards/{hazard}/owner-reports/{}", reports[0].id);
    assert_eq!(
        sun.post(&decide, &format!("csrf={csrf}&decision=reject")).0,
        400,
        "a rejection needs a reason"
    );
    assert_eq!(
        sun.post(&decide, "csrf=forged&decision=reject&reason=x").0,
        403
    );
    assert_eq!(
        sun.post(
            &decide,
            &format!(
                "csrf={csrf}&decision=reject&reason=%E7%85%A7%E7%89%87%E7%9C%8B%E4%B8%8D%E6%B8%85"
            )
        )
        .0,
        303
    );
    assert!(owner_get(&url).1.contains("已退回：照片看不清"));
    assert_eq!(
        sun.post(&decide, &format!("csrf={csrf}&decision=accept")).0,
        409,
        "decided once"
    );

    // Accepted: the hazard's owner_claim, by the reviewer, with the owner's photo; the phone sees it.
    assert_eq!(
        owner_post(&url, &hazard, fixtures::PHOTO_AFTER, "重新拍摄").0,
        303
    );
    let second = relay.inspect(|st| st.owner_reports(&hazard).unwrap())[0].clone();
    assert_eq!(
        sun.post(
            &format!("/hazards/{hazard}/owner-reports/{}", second.id),
            &format!("csrf={csrf}&decision=accept")
        )
        .0,
        303
    );
    let (_, page, _) = sun.get(&format!("/hazards/{hazard}"));
    assert!(page.contains(r#"<td id="state">待审核销号"#), "{page}");
    sync(&mut wang);
    let v = wang.hazard(&hazard).unwrap();
    assert_eq!(v.status.state.as_str(), "rectified_claimed");
    let claim = v
        .status
        .history
        .iter()
        .find(|e| e.kind == "owner_claim")
        .expect("owner_claim");
    assert_eq!(
        (claim.user.as_deref(), claim.photo.as_deref(), claim.applied),
        (Some("sun"), Some(second.photo.as_str()), true)
    );
    let (status, page) = owner_post(&url, &hazard, fixtures::PHOTO_AFTER, "");
    assert_eq!(status, 409, "no longer waiting for a rectification: {page}");

    // The office prints the same notice, with its own signed link; another grid cannot.
    let (status, notice, _) = sun.get(&format!("/venues/{other_venue}/notice"));
    assert_eq!(status, 200, "{notice}");
    assert!(
        notice.contains("整改通知书") && notice.contains("隔壁车行") && notice.contains("<svg"),
        "{notice}"
    );
    let mut li = Browser::new(&relay.url);
    assert_eq!(li.login("li", "correct horse"), 303);
    assert_eq!(li.get(&format!("/venues/{other_venue}/notice")).0, 403);

    // Revoking a venue's links ends the old ones; a notice issued afterwards works.
    let other_url = wang.owner_url(&other_venue).unwrap().unwrap();
    assert_eq!(owner_get(&other_url).0, 200);
    let li_csrf = csrf_of(&li.get("/").1);
    assert_eq!(
        li.post(
            &format!("/venues/{other_venue}/owner-links/revoke"),
            &format!("csrf={li_csrf}")
        )
        .0,
        403
    );
    assert_eq!(
        sun.post(
            &format!("/venues/{other_venue}/owner-links/revoke"),
            &format!("csrf={csrf}")
        )
        .0,
        303
    );
    assert_eq!(owner_get(&other_url).0, 403);
    std::thread::sleep(std::time::Duration::from_millis(5));
    let fresh = wang.owner_url(&other_venue).unwrap().unwrap();
    assert_eq!(owner_get(&fresh).0, 200);

    // A venue's daily allowance: the 31st report in 24 hours is refused.
    for _ in 0..gridsafe_server::owner::REPORTS_PER_DAY {
        assert_eq!(
            owner_post(&fresh, &other_hazard, fixtures::PHOTO_AFTER, "").0,
            303
        );
    }
    let (status, page) = owner_post(&fresh, &other_hazard, fixtures::PHOTO_AFTER, "");
    assert_eq!(status, 429, "{page}");
}

#[test]
fn a_12345_ticket_reaches_the_grid_worker_who_verifies_it_on_site() {
    let relay = start_relay();
    let dir = tempfile::tempdir().unwrap();
    let mut wang = phone(dir.path(), "wang.sqlite", &relay, "wang");
    let venue = wang
        .add_venue(
            "wang",
            NewVenue {
                name: "举报小吃".into(),
                grid_id: "heping-1".into(),
                profile: fixtures::restaurant_profile(),
                ..Default::default()
            },
        )
        .unwrap();
    sync(&mut wang);
    let mut office = Browser::new(&relay.url);
    assert_eq!(office.login("office", "correct horse"), 303);
    let (status, page, _) = office.get("/intake");
    assert_eq!(status, 200, "{page}");
    let csrf = csrf_of(&page);
    let import = |b: &mut Browser, csv: &str| {
        let (ct, body) = multipart(&[
            ("csrf", None, csrf.as_bytes()),
            ("file", Some("tickets.csv"), csv.as_bytes()),
        ]);
        let mut req = b
            .agent
            .post(&format!("{}/intake/import", b.base))
            .header("Content-Type", &ct);
        if let Some(c) = b.cookie() {
            req = req.header("Cookie", c);
        }
        let mut r = req.send(&body[..]).unwrap();
        (
            r.status().as_u16(),
            r.body_mut().read_to_string().unwrap_or_default(),
        )
    };

    // A malformed file: every bad line named, nothing imported.
    let bad = "\u{feff}工单号,时间,地址,描述,类别,网格\n\
               T-1,2026-11-20 09:30,和平路1号,楼道堆放杂物,生命通道,heping-1\n\
               ,2026-11-20,和平路2号,飞线充电,电动自行车,heping-1\n\
               T-3,昨天,和平路3号,飞线充电,电动自行车,heping-1\n\
               T-4,2026-11-21,和平路4号,气瓶,火箭,heping-1\n\
               T-5,2026-11-21,和平路5号,气瓶,城镇燃气,nowhere-9\n\
               T-1,2026-11-22,和平路1号,重复,生命通道,heping-1\n";
    let (status, page) = import(&mut office, bad);
    assert_eq!(status, 400, "{page}");
    for want in [
        "line 3",
        "ticket number is empty",
        "line 4",
        "昨天",
        "line 5",
        "火箭",
        "line 6",
        "nowhere-9",
        "line 7",
        "appears twice",
    ] {
        assert!(page.contains(want), "{want}: {page}");
    }
    assert!(
        !page.contains("line 2"),
        "the good line is not blamed: {page}"
    );
    assert!(
        relay.inspect(|st| st.tasks(10).unwrap()).is_empty(),
        "nothing half-imported"
    );
    assert_eq!(
        import(&mut office, "工单号,地址\nT-9,x\n").0,
        400,
        "missing columns"
    );

    // A good file: two tasks for heping-1, one for jialou.
    let good = "工单号,时间,地址,描述,类别,网格,渠道\n\
                T-1,2026-11-20 09:30,和平路1号 举报小吃,后厨液化气瓶无报警器,城镇燃气,heping-1,12345\n\
                T-2,2026-11-20 10:00,和平路8号,楼道堆放杂物,生命通道,heping-1,随申拍\n\
                T-3,2026-11-21 11:00,夹漏路3号,飞线充电,电动自行车,jialou-1,12345\n";
    let (status, page) = import(&mut office, good);
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("已导入工单 3") && page.contains("待查实"),
        "{page}"
    );
    assert_eq!(import(&mut office, good).0, 400, "imported before");
    let mut sun = Browser::new(&relay.url);
    assert_eq!(sun.login("sun", "correct horse"), 303);
    assert_eq!(sun.get("/intake").0, 403, "the town office's page");

    // The grid worker's phone: only heping-1's two, after sync.
    sync(&mut wang);
    let tasks = wang.list_tasks(Some("wang")).unwrap();
    assert_eq!(
        tasks
            .iter()
            .map(|t| t.ticket_no.as_str())
            .collect::<Vec<_>>(),
        ["T-1", "T-2"],
        "{tasks:?}"
    );
    let (t1, t2) = (tasks[0].id.clone(), tasks[1].id.clone());
    use gridsafe_core::store::TaskVerdict;
    let e = wang
        .verify_task(
            "wang",
            &t2,
            TaskVerdict {
                substantiated: false,
                ..Default::default()
            },
        )
        .unwrap_err();
    assert!(e.to_string().contains("needs the reason"), "{e}");
    let e = wang
        .verify_task(
            "wang",
            &t1,
            TaskVerdict {
                substantiated: true,
                ..Default::default()
            },
        )
        .unwrap_err();
    assert!(e.to_string().contains("needs the venue"), "{e}");
    let e = wang
        .verify_task(
            "li",
            &t1,
            TaskVerdict {
                substantiated: false,
                reason: "x".into(),
                ..Default::default()
            },
        )
        .unwrap_err();
    // Acting as another user on an enrolled phone is refused (issue #26).
    assert!(e.to_string().contains("cannot act as li"), "{e}");
    let photo = NewPhoto {
        bytes: fixtures::PHOTO_BEFORE.to_vec(),
        role: "before".into(),
        ..Default::default()
    };
    let hazard = wang
        .verify_task(
            "wang",
            &t1,
            TaskVerdict {
                substantiated: true,
                venue_id: Some(venue.id.clone()),
                photo: Some(photo),
                ..Default::default()
            },
        )
        .unwrap()
        .expect("a hazard");
    wang.verify_task(
        "wang",
        &t2,
        TaskVerdict {
            substantiated: false,
            reason: "现场已清理，查无此事".into(),
            ..Default::default()
        },
    )
    .unwrap();
    let e = wang
        .verify_task(
            "wang",
            &t2,
            TaskVerdict {
                substantiated: false,
                reason: "again".into(),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert!(e.to_string().contains("already verified"), "{e}");
    let h = wang.hazard(&hazard).unwrap();
    assert_eq!(
        (h.header.source.as_str(), h.header.ticket_no.as_deref()),
        ("public_report", Some("12345 T-1"))
    );
    assert_eq!(
        h.header.lead_depts,
        ["gjb"],
        "routed by the directory for gas"
    );
    assert_eq!(h.status.state.as_str(), "registered");
    client::sync_all(&mut wang, false, &mut |_| {}).unwrap();

    // At the office: the ticket's outcome, the hazard on the ledger by source, and in the report.
    let (_, page, _) = office.get("/intake");
    assert!(
        page.contains(&format!("/hazards/{hazard}"))
            && page.contains("不属实：现场已清理，查无此事"),
        "{page}"
    );
    assert!(
        office
            .get("/hazards?source=public_report")
            .1
            .contains("共 1 条")
    );
    let r = relay.inspect(|st| st.report("office", None).unwrap());
    assert_eq!(
        r.totals.by_source[2], 1,
        "public reports counted by source: {:?}",
        r.totals
    );
    let (_, detail, _) = office.get(&format!("/hazards/{hazard}"));
    assert!(
        detail.contains("12345 T-1") && detail.contains("✓"),
        "ticket and the verified photo: {detail}"
    );
}

#[test]
fn an_owners_self_inspection_finding_is_registered_after_review() {
    let relay = start_relay();
    let dir = tempfile::tempdir().unwrap();
    let mut wang = phone(dir.path(), "wang.sqlite", &relay, "wang");
    let (venue, _) = inspection_with_hazard(&mut wang, "自查小吃");
    sync(&mut wang);
    let url = wang.owner_url(&venue).unwrap().unwrap();
    let (status, page) = owner_get(&url);
    assert_eq!(status, 200);
    let items: Vec<String> = page
        .match_indices(r#"name="item" value=""#)
        .map(|(at, m)| page[at + m.len()..].split('"').next().unwrap().to_owned())
        .collect();
    assert!(items.len() >= 5, "the venue's checklist: {items:?}");
    let post = |body: &str| {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .into();
        let mut r = agent
            .post(&format!("{url}/self-check"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .send(body)
            .unwrap();
        (
            r.status().as_u16(),
            r.body_mut().read_to_string().unwrap_or_default(),
        )
    };
    let (status, page) = post("note=x");
    assert_eq!(status, 400, "{page}");
    let (status, page) = post("item=nonsense.item&note=x");
    assert_eq!(status, 400);
    assert!(page.contains("nonsense.item"), "{page}");
    assert_eq!(
        post(&format!(
            "item={}&item={}&note=%E5%90%8E%E5%8E%A8",
            items[0], items[1]
        ))
        .0,
        303
    );

    let mut office = Browser::new(&relay.url);
    assert_eq!(office.login("office", "correct horse"), 303);
    let (status, page, _) = office.get("/self-reports");
    assert_eq!(status, 200, "{page}");
    assert_eq!(page.matches("finding-decision").count(), 2, "{page}");
    let mut w = Browser::new(&relay.url);
    assert_eq!(w.login("wang", "correct horse"), 303);
    assert_eq!(
        w.get("/self-reports").0,
        403,
        "reviewed by departments and the office"
    );
    let findings = relay.inspect(|st| {
        st.owner_findings(
            &gridsafe_tests::fixtures::directory()
                .user("office")
                .unwrap()
                .clone(),
        )
        .unwrap()
    });
    let csrf = csrf_of(&page);
    assert_eq!(
        office
            .post(
                &format!("/self-reports/{}", findings[0].id),
                &format!("csrf={csrf}&decision=dismiss")
            )
            .0,
        400,
        "a reason"
    );
    let (status, _, h) = office.post(
        &format!("/self-reports/{}", findings[0].id),
        &format!("csrf={csrf}&decision=register"),
    );
    assert_eq!(status, 303);
    let hazard = h
        .get("location")
        .unwrap()
        .to_str()
        .unwrap()
        .trim_start_matches("/hazards/")
        .to_owned();
    assert_eq!(
        office
            .post(
                &format!("/self-reports/{}", findings[0].id),
                &format!("csrf={csrf}&decision=register")
            )
            .0,
        409,
        "once"
    );
    assert_eq!(
        office
            .post(
                &format!("/self-reports/{}", findings[1].id),
                &format!("csrf={csrf}&decision=dismiss&reason=%E5%B7%B2%E6%9C%89")
            )
            .0,
        303
    );
    assert!(office.get("/self-reports").1.contains("已驳回：已有"));

    // The grid worker's phone receives the registered hazard, source self_report.
    sync(&mut wang);
    let h = wang.hazard(&hazard).unwrap();
    assert_eq!(
        (
            h.header.source.as_str(),
            h.status.state.as_str(),
            h.header.item_id.as_str()
        ),
        ("self_report", "registered", findings[0].item_id.as_str())
    );
    assert!(
        office
            .get("/hazards?source=self_report")
            .1
            .contains("共 1 条")
    );
}

/// A request that pushes one record twice: the second copy is refused with the reason (it would
/// be checked against the relay's version, not the first copy's), the first is stored once, and
/// the phone's next sync is clean.
#[test]
fn a_record_pushed_twice_in_one_request_is_stored_once() {
    let relay = start_relay();
    let dir = tempfile::tempdir().unwrap();
    let mut wang = phone(dir.path(), "wang.sqlite", &relay, "wang");
    fixtures::flying_lead_visit(&mut wang, "wang", "heping-1", 0);
    let mut req = wang.sync_request(usize::MAX).unwrap();
    let twice = req.push[0].clone();
    let changes: usize = req.push.iter().map(|d| d.changes.len()).sum();
    req.push.push(twice.clone());
    let token = wang.enrollment().unwrap().unwrap().1;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut r = agent
        .post(&format!("{}/v1/sync", relay.url))
        .header("Authorization", &format!("Bearer {token}"))
        .send(&req.encode()[..])
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let resp = gridsafe_core::sync::SyncResponse::decode(
        &r.body_mut()
            .with_config()
            .limit(1 << 26)
            .read_to_vec()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(resp.accepted.len(), req.push.len() - 1, "every record once");
    assert_eq!(resp.refused.len(), 1);
    assert_eq!(resp.refused[0].doc_id, twice.doc_id);
    assert!(
        resp.refused[0].reason.contains("pushed twice"),
        "{}",
        resp.refused[0].reason
    );
    assert_eq!(
        relay.inspect(|r| r.counts().unwrap().1) as usize,
        changes,
        "each change stored once"
    );
    sync(&mut wang);
    assert_eq!(
        wang.sync_status().unwrap().pending_docs,
        0,
        "the phone's next sync is clean"
    );
}
