//! The relay's small holes (issue #25), each tried as it was found: a formula in an exported
//! cell, an off-site redirect and a CR/LF through `/lang`, a PNG whose decoding would take
//! hundreds of megabytes sent to the owner's page, a megabyte of text in a field, an upload
//! offset near `u64::MAX` (in `relay.rs`), and `/metrics` read by anyone.

use gridsafe_client as client;
use gridsafe_core::lifecycle::EventKind;
use gridsafe_core::store::{Action, NewVenue};
use gridsafe_core::sync::{PROTOCOL, SyncRequest};
use gridsafe_server::ServeOptions;
use gridsafe_tests::browser::Browser;
use gridsafe_tests::fixtures;
use gridsafe_tests::relay::TestRelay;

const PASSWORD: &str = "correct horse";

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into()
}

#[test]
fn exported_cells_that_look_like_formulas_are_text() {
    let relay = TestRelay::start(&["wang", "office"]);
    let dir = tempfile::tempdir().unwrap();
    let mut wang = relay.phone(dir.path(), "wang");
    let v = wang
        .add_venue(
            "wang",
            NewVenue {
                name: "=HYPERLINK(\"http://evil.example\",\"点我\")".into(),
                grid_id: "heping-1".into(),
                profile: fixtures::restaurant_profile(),
                ..Default::default()
            },
        )
        .unwrap();
    let i = wang
        .start_inspection("wang", &v.id, "lx.ebike", None)
        .unwrap();
    wang.answer(
        "wang",
        &i.id,
        &fixtures::answers(fixtures::EBIKE_ANSWERS, &[]),
    )
    .unwrap();
    wang.attach_photo(
        "wang",
        &i.id,
        gridsafe_core::store::NewPhoto {
            bytes: fixtures::PHOTO_BEFORE.to_vec(),
            item_id: Some("ebike.flying_lead".into()),
            role: "before".into(),
            ..Default::default()
        },
    )
    .unwrap();
    wang.finish_inspection("wang", &i.id).unwrap();
    client::sync_all(&mut wang, false, &mut |_| {}).unwrap();
    let mut office = Browser::new(&relay.url);
    assert_eq!(office.login("office", PASSWORD), 303);
    let (status, csv, _) = office.get("/hazards.csv");
    assert_eq!(status, 200);
    assert!(
        csv.contains("'=HYPERLINK"),
        "the venue name goes out as text: {csv}"
    );
    assert!(!csv.contains(",=HYPERLINK"), "{csv}");
}

#[test]
fn lang_goes_back_only_to_this_site_and_never_fails() {
    let relay = TestRelay::start(&["office"]);
    let a = agent();
    let location = |q: &str| {
        let r = a.get(&format!("{}/lang?{q}", relay.url)).call().unwrap();
        assert_eq!(r.status().as_u16(), 303, "{q}");
        r.headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap()
    };
    // Found by probing: a tab that browsers strip turned `/\t/evil.example/` into
    // `//evil.example/`, which they follow off-site; a CR/LF answered 500.
    for q in [
        "to=en&back=/%09/evil.example/",
        "to=en&back=//evil.example/",
        "to=en&back=/%5Cevil.example/",
        "to=en&back=https://evil.example/",
        "to=en&back=/%0d%0aSet-Cookie:%20x=1",
        "to=en&back=/%20/evil.example",
        "to=xx&back=%2F%2F%2Fevil",
        "%ff%fe=1",
    ] {
        assert_eq!(location(q), "/", "{q}");
    }
    assert_eq!(
        location("to=en&back=/hazards?grid=heping-1"),
        "/hazards?grid=heping-1"
    );
    assert_eq!(
        location("back=/hazards&to"),
        "/hazards",
        "no language: Chinese"
    );
    assert_eq!(
        location("to=zh&back=/hazards?village=%E5%92%8C%E5%B9%B3"),
        "/hazards?village=%E5%92%8C%E5%B9%B3",
        "a path with Chinese stays on the site, percent-encoded"
    );
}

/// A PNG header claiming `w`×`h` RGBA pixels, with a valid checksum and no image data: the
/// relay must refuse it from the header, before allocating anything.
fn png_claiming(w: u32, h: u32) -> Vec<u8> {
    fn crc(bytes: &[u8]) -> u32 {
        let mut c = 0xFFFF_FFFFu32;
        for &b in bytes {
            c ^= u32::from(b);
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
        }
        !c
    }
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut chunk = |kind: &[u8], data: &[u8]| {
        png.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        png.extend_from_slice(&body);
        png.extend_from_slice(&crc(&body).to_be_bytes());
    };
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    chunk(b"IHDR", &ihdr);
    chunk(b"IDAT", &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]);
    chunk(b"IEND", &[]);
    png
}

