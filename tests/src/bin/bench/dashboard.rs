//! `gridsafe-bench dashboard [HAZARDS] [VENUES]`: the office dashboard at town scale (issue #6).
//!
//! Seeds (once, cached in bench-data/dashboard-HAZARDS-VENUES) a relay through its own write path
//! — automerge records made by core, pushed by enrolled inspector and reviewer devices through
//! `check` + `commit`, history-integrity checks included — with VENUES venues (one finished
//! inspection each) and HAZARDS hazards spread over three years, each from its own inspection
//! whose answer fails the item (`findings.rs`): 即改 fixed in the visit, deadlines notified and
//! mostly claimed, closed by the lead department's reviewer, majors confirmed, the rest open or
//! overdue. Then starts the release relay and times, over HTTP on loopback as the town office
//! (and a reviewer), the office's pages, the monthly report and its workbook against the issue's
//! targets, and the ledger's full XLSX export with the relay's peak memory before and after.
//! Prints a table and, last, one JSON line.
//!
//! This file stays whole: it is one benchmark scenario (seed, start, measure each page,
//! report), read top to bottom.

use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

use automerge::{ActorId, AutoCommit};
use gridsafe_core::clock::{Hlc, ms_to_date, ms_to_rfc3339, now_ms};
use gridsafe_core::eval::parse_answer;
use gridsafe_core::lifecycle::{self, EventKind};
use gridsafe_core::records::{
    self, AnswerRecord, EventRecord, Finish, Inspection, InspectionHeader, PhotoRef, Responsible,
    Venue,
};
use gridsafe_core::store::new_id;
use gridsafe_core::sync::{DeviceStatus, DocChanges, PROTOCOL, SyncRequest};
use gridsafe_core::template::{self, Template};
use gridsafe_core::template::{FixMode, Level};
use gridsafe_core::workflow::{self, Registration};
use gridsafe_server::store::{Device, RelayStore, check};
use serde_bytes::ByteBuf;
use serde_json::json;

use super::{bench_directory, median, round2, rss_mb, spawn_relay};

const PASSWORD: &str = "bench-password";
const DAY: i64 = 86_400_000;
/// Records per push, as a phone's sync batches them.
const BATCH: usize = 400;

/// A small deterministic generator (the same town every run).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }
}

fn device(st: &mut RelayStore, user: &str, name: &str) -> (Device, ActorId) {
    let actor = ActorId::random();
    let e = st
        .enroll(user, PASSWORD, name, &[actor.to_hex_string()])
        .expect("enrol");
    (st.authenticate(&e.token).expect("authenticate"), actor)
}

/// Pushes records through the relay's sync phases (`check`, then `commit`), as a phone's sync.
fn push(st: &mut RelayStore, device: &Device, docs: Vec<DocChanges>) {
    let req = SyncRequest {
        protocol: PROTOCOL,
        cursor: 0,
        directory_version: 0,
        templates: vec![],
        push: docs,
        more_to_push: false,
        status: DeviceStatus::default(),
    };
    let before = st.stored(&req).expect("stored");
    let checked = req
        .push
        .iter()
        .zip(&before)
        .map(|(d, b)| check(device, d, b.as_deref()))
        .collect();
    let c = st.commit(device, &req, checked).expect("commit");
    assert!(
        c.refused.is_empty(),
        "refused: {:?}",
        &c.refused[..c.refused.len().min(3)]
    );
}

fn whole(doc: &mut AutoCommit, id: &str, kind: &str) -> DocChanges {
    let changes = doc
        .get_changes(&[])
        .into_iter()
        .map(|c| ByteBuf::from(c.raw_bytes().to_vec()))
        .collect();
    DocChanges {
        doc_id: id.to_owned(),
        kind: kind.to_owned(),
        changes,
        heads: vec![],
    }
}

fn event(kind: EventKind, ms: i64) -> EventRecord {
    lifecycle::event(new_id(), kind, Hlc { ms, counter: 0 })
}

fn fake_sha(seed: u64, n: u64) -> String {
    format!(
        "{:016x}{:016x}{:016x}{:016x}",
        seed,
        n,
        seed ^ n,
        seed.wrapping_mul(31) ^ n
    )
}

fn photo(sha: String, role: &str, at: &str, by: &str) -> PhotoRef {
    PhotoRef {
        thumb_sha256: Some(format!("{}ff", &sha[..62])),
        sha256: sha,
        item_id: None,
        role: role.into(),
        size: 900_000,
        mime: "image/jpeg".into(),
        captured_at: at.into(),
        taken_by: by.into(),
        lat: None,
        lon: None,
        width: Some(2048),
        height: Some(1536),
        thumb_size: Some(20_000),
        original_sha256: None,
        original_size: None,
        gps_source: None,
        camera: None,
    }
}

