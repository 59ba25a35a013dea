//! Sync protocol v1, phone side, against a minimal in-test relay built from core's own pieces:
//! one request carries a whole day, replays duplicate nothing, a lost response loses nothing,
//! and a reviewer's decision reaches the inspector.

use std::collections::HashMap;

use automerge::AutoCommit;
use gridsafe_core::Store;
use gridsafe_core::lifecycle::EventKind;
use gridsafe_core::store::{Action, HazardQuery, NewPhoto, NewVenue};
use gridsafe_core::sync::{Acked, DocChanges, PROTOCOL, SyncRequest, SyncResponse};
use gridsafe_tests::fixtures;
use serde_bytes::ByteBuf;

/// The relay's bookkeeping reduced to what the protocol promises: an append-only change log keyed
/// by change hash with a sequence number as the pull cursor.
#[derive(Default)]
struct MiniRelay {
    docs: HashMap<String, (String, AutoCommit)>,
    log: Vec<(u64, String, String, Vec<u8>, String)>, // seq, doc, change hash, bytes, device
    actors: Vec<(String, String)>,
}

impl MiniRelay {
    fn enroll(&mut self, phone: &Store) {
        for a in phone.local_actors().unwrap() {
            if !self.actors.contains(&a) {
                self.actors.push(a);
            }
        }
    }

    fn sync(&mut self, device: &str, req_bytes: &[u8]) -> Vec<u8> {
        let req = SyncRequest::decode(req_bytes).unwrap();
        let mut accepted = Vec::new();
        for d in &req.push {
            let (_, doc) = self
                .docs
                .entry(d.doc_id.clone())
                .or_insert_with(|| (d.kind.clone(), AutoCommit::new()));
            for c in &d.changes {
                let change = automerge::Change::from_bytes(c.to_vec()).unwrap();
                let hash = change.hash().to_string();
                if !self.log.iter().any(|(_, _, h, _, _)| *h == hash) {
                    let seq = self.log.len() as u64 + 1;
                    self.log
                        .push((seq, d.doc_id.clone(), hash, c.to_vec(), device.into()));
                }
                doc.apply_changes([change]).unwrap();
            }
            accepted.push(Acked {
                doc_id: d.doc_id.clone(),
                heads: doc.get_heads().iter().map(|h| h.to_string()).collect(),
            });
        }
        let mut by_doc: Vec<DocChanges> = Vec::new();
        for (_, doc_id, _, bytes, from) in self.log.iter().filter(|(seq, ..)| *seq > req.cursor) {
            if from == device {
                continue;
            }
            let (kind, doc) = &mut self.docs.get_mut(doc_id).unwrap();
            let heads = doc.get_heads().iter().map(|h| h.to_string()).collect();
            match by_doc.iter_mut().find(|d| &d.doc_id == doc_id) {
                Some(d) => d.changes.push(ByteBuf::from(bytes.clone())),
                None => by_doc.push(DocChanges {
                    doc_id: doc_id.clone(),
                    kind: kind.clone(),
                    changes: vec![ByteBuf::from(bytes.clone())],
                    heads,
                }),
            }
        }
        SyncResponse {
            protocol: PROTOCOL,
            accepted,
            refused: vec![],
            pull: by_doc,
            cursor: self.log.len() as u64,
            more: false,
            directory: None,
            templates: vec![],
            actors: self.actors.clone(),
            server_ms: 0,
            dropped: vec![],
            issuer: None,
            notice_block: None,
            notices_recorded: vec![],
        }
        .encode()
    }
}

fn phone(dir: &tempfile::TempDir, name: &str) -> Store {
    let mut s = Store::create(dir.path().join(name)).unwrap();
    s.import_directory(fixtures::DIRECTORY_JSON).unwrap();
    s
}

fn sync(relay: &mut MiniRelay, device: &str, s: &mut Store) -> (usize, usize) {
    relay.enroll(s);
    let req = s.sync_request(usize::MAX).unwrap();
    let raw = req.change_bytes();
    let req_bytes = req.encode();
    let resp_bytes = relay.sync(device, &req_bytes);
    let resp = SyncResponse::decode(&resp_bytes).unwrap();
    s.apply_sync_response(&resp).unwrap();
    (
        raw + resp.change_bytes(),
        req_bytes.len() + resp_bytes.len(),
    )
}

fn a_day(s: &mut Store) -> Vec<String> {
    let mut hazards = Vec::new();
    for n in 0..5 {
        let v = s
            .add_venue(
                "wang",
                NewVenue {
                    name: format!("小店{n}"),
                    grid_id: "heping-1".into(),
                    profile: fixtures::restaurant_profile(),
                    ..Default::default()
                },
            )
            .unwrap();
        let i = s.start_inspection("wang", &v.id, "lx.gas", None).unwrap();
        let answers = fixtures::answers(
            fixtures::GAS_ANSWERS,
            &[
                ("gas.lpg_underground", serde_json::json!("no")),
                ("gas.shutoff_installed", serde_json::json!("yes")),
                ("gas.shutoff_test_record", serde_json::json!("yes")),
            ],
        );
        s.answer("wang", &i.id, &answers).unwrap();
        s.attach_photo(
            "wang",
            &i.id,
            NewPhoto {
                bytes: fixtures::PHOTO_MEASURE.to_vec(),
                item_id: Some("gas.hose_length".into()),
                role: "before".into(),
                ..Default::default()
            },
        )
        .unwrap();
        hazards.extend(
            s.finish_inspection("wang", &i.id)
                .unwrap()
                .hazards
                .into_iter()
                .map(|h| h.id),
        );
    }
    hazards
}

