//! A new hazard's registration data is checked when it first reaches the relay (issue #25):
//! each field a phone could forge — the venue, the village and grid, the checklist item, the
//! severity, the finder, the lead departments — is refused for that record alone, with the
//! reason, while the honest records of the same sync are accepted.

use std::collections::HashSet;

use automerge::ActorId;
use gridsafe_client as client;
use gridsafe_core::field;
use gridsafe_core::labels::Lang;
use gridsafe_core::records::{self, EventRecord, HazardHeader};
use gridsafe_core::store::{NewPhoto, NewVenue};
use gridsafe_core::sync::{DocChanges, SyncResponse};
use gridsafe_tests::fixtures;
use gridsafe_tests::relay::TestRelay;
use serde_bytes::ByteBuf;

fn register() -> EventRecord {
    EventRecord {
        id: gridsafe_core::store::new_id(),
        kind: "register".into(),
        ms: gridsafe_core::clock::now_ms(),
        counter: 0,
        reason: None,
        deadline: None,
        photo: None,
        inspection_id: None,
        text: None,
    }
}

fn push_of(h: &HazardHeader, actor: &ActorId) -> DocChanges {
    let mut doc = records::new_hazard_doc(actor, h, &register()).unwrap();
    DocChanges {
        doc_id: h.id.clone(),
        kind: "hazard".into(),
        changes: doc
            .get_changes(&[])
            .iter()
            .map(|c| ByteBuf::from(c.raw_bytes().to_vec()))
            .collect(),
        heads: vec![],
    }
}