fn seed(data: &Path, hazards: usize, venues: usize) {
    let t0 = Instant::now();
    let grids = venues.div_ceil(190);
    let mut st = RelayStore::open(data).expect("relay");
    let dir = st
        .import_directory(&bench_directory(grids))
        .expect("directory");
    for u in &dir.users {
        st.set_password(&u.id, PASSWORD).expect("password");
    }
    let reviewers: HashMap<String, (Device, ActorId)> = [
        ("cyzx", "sun"),
        ("pcs", "wu"),
        ("gjb", "zheng"),
        ("cjzx", "qian"),
    ]
    .iter()
    .map(|(d, u)| ((*d).to_owned(), device(&mut st, u, "bench")))
    .collect();
    let templates: Vec<Template> =
        template::load_bundle(&template::bundled_sources(), &|_, _| None).expect("templates");
    let (generals, majors) =
        super::findings::failing(&templates, &gridsafe_tests::fixtures::restaurant_profile());
    assert!(
        !generals.is_empty(),
        "no checklist item fails at a restaurant"
    );
    let mut rng = Lcg(0x6121_5afe);
    let now = now_ms();
    let start = now - 3 * 365 * DAY;
    let mut reviewer_pushes: HashMap<String, Vec<DocChanges>> = HashMap::new();
    let (mut made_venues, mut made_hazards) = (0usize, 0usize);
    for g in 0..grids {
        let grid = format!("bench-g{g}");
        let village = dir.grid(&grid).expect("grid").village.clone();
        let inspector = format!("bench-i{}", g * 2);
        let (dev, actor) = device(&mut st, &inspector, &format!("bench-phone-{g}"));
        let in_grid = (venues - made_venues).min(venues.div_ceil(grids));
        let mut batch = Vec::new();
        for v in 0..in_grid {
            let vi = made_venues + v;
            let venue_id = new_id();
            let name = format!("压测场所{vi}");
            let venue = Venue {
                id: venue_id.clone(),
                name: name.clone(),
                address: format!("吕巷镇压测路{vi}号"),
                village: village.clone(),
                grid_id: grid.clone(),
                profile: gridsafe_tests::fixtures::restaurant_profile(),
                responsible: Responsible {
                    name: "业主".into(),
                    phone: "13800000000".into(),
                    id_last4: "0000".into(),
                },
                created_at: ms_to_rfc3339(start),
                created_by: inspector.clone(),
                archived: false,
            };
            let mut doc = records::new_venue_doc(&actor, &venue).expect("venue");
            batch.push(whole(&mut doc, &venue_id, "venue"));
            // One finished inspection in the last two months (coverage).
            let t = &templates[vi % templates.len()];
            let started = now - rng.below(60) as i64 * DAY - rng.below(DAY as u64) as i64;
            let insp_id = new_id();
            let header = InspectionHeader {
                id: insp_id.clone(),
                venue_id: venue_id.clone(),
                venue_name: name.clone(),
                village: village.clone(),
                grid_id: grid.clone(),
                template_id: t.template_id.clone(),
                template_version: t.version.clone(),
                template_hash: t.hash.clone(),
                inspector: inspector.clone(),
                started_at: ms_to_rfc3339(started),
                started_ms: started,
                profile: venue.profile.clone(),
            };
            let mut doc = records::new_inspection_doc(&actor, &header).expect("inspection");
            let finish = Finish {
                at: ms_to_rfc3339(started + 1_800_000),
                by: inspector.clone(),
                results: Default::default(),
                hazard_ids: vec![],
                manifest: None,
            };
            records::put_finish(&mut doc, &insp_id, &finish).expect("finish");
            batch.push(whole(&mut doc, &insp_id, "inspection"));
            // This venue's share of the hazards, found over three years, each by an inspection
            // whose answer fails the item (the relay checks that, as it does a phone's).
            let share = hazards / venues + usize::from(vi < hazards % venues);
            for _ in 0..share {
                let pool = if rng.chance(1) && !majors.is_empty() {
                    &majors
                } else {
                    &generals
                };
                let f = &pool[rng.below(pool.len() as u64) as usize];
                let t = &templates[f.template];
                let item = &t.items[f.item];
                let found = start + rng.below((now - start - DAY) as u64) as i64;
                let major = f.proposal.severity == Level::MajorCandidate;
                let id = new_id();
                let found_at = ms_to_rfc3339(found);
                let insp_id = new_id();
                let mut proposal_mode = f.proposal.fix_mode;
                let mut insp = Inspection {
                    header: InspectionHeader {
                        id: insp_id.clone(),
                        venue_id: venue_id.clone(),
                        venue_name: name.clone(),
                        village: village.clone(),
                        grid_id: grid.clone(),
                        template_id: t.template_id.clone(),
                        template_version: t.version.clone(),
                        template_hash: t.hash.clone(),
                        inspector: inspector.clone(),
                        started_at: ms_to_rfc3339(found - 600_000),
                        started_ms: found - 600_000,
                        profile: venue.profile.clone(),
                    },
                    answers: Default::default(),
                    photos: vec![],
                    finish: None,
                };
                if !major && rng.chance(20) {
                    proposal_mode = FixMode::OnSpot;
                }
                // A before photo with three findings in ten, and with every 即改 (its rule).
                if proposal_mode == FixMode::OnSpot || rng.chance(30) {
                    let mut p = photo(
                        fake_sha(g as u64, made_hazards as u64),
                        "before",
                        &found_at,
                        &inspector,
                    );
                    p.item_id = Some(item.id.clone());
                    insp.photos.push(p);
                }
                let mut proposal = f.proposal.clone();
                proposal.fix_mode = proposal_mode;
                let reg = Registration {
                    id: id.clone(),
                    hlc: Hlc {
                        ms: found,
                        counter: 0,
                    },
                    by: &inspector,
                    today: ms_to_date(found),
                };
                let mut h = workflow::inspection_hazard(t, &insp, item, &proposal, reg, None);
                if rng.chance(5) {
                    h.ticket_no = Some(format!("12345-{}", rng.below(1_000_000)));
                }
                let mut idoc =
                    records::new_inspection_doc(&actor, &insp.header).expect("inspection");
                let answer = parse_answer(item, &f.answer).expect("failing answer");
                let record = AnswerRecord {
                    na: answer.na,
                    fields: answer.fields,
                    at: found_at.clone(),
                    by: inspector.clone(),
                };
                records::put_answer(&mut idoc, &insp_id, &item.id, &record).expect("answer");
                for p in &insp.photos {
                    records::push_photo(&mut idoc, &insp_id, p).expect("photo");
                }
                let finish = Finish {
                    at: ms_to_rfc3339(found),
                    by: inspector.clone(),
                    results: [(item.id.clone(), "fail".to_owned())].into(),
                    hazard_ids: vec![id.clone()],
                    manifest: None,
                };
                records::put_finish(&mut idoc, &insp_id, &finish).expect("finish");
                batch.push(whole(&mut idoc, &insp_id, "inspection"));
                let mut doc =
                    records::new_hazard_doc(&actor, &h, &event(EventKind::Register, found))
                        .expect("hazard");
                // 即改 is fixed in the visit (after photo); a deadline starts with the notice served
                // (its signed copy photographed), and most old ones were claimed since.
                let on_spot = h.fix_mode == "on_spot";
                let old = now - found > 14 * DAY;
                let proof = |n: u64| Some(fake_sha(g as u64 ^ n, made_hazards as u64));
                let mut steps = Vec::new();
                if on_spot {
                    // Its day is the finding's: one tick after it.
                    steps.push((EventKind::Rectify, found, proof(0xaf)));
                } else if rng.chance(90) {
                    steps.push((EventKind::Notify, found + 3_600_000, proof(0x5e)));
                    if !major && old && rng.chance(75) {
                        steps.push((EventKind::Claim, found + 2 * DAY, proof(0xaf)));
                    }
                }
                let claimed = steps.len() == 2 || on_spot;
                for (kind, ms, photo) in steps {
                    let inputs = workflow::EventInputs {
                        photo,
                        ..Default::default()
                    };
                    let ev =
                        workflow::action_event(&h, new_id(), Hlc { ms, counter: 1 }, kind, inputs);
                    records::append_event(&mut doc, &id, &ev).expect("step");
                }
                batch.push(whole(&mut doc, &id, "hazard"));
                // The lead department's decision, from the reviewer's own device.
                let dept = &h.lead_depts[0];
                let decision = if major && rng.chance(80) {
                    Some(event(EventKind::ConfirmMajor, found + DAY))
                } else if claimed && rng.chance(90) {
                    Some(event(EventKind::Close, found + 4 * DAY))
                } else {
                    None
                };
                if let (Some(ev), Some((_, ractor))) = (decision, reviewers.get(dept)) {
                    let mut theirs = doc.fork().with_actor(ractor.clone());
                    records::append_event(&mut theirs, &id, &ev).expect("decision");
                    let change = theirs
                        .get_last_local_change()
                        .expect("change")
                        .raw_bytes()
                        .to_vec();
                    reviewer_pushes
                        .entry(dept.clone())
                        .or_default()
                        .push(DocChanges {
                            doc_id: id.clone(),
                            kind: "hazard".into(),
                            changes: vec![ByteBuf::from(change)],
                            heads: vec![],
                        });
                }
                made_hazards += 1;
                if batch.len() >= BATCH {
                    push(&mut st, &dev, std::mem::take(&mut batch));
                }
            }
            if batch.len() >= BATCH {
                push(&mut st, &dev, std::mem::take(&mut batch));
            }
        }
        if !batch.is_empty() {
            push(&mut st, &dev, batch);
        }
        made_venues += in_grid;
        eprint!(
            "\rseeding: {made_venues}/{venues} venues, {made_hazards}/{hazards} hazards, {:.0} s   ",
            t0.elapsed().as_secs_f64()
        );
    }
    for (dept, docs) in reviewer_pushes {
        let (dev, _) = &reviewers[&dept];
        for chunk in docs.chunks(BATCH) {
            push(&mut st, dev, chunk.to_vec());
        }
    }
    eprintln!(
        "\nseeded {made_venues} venues and {made_hazards} hazards in {:.0} s",
        t0.elapsed().as_secs_f64()
    );
}

