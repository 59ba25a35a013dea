//! `gridsafe-bench relay-million [RECORDS]`: the relay's memory with 1,000,000 stored records
//! (issue #7: RSS ≤ 256 MB, records loaded on demand).
//!
//! Seeds (once, cached in bench-data/relay-million-N/) a relay with N venue records, written
//! straight into its tables in bulk — each a real automerge document made by core's records code,
//! its change in the log, its row in `docs` and its projection row — because the sync path would
//! take hours for a million. Then runs the relay process on it and reports its RSS: idle after
//! start, after 20,000 edits to randomly chosen stored venues (each one loaded from the log on
//! demand, checked and committed, in pushes of 500), and after the office's dashboard pages.

use std::path::Path;
use std::time::Instant;

use automerge::{ActorId, AutoCommit};
use gridsafe_core::clock::{ms_to_rfc3339, now_ms};
use gridsafe_core::records::{self, Responsible, Venue};
use gridsafe_core::store::new_id;
use gridsafe_core::sync::{DeviceStatus, DocChanges, PROTOCOL, SyncRequest, SyncResponse};
use gridsafe_server::store::RelayStore;
use rusqlite::params;
use serde_bytes::ByteBuf;
use serde_json::json;

use super::{bench_directory, rss_mb, spawn_relay};

const PASSWORD: &str = "bench-password";
/// Venues per grid (a grid worker's patch is a few hundred).
const PER_GRID: usize = 400;

fn venue(i: usize, village: &str, grid: &str) -> Venue {
    Venue {
        id: new_id(),
        name: format!("压测场所{i}"),
        address: format!("吕巷镇压测路{i}号"),
        village: village.to_owned(),
        grid_id: grid.to_owned(),
        profile: gridsafe_tests::fixtures::restaurant_profile(),
        responsible: Responsible {
            name: "业主".into(),
            phone: "13800000000".into(),
            id_last4: "0000".into(),
        },
        created_at: ms_to_rfc3339(now_ms()),
        created_by: "office".into(),
        archived: false,
    }
}

fn seed(data: &Path, n: usize) {
    let t0 = Instant::now();
    let grids = n.div_ceil(PER_GRID);
    let mut st = RelayStore::open(data).expect("relay");
    let dir = st
        .import_directory(&bench_directory(grids))
        .expect("directory");
    st.set_password("office", PASSWORD).expect("password");
    let actor = ActorId::random();
    let e = st
        .enroll("office", PASSWORD, "seed", &[actor.to_hex_string()])
        .expect("enrol");
    drop(st);
    let mut conn = rusqlite::Connection::open(data.join("relay.sqlite")).expect("db");
    conn.pragma_update(None, "journal_mode", "WAL")
        .expect("wal");
    let now = now_ms();
    let mut made = 0;
    while made < n {
        let tx = conn.transaction().expect("tx");
        for i in made..(made + 50_000).min(n) {
            let grid = format!("bench-g{}", i / PER_GRID);
            let village = dir.grid(&grid).expect("grid").village.clone();
            let v = venue(i, &village, &grid);
            let mut doc = records::new_venue_doc(&actor, &v).expect("venue");
            for c in doc.get_changes(&[]) {
                tx.execute(
                    "INSERT INTO changes (hash, doc_id, bytes, device_id, received_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![c.hash().to_string(), v.id, c.raw_bytes(), e.device_id, now],
                )
                .expect("change");
            }
            let heads: Vec<String> = doc.get_heads().iter().map(ToString::to_string).collect();
            tx.execute(
                "INSERT INTO docs (id, kind, grid_id, depts, heads, updated_ms) VALUES (?1, 'venue', ?2, '', ?3, ?4)",
                params![v.id, grid, heads.join(","), now],
            )
            .expect("doc");
            gridsafe_core::projection::index_venue(&tx, &v).expect("projection");
        }
        tx.commit().expect("commit");
        made = (made + 50_000).min(n);
        eprint!(
            "\rseeding: {made}/{n} venues, {:.0} s   ",
            t0.elapsed().as_secs_f64()
        );
    }
    eprintln!();
    std::fs::write(data.join(".ready"), "").expect("ready");
}

fn sync(agent: &ureq::Agent, url: &str, token: &str, req: &SyncRequest) -> SyncResponse {
    let mut r = agent
        .post(&format!("{url}/v1/sync"))
        .header("Authorization", &format!("Bearer {token}"))
        .send(&req.encode()[..])
        .expect("sync");
    SyncResponse::decode(
        &r.body_mut()
            .with_config()
            .limit(1 << 30)
            .read_to_vec()
            .expect("body"),
    )
    .expect("decode")
}