#[test]
fn each_forged_header_field_is_refused_and_the_honest_records_are_kept() {
    let relay = TestRelay::start(&["wang", "li"]);
    let dir = tempfile::tempdir().unwrap();
    let mut li = relay.phone(dir.path(), "li");
    let other_village = li
        .add_venue(
            "li",
            NewVenue {
                name: "李家小店".into(),
                grid_id: "jialou-1".into(),
                profile: fixtures::restaurant_profile(),
                ..Default::default()
            },
        )
        .unwrap();
    client::sync_all(&mut li, false, &mut |_| {}).unwrap();

    // 王's visit: a gas inspection of an LPG restaurant with a basement, where LPG is used in
    // the basement — the checklist makes that a major candidate for 规建办.
    let mut wang = relay.phone(dir.path(), "wang");
    let v = wang
        .add_venue(
            "wang",
            NewVenue {
                name: "老王小吃".into(),
                grid_id: "heping-1".into(),
                profile: fixtures::restaurant_profile(),
                ..Default::default()
            },
        )
        .unwrap();
    let i = wang
        .start_inspection("wang", &v.id, "lx.gas", None)
        .unwrap();
    let answers = fixtures::answers(
        fixtures::GAS_ANSWERS,
        &[("gas.lpg_underground", serde_json::json!("yes"))],
    );
    wang.answer("wang", &i.id, &answers).unwrap();
    for item in wang
        .evaluate(&i.id)
        .unwrap()
        .iter()
        .filter(|r| r.outcome == gridsafe_core::eval::Outcome::Fail)
    {
        wang.attach_photo(
            "wang",
            &i.id,
            NewPhoto {
                bytes: fixtures::PHOTO_BEFORE.to_vec(),
                item_id: Some(item.item_id.clone()),
                role: "before".into(),
                ..Default::default()
            },
        )
        .unwrap();
    }
    let done = wang.finish_inspection("wang", &i.id).unwrap();
    let honest = done
        .hazards
        .iter()
        .find(|h| h.item_id == "gas.lpg_underground")
        .expect("the basement LPG finding")
        .id
        .clone();
    let template = wang.hazard(&honest).unwrap().header;
    assert_eq!(template.severity_proposed, "major_candidate");

    // The forgeries, written with 王's own actor (so only their content is wrong).
    let actor = ActorId::from(
        hex::decode(
            &wang
                .local_actors()
                .unwrap()
                .into_iter()
                .find(|(_, u)| u == "wang")
                .unwrap()
                .0,
        )
        .unwrap(),
    );
    let forge = |f: &dyn Fn(&mut HazardHeader)| {
        let mut h = template.clone();
        h.id = gridsafe_core::store::new_id();
        f(&mut h);
        h
    };
    let forged: Vec<(&str, HazardHeader)> = vec![
        (
            "unknown_venue",
            forge(&|h| h.venue_id = gridsafe_core::store::new_id()),
        ),
        (
            "outside wang's scope",
            forge(&|h| {
                h.venue_id = other_village.id.clone();
                h.village = other_village.village.clone();
                h.grid_id = other_village.grid_id.clone();
            }),
        ),
        ("wrong_place", forge(&|h| h.grid_id = "heping-2".into())),
        ("wrong_place", forge(&|h| h.village = "jialou".into())),
        ("unknown_item", forge(&|h| h.item_id = "gas.made_up".into())),
        (
            "severity_too_low",
            forge(&|h| h.severity_proposed = "general".into()),
        ),
        ("not_the_finder", forge(&|h| h.found_by = "li".into())),
        (
            "wrong_departments",
            forge(&|h| h.lead_depts = vec!["cyzx".into()]),
        ),
        (
            "item_not_failed",
            forge(&|h| h.item_id = "gas.alarm_installed".into()),
        ),
        ("bad_source", forge(&|h| h.source = "referral".into())),
    ];

    // One sync: the phone's own records (venue, inspection, hazards) and every forgery.
    let token = wang.enrollment().unwrap().unwrap().1;
    let mut req = wang.sync_request(64 << 20).unwrap();
    let honest_ids: HashSet<String> = req.push.iter().map(|d| d.doc_id.clone()).collect();
    for (_, h) in &forged {
        req.push.push(push_of(h, &actor));
    }
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
    assert_eq!(
        r.status().as_u16(),
        200,
        "one refused record is not a refused sync"
    );
    let resp = SyncResponse::decode(&r.body_mut().read_to_vec().unwrap()).unwrap();
    let accepted: HashSet<String> = resp.accepted.iter().map(|a| a.doc_id.clone()).collect();
    assert_eq!(accepted, honest_ids, "every honest record is accepted");
    for (why, h) in &forged {
        let refusal = resp
            .refused
            .iter()
            .find(|r| r.doc_id == h.id)
            .unwrap_or_else(|| panic!("the forgery ({why}) is refused"));
        assert!(refusal.reason.contains(why), "{why}: {}", refusal.reason);
    }
    // The phone applies the answer; its honest records are now the relay's.
    wang.apply_sync_response(&resp).unwrap();
    assert_eq!(wang.sync_status().unwrap().pending_docs, 0);
    // Each refusal reaches the Sync screen in words: no record id, no rule code.
    for lang in [Lang::Zh, Lang::En] {
        let screen = field::sync::sync_screen(&wang, lang).unwrap();
        assert_eq!(screen.refused.len(), forged.len(), "{screen:?}");
        for line in &screen.refused {
            for text in [&line.what, &line.why, &line.what_to_do] {
                assert!(
                    !text.contains('[') && !text.contains('_') && !text.contains("-7"),
                    "{text}"
                );
                assert!(
                    forged.iter().all(|(_, h)| !text.contains(&h.id[..8])),
                    "{text}"
                );
            }
        }
        let whys: HashSet<&str> = screen.refused.iter().map(|l| l.why.as_str()).collect();
        assert!(whys.len() >= 6, "each rule in its own words: {whys:?}");
    }
    let zh = field::sync::sync_screen(&wang, Lang::Zh).unwrap();
    assert!(
        zh.refused
            .iter()
            .any(|l| l.why == "隐患等级低于检查表规则（应为重大隐患待认定）"),
        "{zh:?}"
    );
}