/// A signed-in dashboard session over HTTP.
struct Session {
    agent: ureq::Agent,
    base: String,
    cookie: String,
}

impl Session {
    fn login(base: &str, user: &str) -> Session {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .into();
        let mut r = agent
            .get(&format!("{base}/login"))
            .call()
            .expect("login page");
        let nonce_cookie = r
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .and_then(|c| c.split(';').next())
            .expect("cookie")
            .to_owned();
        let page = r.body_mut().read_to_string().expect("page");
        let at = page.find("name=\"nonce\" value=\"").expect("nonce") + 20;
        let form = format!(
            "nonce={}&user={user}&password={PASSWORD}",
            &page[at..at + 32]
        );
        let r = agent
            .post(&format!("{base}/login"))
            .header("Cookie", &nonce_cookie)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .send(form)
            .expect("login");
        assert_eq!(r.status().as_u16(), 303, "sign-in as {user}");
        let cookie = r
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .and_then(|c| c.split(';').next())
            .expect("session")
            .to_owned();
        Session {
            agent,
            base: base.to_owned(),
            cookie,
        }
    }

    /// Milliseconds for the whole answer, and its size.
    fn time(&self, path: &str) -> (f64, usize) {
        let t = Instant::now();
        let mut r = self
            .agent
            .get(&format!("{}{path}", self.base))
            .header("Cookie", &self.cookie)
            .call()
            .expect("request");
        assert_eq!(r.status().as_u16(), 200, "{path}");
        let body = r
            .body_mut()
            .with_config()
            .limit(1 << 30)
            .read_to_vec()
            .expect("body");
        (t.elapsed().as_secs_f64() * 1000.0, body.len())
    }
}

