//! What the relay does with a phone's sync body: decode the CBOR request, then check each pushed
//! record's automerge changes (apply, shape, scope) as `POST /v1/sync` does. An insider with a
//! valid token controls every byte, so the actors in the changes are bound to the device here:
//! the checks behind the actor check are what is being fuzzed. Never panics; a refusal is an error.
#![no_main]

use std::collections::HashSet;

use automerge::{AutoCommit, Change, ReadDoc};
use gridsafe_core::directory::{Role, User};
use gridsafe_core::records;
use gridsafe_core::sync::{DocChanges, SyncRequest, SyncResponse};
use gridsafe_server::store::{Device, check};
use libfuzzer_sys::fuzz_target;
use serde_bytes::ByteBuf;

fn device(pushes: &[DocChanges], role: Role) -> Device {
    let actors: HashSet<String> = pushes
        .iter()
        .flat_map(|d| d.changes.iter())
        .filter(|c| records::check_chunks("fuzz", c, &[1, 2]).is_ok())
        .filter_map(|c| {
            records::untrusted("fuzz", || Change::from_bytes(c.to_vec()))
                .ok()?
                .ok()
        })
        .map(|c| c.actor_id().to_hex_string())
        .collect();
    let user = User {
        id: "insp".into(),
        name: "insp".into(),
        role,
        department: Some("FIRE".into()),
        grids: vec!["G1".into()],
    };
    Device {
        id: "dev".into(),
        user,
        actors,
    }
}

/// The record id the document claims (so the id check passes and the shape checks run).
fn doc_id(doc: &AutoCommit) -> String {
    for key in ["hazard", "venue", "inspection", "task"] {
        if let Ok(Some((_, obj))) = doc.get(automerge::ROOT, key)
            && let Ok(Some((v, _))) = doc.get(&obj, "id")
            && let Some(s) = v.as_str()
        {
            return s.to_owned();
        }
    }
    "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b".into()
}

/// libFuzzer's hook aborts on any panic. automerge 0.12's own panics on malformed bytes (an
/// `unwrap` in its op import and one in its column decoder, hexane — both found here) are caught
/// where outside bytes meet automerge (`records::untrusted`) and answered 400, so they unwind to
/// that catch; a panic anywhere else is still a finding.
fn let_automerge_panics_unwind() {
    let abort = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        // Third-party code (automerge, hexane, ...): a panic that escapes our catch still reaches
        // libfuzzer-sys's own catch, which aborts, so nothing is hidden.
        if info
            .location()
            .is_some_and(|l| l.file().contains("/registry/src/"))
        {
            return;
        }
        abort(info);
    }));
}

fuzz_target!(init: let_automerge_panics_unwind(), |data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let pushes = match mode % 4 {
        // A whole request body.
        0 => match SyncRequest::decode(rest) {
            Ok(req) => {
                let again = SyncRequest::decode(&req.encode()).expect("a decoded request re-encodes");
                assert_eq!(again, req);
                req.push
            }
            Err(e) => {
                assert!(!e.to_string().is_empty());
                return;
            }
        },
        // The answer side, as a phone decodes it.
        1 => {
            let _ = SyncResponse::decode(rest);
            return;
        }
        // A saved document (what `doc import` and backups carry), screened as the phone's import
        // screens it, pushed as its changes.
        2 => match records::check_chunks("fuzz", rest, &[0, 1, 2]).and_then(|()| records::untrusted("fuzz", || AutoCommit::load(rest))) {
            Ok(Ok(mut doc)) => vec![DocChanges {
                doc_id: doc_id(&doc),
                kind: "hazard".into(),
                changes: doc.get_changes(&[]).into_iter().map(|c| ByteBuf::from(c.raw_bytes().to_vec())).collect(),
                heads: vec![],
            }],
            _ => return,
        },
        // Raw change bytes, so the fuzzer reaches automerge without learning CBOR first.
        _ => vec![DocChanges {
            doc_id: "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b".into(),
            kind: "hazard".into(),
            changes: rest.split(|&b| b == 0xfe).take(8).map(|c| ByteBuf::from(c.to_vec())).collect(),
            heads: vec![],
        }],
    };
    for role in [Role::Inspector, Role::Reviewer] {
        let dev = device(&pushes, role);
        for d in pushes.iter().take(16) {
            let _ = check(&dev, d, None);
        }
    }
});