pub fn run(n: usize) {
    let root = std::env::var("BENCH_DATA").map_or_else(
        |_| std::path::PathBuf::from("bench-data"),
        std::path::PathBuf::from,
    );
    let data = root.join(format!("relay-million-{n}"));
    if !data.join(".ready").exists() {
        let _ = std::fs::remove_dir_all(&data);
        std::fs::create_dir_all(&data).expect("data");
        seed(&data, n);
    }
    // 20,000 stored venues to edit, chosen at random, with their current changes.
    let mut picked: Vec<(String, Vec<Vec<u8>>)> = Vec::new();
    {
        let conn = rusqlite::Connection::open(data.join("relay.sqlite")).expect("db");
        let stored: i64 = conn
            .query_row("SELECT count(*) FROM docs", [], |r| r.get(0))
            .expect("count");
        eprintln!(
            "relay holds {stored} records ({:.0} MB on disk)",
            std::fs::metadata(data.join("relay.sqlite")).map_or(0, |m| m.len()) as f64 / 1e6
        );
        let mut ids = conn
            .prepare("SELECT id FROM docs WHERE kind = 'venue' ORDER BY random() LIMIT 20000")
            .expect("ids");
        let ids: Vec<String> = ids
            .query_map([], |r| r.get(0))
            .expect("ids")
            .map(|r| r.expect("id"))
            .collect();
        let mut ch = conn
            .prepare("SELECT bytes FROM changes WHERE doc_id = ?1 ORDER BY seq")
            .expect("changes");
        for id in ids {
            let bytes: Vec<Vec<u8>> = ch
                .query_map([&id], |r| r.get(0))
                .expect("changes")
                .map(|r| r.expect("bytes"))
                .collect();
            picked.push((id, bytes));
        }
    }
    let relay = spawn_relay(&data);
    let (pid, url) = (relay.child.id(), relay.url.clone());
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(std::time::Duration::from_secs(600)))
        .build()
        .into();
    // The store opens after the address is printed: wait until the relay answers.
    while agent.get(&format!("{url}/healthz")).call().is_err() {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let idle = rss_mb(pid);
    eprintln!("idle after start: peak RSS {idle:.1} MB");
    let actor = ActorId::random();
    let e = gridsafe_client::agent()
        .post(&format!("{url}/v1/enroll"))
        .send_json(json!({"user": "office", "password": PASSWORD, "device_name": "bench-office", "actors": [actor.to_hex_string()]}))
        .expect("enrol")
        .body_mut()
        .read_json::<serde_json::Value>()
        .expect("json");
    let token = e["token"].as_str().expect("token").to_owned();
    let t = Instant::now();
    for chunk in picked.chunks(500) {
        let push: Vec<DocChanges> = chunk
            .iter()
            .map(|(id, changes)| {
                let mut doc = AutoCommit::new().with_actor(actor.clone());
                doc.apply_changes(
                    changes
                        .iter()
                        .map(|b| automerge::Change::from_bytes(b.clone()).expect("change")),
                )
                .expect("apply");
                let v = records::read_venue(&doc, id).expect("venue");
                let before = doc.get_heads();
                let mut after = v.clone();
                after.address = format!("{} (复查)", v.address);
                let stamp = records::venue_fields::Stamp {
                    ms: gridsafe_core::clock::now_ms(),
                    counter: 0,
                    by: v.created_by.clone(),
                };
                records::venue_fields::write_edit(&mut doc, &v, &after, &stamp, &[]).expect("edit");
                let changes = doc
                    .get_changes(&before)
                    .into_iter()
                    .map(|c| ByteBuf::from(c.raw_bytes().to_vec()))
                    .collect();
                DocChanges {
                    doc_id: id.clone(),
                    kind: "venue".into(),
                    changes,
                    heads: vec![],
                }
            })
            .collect();
        let req = SyncRequest {
            protocol: PROTOCOL,
            cursor: u64::MAX / 2,
            directory_version: u64::MAX,
            templates: vec![],
            push,
            more_to_push: false,
            status: DeviceStatus::default(),
        };
        let resp = sync(&agent, &url, &token, &req);
        assert!(resp.refused.is_empty(), "{:?}", &resp.refused[..1]);
        assert_eq!(resp.accepted.len(), chunk.len());
    }
    let edits_s = t.elapsed().as_secs_f64();
    let after_edits = rss_mb(pid);
    eprintln!(
        "after 20,000 edits to stored venues ({:.0} edits/s): peak RSS {after_edits:.1} MB",
        20_000.0 / edits_s
    );
    // The office's dashboard: overview and the first ledger pages.
    let mut b = gridsafe_tests::browser::Browser::new(&url);
    assert_eq!(b.login("office", PASSWORD), 303);
    for path in ["/", "/hazards", "/devices"] {
        let (status, _, _) = b.get(path);
        assert_eq!(status, 200, "{path}");
    }
    let after_dashboard = rss_mb(pid);
    eprintln!("after the dashboard's pages: peak RSS {after_dashboard:.1} MB");
    drop(relay);
    let peak = after_dashboard.max(after_edits).max(idle);
    println!(
        "{}",
        json!({"bench": "relay_million", "records": n, "idle_rss_mb": (idle * 10.0).round() / 10.0,
               "after_edits_rss_mb": (after_edits * 10.0).round() / 10.0, "edits_per_s": (20_000.0 / edits_s).round(),
               "after_dashboard_rss_mb": (after_dashboard * 10.0).round() / 10.0, "peak_rss_mb": (peak * 10.0).round() / 10.0,
               "target_rss_mb": 256, "within_target": peak <= 256.0})
    );
}