pub fn run(hazards: usize, venues: usize, rounds: usize) {
    let root = std::env::var("BENCH_DATA").map_or_else(
        |_| std::path::PathBuf::from("bench-data"),
        std::path::PathBuf::from,
    );
    let data = root.join(format!("dashboard-{hazards}-{venues}"));
    if !data.join(".ready").exists() {
        let _ = std::fs::remove_dir_all(&data);
        seed(&data, hazards, venues);
        std::fs::write(data.join(".ready"), b"").expect("marker");
    }
    // A venue in the middle of the register, for its file and for search by name.
    let (venue_id, venue_name): (String, String) = rusqlite::Connection::open_with_flags(
        data.join("relay.sqlite"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .and_then(|c| {
        c.query_row(
            "SELECT id, name FROM venues_idx ORDER BY id LIMIT 1 OFFSET ?1",
            [venues as i64 / 2],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    })
    .expect("a seeded venue");
    let relay = spawn_relay(&data);
    let url = relay.url.clone();
    let office = Session::login(&url, "office");
    let reviewer = Session::login(&url, "zheng");
    // Warm the relay's caches and the page cache as a working day would.
    office.time("/");
    let cases: Vec<(&str, &Session, String, f64)> = vec![
        ("overview (town office)", &office, "/".into(), 150.0),
        (
            "ledger first page (town office)",
            &office,
            "/hazards".into(),
            150.0,
        ),
        (
            "ledger open + overdue, one village",
            &office,
            "/hazards?village=heping&open=1&overdue=1".into(),
            150.0,
        ),
        (
            "ledger page 1000",
            &office,
            "/hazards?page=1000".into(),
            150.0,
        ),
        (
            "overview with charts (reviewer, 规建办)",
            &reviewer,
            "/overview".into(),
            150.0,
        ),
        (
            "ledger first page (reviewer)",
            &reviewer,
            "/hazards".into(),
            150.0,
        ),
        ("to-do (town office)", &office, "/todo".into(), 150.0),
        ("to-do (reviewer, 规建办)", &reviewer, "/todo".into(), 150.0),
        (
            "overview with charts (town office)",
            &office,
            "/overview".into(),
            150.0,
        ),
        (
            "venue file (town office)",
            &office,
            format!("/venues/{venue_id}"),
            150.0,
        ),
        (
            "search by venue name (town office)",
            &office,
            format!(
                "/search?q={}",
                gridsafe_tests::browser::url_encode(&venue_name)
            ),
            150.0,
        ),
        (
            "ledger, owners' photos to review (reviewer)",
            &reviewer,
            "/hazards?state=owner_photo".into(),
            150.0,
        ),
        (
            "monthly report (print view)",
            &office,
            "/reports/monthly".into(),
            2000.0,
        ),
        (
            "monthly report XLSX",
            &office,
            "/reports/monthly.xlsx".into(),
            2000.0,
        ),
    ];
    println!(
        "dashboard, {hazards} hazards, {venues} venues; medians of {rounds} requests over loopback (client-side time ≥ server time)"
    );
    println!(
        "{:<40} {:>10} {:>10} {:>8} {:>10} {:>8}",
        "page", "median ms", "target ms", "ratio", "bytes", "peak MB"
    );
    let mut out = serde_json::Map::new();
    // The reference, timed in this run between the pages' requests (the machine is shared: a
    // page's time over the reference's says more than its time alone): the monthly report's
    // former aggregate over every hazard, on the seeded file.
    let reference_conn = rusqlite::Connection::open_with_flags(
        data.join("relay.sqlite"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .expect("relay.sqlite");
    let today = gridsafe_core::clock::today();
    let closed = gridsafe_server::report::Period::containing(
        today,
        gridsafe_server::report::DEFAULT_CUTOFF_DAY,
    )
    .and_then(|p| p.previous())
    .expect("last month");
    let mut reference = Vec::new();
    for (name, s, path, target) in &cases {
        let mut times = Vec::new();
        let mut bytes = 0;
        for _ in 0..rounds {
            let (t, b) = s.time(path);
            times.push(t);
            bytes = b;
        }
        reference.push(super::reports::reference_aggregate(
            &reference_conn,
            &closed,
            today,
        ));
        let m = median(times);
        // The relay's peak memory so far: which page raises it.
        let peak = rss_mb(relay.child.id());
        println!(
            "{name:<40} {m:>10.1} {target:>10.0} {:>8.2} {bytes:>10} {peak:>8.0}",
            m / target
        );
        out.insert((*name).to_owned(), json!({"path": path, "median_ms": round2(m), "target_ms": target, "ratio": round2(m / target), "peak_rss_mb": round2(peak)}));
    }
    let reference = median(reference);
    println!(
        "{:<40} {reference:>10.1}  (reference, same run)",
        "report's former aggregate"
    );
    out.insert(
        "reference: report's former aggregate".into(),
        json!({"median_ms": round2(reference)}),
    );
    // The ledger's full export, on a relay of its own just started: its peak memory is the
    // export's, not the monthly report's that the pages above ended with.
    drop(relay);
    let relay = spawn_relay(&data);
    let office = Session::login(&relay.url, "office");
    let rss_before = rss_mb(relay.child.id());
    let mut times = Vec::new();
    let mut size = 0;
    for _ in 0..3 {
        let (t, b) = office.time("/hazards.xlsx");
        times.push(t);
        size = b;
    }
    let rss_after = rss_mb(relay.child.id());
    let export_ms = median(times);
    println!(
        "ledger XLSX, all {hazards} rows: median {export_ms:.0} ms, {:.1} MB; relay peak RSS {rss_before:.0} MB before, {rss_after:.0} MB after",
        size as f64 / 1e6
    );
    drop(relay);
    out.insert(
        "ledger_xlsx".into(),
        json!({"median_ms": round2(export_ms), "bytes": size, "rss_before_mb": round2(rss_before), "rss_after_mb": round2(rss_after)}),
    );
    println!(
        "{}",
        json!({"bench": "dashboard", "hazards": hazards, "venues": venues, "rounds": rounds, "results": out})
    );
}