#[test]
fn a_photo_whose_decoding_would_take_hundreds_of_megabytes_is_413() {
    // In core, from the header: 8000×8000 RGBA would need ~430 MB.
    let ctx = gridsafe_core::evidence::IngestContext {
        venue_short: "x".into(),
        inspector: "wang".into(),
        app_gps: None,
        now_ms: 0,
    };
    let e = gridsafe_core::evidence::ingest(&png_claiming(8000, 8000), &ctx).unwrap_err();
    assert!(
        matches!(&e, gridsafe_core::Error::TooLarge(m) if m.contains("MiB to decode")),
        "{e}"
    );
    // Through the owner's page, where anyone with a notice can post a photo.
    let relay = TestRelay::start(&["wang"]);
    let dir = tempfile::tempdir().unwrap();
    let mut wang = relay.phone(dir.path(), "wang");
    let hazard = fixtures::flying_lead_visit(&mut wang, "wang", "heping-1", 0);
    client::sync_all(&mut wang, false, &mut |_| {}).unwrap();
    let venue = wang.hazard(&hazard).unwrap().header.venue_id;
    let url = wang.owner_url(&venue).unwrap().unwrap();
    let boundary = "----edges-7d1c";
    let mut body = Vec::new();
    for (name, file, bytes) in [
        ("hazard", None, hazard.as_bytes().to_vec()),
        ("note", None, b"fixed".to_vec()),
        ("photo", Some("big.png"), png_claiming(8000, 8000)),
    ] {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match file {
            Some(f) => body.extend_from_slice(format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: image/png\r\n\r\n").as_bytes()),
            None => body.extend_from_slice(format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes()),
        }
        body.extend_from_slice(&bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let mut r = agent()
        .post(&format!("{url}/report"))
        .header(
            "Content-Type",
            &format!("multipart/form-data; boundary={boundary}"),
        )
        .send(&body[..])
        .unwrap();
    assert_eq!(r.status().as_u16(), 413);
    let page = r.body_mut().read_to_string().unwrap();
    assert!(page.contains("MiB"), "{page}");
}

#[test]
fn a_megabyte_of_text_is_refused_with_the_field_named() {
    let relay = TestRelay::start(&["wang", "sun"]);
    let dir = tempfile::tempdir().unwrap();
    let mut wang = relay.phone(dir.path(), "wang");
    let hazard = fixtures::flying_lead_visit(&mut wang, "wang", "heping-1", 0);
    client::sync_all(&mut wang, false, &mut |_| {}).unwrap();
    let token = wang.enrollment().unwrap().unwrap().1;
    // A sync whose app_version is a megabyte: the request is refused, naming the field.
    let mut req: SyncRequest = wang.sync_request(1 << 20).unwrap();
    req.status.app_version = "9".repeat(1 << 20);
    let mut r = agent()
        .post(&format!("{}/v1/sync", relay.url))
        .header("Authorization", &format!("Bearer {token}"))
        .header("Content-Type", "application/cbor")
        .send(&req.encode()[..])
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let body = r.body_mut().read_to_string().unwrap();
    assert!(
        body.contains("status.app_version: 1048576 characters, the limit is 128"),
        "{body}"
    );
    assert_eq!(req.protocol, PROTOCOL);
    // On the phone, where text is typed: refused before anything is written.
    let e = wang
        .transition(
            "wang",
            &hazard,
            Action {
                reason: Some("因".repeat(1 << 20)),
                ..Action::new(EventKind::Claim)
            },
        )
        .unwrap_err();
    assert!(e.to_string().contains("reason: 1048576 characters"), "{e}");
    // A treatment plan of a megabyte typed on the dashboard: refused, naming the field.
    let mut sun = Browser::new(&relay.url);
    assert_eq!(sun.login("sun", PASSWORD), 303);
    let page = sun.get(&format!("/hazards/{hazard}")).1;
    let at = page.find("name=\"csrf\" value=\"").unwrap() + 19;
    let csrf = page[at..at + 64].to_owned();
    let (status, page, _) = sun.post(
        &format!("/hazards/{hazard}/action"),
        &format!("csrf={csrf}&action=plan&plan_goal={}", "a".repeat(1 << 20)),
    );
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("plan_goal: 1048576 characters"), "{page}");
}

#[test]
fn metrics_answer_this_machine_or_the_token_only() {
    // Without a token: this machine only (the test's client is on loopback).
    let open = TestRelay::start(&["wang"]);
    let r = agent()
        .get(&format!("{}/metrics", open.url))
        .call()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    // With a token: the token, from anywhere, and nothing without it.
    let guarded = TestRelay::start_opts(
        &["wang"],
        None,
        None,
        ServeOptions {
            metrics_token: Some("s3cret-scraper".into()),
            ..ServeOptions::default()
        },
    );
    let get = |auth: Option<&str>| {
        let mut req = agent().get(&format!("{}/metrics", guarded.url));
        if let Some(a) = auth {
            req = req.header("Authorization", a);
        }
        let mut r = req.call().unwrap();
        (
            r.status().as_u16(),
            r.body_mut().read_to_string().unwrap_or_default(),
        )
    };
    assert_eq!(get(None).0, 401);
    assert_eq!(get(Some("Bearer wrong")).0, 401);
    let (status, body) = get(Some("Bearer s3cret-scraper"));
    assert_eq!(status, 200);
    assert!(body.contains("gridsafe_syncs_total"), "{body}");
}