#[test]
fn a_day_syncs_in_one_request_and_decisions_flow_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut relay = MiniRelay::default();
    let mut inspector = phone(&dir, "wang.sqlite");
    let mut office = phone(&dir, "office.sqlite");
    let hazards = a_day(&mut inspector);
    assert_eq!(inspector.sync_status().unwrap().pending_docs, 15);

    // One request pushes the whole day; wire bytes stay close to the raw change bytes.
    let (raw, wire) = sync(&mut relay, "phone-wang", &mut inspector);
    assert!(
        wire as f64 <= raw as f64 * 1.1 + 2048.0,
        "wire {wire} vs raw {raw}"
    );
    assert_eq!(inspector.sync_status().unwrap().pending_docs, 0);

    // The office has never seen these records: it learns of all of them by cursor.
    sync(&mut relay, "pc-office", &mut office);
    assert_eq!(
        office.list_hazards(&HazardQuery::default()).unwrap().len(),
        hazards.len()
    );
    assert_eq!(
        office.hazard(&hazards[0]).unwrap().status,
        inspector.hazard(&hazards[0]).unwrap().status
    );
    assert_eq!(office.list_venues(None).unwrap().len(), 5);

    // Offline on both sides: the inspector rectifies one hazard, the office escalates nothing but
    // closes another after a claim it learns about later.
    let after = || NewPhoto {
        bytes: fixtures::PHOTO_AFTER.to_vec(),
        role: "after".into(),
        ..Default::default()
    };
    fixtures::serve_notice(&mut inspector, "wang", &hazards[0]);
    inspector
        .transition(
            "wang",
            &hazards[0],
            Action {
                photo: Some(after()),
                ..Action::new(EventKind::Claim)
            },
        )
        .unwrap();
    sync(&mut relay, "phone-wang", &mut inspector);
    sync(&mut relay, "pc-office", &mut office);
    office
        .transition("zheng", &hazards[0], Action::new(EventKind::Close))
        .unwrap();
    sync(&mut relay, "pc-office", &mut office);
    sync(&mut relay, "phone-wang", &mut inspector);
    assert_eq!(
        inspector.hazard(&hazards[0]).unwrap().status.state.as_str(),
        "closed",
        "the reviewer's decision reached the phone"
    );
    assert_eq!(
        inspector.hazard(&hazards[0]).unwrap().status,
        office.hazard(&hazards[0]).unwrap().status
    );
    assert_eq!(inspector.sync_status().unwrap().pending_docs, 0);
    assert_eq!(office.sync_status().unwrap().pending_docs, 0);
}

#[test]
fn replays_and_lost_responses_lose_and_duplicate_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut relay = MiniRelay::default();
    let mut inspector = phone(&dir, "wang.sqlite");
    let mut office = phone(&dir, "office.sqlite");
    a_day(&mut inspector);
    relay.enroll(&inspector);
    let req = inspector.sync_request(usize::MAX).unwrap().encode();
    // The response is lost on the way back: the phone never applies it.
    let _lost = relay.sync("phone-wang", &req);
    let log_len = relay.log.len();
    // Replaying the same bytes is a no-op on the relay.
    let again = relay.sync("phone-wang", &req);
    assert_eq!(relay.log.len(), log_len);
    // The phone still thinks everything is pending and syncs again: same log, then applied.
    let req2 = inspector.sync_request(usize::MAX).unwrap().encode();
    assert_eq!(
        req2, req,
        "nothing was marked sent before the acknowledgement"
    );
    inspector
        .apply_sync_response(&SyncResponse::decode(&again).unwrap())
        .unwrap();
    assert_eq!(relay.log.len(), log_len);
    assert_eq!(inspector.sync_status().unwrap().pending_docs, 0);
    // Applying the same response twice changes nothing either.
    inspector
        .apply_sync_response(&SyncResponse::decode(&again).unwrap())
        .unwrap();
    sync(&mut relay, "pc-office", &mut office);
    sync(&mut relay, "pc-office", &mut office);
    assert_eq!(office.counts().unwrap(), inspector.counts().unwrap());
    // A second, capped request pushes in several round trips and ends with nothing pending.
    a_day(&mut inspector);
    let mut rounds = 0;
    loop {
        relay.enroll(&inspector);
        let req = inspector.sync_request(4_000).unwrap();
        let more = req.more_to_push;
        let resp = relay.sync("phone-wang", &req.encode());
        inspector
            .apply_sync_response(&SyncResponse::decode(&resp).unwrap())
            .unwrap();
        rounds += 1;
        if !more {
            break;
        }
    }
    assert!(rounds > 1);
    assert_eq!(inspector.sync_status().unwrap().pending_docs, 0);
}

#[test]
fn bad_responses_are_refused_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut inspector = phone(&dir, "wang.sqlite");
    a_day(&mut inspector);
    let before = inspector.counts().unwrap();
    assert!(SyncResponse::decode(b"not cbor").is_err());
    let bad = SyncResponse {
        protocol: PROTOCOL,
        accepted: vec![],
        refused: vec![],
        pull: vec![DocChanges {
            doc_id: "018f0000-0000-7000-8000-000000000001".into(),
            kind: "hazard".into(),
            changes: vec![ByteBuf::from(vec![1, 2, 3])],
            heads: vec![],
        }],
        cursor: 99,
        more: false,
        directory: None,
        templates: vec![],
        actors: vec![],
        server_ms: 0,
        dropped: vec![],
        issuer: None,
        notice_block: None,
        notices_recorded: vec![],
    };
    assert!(inspector.apply_sync_response(&bad).is_err());
    assert_eq!(inspector.counts().unwrap(), before);
    assert_eq!(
        inspector.sync_status().unwrap().cursor,
        0,
        "the cursor did not move"
    );
}
