//! Five phones sync a hundred times each through a proxy that drops, delays, cuts, truncates,
//! replays, reorders and replaces requests and answers (issue #8): afterwards the phones, the relay and the
//! office agree on every record, nothing is duplicated, nothing is lost, and every photo's bytes
//! match their hash.

use std::collections::HashMap;

use gridsafe_client as client;
use gridsafe_core::Store;
use gridsafe_core::lifecycle::EventKind;
use gridsafe_core::store::{Action, NewPhoto};
use gridsafe_tests::faults::{Fault, FaultProxy};
use gridsafe_tests::fixtures;
use gridsafe_tests::relay::TestRelay;

const PHONES: [(&str, &str); 5] = [
    ("wang", "heping-1"),
    ("li", "jialou-1"),
    ("zhang", "taiping-1"),
    ("liu", "longyue-1"),
    ("chen", "baiyang-1"),
];
const ROUNDS: usize = 100;

#[test]
fn five_phones_converge_through_a_hundred_faulty_syncs_each() {
    let users: Vec<&str> = PHONES.iter().map(|p| p.0).chain(["office"]).collect();
    let relay = TestRelay::start(&users);
    let proxy = FaultProxy::start(relay.addr(), 0x5eed_f417).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut phones: Vec<(&str, &str, Store, Vec<String>)> = PHONES
        .iter()
        .map(|(user, grid)| {
            let mut s = Store::create(dir.path().join(format!("{user}.sqlite"))).unwrap();
            s.import_directory(fixtures::DIRECTORY_JSON).unwrap();
            client::enroll(&mut s, &proxy.url(), user, "correct horse", user).unwrap();
            let h = fixtures::flying_lead_visit(&mut s, user, grid, 0);
            (*user, *grid, s, vec![h])
        })
        .collect();

    proxy.set_faults(true);
    let (mut failed, mut ok) = (0usize, 0usize);
    for round in 0..ROUNDS {
        for (user, grid, s, hazards) in phones.iter_mut() {
            // More work while the network misbehaves: a new inspection now and then, and a claim
            // with an after photo on the oldest hazard.
            if round % 30 == 10 {
                hazards.push(fixtures::flying_lead_visit(s, user, grid, round));
            }
            if round == 50 {
                let after = NewPhoto {
                    bytes: fixtures::PHOTO_AFTER.to_vec(),
                    role: "after".into(),
                    ..Default::default()
                };
                fixtures::serve_notice(s, user, &hazards[0]);
                s.transition(
                    user,
                    &hazards[0],
                    Action {
                        photo: Some(after),
                        ..Action::new(EventKind::Claim)
                    },
                )
                .unwrap();
            }
            match client::sync_all(s, false, &mut |_| {}) {
                Ok(_) => ok += 1,
                Err(_) => failed += 1,
            }
        }
    }
    let counts = proxy.counts();
    eprintln!("faulty syncs: {ok} succeeded, {failed} failed; faults per connection: {counts:?}");
    for f in [
        Fault::Refuse,
        Fault::Delay,
        Fault::TruncateRequest,
        Fault::CutResponse,
        Fault::LoseResponse,
        Fault::Replace500,
        Fault::Duplicate,
        Fault::Reorder,
    ] {
        assert!(
            counts.get(&f).copied().unwrap_or(0) > 0,
            "{f:?} never happened: {counts:?}"
        );
    }
    assert!(
        failed > 50 && ok > 50,
        "the faults bit and syncs still got through: {ok} ok, {failed} failed"
    );

    // The network recovers: one clean sync each, then the office pulls everything.
    proxy.set_faults(false);
    for (_, _, s, _) in phones.iter_mut() {
        client::sync_all(s, false, &mut |_| {}).unwrap();
        let st = s.sync_status().unwrap();
        assert_eq!(
            (st.pending_docs, st.pending_photos),
            (0, 0),
            "nothing left behind: {st:?}"
        );
    }
    let mut office = Store::create(dir.path().join("office.sqlite")).unwrap();
    office.import_directory(fixtures::DIRECTORY_JSON).unwrap();
    client::enroll(&mut office, &relay.url, "office", "correct horse", "office").unwrap();
    client::sync_all(&mut office, false, &mut |_| {}).unwrap();

    // Every record: the same heads on the phone, the relay and the office; no event twice.
    let mut relay_store = relay.config.open_store().unwrap();
    let expected_hazards: usize = phones.iter().map(|p| p.3.len()).sum();
    let counts_office = office.counts().unwrap();
    assert_eq!(
        counts_office.get("hazard").copied(),
        Some(expected_hazards as u64),
        "{counts_office:?}"
    );
    assert_eq!(
        counts_office.get("venue").copied(),
        Some(expected_hazards as u64)
    );
    for (user, _, s, hazards) in &phones {
        for h in hazards {
            let mine = s.hazard(h).unwrap();
            let theirs = office.hazard(h).unwrap();
            assert_eq!(
                s.doc_heads(h).unwrap(),
                office.doc_heads(h).unwrap(),
                "{user} {h}"
            );
            assert_eq!(
                relay_store.doc_heads(h).unwrap().unwrap(),
                s.doc_heads(h).unwrap()
            );
            assert_eq!(mine.status.history.len(), theirs.status.history.len());
            let ids: std::collections::HashSet<&str> = theirs
                .status
                .history
                .iter()
                .map(|e| e.id.as_str())
                .collect();
            assert_eq!(ids.len(), theirs.status.history.len(), "no event twice");
        }
        assert_eq!(
            s.hazard(&hazards[0]).unwrap().status.state.as_str(),
            "rectified_claimed",
            "{user}'s claim made it"
        );
    }

    // Every photo on the relay, whole: its bytes hash to its name.
    let mut by_hash: HashMap<String, usize> = HashMap::new();
    for entry in walk(&relay.data.path().join("blobs")) {
        let bytes = std::fs::read(&entry).unwrap();
        let name = entry.file_name().unwrap().to_string_lossy().to_string();
        if entry.parent().is_some_and(|p| p.ends_with("partial")) {
            continue;
        }
        assert_eq!(
            gridsafe_core::evidence::sha256_hex(&bytes),
            name,
            "{}",
            entry.display()
        );
        *by_hash.entry(name).or_default() += 1;
    }
    for (_, _, s, hazards) in &phones {
        for h in hazards {
            for p in s.hazard(h).unwrap().header.photos {
                assert!(
                    relay_store.blob_complete(&p.sha256).unwrap()
                        && by_hash.contains_key(&p.sha256),
                    "photo {} lost",
                    p.sha256
                );
            }
        }
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
